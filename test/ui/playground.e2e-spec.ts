import type { Page } from 'playwright-core';
import { call } from '../helpers/test-app';
import { SLOW_DELTAS, type StackApp } from '../stack/stack-fixture';
import { chromiumBinary, describeWithTool } from '../stack/tools';
import { waitFor } from '../helpers/wait-for';
import { type Browser, closeBrowserSession, startBrowserSession } from './browser';

const text = (page: Page, selector: string) => page.locator(selector).innerText();

describeWithTool(
  'chromium',
  chromiumBinary(),
  'apt-get install -y chromium',
)('playground in a real browser', () => {
  let stack: StackApp;
  let browser: Browser;
  let page: Page;
  let base: string;
  let pageErrors: string[];

  const setKey = async (key: string) => {
    await page.getByLabel('Key', { exact: true }).fill(key);
    await page.getByLabel('Key', { exact: true }).press('Tab');
  };
  const models = () => page.locator('#model option').allInnerTexts();
  /** Opens the playground with this key (kept in local storage) and waits for its models. */
  const open = async (key = stack.app.adminKey) => {
    await page.goto(`${base}/ui/`);
    if ((await page.getByLabel('Key', { exact: true }).inputValue()) !== key) await setKey(key);
    await waitFor('the models', async () => (await models()).includes('tiny'));
  };
  const send = () => page.getByRole('button', { name: 'Send' }).click();
  const finished = () =>
    waitFor(
      'the answer to finish',
      async () => /^(Done|Failed)/.test(await text(page, '#status')) && (await text(page, '#status')),
    );

  beforeAll(async () => {
    ({ stack, base, browser, page, pageErrors } = await startBrowserSession());
  });
  afterAll(() => closeBrowserSession({ stack, browser }));
  afterEach(() => {
    expect(pageErrors).toEqual([]);
  });

  it('loads with labelled controls, lists the models of the key, and remembers the key', async () => {
    await page.goto(`${base}/ui/`);
    expect(await page.title()).toBe('LLM Server playground');
    for (const label of [
      'Model',
      'Temperature',
      'Max tokens',
      'Seed',
      'Prompt',
      'Stream',
      'Bypass cache',
      'Single prompt',
      'Chat',
    ]) {
      expect([label, await page.getByLabel(label, { exact: true }).count()]).toEqual([label, 1]);
    }
    expect(await page.getByRole('radio', { name: 'Chat' }).count()).toBe(1);
    // No key yet: no models, no error shouted at a first visitor.
    expect(await models()).toEqual(['(server default)']);
    expect(await page.locator('#error').isHidden()).toBe(true);

    await setKey(stack.app.adminKey);
    expect(await waitFor('the models', async () => ((await models()).includes('tiny') ? models() : undefined))).toEqual(
      ['tiny', 'slow'],
    );
    await page.reload();
    expect(await page.getByLabel('Key', { exact: true }).inputValue()).toBe(stack.app.adminKey);
    await waitFor('the models after a reload', async () => (await models()).includes('slow'));
  });

  it('streams an answer into the page piece by piece, then shows latency, first-token time, tokens, cache and request id', async () => {
    await open();
    await page.getByLabel('Model').selectOption('slow');
    stack.upstream.enqueue({ kind: 'pause', afterDeltas: 2 });
    await send();
    // Mid-stream: the first pieces are on the page while the rest is still held upstream.
    await waitFor('the first pieces', async () => (await text(page, '#output')) === SLOW_DELTAS.slice(0, 2).join(''));
    expect(await text(page, '#status')).toBe('Streaming…');
    expect(await page.locator('#output').getAttribute('aria-busy')).toBe('true');
    expect(await page.getByRole('button', { name: 'Stop' }).isEnabled()).toBe(true);
    expect(await text(page, '#stat-latency')).toBe('—');
    await browser.screenshot('playground-mid-stream');

    stack.upstream.resume();
    expect(await finished()).toMatch(/^Done in /);
    expect(await text(page, '#output')).toBe(SLOW_DELTAS.join(''));
    expect(await page.locator('#output').getAttribute('aria-busy')).toBe('false');
    // Measured in the browser, and as the server reports it (/v1/generate's latency_ms).
    expect(await text(page, '#stat-latency')).toMatch(/^\d+(\.\d+)? m?s \(server \d+(\.\d+)? m?s\)$/);
    expect(await text(page, '#stat-ttft')).toMatch(/^\d+ ms$/);
    expect(await text(page, '#stat-tokens')).toMatch(/^\d+ \+ \d+ = \d+$/);
    expect(await text(page, '#stat-cache')).toMatch(/^(hit|miss|bypass)$/);
    expect(await text(page, '#stat-model')).toBe('slow');
    expect(await text(page, '#stat-finish')).toBe('stop');
    expect(await text(page, '#stat-request-id')).toMatch(/^[0-9a-f-]{16,}$/);
  });

  it('streams the local model for a prompt and shows a cache hit when the same seeded prompt comes again', async () => {
    await open();
    await page.getByLabel('Model').selectOption('tiny');
    await page.getByLabel('Max tokens').fill('48');
    await page.getByLabel('Seed').fill('42');
    await page.getByLabel('Prompt', { exact: true }).fill('Once upon a time, in a small town by the sea,');
    await send();
    expect(await finished()).toMatch(/^Done in /);
    const first = await text(page, '#output');
    expect(first.length).toBeGreaterThan(0);
    expect(await text(page, '#stat-model')).toBe('tiny');
    expect(await text(page, '#stat-tokens')).toMatch(/ = \d+$/);
    expect(await text(page, '#stat-cache')).toBe('miss');
    expect(await text(page, '#stat-finish')).toMatch(/^(stop|length)$/);
    await browser.screenshot('playground-streamed');

    // Ctrl+Enter sends from the prompt box too.
    await page.getByLabel('Prompt', { exact: true }).press('Control+Enter');
    await waitFor(
      'the second answer',
      async () => /^Done/.test(await text(page, '#status')) && (await text(page, '#stat-cache')) !== '—',
    );
    expect(await text(page, '#stat-cache')).toBe('hit');
    expect(await text(page, '#output')).toBe(first);
  });

  it('keeps a chat conversation in chat mode', async () => {
    await open();
    await page.getByRole('radio', { name: 'Chat' }).check();
    await page.getByLabel('Model').selectOption('tiny');
    await page.getByLabel('Max tokens').fill('12');
    await page.getByLabel('Your message').fill('Hello there');
    await send();
    expect(await finished()).toMatch(/^Done in /);
    const turns = page.locator('#transcript li');
    expect(await turns.count()).toBe(2);
    expect(await turns.nth(0).innerText()).toContain('Hello there');
    expect(await turns.nth(1).locator('.msg-role').innerText()).toMatch(/assistant/i);
    expect(await page.getByLabel('Your message').inputValue()).toBe('');
  });

  it('shows an invalid key readably, with its code and status', async () => {
    await page.goto(`${base}/ui/`);
    await setKey('sk-this-key-does-not-exist-0123456789');
    const alert = page.getByRole('alert');
    await waitFor(
      'the error',
      async () => (await alert.isVisible()) && (await alert.innerText()).includes('invalid_api_key'),
    );
    await page.getByLabel('Prompt', { exact: true }).fill('Hi');
    await send();
    expect(await finished()).toBe('Failed');
    const shown = await alert.innerText();
    expect(shown).toContain('Invalid API key');
    expect(shown).toContain('invalid_api_key');
    expect(shown).toContain('HTTP 401');
    expect(shown).toMatch(/Request id: \S+/);
    await browser.screenshot('playground-invalid-key');
  });

  it('shows a rate-limit refusal readably (a key allowed 1 request per minute, sending twice)', async () => {
    const created = await call(base, 'POST', '/admin/keys', {
      key: stack.app.adminKey,
      body: { label: 'rpm-one', rpm: 1 },
    });
    expect(created.status).toBe(201);
    await open(created.body.key);
    await page.getByLabel('Model').selectOption('tiny');
    await page.getByLabel('Max tokens').fill('4');
    await page.getByLabel('Prompt', { exact: true }).fill('One');
    await send();
    expect(await finished()).toMatch(/^Done in /);
    await send();
    expect(await finished()).toBe('Failed');
    const shown = await page.getByRole('alert').innerText();
    expect(shown).toContain('Rate limited');
    expect(shown).toContain('rate_limit_exceeded');
    expect(shown).toContain('HTTP 429');
    expect(shown).toMatch(/retry in \d+ s/);
    await browser.screenshot('playground-rate-limited');
  });
});
