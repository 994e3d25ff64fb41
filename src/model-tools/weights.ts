/**
 * Seeded, platform-independent weight generation. Each tensor gets its own stream derived from
 * (seed, tensor name), so the bytes do not depend on the order tensors are generated in, and
 * values are uniform (no Math.log/cos), so they are bit-identical on every machine.
 */

/** FNV-1a over the UTF-16 code units of a string, mixed with the seed. */
function hashName(seed: number, name: string): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** sfc32: small, fast, good statistical quality; state is four 32-bit words. */
export function sfc32(a: number, b: number, c: number, d: number): () => number {
  return () => {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
}

export function streamFor(seed: number, name: string): () => number {
  const h = hashName(seed, name);
  const next = sfc32(0x9e3779b9, h, seed >>> 0, 0x243f6a88 ^ h);
  for (let i = 0; i < 12; i++) next(); // warm up: the first outputs of sfc32 are correlated with the seed
  return next;
}

/** Uniform values with mean `mean` and standard deviation `std`. */
export function uniformTensor(seed: number, name: string, size: number, std: number, mean = 0): Float32Array {
  const next = streamFor(seed, name);
  const half = std * Math.sqrt(3); // a uniform on [-h, h] has std h/sqrt(3)
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = mean + (2 * next() - 1) * half;
  return out;
}
