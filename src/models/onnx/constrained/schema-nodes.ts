/**
 * JSON Schema (the strict subset) compiled to a small tree of nodes the byte automaton walks.
 * What the subset does not cover is refused with the keyword's name, never silently ignored.
 */

export type SchemaNode =
  | { kind: 'string' }
  | { kind: 'number'; integer: boolean }
  | { kind: 'literal'; values: Uint8Array[] } // boolean, null, enum, const: their JSON text
  | { kind: 'object'; props: ObjectProp[]; suffixCost: number[] }
  | { kind: 'anyObject' } // json_object, and values of any JSON type inside it
  | { kind: 'any' }
  | { kind: 'array'; items: SchemaNode }
  | { kind: 'anyOf'; options: SchemaNode[] }
  | { kind: 'ref'; target: SchemaNode | null; name: string };

export interface ObjectProp {
  /** `"key":` as bytes (the separator before it is added by the automaton). */
  key: Uint8Array;
  node: SchemaNode;
  required: boolean;
}

/** A schema outside the supported subset (the API answers 400 naming `keyword`). */
export class UnsupportedSchemaError extends Error {
  constructor(
    readonly keyword: string,
    readonly path: string,
    detail?: string,
  ) {
    super(`response_format schema: "${keyword}" at ${path || '#'} is not supported${detail ? ` (${detail})` : ''}`);
    this.name = 'UnsupportedSchemaError';
  }
}

/** Annotations that do not constrain the document. */
const IGNORED = new Set([
  'description',
  'title',
  '$comment',
  'examples',
  'default',
  '$schema',
  '$id',
  'deprecated',
  'readOnly',
  'writeOnly',
]);
const ALLOWED = new Set([
  ...IGNORED,
  'type',
  'properties',
  'required',
  'additionalProperties',
  'items',
  'enum',
  'const',
  'anyOf',
  '$ref',
  '$defs',
  'definitions',
]);

/**
 * Integers here have at most 15 digits (json-automaton.ts), so bounds at or beyond ±(10^15 − 1)
 * hold already: zod writes ±(2^53 − 1) for every `.int()`. Other bounds are refused by name.
 */
const INTEGER_LIMIT = 1e15 - 1;
function impliedBound(s: Json, k: string): boolean {
  if (s.type !== 'integer') return false;
  if (k === 'minimum') return typeof s.minimum === 'number' && s.minimum <= -INTEGER_LIMIT;
  if (k === 'maximum') return typeof s.maximum === 'number' && s.maximum >= INTEGER_LIMIT;
  return false;
}

const utf8 = new TextEncoder();
const jsonBytes = (v: unknown): Uint8Array => utf8.encode(JSON.stringify(v));

type Json = Record<string, unknown>;

export function compileSchemaNodes(schema: unknown): SchemaNode {
  if (!isObject(schema)) throw new UnsupportedSchemaError('schema', '#', 'a schema must be an object');
  const refs = new Map<string, { kind: 'ref'; target: SchemaNode | null; name: string }>();
  const compile = (s: unknown, path: string): SchemaNode => {
    if (s === true || (isObject(s) && Object.keys(s).every((k) => IGNORED.has(k)))) return { kind: 'any' };
    if (!isObject(s)) throw new UnsupportedSchemaError('schema', path, 'expected an object');
    for (const k of Object.keys(s))
      if (!ALLOWED.has(k) && !impliedBound(s, k)) throw new UnsupportedSchemaError(k, path);
    if (typeof s.$ref === 'string') return refNode(s.$ref, path);
    if ('const' in s) return { kind: 'literal', values: [jsonBytes(s.const)] };
    if ('enum' in s) {
      if (!Array.isArray(s.enum) || s.enum.length === 0)
        throw new UnsupportedSchemaError('enum', path, 'must be a non-empty array');
      return { kind: 'literal', values: s.enum.map(jsonBytes) };
    }
    if (Array.isArray(s.anyOf)) {
      if (s.anyOf.length === 0) throw new UnsupportedSchemaError('anyOf', path, 'must not be empty');
      const base = { ...s };
      delete base.anyOf;
      const merged = s.anyOf.map((o, i) =>
        compile(
          Object.keys(base).some((k) => !IGNORED.has(k)) && isObject(o) ? { ...base, ...o } : o,
          `${path}/anyOf/${i}`,
        ),
      );
      return { kind: 'anyOf', options: merged };
    }
    const types = Array.isArray(s.type) ? s.type : s.type === undefined ? undefined : [s.type];
    if (!types) {
      if ('properties' in s) return objectNode(s, path);
      if ('items' in s) return arrayNode(s, path);
      return { kind: 'any' };
    }
    const options = types.map((t) => typeNode(s, t, path));
    return options.length === 1 ? options[0] : { kind: 'anyOf', options };
  };
  const typeNode = (s: Json, t: unknown, path: string): SchemaNode => {
    switch (t) {
      case 'string':
        return { kind: 'string' };
      case 'number':
      case 'integer':
        return { kind: 'number', integer: t === 'integer' };
      case 'boolean':
        return { kind: 'literal', values: [jsonBytes(true), jsonBytes(false)] };
      case 'null':
        return { kind: 'literal', values: [jsonBytes(null)] };
      case 'object':
        return objectNode(s, path);
      case 'array':
        return arrayNode(s, path);
      default:
        throw new UnsupportedSchemaError('type', path, `unknown type ${JSON.stringify(t)}`);
    }
  };
  const objectNode = (s: Json, path: string): SchemaNode => {
    if (s.additionalProperties !== undefined && s.additionalProperties !== false) {
      throw new UnsupportedSchemaError('additionalProperties', path, 'only false is supported');
    }
    const props = isObject(s.properties) ? s.properties : {};
    const required = Array.isArray(s.required) ? s.required : [];
    for (const r of required)
      if (typeof r !== 'string' || !(r in props))
        throw new UnsupportedSchemaError('required', path, `"${String(r)}" is not in properties`);
    const list: ObjectProp[] = Object.entries(props).map(([key, sub]) => ({
      key: utf8.encode(`${JSON.stringify(key)}:`),
      node: compile(sub, `${path}/properties/${key}`),
      required: required.includes(key),
    }));
    return { kind: 'object', props: list, suffixCost: [] };
  };
  const arrayNode = (s: Json, path: string): SchemaNode => ({
    kind: 'array',
    items: s.items === undefined ? { kind: 'any' } : compile(s.items, `${path}/items`),
  });
  const refNode = (ref: string, path: string): SchemaNode => {
    let node = refs.get(ref);
    if (node) return node;
    node = { kind: 'ref', target: null, name: ref };
    refs.set(ref, node);
    node.target = ref === '#' ? compile(schema, '#') : compile(resolvePointer(schema, ref, path), ref);
    return node;
  };
  const root = compile(schema, '#');
  computeCosts(root);
  return root;
}

