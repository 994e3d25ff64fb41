import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { freePort } from '../../src/database/embedded-postgres.launcher';
import { InferenceLogWriter } from '../../src/usage/inference-log.writer';
import { call, startTestApp, type TestApp } from '../helpers/test-app';
import { queryDb } from '../helpers/test-database';
import {
  CONFIG_DIR,
  concretePromql,
  concreteSql,
  dashboardQueries,
  dashboards,
  promqlMetricNames,
} from './helpers/dashboards';
import { sendInferenceTraffic } from './helpers/inference-traffic';
import { type Family, hasPromtool, parsePrometheusText } from './helpers/prom-text';
import { waitFor } from '../helpers/wait-for';
import { entry } from './helpers/recording-app';

const hasPrometheus = spawnSync('prometheus', ['--version'], { stdio: 'ignore' }).status === 0;
const queries = dashboardQueries();
const promQueries = queries.filter((q) => q.expr !== undefined);
const sqlQueries = queries.filter((q) => q.rawSql !== undefined);

/** A sample name the exposition can contain for this family set (histograms add suffixes). */
function exported(families: Map<string, Family>, name: string): boolean {
  if (families.get(name)?.type === 'counter' || families.get(name)?.type === 'gauge') return true;
  const m = /^(.*)_(bucket|sum|count)$/.exec(name);
  return !!m && families.get(m[1])?.type === 'histogram';
}

