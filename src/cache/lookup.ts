/**
 * Finding a step's entry: each namespace the configuration reads, in order; an entry counts only
 * when a trusted key signed it (verifyEntry). Digests are checked later, while blobs are fetched.
 */
import type { Result } from '../core/result.js';
import type { CacheConfig } from './settings.js';
import { verifyEntry } from './sign.js';
import type { CacheEntry, CacheStore } from './store.js';

export type Lookup =
  | { readonly hit: true; readonly entry: CacheEntry; readonly namespace: string; readonly keyName: string }
  /** `storeDown`: the store did not answer (the caller stops asking it for this run). */
  | { readonly hit: false; readonly reason: string; readonly storeDown?: boolean };

function where(namespace: string): string {
  return namespace ? ` (namespace ${namespace})` : '';
}

export async function lookupEntry(options: {
  readonly store: CacheStore;
  readonly config: CacheConfig;
  readonly key: string;
  readonly signal: AbortSignal;
}): Promise<Lookup> {
  const refusals: string[] = [];
  for (const namespace of options.config.readNamespaces) {
    const read: Result<CacheEntry | undefined> = await options.store.readEntry({
      namespace,
      key: options.key,
      signal: options.signal,
    });
    if (!read.ok) {
      return { hit: false, reason: read.error.map((f) => f.message).join('; '), storeDown: true };
    }
    if (!read.value) continue;
    const verdict = verifyEntry(read.value, options.config.trustedKeys);
    if (verdict.trusted) return { hit: true, entry: read.value, namespace, keyName: verdict.keyName };
    refusals.push(`entry${where(namespace)} ${verdict.reason}`);
  }
  return { hit: false, reason: refusals.length ? refusals.join('; ') : 'no entry' };
}
