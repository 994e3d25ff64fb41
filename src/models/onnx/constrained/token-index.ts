/**
 * A tokenizer's vocabulary as bytes, in a flat preorder byte trie: built once per tokenizer, it
 * lets a constraint walk every token that can continue a document and skip whole subtrees at
 * the first byte that cannot.
 */

interface TokenizerJson {
  model?: { vocab?: Record<string, number> | [string, number][]; byte_fallback?: boolean };
  decoder?: { type?: string; decoders?: { type?: string }[] } | null;
  added_tokens?: AddedToken[];
}

interface AddedToken {
  id: number;
  content: string;
  special?: boolean;
}

/**
 * A vocabulary as a loaded tokenizer holds it: each id's token text (as the vocabulary spells
 * it), the added tokens, and whether texts spell bytes GPT-2's byte-level way. Building from it
 * skips parsing tokenizer.json and listing a 150k-key object (a third of the build time).
 */
export interface VocabularyView {
  tokens: ArrayLike<string | undefined>;
  added: readonly AddedToken[];
  byteLevel: boolean;
}

/** The view of a parsed tokenizer.json. */
export function vocabularyOf(tj: TokenizerJson): VocabularyView {
  const vocab = tj.model?.vocab ?? {};
  const tokens: (string | undefined)[] = [];
  if (Array.isArray(vocab)) vocab.forEach(([t], i) => (tokens[i] = t));
  else for (const [t, id] of Object.entries(vocab)) tokens[id] = t;
  return { tokens, added: tj.added_tokens ?? [], byteLevel: isByteLevel(tj) };
}

export interface TokenIndex {
  /** Length of a mask: the model's vocabulary (logits), at least the tokenizer's ids. */
  readonly vocabSize: number;
  /** An id's bytes; undefined for special and unused ids (never allowed by a constraint). */
  bytesOf(id: number): Uint8Array | undefined;
  /**
   * Tokens whose bytes can appear inside a JSON string from its plain state (no quote, backslash
   * or control byte; UTF-8 well formed from a character boundary), by how many UTF-8
   * continuation bytes they leave pending at most: plainInString[k] has those leaving <= k.
   */
  readonly plainInString: readonly Uint8Array[];
  /** The trie of all other tokens (the ones a string state must inspect byte by byte). */
  readonly rest: ByteTrie;
  /** The trie of every token. */
  readonly all: ByteTrie;
  /** Whether every printable ASCII byte is a token of its own (then budget steering is exact). */
  readonly singleByteTokens: boolean;
}

/**
 * Preorder trie: node i has `byte[i]`, its depth `depth[i]` (1 = first byte), the token ids it
 * ends (`firstId[i]`, more in `moreIds` for tokens with identical bytes), and `end[i]`, the index
 * after its subtree. Walking it is a loop over i that jumps to end[i] when a byte is refused.
 */
export interface ByteTrie {
  readonly size: number;
  readonly byte: Uint8Array;
  readonly depth: Uint16Array;
  readonly firstId: Int32Array;
  readonly end: Int32Array;
  readonly moreIds: Map<number, number[]>;
}

const cache = new WeakMap<object, Map<number, TokenIndex>>();

/** The index for a parsed tokenizer.json (cached per object and model vocabulary size). */
export function tokenIndexFor(tokenizerJson: object, modelVocabSize = 0): TokenIndex {
  let byVocab = cache.get(tokenizerJson);
  if (!byVocab) cache.set(tokenizerJson, (byVocab = new Map()));
  let index = byVocab.get(modelVocabSize);
  if (!index) byVocab.set(modelVocabSize, (index = buildTokenIndex(tokenizerJson as TokenizerJson, modelVocabSize)));
  return index;
}

/** Builds the index here, on the calling thread (token-index-off-thread.ts builds it on another). */
export function buildTokenIndex(source: TokenizerJson | VocabularyView, modelVocabSize = 0): TokenIndex {
  return indexOf(buildTokenIndexData(source, modelVocabSize));
}

/**
 * An index as plain data (typed arrays and maps), which a worker can hand over without copying:
 * every id's bytes end to end in `keyBytes`, id i's ending at `keyEnds[i]` (none: empty).
 */
