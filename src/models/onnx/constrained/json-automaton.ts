/**
 * A byte-level pushdown automaton for JSON documents of a compiled schema. A state is a set of
 * immutable stacks (alternatives while anyOf / optional properties are undecided); stepping a
 * byte never mutates, so a mask computation can branch from one state into every token.
 * Each frame caches `cost`: the fewest bytes that finish its stack, the budget-steering figure.
 */
import { minBytes, type SchemaNode } from './schema-nodes';
import { utf8Continuations } from './token-index';

const enum K {
  Lit, // match lit[a..]
  Str, // inside a string: a = pending escape bytes (-1 right after a backslash), b = pending UTF-8 continuations
  Num, // a = phase, b = 1 for integers | digits in the current part << 1
  Opt, // an optional byte a (one space after ':' and ',')
  Value, // a value of `node`, not started
  ObjBody, // schema object after '{' or a property: a = next property index, b = 1 before the first
  ArrBody, // after '[' or an item: b = 1 before the first item
  AnyObjBody, // generic object body: b = 1 before the first member
}

export class Frame {
  readonly cost: number;
  constructor(
    readonly kind: K,
    readonly parent: Frame | null,
    readonly a: number,
    readonly b: number,
    readonly node: SchemaNode | null,
    readonly lit: Uint8Array | null,
  ) {
    this.cost = ownCost(this) + (parent ? parent.cost : 0);
  }
}

/** A stack; null is the empty stack: the document is complete. */
export type Stack = Frame | null;

const ANY: SchemaNode = { kind: 'any' };
const ANY_OBJECT: SchemaNode = { kind: 'anyObject' };
const ANY_ARRAY: SchemaNode = { kind: 'array', items: ANY };
const STRING: SchemaNode = { kind: 'string' };
const bytesOf = (s: string): Uint8Array => new TextEncoder().encode(s);
const LIT = {
  quote: bytesOf('"'),
  openObj: bytesOf('{'),
  closeObj: bytesOf('}'),
  openArr: bytesOf('['),
  closeArr: bytesOf(']'),
  comma: bytesOf(','),
  colon: bytesOf(':'),
  true: bytesOf('true'),
  false: bytesOf('false'),
  null: bytesOf('null'),
};
const SPACE = 0x20;
const SEP = bytesOf(',');

/** Numbers: -?(0|[1-9]\d{0,14})(\.\d{1,15})?([eE][+-]?\d{1,3})?; integers stop before '.'. */
const enum P {
  Start,
  Minus,
  Zero,
  Int,
  Dot,
  Frac,
  E,
  ESign,
  Exp,
}
const MAX_DIGITS = 15;
const MAX_EXP_DIGITS = 3;
const numberDone = (phase: number): boolean =>
  phase === P.Zero || phase === P.Int || phase === P.Frac || phase === P.Exp;

function nodeCost(n: SchemaNode): number {
  if (n.kind === 'any') return 1; // 0
  if (n.kind === 'anyObject') return 2;
  return minBytes.get(n) ?? 2;
}

function ownCost(f: Frame): number {
  switch (f.kind) {
    case K.Lit:
      return f.lit!.length - f.a;
    case K.Str:
      return 1 + (f.a < 0 ? 1 : f.a) + f.b;
    case K.Num:
      return numberDone(f.a) ? 0 : 1;
    case K.Opt:
      return 0;
    case K.Value:
      return nodeCost(f.node!);
    case K.ObjBody: {
      const n = f.node as Extract<SchemaNode, { kind: 'object' }>;
      return n.suffixCost[f.a] - (f.b && n.suffixCost[f.a] > 0 ? 1 : 0) + 1;
    }
    case K.ArrBody:
    case K.AnyObjBody:
      return 1;
  }
}

const frame = (
  kind: K,
  parent: Stack,
  a: number,
  b: number,
  node: SchemaNode | null = null,
  lit: Uint8Array | null = null,
): Frame => new Frame(kind, parent, a, b, node, lit);
const lit = (parent: Stack, bytes: Uint8Array): Frame => frame(K.Lit, parent, 0, 0, null, bytes);
const value = (parent: Stack, node: SchemaNode): Frame => frame(K.Value, parent, 0, 0, node);

