/**
 * `kiwibox cache prune`: which entries of one namespace finished longer ago than a cutoff, and
 * deleting them where the store allows it. An entry's age is its step record's `finishedAt` (the
 * config blob, small and covered by the signature). Only manifests go; the registry's garbage
 * collector frees the blobs no manifest names any more.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { failWith, ok, type Result } from '../core/result.js';
import type { EntryRecord } from './entry.js';
import type { CacheEntry, CacheStore } from './store.js';

/** A config blob bigger than this is not a step record (and is not read). */
const MAX_RECORD_BYTES = 1024 * 1024;

export type PruneLine =
  | {
      readonly key: string;
      readonly action: 'deleted' | 'would-delete' | 'kept';
      readonly step: string;
      readonly finishedAt: Date;
    }
  | { readonly key: string; readonly action: 'unreadable'; readonly reason: string };

export interface PruneSummary {
  readonly entries: number;
  /** Deleted, or that would be in a dry run. */
  readonly pruned: number;
  readonly unreadable: number;
}

const messages = (r: { error: readonly { message: string }[] }) => r.error.map((f) => f.message).join('; ');

/** The step id and finish time the entry's record gives, or why it cannot tell. */
async function entryAge(options: {
  store: CacheStore;
  entry: CacheEntry;
  namespace: string;
  dir: string;
  signal: AbortSignal;
}): Promise<{ step: string; finishedAt: Date } | string> {
  const { entry } = options;
  if (entry.config.size > MAX_RECORD_BYTES)
    return `its config blob (${entry.config.size} B) is not a step record`;
  const file = join(options.dir, entry.key);
  const got = await options.store.fetchBlob({
    blob: entry.config,
    file,
    namespace: options.namespace,
    signal: options.signal,
  });
  if (!got.ok) return messages(got);
  try {
    const record = JSON.parse(await readFile(file, 'utf8')) as Partial<EntryRecord>;
    const finishedAt = new Date(record.finishedAt ?? '');
    if (typeof record.step !== 'string' || Number.isNaN(finishedAt.getTime()))
      return 'its step record has no step or finishedAt';
    return { step: record.step, finishedAt };
  } catch {
    return 'its config blob is not a step record';
  } finally {
    await rm(file, { force: true });
  }
}

export async function pruneEntries(options: {
  readonly store: CacheStore;
  readonly namespace: string;
  /** Entries that finished before this are pruned. */
  readonly cutoff: Date;
  readonly dryRun: boolean;
  readonly signal: AbortSignal;
  readonly report: (line: PruneLine) => void;
}): Promise<Result<PruneSummary>> {
  const { store, namespace, signal, report } = options;
  if (!store.listEntries) {
    return failWith({
      reason: 'cache-cannot-list',
      message: `cannot list the entries of ${store.name}: this kind of store has no listing, so cache prune cannot choose what to delete (expire it on the server)`,
    });
  }
  if (!store.deleteEntry && !options.dryRun) {
    return failWith({ reason: 'cache-delete-refused', message: `${store.name} cannot delete entries` });
  }
  const keys = await store.listEntries({ namespace, signal });
  if (!keys.ok) return keys;
  const dir = await mkdtemp(join(tmpdir(), 'kiwibox-cache-prune-'));
  let pruned = 0;
  let unreadable = 0;
  try {
    for (const key of keys.value.sort()) {
      const read = await store.readEntry({ namespace, key, signal });
      // Deleted since the listing: nothing to do.
      if (read.ok && !read.value) continue;
      const entry = read.ok ? read.value : undefined;
      const age = entry ? await entryAge({ store, entry, namespace, dir, signal }) : undefined;
      if (!entry || typeof age !== 'object') {
        unreadable++;
        report({ key, action: 'unreadable', reason: read.ok ? String(age ?? 'unreadable') : messages(read) });
        continue;
      }
      const old = age.finishedAt < options.cutoff;
      if (old && !options.dryRun) {
        const deleted = await store.deleteEntry?.({
          namespace,
          key,
          signal,
          ...(entry.revision ? { revision: entry.revision } : {}),
        });
        // A refused delete will be refused for every entry: stop at the first.
        if (deleted && !deleted.ok) return deleted;
      }
      if (old) pruned++;
      report({ key, action: old ? (options.dryRun ? 'would-delete' : 'deleted') : 'kept', ...age });
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return ok({ entries: keys.value.length, pruned, unreadable });
}
