/**
 * A step's fingerprint: an ordered JSON object of everything that decides its result. Equal
 * fingerprints (and intact outputs) mean the step is fresh. Dependencies contribute only the hash
 * of their own fingerprint, which keeps fingerprints small.
 */
import { createHash } from 'node:crypto';
import type { Step } from '../core/model.js';
import type { Fingerprint } from '../state/record.js';

/** Bumped when the fingerprint's meaning changes: every step then re-runs once. */
export const FINGERPRINT_FORMAT = 1;

/** The record with keys in code-point order (inputs usually arrive sorted: then it is returned as is). */
function sortedRecord<T>(record: Readonly<Record<string, T>>): Record<string, T> {
  const keys = Object.keys(record);
  let sorted = true;
  for (let i = 1; i < keys.length && sorted; i++) sorted = (keys[i - 1] as string) < (keys[i] as string);
  if (sorted) return record as Record<string, T>;
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Config fields that are bookkeeping, not inputs. */
const NOT_CONFIG = new Set(['location', 'fields', 'deps', 'raw', 'id', 'kind']);

/** The step's config as it enters the fingerprint: stable key order, project-relative paths. */
export function normaliseConfig(step: Step, projectDir: string): Record<string, unknown> {
  const relativise = (value: unknown): unknown => {
    if (typeof value === 'string') {
      return value === projectDir
        ? '.'
        : value.startsWith(`${projectDir}/`)
          ? value.slice(projectDir.length + 1)
          : value;
    }
    if (Array.isArray(value)) return value.map(relativise);
    if (value && typeof value === 'object') {
      return sortedRecord(Object.fromEntries(Object.entries(value).map(([k, v]) => [k, relativise(v)])));
    }
    return value;
  };
  const config: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(step)) {
    if (!NOT_CONFIG.has(key) && value !== undefined) config[key] = relativise(value);
  }
  if (step.kind === 'box') config.raw = relativise(step.raw);
  return sortedRecord(config);
}

export function makeFingerprint(parts: Omit<Fingerprint, 'format' | 'platform'>): Fingerprint {
  return {
    format: FINGERPRINT_FORMAT,
    kind: parts.kind,
    platform: `${process.platform}-${process.arch}`,
    config: parts.config,
    files: sortedRecord(parts.files),
    tools: sortedRecord(parts.tools),
    upstream: sortedRecord(parts.upstream),
    extra: sortedRecord(parts.extra),
  };
}

export function fingerprintHash(fingerprint: Fingerprint): string {
  return createHash('sha256').update(JSON.stringify(fingerprint)).digest('hex');
}

/**
 * A digest of each part of a fingerprint that comes from the project (config, files, each
 * dependency, extra): two sides whose hashes differ can say which part does.
 */
export function fingerprintParts(fingerprint: Fingerprint): Record<string, string> {
  const digest = (value: unknown) =>
    createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);
  const parts: Record<string, string> = {
    format: String(fingerprint.format),
    kind: fingerprint.kind,
    config: digest(fingerprint.config),
    files: digest(fingerprint.files),
    extra: digest(fingerprint.extra),
  };
  for (const [id, token] of Object.entries(fingerprint.upstream)) parts[`upstream ${id}`] = digest(token);
  return parts;
}

/** The names of the parts that differ between two fingerprintParts, either side missing included. */
export function differingParts(
  here: Readonly<Record<string, string>>,
  there: Readonly<Record<string, string>>,
): string[] {
  const names = new Set([...Object.keys(here), ...Object.keys(there)]);
  return [...names].filter((name) => here[name] !== there[name]).sort();
}