/** Inside a string, between characters: every plain token keeps this stack as it is. */
export const isPlainString = (s: Stack): boolean => s !== null && s.kind === K.Str && s.a === 0 && s.b === 0;

/** The start state for a schema's root node. */
export function startStacks(root: SchemaNode): Stack[] {
  return expand(value(null, root), []);
}

/**
 * Rewrites a stack until its top consumes bytes (Lit, Str, Num, Opt) and appends every
 * alternative to `out`; frames that may end without a byte (a finished number, an optional
 * space) also contribute their parent's alternatives.
 */
export function expand(s: Stack, out: Stack[]): Stack[] {
  if (s === null) {
    out.push(null);
    return out;
  }
  switch (s.kind) {
    case K.Lit:
      if (s.a >= s.lit!.length) return expand(s.parent, out);
      out.push(s);
      return out;
    case K.Str:
      out.push(s);
      return out;
    case K.Num:
      out.push(s);
      if (numberDone(s.a)) expand(s.parent, out);
      return out;
    case K.Opt:
      out.push(s);
      return expand(s.parent, out);
    case K.Value:
      return expandValue(s.parent, s.node!, out);
    case K.ObjBody:
      return expandObject(s, out);
    case K.ArrBody: {
      expand(lit(s.parent, LIT.closeArr), out);
      const next = frame(K.ArrBody, s.parent, 0, 0, s.node);
      const item = value(next, (s.node as Extract<SchemaNode, { kind: 'array' }>).items);
      return expand(s.b ? item : lit(frame(K.Opt, item, SPACE, 0), LIT.comma), out);
    }
    case K.AnyObjBody: {
      expand(lit(s.parent, LIT.closeObj), out);
      const next = frame(K.AnyObjBody, s.parent, 0, 0);
      const key = lit(frame(K.Str, lit(frame(K.Opt, value(next, ANY), SPACE, 0), LIT.colon), 0, 0), LIT.quote);
      return expand(s.b ? key : lit(frame(K.Opt, key, SPACE, 0), LIT.comma), out);
    }
  }
}

function expandValue(parent: Stack, n: SchemaNode, out: Stack[]): Stack[] {
  switch (n.kind) {
    case 'string':
      return expand(lit(frame(K.Str, parent, 0, 0), LIT.quote), out);
    case 'number':
      return expand(frame(K.Num, parent, P.Start, n.integer ? 1 : 0), out);
    case 'literal':
      for (const v of n.values) expand(lit(parent, v), out);
      return out;
    case 'object':
      return expand(lit(frame(K.ObjBody, parent, 0, 1, n), LIT.openObj), out);
    case 'anyObject':
      return expand(lit(frame(K.AnyObjBody, parent, 0, 1), LIT.openObj), out);
    case 'array':
      return expand(lit(frame(K.ArrBody, parent, 0, 1, n), LIT.openArr), out);
    case 'anyOf':
      for (const o of n.options) expandValue(parent, o, out);
      return out;
    case 'ref':
      return expandValue(parent, n.target!, out);
    case 'any':
      expandValue(parent, ANY_OBJECT, out);
      expand(lit(frame(K.ArrBody, parent, 0, 1, ANY_ARRAY), LIT.openArr), out);
      expandValue(parent, STRING, out);
      expand(frame(K.Num, parent, P.Start, 0), out);
      for (const l of [LIT.true, LIT.false, LIT.null]) expand(lit(parent, l), out);
      return out;
  }
}

/** Properties in schema order; an optional one may be skipped, required ones may not. */
function expandObject(s: Frame, out: Stack[]): Stack[] {
  const n = s.node as Extract<SchemaNode, { kind: 'object' }>;
  for (let j = s.a; j <= n.props.length; j++) {
    if (j === n.props.length) {
      expand(lit(s.parent, LIT.closeObj), out);
      break;
    }
    const p = n.props[j];
    const next = frame(K.ObjBody, s.parent, j + 1, 0, n);
    const key = lit(frame(K.Opt, value(next, p.node), SPACE, 0), p.key);
    expand(s.b ? key : lit(frame(K.Opt, key, SPACE, 0), SEP), out);
    if (p.required) break;
  }
  return out;
}

