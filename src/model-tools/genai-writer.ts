import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { onnx } from 'onnx-proto';
import { buildLlamaGraph } from './graph/llama';
import { encodeModel } from './onnx/graph-builder';
import { type BuildModelOptions, type ModelSpec, resolveSpec } from './spec';
import { makeTokenizer } from './tokenizer-writer';
import { moveToExternalData } from './variants/external-data';
import { convertModelToFp16 } from './variants/fp16';
import { type Int4Options, quantizeModelToInt4 } from './variants/int4';

export interface GenAiModelOptions extends BuildModelOptions, Int4Options {
  /** Weights: fp32 (default), fp16, or q4 (MatMulNBits, as GenAI's cpu-int4 builds). */
  dtype?: 'fp32' | 'fp16' | 'q4';
  /** Weights in `model.onnx.data` (GenAI's external data name). */
  externalData?: boolean;
}

const GRAPH = 'model.onnx';

/**
 * Writes an ONNX Runtime GenAI folder: `genai_config.json` (no config.json), `model.onnx` using
 * com.microsoft GroupQueryAttention, tokenizer files. Same weights as `buildModel` with the same
 * options, so its greedy tokens can be checked against the Optimum-layout model.
 */
export async function buildGenAiModel(opts: GenAiModelOptions): Promise<ModelSpec> {
  const chat = opts.chatTemplate ?? 'chatml';
  const tok = makeTokenizer(opts.vocab ?? 'byte', chat, opts.maxPositions ?? 2048);
  const spec = resolveSpec({ ...opts, groupQueryAttentionOp: true }, tok.vocabSize);
  let model: onnx.IModelProto = buildLlamaGraph(spec).toModelProto(
    `${spec.arch} GenAI-style test model, seed ${spec.seed}`,
  );
  if (opts.dtype === 'fp16') model = convertModelToFp16(model).model;
  if (opts.dtype === 'q4') model = quantizeModelToInt4(model, opts).model;
  const dir = opts.outDir;
  const io = opts.dtype === 'fp16' ? 'float16' : 'float32';
  const genai = {
    model: {
      bos_token_id: tok.bosTokenId,
      context_length: spec.maxPositions,
      decoder: {
        session_options: { log_id: 'onnxruntime-genai', provider_options: [] },
        filename: GRAPH,
        head_size: spec.headDim,
        hidden_size: spec.hidden,
        inputs: {
          input_ids: 'input_ids',
          attention_mask: 'attention_mask',
          past_key_names: 'past_key_values.%d.key',
          past_value_names: 'past_key_values.%d.value',
        },
        outputs: {
          logits: 'logits',
          present_key_names: 'present.%d.key',
          present_value_names: 'present.%d.value',
        },
        num_attention_heads: spec.heads,
        num_hidden_layers: spec.layers,
        num_key_value_heads: spec.kvHeads,
      },
      eos_token_id: tok.stopTokenIds.length === 1 ? tok.stopTokenIds[0] : tok.stopTokenIds,
      pad_token_id: tok.padTokenId,
      type: spec.arch,
      vocab_size: spec.vocabSize,
    },
    search: { do_sample: false, max_length: spec.maxPositions, num_beams: 1, past_present_share_buffer: false },
    // not read by GenAI: records what this folder holds
    'llm-server': { kv_type: io },
  };
  const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;
  await write(join(dir, 'genai_config.json'), json(genai));
  await write(join(dir, 'tokenizer.json'), JSON.stringify(tok.tokenizerJson));
  await write(join(dir, 'tokenizer_config.json'), json(tok.tokenizerConfig));
  await write(join(dir, 'special_tokens_map.json'), json(tok.specialTokensMap));
  if (opts.externalData) {
    const ext = moveToExternalData(model, { graphFile: GRAPH, dataFileName: `${GRAPH}.data` });
    model = ext.model;
    for (const f of ext.files) await write(join(dir, f.name), f.bytes);
  }
  await write(join(dir, GRAPH), encodeModel(model));
  return spec;
}

async function write(path: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}
