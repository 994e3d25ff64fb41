import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { buildEncoder } from '../../src/model-tools/encoder/build-encoder';
import { writeModelsYaml } from '../helpers/model-fixtures';
import { makeTempDir } from '../helpers/temp-dir';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { waitFor } from '../helpers/wait-for';
import { chromiumBinary, describeWithTool, ensurePlaygroundBuilt } from '../stack/tools';
import { type Browser, collectPageErrors, launchBrowser } from './browser';

const text = (page: Page, selector: string) => page.locator(selector).innerText();

describeWithTool(
  'chromium',
  chromiumBinary(),
  'apt-get install -y chromium',
)('the embeddings page in a real browser', () => {
  let app: TestApp;
  let browser: Browser;
  let page: Page;
  let pageErrors: string[];

  beforeAll(async () => {
    ensurePlaygroundBuilt();
    const dir = join(makeTempDir('ui-embeddings'), 'embed');
    await buildEncoder({ outDir: dir, layers: 2, hidden: 32, heads: 4, seed: 3 });
    const yaml = `default_model: embed\nmodels:\n  - id: embed\n    provider: onnx\n    task: embeddings\n    path: ${dir}\n    matryoshka_dimensions: [8]\n`;
    app = await startTestApp({ MODELS_CONFIG: writeModelsYaml(yaml) });
    browser = await launchBrowser(chromiumBinary()!);
    page = browser.page;
    pageErrors = collectPageErrors(page);
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });
  afterEach(() => expect(pageErrors).toEqual([]));

  const embed = async () => {
    await page.getByRole('button', { name: 'Embed' }).click();
    return waitFor(
      'the answer',
      async () => /^(Done|Failed)/.test(await text(page, '#status')) && (await text(page, '#status')),
    );
  };

  it('shows the cosine similarity of two texts, the dimensions, the norms, the latency and the cache', async () => {
    await page.goto(`${app.baseUrl}/ui/embeddings.html`);
    expect(await page.title()).toBe('LLM Server embeddings');
    for (const label of ['Key', 'Model', 'Dimensions', 'Text A', 'Text B', 'Bypass cache']) {
      expect([label, await page.getByLabel(label, { exact: true }).count()]).toEqual([label, 1]);
    }
    await page.getByLabel('Key', { exact: true }).fill(app.adminKey);
    expect(await embed()).toBe('Done');
    const similarity = Number(await text(page, '#stat-cosine'));
    expect(similarity).toBeGreaterThan(-1);
    expect(similarity).toBeLessThan(1);
    expect(await text(page, '#stat-dimensions')).toBe('32');
    expect(await text(page, '#stat-norm')).toBe('1.0000 / 1.0000');
    expect(await text(page, '#stat-latency')).toMatch(/\d+(\.\d+)? (ms|s)/);
    expect(await text(page, '#stat-cache')).toBe('miss');

    // The same texts again are a cache hit; the same text twice is similarity 1.
    expect(await embed()).toBe('Done');
    expect(await text(page, '#stat-cache')).toBe('hit');
    await page
      .getByLabel('Text B', { exact: true })
      .fill(await page.getByLabel('Text A', { exact: true }).inputValue());
    await page.getByLabel('Dimensions', { exact: true }).fill('8');
    expect(await embed()).toBe('Done');
    expect(await text(page, '#stat-cosine')).toBe('1.0000');
    expect(await text(page, '#stat-dimensions')).toBe('8');
    await browser.screenshot('embeddings');
  });

  it('shows a readable error', async () => {
    await page.getByLabel('Dimensions', { exact: true }).fill('12');
    expect(await embed()).toBe('Failed');
    expect(await text(page, '#error')).toContain('dimensions');
  });
});
