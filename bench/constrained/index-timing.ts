/**
 * The constraint's one-off costs on the Qwen 3 vocabulary, as the engine pays them: the token
 * index built fresh from the loaded tokenizer's vocabulary, and a nested schema compiled
 * uncached (a fresh title defeats the compiled-schema cache). Shared by bench:constrained and
 * bench:engine's structured section.
 */
import { compileJsonConstraint } from '../../src/models/onnx/constrained/constraint';
import { TEST_SCHEMAS } from '../../src/models/onnx/constrained/test-schemas';
import { buildTokenIndex, type TokenIndex } from '../../src/models/onnx/constrained/token-index';
import { ModelTokenizer } from '../../src/models/onnx/tokenizer';
import { readRealTokenizer } from '../../src/model-tools/real-tokenizer-model';

export function timeIndexAndCompile(
  vocab: number,
  rounds: number,
): { index: TokenIndex; builds: number[]; compiles: number[] } {
  const { tokenizerJson, tokenizerConfig } = readRealTokenizer('qwen3');
  const vocabulary = new ModelTokenizer(tokenizerJson, tokenizerConfig).vocabulary();
  const builds: number[] = [];
  let index: TokenIndex | undefined;
  for (let r = 0; r < rounds; r++) {
    const t = performance.now();
    index = buildTokenIndex(vocabulary, vocab);
    builds.push(performance.now() - t);
  }
  const compiles: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t = performance.now();
    compileJsonConstraint(
      { type: 'json_schema', json_schema: { schema: { ...(TEST_SCHEMAS.nested as object), title: `r${r}` } } },
      index!,
    ).minTokens();
    compiles.push(performance.now() - t);
  }
  return { index: index!, builds, compiles };
}
