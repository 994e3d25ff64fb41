import { Tokenizer } from '@huggingface/tokenizers';

/**
 * A tokenizer for a generation model or a local encoder. The library keeps the tokenizer.json it
 * was given (its model section doubles as the model's config) and an array of merge pairs, all
 * of which it only reads while building its maps: tens of MB of heap for a large vocabulary
 * (docs/engine.md, "Memory"). It gets its own copy of the model section, whose vocabulary and
 * merges are dropped once built; the caller's object is left as it was.
 */
export function buildCompactly(tokenizerJson: object, tokenizerConfig: Record<string, unknown>): Tokenizer {
  const json = tokenizerJson as { model?: Record<string, unknown> };
  const model = json.model && typeof json.model === 'object' ? { ...json.model } : json.model;
  const tokenizer = new Tokenizer({ ...json, model }, tokenizerConfig);
  if (model) {
    delete model.vocab;
    delete model.merges;
  }
  const built = (tokenizer as unknown as { model?: { merges?: unknown } }).model;
  if (built && 'merges' in built) built.merges = undefined;
  return tokenizer;
}
