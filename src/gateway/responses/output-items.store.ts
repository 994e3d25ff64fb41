import { Injectable, Logger } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { ApiError } from '../../common/errors/api-error';
import { ErrorCode } from '../../common/errors/error-code';
import { RedisService } from '../../redis/redis.service';

type Json = Record<string, unknown>;

/** How long an answer's output items can be referenced (`item_reference`) by the next request. */
export const ITEM_TTL_SECONDS = 3600;
const MEMORY_BYTES = 32 * 1024 * 1024;
const MAX_ITEM_BYTES = 1024 * 1024;

/**
 * The output items of translated answers, kept for an hour so that a later request can point
 * at them with `{type: "item_reference", id}` — what the Vercel AI SDK sends for earlier
 * assistant text when its `store` option is on, its default (docs/api.md, "/v1/responses").
 * Per API key: a key can only reference items of its own answers. In Redis when configured (so
 * every replica sees them), else in process. Whole responses are not stored:
 * `previous_response_id` stays refused.
 */
@Injectable()
export class OutputItemsStore {
  private readonly logger = new Logger('ResponsesItems');
  private readonly memory = new LRUCache<string, string>({
    maxSize: MEMORY_BYTES,
    sizeCalculation: (v, k) => v.length + k.length,
    ttl: ITEM_TTL_SECONDS * 1000,
  });

  constructor(private readonly redis: RedisService) {}

  async remember(keyId: string, items: Json[]): Promise<void> {
    const entries = items
      .filter((i) => typeof i.id === 'string')
      .map((i) => [slot(keyId, i.id as string), JSON.stringify(i)] as const)
      .filter(([, v]) => v.length <= MAX_ITEM_BYTES);
    if (entries.length === 0) return;
    if (this.redis.isConfigured() && this.redis.available) {
      try {
        const multi = this.redis.client.multi();
        for (const [k, v] of entries) multi.set(k, v, 'EX', ITEM_TTL_SECONDS);
        await multi.exec();
        return;
      } catch (err) {
        this.logger.warn(`output items not kept in Redis (${(err as Error).message}); keeping them in process`);
      }
    }
    for (const [k, v] of entries) this.memory.set(k, v);
  }

  /** `input` with every `item_reference` replaced by the item it names; unknown ones are refused. */
  async resolve<T>(keyId: string, input: T[]): Promise<T[]> {
    const refs = input.flatMap((it, i) => (isReference(it) ? [i] : []));
    if (refs.length === 0) return input;
    const out = [...input];
    for (const i of refs) {
      const id = (input[i] as { id?: unknown }).id;
      const found = typeof id === 'string' && id ? await this.lookup(slot(keyId, id)) : undefined;
      if (!found)
        throw new ApiError(
          ErrorCode.UnsupportedParameter,
          `input.${i}: item "${String(id)}" is not known (items of answers are kept ${ITEM_TTL_SECONDS / 60} minutes, for the key that got them; responses are not stored): send the item itself (AI SDK: providerOptions.openai.store = false)`,
          `input.${i}`,
        );
      out[i] = JSON.parse(found) as T;
    }
    return out;
  }

  private async lookup(k: string): Promise<string | undefined> {
    if (this.redis.isConfigured() && this.redis.available) {
      try {
        const v = await this.redis.client.get(k);
        if (v !== null) return v;
      } catch {
        // Redis failed: what this replica kept is all there is.
      }
    }
    return this.memory.get(k);
  }
}

function slot(keyId: string, itemId: string): string {
  return `llm:resp-item:${keyId}:${itemId}`;
}

function isReference(it: unknown): boolean {
  return !!it && typeof it === 'object' && (it as { type?: unknown }).type === 'item_reference';
}
