/**
 * Constrained decoding for JSON: `compileJsonConstraint(format, index)` once per request shape
 * (compiled schemas are cached), then one `ConstraintState` per sequence. Each step
 * `allowed(remaining)` gives the tokens that keep the document valid and still let it close
 * within the remaining budget; `advance(id)` takes the sampled one.
 */
import { dedupe, expand, isPlainString, startStacks, stepTop, type Stack } from './json-automaton';
import { compileSchemaNodes, UnsupportedSchemaError, type SchemaNode } from './schema-nodes';
import type { ByteTrie, TokenIndex } from './token-index';

/** `response_format` as the API carries it (the `text` type needs no constraint). */
export type JsonResponseFormat =
  | { type: 'json_object' }
  | { type: 'json_schema'; json_schema: { schema?: unknown; name?: string; strict?: boolean | null } };

/** max_tokens below the shortest valid document (400 before any work). */
export class BudgetTooSmallError extends Error {
  constructor(
    readonly needed: number,
    readonly maxTokens: number,
  ) {
    super(
      `max_tokens ${maxTokens} is too small for the response format: the shortest valid document needs ${needed} tokens`,
    );
    this.name = 'BudgetTooSmallError';
  }
}

export { UnsupportedSchemaError };

const ANY_OBJECT_ROOT: SchemaNode = { kind: 'anyObject' };
const nodeCache = new Map<string, SchemaNode>();
const NODE_CACHE_SIZE = 128;

/** Schema nodes for a response format; the last 128 distinct schemas stay compiled (LRU). */
export function schemaNodesFor(format: JsonResponseFormat): SchemaNode {
  if (format.type === 'json_object') return ANY_OBJECT_ROOT;
  const schema = format.json_schema?.schema ?? {};
  const key = JSON.stringify(schema);
  const hit = nodeCache.get(key);
  if (hit) {
    nodeCache.delete(key);
    nodeCache.set(key, hit);
    return hit;
  }
  const nodes = compileSchemaNodes(schema);
  nodeCache.set(key, nodes);
  if (nodeCache.size > NODE_CACHE_SIZE) nodeCache.delete(nodeCache.keys().next().value!);
  return nodes;
}

export class JsonConstraint {
  constructor(
    readonly root: SchemaNode,
    readonly index: TokenIndex,
  ) {}

  start(): ConstraintState {
    return new ConstraintState(this.index, dedupe(startStacks(this.root)));
  }

  /** Tokens of the shortest valid document (one byte per token, see docs). */
  minTokens(): number {
    return this.start().minTokensToFinish();
  }

  /** Throws BudgetTooSmallError when `maxTokens` cannot hold the shortest valid document. */
  checkBudget(maxTokens: number): void {
    const needed = this.minTokens();
    if (needed > maxTokens) throw new BudgetTooSmallError(needed, maxTokens);
  }
}

export function compileJsonConstraint(format: JsonResponseFormat, index: TokenIndex): JsonConstraint {
  return new JsonConstraint(schemaNodesFor(format), index);
}

/** One sequence's position in the document. */
export class ConstraintState {
  private mask: Uint8Array;

  constructor(
    private readonly index: TokenIndex,
    private stacks: Stack[],
  ) {
    this.mask = new Uint8Array(index.vocabSize);
  }

  /** The document so far is complete and valid (EOS may end it here). */
  isComplete(): boolean {
    return this.stacks.includes(null);
  }

  /** Some byte can still extend the document. */
  canContinue(): boolean {
    return this.stacks.some((s) => s !== null);
  }

  /** Fewest tokens that complete the document from here (0 when complete). */
  minTokensToFinish(): number {
    return minCost(this.stacks);
  }

  /**
   * 1 for each token id that continues a valid document which can still be completed in
   * `remaining - 1` further tokens; `eosIds` are allowed when the document is complete. The
   * array is reused by the next call.
   */
  allowed(remaining = Infinity, eosIds: Iterable<number> = []): Uint8Array {
    const mask = this.mask;
    mask.fill(0);
    const budget = remaining - 1;
    const slack = budget - minCost(this.stacks);
    if (this.stacks.every(isPlainString)) {
      // Inside a string a plain token keeps the stack, adding the UTF-8 bytes it leaves pending:
      // allowed while that fits the slack, never when the budget says the string must close now.
      if (slack >= 0) mask.set(this.index.plainInString[Math.min(slack, 3)].subarray(0, mask.length));
      walk(this.index.rest, this.stacks, budget, mask);
    } else {
      walk(this.index.all, this.stacks, budget, mask);
    }
    if (this.isComplete()) for (const id of eosIds) if (id < mask.length) mask[id] = 1;
    return mask;
  }

  /** Takes a generated token; throws if it cannot continue the document (a caller bug). */
  advance(id: number): void {
    const bytes = this.index.bytesOf(id);
    let stacks = this.stacks;
    if (!bytes) throw new Error(`token ${id} cannot appear in a constrained document`);
    for (const b of bytes) {
      // Deduplicated per committed byte; the walk in allowed() skips it (one token cannot grow a set much).
      stacks = dedupe(stepSet(stacks, b));
      if (stacks.length === 0) throw new Error(`token ${id} does not continue the document`);
    }
    this.stacks = stacks;
  }
}

/** Read once: a global lookup per trie node is slow where globals are proxied (jest's sandbox). */
const UNREACHABLE = Infinity;

function minCost(stacks: Stack[]): number {
  let best = UNREACHABLE;
  for (const s of stacks) {
    const c = s === null ? 0 : s.cost;
    if (c < best) best = c;
  }
  return best;
}

function stepSet(stacks: Stack[], byte: number): Stack[] {
  const out: Stack[] = [];
  for (const s of stacks) {
    if (s === null) continue;
    const next = stepTop(s, byte);
    if (next !== undefined) expand(next, out);
  }
  return out;
}

/** Preorder walk of the trie, skipping a subtree at the first refused byte. */
function walk(trie: ByteTrie, start: Stack[], budget: number, mask: Uint8Array): void {
  const sets: Stack[][] = [start];
  const { byte, depth, firstId, end, moreIds } = trie;
  for (let i = 0; i < trie.size;) {
    const d = depth[i];
    const cur = sets[d - 1];
    const x = byte[i];
    // A plain character inside a string leaves a lone string stack as it is: no allocation.
    const next =
      cur.length === 1 && x >= 0x20 && x < 0x7f && x !== 0x22 && x !== 0x5c && isPlainString(cur[0])
        ? cur
        : stepSet(cur, x);
    if (next.length === 0) {
      i = end[i];
      continue;
    }
    sets[d] = next;
    const id = firstId[i];
    if (id >= 0 && minCost(next) <= budget) {
      if (id < mask.length) mask[id] = 1;
      const more = moreIds.get(i);
      if (more) for (const m of more) if (m < mask.length) mask[m] = 1;
    }
    i++;
  }
}
