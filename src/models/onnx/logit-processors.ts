/**
 * OpenAI's logit adjustments, applied before sampling in this order: presence and frequency
 * penalties over the tokens generated so far (the prompt is not penalised, as OpenAI and vLLM
 * do), then `logit_bias`. Masked logits (-Infinity) stay masked.
 */

/** How often each token was generated in this sequence; sparse, so a 150k vocabulary costs nothing. */
export class GeneratedCounts {
  private readonly counts = new Map<number, number>();

  add(id: number): void {
    this.counts.set(id, (this.counts.get(id) ?? 0) + 1);
  }

  /** logit -= presence · [count > 0] + frequency · count, as in OpenAI's documentation. */
  applyPenalties(logits: Float32Array, presence: number, frequency: number): void {
    for (const [id, count] of this.counts) {
      if (id < logits.length) logits[id] -= presence + frequency * count;
    }
  }
}

/** `logit_bias` as parsed from the request: token id → bias in [-100, 100]. */
export type LogitBias = ReadonlyMap<number, number>;

export function applyLogitBias(logits: Float32Array, bias: LogitBias): void {
  for (const [id, b] of bias) if (id < logits.length) logits[id] += b;
}
