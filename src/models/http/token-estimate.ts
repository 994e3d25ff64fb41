import type {
  ChatMessage,
  FinishReason,
  GenerateRequest,
  GenerateResult,
  StreamEvent,
  TokenUsage,
  WireObject,
} from '../provider.interface';
import { parseCompletion, type UpstreamUsage } from './openai-wire';

/** Counts the tokens of a text; a real tokenizer when one is given to the client. */
export type TokenCounter = (text: string) => number;

/** ~4 characters per token for English with BPE vocabularies: cheap, and only a fallback. */
export const estimateTokens: TokenCounter = (text) => (text.length === 0 ? 0 : Math.ceil(text.length / 4));

/** Role markers and separators each chat message costs on top of its content (OpenAI's rule of thumb). */
const PER_MESSAGE_OVERHEAD = 4;
/** The assistant turn's opening that every chat prompt ends with. */
const REPLY_PRIMING = 3;

export function countInputTokens(input: string | ChatMessage[], count: TokenCounter): number {
  if (typeof input === 'string') return count(input);
  let total = REPLY_PRIMING;
  for (const m of input) total += PER_MESSAGE_OVERHEAD + count(m.content) + (m.name ? count(m.name) : 0);
  return total;
}

/** The upstream's usage when it sent one, else counted here (every choice's text) and marked estimated. */
export async function usageOf(
  req: GenerateRequest,
  text: string,
  upstream: UpstreamUsage | undefined,
  count: TokenCounter,
): Promise<TokenUsage> {
  if (upstream) return { ...upstream };
  return {
    promptTokens: countInputTokens(req.messages ?? req.prompt ?? '', count),
    completionTokens: count(text),
    estimated: true,
  };
}

/** A stream's `done`; the upstream's usage object rides along when it is what was charged. */
export function doneEvent(
  finishReason: FinishReason,
  usage: TokenUsage,
  rawUsage: WireObject | undefined,
): StreamEvent {
  return { type: 'done', finishReason, usage, ...(rawUsage && !usage.estimated ? { wireUsage: rawUsage } : {}) };
}

/** A one-piece JSON completion as a result: its text, finish reason and usage (the whole answer rides along for OpenAI requests). */
export async function wholeResult(
  req: GenerateRequest,
  json: WireObject,
  count: TokenCounter,
): Promise<GenerateResult> {
  const parsed = parseCompletion(json);
  const usage = await usageOf(req, parsed.text, parsed.usage, count);
  return { text: parsed.text, finishReason: parsed.finishReason, usage, ...(req.body ? { wire: json } : {}) };
}
