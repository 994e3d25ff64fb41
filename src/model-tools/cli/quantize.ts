import { resolve } from 'node:path';
import { type WeightMode, quantizeModelFolder } from '../quantize';
import { formatReport, quantizationReport } from '../quantize-report';
import { UsageError, mb, parseCli, runCli, toInt } from './args';

const USAGE = `usage: npm run model:quantize -- <model-folder> [--weights s7|u8|s8] [--no-report] [--tokens 32] [--threads 2]
Writes onnx/model_quantized.onnx (dynamic int8) and compares it with the fp32 model.
--weights: s7 (default; 7-bit int8, safe and fast on every x86 CPU), u8 (uint8, a bit more
precise, slower kernel), s8 (full int8; saturates on x86 CPUs without VNNI).`;

runCli(USAGE, async (argv) => {
  const { values: v, positionals } = parseCli(
    {
      weights: { type: 'string' },
      'no-report': { type: 'boolean' },
      tokens: { type: 'string' },
      threads: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    argv,
  );
  if (v.help) return void process.stdout.write(`${USAGE}\n`);
  if (positionals.length !== 1) throw new UsageError('expected one model folder');
  const mode = (v.weights ?? 's7') as WeightMode;
  if (!['s7', 'u8', 's8'].includes(mode)) throw new UsageError('--weights must be s7, u8 or s8');
  const tokens = toInt('tokens', v.tokens) ?? 32;
  const threads = toInt('threads', v.threads) ?? 2;
  const folder = resolve(positionals[0]);
  const t0 = Date.now();
  const r = await quantizeModelFolder(folder, mode);
  process.stdout.write(
    `quantized (${mode}) ${r.matmul} MatMul, ${r.gemm} Gemm, ${r.gather} Gather in ${Date.now() - t0} ms\n` +
      `  ${r.output}\n  ${mb(r.inputBytes)} → ${mb(r.outputBytes)}\n`,
  );
  if (v['no-report']) return;
  const report = await quantizationReport(r.input, r.output, folder, { tokens, threads });
  process.stdout.write(`${formatReport(report)}\n`);
});
