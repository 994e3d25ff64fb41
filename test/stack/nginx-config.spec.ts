import { spawnSync } from 'node:child_process';
import { closeSync, cpSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  nginxDir,
  renderLocalNginxConf,
  testNginxConfig,
  writeLocalNginxPrefix,
} from '../../scripts/stack/nginx-local';
import { describeWithTool, nginxBinary } from './tools';

const nginx = nginxBinary();
const read = (f: string) => readFileSync(join(nginxDir(), f), 'utf8');

/** Can this process give nginx its own /etc/hosts (root, mount namespaces allowed)? */
function canUseMountNamespace(): boolean {
  if (process.getuid?.() !== 0) return false;
  return spawnSync('unshare', ['-m', 'true']).status === 0;
}

/**
 * `nginx -t` on the compose stack's exact nginx.conf. The upstream names (api, ui, grafana) only
 * resolve inside compose's network, so nginx gets a private /etc/hosts naming them in a mount
 * namespace (and a private /tmp for the temp paths). Without root: a copy with the names replaced.
 */
function testComposeConfig(): { ok: boolean; output: string; exact: boolean } {
  const work = mkdtempSync(join(tmpdir(), 'llm-nginx-t-'));
  try {
    if (canUseMountNamespace()) {
      const hosts = join(work, 'hosts');
      writeFileSync(hosts, '127.0.0.1 localhost api ui grafana\n');
      const script = `mount --bind "$1" /etc/hosts && mount -t tmpfs tmpfs /tmp && exec "$2" -t -c "$3" -e stderr`;
      // A file as stdout and stderr: nginx opens /dev/stdout for its access log, which fails on
      // the socket pairs Node uses for pipes (as it never does in a container).
      const out = join(work, 'out');
      const fd = openSync(out, 'w');
      // The private /tmp would hide a checkout that lives under /tmp: test an identical copy kept
      // outside it.
      const outside = mkdtempSync(join('/var/tmp', 'llm-nginx-t-'));
      try {
        cpSync(nginxDir(), join(outside, 'nginx'), { recursive: true });
        const r = spawnSync(
          'unshare',
          ['-m', 'sh', '-c', script, 'sh', hosts, nginx!, join(outside, 'nginx', 'nginx.conf')],
          { stdio: ['ignore', fd, fd] },
        );
        return { ok: r.status === 0, output: readFileSync(out, 'utf8'), exact: true };
      } finally {
        closeSync(fd);
        rmSync(outside, { recursive: true, force: true });
      }
    }
    cpSync(nginxDir(), join(work, 'nginx'), { recursive: true });
    const upstreams = join(work, 'nginx', 'llm', 'upstreams.docker.conf');
    writeFileSync(upstreams, readFileSync(upstreams, 'utf8').replace(/server (api|ui|grafana):/g, 'server 127.0.0.1:'));
    const conf = join(work, 'nginx', 'nginx.conf');
    writeFileSync(
      conf,
      readFileSync(conf, 'utf8').replaceAll('/tmp/', `${work}/`).replace('/dev/stdout', `${work}/access.log`),
    );
    return { ...testNginxConfig(conf, work), exact: false };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

describeWithTool(
  'nginx',
  nginx,
  'apt-get install -y nginx',
)('nginx configuration', () => {
  it('passes nginx -t for the compose stack (nginx/nginx.conf with nginx/llm/*.conf)', () => {
    const r = testComposeConfig();
    if (!r.exact) process.stderr.write('  (not root: nginx -t ran on a copy with the upstream names replaced)\n');
    expect(r.output).toContain('test is successful');
    expect(r.ok).toBe(true);
  });

  it('passes nginx -t for the ui container (nginx/ui.conf inside an http block, as the image includes it)', () => {
    const work = mkdtempSync(join(tmpdir(), 'llm-nginx-ui-'));
    try {
      const conf = join(work, 'nginx.conf');
      writeFileSync(
        conf,
        `pid ${work}/nginx.pid;\nevents {}\nhttp {\n  client_body_temp_path ${work}/body;\n  proxy_temp_path ${work}/proxy;\n  fastcgi_temp_path ${work}/fcgi;\n  uwsgi_temp_path ${work}/uwsgi;\n  scgi_temp_path ${work}/scgi;\n  access_log off;\n  include ${join(nginxDir(), 'ui.conf')};\n}\n`,
      );
      const r = testNginxConfig(conf, work);
      expect(r.output).toContain('test is successful');
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });

  it('passes nginx -t for the local stack generated around the same includes', () => {
    const { prefix, conf } = writeLocalNginxPrefix({ listenPort: 18080, apiPorts: [18001, 18002] });
    try {
      const r = testNginxConfig(conf, prefix);
      expect(r.output).toContain('test is successful');
      const text = readFileSync(conf, 'utf8');
      expect(text).toContain('include llm/server.conf;');
      expect(text).toMatch(
        /upstream llm_api \{\s+server 127\.0\.0\.1:18001;\s+server 127\.0\.0\.1:18002;\s+keepalive 16;/,
      );
    } finally {
      rmSync(prefix, { recursive: true, force: true });
    }
  });

  it('refuses a broken configuration (the check can fail)', () => {
    const { prefix, conf } = writeLocalNginxPrefix({ listenPort: 18080, apiPorts: [18001] });
    try {
      writeFileSync(conf, readFileSync(conf, 'utf8').replace('include llm/server.conf;', 'proxy_buffering maybe;'));
      const r = testNginxConfig(conf, prefix);
      expect(r.ok).toBe(false);
      expect(r.output).toMatch(/invalid value "maybe"/);
    } finally {
      rmSync(prefix, { recursive: true, force: true });
    }
  });

  it('streams /v1/ unbuffered with long reads, and keeps HTTP/1.1 connections to the api', () => {
    const server = read('llm/server.conf');
    const v1 = /location \/v1\/ \{([^}]*)\}/.exec(server)![1];
    expect(v1).toMatch(/proxy_buffering off;/);
    expect(v1).toMatch(/proxy_read_timeout 1h;/);
    const http = read('llm/http.conf');
    expect(http).toMatch(/^proxy_http_version 1\.1;$/m);
    expect(http).toMatch(/^proxy_set_header Connection \$llm_connection;$/m);
    expect(read('llm/upstreams.docker.conf')).toMatch(/upstream llm_api \{\s+server api:8000;\s+keepalive \d+;/);
    expect(renderLocalNginxConf({ listenPort: 1, apiPorts: [2] }, '/p')).toMatch(/keepalive 16;/);
  });
});
