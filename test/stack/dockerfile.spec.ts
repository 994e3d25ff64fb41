import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../src/common/project-root';

const root = projectRoot();

interface Stage {
  name: string;
  from: string;
  lines: string[];
}

/** The Dockerfile as stages of instructions (continuation lines joined, comments dropped). */
function stages(text: string): Stage[] {
  const instructions = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const out: Stage[] = [];
  for (const line of instructions) {
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (from) out.push({ name: from[2] ?? '', from: from[1], lines: [] });
    else out.at(-1)?.lines.push(line);
  }
  return out;
}

const dockerfile = stages(readFileSync(join(root, 'Dockerfile'), 'utf8'));
const stage = (name: string) => dockerfile.find((s) => s.name === name)!;
const dockerignore = readFileSync(join(root, '.dockerignore'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));

describe('Dockerfile', () => {
  it('is multi-stage: build, production dependencies, the ui, and the slim runtime last (the default target)', () => {
    expect(dockerfile.map((s) => s.name)).toEqual(['build', 'prod-deps', 'ui', 'runtime']);
    expect(stage('runtime').from).toBe('${NODE_IMAGE}');
  });

  it('builds the server and the playground, and generates the bundled model at build time', () => {
    const build = stage('build').lines;
    expect(build).toContain('RUN npm ci --no-audit --no-fund');
    expect(build).toContain('RUN npm run build');
    expect(build.some((l) => /^RUN node dist\/src\/model-tools\/cli\/build\.js --out models\/tiny$/.test(l))).toBe(
      true,
    );
  });

  it('ships production dependencies only, runs as a non-root user, on 0.0.0.0, with a /healthz health check', () => {
    expect(stage('prod-deps').lines.some((l) => l.startsWith('RUN npm ci --omit=dev'))).toBe(true);
    const runtime = stage('runtime').lines;
    expect(runtime).toContain('COPY --from=prod-deps /app/node_modules ./node_modules');
    expect(runtime.some((l) => l.startsWith('COPY --from=build /app/node_modules'))).toBe(false);
    expect(runtime).toContain('USER node');
    expect(runtime.indexOf('USER node')).toBeLessThan(runtime.findIndex((l) => l.startsWith('CMD')));
    expect(runtime.find((l) => l.startsWith('ENV'))).toMatch(/HOST=0\.0\.0\.0/);
    expect(runtime.find((l) => l.startsWith('HEALTHCHECK'))).toMatch(/\/healthz/);
    expect(runtime.at(-1)).toBe('CMD ["node", "dist/src/main.js"]');
    for (const copied of ['./dist', './ui/dist', './models', './models.yaml']) {
      expect(runtime.some((l) => l.startsWith('COPY --from=build') && l.endsWith(` ${copied}`))).toBe(true);
    }
  });

  it('copies only files that exist and that .dockerignore lets through', () => {
    const sources = dockerfile
      .flatMap((s) => s.lines)
      .filter((l) => l.startsWith('COPY') && !l.includes('--from='))
      .flatMap((l) => l.split(/\s+/).slice(1, -1));
    expect(sources.length).toBeGreaterThan(5);
    for (const src of sources) {
      expect([src, existsSync(join(root, src))]).toEqual([src, true]);
      const top = src.replace(/^\.\//, '').split('/')[0];
      const excluded = dockerignore.includes(top) && !dockerignore.includes(`!${src}`);
      expect([src, excluded]).toEqual([src, false]);
    }
  });

  it('keeps secrets, local state and dependencies out of the build context', () => {
    for (const entry of ['.env', '.git', 'node_modules', 'dist', 'data', 'ui/dist', 'models/*'])
      expect(dockerignore).toContain(entry);
  });
});
