import { z } from 'zod';

const int = (def: number, min = 0, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max).default(def);
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
});

export type Env = z.infer<typeof envSchema>;
