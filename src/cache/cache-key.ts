import { hash } from 'node:crypto';
import type { ChatMessage, GenerationParams } from '../models/provider.interface';

/**
 * Bump to invalidate every stored entry when the key's material changes meaning. 2: `extra`
 * values keep their key order (an entry stored under a sorted schema must not answer for another order).
 */
const KEY_SCHEMA = 2;

export interface CacheKeyInput {
  /** The resolved model id (never an alias). */
  model: string;
  /** LlmProvider.version: changes when the model's files (or upstream model) change. */
  version: string;
  prompt?: string;
  messages?: ChatMessage[];
  params: GenerationParams;
  /** Any other output-changing input the pipeline adds later (response_format, tools ...). */
  extra?: Record<string, unknown>;
}

export interface CacheKey {
  /** SHA-256 of the canonical key material, hex: the L1 and in-flight map key. */
  id: string;
  /** The same digest as bytes: the L2 primary key (only built on the way to PostgreSQL). */
  readonly bytes: Buffer;
}

/**
 * Model + version + prompt or messages + every parameter that changes the output, as canonical
 * JSON, hashed with SHA-256. `stream`, `user` and `stream_options` never reach this: they do not
 * change the text, so they do not split the cache.
 */
export function cacheKey(input: CacheKeyInput): CacheKey {
  // The one-shot hash is several times cheaper than createHash() for inputs this small.
  const id = hash('sha256', keyMaterial(input));
  return {
    id,
    get bytes() {
      return Buffer.from(id, 'hex');
    },
  };
}

/**
 * The JSON that is hashed. Our own parts are built with keys already in sorted order, so plain
 * JSON.stringify yields canonical JSON for them (a spec checks it against `canonicalJson`): this
 * runs on every cache hit, and the generic walk costs several times more. The `extra` fields
 * (tools, response_format, messages with tool calls...) are sorted by name but their values
 * keep the client's key order: a schema's property order is the order a model writes the
 * object's members in, so two orders are two different requests.
 */
export function keyMaterial(input: CacheKeyInput): string {
  return JSON.stringify({
    extra: input.extra === undefined ? undefined : byName(input.extra),
    input:
      input.messages !== undefined
        ? { messages: input.messages.map(normaliseMessage) }
        : { prompt: input.prompt ?? '' },
    k: KEY_SCHEMA,
    model: input.model,
    params: outputParams(input.params),
    version: input.version,
  });
}

/**
 * The parameters that can change the text, keys in sorted order. Greedy decoding (temperature 0)
 * ignores top_p, top_k and the seed, so they do not split greedy entries; stop sequences are a set.
 */
export function outputParams(p: GenerationParams): Record<string, unknown> {
  const greedy = p.temperature === 0;
  return {
    max_tokens: finite(p.maxTokens),
    repetition_penalty: finite(p.repetitionPenalty),
    seed: greedy || p.seed == null ? undefined : finite(p.seed),
    stop: p.stop.length ? [...new Set(p.stop)].sort() : undefined,
    temperature: finite(p.temperature),
    top_k: greedy ? undefined : finite(p.topK),
    top_p: greedy ? undefined : finite(p.topP),
  };
}

function finite(n: number): number {
  if (!Number.isFinite(n)) throw new TypeError(`cannot fingerprint the number ${n}`);
  return n;
}

/** Role, name and content in a fixed shape; the text itself is kept verbatim (whitespace matters to a model). */
function normaliseMessage(m: ChatMessage): Record<string, unknown> {
  return { content: m.content, name: m.name || undefined, role: m.role };
}

/** The same fields in name order (their values untouched): which field a client sent first changes nothing. */
function byName(extra: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(extra).sort()) out[k] = extra[k];
  return out;
}

/**
 * JSON with object keys sorted at every level and undefined members dropped, so equal values
 * always give equal bytes. Non-finite numbers are refused rather than silently becoming null.
 * The reference definition that `keyMaterial` must match.
 */
export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`cannot fingerprint the number ${value}`);
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
      const obj = value as Record<string, unknown>;
      const parts: string[] = [];
      for (const k of Object.keys(obj).sort()) {
        if (obj[k] !== undefined) parts.push(`${JSON.stringify(k)}:${canonicalJson(obj[k])}`);
      }
      return `{${parts.join(',')}}`;
    }
    default:
      throw new TypeError(`cannot fingerprint a ${typeof value}`);
  }
}
