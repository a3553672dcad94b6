/**
 * A CacheEntry as the HTTP cache stores it under `/ac/<key>`: canonical JSON (keys sorted at every
 * level, no spaces), so the same entry is always the same bytes, and a strict reader, because nginx
 * stores whatever body it is given under any name.
 */
import type { BlobRef, CacheEntry, Digest } from './store.js';

const HEX64 = /^[0-9a-f]{64}$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;

/** JSON with object keys sorted (code-point order) at every level; arrays keep their order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export const isKey = (key: string): boolean => HEX64.test(key);
export const isDigest = (digest: string): digest is Digest => DIGEST.test(digest);

type Parsed<T> = { ok: true; value: T } | { ok: false; problem: string };
const bad = (problem: string): { ok: false; problem: string } => ({ ok: false, problem });

const isRecord = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

function stringMap(value: unknown, what: string): Parsed<Record<string, string> | undefined> {
  if (value === undefined) return { ok: true, value: undefined };
  if (!isRecord(value) || !Object.values(value).every((v) => typeof v === 'string'))
    return bad(`${what} is not an object of strings`);
  return { ok: true, value: value as Record<string, string> };
}

function blobRef(value: unknown, what: string): Parsed<BlobRef> {
  if (!isRecord(value)) return bad(`${what} is not an object`);
  const { digest, size, mediaType } = value;
  if (typeof digest !== 'string' || !isDigest(digest)) return bad(`${what}.digest is not sha256:<64 hex>`);
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0)
    return bad(`${what}.size is not a byte count`);
  if (typeof mediaType !== 'string') return bad(`${what}.mediaType is not a string`);
  const annotations = stringMap(value.annotations, `${what}.annotations`);
  if (!annotations.ok) return annotations;
  return {
    ok: true,
    value: { digest, size, mediaType, ...(annotations.value ? { annotations: annotations.value } : {}) },
  };
}

/** Reads an /ac value; only the fields of CacheEntry are kept. */
export function parseEntry(text: string): Parsed<CacheEntry> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return bad('not JSON');
  }
  if (!isRecord(value)) return bad('not a JSON object');
  if (typeof value.key !== 'string' || !isKey(value.key)) return bad('key is not 64 hex digits');
  const config = blobRef(value.config, 'config');
  if (!config.ok) return config;
  if (!Array.isArray(value.layers)) return bad('layers is not a list');
  const layers: BlobRef[] = [];
  for (const [i, layer] of value.layers.entries()) {
    const parsed = blobRef(layer, `layers[${i}]`);
    if (!parsed.ok) return parsed;
    layers.push(parsed.value);
  }
  const signatures = stringMap(value.signatures ?? {}, 'signatures');
  if (!signatures.ok) return signatures;
  const annotations = stringMap(value.annotations, 'annotations');
  if (!annotations.ok) return annotations;
  return {
    ok: true,
    value: {
      key: value.key,
      config: config.value,
      layers,
      signatures: signatures.value ?? {},
      ...(annotations.value ? { annotations: annotations.value } : {}),
    },
  };
}
