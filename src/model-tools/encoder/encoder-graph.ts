import { DT, float, GraphBuilder, int, ints } from '../onnx/graph-builder';
import { uniformTensor } from '../weights';

/** Sizes of a generated encoder (see `EncoderOptions` for the meaning and defaults). */
export interface EncoderSpec {
  vocabSize: number;
  layers: number;
  hidden: number;
  heads: number;
  intermediate: number;
  maxPositions: number;
  /** BERT has a token_type_ids input; XLM-R / MPNet style graphs do not. */
  tokenTypes: boolean;
  seed: number;
  normEps: number;
  /** Adds a `sentence_embedding` output (mean-pooled, L2-normalised), as sentence-transformers exports do. */
  sentenceEmbedding: boolean;
}

const DIMS = ['batch_size', 'sequence_length'];

/**
 * A post-LayerNorm BERT encoder, laid out as Optimum exports it: inputs input_ids,
 * attention_mask (and token_type_ids), output last_hidden_state [B, S, H]. Attention is
 * bidirectional; padded keys are masked with a finite -1e9. Positions are 0..S-1 inside the graph
 * (right padding leaves real tokens' positions unchanged, so batching never changes a vector).
 */
export function buildEncoderGraph(spec: EncoderSpec): GraphBuilder {
  const g = new GraphBuilder();
  const H = spec.hidden;
  const w = (name: string, dims: number[], std: number, mean = 0) =>
    g.init(
      name,
      uniformTensor(
        spec.seed,
        name,
        dims.reduce((a, b) => a * b, 1),
        std,
        mean,
      ),
      dims,
    );
  const linear = (x: string, name: string, inDim: number, outDim: number) =>
    g.node(
      'Add',
      [
        g.node('MatMul', [x, w(`${name}.weight`, [inDim, outDim], 1 / Math.sqrt(inDim))], {}, name),
        w(`${name}.bias`, [outDim], 0.05),
      ],
      {},
      name,
    );
  const norm = (x: string, name: string) =>
    g.node(
      'LayerNormalization',
      [x, w(`${name}.weight`, [H], 0.1, 1), w(`${name}.bias`, [H], 0.1)],
      { axis: int(-1), epsilon: float(spec.normEps) },
      name,
    );

  const ids = g.input('input_ids', DT.INT64, DIMS);
  const mask = g.input('attention_mask', DT.INT64, DIMS);
  const types = spec.tokenTypes ? g.input('token_type_ids', DT.INT64, DIMS) : undefined;

  const seq = g.node(
    'Squeeze',
    [g.node('Shape', [ids], { start: int(1), end: int(2) }, 'pos'), g.constI64([0])],
    {},
    'pos',
  );
  const positions = g.node('Range', [g.constI64([0], []), seq, g.constI64([1], [])], {}, 'pos');
  let x = g.node(
    'Add',
    [
      g.node(
        'Gather',
        [w('embeddings.word_embeddings.weight', [spec.vocabSize, H], 1), ids],
        { axis: int(0) },
        'embed',
      ),
      g.node(
        'Gather',
        [w('embeddings.position_embeddings.weight', [spec.maxPositions, H], 0.5), positions],
        { axis: int(0) },
        'embed',
      ),
    ],
    {},
    'embed',
  );
  if (types) {
    const typeEmb = g.node(
      'Gather',
      [w('embeddings.token_type_embeddings.weight', [2, H], 0.5), types],
      { axis: int(0) },
      'embed',
    );
    x = g.node('Add', [x, typeEmb], {}, 'embed');
  }
  x = norm(x, 'embeddings.LayerNorm');

  // [B, 1, 1, S]: 0 for real keys, -1e9 for padding.
  const maskF = g.node('Cast', [mask], { to: int(DT.FLOAT) }, 'bias');
  const bias = g.node(
    'Mul',
    [
      g.node('Sub', [g.constF32([1]), g.node('Unsqueeze', [maskF, g.constI64([1, 2])], {}, 'bias')], {}, 'bias'),
      g.constF32([-1e9]),
    ],
    {},
    'bias',
  );
  const d = H / spec.heads;
  const heads = (t: string, p: string) =>
    g.node(
      'Transpose',
      [g.node('Reshape', [t, g.constI64([0, 0, spec.heads, d])], {}, p)],
      { perm: ints([0, 2, 1, 3]) },
      p,
    );

  for (let i = 0; i < spec.layers; i++) {
    const p = `encoder.layer.${i}`;
    const q = heads(linear(x, `${p}.attention.self.query`, H, H), p);
    const k = heads(linear(x, `${p}.attention.self.key`, H, H), p);
    const v = heads(linear(x, `${p}.attention.self.value`, H, H), p);
    const kT = g.node('Transpose', [k], { perm: ints([0, 1, 3, 2]) }, p);
    const scores = g.node(
      'Add',
      [g.node('Mul', [g.node('MatMul', [q, kT], {}, p), g.constF32([1 / Math.sqrt(d)])], {}, p), bias],
      {},
      p,
    );
    const ctx = g.node('MatMul', [g.node('Softmax', [scores], { axis: int(-1) }, p), v], {}, p);
    const merged = g.node(
      'Reshape',
      [g.node('Transpose', [ctx], { perm: ints([0, 2, 1, 3]) }, p), g.constI64([0, 0, H])],
      {},
      p,
    );
    x = norm(
      g.node('Add', [x, linear(merged, `${p}.attention.output.dense`, H, H)], {}, p),
      `${p}.attention.output.LayerNorm`,
    );
    const up = linear(x, `${p}.intermediate.dense`, H, spec.intermediate);
    // gelu (erf form), BERT's activation.
    const erf = g.node('Erf', [g.node('Mul', [up, g.constF32([Math.SQRT1_2])], {}, p)], {}, p);
    const act = g.node(
      'Mul',
      [g.node('Mul', [up, g.constF32([0.5])], {}, p), g.node('Add', [erf, g.constF32([1])], {}, p)],
      {},
      p,
    );
    x = norm(
      g.node('Add', [x, linear(act, `${p}.output.dense`, spec.intermediate, H)], {}, p),
      `${p}.output.LayerNorm`,
    );
  }
  g.node('Identity', [x], {}, 'out', 'last_hidden_state');
  g.output('last_hidden_state', DT.FLOAT, [...DIMS, H]);
  if (spec.sentenceEmbedding) addSentenceEmbedding(g, 'last_hidden_state', maskF);
  return g;
}

/** Mean over real tokens, then L2 normalisation: sentence-transformers' default head. */
function addSentenceEmbedding(g: GraphBuilder, hidden: string, maskF: string): void {
  const h = 'pool';
  const m3 = g.node('Unsqueeze', [maskF, g.constI64([2])], {}, h);
  const sum = g.node('ReduceSum', [g.node('Mul', [hidden, m3], {}, h), g.constI64([1])], { keepdims: int(0) }, h);
  const count = g.node(
    'Max',
    [g.node('ReduceSum', [m3, g.constI64([1])], { keepdims: int(0) }, h), g.constF32([1e-9])],
    {},
    h,
  );
  const mean = g.node('Div', [sum, count], {}, h);
  const sq = g.node('ReduceSum', [g.node('Mul', [mean, mean], {}, h), g.constI64([1])], { keepdims: int(1) }, h);
  const len = g.node('Max', [g.node('Sqrt', [sq], {}, h), g.constF32([1e-12])], {}, h);
  g.node('Div', [mean, len], {}, h, 'sentence_embedding');
  g.output('sentence_embedding', DT.FLOAT, ['batch_size', 'hidden_size']);
}
