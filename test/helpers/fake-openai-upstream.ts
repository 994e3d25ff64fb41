import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { deltasAnswer, deltasChunks } from './fake-deltas-answer';
import { answerChunks } from './openai-answers';

/**
 * A real node:http OpenAI-compatible upstream for tests: `/v1/chat/completions`,
 * `/v1/completions` (JSON or SSE) and `/v1/models`, with scripted failures and a record of
 * every request it saw (including whether the client hung up before the answer finished).
 */
export type FakeBehaviour =
  | { kind: 'ok' }
  /** Answers in one JSON piece even when a stream was asked for (some upstreams do). */
  | { kind: 'json' }
  /** Answers with this status and an OpenAI-style error body (`error` adds type/code/param). */
  | {
      kind: 'status';
      status: number;
      retryAfter?: string;
      message?: string;
      error?: { type?: string; code?: string | null; param?: string | null };
    }
  /** Never answers (the client's timeout must fire). */
  | { kind: 'hang' }
  /** Destroys the socket without answering. */
  | { kind: 'reset' }
  /** Streams `afterDeltas` deltas, then destroys the socket (no [DONE]). */
  | { kind: 'cut'; afterDeltas: number }
  /** Streams `afterDeltas` deltas, then sends an error event and ends. */
  | { kind: 'error-event'; afterDeltas: number; message?: string }
  /** Streams `afterDeltas` deltas, then waits for `resume()`. */
  | { kind: 'pause'; afterDeltas: number };

export interface FakeUpstreamOptions {
  /** Listen on this port (e.g. to come back where a stopped upstream was). */
  port?: number;
  /** The completion, one streamed delta per element. */
  deltas: string[];
  /** Before answering (headers included). */
  delayMs: number;
  /** Between streamed chunks. */
  chunkDelayMs: number;
  /** Report `usage` (in the JSON answer, or as the last chunk when include_usage is asked). */
  usage: boolean;
  promptTokens: number;
  finishReason: 'stop' | 'length';
  /** Send SSE with `\r\n` line ends and `: keep-alive` comments. */
  crlf: boolean;
  /** Status of `GET /v1/models`. */
  modelsStatus: number;
  /** Stop at the request's max_tokens (one delta = one token), as real upstreams do. */
  honourMaxTokens: boolean;
  /**
   * The whole answer to a request (a `chat.completion` or `text_completion` object, see
   * ./openai-answers), sent as is; a stream gets it split into OpenAI-style chunks. Replaces
   * `deltas`/`usage`/`finishReason` when set.
   */
  answer?: (body: Record<string, unknown>) => Record<string, unknown>;
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown> | undefined;
  receivedAt: number;
  /** The client's port: equal ports mean a reused keep-alive connection. */
  remotePort: number | undefined;
  /** When the answer was fully written (undefined if it never was). */
  finishedAt?: number;
  /** The client closed the connection before the answer was complete. */
  clientClosedEarly: boolean;
  /** Resolves when the connection of this request closed, either way. */
  closed: Promise<void>;
}

const DEFAULTS: FakeUpstreamOptions = {
  deltas: ['Hello', ',', ' world', '!'],
  delayMs: 0,
  chunkDelayMs: 0,
  usage: true,
  promptTokens: 11,
  finishReason: 'stop',
  crlf: false,
  modelsStatus: 200,
  honourMaxTokens: false,
};

export class FakeOpenAIUpstream {
  readonly requests: RecordedRequest[] = [];
  options: FakeUpstreamOptions;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly script: FakeBehaviour[] = [];
  private fallback: FakeBehaviour = { kind: 'ok' };
  private resumers: Array<() => void> = [];
  private listenPort = 0;

  private constructor(opts: Partial<FakeUpstreamOptions>) {
    this.options = { ...DEFAULTS, ...opts };
  }

  static async start(opts: Partial<FakeUpstreamOptions> = {}): Promise<FakeOpenAIUpstream> {
    const fake = new FakeOpenAIUpstream(opts);
    await fake.listen(opts.port ?? 0);
    return fake;
  }

  get port(): number {
    return this.listenPort;
  }

  /** What a client's `base_url` should be. */
  get baseUrl(): string {
    return `http://127.0.0.1:${this.listenPort}/v1`;
  }

  /** The next requests behave like these, in order; then the default behaviour resumes. */
  enqueue(...behaviours: FakeBehaviour[]): this {
    this.script.push(...behaviours);
    return this;
  }

  setDefault(behaviour: FakeBehaviour): this {
    this.fallback = behaviour;
    return this;
  }

