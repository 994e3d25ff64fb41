import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

type Json = Record<string, unknown>;

/** What the next request gets. */
export type FakeResponsesBehaviour =
  | { kind: 'ok' }
  /** Answers with this status and an OpenAI error body. */
  | { kind: 'status'; status: number; code?: string; param?: string; message?: string }
  /** Streams up to the first text delta, then `response.failed`. */
  | { kind: 'failed' }
  /** Streams up to the first text delta, then waits for `resume()` (or the client to leave). */
  | { kind: 'pause' }
  /** Answers one JSON Response even when a stream was asked for (some servers do). */
  | { kind: 'json' };

export interface FakeResponsesOptions {
  /** The answer's text, one `response.output_text.delta` per element. */
  deltas: string[];
  /** Omit `usage` from the Response (the gateway then estimates). */
  usage: boolean;
  inputTokens: number;
}

/**
 * A real node:http upstream that speaks OpenAI's Responses API (`POST /v1/responses`, JSON or
 * typed SSE events) and `GET /v1/models`, recording every request: for models with
 * `api: responses`. The answer is always one message; usage reports `inputTokens` and one
 * output token per delta.
 */
export class FakeResponsesUpstream {
  readonly requests: { path: string; body: Json; headers: IncomingMessage['headers'] }[] = [];
  private readonly script: FakeResponsesBehaviour[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly resumers: (() => void)[] = [];
  private server?: Server;
  private port = 0;

  private constructor(readonly options: FakeResponsesOptions) {}

  static async start(opts: Partial<FakeResponsesOptions> = {}): Promise<FakeResponsesUpstream> {
    const fake = new FakeResponsesUpstream({ deltas: ['Hi', ' there', '.'], usage: true, inputTokens: 7, ...opts });
    await fake.listen();
    return fake;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}/v1`;
  }

  enqueue(...b: FakeResponsesBehaviour[]): this {
    this.script.push(...b);
    return this;
  }

  resume(): void {
    for (const r of this.resumers.splice(0)) r();
  }

  async stop(): Promise<void> {
    this.resume();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** The Response the upstream answers for a request (`id` and `model` are the upstream's). */
  response(body: Json, status = 'completed'): Json {
    const text = this.options.deltas.join('');
    return {
      id: 'resp_upstream1',
      object: 'response',
      created_at: 1_700_000_000,
      status,
      error: null,
      incomplete_details: null,
      model: body.model,
      output: [
        {
          id: 'msg_upstream1',
          type: 'message',
          status: 'completed',
          role: 'assistant',
          content: [{ type: 'output_text', text, annotations: [], logprobs: [] }],
        },
      ],
      max_output_tokens: body.max_output_tokens ?? null,
      store: body.store ?? true,
      ...(this.options.usage
        ? {
            usage: {
              input_tokens: this.options.inputTokens,
              input_tokens_details: { cached_tokens: 2 },
              output_tokens: this.options.deltas.length,
              output_tokens_details: { reasoning_tokens: 0 },
              total_tokens: this.options.inputTokens + this.options.deltas.length,
            },
          }
        : {}),
    };
  }

  private async listen(): Promise<void> {
    this.server = createServer((req, res) => {
      let raw = '';
      req.on('data', (c: Buffer) => (raw += c.toString('utf8')));
      req.on('end', () => {
        if (req.method === 'GET' && req.url === '/v1/models') {
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ object: 'list', data: [] }));
          return;
        }
        const body = (raw ? JSON.parse(raw) : {}) as Json;
        this.requests.push({ path: req.url ?? '', body, headers: req.headers });
        const behaviour = this.script.shift() ?? { kind: 'ok' };
        if (behaviour.kind === 'status') {
          const error = {
            message: behaviour.message ?? 'refused',
            type: 'invalid_request_error',
            code: behaviour.code ?? null,
            param: behaviour.param ?? null,
          };
          res.writeHead(behaviour.status, { 'content-type': 'application/json' }).end(JSON.stringify({ error }));
          return;
        }
        if (body.stream !== true || behaviour.kind === 'json') {
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(this.response(body)));
          return;
        }
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        void this.stream(res, this.events(body, behaviour.kind === 'failed'), behaviour.kind === 'pause');
      });
    });
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  private async stream(res: ServerResponse, events: Json[], pause: boolean): Promise<void> {
    let paused = false;
    for (const ev of events) {
      if (res.destroyed) return;
      res.write(`event: ${String(ev.type)}\ndata: ${JSON.stringify(ev)}\n\n`);
      if (pause && !paused && ev.type === 'response.output_text.delta') {
        paused = true;
        await new Promise<void>((resume) => {
          this.resumers.push(resume);
          res.on('close', resume);
        });
      }
    }
    res.end();
  }

  private events(body: Json, fail: boolean): Json[] {
    const whole = this.response(body);
    const msg = (whole.output as Json[])[0];
    const at = { item_id: msg.id, output_index: 0, content_index: 0 };
    const text = this.options.deltas.join('');
    const part = { type: 'output_text', text: '', annotations: [], logprobs: [] };
    const events: Json[] = [
      { type: 'response.created', response: { ...whole, status: 'in_progress', output: [], usage: null } },
      { type: 'response.in_progress', response: { ...whole, status: 'in_progress', output: [], usage: null } },
      { type: 'response.output_item.added', output_index: 0, item: { ...msg, status: 'in_progress', content: [] } },
      { type: 'response.content_part.added', ...at, part },
    ];
    for (const delta of fail ? this.options.deltas.slice(0, 1) : this.options.deltas)
      events.push({ type: 'response.output_text.delta', ...at, delta, logprobs: [] });
    if (fail) {
      events.push({
        type: 'response.failed',
        response: { ...whole, status: 'failed', error: { code: 'server_error', message: 'upstream broke' } },
      });
    } else {
      events.push(
        { type: 'response.output_text.done', ...at, text, logprobs: [] },
        { type: 'response.content_part.done', ...at, part: { ...part, text } },
        { type: 'response.output_item.done', output_index: 0, item: msg },
        { type: 'response.completed', response: whole },
      );
    }
    return events.map((e, i) => ({ ...e, sequence_number: i }));
  }
}
