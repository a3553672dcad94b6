/**
 * "Would restore from cache" for `plan` and `why`: the lookup with its signature check, then only
 * the entry's small step record (downloaded to a temp dir outside the project and digest-checked),
 * which gives what dependents need to plan on (the upstream token). Nothing is written to the
 * project or the store; the output blobs are checked by the restore itself.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Step } from '../core/model.js';
import { upstreamToken } from '../fingerprint/decide.js';
import { checkLayers, type EntryRecord } from './entry.js';
import type { TeamCache } from './team-cache.js';

export type Preview =
  | {
      readonly restore: true;
      readonly token: string;
      readonly keyName: string;
      readonly bytes: number;
      readonly store: string;
    }
  | { readonly restore: false; readonly reason: string };

export async function previewRestore(options: {
  readonly cache: TeamCache;
  readonly step: Step;
  readonly key: string;
  readonly signal: AbortSignal;
}): Promise<Preview> {
  const { cache, step } = options;
  const found = await cache.lookup(options);
  if (!found.hit) return { restore: false, reason: found.reason };
  const dir = await mkdtemp(join(tmpdir(), 'kiwibox-cache-preview-'));
  try {
    const file = join(dir, 'config.json');
    const got = await cache.store.fetchBlob({
      blob: found.entry.config,
      file,
      namespace: found.namespace,
      signal: options.signal,
    });
    if (!got.ok) return { restore: false, reason: got.error.map((f) => f.message).join('; ') };
    const record = JSON.parse(readFileSync(file, 'utf8')) as EntryRecord;
    const problem =
      record.hash !== options.key || record.kind !== step.kind
        ? 'the step record is for another step'
        : checkLayers(record, found.entry.layers);
    if (problem) return { restore: false, reason: problem };
    return {
      restore: true,
      token: upstreamToken({
        hash: record.hash,
        outputs: {
          files: record.outputs.files.map((f) => ({ ...f, mtimeMs: 0 })),
          data: record.outputs.data,
        },
        finishedAt: record.finishedAt,
      }),
      keyName: found.keyName,
      bytes: found.entry.layers.reduce((sum, l) => sum + l.size, found.entry.config.size),
      store: cache.store.name,
    };
  } catch (error) {
    return { restore: false, reason: `the step record does not parse: ${String(error)}` };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