  /** Completion requests (chat + text) seen so far. */
  get completionRequests(): RecordedRequest[] {
    return this.requests.filter((r) => r.method === 'POST');
  }

  /** Lets paused streams continue. */
  resume(): void {
    const r = this.resumers;
    this.resumers = [];
    r.forEach((fn) => fn());
  }

  /** Stops listening and drops every connection: new connections are refused. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    this.resume();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Listens again on the same port after `stop()`. */
  async restart(): Promise<void> {
    if (!this.server) await this.listen(this.listenPort);
  }

  private async listen(port: number): Promise<void> {
    const server = createServer((req, res) => void this.handle(req, res));
    server.keepAliveTimeout = 60_000;
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.listenPort = (server.address() as AddressInfo).port;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    let resolveClosed!: () => void;
    const record: RecordedRequest = {
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      headers: req.headers,
      body: parseJson(raw),
      receivedAt: Date.now(),
      remotePort: req.socket.remotePort,
      clientClosedEarly: false,
      closed: new Promise<void>((r) => (resolveClosed = r)),
    };
    this.requests.push(record);
    res.on('close', () => {
      if (!res.writableFinished) record.clientClosedEarly = true;
      resolveClosed();
    });
    res.on('finish', () => (record.finishedAt = Date.now()));

    if (record.method === 'GET' && record.path.endsWith('/models')) {
      return json(res, this.options.modelsStatus, { object: 'list', data: [{ id: 'fake-model', object: 'model' }] });
    }
    const chat = record.path.endsWith('/chat/completions');
    if (record.method !== 'POST' || (!chat && !record.path.endsWith('/completions'))) {
      return json(res, 404, { error: { message: `no route ${record.path}` } });
    }
    const behaviour = this.script.shift() ?? this.fallback;
    if (behaviour.kind === 'hang') return;
    if (behaviour.kind === 'reset') return void req.socket.destroy();
    await delay(this.options.delayMs, res);
    if (res.destroyed) return;
    if (behaviour.kind === 'status') {
      const headers: Record<string, string> = behaviour.retryAfter ? { 'retry-after': behaviour.retryAfter } : {};
      return json(
        res,
        behaviour.status,
        { error: { message: behaviour.message ?? `fake failure ${behaviour.status}`, ...behaviour.error } },
        headers,
      );
    }
    const model = String(record.body?.model ?? 'fake-model');
    const body = record.body ?? {};
    const whole = this.options.answer?.(body) ?? deltasAnswer(this.options, chat, model, body);
    if (body.stream !== true || behaviour.kind === 'json') return json(res, 200, whole);
    const include = (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
    const chunks = this.options.answer
      ? answerChunks(whole as Parameters<typeof answerChunks>[0], include)
      : deltasChunks(this.options, chat, model, body, include);
    return this.stream(res, chunks, behaviour);
  }

  /** Streams `chunks` then `[DONE]`; cut/error-event/pause apply before chunk `afterDeltas`. */
  private async stream(res: ServerResponse, chunks: unknown[], behaviour: FakeBehaviour): Promise<void> {
    const eol = this.options.crlf ? '\r\n' : '\n';
    const send = (payload: unknown): void => {
      if (this.options.crlf) res.write(`: keep-alive${eol}`);
      res.write(`data: ${typeof payload === 'string' ? payload : JSON.stringify(payload)}${eol}${eol}`);
    };
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    for (let i = 0; i < chunks.length; i++) {
      if ('afterDeltas' in behaviour && i === behaviour.afterDeltas) {
        if (behaviour.kind === 'cut') {
          // Let what was written reach the client first, then drop the socket mid-body.
          await new Promise<void>((r) => res.write('', () => r()));
          await delay(20);
          return void res.socket?.destroy();
        }
        if (behaviour.kind === 'error-event') {
          send({ error: { message: behaviour.message ?? 'fake mid-stream failure', type: 'server_error' } });
          return void res.end();
        }
        if (behaviour.kind === 'pause') await new Promise<void>((r) => this.resumers.push(r));
      }
      if (res.destroyed) return;
      send(chunks[i]);
      await delay(this.options.chunkDelayMs, res);
    }
    if (res.destroyed) return;
    send('[DONE]');
    res.end();
  }
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

function parseJson(raw: string): Record<string, unknown> | undefined {
  try {
    return raw ? (JSON.parse(raw) as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Waits, but no longer than the client stays connected (a dropped client must not hold timers). */
function delay(ms: number, res?: ServerResponse): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      res?.off('close', done);
      resolve();
    }
    res?.once('close', done);
  });
}
