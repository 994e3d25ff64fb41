/**
 * The two contenders for the remote-model client, each doing what the gateway does per request:
 * POST one chat completion and either parse the JSON answer or read the SSE stream to [DONE].
 * Both use the project's own body builder and parsers (openai-wire, readSse), so the only thing
 * that differs is the HTTP transport.
 */
import http from 'node:http';
import type { Readable } from 'node:stream';
import axios, { type AxiosInstance } from 'axios';
import { Pool } from 'undici';
import { parseCompletion } from '../../src/models/http/openai-wire';
import { readSse } from '../../src/models/http/sse-stream-reader';

export type Mode = 'json' | 'sse';

export interface Contender {
  name: 'undici' | 'axios';
  call(mode: Mode): Promise<void>;
  close(): Promise<void>;
}

export const EXPECTED = 'Hello from the mock upstream.';
const PATH = '/v1/chat/completions';
const messages = [
  { role: 'system', content: 'You are a helpful assistant.' },
  { role: 'user', content: 'Say hello in one short sentence, please.' },
];
const bodies: Record<Mode, string> = {
  json: JSON.stringify({ model: 'bench', messages, max_tokens: 64, stream: false }),
  sse: JSON.stringify({
    model: 'bench',
    messages,
    max_tokens: 64,
    stream: true,
    stream_options: { include_usage: true },
  }),
};
const headers = (mode: Mode): Record<string, string> => ({
  'content-type': 'application/json',
  accept: mode === 'sse' ? 'text/event-stream' : 'application/json',
  authorization: 'Bearer sk-bench',
});

/** Fails the run if a contender read less than the whole answer: speed is only fair if the work is. */
function check(text: string, done: boolean): void {
  if (text !== EXPECTED || !done) throw new Error(`incomplete answer: ${JSON.stringify(text)} done=${done}`);
}

async function readStream(body: Readable): Promise<void> {
  let text = '';
  let done = false;
  for await (const item of readSse(body)) {
    if (item.kind === 'delta') text += item.text;
    else if (item.kind === 'done') done = true;
    else if (item.kind === 'error') throw new Error(item.message);
  }
  check(text, done);
}

/** Configured as src/models/http/http-llm-client.ts configures its pool. */
export function undiciContender(origin: string): Contender {
  const pool = new Pool(origin, {
    connections: null,
    connectTimeout: 10_000,
    headersTimeout: 60_000,
    bodyTimeout: 60_000,
    keepAliveTimeout: 30_000,
  });
  return {
    name: 'undici',
    async call(mode) {
      const signal = new AbortController().signal; // the gateway passes the client's signal
      const res = await pool.request({
        method: 'POST',
        path: PATH,
        headers: headers(mode),
        body: bodies[mode],
        signal,
      });
      if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
      if (mode === 'sse') return readStream(res.body);
      const parsed = parseCompletion(await res.body.json());
      check(parsed.text, parsed.finishReason === 'stop');
    },
    close: () => pool.close(),
  };
}

/**
 * The card's pick, set up as well as it can be: keep-alive agent, no socket cap, stream for SSE,
 * no redirect following (undici's Pool follows none either; with it axios wraps every request in
 * follow-redirects).
 */
export function axiosContender(origin: string): Contender {
  const agent = new http.Agent({ keepAlive: true, keepAliveMsecs: 30_000, maxSockets: Infinity });
  const client: AxiosInstance = axios.create({
    baseURL: origin,
    httpAgent: agent,
    timeout: 60_000,
    proxy: false,
    maxRedirects: 0,
  });
  return {
    name: 'axios',
    async call(mode) {
      const signal = new AbortController().signal;
      if (mode === 'sse') {
        const res = await client.post<Readable>(PATH, bodies.sse, {
          headers: headers('sse'),
          responseType: 'stream',
          signal,
        });
        if (res.status !== 200) throw new Error(`status ${res.status}`);
        return readStream(res.data);
      }
      const res = await client.post<unknown>(PATH, bodies.json, { headers: headers('json'), signal });
      if (res.status !== 200) throw new Error(`status ${res.status}`);
      const parsed = parseCompletion(res.data);
      check(parsed.text, parsed.finishReason === 'stop');
    },
    async close() {
      agent.destroy();
    },
  };
}
