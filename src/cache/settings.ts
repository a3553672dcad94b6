/**
 * The team cache a command uses: kiwibox.yaml `cache:`, overridden by flags, then by nothing else;
 * environment variables sit between the two (flag > env > YAML), as CI sets them. The signing key
 * comes only from a file (never readable by group or others, as ssh demands) or a variable.
 */
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { NAMESPACE, parseStoreAddress, parseTrustedKey, type StoreAddress } from '../config/cache-section.js';
import type { Project, TrustedKey } from '../core/model.js';
import { errorMessage, type Failure, fail, ok, type Result } from '../core/result.js';
import { parseSigningKey, type SigningKey } from './sign.js';

export type CacheMode = 'read-write' | 'read-only' | 'off';
const MODES: readonly string[] = ['read-write', 'read-only', 'off'];

/** `--cache`, `--cache-mode`, `--cache-key-file`, `--cache-namespace`. */
export interface CacheFlags {
  readonly store?: string;
  readonly mode?: string;
  readonly keyFile?: string;
  readonly namespace?: string;
}

export interface CacheConfig {
  /** As written, for messages. */
  readonly store: string;
  readonly address: StoreAddress;
  readonly mode: 'read-write' | 'read-only';
  readonly trustedKeys: readonly TrustedKey[];
  /** Namespaces looked up, in order: '' is the trusted one; a write namespace is read after it. */
  readonly readNamespaces: readonly string[];
  readonly writeNamespace: string;
  /** Present in read-write mode. */
  readonly signingKey?: SigningKey;
  /** The absolute path it was read from, if from a file (Slurm nodes are told it). */
  readonly signingKeyFile?: string;
}

type Env = Readonly<Record<string, string | undefined>>;

function bad(message: string): Failure {
  return { reason: 'bad-cache-setting', message };
}

/** The key file's secret, refused when group or others may read it. */
function readKeyFile(file: string): Result<SigningKey> {
  let text: string;
  try {
    const st = statSync(file);
    if ((st.mode & 0o077) !== 0) {
      const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
      return fail([
        {
          reason: 'bad-cache-key',
          message: `signing key ${file}: permissions ${mode} are too open (others could sign as you); chmod 600 it`,
        },
      ]);
    }
    text = readFileSync(file, 'utf8');
  } catch (error) {
    return fail([{ reason: 'bad-cache-key', message: `signing key ${file}: ${errorMessage(error)}` }]);
  }
  const key = parseSigningKey(text.trim());
  return key
    ? ok(key)
    : fail([
        {
          reason: 'bad-cache-key',
          message: `signing key ${file}: not name:base64 of a 32-byte ed25519 seed`,
        },
      ]);
}

function signingKey(options: { flags: CacheFlags; env: Env; cwd: string }): Result<SigningKey | undefined> {
  const { flags, env } = options;
  const file = flags.keyFile ?? env.KIWIBOX_CACHE_KEY_FILE;
  if (file) return readKeyFile(resolve(options.cwd, file));
  const text = env.KIWIBOX_CACHE_KEY;
  if (!text) return ok(undefined);
  const key = parseSigningKey(text.trim());
  return key
    ? ok(key)
    : fail([
        { reason: 'bad-cache-key', message: 'KIWIBOX_CACHE_KEY: not name:base64 of a 32-byte ed25519 seed' },
      ]);
}

/** Extra trusted keys from KIWIBOX_CACHE_TRUSTED_KEYS (space or comma separated). */
function envTrustedKeys(env: Env): Result<TrustedKey[]> {
  const keys: TrustedKey[] = [];
  for (const text of (env.KIWIBOX_CACHE_TRUSTED_KEYS ?? '').split(/[\s,]+/).filter(Boolean)) {
    const parsed = parseTrustedKey(text);
    if (typeof parsed === 'string') {
      return fail([{ reason: 'bad-cache-key', message: `KIWIBOX_CACHE_TRUSTED_KEYS: ${parsed}` }]);
    }
    keys.push(parsed);
  }
  return ok(keys);
}

/** The cache to use, or undefined when none is configured or it is off. */
export function resolveCache(options: {
  readonly project: Pick<Project, 'cache'>;
  readonly flags?: CacheFlags;
  readonly env?: Env;
  readonly cwd?: string;
}): Result<CacheConfig | undefined> {
  const flags = options.flags ?? {};
  const env = options.env ?? process.env;
  const section = options.project.cache;
  const mode = flags.mode ?? env.KIWIBOX_CACHE_MODE;
  const modeSource = flags.mode !== undefined ? '--cache-mode' : 'KIWIBOX_CACHE_MODE';
  if (mode !== undefined && !MODES.includes(mode)) {
    return fail([bad(`${modeSource}: '${mode}' is not one of read-write, read-only, off`)]);
  }
  const store = flags.store ?? (env.KIWIBOX_CACHE || undefined) ?? section?.store;
  const chosenMode = (mode ?? section?.mode) as CacheMode | undefined;
  if (store === undefined || chosenMode === 'off') return ok(undefined);
  const address = parseStoreAddress(store);
  if (typeof address === 'string') {
    const source =
      flags.store !== undefined ? '--cache' : env.KIWIBOX_CACHE ? 'KIWIBOX_CACHE' : 'cache.store';
    return fail([bad(`${source}: ${address}`)]);
  }
  const namespace = flags.namespace ?? env.KIWIBOX_CACHE_NAMESPACE ?? section?.writeNamespace ?? '';
  if (namespace !== '' && !NAMESPACE.test(namespace)) {
    return fail([
      bad(`cache namespace '${namespace}': use lowercase letters, digits and . _ - (e.g. pr-123)`),
    ]);
  }
  const cwd = options.cwd ?? process.cwd();
  const key = signingKey({ flags, env, cwd });
  const keyFileGiven = flags.keyFile ?? env.KIWIBOX_CACHE_KEY_FILE;
  const keyFile = keyFileGiven ? resolve(cwd, keyFileGiven) : undefined;
  if (!key.ok) return key;
  const extra = envTrustedKeys(env);
  if (!extra.ok) return extra;
  const effective = chosenMode ?? (key.value ? 'read-write' : 'read-only');
  if (effective === 'read-write' && !key.value) {
    return fail([
      bad(
        'cache mode read-write needs a signing key: --cache-key-file, KIWIBOX_CACHE_KEY_FILE or KIWIBOX_CACHE_KEY',
      ),
    ]);
  }
  return ok({
    store,
    address,
    mode: effective,
    trustedKeys: [...(section?.trustedKeys ?? []), ...extra.value],
    readNamespaces: namespace === '' ? [''] : ['', namespace],
    writeNamespace: namespace,
    ...(effective === 'read-write' && key.value ? { signingKey: key.value } : {}),
    ...(effective === 'read-write' && keyFile ? { signingKeyFile: keyFile } : {}),
  });
}
