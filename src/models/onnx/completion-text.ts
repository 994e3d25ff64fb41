import { GraphemeBuffer, IncrementalDetokenizer, type TokenDecoder } from './detokenizer';
import { StopMatcher } from './stop-matcher';

const PASS_THROUGH = { push: (text: string) => text, flush: () => '' };

export interface TextStep {
  /** Text that may be sent to the client now (possibly ''). */
  text: string;
  /** A stop sequence matched: generation must end, `text` already excludes it. */
  stopped: boolean;
}

/**
 * Token ids in, client-safe text out: UTF-8-complete (detokenizer), stop sequences cut and
 * never leaked (stop matcher), grapheme clusters whole (grapheme buffer). Streaming and
 * non-streaming both read this, so their texts are equal by construction. With logprobs the
 * grapheme buffer is off (`wholeGraphemes: false`): each delta is then the text of the tokens
 * whose logprobs it carries, as OpenAI streams them, rather than lagging a character behind.
 */
export class CompletionText {
  private readonly detokenizer: IncrementalDetokenizer;
  private readonly stops: StopMatcher;
  private readonly graphemes: Pick<GraphemeBuffer, 'push' | 'flush'>;

  constructor(decoder: TokenDecoder, promptIds: readonly number[], stop: readonly string[], wholeGraphemes = true) {
    this.detokenizer = new IncrementalDetokenizer(decoder, promptIds);
    this.stops = new StopMatcher(stop);
    this.graphemes = wholeGraphemes ? new GraphemeBuffer() : PASS_THROUGH;
  }

  push(id: number): TextStep {
    const piece = this.detokenizer.push(id);
    return piece ? this.route(piece) : { text: '', stopped: false };
  }

  /** Generation ended (EOS, length, cancel): release everything held back. */
  finish(): TextStep {
    const step = this.route(this.detokenizer.flush());
    if (step.stopped) return step;
    return { text: step.text + this.graphemes.push(this.stops.flush()) + this.graphemes.flush(), stopped: false };
  }

  private route(piece: string): TextStep {
    const { text, stopped } = this.stops.push(piece);
    const ready = this.graphemes.push(text);
    return stopped ? { text: ready + this.graphemes.flush(), stopped } : { text: ready, stopped };
  }
}
