/**
 * onnxruntime-node's Linux build carries Microsoft's usage telemetry: the first session of a
 * process starts it, which leaves /tmp/mat-debug-<pid>.log behind and may send usage events. A
 * self-hosted server should do neither, so it is off unless the operator set the variable.
 * onnxruntime reads ORT_DISABLE_TELEMETRY when it creates its environment, at the first session
 * (docs/engine.md).
 */
export function disableOrtTelemetry(): void {
  process.env.ORT_DISABLE_TELEMETRY ??= '1';
}
