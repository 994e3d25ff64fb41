import { isAbsolute, resolve } from 'node:path';
import { type z } from 'zod';
import { envSchema, type Env } from './env.schema';

/**
 * The environment as the server uses it: nested by concern, paths made absolute. Its return type
 * is AppConfig's shape, so each setting is declared once, in the schema (env.schema.ts).
 */
function nested(e: Env, source: Record<string, string | undefined>, cwd: string) {
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(cwd, p));
  return {
    env: e.NODE_ENV,
    http: { port: e.PORT, host: e.HOST, maxBodyBytes: e.MAX_BODY_BYTES, shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS },
    database: {
      url: e.DATABASE_URL,
      dataDir: abs(e.DATA_DIR),
      embeddedPort: e.EMBEDDED_PG_PORT,
      embeddedSharedDir: abs(e.EMBEDDED_PG_SHARED_DIR),
      poolSize: e.DB_POOL_SIZE,
    },
    redisUrl: e.REDIS_URL,
    models: { configPath: abs(e.MODELS_CONFIG), device: e.MODEL_DEVICE },
    auth: {
      bootstrapKey: e.BOOTSTRAP_API_KEY,
      keyCacheTtlMs: e.KEY_CACHE_TTL_MS,
      lastUsedFlushMs: e.LAST_USED_FLUSH_MS,
    },
    limits: { maxPromptChars: e.MAX_PROMPT_CHARS },
    /** Per-minute limits by role; null = unlimited. */
    rateLimits: {
      rpm: { user: e.RATE_LIMIT_RPM_USER, admin: e.RATE_LIMIT_RPM_ADMIN },
      tpm: { user: e.RATE_LIMIT_TPM_USER, admin: e.RATE_LIMIT_TPM_ADMIN },
    },
    quota: {
      tokens: { user: e.QUOTA_TOKENS_USER, admin: e.QUOTA_TOKENS_ADMIN },
      period: e.QUOTA_PERIOD,
      flushMs: e.QUOTA_FLUSH_MS,
      remoteMargin: e.QUOTA_REMOTE_MARGIN,
      cacheHitsCountTokens: e.CACHE_HITS_COUNT_TOKENS,
    },
    cache: {
      mode: e.CACHE_MODE,
      ttlSeconds: e.CACHE_TTL_SECONDS,
      maxEntries: e.CACHE_MAX_ENTRIES,
      l1MaxBytes: e.CACHE_L1_MAX_BYTES,
    },
    observability: {
      metricsToken: e.METRICS_TOKEN,
      metricsPerKey: e.METRICS_PER_KEY,
      logBufferMax: e.LOG_BUFFER_MAX,
      logFlushMs: e.LOG_FLUSH_MS,
      logFlushRows: e.LOG_FLUSH_ROWS,
      logRetentionDays: e.LOG_RETENTION_DAYS,
    },
    logLevel: e.LOG_LEVEL,
    /** The raw environment, for models.yaml `${VAR}` interpolation and `api_key_env` only. */
    environment: { ...source } as Readonly<Record<string, string | undefined>>,
  };
}

type AppConfigValues = ReturnType<typeof nested>;

// A class (not a bare type) so Nest can inject it by token; its fields are AppConfigValues.
const AppConfigBase = class {
  constructor(values: AppConfigValues) {
    Object.assign(this, values);
  }
} as new (values: AppConfigValues) => Readonly<AppConfigValues>;

/** The typed, validated configuration: the only place that reads environment variables. */
export class AppConfig extends AppConfigBase {}

/** A per-role limit (rate or quota); null = unlimited. */
export type RoleLimits = AppConfig['quota']['tokens'];

export class ConfigError extends Error {}

/** Validates `source` (process.env plus .env) once; throws ConfigError naming every bad variable. */
export function loadConfig(source: Record<string, string | undefined>, cwd = process.cwd()): AppConfig {
  const parsed = envSchema.safeParse(source);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i: z.core.$ZodIssue) => `  ${String(i.path[0])}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  return new AppConfig(nested(parsed.data, source, cwd));
}
