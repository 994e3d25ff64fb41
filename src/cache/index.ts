export { CacheModule } from './cache.module';
export { CompletionCache } from './completion-cache.service';
export type { CacheRequest, CacheRunResult, CacheSource, ComputeContext, ComputeFn } from './cache-request';
export { CacheStats, type CacheCounters, type CacheLookupHook, type CacheTier, type LookupResult } from './cache-stats';
export { CacheClock, CacheTuning } from './cache-tuning';
export { cacheKey, canonicalJson } from './cache-key';
export { cachePolicy, isDeterministic, parseCacheControl, type CacheMode, type CachePolicy } from './cache-policy';
