import type { ApiFailure } from './api-client';

export interface ErrorView {
  /** A short human title, e.g. "Rate limited". */
  title: string;
  /** What to do about it. */
  hint: string;
  /** The stable code, shown as is so it can be searched for in the docs. */
  code: string;
  status: number;
  message: string;
  requestId: string | null;
}

const VIEWS: Record<string, [title: string, hint: string]> = {
  missing_api_key: ['No API key', 'Enter an API key above.'],
  invalid_api_key: [
    'Invalid API key',
    'The key is unknown, rotated or revoked: check it, or ask an admin for a new one.',
  ],
  api_key_inactive: ['API key deactivated', 'An admin has deactivated this key.'],
  forbidden: ['Not allowed', "This key's role does not allow this; an admin key is needed."],
  model_not_allowed: ['Model not allowed', 'This key may not use that model: pick another one.'],
  model_not_found: ['Unknown model', 'Pick a model from the list.'],
  not_found: ['Not found', 'The thing asked for does not exist.'],
  quota_exhausted: [
    'Quota exhausted',
    "This key's token quota for the period is used up; it resets at the next period.",
  ],
  request_too_large: ['Request too large', 'Shorten the prompt.'],
  rate_limit_exceeded: ['Rate limited', 'Too many requests for this key: wait and try again.'],
  invalid_request: ['Invalid request', 'A parameter is out of range or malformed.'],
  upstream_error: ['Model failed', 'The remote model answered with an error.'],
  upstream_timeout: ['Model timed out', 'The remote model did not answer in time.'],
  model_unavailable: ['Model unavailable', 'The model is not loaded or is overloaded: try again shortly.'],
  service_unavailable: [
    'Service unavailable',
    'The server cannot serve right now (database down?): try again shortly.',
  ],
  internal_error: ['Server error', 'Something broke on the server; the request id helps find it in the logs.'],
  network_error: ['Server unreachable', 'Check that the server is running and reachable.'],
  stream_incomplete: ['Stream cut', 'The answer stopped before it was complete.'],
};

/** A failure as a person reads it: title, hint and the code, with Retry-After and `param` woven in. */
export function describeFailure(f: ApiFailure): ErrorView {
  const [title, baseHint] = VIEWS[f.code] ?? [f.status ? `Error ${f.status}` : 'Error', ''];
  let hint = baseHint;
  if (f.code === 'rate_limit_exceeded' && f.retryAfter)
    hint = `Too many requests for this key: retry in ${f.retryAfter} s.`;
  if (f.code === 'invalid_request' && f.param) hint = `Check the field "${f.param}".`;
  return { title, hint, code: f.code, status: f.status, message: f.message, requestId: f.requestId ?? null };
}
