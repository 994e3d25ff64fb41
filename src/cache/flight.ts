import type { StreamEvent } from '../models/provider.interface';
import type { ComputeFn } from './cache-request';
import { answerOf, type CachedAnswer } from './cached-entry';
import type { CacheTier } from './cache-stats';

export type FlightStatus = 'open' | 'done' | 'failed' | 'ended';
export type FlightResolution = { source: 'hit'; tier: CacheTier } | { source: 'miss' };

const END: IteratorResult<StreamEvent> = Object.freeze({ done: true, value: undefined });

/**
 * One answer being produced (looked up or computed) for every identical request that joins it.
 * Events are buffered so late joiners get what was produced so far, then live events. The
 * producer is aborted only when the last consumer leaves before the end.
 */
export class Flight {
  readonly buffer: StreamEvent[] = [];
  status: FlightStatus = 'open';
  error: unknown;
  /** True once every consumer left before the end: the producer must stop and store nothing. */
  abandoned = false;
  private readonly controller = new AbortController();
  private consumers = 0;
  private wake?: () => void;
  private changed?: Promise<void>;
  private resolveDecided!: (r: FlightResolution) => void;
  private isDecided = false;
  /** How the first request is answered: a cache hit, or a miss computed here. */
  readonly decided = new Promise<FlightResolution>((r) => (this.resolveDecided = r));

  constructor(private readonly onAbandon: (flight: Flight) => void) {}

  /** Aborted when no consumer remains: what the compute function receives. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Still worth joining: not failed and not abandoned (it is removed from the map right after). */
  get joinable(): boolean {
    return this.status !== 'failed' && !this.abandoned;
  }

  attach(clientSignal?: AbortSignal): FlightReader {
    this.consumers++;
    return new FlightReader(this, clientSignal);
  }

  decide(r: FlightResolution): void {
    if (this.isDecided) return;
    this.isDecided = true;
    this.resolveDecided(r);
  }

  push(e: StreamEvent): void {
    if (this.status !== 'open') return;
    this.buffer.push(e);
    this.notify();
  }

  /** Ends with status `done` (a complete answer), `ended` (cut without `done`) or `failed`. */
  finish(status: Exclude<FlightStatus, 'open'>, error?: unknown): void {
    if (this.status !== 'open') return;
    this.status = status;
    this.error = error;
    this.decide({ source: 'miss' });
    this.notify();
  }

  /** Resolves at the next event or status change. */
  next(): Promise<void> {
    return (this.changed ??= new Promise((r) => (this.wake = r)));
  }

  notify(): void {
    const wake = this.wake;
    this.changed = this.wake = undefined;
    wake?.();
  }

  detach(): void {
    if (--this.consumers > 0 || this.status !== 'open' || this.abandoned) return;
    this.abandoned = true;
    this.controller.abort(new Error('every consumer of this completion went away'));
    this.onAbandon(this);
  }
}

/** One consumer's view of a flight: its own cursor into the shared buffer. */
export class FlightReader implements AsyncIterableIterator<StreamEvent> {
  private i = 0;
  private closed = false;
  private readonly onAbort?: () => void;

  constructor(
    private readonly flight: Flight,
    private readonly signal?: AbortSignal,
  ) {
    if (signal) {
      this.onAbort = () => {
        this.close();
        flight.notify();
      };
      if (signal.aborted) queueMicrotask(this.onAbort);
      else signal.addEventListener('abort', this.onAbort, { once: true });
    }
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<StreamEvent>> {
    const f = this.flight;
    for (;;) {
      if (this.signal?.aborted) {
        this.close();
        throw this.signal.reason;
      }
      if (this.closed) return END;
      if (this.i < f.buffer.length) return { value: f.buffer[this.i++], done: false };
      if (f.status === 'failed') {
        this.close();
        throw f.error;
      }
      if (f.status !== 'open') {
        this.close();
        return END;
      }
      await f.next();
    }
  }

  /** The consumer stopped early (client went away, or it read `done` and broke out). */
  async return(): Promise<IteratorResult<StreamEvent>> {
    this.close();
    return END;
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.onAbort) this.signal?.removeEventListener('abort', this.onAbort);
    this.flight.detach();
  }
}

/** Drives the computation, fanning its events out to every consumer; the answer when complete. */
export async function pump(
  flight: Flight,
  compute: ComputeFn,
): Promise<{ answer: CachedAnswer; store: boolean } | undefined> {
  let store = true;
  try {
    const it = compute(flight.signal, { doNotStore: () => (store = false) })[Symbol.asyncIterator]();
    for (;;) {
      const r = await it.next();
      if (r.done) return void flight.finish('ended');
      if (flight.abandoned) {
        flight.finish('ended');
        await it.return?.().catch(() => undefined);
        return undefined;
      }
      flight.push(r.value);
      if (r.value.type === 'done') {
        flight.finish('done');
        // Let the source end by itself: a return() now would read as a cancellation upstream.
        it.next()
          .then(
            (x) => (x.done ? undefined : it.return?.()),
            () => undefined,
          )
          .catch(() => undefined);
        return { answer: answerOf(flight.buffer, r.value), store };
      }
    }
  } catch (err) {
    flight.finish('failed', err);
    return undefined;
  }
}
