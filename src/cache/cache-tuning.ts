import { Injectable } from '@nestjs/common';

/** The cache's notion of now (epoch ms): TTLs, created/last-hit times. Tests replace `now`. */
@Injectable()
export class CacheClock {
  now(): number {
    return Date.now();
  }
}

/**
 * Internal timings with production defaults. Not environment variables: nobody needs to tune
 * them in production, and tests shorten them on the instance (`app.get(CacheTuning)`).
 */
@Injectable()
export class CacheTuning {
  /** Namespace of the Redis L1 entries and cross-replica locks. */
  redisPrefix = 'llm:cache:';
  /** Hit counts and last-hit times are written in one statement per interval. */
  hitFlushMs = 5_000;
  /** Expired rows and rows over CACHE_MAX_ENTRIES are deleted in batches on this interval. */
  sweepIntervalMs = 30_000;
  sweepBatch = 1_000;
  /** Cross-replica single flight: the lock lives this long unless its holder renews it. */
  lockTtlMs = 10_000;
  /** A replica waiting on another's computation polls Redis at this pace (backing off to the max). */
  pollMinMs = 10;
  pollMaxMs = 200;
  /** After this long a waiting replica gives up and computes the answer itself. */
  remoteWaitMaxMs = 120_000;
}
