import type { LlmProvider } from './provider.interface';

/**
 * What a model that serves /v1/embeddings adds to the provider interface (docs/embeddings.md).
 * Local encoders implement it; remote models are called by the embeddings service directly.
 */
export interface EmbedRequest {
  /** Already tokenized and checked against the context (see `prepare`). */
  rows: number[][];
  /** Matryoshka truncation (re-normalised), already validated against the model's declaration. */
  dimensions?: number;
  encodingFormat: 'float' | 'base64';
  signal?: AbortSignal;
}

export interface PreparedInput {
  /** Token ids per input, special tokens and prefix included, truncated if asked. */
  rows: number[][];
  promptTokens: number;
}

export interface Embedder {
  readonly hiddenSize?: number;
  /** Dimensions a request may ask for (Matryoshka); empty: only the full size. */
  readonly matryoshkaDimensions: readonly number[];
  /**
   * Tokenizes the inputs (prefix for the input type first). An input over the context is
   * `invalid_request` naming its index, unless `truncate` is set.
   */
  prepare(
    inputs: Array<string | number[]>,
    opts: { truncate?: boolean; inputType?: 'query' | 'document' },
  ): PreparedInput;
  embed(req: EmbedRequest): Promise<Array<number[] | string>>;
}

export function canEmbed(p: LlmProvider): p is LlmProvider & Embedder {
  return typeof (p as Partial<Embedder>).embed === 'function' && typeof (p as Partial<Embedder>).prepare === 'function';
}
