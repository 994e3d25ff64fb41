/** How a local answer shows its tokens: their text and bytes in logprobs, and tool-call markers kept. */
import type { TokenIndex } from '../constrained/token-index';
import type { TokenDecoder } from '../detokenizer';
import type { ModelTokenizer } from '../tokenizer';
import { TOOL_CALL_FORMATS, type ToolParserName } from '../tools/tool-call-formats';
import type { TokenView } from './choice-writer';

/**
 * Each token's text, and its real bytes (from the constraint's index; special tokens: their
 * text's). The index is asked for only when bytes are (logprobs): a plain answer never builds it.
 */
export function tokenView(tokenizer: ModelTokenizer, index: () => TokenIndex): TokenView {
  return {
    text: (id) => tokenizer.tokenText(id),
    bytes: (id) => {
      const b = index().bytesOf(id);
      return b ? Array.from(b) : Array.from(Buffer.from(tokenizer.tokenText(id), 'utf8'));
    },
  };
}

/** Completion text that keeps the format's marker when it is a special token (`<|python_tag|>`). */
export function toolCallDecoder(tokenizer: ModelTokenizer, parser: ToolParserName): TokenDecoder {
  const keep = new Set<number>();
  for (const m of [...TOOL_CALL_FORMATS[parser].markers, '<|python_tag|>']) {
    const id = tokenizer.tokenId(m);
    if (id !== undefined) keep.add(id);
  }
  return tokenizer.decoderKeeping(keep);
}
