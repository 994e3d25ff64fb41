import type { AddressInfo } from 'node:net';

/** How the admin key came to be at this start. */
export type BootstrapKeyState =
  /** The key table was empty: this key was just created and is shown this once. */
  | { kind: 'generated'; key: string }
  /** BOOTSTRAP_API_KEY is set (the operator has it). */
  | { kind: 'configured' }
  /** Keys exist from an earlier start. */
  | { kind: 'existing' };

export interface StartBannerInput {
  address: AddressInfo | string | null;
  adminKey: BootstrapKeyState;
  /** Whether the playground build is served at /ui/. */
  playground: boolean;
}

const TRY_BODY = `'{"messages":[{"role":"user","content":"Hello"}]}'`;

/**
 * The first screen after `npm start`: where everything is, the admin key on the first start only,
 * and one request to try. Written to stderr by main.ts, apart from the JSON log lines on stdout
 * (docs/first-start.md).
 */
export function startBanner(input: StartBannerInput): string {
  const base = baseUrl(input.address);
  const key = input.adminKey;
  const rows: [string, string][] = [
    ['API', `${base}/v1`],
    ...(input.playground ? ([['Playground', `${base}/ui/`]] as [string, string][]) : []),
    ['API docs', `${base}/docs`],
  ];
  let bearer: string;
  if (key.kind === 'generated') {
    rows.push(['Admin key', `${key.key}   (shown this once: store it now)`]);
    bearer = key.key;
  } else {
    const where = key.kind === 'configured' ? 'BOOTSTRAP_API_KEY' : 'the key printed at the first start';
    rows.push(['Admin key', `${where}; more keys: ADMIN_KEY=sk-... make key LABEL=me`]);
    bearer = '$LLM_API_KEY';
  }
  rows.push([
    'Try it',
    `curl ${base}/v1/chat/completions -H "Authorization: Bearer ${bearer}" -H "Content-Type: application/json" -d ${TRY_BODY}`,
  ]);
  const width = Math.max(...rows.map(([label]) => label.length)) + 2;
  const lines = rows.map(([label, value]) => `    ${label.padEnd(width)}${value}`);
  return `\n  llm-server listening on ${base}\n${lines.join('\n')}\n\n`;
}

/** A URL a browser or curl on this machine can use: a wildcard bind is reached via loopback. */
export function baseUrl(address: AddressInfo | string | null): string {
  if (!address || typeof address === 'string') return 'http://127.0.0.1:8000';
  const wildcard = address.address === '0.0.0.0' || address.address === '::';
  const host = wildcard
    ? '127.0.0.1'
    : address.family === 'IPv6' || address.address.includes(':')
      ? `[${address.address}]`
      : address.address;
  return `http://${host}:${address.port}`;
}
