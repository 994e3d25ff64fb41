import { ApiError } from '../../common/errors/api-error';
import { ErrorCode } from '../../common/errors/error-code';
import type { LlmProvider } from '../provider.interface';
import type { ModelConfig } from './models-config';

/** A model in use: release it exactly once when the request is over (later calls are no-ops). */
export interface ModelLease {
  /** The canonical model id (aliases resolved). */
  readonly model: string;
  readonly provider: LlmProvider;
  /** `failed` leaves the latency average alone: a fast failure is not a fast model. */
  release(opts?: { failed?: boolean }): void;
}

/** Weight of the newest sample in the latency average. */
const EWMA_ALPHA = 0.2;

/**
 * One loaded (or failed) model: its provider, a count of leases in flight, and the latency
 * average. Retiring it (on reload or shutdown) closes the provider once the last lease is back,
 * so in-flight requests finish on the provider they started on.
 */
export class ModelEntry {
  readonly loadedAt = Date.now();
  private leases = 0;
  private retired = false;
  private closed: Promise<void> | undefined;
  private resolveDrained: (() => void) | undefined;
  private latency: number | null = null;

  private constructor(
    readonly config: ModelConfig,
    readonly provider: LlmProvider | undefined,
    readonly loadError: string | undefined,
    private readonly onCloseError: (id: string, err: unknown) => void,
  ) {}

  static ready(
    config: ModelConfig,
    provider: LlmProvider,
    onCloseError: (id: string, err: unknown) => void,
  ): ModelEntry {
    return new ModelEntry(config, provider, undefined, onCloseError);
  }

  static failed(config: ModelConfig, error: string): ModelEntry {
    return new ModelEntry(config, undefined, error, () => undefined);
  }

  get id(): string {
    return this.config.id;
  }

  get inflight(): number {
    return this.leases;
  }

  get latencyMs(): number | null {
    return this.latency;
  }

  get isRetired(): boolean {
    return this.retired;
  }

  acquire(): ModelLease {
    if (!this.provider) {
      throw new ApiError(
        ErrorCode.ModelUnavailable,
        `Model "${this.id}" is unavailable: it failed to load (${this.loadError})`,
      );
    }
    if (this.retired) {
      throw new ApiError(ErrorCode.ModelUnavailable, `Model "${this.id}" is being unloaded`);
    }
    const provider = this.provider;
    const started = performance.now();
    this.leases++;
    let released = false;
    return {
      model: this.id,
      provider,
      release: (opts) => {
        if (released) return;
        released = true;
        if (!opts?.failed) this.recordLatency(performance.now() - started);
        this.leases--;
        if (this.retired && this.leases === 0) this.resolveDrained?.();
      },
    };
  }

  recordLatency(ms: number): void {
    this.latency = this.latency === null ? ms : EWMA_ALPHA * ms + (1 - EWMA_ALPHA) * this.latency;
  }

  /** Stops lending; closes the provider once every lease is released. Resolves when closed. */
  retire(): Promise<void> {
    if (this.closed) return this.closed;
    this.retired = true;
    const drained =
      this.leases === 0 ? Promise.resolve() : new Promise<void>((resolve) => (this.resolveDrained = resolve));
    this.closed = drained.then(async () => {
      try {
        await this.provider?.close();
      } catch (err) {
        this.onCloseError(this.id, err);
      }
    });
    return this.closed;
  }
}
