import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { ModelLoadError } from './errors';
import { analyzeGraph } from './graph-edit';
import { disableOrtTelemetry } from './ort-telemetry';

export type Device = 'cpu' | 'coreml' | 'mps' | 'cuda';
export type EffectiveDevice = 'cpu' | 'coreml' | 'cuda';

/** Minimal logger: Nest's Logger and pino both fit. */
export interface EngineLogger {
  warn(message: string): void;
  log?(message: string): void;
}

const EXECUTION_PROVIDER: Record<Device, EffectiveDevice> = {
  cpu: 'cpu',
  coreml: 'coreml',
  mps: 'coreml',
  cuda: 'cuda',
};

/** Devices already warned about: one warning per process, however many models fall back. */
const warnedFallbacks = new Set<EffectiveDevice>();

export interface SessionOptions {
  device: Device;
  threads?: number;
  /** Let idle intra-op threads spin between ops (onnxruntime's default); off is kinder to a shared box. */
  spinWait?: boolean;
  logger?: EngineLogger;
  /** Folder of the graph's external data files, needed when the graph is passed as bytes. */
  externalDataFolder?: string;
}

export interface CreatedSession {
  session: ort.InferenceSession;
  device: EffectiveDevice;
}

/**
 * Opens the graph on the requested execution provider. A provider this build or machine lacks
 * falls back to CPU (with one warning) rather than taking the model down.
 */
export async function createSession(
  source: string | Uint8Array,
  file: string,
  opts: SessionOptions,
): Promise<CreatedSession> {
  const wanted = EXECUTION_PROVIDER[opts.device];
  if (!wanted) throw new ModelLoadError(file, `unknown device "${String(opts.device)}" (cpu, coreml, mps, cuda)`);
  if (wanted !== 'cpu') {
    const missing = missingProvider(wanted);
    try {
      if (missing) throw new Error(missing);
      return { session: await open(source, wanted, opts), device: wanted };
    } catch (err) {
      if (!warnedFallbacks.has(wanted)) {
        warnedFallbacks.add(wanted);
        opts.logger?.warn(`execution provider "${wanted}" is unavailable (${firstLine(err)}); running on cpu`);
      }
    }
  }
  try {
    return { session: await open(source, 'cpu', opts), device: 'cpu' };
  } catch (err) {
    throw new ModelLoadError(file, `onnxruntime cannot load the graph: ${firstLine(err)}`);
  }
}

/**
 * Opens a graph file with its inline weights memory-mapped from the file (graph-edit.ts,
 * mapInlineWeights) instead of copied into onnxruntime's heap, no other edit: for graphs the
 * runner does not edit (encoders). A runtime refusing the mapping gets the file as exported.
 */
export async function createMappedSession(
  file: string,
  opts: SessionOptions,
): Promise<CreatedSession & { mappedWeights: number }> {
  const identity = fileIdentity(file);
  let mapped: ReturnType<typeof analyzeGraph> | null = null;
  try {
    mapped = analyzeGraph(readFileSync(file), false, basename(file));
  } catch {
    // unreadable or not a graph this parser understands: onnxruntime reports on the file itself
  }
  if (mapped?.edited && mapped.mappedWeights) {
    const created = await createSession(mapped.edited.bytes, file, {
      ...opts,
      externalDataFolder: dirname(file),
    }).catch((err: unknown) => {
      opts.logger?.warn(`${file}: ${(err as Error).message}; loading the graph as exported`);
      return null;
    });
    if (created && fileIdentity(file) !== identity) {
      // Offsets were taken from the file as read: a file replaced meanwhile maps other bytes.
      await created.session.release();
      throw new ModelLoadError(file, 'the graph file changed while loading; load it again');
    }
    if (created) return { ...created, mappedWeights: mapped.mappedWeights };
  }
  return { ...(await createSession(file, file, opts)), mappedWeights: 0 };
}

/** Inode, size and mtime: whether the file read is still the one onnxruntime maps. */
export function fileIdentity(file: string): string {
  try {
    const st = statSync(file);
    return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
  } catch {
    return '';
  }
}

function open(source: string | Uint8Array, ep: EffectiveDevice, opts: SessionOptions): Promise<ort.InferenceSession> {
  const options: ort.InferenceSession.SessionOptions = {
    executionProviders: [ep],
    graphOptimizationLevel: 'all',
    // Inter-op parallelism only helps branchy graphs; a decoder is one chain of ops.
    executionMode: 'sequential',
    ...(opts.threads ? { intraOpNumThreads: opts.threads, interOpNumThreads: 1 } : {}),
    extra: {
      session: {
        ...(opts.spinWait === false ? { intra_op: { allow_spinning: '0' } } : {}),
        ...(opts.externalDataFolder ? { model_external_initializers_file_folder_path: opts.externalDataFolder } : {}),
      },
    },
    logSeverityLevel: 3,
  };
  disableOrtTelemetry();
  return typeof source === 'string'
    ? ort.InferenceSession.create(source, options)
    : ort.InferenceSession.create(source, options);
}

/**
 * Why an execution provider certainly cannot load here, checked up front: trying anyway makes
 * onnxruntime print a native error to stderr before we can fall back quietly.
 */
function missingProvider(ep: EffectiveDevice): string | null {
  if (ep === 'coreml') return process.platform === 'darwin' ? null : `CoreML needs macOS, this is ${process.platform}`;
  if (ep === 'cuda') {
    const lib = process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so';
    const binDir = join(
      dirname(require.resolve('onnxruntime-node')),
      '..',
      'bin',
      'napi-v6',
      process.platform,
      process.arch,
    );
    return existsSync(join(binDir, lib)) ? null : `${lib} is not installed beside onnxruntime-node`;
  }
  return null;
}

function firstLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n')[0];
}

/** For tests: forget which fallbacks were already announced. */
export function resetFallbackWarnings(): void {
  warnedFallbacks.clear();
}