describe('Grafana provisioning', () => {
  it('does define both datasources the dashboards use, with credentials from the environment', () => {
    const ds = parseYaml(readFileSync(join(CONFIG_DIR, 'grafana/provisioning/datasources/datasources.yml'), 'utf8'));
    const byUid = Object.fromEntries(ds.datasources.map((d: any) => [d.uid, d]));
    expect(byUid['llm-prometheus']).toMatchObject({ type: 'prometheus', url: 'http://prometheus:9090' });
    expect(byUid['llm-postgres']).toMatchObject({ type: 'postgres', user: '${POSTGRES_USER}' });
    expect(byUid['llm-postgres'].secureJsonData.password).toBe('${POSTGRES_PASSWORD}');
    for (const q of queries) expect(Object.keys(byUid)).toContain(q.datasourceUid);
    const providers = parseYaml(
      readFileSync(join(CONFIG_DIR, 'grafana/provisioning/dashboards/dashboards.yml'), 'utf8'),
    );
    expect(providers.providers[0]).toMatchObject({ type: 'file', options: { path: '/var/lib/grafana/dashboards' } });
  });

  it('does cover what the issue asks for, with unique dashboard uids and panel ids', () => {
    const boards = dashboards();
    expect(new Set(boards.map((b) => b.uid)).size).toBe(boards.length);
    for (const b of boards) {
      const ids = (b.panels as any[]).map((p) => p.id);
      expect(new Set(ids).size).toBe(ids.length);
    }
    const text = JSON.stringify(boards);
    for (const needle of [
      'histogram_quantile(0.99',
      'llm_errors_total',
      'llm_tokens_total',
      'llm_time_to_first_token_seconds_bucket',
      'llm_cache_requests_total',
      'llm_rate_limited_total',
      'llm_quota_exhausted_total',
      'llm_model_up',
      'FROM usage_daily',
      'LEFT JOIN api_keys',
      'GROUP BY endpoint',
    ]) {
      expect(text).toContain(needle);
    }
  });

  (hasPromtool() ? it : it.skip)('does have only valid PromQL (promtool check rules)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'llm-promql-'));
    try {
      const rules = promQueries.map((q, i) => ({ record: `panel:check_${i}`, expr: concretePromql(q.expr!) }));
      writeFileSync(join(dir, 'rules.yml'), JSON.stringify({ groups: [{ name: 'dashboards', rules }] }));
      const r = spawnSync('promtool', ['check', 'rules', join(dir, 'rules.yml')], { encoding: 'utf8' });
      expect(`${r.stdout}${r.stderr}`).toContain(`SUCCESS: ${rules.length} rules found`);
      expect(r.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  (hasPromtool() ? it : it.skip)('does have a valid prometheus.yml (promtool check config)', () => {
    const r = spawnSync('promtool', ['check', 'config', join(CONFIG_DIR, 'prometheus.yml')], { encoding: 'utf8' });
    expect(r.stdout).toContain('SUCCESS');
    expect(r.status).toBe(0);
  });

  it('does extract metric names PromQL-aware', () => {
    expect(
      promqlMetricNames('histogram_quantile(0.95, sum by (le, route) (rate(llm_a_bucket{route=~"x|y"}[5m])))'),
    ).toEqual(['llm_a_bucket']);
    expect(promqlMetricNames('sum(rate(a_total[1m])) / clamp_min(sum(b), 1e-9) > 0 and on (x) c offset 5m')).toEqual([
      'a_total',
      'b',
      'c',
    ]);
  });
});

describe('dashboards against a running server', () => {
  let t: TestApp;
  let families: Map<string, Family>;
  beforeAll(async () => {
    t = await startTestApp();
    await call(t.baseUrl, 'GET', '/healthz');
    await call(t.baseUrl, 'GET', '/admin/keys', { key: t.adminKey });
    await call(t.baseUrl, 'GET', '/nope');
    await sendInferenceTraffic(t);
    families = parsePrometheusText(await (await fetch(`${t.baseUrl}/metrics`)).text());
  });
  afterAll(() => t.close());

  it('does name only metrics the server exports in every PromQL query', () => {
    expect(promQueries.length).toBeGreaterThan(20);
    const missing = promQueries.flatMap((q) =>
      promqlMetricNames(q.expr!)
        .filter((n) => !exported(families, n))
        .map((n) => `${q.dashboard} / ${q.panel}: ${n}`),
    );
    expect(missing).toEqual([]);
    // The model variable lists label values of an exported metric.
    const variable = dashboards()
      .flatMap((b) => b.templating.list)
      .find((v: any) => v.name === 'model');
    expect(variable.definition).toBe('label_values(llm_tokens_total, model)');
    expect(families.has('llm_tokens_total')).toBe(true);
  });

  it('does run every SQL panel against the migrated schema, with rows for the data seeded', async () => {
    expect(sqlQueries.length).toBeGreaterThan(5);
    const [{ id: keyId }] = await queryDb<{ id: string }>(t.dbUrl, `SELECT id FROM api_keys WHERE label = 'bootstrap'`);
    const [{ reg }] = await queryDb<{ reg: string | null }>(t.dbUrl, `SELECT to_regclass('usage_daily')::text AS reg`);
    if (!reg) {
      // Created by another migration (1764316900000); its exact schema, should that not be registered yet.
      await queryDb(
        t.dbUrl,
        `CREATE TABLE usage_daily (day date NOT NULL, key_id uuid NOT NULL REFERENCES api_keys(id), model text NOT NULL,
        requests bigint NOT NULL DEFAULT 0, prompt_tokens bigint NOT NULL DEFAULT 0, completion_tokens bigint NOT NULL DEFAULT 0,
        cached_requests bigint NOT NULL DEFAULT 0, PRIMARY KEY (day, key_id, model))`,
      );
    }
    await queryDb(
      t.dbUrl,
      `INSERT INTO usage_daily (day, key_id, model, requests, prompt_tokens, completion_tokens, cached_requests)
      VALUES (current_date, $1, 'tiny', 4, 40, 20, 1), (current_date - 1, $1, 'big', 2, 10, 30, 0) ON CONFLICT DO NOTHING`,
      [keyId],
    );
    const writer = t.running.app.get(InferenceLogWriter);
    writer.record(entry('dash-1', { keyId }));
    writer.record(entry('dash-2', { keyId, cached: true, provider: null, latencyMs: 0.4, timeToFirstTokenMs: null }));
    writer.record(
      entry('dash-3', { keyId, status: 429, errorCode: 'rate_limit_exceeded', promptTokens: 0, completionTokens: 0 }),
    );
    writer.record(
      entry('dash-4', { keyId: null, status: 401, errorCode: 'missing_api_key', endpoint: '/v1/chat/completions' }),
    );
    await writer.flush();
    const to = new Date(Date.now() + 60_000);
    const from = new Date(to.getTime() - 2 * 86_400_000);
    for (const q of sqlQueries) {
      const sql = concreteSql(q.rawSql!, from, to);
      const rows = await queryDb<Record<string, unknown>>(t.dbUrl, sql).catch((err) => {
        throw new Error(`${q.dashboard} / ${q.panel}: ${(err as Error).message}\n${sql}`);
      });
      expect({ panel: q.panel, rows: rows.length > 0 }).toEqual({ panel: q.panel, rows: true });
      if (q.format === 'time_series') expect(Object.keys(rows[0])).toContain('time');
    }
  });

  (hasPrometheus ? it : it.skip)(
    'does evaluate every PromQL query in a real Prometheus scraping the server',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'llm-prometheus-'));
      const port = await freePort();
      const target = new URL(t.baseUrl).host;
      writeFileSync(
        join(dir, 'prometheus.yml'),
        JSON.stringify({
          global: { scrape_interval: '1s', evaluation_interval: '1s' },
          scrape_configs: [{ job_name: 'llm-server', static_configs: [{ targets: [target] }] }],
        }),
      );
      let proc: ChildProcess | undefined;
      try {
        proc = spawn(
          'prometheus',
          [
            `--config.file=${join(dir, 'prometheus.yml')}`,
            `--storage.tsdb.path=${join(dir, 'data')}`,
            `--web.listen-address=127.0.0.1:${port}`,
          ],
          { stdio: 'ignore' },
        );
        const api = `http://127.0.0.1:${port}/api/v1/query?query=`;
        const query = async (q: string) =>
          (await (await fetch(api + encodeURIComponent(q))).json()) as {
            status: string;
            error?: string;
            data?: { result: unknown[] };
          };
        // rate() needs two scrapes; traffic between them makes the rates non-zero.
        await waitFor('a first scrape', () => query('count_over_time(llm_process_start_time_seconds[1m])'), {
          until: (r) => !!r.data?.result.length,
          timeoutMs: 20_000,
        });
        await sendInferenceTraffic(t);
        for (let i = 0; i < 3; i++) await call(t.baseUrl, 'GET', '/healthz');
        await waitFor('three scrapes', () => query('count_over_time(llm_process_start_time_seconds[1m])'), {
          until: (r) => Number((r.data?.result[0] as any)?.value?.[1]) >= 3,
          timeoutMs: 20_000,
        });
        let withData = 0;
        for (const q of promQueries) {
          const r = await query(concretePromql(q.expr!));
          expect({ panel: q.panel, status: r.status, error: r.error }).toEqual({
            panel: q.panel,
            status: 'success',
            error: undefined,
          });
          if (r.data!.result.length) withData++;
        }
        // Most panels show data after this little traffic (the rest are rates of events not sent twice).
        expect(withData).toBeGreaterThan(promQueries.length * 0.6);
      } finally {
        proc?.kill('SIGTERM');
        await new Promise((r) => (proc && proc.exitCode === null ? proc.once('exit', r) : r(undefined)));
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
