/**
 * What one batch row needs to decode under a constraint, so the engine's integration is a few
 * lines per sequence: before sampling `maskLogits(logits, remaining)`, after it `accept(id)`;
 * `done` says the document is complete and nothing may follow (end with `stop`).
 */
import type { ConstraintState, JsonConstraint } from './constraint';

/** Read once: a global lookup per element is slow where globals are proxied (jest's sandbox). */
const NEG_INF = -Infinity;

export class ConstrainedRow {
  private readonly state: ConstraintState;

  constructor(
    constraint: JsonConstraint,
    private readonly eosIds: readonly number[],
  ) {
    this.state = constraint.start();
  }

  /**
   * Sets the logits of every token that cannot continue the document (or could not close it in
   * `remaining` tokens, this one included) to -Infinity. EOS stays allowed once the document is
   * complete. Greedy rows need these logits too (the graph's argmax output cannot be used).
   */
  maskLogits(logits: Float32Array, remaining: number): void {
    const mask = this.allowed(remaining);
    const n = Math.min(logits.length, mask.length);
    for (let i = 0; i < n; i++) if (!mask[i]) logits[i] = NEG_INF;
    for (let i = n; i < logits.length; i++) logits[i] = NEG_INF;
  }

  /** The same tokens as maskLogits allows, as a 0/1 mask (entries past its end: not allowed). */
  allowed(remaining: number): Uint8Array {
    return this.state.allowed(remaining, this.eosIds);
  }

  /** Takes the sampled token (EOS included); returns true when the row must end now. */
  accept(id: number): boolean {
    if (this.eosIds.includes(id)) return true;
    this.state.advance(id);
    return this.done;
  }

  /** Complete, and no byte may extend it (a closed top-level object or array). */
  get done(): boolean {
    return this.state.isComplete() && !this.state.canContinue();
  }

  get minTokensToFinish(): number {
    return this.state.minTokensToFinish();
  }
}
