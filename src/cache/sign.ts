/**
 * ed25519 signatures over an entry's canonical string, the Nix binary-cache model: what is signed is
 * `kiwibox-entry-1;<key>;<config digest>;<sorted layer digests, comma-joined>`, never the serialized
 * entry, so the signature can live inside the entry on every backend. Keys are `name:base64` of the
 * raw 32-byte key (public) or 32-byte seed (secret).
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from 'node:crypto';
import type { TrustedKey } from '../core/model.js';
import type { CacheEntry } from './store.js';

/** DER prefixes that wrap a raw ed25519 key as SPKI (public) and PKCS#8 (private). */
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export interface SigningKey {
  readonly name: string;
  readonly key: KeyObject;
  /** `name:base64` of the public half, for messages and `trusted-keys:`. */
  readonly publicText: string;
}

export function canonicalString(entry: Pick<CacheEntry, 'key' | 'config' | 'layers'>): string {
  const layers = entry.layers.map((l) => l.digest).sort();
  return `kiwibox-entry-1;${entry.key};${entry.config.digest};${layers.join(',')}`;
}

function rawPublic(key: KeyObject): Buffer {
  return createPublicKey(key).export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX.length);
}

/** A secret key from `name:base64(seed)`; undefined when it does not parse. */
export function parseSigningKey(text: string): SigningKey | undefined {
  const colon = text.indexOf(':');
  if (colon < 1) return undefined;
  const name = text.slice(0, colon);
  const seed = Buffer.from(text.slice(colon + 1).trim(), 'base64');
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name) || seed.length !== 32) return undefined;
  try {
    const key = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
    return { name, key, publicText: `${name}:${rawPublic(key).toString('base64')}` };
  } catch {
    return undefined;
  }
}

/** A new key pair: the secret as a key file holds it, the public as `trusted-keys:` lists it. */
export function generateKey(name: string): { secretText: string; publicText: string } {
  const { privateKey } = generateKeyPairSync('ed25519');
  const seed = privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(PKCS8_PREFIX.length);
  return {
    secretText: `${name}:${seed.toString('base64')}`,
    publicText: `${name}:${rawPublic(privateKey).toString('base64')}`,
  };
}

export function signEntry(entry: Pick<CacheEntry, 'key' | 'config' | 'layers'>, key: SigningKey): string {
  return sign(null, Buffer.from(canonicalString(entry)), key.key).toString('base64');
}

export type Verdict =
  | { readonly trusted: true; readonly keyName: string }
  | { readonly trusted: false; readonly reason: string };

/**
 * Whether a trusted key signed the entry. The reason of a refusal names the keys expected and the
 * keys found, which Nix users asked for (NixOS/nix#8254).
 */
export function verifyEntry(entry: CacheEntry, trusted: readonly TrustedKey[]): Verdict {
  const found = Object.keys(entry.signatures).sort();
  const expected = trusted.map((k) => k.name);
  const message = Buffer.from(canonicalString(entry));
  for (const trustedKey of trusted) {
    const signature = entry.signatures[trustedKey.name];
    if (signature === undefined) continue;
    try {
      const key = createPublicKey({
        key: Buffer.concat([SPKI_PREFIX, Buffer.from(trustedKey.key, 'base64')]),
        format: 'der',
        type: 'spki',
      });
      if (verify(null, message, key, Buffer.from(signature, 'base64'))) {
        return { trusted: true, keyName: trustedKey.name };
      }
      return { trusted: false, reason: `signature by '${trustedKey.name}' does not verify` };
    } catch {
      return { trusted: false, reason: `signature by '${trustedKey.name}' does not verify` };
    }
  }
  const list = (names: readonly string[]) => (names.length ? names.map((n) => `'${n}'`).join(', ') : 'none');
  return {
    trusted: false,
    reason: `not signed by a trusted key (expected ${list(expected)}, found ${list(found)})`,
  };
}
