import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { UI_CONTENT_SECURITY_POLICY, UiStaticServer } from '../../src/ui/ui.module';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { ensurePlaygroundBuilt } from '../stack/tools';

describe(UiStaticServer.name, () => {
  let t: TestApp;
  let asset: string;

  beforeAll(async () => {
    const dist = ensurePlaygroundBuilt();
    asset = readdirSync(join(dist, 'assets')).find((f) => f.endsWith('.js'))!;
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('serves the playground at /ui/ without an API key, with its CSP and revalidated pages', async () => {
    for (const path of ['/ui/', '/ui/index.html', '/ui/admin.html']) {
      const r = await fetch(`${t.baseUrl}${path}`);
      expect([path, r.status, r.headers.get('content-type')]).toEqual([path, 200, 'text/html; charset=utf-8']);
      expect(r.headers.get('content-security-policy')).toBe(UI_CONTENT_SECURITY_POLICY);
      expect(r.headers.get('cache-control')).toBe('no-cache');
      expect(r.headers.get('x-request-id')).toBeTruthy();
    }
  });

  it('redirects /ui to /ui/ and caches hashed assets for a year', async () => {
    const redirect = await fetch(`${t.baseUrl}/ui`, { redirect: 'manual' });
    expect([redirect.status, redirect.headers.get('location')]).toEqual([301, '/ui/']);
    const js = await fetch(`${t.baseUrl}/ui/assets/${asset}`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/javascript/);
    expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
  });

  it('answers a missing file or a path outside ui/dist with the API 404, and leaves the API guarded', async () => {
    for (const path of ['/ui/nope.js', '/ui/%2e%2e/package.json', '/ui/../package.json']) {
      const r = await fetch(`${t.baseUrl}${path}`);
      expect([path, r.status]).toEqual([path, 404]);
      expect(await r.text()).not.toContain('"name": "llm-server"');
    }
    const api = await fetch(`${t.baseUrl}/v1/models`);
    expect(api.status).toBe(401);
  });
});
