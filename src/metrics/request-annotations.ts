import type { FastifyRequest } from 'fastify';

/** What the pipeline adds to a request's log line (and nothing else: metrics stay per route). */
export interface RequestLogFields {
  model?: string;
  provider?: string;
  cached?: boolean;
  /**
   * Logged only when the level is debug or trace: prompts are user data. A function is called
   * only then (serialising a conversation per request costs 2-3% of the request's CPU).
   */
  prompt?: string | (() => string);
}

/** Properties the request observer reads; decorated on Fastify's Request so its shape stays stable. */
export interface ObservedRequest extends FastifyRequest {
  llmLog?: RequestLogFields | null;
  /** Set by the global exception filter when it sends an error body. */
  errorCode?: string;
  apiKey?: { id: string };
}

/**
 * Adds fields to the request's one log line, e.g. `annotateRequest(req, { model: 'tiny' })`
 * once the model is resolved. Later calls merge.
 */
export function annotateRequest(req: FastifyRequest, fields: RequestLogFields): void {
  const r = req as ObservedRequest;
  r.llmLog = r.llmLog ? Object.assign(r.llmLog, fields) : { ...fields };
}
