import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEncoderProvider } from '../../models/encoder/encoder.provider';
import { BUNDLED_ENCODER_SPEC, ensureBundledEncoder } from './bundled-encoder';

describe(ensureBundledEncoder.name, () => {
  let root: string;
  beforeEach(() => (root = mkdtempSync(join(tmpdir(), 'llm-server-bundled-encoder-'))));
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('builds a loadable encoder once, with the same bytes every time, and leaves a complete one alone', async () => {
    const dir = join(root, 'embed');
    expect(await ensureBundledEncoder(dir)).toBe(true);
    expect(await ensureBundledEncoder(dir)).toBe(false);
    const again = join(root, 'again');
    await ensureBundledEncoder(again);
    expect(readFileSync(join(again, 'onnx', 'model.onnx')).equals(readFileSync(join(dir, 'onnx', 'model.onnx')))).toBe(
      true,
    );
    const provider = await createEncoderProvider({ id: 'embed', path: dir, threads: 1 });
    try {
      expect(provider.contextLength).toBe(BUNDLED_ENCODER_SPEC.maxPositions);
      const [v] = (await provider.embed({
        rows: provider.prepare(['hello'], {}).rows,
        encodingFormat: 'float',
      })) as number[][];
      expect(v).toHaveLength(BUNDLED_ENCODER_SPEC.hidden!);
      expect(Math.hypot(...v)).toBeCloseTo(1, 5);
    } finally {
      await provider.close();
    }
  });
});