/** Same frames all the way down (stacks built separately can be equal). */
function sameStack(x: Stack, y: Stack): boolean {
  while (x !== y) {
    if (x === null || y === null) return false;
    if (x.kind !== y.kind || x.a !== y.a || x.b !== y.b || x.node !== y.node || x.lit !== y.lit) return false;
    x = x.parent;
    y = y.parent;
  }
  return true;
}

/**
 * Drops duplicate stacks. Alternatives that converge (anyOf [integer, number] after a digit both
 * end the number and continue the same parent) would otherwise double the set at every item.
 */
export function dedupe(stacks: Stack[]): Stack[] {
  if (stacks.length < 2) return stacks;
  const out: Stack[] = [];
  for (const s of stacks) if (!out.some((t) => sameStack(t, s))) out.push(s);
  return out;
}

/** One byte on one (expanded) stack: the stack after it, or undefined when the byte is refused. */
export function stepTop(s: Frame, x: number): Stack | undefined {
  switch (s.kind) {
    case K.Lit:
      if (s.lit![s.a] !== x) return undefined;
      return s.a + 1 === s.lit!.length ? s.parent : frame(K.Lit, s.parent, s.a + 1, 0, null, s.lit);
    case K.Opt:
      return x === s.a ? s.parent : undefined;
    case K.Str:
      return stepString(s, x);
    case K.Num:
      return stepNumber(s, x);
    default:
      return undefined; // not a consuming frame (never on top after expand)
  }
}

function stepString(s: Frame, x: number): Stack | undefined {
  if (s.b > 0) {
    if (x < 0x80 || x > 0xbf) return undefined;
    return frame(K.Str, s.parent, 0, s.b - 1);
  }
  if (s.a < 0) {
    if (x === 0x75) return frame(K.Str, s.parent, 4, 0); // \u + 4 hex digits
    return '"\\/bfnrt'.includes(String.fromCharCode(x)) ? frame(K.Str, s.parent, 0, 0) : undefined;
  }
  if (s.a > 0) {
    const hex = (x >= 0x30 && x <= 0x39) || (x >= 0x41 && x <= 0x46) || (x >= 0x61 && x <= 0x66);
    return hex ? frame(K.Str, s.parent, s.a - 1, 0) : undefined;
  }
  if (x === 0x22) return s.parent;
  if (x === 0x5c) return frame(K.Str, s.parent, -1, 0);
  if (x < 0x20 || x === 0x7f) return undefined;
  const need = utf8Continuations(x);
  if (need < 0) return undefined;
  return need === 0 ? s : frame(K.Str, s.parent, 0, need);
}

const numDigits = (s: Frame): number => s.b >> 1;

function stepNumber(s: Frame, x: number): Stack | undefined {
  const digit = x >= 0x30 && x <= 0x39;
  const integer = (s.b & 1) === 1;
  const at = (phase: number, digits: number): Frame => frame(K.Num, s.parent, phase, (integer ? 1 : 0) | (digits << 1));
  switch (s.a) {
    case P.Start:
      if (x === 0x2d) return at(P.Minus, 0);
    // falls through
    case P.Minus:
      if (x === 0x30) return at(P.Zero, 1);
      return digit ? at(P.Int, 1) : undefined;
    case P.Int:
      if (digit) return numDigits(s) < MAX_DIGITS ? at(P.Int, numDigits(s) + 1) : undefined;
    // falls through
    case P.Zero:
      if (integer) return undefined;
      if (x === 0x2e) return at(P.Dot, 0);
      return x === 0x65 || x === 0x45 ? at(P.E, 0) : undefined;
    case P.Dot:
      return digit ? at(P.Frac, 1) : undefined;
    case P.Frac:
      if (digit) return numDigits(s) < MAX_DIGITS ? at(P.Frac, numDigits(s) + 1) : undefined;
      return x === 0x65 || x === 0x45 ? at(P.E, 0) : undefined;
    case P.E:
      if (x === 0x2b || x === 0x2d) return at(P.ESign, 0);
    // falls through
    case P.ESign:
      return digit ? at(P.Exp, 1) : undefined;
    case P.Exp:
      return digit && numDigits(s) < MAX_EXP_DIGITS ? at(P.Exp, numDigits(s) + 1) : undefined;
  }
  return undefined;
}
