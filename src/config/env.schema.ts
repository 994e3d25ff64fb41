import { z } from 'zod';

const int = (def: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce.number().int().min(min).max(max).default(def);
const bool = (def: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default(def ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes');
const optionalUrl = (protocols: string[]) =>
  z
    .string()
    .trim()
    .optional()
    .transform((v) => (v ? v : undefined))
    .refine((v) => v === undefined || protocols.some((p) => v.startsWith(p)), {
      message: `must be a URL starting with ${protocols.join(' or ')}`,
    });

/** A non-negative integer, or `unlimited` (null). */
const limit = (def: number | 'unlimited') =>
  z
    .union([z.literal('unlimited'), z.coerce.number().int().min(0).max(1e15)])
    .default(def)
    .transform((v) => (v === 'unlimited' ? null : v));

/**
 * Every environment variable the server reads, with its default. `.env.example` mirrors this
 * list; a bad value stops the server with the variable's name in the message.
 */
export const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('production'),
  PORT: int(8000, 0, 65535),
  HOST: z.string().min(1).default('127.0.0.1'),
  DATABASE_URL: optionalUrl(['postgres://', 'postgresql://']),
  REDIS_URL: optionalUrl(['redis://', 'rediss://']),
  DATA_DIR: z.string().min(1).default('./data'),
  EMBEDDED_PG_PORT: int(54329, 0, 65535),
  // Run as root only: where PostgreSQL binaries and clusters the postgres user cannot reach go.
  EMBEDDED_PG_SHARED_DIR: z.string().min(1).default('/var/lib/llm-server'),
  DB_POOL_SIZE: int(10, 1, 1000),
  MODELS_CONFIG: z.string().min(1).default('./models.yaml'),
  MODEL_DEVICE: z
    .enum(['cpu', 'coreml', 'mps', 'cuda'])
    .default('cpu')
    .transform((v) => (v === 'mps' ? 'coreml' : v)),
  BOOTSTRAP_API_KEY: z
    .string()
    .optional()
    .transform((v) => (v ? v : undefined))
    .refine((v) => v === undefined || /^sk-[A-Za-z0-9_-]{20,200}$/.test(v), {
      message: 'must look like sk-<at least 20 letters, digits, _ or ->',
    }),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  MAX_BODY_BYTES: int(1_048_576, 1024, 100 * 1024 * 1024),
  MAX_PROMPT_CHARS: int(100_000, 1, 10_000_000),
  KEY_CACHE_TTL_MS: int(60_000, 0, 3_600_000),
  LAST_USED_FLUSH_MS: int(5_000, 100, 3_600_000),
  SHUTDOWN_TIMEOUT_MS: int(30_000, 0, 600_000),

  // Rate limits per key and role (per minute); a key's own rpm/tpm override these.
  RATE_LIMIT_RPM_USER: limit(60),
  RATE_LIMIT_RPM_ADMIN: limit(600),
  RATE_LIMIT_TPM_USER: limit(100_000),
  RATE_LIMIT_TPM_ADMIN: limit('unlimited'),
  // Token quotas per key and period; a key's own quota_tokens overrides these.
  QUOTA_TOKENS_USER: limit(1_000_000),
  QUOTA_TOKENS_ADMIN: limit('unlimited'),
  QUOTA_PERIOD: z.enum(['monthly', 'weekly', 'daily']).default('monthly'),
  QUOTA_FLUSH_MS: int(1_000, 50, 60_000),
  // Extra share of a remote model's estimated prompt held at reservation (0.25 = 25 % more).
  QUOTA_REMOTE_MARGIN: z.coerce.number().min(0).max(10).default(0.25),
  CACHE_HITS_COUNT_TOKENS: bool(false),

  // Completion cache.
  CACHE_MODE: z.enum(['deterministic', 'all', 'off']).default('deterministic'),
  CACHE_TTL_SECONDS: int(86_400, 1, 365 * 86_400),
  CACHE_MAX_ENTRIES: int(100_000, 1, 100_000_000),
  CACHE_L1_MAX_BYTES: int(64 * 1024 * 1024, 0, 64 * 1024 * 1024 * 1024),

  // Observability.
  METRICS_TOKEN: z
    .string()
    .optional()
    .transform((v) => (v ? v : undefined)),
  METRICS_PER_KEY: bool(false),
  LOG_BUFFER_MAX: int(50_000, 100, 10_000_000),
  LOG_FLUSH_MS: int(500, 10, 60_000),
  LOG_FLUSH_ROWS: int(500, 1, 100_000),
  LOG_RETENTION_DAYS: int(30, 0, 36_500),
});

export type Env = z.infer<typeof envSchema>;
