import type { TokenUsage } from '../../models/provider.interface';
import type { InferenceRun } from '../inference-call';

export function usageBody(u: TokenUsage): { prompt_tokens: number; completion_tokens: number; total_tokens: number } {
  return {
    prompt_tokens: u.promptTokens,
    completion_tokens: u.completionTokens,
    total_tokens: u.promptTokens + u.completionTokens,
  };
}

/** The fields every OpenAI answer and chunk starts with; `prefix` is `chatcmpl` or `cmpl`. */
export function envelope(run: InferenceRun, prefix: string) {
  return { id: `${prefix}-${run.id}`, created: run.created, model: run.model, system_fingerprint: null };
}