export interface TokenIndexData extends Omit<TokenIndex, 'bytesOf'> {
  readonly keyBytes: Uint8Array;
  readonly keyEnds: Int32Array;
}

export function indexOf(data: TokenIndexData): TokenIndex {
  const { keyBytes, keyEnds, vocabSize } = data;
  return {
    ...data,
    bytesOf: (id) => {
      if (!(id >= 0 && id < vocabSize)) return undefined;
      const start = id === 0 ? 0 : keyEnds[id - 1];
      return keyEnds[id] > start ? keyBytes.subarray(start, keyEnds[id]) : undefined;
    },
  };
}

/** The buffers of an index's data, to transfer rather than copy. */
export function buffersOf(data: TokenIndexData): ArrayBuffer[] {
  const arrays: ArrayBufferView[] = [data.keyBytes, data.keyEnds, ...data.plainInString];
  for (const t of [data.rest, data.all]) arrays.push(t.byte, t.depth, t.firstId, t.end);
  return [...new Set(arrays.map((a) => a.buffer as ArrayBuffer))];
}

/**
 * Builds the index's data. Token bytes are kept as "binary strings" (one char per byte) while
 * building: V8 sorts, hashes and compares those natively, far faster than Uint8Array comparators.
 */
export function buildTokenIndexData(source: TokenizerJson | VocabularyView, modelVocabSize = 0): TokenIndexData {
  const view = 'tokens' in source ? source : vocabularyOf(source);
  const toBinary = view.byteLevel ? byteLevelBinary() : sentencePieceBinary();
  let maxId = Math.max(modelVocabSize, view.tokens.length) - 1;
  for (const a of view.added) maxId = Math.max(maxId, a.id);
  const keys: (string | undefined)[] = new Array(maxId + 1);
  for (let id = 0; id < view.tokens.length; id++) {
    const text = view.tokens[id];
    if (text !== undefined) keys[id] = toBinary(text);
  }
  for (const a of view.added) keys[a.id] = a.special ? undefined : utf8Binary(a.content);
  const plainInString = [0, 1, 2, 3].map(() => new Uint8Array(maxId + 1));
  const isRest = new Uint8Array(maxId + 1);
  const singles = new Set<number>();
  for (let id = 0; id <= maxId; id++) {
    const k = keys[id];
    if (!k) continue;
    if (k.length === 1) singles.add(k.charCodeAt(0));
    const pending = plainStringPending(k);
    if (pending < 0) isRest[id] = 1;
    else for (let p = pending; p <= 3; p++) plainInString[p][id] = 1;
  }
  // One sort of the distinct keys serves both tries: the rest trie is the sorted list filtered.
  const idsOf = new Map<string, number[]>();
  for (let id = 0; id <= maxId; id++) {
    const k = keys[id];
    if (!k) continue;
    const list = idsOf.get(k);
    if (list) list.push(id);
    else idsOf.set(k, [id]);
  }
  const sorted = [...idsOf.keys()].sort();
  const restOf = new Map<string, number[]>();
  for (const [k, list] of idsOf) {
    const rest = list.filter((id) => isRest[id]);
    if (rest.length) restOf.set(k, rest);
  }
  let singleByteTokens = true;
  for (let b = 0x20; b < 0x7f; b++) if (!singles.has(b)) singleByteTokens = false;
  return {
    vocabSize: maxId + 1,
    ...packed(keys),
    plainInString,
    rest: buildTrie(
      sorted.filter((k) => restOf.has(k)),
      restOf,
    ),
    all: buildTrie(sorted, idsOf),
    singleByteTokens,
  };
}

function packed(keys: readonly (string | undefined)[]): { keyBytes: Uint8Array; keyEnds: Int32Array } {
  const keyEnds = new Int32Array(keys.length);
  let total = 0;
  for (let id = 0; id < keys.length; id++) keyEnds[id] = total += keys[id]?.length ?? 0;
  const keyBytes = new Uint8Array(total);
  let at = 0;
  for (const k of keys) if (k) for (let i = 0; i < k.length; i++) keyBytes[at++] = k.charCodeAt(i);
  return { keyBytes, keyEnds };
}

