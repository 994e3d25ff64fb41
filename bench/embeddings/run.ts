/**
 * bench/embeddings (docs/performance.md, "Embeddings"): requests/s and texts/s with 1 and 32
 * concurrent clients on the bundled encoder, this server's EncoderProvider (dynamic batching
 * across requests) against transformers.js's feature-extraction pipeline on the same file
 * (mean pooling, normalised), 2 intra-op threads each, in interleaved rounds.
 *
 *   npm run bench:embeddings -- [--rounds 5] [--requests 400] [--threads 2] [--texts-per-request 1]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { BUNDLED_ENCODER_SPEC, ensureBundledEncoder } from '../../src/model-tools/encoder/bundled-encoder';
import { createEncoderProvider } from '../../src/models/encoder/encoder.provider';
import { fmt, median } from '../engine/stats';

process.env.ORT_DISABLE_TELEMETRY ??= '1';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    requests: { type: 'string', default: '400' },
    threads: { type: 'string', default: '2' },
    'texts-per-request': { type: 'string', default: '1' },
    // Another size than the bundled encoder's (e.g. MiniLM-L6: --layers 6 --hidden 384 --heads 12).
    layers: { type: 'string' },
    hidden: { type: 'string' },
    heads: { type: 'string' },
    // Rows per forward pass (the engine's default, and the bundled model's, is 8).
    batch: { type: 'string', default: '8' },
  },
});
const ROUNDS = Number(values.rounds);
const REQUESTS = Number(values.requests);
const THREADS = Number(values.threads);
const PER_REQUEST = Number(values['texts-per-request']);
const BATCH = Number(values.batch);
const SPEC = {
  ...BUNDLED_ENCODER_SPEC,
  ...(values.layers ? { layers: Number(values.layers) } : {}),
  ...(values.hidden ? { hidden: Number(values.hidden) } : {}),
  ...(values.heads ? { heads: Number(values.heads) } : {}),
};

const WORDS =
  'the quick brown fox jumps over lazy dog search query document model server token vector embedding water city river music'.split(
    ' ',
  );
/** Sentences of 6 to 40 words, deterministic. */
function corpus(n: number): string[] {
  let s = 7;
  const next = () => (s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  return Array.from({ length: n }, () =>
    Array.from({ length: 6 + Math.floor(next() * 35) }, () => WORDS[Math.floor(next() * WORDS.length)]).join(' '),
  );
}

type Embed = (texts: string[]) => Promise<unknown>;

/** `clients` loops sending requests until `total` have been sent; returns requests/s. */
async function drive(embed: Embed, texts: string[], clients: number, total: number): Promise<number> {
  let sent = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (sent < total) {
        const i = sent++;
        await embed(texts.slice((i * PER_REQUEST) % texts.length, ((i * PER_REQUEST) % texts.length) + PER_REQUEST));
      }
    }),
  );
  return total / ((performance.now() - started) / 1000);
}

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'llm-server-bench-embeddings-'));
  try {
    const dir = join(root, 'embed');
    await ensureBundledEncoder(dir, SPEC);
    const texts = corpus(512 + PER_REQUEST);
    const ours = await createEncoderProvider({ id: 'embed', path: dir, threads: THREADS, maxBatchSize: BATCH });
    // The same engine without cross-request batching: what the batching itself is worth.
    const single = await createEncoderProvider({ id: 'embed-1', path: dir, threads: THREADS, maxBatchSize: 1 });
    const t = await import('@huggingface/transformers');
    t.env.allowRemoteModels = false;
    t.env.localModelPath = root;
    const extractor = await t.pipeline('feature-extraction', basename(dir), {
      dtype: 'fp32',
      device: 'cpu',
      session_options: { intraOpNumThreads: THREADS, interOpNumThreads: 1 },
    });
    const contenders: Record<string, Embed> = {
      engine: (xs) => ours.embed({ rows: ours.prepare(xs, {}).rows, encodingFormat: 'float' }),
      'transformers.js': (xs) => extractor(xs, { pooling: 'mean', normalize: true }),
      'engine, batch 1': (xs) => single.embed({ rows: single.prepare(xs, {}).rows, encodingFormat: 'float' }),
    };
    // Warm-up: sessions, allocators, JIT.
    for (const f of Object.values(contenders)) await drive(f, texts, 4, 64);

    const rates: Record<string, number[]> = {};
    const ratios: Record<string, number[]> = { '1': [], '32': [] };
    const batching: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      for (const clients of [1, 32]) {
        const total = clients === 1 ? Math.max(50, REQUESTS / 4) : REQUESTS;
        const got: Record<string, number> = {};
        // Alternate who goes first, so neither always meets the other's leftovers.
        const order = r % 2 === 0 ? Object.keys(contenders) : Object.keys(contenders).reverse();
        for (const name of order) {
          got[name] = await drive(contenders[name], texts, clients, total);
          (rates[`${name}@${clients}`] ??= []).push(got[name]);
        }
        ratios[String(clients)].push(got.engine / got['transformers.js']);
        if (clients === 32) batching.push(got.engine / got['engine, batch 1']);
      }
    }
    await ours.close();
    await single.close();
    await extractor.dispose();

    console.log(
      `encoder (${SPEC.layers} layers, hidden ${SPEC.hidden}), batches of up to ${BATCH}, ${THREADS} intra-op threads, ` +
        `${PER_REQUEST} text(s) per request, ${ROUNDS} rounds, ${cpus().length} cores, load average ${loadavg()[0].toFixed(1)} at the end`,
    );
    console.table(
      Object.fromEntries(
        Object.entries(rates).map(([k, xs]) => [
          k,
          {
            'median req/s': fmt(median(xs)),
            'median texts/s': fmt(median(xs) * PER_REQUEST),
            'best texts/s': fmt(Math.max(...xs) * PER_REQUEST),
          },
        ]),
      ),
    );
    for (const [clients, xs] of Object.entries(ratios)) {
      const target = clients === '32' ? '  target >= 1.5' : '';
      console.log(
        `engine / transformers.js texts/s, ${clients.padStart(2)} client(s): ${fmt(median(xs), 2)}  (rounds: ${xs.map((x) => fmt(x, 2)).join(' ')})${target}`,
      );
    }
    console.log(
      `engine / engine with batch 1, 32 clients: ${fmt(median(batching), 2)}  (rounds: ${batching.map((x) => fmt(x, 2)).join(' ')})`,
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

void main().catch((err) => {
  console.error(err);
  process.exit(1);
});
