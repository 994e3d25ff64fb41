import { pullModel } from '../hub-pull';
import { UsageError, parseCli, runCli } from './args';

const USAGE = `usage: npm run model:pull -- <owner/name> [--revision main] [--dtype fp32|fp16|q8|int8|uint8|q4|q4f16] [--out models/<name>]
Downloads an ONNX model folder from the Hugging Face hub (HF_ENDPOINT, default https://huggingface.co;
HF_TOKEN for private or gated repositories) and prints the models.yaml entry to add. Only the chosen
dtype's graph and its external data files (model_q4.onnx_data, _data_1, ...) are downloaded.`;

runCli(USAGE, async (argv) => {
  const { values: v, positionals } = parseCli(
    {
      revision: { type: 'string' },
      dtype: { type: 'string' },
      variant: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    argv,
  );
  if (v.help) return void process.stdout.write(`${USAGE}\n`);
  if (positionals.length !== 1) throw new UsageError('expected one repository id');
  const repo = positionals[0];
  const dtype = v.dtype ?? v.variant ?? 'fp32';
  process.stdout.write(`pulling ${repo}@${v.revision ?? 'main'} (${dtype})\n`);
  const r = await pullModel({
    repo,
    revision: v.revision,
    dtype,
    outDir: v.out,
    log: (line) => process.stdout.write(`${line}\n`),
  });
  process.stdout.write(`\nsaved to ${r.outDir}\nadd to models.yaml under models:\n\n${r.yamlEntry}\n`);
});
