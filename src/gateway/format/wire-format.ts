import type { StreamEvent, WireObject } from '../../models/provider.interface';
import { splitWhole } from '../../models/wire/wire-splitter';
import type { Completed, InferenceRun } from '../inference-call';
import { usageBody } from './usage';

/**
 * An upstream's answer passed through (docs/api.md, wire fidelity): its objects with our `id`
 * and `model` and nothing else rewritten, except `usage`, which says what we charged, where and
 * when the client asked for it.
 */
export class WireFormat {
  /** The upstream's own chunks are being sent: it sends its finish chunks too. */
  wired = false;
  private last?: WireObject;

  constructor(
    private readonly prefix: string,
    private readonly includeUsage: boolean,
  ) {}

  /** The whole answer for a non-streaming client; undefined when there is no upstream object. */
  complete(run: InferenceRun, r: Completed): WireObject | undefined {
    if (!r.wire) return undefined;
    return { ...r.wire, id: this.id(run), model: run.model, usage: r.wireUsage ?? usageBody(r.usage) };
  }

  /** The chunks for a delta that carries the upstream's objects; undefined for a plain one. */
  deltaChunks(run: InferenceRun, e: Extract<StreamEvent, { type: 'delta' }>): WireObject[] | undefined {
    if (e.chunk) return [this.pass(run, e.chunk)];
    // A whole answer for a streaming client: split as OpenAI streams it, usage: null included.
    if (e.whole) return splitWhole(e.whole).map((c) => this.pass(run, this.includeUsage ? { ...c, usage: null } : c));
    return undefined;
  }

  /** The usage-only chunk that ends a stream when the client asked for `include_usage`. */
  usageChunk(run: InferenceRun, e: Extract<StreamEvent, { type: 'done' }>, base: WireObject): WireObject {
    const env = this.last ?? {};
    const upstream = {
      ...(env.created !== undefined ? { created: env.created } : {}),
      ...(env.system_fingerprint !== undefined ? { system_fingerprint: env.system_fingerprint } : {}),
      ...(env.service_tier !== undefined ? { service_tier: env.service_tier } : {}),
    };
    return { ...base, ...upstream, choices: [], usage: e.wireUsage ?? usageBody(e.usage) };
  }

  private pass(run: InferenceRun, chunk: WireObject): WireObject {
    this.wired = true;
    this.last = chunk;
    const out: WireObject = { ...chunk, id: this.id(run), model: run.model };
    // Our usage chunk comes last; a client that did not ask for usage gets none.
    if (!this.includeUsage) delete out.usage;
    else if (out.usage) out.usage = null;
    return out;
  }

  private id(run: InferenceRun): string {
    return `${this.prefix}-${run.id}`;
  }
}
