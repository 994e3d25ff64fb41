import type {
  ChatMessage,
  GenerateRequest,
  GenerateResult,
  LlmProvider,
  ProviderHealth,
  ProviderKind,
  StreamEvent,
} from '../../provider.interface';

/** What the next call does: answer, fail before any output, or fail after some deltas. */
export type Step = { ok: true } | { fail: Error } | { failAfter: number; error: Error };

/**
 * An in-memory LlmProvider for registry and router specs: scripted outcomes, optional
 * latency, and a record of calls and closing. Not a mock of our code — a stand-in for a model.
 */
export class ScriptedProvider implements LlmProvider {
  readonly version: string;
  calls = 0;
  closed = false;
  readonly events: string[] = [];
  private readonly script: Step[] = [];
  delayMs = 0;
  /** What this provider says it cannot honour in a body (a local engine's `refusal`). */
  refuses: string | undefined;

  constructor(
    readonly name: string,
    readonly kind: ProviderKind = 'onnx',
    readonly deltas: string[] = [name, '!'],
  ) {
    this.version = `${kind}:${name}`;
  }

  queue(...steps: Step[]): this {
    this.script.push(...steps);
    return this;
  }

  async generate(req: GenerateRequest): Promise<GenerateResult> {
    const step = await this.begin(req);
    if ('fail' in step) throw step.fail;
    if ('failAfter' in step) throw step.error;
    this.events.push('done');
    return {
      text: this.deltas.join(''),
      finishReason: 'stop',
      usage: { promptTokens: 1, completionTokens: this.deltas.length },
    };
  }

  async *stream(req: GenerateRequest): AsyncGenerator<StreamEvent> {
    const step = await this.begin(req);
    if ('fail' in step) throw step.fail;
    try {
      for (const [i, text] of this.deltas.entries()) {
        if ('failAfter' in step && i === step.failAfter) throw step.error;
        yield { type: 'delta', text };
      }
      this.events.push('done');
      yield { type: 'done', finishReason: 'stop', usage: { promptTokens: 1, completionTokens: this.deltas.length } };
    } finally {
      this.events.push('stream-closed');
    }
  }

  refusal(req: GenerateRequest): string | undefined {
    return req.body ? this.refuses : undefined;
  }

  async countTokens(input: string | ChatMessage[]): Promise<number> {
    return typeof input === 'string' ? input.length : input.length;
  }

  async health(): Promise<ProviderHealth> {
    return { up: !this.closed, inflight: 0, queued: 2 };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.events.push('closed');
  }

  private async begin(req: GenerateRequest): Promise<Step> {
    if (this.closed) throw new Error(`${this.name} used after close`);
    this.calls++;
    this.events.push('call');
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    if (req.signal?.aborted) throw new DOMException('aborted', 'AbortError');
    return this.script.shift() ?? { ok: true };
  }
}