function resolvePointer(root: Json, ref: string, path: string): unknown {
  if (!ref.startsWith('#/'))
    throw new UnsupportedSchemaError('$ref', path, `only local references (#/$defs/...) are supported, got ${ref}`);
  let at: unknown = root;
  for (const raw of ref.slice(2).split('/')) {
    const part = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (!isObject(at) || !(part in at)) throw new UnsupportedSchemaError('$ref', path, `${ref} does not resolve`);
    at = at[part];
  }
  return at;
}

/**
 * The fewest bytes of a complete value of each node (a fixed point, since $ref may recurse):
 * what budget steering needs. A schema whose every document is infinite is refused.
 */
export const minBytes = new WeakMap<SchemaNode, number>();

function computeCosts(root: SchemaNode): void {
  const all: SchemaNode[] = [];
  const seen = new Set<SchemaNode>();
  const visit = (n: SchemaNode): void => {
    if (seen.has(n)) return;
    seen.add(n);
    all.push(n);
    if (n.kind === 'object') n.props.forEach((p) => visit(p.node));
    if (n.kind === 'array') visit(n.items);
    if (n.kind === 'anyOf') n.options.forEach(visit);
    if (n.kind === 'ref' && n.target) visit(n.target);
  };
  visit(root);
  const get = (n: SchemaNode): number => minBytes.get(n) ?? Infinity;
  for (const n of all) minBytes.set(n, Infinity);
  for (let changed = true; changed;) {
    changed = false;
    for (const n of all) {
      const v = ownMin(n, get);
      if (v < get(n)) {
        minBytes.set(n, v);
        changed = true;
      }
    }
  }
  for (const n of all) {
    if (!Number.isFinite(get(n)))
      throw new UnsupportedSchemaError('$ref', '#', 'the schema has no finite document (required recursion)');
    if (n.kind === 'object') n.suffixCost = objectSuffix(n.props, get);
  }
}

function ownMin(n: SchemaNode, get: (n: SchemaNode) => number): number {
  switch (n.kind) {
    case 'string':
      return 2;
    case 'number':
      return 1;
    case 'literal':
      return Math.min(...n.values.map((v) => v.length));
    case 'object': {
      const req = n.props.filter((p) => p.required);
      return 2 + req.reduce((a, p) => a + p.key.length + get(p.node), 0) + Math.max(0, req.length - 1);
    }
    case 'anyObject':
    case 'array':
      return 2;
    case 'any':
      return 1; // 0
    case 'anyOf':
      return Math.min(...n.options.map(get));
    case 'ref':
      return n.target ? get(n.target) : Infinity;
  }
}

/** suffix[i]: bytes of the required properties from i on, each with its comma. */
function objectSuffix(props: ObjectProp[], get: (n: SchemaNode) => number): number[] {
  const out = new Array<number>(props.length + 1).fill(0);
  for (let i = props.length - 1; i >= 0; i--)
    out[i] = out[i + 1] + (props[i].required ? 1 + props[i].key.length + get(props[i].node) : 0);
  return out;
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
