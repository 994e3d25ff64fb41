/**
 * Log-probabilities of a step, for `logprobs` / `top_logprobs`: from the logits the sampler
 * drew from after penalties, bias and any constraint mask, before temperature and top-k/top-p
 * (OpenAI reports the model's distribution, not the sampler's). A masked token has -Infinity.
 */
import { topLogits } from './sampler';

export interface TopLogprob {
  id: number;
  logprob: number;
}

export interface TokenLogprob extends TopLogprob {
  /** The `top` most likely tokens, most likely first (empty when not asked for). */
  top: TopLogprob[];
}

/** Read once: a global lookup per element is slow where globals are proxied (jest's sandbox). */
const NEG_INF = -Infinity;

export function tokenLogprob(logits: Float32Array, chosen: number, top: number): TokenLogprob {
  let max = NEG_INF;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  let sum = 0;
  for (let i = 0; i < logits.length; i++) {
    const v = logits[i];
    if (v !== NEG_INF) sum += Math.exp(v - max);
  }
  const lse = max + Math.log(sum);
  return {
    id: chosen,
    logprob: logits[chosen] - lse,
    top: topLogits(logits, top).ids.map((id) => ({ id, logprob: logits[id] - lse })),
  };
}
