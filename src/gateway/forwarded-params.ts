import { ApiError } from '../common/errors/api-error';
import { ErrorCode } from '../common/errors/error-code';
import type { ResolvedModel } from '../models/registry';
import { firstUnknownField, HONOURED_SAMPLING, localRefusal } from '../models/wire-params';
import type { InferenceCall } from './inference-call';

/**
 * Refuses, before any ledger is touched, what the requested model will not take
 * (docs/api.md, wire fidelity): `params: strict` names the first unknown field; a local model
 * names the first field its engine cannot honour (`unsupported_parameter`).
 */
export function checkParams(call: InferenceCall, model: ResolvedModel): void {
  if (!call.body) return;
  const cfg = model.config;
  if (cfg.params === 'strict') {
    const unknown = firstUnknownField(call.body);
    if (unknown !== undefined)
      throw ApiError.invalid(`unknown field "${unknown}" (model "${model.id}" accepts only known parameters)`, unknown);
  }
  if (cfg.provider !== 'onnx') return;
  const param = localRefusal(call.body, cfg);
  if (param !== undefined) {
    throw new ApiError(
      ErrorCode.UnsupportedParameter,
      `model "${model.id}" (local) does not support the parameter "${param}" with this value`,
      param,
    );
  }
}

/** Fields that never change the answer: they do not split the cache (docs/caching.md). */
const NOT_IN_KEY = new Set(['model', 'stream', 'stream_options', 'user', ...HONOURED_SAMPLING]);

/**
 * Every forwarded field the cache key's params do not already cover: two requests that differ
 * in any forwarded field never share an entry. Messages and prompts go in whole when they carry
 * more than our plain view of them (tool calls, content parts, prompt lists).
 */
export function cacheExtra(body: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (!body) return undefined;
  const extra: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(body)) {
    if (v === undefined || NOT_IN_KEY.has(k)) continue;
    if (k === 'prompt' && typeof v === 'string') continue;
    if (k === 'messages' && Array.isArray(v) && v.every(isPlainMessage)) continue;
    extra[k] = v;
  }
  return Object.keys(extra).length > 0 ? extra : undefined;
}

function isPlainMessage(m: unknown): boolean {
  return (
    !!m &&
    typeof m === 'object' &&
    Object.keys(m).every(
      (k) =>
        k === 'role' || k === 'name' || (k === 'content' && typeof (m as { content?: unknown }).content === 'string'),
    )
  );
}
