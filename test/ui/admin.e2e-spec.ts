import type { Page } from 'playwright-core';
import { call } from '../helpers/test-app';
import type { StackApp } from '../stack/stack-fixture';
import { chromiumBinary, describeWithTool } from '../stack/tools';
import { waitFor } from '../helpers/wait-for';
import { type Browser, closeBrowserSession, startBrowserSession } from './browser';

describeWithTool(
  'chromium',
  chromiumBinary(),
  'apt-get install -y chromium',
)('admin page in a real browser', () => {
  let stack: StackApp;
  let browser: Browser;
  let page: Page;
  let base: string;
  let pageErrors: string[];

  const row = (label: string) =>
    page.locator('#keys-body tr', { has: page.getByRole('cell', { name: label, exact: true }) });
  const statusOf = async (label: string) => row(label).getAttribute('data-status');
  /** Opens the admin page and loads it with this key. */
  const open = async (key = stack.app.adminKey) => {
    await page.goto(`${base}/ui/admin.html`);
    await page.getByLabel('Key', { exact: true }).fill(key);
    await page.getByRole('button', { name: 'Load' }).click();
  };
  const createKey = async (label: string, rpm?: number) => {
    await page.getByLabel('Label').fill(label);
    if (rpm !== undefined) await page.getByLabel('Requests per minute').fill(String(rpm));
    await page.getByRole('button', { name: 'Create key' }).click();
    await waitFor('the new key', () => page.locator('#new-key').isVisible());
    return page.getByLabel('The new key').inputValue();
  };
  const models = (key: string) => call(base, 'GET', '/v1/models', { key });

  beforeAll(async () => {
    ({ stack, base, browser, page, pageErrors } = await startBrowserSession());
  });
  afterAll(() => closeBrowserSession({ stack, browser }));
  afterEach(() => {
    expect(pageErrors).toEqual([]);
  });

  it('lists the keys for an admin key', async () => {
    await call(base, 'POST', '/admin/keys', {
      key: stack.app.adminKey,
      body: { label: 'listed-one', role: 'user', tpm: 5000 },
    });
    await open();
    await waitFor('the key list', async () => (await row('listed-one').count()) === 1);
    const listed = await call(base, 'GET', '/admin/keys', { key: stack.app.adminKey });
    expect(await page.locator('#keys-body tr').count()).toBe(listed.body.data.length);
    expect(await row('listed-one').innerText()).toMatch(/user\s+active\s+default \/ 5,000 \/ default/);
    expect(await row('bootstrap').innerText()).toContain('admin');
  });

  it('creates a key and shows its plaintext once, never again', async () => {
    await open();
    const key = await createKey('browser-made', 5);
    expect(key).toMatch(/^sk-[A-Za-z0-9_-]{40,}$/);
    await browser.screenshot('admin-new-key');
    expect((await models(key)).status).toBe(200);
    await waitFor('the new row', async () => (await row('browser-made').count()) === 1);
    const record = (await call(base, 'GET', '/admin/keys?label=browser-made', { key: stack.app.adminKey })).body
      .data[0];
    expect(await row('browser-made').innerText()).toContain(`${record.key_prefix}…`);
    expect(key.startsWith(record.key_prefix)).toBe(true);
    // Only the one read-only field holds it; no text on the page does.
    expect(await page.locator('body').innerText()).not.toContain(key);
    await page.getByRole('button', { name: 'I have saved it' }).click();
    expect(await page.locator('#new-key').isHidden()).toBe(true);
    expect(await page.getByLabel('The new key').inputValue()).toBe('');
    await page.reload();
    await waitFor('the list after a reload', async () => (await row('browser-made').count()) === 1);
    expect(await page.content()).not.toContain(key);
    expect(await page.getByLabel('The new key').inputValue()).toBe('');
  });

  it('deactivates, activates and rotates a key, each taking effect at once', async () => {
    await open();
    const key = await createKey('lifecycle');
    await page.getByRole('button', { name: 'I have saved it' }).click();
    await page.getByRole('button', { name: 'Deactivate lifecycle' }).click();
    await waitFor('inactive', async () => (await statusOf('lifecycle')) === 'inactive');
    const refused = await models(key);
    expect([refused.status, refused.body.error.code]).toEqual([403, 'api_key_inactive']);

    await page.getByRole('button', { name: 'Activate lifecycle' }).click();
    await waitFor('active again', async () => (await statusOf('lifecycle')) === 'active');
    expect((await models(key)).status).toBe(200);

    await page.getByRole('button', { name: 'Rotate lifecycle' }).click();
    await waitFor('the rotated key', () => page.locator('#new-key').isVisible());
    const rotated = await page.getByLabel('The new key').inputValue();
    expect(rotated).toMatch(/^sk-/);
    expect(rotated).not.toBe(key);
    expect(await page.locator('#new-key-for').innerText()).toContain('Rotated "lifecycle"');
    expect((await models(key)).body.error.code).toBe('invalid_api_key');
    expect((await models(rotated)).status).toBe(200);
  });

  it('draws usage bar charts per model and per key from /admin/usage', async () => {
    const user = await call(base, 'POST', '/admin/keys', { key: stack.app.adminKey, body: { label: 'chart-user' } });
    for (const key of [user.body.key, stack.app.adminKey]) {
      const r = await call(base, 'POST', '/v1/generate', {
        key,
        body: { prompt: 'Hello', max_tokens: 6, model: 'tiny' },
      });
      expect(r.status).toBe(200);
    }
    await open();
    // The rollups are written behind (QUOTA_FLUSH_MS = 100 in this app).
    await waitFor(
      'the charts',
      async () => {
        if ((await page.locator('#admin-status').innerText()).startsWith('Loading')) return false;
        if (
          (await page.locator('#chart-key desc').count()) === 1 &&
          ((await page.locator('#chart-key desc').textContent()) ?? '').includes('chart-user')
        )
          return true;
        await page.getByRole('button', { name: 'Refresh', exact: true }).last().click();
        return false;
      },
      { timeoutMs: 20_000, intervalMs: 50 },
    );
    const modelDesc = await page.locator('#chart-model desc').textContent();
    expect(modelDesc).toMatch(/^tiny: [\d,]+ tokens$/);
    expect(await page.locator('#chart-model rect.chart-bar').count()).toBe(1);
    expect(await page.locator('#chart-key rect.chart-bar').count()).toBeGreaterThanOrEqual(2);
    expect(await page.locator('#chart-key svg').getAttribute('role')).toBe('img');
    await page.getByLabel('Measure').selectOption('requests');
    await waitFor('the requests chart', async () =>
      ((await page.locator('#chart-key desc').textContent()) ?? '').includes('chart-user: 1 requests'),
    );
    await browser.screenshot('admin-usage');
  });

  it('shows a non-admin key refused readably', async () => {
    const user = await call(base, 'POST', '/admin/keys', { key: stack.app.adminKey, body: { label: 'not-an-admin' } });
    await open(user.body.key);
    const alert = page.getByRole('alert');
    await waitFor(
      'the error',
      async () => (await alert.isVisible()) && (await alert.innerText()).includes('forbidden'),
    );
    expect(await alert.innerText()).toContain('HTTP 403');
    expect(await page.locator('#keys-body tr').count()).toBe(0);
  });
});
