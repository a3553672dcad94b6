/**
 * kiwibox.yaml `cache:` → CacheSection, with each trusted key checked (a name, then 32 bytes of
 * base64) and located, so a key that does not parse is reported at its line before anything runs.
 */
import type { Document } from 'yaml';
import type { CacheSection, TrustedKey } from '../core/model.js';
import type { Failure, Location } from '../core/result.js';
import { registryOf } from '../kiwi/image-ref.js';
import { locate } from './yaml-ast.js';

type Raw = Record<string, unknown>;

/** Key names as Nix writes them (`ci-1`, `cache.example.org-1`). */
export const KEY_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** `name:base64` of a 32-byte ed25519 public key; the problem as a sentence otherwise. */
export function parseTrustedKey(text: string): { name: string; key: string } | string {
  const colon = text.indexOf(':');
  if (colon < 1) return `'${text}' is not name:base64 (e.g. ci-1:AAAA…=)`;
  const name = text.slice(0, colon);
  const key = text.slice(colon + 1).trim();
  if (!KEY_NAME.test(name)) return `key name '${name}' may only hold letters, digits, '.', '_' and '-'`;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(key) || Buffer.from(key, 'base64').length !== 32) {
    return `key '${name}' is not 32 bytes of base64 (an ed25519 public key)`;
  }
  return { name, key };
}

/** A repository path as the distribution spec allows it (`team/kiwibox-cache`). */
const REPOSITORY = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;

export type StoreAddress =
  | { readonly kind: 'oci'; readonly registry: string; readonly repository: string }
  | { readonly kind: 'http'; readonly url: string };

/**
 * The one place a store's spelling picks its backend: an `http://` or `https://` URL is the HTTP
 * /ac + /cas cache, `HOST[:PORT]/REPO` (as podman writes references) an OCI registry repository.
 */
export function parseStoreAddress(store: string): StoreAddress | string {
  if (/^https?:\/\//.test(store)) {
    try {
      return { kind: 'http', url: new URL(store).href.replace(/\/+$/, '') };
    } catch {
      return `'${store}' is not a URL`;
    }
  }
  const registry = registryOf(store);
  const repository = registry === undefined ? '' : store.slice(registry.length + 1);
  if (registry === undefined || registry === 'localhost' || !REPOSITORY.test(repository)) {
    return `'${store}' is neither an http(s):// URL nor a registry repository like 127.0.0.1:5000/team/kiwibox-cache`;
  }
  return { kind: 'oci', registry, repository };
}

/** A write namespace: one lowercase repository path component. */
export const NAMESPACE = /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/;

export function cacheSection(options: {
  readonly doc: Document;
  readonly file: string;
  readonly value: Raw;
}): { section?: CacheSection; failures: Failure[] } {
  const raw = options.value.cache as Raw | undefined;
  if (raw === undefined || raw === null) return { failures: [] };
  const at = (...segments: string[]): Location => ({
    file: options.file,
    ...locate(options.doc, ['cache', ...segments]),
  });
  const failures: Failure[] = [];
  const trustedKeys: TrustedKey[] = [];
  const names = new Set<string>();
  for (const [i, text] of ((raw['trusted-keys'] ?? []) as string[]).entries()) {
    const location = at('trusted-keys', String(i));
    const parsed = parseTrustedKey(text);
    if (typeof parsed === 'string') {
      failures.push({ reason: 'bad-cache-key', message: `trusted key: ${parsed}`, location });
    } else if (names.has(parsed.name)) {
      failures.push({
        reason: 'bad-cache-key',
        message: `trusted key '${parsed.name}' is listed twice`,
        location,
      });
    } else {
      names.add(parsed.name);
      trustedKeys.push({ ...parsed, location });
    }
  }
  if (typeof raw.store === 'string') {
    const address = parseStoreAddress(raw.store);
    if (typeof address === 'string') {
      failures.push({
        reason: 'bad-cache-setting',
        message: `cache store: ${address}`,
        location: at('store'),
      });
    }
  }
  const section: CacheSection = {
    ...(typeof raw.store === 'string' ? { store: raw.store } : {}),
    ...(typeof raw.mode === 'string' ? { mode: raw.mode as CacheSection['mode'] & string } : {}),
    ...(typeof raw['write-namespace'] === 'string' ? { writeNamespace: raw['write-namespace'] } : {}),
    trustedKeys,
    location: at(),
  };
  return { section, failures };
}
