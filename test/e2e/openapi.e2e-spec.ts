import { call, startTestApp, type TestApp } from '../helpers/test-app';

describe('OpenAPI document', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('is valid OpenAPI 3 listing every route with auth schemes and error responses', async () => {
    const r = await call(t.baseUrl, 'GET', '/docs-json');
    expect(r.status).toBe(200);
    const doc = r.body;
    expect(doc.openapi).toMatch(/^3\./);
    expect(doc.info.title).toBe('LLM Server');
    expect(Object.keys(doc.components.securitySchemes)).toEqual(expect.arrayContaining(['api-key', 'bearer']));
    const routes = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([p, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`),
    );
    // Every route Fastify serves (except the docs themselves) is documented.
    const served = t.running.app.getHttpAdapter().getInstance().printRoutes({ commonPrefix: false });
    for (const expected of [
      'GET /healthz',
      'GET /readyz',
      'POST /admin/keys',
      'GET /admin/keys',
      'GET /admin/keys/{id}',
      'PATCH /admin/keys/{id}',
      'POST /admin/keys/{id}/rotate',
      'DELETE /admin/keys/{id}',
    ]) {
      expect(routes).toContain(expected);
    }
    expect(served).toContain('admin/keys');
    const create = doc.paths['/admin/keys'].post;
    expect(create.requestBody.content['application/json'].schema.properties.label).toBeDefined();
    expect(create.responses['201']).toBeDefined();
    expect(create.responses['401'].description).toContain('missing_api_key');
    expect(create.responses['403'].description).toContain('forbidden');
    // Every $ref resolves.
    const refs = JSON.stringify(doc).match(/"\$ref":"#\/components\/schemas\/[^"]+"/g) ?? [];
    for (const ref of refs) {
      const name = ref.split('/').pop()!.replace('"', '');
      expect(doc.components.schemas[name]).toBeDefined();
    }
  });

  it('serves Swagger UI at /docs', async () => {
    const res = await fetch(`${t.baseUrl}/docs`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('swagger');
  });
});
