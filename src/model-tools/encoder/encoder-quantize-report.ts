import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import * as ort from 'onnxruntime-node';
import { disableOrtTelemetry } from '../../models/onnx/ort-telemetry';
import { halfRowToFloat } from '../../models/onnx/tensors';

const TEXTS = [
  'The quick brown fox jumps over the lazy dog.',
  'Where do cats sleep in the winter?',
  'A search query about rivers and mountains',
  'Model servers turn text into vectors.',
];

/** True for a sentence-encoder folder (sentence-transformers files, or an encoder model_type). */
export function isEncoderFolder(folder: string): boolean {
  if (existsSync(join(folder, '1_Pooling', 'config.json')) || existsSync(join(folder, 'modules.json'))) return true;
  try {
    const cfg = JSON.parse(readFileSync(join(folder, 'config.json'), 'utf8')) as { model_type?: string };
    return ['bert', 'xlm-roberta', 'roberta', 'mpnet', 'nomic_bert', 'new'].includes(String(cfg.model_type));
  } catch {
    return false;
  }
}

/**
 * model:quantize's check for an encoder (the decoder report compares greedy tokens, which an
 * encoder has none of): mean-pooled vectors of a few texts from both graphs, their cosines.
 */
export async function encoderQuantizationReport(
  fp32File: string,
  variantFile: string,
  folder: string,
): Promise<string> {
  const tok = new Tokenizer(
    JSON.parse(readFileSync(join(folder, 'tokenizer.json'), 'utf8')),
    existsSync(join(folder, 'tokenizer_config.json'))
      ? JSON.parse(readFileSync(join(folder, 'tokenizer_config.json'), 'utf8'))
      : {},
  );
  disableOrtTelemetry();
  const vectors = async (file: string): Promise<number[][]> => {
    const session = await ort.InferenceSession.create(file, { intraOpNumThreads: 1, logSeverityLevel: 3 });
    try {
      const out: number[][] = [];
      for (const text of TEXTS) {
        const ids = tok.encode(text, { add_special_tokens: true }).ids;
        const n = ids.length;
        const feeds: Record<string, ort.Tensor> = {
          input_ids: new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, n]),
          attention_mask: new ort.Tensor('int64', new BigInt64Array(n).fill(1n), [1, n]),
        };
        if (session.inputNames.includes('token_type_ids'))
          feeds.token_type_ids = new ort.Tensor('int64', new BigInt64Array(n), [1, n]);
        const hidden = (await session.run(feeds, ['last_hidden_state'])).last_hidden_state;
        const dim = hidden.dims[2];
        const data =
          hidden.type === 'float16'
            ? halfRowToFloat(hidden.data as Uint16Array, 0, hidden.data.length)
            : (hidden.data as Float32Array);
        const mean = Array.from({ length: dim }, (_, j) => {
          let s = 0;
          for (let t = 0; t < n; t++) s += data[t * dim + j];
          return s / n;
        });
        out.push(mean);
      }
      return out;
    } finally {
      await session.release();
    }
  };
  const [a, b] = [await vectors(fp32File), await vectors(variantFile)];
  const cos = a.map((v, i) => {
    let dot = 0;
    let na = 0;
    let nb = 0;
    v.forEach((x, j) => {
      dot += x * b[i][j];
      na += x * x;
      nb += b[i][j] * b[i][j];
    });
    return dot / Math.sqrt(na * nb);
  });
  return `encoder: cosine of mean-pooled vectors, variant vs fp32, over ${TEXTS.length} texts: min ${Math.min(...cos).toFixed(4)}, mean ${(cos.reduce((x, y) => x + y, 0) / cos.length).toFixed(4)}`;
}
