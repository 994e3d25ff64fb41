import { statSync } from 'node:fs';
import { join } from 'node:path';
import { buildModel } from '../build-model';
import { buildGenAiModel } from '../genai-writer';
import { onnxFileName } from '../spec';
import { mb, runCli } from './args';
import { BUILD_USAGE, buildOptionsFromArgs } from './build-args';

runCli(BUILD_USAGE, async (argv) => {
  const opts = buildOptionsFromArgs(argv);
  if (!opts) return void process.stdout.write(`${BUILD_USAGE}\n`);
  const t0 = Date.now();
  const { genai, ...build } = opts;
  const spec = genai ? await buildGenAiModel(build) : await buildModel(build);
  const file = join(opts.outDir, genai ? 'model.onnx' : onnxFileName(spec));
  process.stdout.write(
    `built ${spec.arch} (${spec.layers} layers, hidden ${spec.hidden}, heads ${spec.heads}/${spec.kvHeads}, ` +
      `vocab ${spec.vocabSize}) in ${Date.now() - t0} ms\n  ${file} (${mb(statSync(file).size)})\n`,
  );
});
