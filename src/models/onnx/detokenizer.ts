/** The part of the tokenizer the detokenizer needs. */
export interface TokenDecoder {
  decode(ids: readonly number[]): string;
}

/** How many prompt tokens to keep as left context: enough for decoders that strip a leading space. */
const CONTEXT_TOKENS = 4;

/**
 * Turns generated token ids into text deltas without ever splitting a UTF-8 character: decodes a
 * small sliding window and holds back tails that decode to U+FFFD (an incomplete byte sequence).
 * The window starts with a few prompt tokens so the first token decodes as it does mid-text.
 */
export class IncrementalDetokenizer {
  private readonly ids: number[];
  private prefixOffset = 0;
  private readOffset: number;

  constructor(
    private readonly decoder: TokenDecoder,
    promptIds: readonly number[] = [],
  ) {
    this.ids = promptIds.slice(Math.max(0, promptIds.length - CONTEXT_TOKENS));
    this.readOffset = this.ids.length;
  }

  /** Adds one token; returns the text it completes ('' while a character is still incomplete). */
  push(id: number): string {
    this.ids.push(id);
    const prefix = this.decoder.decode(this.ids.slice(this.prefixOffset, this.readOffset));
    const full = this.decoder.decode(this.ids.slice(this.prefixOffset));
    if (full.length <= prefix.length || full.endsWith('\uFFFD')) return '';
    this.advance();
    return full.slice(prefix.length);
  }

  /** Generation is over: emit whatever is left, incomplete characters included. */
  flush(): string {
    if (this.readOffset >= this.ids.length) return '';
    const prefix = this.decoder.decode(this.ids.slice(this.prefixOffset, this.readOffset));
    const full = this.decoder.decode(this.ids.slice(this.prefixOffset));
    this.advance();
    return full.length > prefix.length ? full.slice(prefix.length) : '';
  }

  private advance(): void {
    this.prefixOffset = this.readOffset;
    this.readOffset = this.ids.length;
    // Drop what no window will read again, so long generations stay O(1) per token.
    if (this.prefixOffset > 64) {
      this.ids.splice(0, this.prefixOffset);
      this.readOffset -= this.prefixOffset;
      this.prefixOffset = 0;
    }
  }
}

const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/**
 * Holds back the last grapheme cluster: the next token may still extend it (ZWJ emoji sequences,
 * combining marks, flags, skin tones), and a client must never see half of one.
 */
export class GraphemeBuffer {
  private pending = '';

  push(text: string): string {
    if (!text) return '';
    this.pending += text;
    const n = this.pending.length;
    const last = this.pending.charCodeAt(n - 1);
    const prev = n > 1 ? this.pending.charCodeAt(n - 2) : -1;
    // Fast path: between two ASCII characters the only unbreakable pair is CR LF, so an ASCII
    // tail after ASCII is a grapheme of its own. Saves the segmenter on most English text.
    if (last < 0x80 && prev >= 0 && prev < 0x80 && !(prev === 0x0d && last === 0x0a)) {
      const ready = this.pending.slice(0, n - 1);
      this.pending = this.pending.slice(n - 1);
      return ready;
    }
    let lastStart = 0;
    for (const segment of segmenter.segment(this.pending)) lastStart = segment.index;
    const ready = this.pending.slice(0, lastStart);
    this.pending = this.pending.slice(lastStart);
    return ready;
  }

  flush(): string {
    const rest = this.pending;
    this.pending = '';
    return rest;
  }
}