/** Whether a tokenizer.json's decoder is GPT-2's byte-level one. */
export function isByteLevel(tj: TokenizerJson): boolean {
  const d = tj.decoder;
  if (!d) return false;
  return d.type === 'ByteLevel' || (d.decoders ?? []).some((x) => x.type === 'ByteLevel');
}

/** GPT-2's bytes_to_unicode, inverted: the vocabulary spells each byte as one printable char. */
function byteLevelBinary(): (text: string) => string {
  const table: number[] = [];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    table[printable ? b : 256 + n++] = b;
  }
  const codes: number[] = [];
  return (text) => {
    codes.length = text.length;
    for (let i = 0; i < text.length; i++) {
      const b = table[text.charCodeAt(i)];
      if (b === undefined) return utf8Binary(text); // not byte-level spelled (rare added tokens)
      codes[i] = b;
    }
    return String.fromCharCode.apply(null, codes);
  };
}

/** SentencePiece style: ▁ is a space, <0xAB> is one byte. */
function sentencePieceBinary(): (text: string) => string {
  return (text) => {
    const m = /^<0x([0-9A-Fa-f]{2})>$/.exec(text);
    if (m) return String.fromCharCode(parseInt(m[1], 16));
    return utf8Binary(text.replace(/▁/g, ' '));
  };
}

const utf8Binary = (text: string): string => Buffer.from(text, 'utf8').toString('latin1');

/**
 * Continuation bytes left pending after `b` read inside a string from a character boundary; -1
 * when `b` has a quote, backslash or control byte, or malformed UTF-8.
 */
export function plainStringPending(b: string): number {
  let pending = 0;
  for (let i = 0; i < b.length; i++) {
    const x = b.charCodeAt(i);
    if (pending > 0) {
      if (x < 0x80 || x > 0xbf) return -1;
      pending--;
      continue;
    }
    if (x < 0x20 || x === 0x22 || x === 0x5c || x === 0x7f) return -1;
    const need = utf8Continuations(x);
    if (need < 0) return -1;
    pending = need;
  }
  return pending;
}

/** Continuation bytes a UTF-8 byte starts (0 for ASCII), -1 when it cannot start a character. */
export function utf8Continuations(x: number): number {
  if (x < 0x80) return 0;
  if (x >= 0xc2 && x <= 0xdf) return 1;
  if (x >= 0xe0 && x <= 0xef) return 2;
  if (x >= 0xf0 && x <= 0xf4) return 3;
  return -1;
}

/** The trie of `sorted` (distinct keys in code-unit order), each key's node listing `idsOf` its ids. */
function buildTrie(sorted: readonly string[], idsOf: ReadonlyMap<string, number[]>): ByteTrie {
  let total = 0;
  for (const k of sorted) total += k.length;
  const byte = new Uint8Array(total);
  const depth = new Uint16Array(total);
  const firstId = new Int32Array(total).fill(-1);
  const end = new Int32Array(total);
  const moreIds = new Map<number, number[]>();
  const path: number[] = []; // node index at each depth (0-based) of the current branch
  let size = 0;
  let prev = '';
  for (const k of sorted) {
    let common = 0;
    while (common < k.length && common < prev.length && k.charCodeAt(common) === prev.charCodeAt(common)) common++;
    // Close the nodes of the previous branch below the shared prefix.
    while (path.length > common) end[path.pop()!] = size;
    for (let d = common; d < k.length; d++) {
      byte[size] = k.charCodeAt(d);
      depth[size] = d + 1;
      path.push(size++);
    }
    const list = idsOf.get(k)!;
    const last = path[k.length - 1];
    firstId[last] = list[0];
    if (list.length > 1) moreIds.set(last, list.slice(1));
    prev = k;
  }
  while (path.length) end[path.pop()!] = size;
  return {
    size,
    byte: byte.subarray(0, size),
    depth: depth.subarray(0, size),
    firstId: firstId.subarray(0, size),
    end: end.subarray(0, size),
    moreIds,
  };
}
