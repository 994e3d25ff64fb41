import { Tokenizer } from '@huggingface/tokenizers';
import { statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { externalDataFiles } from '../models/onnx/model-folder';
import { OrtDecoder, type Past, argmax } from './ort-decoder';

/** What int8 costs and buys, measured side by side on the same prompts. */
export interface QuantReport {
  fp32Bytes: number;
  int8Bytes: number;
  /** int8 / fp32 file size. */
  sizeRatio: number;
  prompts: Array<{ prompt: string; fp32: number[]; int8: number[]; samePositions: number; samePrefix: number }>;
  tokensPerPrompt: number;
  /** Share of positions whose greedy token is the same in both models, over all prompts. */
  identicalFraction: number;
  fp32MsPerToken: number;
  int8MsPerToken: number;
  /** fp32 ms/token ÷ int8 ms/token (> 1: int8 is faster). */
  speedup: number;
}

export const REPORT_PROMPTS = [
  'The quick brown fox jumps over the lazy dog.',
  'Once upon a time, in a land far away,',
  'def fibonacci(n):',
  'Q: What is the capital of France?\nA:',
];

/** Greedy decoding that times only the one-token decode steps (not the prefill). */
async function timedGreedy(
  dec: OrtDecoder,
  prompt: number[],
  n: number,
): Promise<{ tokens: number[]; decodeMs: number }> {
  const tokens: number[] = [];
  let past: Past | undefined;
  let ids = prompt;
  let decodeMs = 0;
  for (let step = 0; step < n; step++) {
    const t0 = performance.now();
    const total = prompt.length + tokens.length;
    const r = await dec.forward([ids], [Array(total).fill(1)], past);
    if (step > 0) decodeMs += performance.now() - t0;
    const V = r.dims[2];
    const tok = argmax(r.logits, (ids.length - 1) * V, V);
    tokens.push(tok);
    ids = [tok];
    past = r.present;
  }
  return { tokens, decodeMs };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

export async function quantizationReport(
  fp32File: string,
  int8File: string,
  folder: string,
  opts: { prompts?: string[]; tokens?: number; threads?: number; rounds?: number } = {},
): Promise<QuantReport> {
  const { prompts = REPORT_PROMPTS, tokens = 32, threads = 2, rounds = 3 } = opts;
  const tok = new Tokenizer(
    JSON.parse(await readFile(join(folder, 'tokenizer.json'), 'utf8')),
    JSON.parse(await readFile(join(folder, 'tokenizer_config.json'), 'utf8')),
  );
  const fp32 = await OrtDecoder.load(fp32File, threads);
  const int8 = await OrtDecoder.load(int8File, threads);
  try {
    const rows: QuantReport['prompts'] = [];
    const times = { fp32: [] as number[], int8: [] as number[] };
    for (const prompt of prompts) {
      const ids = tok.encode(prompt, { add_special_tokens: false }).ids;
      await timedGreedy(fp32, ids, 2); // warm-up
      await timedGreedy(int8, ids, 2);
      let a = { tokens: [] as number[], decodeMs: 0 };
      let b = a;
      // Alternate the two models so machine noise hits both alike.
      for (let r = 0; r < rounds; r++) {
        a = await timedGreedy(fp32, ids, tokens);
        b = await timedGreedy(int8, ids, tokens);
        times.fp32.push(a.decodeMs / (tokens - 1));
        times.int8.push(b.decodeMs / (tokens - 1));
      }
      const samePositions = a.tokens.filter((t, i) => t === b.tokens[i]).length;
      const firstDiff = a.tokens.findIndex((t, i) => t !== b.tokens[i]);
      rows.push({
        prompt,
        fp32: a.tokens,
        int8: b.tokens,
        samePositions,
        samePrefix: firstDiff < 0 ? tokens : firstDiff,
      });
    }
    // external data files count: they are the weights
    const bytes = (f: string) => [f, ...externalDataFiles(f)].reduce((sum, g) => sum + statSync(g).size, 0);
    const fp32Bytes = bytes(fp32File);
    const int8Bytes = bytes(int8File);
    const fp32Ms = median(times.fp32);
    const int8Ms = median(times.int8);
    return {
      fp32Bytes,
      int8Bytes,
      sizeRatio: int8Bytes / fp32Bytes,
      prompts: rows,
      tokensPerPrompt: tokens,
      identicalFraction: rows.reduce((s, r) => s + r.samePositions, 0) / (rows.length * tokens),
      fp32MsPerToken: fp32Ms,
      int8MsPerToken: int8Ms,
      speedup: fp32Ms / int8Ms,
    };
  } finally {
    await fp32.release();
    await int8.release();
  }
}

/** `label` names the compared variant (the report's fields say int8 for history: any variant fits). */
export function formatReport(r: QuantReport, label = 'int8'): string {
  const lines = [
    `size: fp32 ${(r.fp32Bytes / 1e6).toFixed(1)} MB → ${label} ${(r.int8Bytes / 1e6).toFixed(1)} MB (×${r.sizeRatio.toFixed(2)}, ${(1 / r.sizeRatio).toFixed(1)}× smaller)`,
    `greedy tokens identical: ${(r.identicalFraction * 100).toFixed(0)}% of positions`,
    ...r.prompts.map(
      (p) =>
        `  ${JSON.stringify(p.prompt).slice(0, 40).padEnd(40)} ${p.samePositions}/${r.tokensPerPrompt} same, first ${p.samePrefix} identical`,
    ),
    `decode speed: fp32 ${r.fp32MsPerToken.toFixed(2)} ms/token, ${label} ${r.int8MsPerToken.toFixed(2)} ms/token (${r.speedup.toFixed(2)}× ${r.speedup >= 1 ? 'faster' : 'slower'})`,
  ];
  return lines.join('\n');
}
