import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { encodeModel } from '../onnx/graph-builder';
import { buildEncoderGraph, type EncoderSpec } from './encoder-graph';
import { type EncoderVocab, makeEncoderTokenizer } from './encoder-tokenizer';

export type EncoderArch = 'bert' | 'xlm-roberta';
export type EncoderPooling = 'mean' | 'cls' | 'last';

/** Options of `buildEncoder`; everything but `outDir` has a default. */
export interface EncoderOptions {
  outDir: string;
  /** `bert`: WordPiece, token_type_ids. `xlm-roberta`: Unigram, no token_type_ids. Default `bert`. */
  arch?: EncoderArch;
  /** Default: wordpiece for bert, unigram for xlm-roberta. */
  vocab?: EncoderVocab;
  /** Default 2. */
  layers?: number;
  /** Default 64. */
  hidden?: number;
  /** Default 4. */
  heads?: number;
  /** Default 4×hidden. */
  intermediate?: number;
  /** Longest input in tokens (special tokens included). Default 512. */
  maxPositions?: number;
  /** Written to 1_Pooling/config.json. Default mean. */
  pooling?: EncoderPooling;
  /** Also output `sentence_embedding`. Default false. */
  sentenceEmbedding?: boolean;
  /** Default 1234; same options → same bytes. */
  seed?: number;
}

export interface BuiltEncoder extends EncoderSpec {
  arch: EncoderArch;
  vocab: EncoderVocab;
  pooling: EncoderPooling;
}

const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;

async function writeAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

/**
 * Writes a small random-weight sentence encoder in the Hugging Face / sentence-transformers
 * layout: config.json, tokenizer.json, tokenizer_config.json, special_tokens_map.json,
 * 1_Pooling/config.json, modules.json and onnx/model.onnx (last: its presence means complete).
 */
export async function buildEncoder(opts: EncoderOptions): Promise<BuiltEncoder> {
  const arch = opts.arch ?? 'bert';
  const vocab = opts.vocab ?? (arch === 'bert' ? 'wordpiece' : 'unigram');
  const maxPositions = opts.maxPositions ?? 512;
  const tok = makeEncoderTokenizer(vocab, maxPositions);
  const hidden = opts.hidden ?? 64;
  const heads = opts.heads ?? 4;
  if (hidden % heads !== 0) throw new Error(`hidden (${hidden}) must be a multiple of heads (${heads})`);
  const spec: BuiltEncoder = {
    arch,
    vocab,
    pooling: opts.pooling ?? 'mean',
    vocabSize: tok.vocabSize,
    layers: opts.layers ?? 2,
    hidden,
    heads,
    intermediate: opts.intermediate ?? 4 * hidden,
    maxPositions,
    tokenTypes: arch === 'bert',
    seed: opts.seed ?? 1234,
    normEps: 1e-12,
    sentenceEmbedding: opts.sentenceEmbedding ?? false,
  };
  const dir = opts.outDir;
  const config = {
    architectures: [arch === 'bert' ? 'BertModel' : 'XLMRobertaModel'],
    model_type: arch,
    vocab_size: spec.vocabSize,
    hidden_size: hidden,
    num_hidden_layers: spec.layers,
    num_attention_heads: heads,
    intermediate_size: spec.intermediate,
    hidden_act: 'gelu',
    max_position_embeddings: maxPositions,
    type_vocab_size: spec.tokenTypes ? 2 : 1,
    layer_norm_eps: spec.normEps,
    pad_token_id: tok.padTokenId,
  };
  const pooling = {
    word_embedding_dimension: hidden,
    pooling_mode_cls_token: spec.pooling === 'cls',
    pooling_mode_mean_tokens: spec.pooling === 'mean',
    pooling_mode_max_tokens: false,
    pooling_mode_mean_sqrt_len_tokens: false,
    pooling_mode_lasttoken: spec.pooling === 'last',
  };
  const modules = [
    { idx: 0, name: '0', path: '', type: 'sentence_transformers.models.Transformer' },
    { idx: 1, name: '1', path: '1_Pooling', type: 'sentence_transformers.models.Pooling' },
    { idx: 2, name: '2', path: '2_Normalize', type: 'sentence_transformers.models.Normalize' },
  ];
  await writeAtomic(join(dir, 'config.json'), json(config));
  await writeAtomic(join(dir, 'tokenizer.json'), JSON.stringify(tok.tokenizerJson));
  await writeAtomic(join(dir, 'tokenizer_config.json'), json(tok.tokenizerConfig));
  await writeAtomic(join(dir, 'special_tokens_map.json'), json(tok.specialTokensMap));
  await writeAtomic(join(dir, '1_Pooling', 'config.json'), json(pooling));
  await writeAtomic(join(dir, 'modules.json'), json(modules));
  const graph = buildEncoderGraph(spec);
  await writeAtomic(
    join(dir, 'onnx', 'model.onnx'),
    encodeModel(graph.toModelProto(`${arch} test encoder, seed ${spec.seed}`)),
  );
  return spec;
}
