/**
 * Live engine signals for metrics. Every hook is optional and cheap to call; the metrics module
 * wires them to counters and gauges. A throwing hook is ignored rather than breaking decoding.
 */
export interface EngineHooks {
  /** Rows in each decode forward pass (the live batch size). */
  onBatch?(size: number): void;
  /** Requests waiting for a batch slot, whenever that changes. */
  onQueueDepth?(queued: number): void;
  /** Requests holding a batch slot, whenever that changes. */
  onInflight?(inflight: number): void;
  /** Milliseconds from submission to the first generated token. */
  onFirstToken?(ms: number): void;
  /** One generated token. */
  onToken?(): void;
}

export interface EngineStats {
  inflight: number;
  queued: number;
  lastBatchSize: number;
}

export function callHook<A extends unknown[]>(hook: ((...args: A) => void) | undefined, ...args: A): void {
  if (!hook) return;
  try {
    hook(...args);
  } catch {
    // metrics must never take generation down
  }
}
