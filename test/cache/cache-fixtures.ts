import { randomBytes } from 'node:crypto';
import { CacheClock, CacheTuning } from '../../src/cache/cache-tuning';
import { CacheStats } from '../../src/cache/cache-stats';
import { CompletionCache, type CacheRequest, type ComputeFn } from '../../src/cache/completion-cache.service';
import { HitRecorder } from '../../src/cache/hit-recorder';
import { CacheEvictor } from '../../src/cache/cache-evictor';
import type { GenerationParams, StreamEvent } from '../../src/models/provider.interface';
import { RedisService } from '../../src/redis/redis.service';
import { startTestApp, type TestApp } from '../helpers/test-app';

export const redisUrl = process.env.REDIS_URL;
/** Redis-only tests are skipped on a machine without REDIS_URL (CI always sets it). */
export const itRedis = redisUrl ? it : it.skip;

export interface CacheHarness {
  t: TestApp;
  cache: CompletionCache;
  clock: CacheClock;
  tuning: CacheTuning;
  stats: CacheStats;
  hits: HitRecorder;
  evictor: CacheEvictor;
  redis: RedisService;
}

/** Boots the real app; with Redis, on a key prefix of its own so concurrent files never collide. */
export async function bootCache(
  env: Record<string, string> = {},
  dbUrl?: string,
  prefix?: string,
): Promise<CacheHarness> {
  const t = await startTestApp(env, dbUrl);
  const get = <T>(cls: new (...a: never[]) => T): T => t.running.app.get(cls as never, { strict: false }) as T;
  const h: CacheHarness = {
    t,
    cache: get(CompletionCache),
    clock: get(CacheClock),
    tuning: get(CacheTuning),
    stats: get(CacheStats),
    hits: get(HitRecorder),
    evictor: get(CacheEvictor),
    redis: get(RedisService),
  };
  h.tuning.redisPrefix = prefix ?? `test:cache:${randomBytes(6).toString('hex')}:`;
  return h;
}

/** Deletes every key under a test prefix. */
export async function clearPrefix(redis: RedisService, prefix: string): Promise<void> {
  if (!redis.available) return;
  const keys = await redis.client!.keys(`${prefix}*`);
  if (keys.length) await redis.client!.del(...keys);
}

export const greedy: GenerationParams = {
  maxTokens: 32,
  temperature: 0,
  topP: 1,
  topK: 0,
  repetitionPenalty: 1,
  stop: [],
};

export function uniqueModel(): string {
  return `m-${randomBytes(5).toString('hex')}`;
}

export function request(over: Partial<CacheRequest> = {}, params: Partial<GenerationParams> = {}): CacheRequest {
  return { model: 'tiny', version: 'v1', prompt: 'Say hello', ...over, params: { ...greedy, ...params } };
}

export interface Script {
  text?: string;
  chunks?: number;
  /** Delay before each event. */
  delayMs?: number;
  /** Throw after this many deltas. */
  failAfter?: number;
  failWith?: Error;
  usage?: { promptTokens: number; completionTokens: number };
}

/** A compute function that counts its calls and its aborts, like the router would behave. */
export function scripted(script: Script = {}): { fn: ComputeFn; calls: number; aborted: number; completed: number } {
  const state = { calls: 0, aborted: 0, completed: 0, fn: undefined as unknown as ComputeFn };
  const text = script.text ?? 'Hello there, friend.';
  const n = Math.max(1, script.chunks ?? 4);
  const size = Math.ceil(text.length / n);
  state.fn = async function* (signal) {
    state.calls++;
    const pieces: string[] = [];
    for (let i = 0; i < text.length; i += size) pieces.push(text.slice(i, i + size));
    let i = 0;
    for (const piece of pieces) {
      await pause(script.delayMs ?? 0, signal).catch((err) => {
        state.aborted++;
        throw err;
      });
      if (script.failAfter !== undefined && i >= script.failAfter) throw script.failWith ?? new Error('upstream broke');
      i++;
      yield { type: 'delta', text: piece } as StreamEvent;
    }
    await pause(script.delayMs ?? 0, signal).catch((err) => {
      state.aborted++;
      throw err;
    });
    state.completed++;
    yield {
      type: 'done',
      finishReason: 'stop',
      usage: script.usage ?? { promptTokens: 3, completionTokens: pieces.length },
    };
  };
  return state;
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export async function drain(events: AsyncIterable<StreamEvent>): Promise<StreamEvent[]> {
  const out: StreamEvent[] = [];
  for await (const e of events) out.push(e);
  return out;
}

export function textOf(events: StreamEvent[]): string {
  return events.map((e) => (e.type === 'delta' ? e.text : '')).join('');
}

/** Checks the stream contract: deltas, then exactly one `done`, last. */
export function expectValidStream(events: StreamEvent[]): void {
  expect(events.filter((e) => e.type === 'done')).toHaveLength(1);
  expect(events[events.length - 1].type).toBe('done');
  expect(events.slice(0, -1).every((e) => e.type === 'delta' && e.text.length > 0)).toBe(true);
}
