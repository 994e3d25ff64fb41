import type { IncomingHttpHeaders } from 'node:http';
import { errors, type Dispatcher } from 'undici';

const { RequestAbortedError } = errors;

/** An upstream answer read whole: the non-streamed call's status, headers and body bytes. */
export interface WholeResponse {
  statusCode: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** The transfer failed after a 2xx status arrived: not retried, reported as an unreadable answer. */
export class WholeBodyError extends Error {
  constructor(readonly cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause));
  }
}

export interface WholeRequestOptions {
  path: string;
  headers: Record<string, string>;
  body: string;
  signal?: AbortSignal;
  /** Bytes kept of a non-2xx body; the connection is dropped past them (as readCapped does). */
  errorBodyCap: number;
}

/**
 * POST and read the whole answer through one dispatch handler: no body stream and no async
 * resource per call, which undici's request() creates and a non-streamed completion does not
 * need (docs/performance.md, gateway overhead). Same timeouts (the pool's), same abort
 * semantics as request(): an aborted signal rejects with its reason.
 */
export function requestWhole(pool: Dispatcher, o: WholeRequestOptions): Promise<WholeResponse> {
  return new Promise((resolve, reject) => {
    const handler = new WholeBodyHandler(o, resolve, reject);
    pool.dispatch({ method: 'POST', path: o.path, headers: o.headers, body: o.body }, handler);
  });
}

class WholeBodyHandler implements Dispatcher.DispatchHandler {
  private controller?: Dispatcher.DispatchController;
  private reason: unknown = null;
  private statusCode = 0;
  private headers: IncomingHttpHeaders = {};
  private chunks: Buffer[] = [];
  private size = 0;
  private settled = false;
  private readonly onAbort?: () => void;

  constructor(
    private readonly o: WholeRequestOptions,
    private readonly resolve: (r: WholeResponse) => void,
    private readonly reject: (err: unknown) => void,
  ) {
    const signal = o.signal;
    if (signal?.aborted) this.reason = signal.reason ?? new RequestAbortedError();
    else if (signal) {
      this.onAbort = () => {
        this.reason = signal.reason ?? new RequestAbortedError();
        this.controller?.abort(this.reason as Error);
      };
      signal.addEventListener('abort', this.onAbort, { once: true });
    }
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.reason) controller.abort(this.reason as Error);
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    this.statusCode = statusCode;
    this.headers = headers;
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.settled) return;
    this.chunks.push(chunk);
    this.size += chunk.length;
    if (!this.ok() && this.size >= this.o.errorBodyCap) {
      // Enough of an error body: answer with it and drop the connection rather than read on.
      this.finish();
      controller.abort(new RequestAbortedError());
    }
  }

  onResponseEnd(): void {
    this.finish();
  }

  onResponseError(controller: Dispatcher.DispatchController, err: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.cleanup();
    // The caller maps by phase, as it did with request(): before a 2xx status, a transport error.
    this.reject(this.statusCode >= 200 && this.statusCode < 300 ? new WholeBodyError(err) : err);
  }

  private ok(): boolean {
    return this.statusCode >= 200 && this.statusCode < 300;
  }

  private finish(): void {
    if (this.settled) return;
    this.settled = true;
    this.cleanup();
    const body = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.size);
    this.resolve({ statusCode: this.statusCode, headers: this.headers, body });
  }

  private cleanup(): void {
    if (this.onAbort) this.o.signal?.removeEventListener('abort', this.onAbort);
  }
}

/** The body as text, without a UTF-8 byte order mark (as undici's body.json() reads it). */
export function bodyText(body: Buffer): string {
  const bom = body.length > 2 && body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf;
  return body.toString('utf8', bom ? 3 : 0);
}
