/** What went wrong with a call, from the server's `{"error": {...}}` body when there is one. */
export interface ApiFailure {
  status: number;
  code: string;
  message: string;
  param?: string | null;
  retryAfter?: string | null;
  requestId?: string | null;
}

export class ApiCallError extends Error {
  constructor(readonly failure: ApiFailure) {
    super(`${failure.code}: ${failure.message}`);
  }
}

/**
 * The API's root, relative to the page: the pages live one folder below it (`/ui/` behind nginx
 * and in embedded mode), so the UI keeps working when the whole server sits under a sub-path.
 * A page served from the root (the Vite dev server) calls the root.
 */
export function apiBase(pageHref: string): string {
  return new URL('../', new URL('./', pageHref)).href;
}

/** Turns a non-2xx response into an ApiFailure, whatever its body (JSON error, proxy HTML page, nothing). */
export async function failureFrom(res: Response): Promise<ApiFailure> {
  const text = await res.text().catch(() => '');
  return failureFromBody(res.status, text, res.headers);
}

export function failureFromBody(status: number, text: string, headers?: Headers): ApiFailure {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const err = (parsed as { error?: Record<string, unknown> } | undefined)?.error;
  const base = {
    status,
    retryAfter: headers?.get('retry-after') ?? null,
    requestId: headers?.get('x-request-id') ?? null,
  };
  if (err && typeof err === 'object') {
    return {
      ...base,
      code: typeof err.code === 'string' && err.code ? err.code : `http_${status}`,
      message: typeof err.message === 'string' ? err.message : 'the server gave no message',
      param: typeof err.param === 'string' ? err.param : null,
    };
  }
  return { ...base, code: `http_${status}`, message: text.trim().slice(0, 300) || `HTTP ${status} with no body` };
}

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

/** A thin client for the public API: the key goes in `X-API-Key`; failures throw ApiCallError. */
export class ApiClient {
  constructor(
    private readonly base: string,
    private readonly key: () => string,
    private readonly fetchImpl: FetchLike = (input, init) => fetch(input, init),
  ) {}

  /** Sends the request and returns the response if it is 2xx. */
  async send(
    method: string,
    path: string,
    opts: { body?: unknown; headers?: Record<string, string>; signal?: AbortSignal } = {},
  ): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json, text/event-stream', ...opts.headers };
    const key = this.key().trim();
    if (key) headers['x-api-key'] = key;
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await this.fetchImpl(new URL(path.replace(/^\//, ''), this.base).href, {
        method,
        headers,
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        signal: opts.signal,
      });
    } catch (err) {
      if ((err as Error)?.name === 'AbortError') throw err;
      throw new ApiCallError({
        status: 0,
        code: 'network_error',
        message: `could not reach the server: ${(err as Error)?.message ?? err}`,
      });
    }
    if (!res.ok) throw new ApiCallError(await failureFrom(res));
    return res;
  }

  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.send(method, path, { body });
    const text = await res.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }
}
