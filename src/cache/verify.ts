/**
 * `kiwibox cache verify STEP`: the full check a restore makes, writing nothing to the project:
 * the signature, the step record against the layers, and every blob downloaded (to a temp dir)
 * and checked against its digest.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Step } from '../core/model.js';
import { previewRestore } from './preview.js';
import type { TeamCache } from './team-cache.js';

export type Verified =
  | { readonly ok: true; readonly keyName: string; readonly blobs: number; readonly bytes: number }
  | { readonly ok: false; readonly reason: string };

export async function verifyStepEntry(options: {
  readonly cache: TeamCache;
  readonly step: Step;
  readonly key: string;
  readonly signal: AbortSignal;
}): Promise<Verified> {
  const preview = await previewRestore(options);
  if (!preview.restore) return { ok: false, reason: preview.reason };
  const found = await options.cache.lookup(options);
  if (!found.hit) return { ok: false, reason: found.reason };
  const dir = await mkdtemp(join(tmpdir(), 'kiwibox-cache-verify-'));
  try {
    for (const [i, blob] of found.entry.layers.entries()) {
      const got = await options.cache.store.fetchBlob({
        blob,
        file: join(dir, `blob-${i}`),
        namespace: found.namespace,
        signal: options.signal,
      });
      await rm(join(dir, `blob-${i}`), { force: true });
      if (!got.ok) return { ok: false, reason: got.error.map((f) => f.message).join('; ') };
    }
    return { ok: true, keyName: found.keyName, blobs: found.entry.layers.length + 1, bytes: preview.bytes };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
