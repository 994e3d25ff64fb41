import { resolve } from 'node:path';
import { type WeightMode, quantizeModelFolder } from '../quantize';
import { formatReport, quantizationReport } from '../quantize-report';
import { encoderQuantizationReport, isEncoderFolder } from '../encoder/encoder-quantize-report';
import { writeVariant } from '../variants/write-variant';
import { UsageError, mb, parseCli, runCli, toInt } from './args';

const USAGE = `usage: npm run model:quantize -- <model-folder> [--weights s7|u8|s8] [--no-report] [--tokens 32] [--threads 2]
       npm run model:quantize -- <model-folder> --bits 4 [--block-size 32|64|128] [--asymmetric] [--accuracy-level 4] [--fp16]
       npm run model:quantize -- <model-folder> --dtype fp16 [--external-data]
Writes a variant of the folder's fp32 graph next to it, named as transformers.js expects, and
compares it with the fp32 model (size, greedy tokens, decode speed):
  default        onnx/model_quantized.onnx, dynamic int8 (q8). --weights: s7 (default; 7-bit int8,
                 safe and fast on every x86 CPU), u8 (uint8, a bit more precise, slower kernel),
                 s8 (full int8; saturates on x86 CPUs without VNNI).
  --bits 4       onnx/model_q4.onnx: MatMulNBits (com.microsoft) 4-bit weights, one scale per
                 block of --block-size values (default 32), zero points with --asymmetric,
                 --accuracy-level 4 (default: int8 compute, fastest on CPU; 0 = float). Embeddings
                 become int8 rows. With --fp16: onnx/model_q4f16.onnx (float16 activations).
  --dtype fp16   onnx/model_fp16.onnx: float16 weights, inputs, outputs and KV cache.
  --external-data  weights in <graph>.onnx_data instead of inside the graph.`;

runCli(USAGE, async (argv) => {
  const { values: v, positionals } = parseCli(
    {
      weights: { type: 'string' },
      bits: { type: 'string' },
      dtype: { type: 'string' },
      'block-size': { type: 'string' },
      'accuracy-level': { type: 'string' },
      asymmetric: { type: 'boolean' },
      fp16: { type: 'boolean' },
      'external-data': { type: 'boolean' },
      'no-report': { type: 'boolean' },
      tokens: { type: 'string' },
      threads: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    argv,
  );
  if (v.help) return void process.stdout.write(`${USAGE}\n`);
  if (positionals.length !== 1) throw new UsageError('expected one model folder');
  const tokens = toInt('tokens', v.tokens) ?? 32;
  const threads = toInt('threads', v.threads) ?? 2;
  const bits = toInt('bits', v.bits) ?? 8;
  if (bits !== 8 && bits !== 4) throw new UsageError('--bits must be 8 or 4');
  const folder = resolve(positionals[0]);
  const t0 = Date.now();
  let input: string, output: string, label: string;
  if (bits === 4 || v.dtype || v['external-data']) {
    const dtype = bits === 4 ? (v.fp16 ? 'q4f16' : 'q4') : (v.dtype ?? 'q8');
    if (!['fp16', 'q4', 'q4f16', 'q8', 'fp32'].includes(dtype))
      throw new UsageError('--dtype must be fp16, q8 or fp32');
    const blockSize = toInt('block-size', v['block-size']);
    const accuracyLevel = toInt('accuracy-level', v['accuracy-level']);
    if (accuracyLevel !== undefined && (accuracyLevel < 0 || accuracyLevel > 4)) {
      throw new UsageError('--accuracy-level must be 0 to 4');
    }
    const r = await writeVariant(folder, {
      dtype: dtype as 'q4',
      blockSize,
      accuracyLevel,
      asymmetric: v.asymmetric,
      externalData: v['external-data'],
    }).catch((err: Error) => {
      throw /block size/.test(err.message) ? new UsageError(err.message) : err;
    });
    process.stdout.write(`${dtype}: ${r.detail} in ${Date.now() - t0} ms\n  ${r.files.join('\n  ')}\n`);
    process.stdout.write(`  ${mb(r.inputBytes)} → ${mb(r.outputBytes)}\n`);
    [input, output, label] = [r.input, r.output, dtype];
  } else {
    const mode = (v.weights ?? 's7') as WeightMode;
    if (!['s7', 'u8', 's8'].includes(mode)) throw new UsageError('--weights must be s7, u8 or s8');
    const r = await quantizeModelFolder(folder, mode);
    process.stdout.write(
      `quantized (${mode}) ${r.matmul} MatMul, ${r.gemm} Gemm, ${r.gather} Gather in ${Date.now() - t0} ms\n` +
        `  ${r.output}\n  ${mb(r.inputBytes)} → ${mb(r.outputBytes)}\n`,
    );
    [input, output, label] = [r.input, r.output, 'int8'];
  }
  if (v['no-report'] || input === output) return;
  // An encoder has no greedy tokens to compare: its vectors are compared instead.
  if (isEncoderFolder(folder))
    return void process.stdout.write(`${await encoderQuantizationReport(input, output, folder)}\n`);
  const report = await quantizationReport(input, output, folder, { tokens, threads });
  process.stdout.write(`${formatReport(report, label)}\n`);
});
