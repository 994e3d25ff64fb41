import { join } from 'node:path';
import type { GenerateRequest, GenerationParams } from '../../src/models/provider.interface';
import { buildModel, type BuildModelOptions } from '../../src/model-tools/build-model';
import { quantizeModelFolder } from '../../src/model-tools/quantize';
import { makeTempDir } from '../helpers/temp-dir';

export type TestModel = Omit<BuildModelOptions, 'outDir'> & {
  /** also write onnx/model_quantized.onnx */ quantize?: boolean;
};

/** A temp folder of generated models for one spec file, removed after it. */
export function modelRoot(prefix: string): { root: string; build(name: string, opts: TestModel): Promise<string> } {
  const root = makeTempDir(`engine-${prefix}`);
  return {
    root,
    async build(name, { quantize, ...opts }) {
      const dir = join(root, name);
      await buildModel({ outDir: dir, layers: 2, hidden: 32, heads: 4, ...opts });
      if (quantize) await quantizeModelFolder(dir);
      return dir;
    },
  };
}

export const GREEDY: GenerationParams = {
  maxTokens: 16,
  temperature: 0,
  topP: 1,
  topK: 0,
  repetitionPenalty: 1,
  stop: [],
};

export function request(
  prompt: string,
  params: Partial<GenerationParams> = {},
  extra: Partial<GenerateRequest> = {},
): GenerateRequest {
  return { prompt, params: { ...GREEDY, ...params }, ...extra };
}
