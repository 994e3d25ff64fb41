import { Tokenizer } from '@huggingface/tokenizers';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { onnx } from 'onnx-proto';
import { join, relative } from 'node:path';
import { buildModel } from './build-model';
import { loadModelProto } from './onnx/tensor-io';
import { OrtDecoder } from './ort-decoder';
import { ARCHITECTURES, type BuildModelOptions } from './spec';

const root = mkdtempSync(join(tmpdir(), 'model-tools-build-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const readJson = (dir: string, f: string) => JSON.parse(readFileSync(join(dir, f), 'utf8'));

function hashes(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else out[relative(dir, p)] = createHash('sha256').update(readFileSync(p)).digest('hex');
    }
  };
  walk(dir);
  return out;
}

const tiny: Partial<BuildModelOptions> = { layers: 2, hidden: 32, heads: 4 };

describe('buildModel', () => {
  it('writes the same bytes for the same options, and different weights for another seed', async () => {
    const a = join(root, 'det-a');
    const b = join(root, 'det-b');
    const c = join(root, 'det-c');
    await buildModel({ outDir: a, arch: 'gpt2', vocab: 'gpt2', ...tiny });
    await buildModel({ outDir: b, arch: 'gpt2', vocab: 'gpt2', ...tiny });
    await buildModel({ outDir: c, arch: 'gpt2', vocab: 'gpt2', ...tiny, seed: 99 });
    const ha = hashes(a);
    expect(Object.keys(ha).sort()).toEqual([
      'config.json',
      'generation_config.json',
      'onnx/model.onnx',
      'special_tokens_map.json',
      'tokenizer.json',
      'tokenizer_config.json',
    ]);
    expect(hashes(b)).toEqual(ha);
    const hc = hashes(c);
    expect(hc['onnx/model.onnx']).not.toBe(ha['onnx/model.onnx']);
    expect(hc['tokenizer.json']).toBe(ha['tokenizer.json']);
  });

  it.each(ARCHITECTURES)('writes a %s config.json with the fields HF configs carry', async (arch) => {
    const dir = join(root, `cfg-${arch}`);
    await buildModel({ outDir: dir, arch, ...tiny, heads: 4, kvHeads: 2 });
    const cfg = readJson(dir, 'config.json');
    expect(cfg.model_type).toBe(arch);
    expect(cfg).toMatchObject({
      vocab_size: 259,
      hidden_size: 32,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      bos_token_id: 256,
      eos_token_id: 258,
    });
    expect(cfg.architectures).toHaveLength(1);
    if (arch === 'gpt2') {
      expect(cfg).toMatchObject({
        n_embd: 32,
        n_layer: 2,
        n_head: 4,
        n_positions: 1024,
        num_key_value_heads: 4,
        layer_norm_epsilon: 1e-5,
      });
    } else {
      expect(cfg).toMatchObject({
        num_key_value_heads: 2,
        head_dim: 8,
        rope_theta: 10000,
        rms_norm_eps: 1e-6,
        max_position_embeddings: 2048,
      });
      expect(cfg.intermediate_size).toBeGreaterThan(32);
    }
    expect(readJson(dir, 'generation_config.json').eos_token_id).toEqual([258, 256]);
    const tc = readJson(dir, 'tokenizer_config.json');
    expect(tc.chat_template).toContain('<|im_start|>');
    expect(tc.eos_token).toBe('<|im_end|>');
  });

  it('declares the Optimum decoder interface in an IR 8 / opset 17 file', async () => {
    const dir = join(root, 'iface');
    await buildModel({ outDir: dir, arch: 'llama', ...tiny, kvHeads: 2 });
    const m = loadModelProto(join(dir, 'onnx/model.onnx'));
    const graph = m.graph as onnx.GraphProto;
    expect(Number(m.irVersion)).toBe(8);
    expect(m.opsetImport.map((o) => [o.domain, Number(o.version)])).toEqual([['', 17]]);
    const dims = (vi: onnx.IValueInfoProto) =>
      vi.type?.tensorType?.shape?.dim?.map((d) => d.dimParam || Number(d.dimValue));
    const inputs = Object.fromEntries(graph.input.map((i) => [i.name, dims(i)]));
    expect(inputs).toEqual({
      input_ids: ['batch_size', 'sequence_length'],
      attention_mask: ['batch_size', 'past_sequence_length + sequence_length'],
      position_ids: ['batch_size', 'sequence_length'],
      'past_key_values.0.key': ['batch_size', 2, 'past_sequence_length', 8],
      'past_key_values.0.value': ['batch_size', 2, 'past_sequence_length', 8],
      'past_key_values.1.key': ['batch_size', 2, 'past_sequence_length', 8],
      'past_key_values.1.value': ['batch_size', 2, 'past_sequence_length', 8],
    });
    expect(graph.output.map((o) => o.name)).toEqual([
      'logits',
      'present.0.key',
      'present.0.value',
      'present.1.key',
      'present.1.value',
    ]);
    expect(dims(graph.output[0])).toEqual(['batch_size', 'sequence_length', 259]);
  });

  it('leaves position_ids out and uses the legacy file name when asked', async () => {
    const dir = join(root, 'legacy');
    await buildModel({ outDir: dir, arch: 'gpt2', ...tiny, positionIds: false, legacyName: true });
    expect(existsSync(join(dir, 'onnx/model.onnx'))).toBe(false);
    const dec = await OrtDecoder.load(join(dir, 'onnx/decoder_model_merged.onnx'));
    expect(dec.hasPositionIds).toBe(false);
    expect(dec.session.inputNames).toHaveLength(2 + 4);
    await dec.release();
  });

  it('builds a model with the real GPT-2 vocabulary that runs on tokenized text', async () => {
    const dir = join(root, 'gpt2vocab');
    const spec = await buildModel({ outDir: dir, arch: 'llama', vocab: 'gpt2', ...tiny });
    expect(spec.vocabSize).toBe(50259);
    const tok = new Tokenizer(readJson(dir, 'tokenizer.json'), readJson(dir, 'tokenizer_config.json'));
    const ids = tok.encode('<|im_start|>user\nHello world<|im_end|>', { add_special_tokens: false }).ids;
    expect(ids).toEqual([50257, 7220, 198, 15496, 995, 50258]);
    const dec = await OrtDecoder.load(join(dir, 'onnx/model.onnx'));
    const r = await dec.forward([ids], [ids.map(() => 1)]);
    expect(r.dims).toEqual([1, ids.length, 50259]);
    const out = await dec.greedy(ids, 8);
    expect(tok.decode(out).length).toBeGreaterThan(0);
    await dec.release();
  });

  it('refuses inconsistent sizes with a clear message', async () => {
    await expect(buildModel({ outDir: join(root, 'bad1'), hidden: 30, heads: 4 })).rejects.toThrow(/multiple of heads/);
    await expect(buildModel({ outDir: join(root, 'bad2'), heads: 4, kvHeads: 3 })).rejects.toThrow(
      /multiple of kvHeads/,
    );
    await expect(buildModel({ outDir: join(root, 'bad3'), arch: 'gptx' as never })).rejects.toThrow(/unknown arch/);
    expect(existsSync(join(root, 'bad1'))).toBe(false);
  });
});
