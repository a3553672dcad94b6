/**
 * Finding the YAML node behind a JSON pointer, so schema errors point at the right place: the key
 * for an unknown property, the value otherwise.
 */
import { type Document, isAlias, isMap, isScalar, isSeq, type Node, type Pair } from 'yaml';

export interface NodeSpan {
  readonly offset: number;
  readonly length: number;
}

/** Splits an ajv instancePath (`/builds/base/type`) into keys. */
export function pointerSegments(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function spanOf(node: Node | null | undefined): NodeSpan | undefined {
  const range = node?.range;
  if (!range) return undefined;
  return { offset: range[0], length: Math.max(range[1] - range[0], 0) };
}

/** Pairs of each mapping by key, built once: locating every field of a large file stays linear. */
const pairIndex = new WeakMap<object, Map<string, Pair<unknown, unknown>>>();

function pairOf(doc: Document, node: unknown, key: string): Pair<unknown, unknown> | undefined {
  const target = isAlias(node) ? node.resolve(doc) : node;
  if (!isMap(target)) return undefined;
  let index = pairIndex.get(target);
  if (!index) {
    index = new Map();
    for (const pair of target.items) {
      // The first of duplicate keys wins, as in the parsed data.
      if (isScalar(pair.key) && !index.has(String(pair.key.value))) index.set(String(pair.key.value), pair);
    }
    pairIndex.set(target, index);
  }
  return index.get(key);
}

function childOf(doc: Document, node: unknown, key: string): unknown {
  const target = isAlias(node) ? node.resolve(doc) : node;
  if (isMap(target)) return pairOf(doc, target, key)?.value;
  if (isSeq(target)) return target.items[Number(key)];
  return undefined;
}

/**
 * The span of the value at `segments`, or of its key when `key` is true. Falls back to the nearest
 * ancestor that exists (keys merged from elsewhere have no node of their own).
 */
export function locate(doc: Document, segments: readonly string[], key = false): NodeSpan {
  let node: unknown = doc.contents;
  let best = spanOf(doc.contents as Node) ?? { offset: 0, length: 0 };
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i] as string;
    const last = i === segments.length - 1;
    if (last && key) {
      const pair = pairOf(doc, node, segment);
      return spanOf(pair?.key as Node) ?? best;
    }
    const child = childOf(doc, node, segment);
    if (child === undefined) return best;
    // A value-less key (`leap:`) has a null scalar without a useful range: report its key.
    const pairKey = pairOf(doc, node, segment)?.key as Node | undefined;
    best = spanOf(child as Node) ?? spanOf(pairKey) ?? best;
    if (isScalar(child) && child.value === null && pairKey) best = spanOf(pairKey) ?? best;
    node = child;
  }
  return best;
}
