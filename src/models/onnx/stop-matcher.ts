/**
 * Finds text stop sequences in a stream of text pieces. Text that might be the start of a stop
 * sequence is held back until the next piece decides it, so a stop never leaks to the client.
 */
export interface StopResult {
  /** Text that is safe to emit now. */
  text: string;
  /** True when a stop sequence was found: `text` ends right before it. */
  stopped: boolean;
}

export class StopMatcher {
  private held = '';
  private readonly stops: string[];

  constructor(stops: readonly string[]) {
    this.stops = stops.filter((s) => s.length > 0);
  }

  push(piece: string): StopResult {
    if (this.stops.length === 0) return { text: piece, stopped: false };
    const buffer = this.held + piece;
    let first = -1;
    for (const stop of this.stops) {
      const at = buffer.indexOf(stop);
      if (at >= 0 && (first < 0 || at < first)) first = at;
    }
    if (first >= 0) {
      this.held = '';
      return { text: buffer.slice(0, first), stopped: true };
    }
    const keep = this.partialStopLength(buffer);
    this.held = buffer.slice(buffer.length - keep);
    return { text: buffer.slice(0, buffer.length - keep), stopped: false };
  }

  /** Generation ended without a stop: whatever was held back is ordinary text. */
  flush(): string {
    const rest = this.held;
    this.held = '';
    return rest;
  }

  /** Length of the longest suffix of `buffer` that is a proper prefix of some stop sequence. */
  private partialStopLength(buffer: string): number {
    let best = 0;
    for (const stop of this.stops) {
      for (let n = Math.min(stop.length - 1, buffer.length); n > best; n--) {
        if (buffer.endsWith(stop.slice(0, n))) {
          best = n;
          break;
        }
      }
    }
    return best;
  }
}
