/**
 * Whole OpenAI answers for the fake upstream, and their split into stream chunks the way OpenAI
 * streams them. Written independently of src/gateway/wire (the code under test, src/models/wire), so a test that
 * compares the two catches a mistake in either.
 */
type Obj = Record<string, any>;

/** A whole `chat.completion` or `text_completion` object. */
export type WholeAnswer = Obj & { choices: Obj[] };

/** Usage with the details real upstreams add (cached prompt tokens, reasoning tokens). */
export function usageWithDetails(prompt: number, completion: number, cached = 0, reasoning = 0): Obj {
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: cached, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: reasoning,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
}

export function chatAnswer(choices: Obj[], usage: Obj | undefined = usageWithDetails(20, 10)): WholeAnswer {
  return {
    id: 'chatcmpl-upstream',
    object: 'chat.completion',
    created: 1_700_000_000,
    model: 'upstream-model',
    system_fingerprint: 'fp_upstream',
    service_tier: 'default',
    choices: choices.map((c, index) => ({ index, logprobs: null, ...c })),
    ...(usage ? { usage } : {}),
  };
}

/** One choice's message. */
export function message(content: string | null, extra: Obj = {}): Obj {
  return { role: 'assistant', content, refusal: null, annotations: [], ...extra };
}

/** The assistant calls these tools (several = parallel tool calls). */
export function toolCallAnswer(
  calls: Array<{ id: string; name: string; arguments: unknown }>,
  usage?: Obj,
): WholeAnswer {
  const tool_calls = calls.map((c) => ({
    id: c.id,
    type: 'function',
    function: { name: c.name, arguments: JSON.stringify(c.arguments) },
  }));
  return chatAnswer([{ message: message(null, { tool_calls }), finish_reason: 'tool_calls' }], usage);
}

/** One choice per text (n = texts.length). */
export function nChoicesAnswer(texts: string[], usage?: Obj): WholeAnswer {
  return chatAnswer(
    texts.map((t) => ({ message: message(t), finish_reason: 'stop' })),
    usage,
  );
}

/** A structured-output answer: the content is the JSON text of `value`. */
export function jsonSchemaAnswer(value: unknown, usage?: Obj): WholeAnswer {
  return chatAnswer([{ message: message(JSON.stringify(value)), finish_reason: 'stop' }], usage);
}

export function refusalAnswer(refusal: string, usage?: Obj): WholeAnswer {
  return chatAnswer([{ message: message(null, { refusal }), finish_reason: 'stop' }], usage);
}

/** A text answer with each token's logprob and `top` alternatives. */
export function logprobsAnswer(tokens: string[], top = 2, usage?: Obj): WholeAnswer {
  const entry = (token: string, lp: number): Obj => ({ token, logprob: lp, bytes: [...Buffer.from(token)] });
  const content = tokens.map((t, i) => ({
    // `|| 0`: a -0 would come back as 0 from JSON.
    ...entry(t, -0.5 * i || 0),
    top_logprobs: Array.from({ length: top }, (_, k) => entry(k ? `${t}~${k}` : t, -0.5 * i - k || 0)),
  }));
  return chatAnswer(
    [{ message: message(tokens.join('')), logprobs: { content, refusal: null }, finish_reason: 'stop' }],
    usage,
  );
}

/** A legacy `text_completion` answer, one choice per text. */
export function textCompletionAnswer(texts: string[], usage: Obj | undefined = usageWithDetails(8, 6)): WholeAnswer {
  return {
    id: 'cmpl-upstream',
    object: 'text_completion',
    created: 1_700_000_000,
    model: 'upstream-model',
    system_fingerprint: 'fp_upstream',
    choices: texts.map((text, index) => ({ index, text, logprobs: null, finish_reason: 'stop' })),
    ...(usage ? { usage } : {}),
  };
}

function pieces(text: string, size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

/** The chunks of one chat choice: role, content/refusal (per logprob token when there are logprobs), tool calls, finish. */
function chatChoiceChunks(c: Obj): Obj[] {
  const m: Obj = c.message ?? {};
  const out: Obj[] = [];
  const push = (delta: Obj, logprobs: Obj | null = null, finish: string | null = null): void => {
    out.push({ index: c.index, delta, logprobs, finish_reason: finish });
  };
  push({ role: 'assistant', content: m.content === null ? null : '', refusal: null });
  for (const field of ['content', 'refusal'] as const) {
    const text: unknown = m[field];
    if (typeof text !== 'string' || !text) continue;
    const lps: Obj[] | undefined = c.logprobs?.[field];
    if (lps?.length) {
      for (const lp of lps) push({ [field]: lp.token }, { content: null, refusal: null, [field]: [lp] });
    } else for (const p of pieces(text, 4)) push({ [field]: p });
  }
  (m.tool_calls ?? []).forEach((tc: Obj, k: number) => {
    push({ tool_calls: [{ index: k, id: tc.id, type: tc.type, function: { name: tc.function.name, arguments: '' } }] });
    for (const p of pieces(tc.function.arguments, 7)) push({ tool_calls: [{ index: k, function: { arguments: p } }] });
  });
  if (m.function_call) {
    push({ function_call: { name: m.function_call.name, arguments: '' } });
    for (const p of pieces(m.function_call.arguments, 7)) push({ function_call: { arguments: p } });
  }
  push({}, null, c.finish_reason);
  return out;
}

/** The chunks of one legacy completion choice (logprobs sliced per piece). */
function textChoiceChunks(c: Obj): Obj[] {
  const out: Obj[] = [];
  const lp: Obj | null = c.logprobs ?? null;
  if (lp?.tokens?.length) {
    lp.tokens.forEach((t: string, i: number) => {
      const slice = (k: string): unknown[] | undefined => (lp[k] ? [lp[k][i]] : undefined);
      const logprobs = {
        tokens: [t],
        token_logprobs: slice('token_logprobs'),
        top_logprobs: slice('top_logprobs'),
        text_offset: slice('text_offset'),
      };
      out.push({ index: c.index, text: t, logprobs, finish_reason: null });
    });
  } else
    for (const p of pieces(c.text ?? '', 4)) out.push({ index: c.index, text: p, logprobs: null, finish_reason: null });
  out.push({ index: c.index, text: '', logprobs: null, finish_reason: c.finish_reason });
  return out;
}

/**
 * The chunks OpenAI would stream for `whole`: one choice per chunk, the choices interleaved
 * (as with n > 1), every chunk with `usage: null` when include_usage is on, and then a
 * `choices: []` usage chunk.
 */
export function answerChunks(whole: WholeAnswer, includeUsage: boolean): Obj[] {
  const chat = whole.object !== 'text_completion';
  const { choices, usage, object: _object, ...envelope } = whole;
  const base = { ...envelope, object: chat ? 'chat.completion.chunk' : 'text_completion' };
  const perChoice = choices.map((c) => (chat ? chatChoiceChunks(c) : textChoiceChunks(c)));
  const out: Obj[] = [];
  const longest = Math.max(0, ...perChoice.map((l) => l.length));
  for (let i = 0; i < longest; i++)
    for (const list of perChoice)
      if (i < list.length) out.push({ ...base, choices: [list[i]], ...(includeUsage ? { usage: null } : {}) });
  if (includeUsage && usage) out.push({ ...base, choices: [], usage });
  return out;
}
