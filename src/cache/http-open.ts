/**
 * The HTTP store as a cache configuration opens it: the URL from the configuration, credentials and
 * (unless the configuration names one) the CA file from the environment.
 */
import type { Result } from '../core/result.js';
import { httpCredentialsFromEnv } from './http-auth.js';
import { createHttpStore } from './http-store.js';
import type { CacheStore } from './store.js';

/** A PEM file of extra CAs for an https:// cache (a team CA, a self-signed server). */
export const HTTP_CA_FILE_VAR = 'KIWIBOX_CACHE_HTTP_CA_FILE';

export function openHttpStore(options: {
  /** `http(s)://host[:port][/prefix]`. */
  readonly url: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Overrides KIWIBOX_CACHE_HTTP_CA_FILE (e.g. a `cache:` setting, resolved against the project). */
  readonly caFile?: string;
}): Result<CacheStore> {
  const credentials = httpCredentialsFromEnv({ url: options.url, env: options.env });
  if (!credentials.ok) return credentials;
  const caFile = options.caFile ?? (options.env[HTTP_CA_FILE_VAR] || undefined);
  return createHttpStore({
    url: options.url,
    ...(credentials.value ? { credentials: credentials.value } : {}),
    ...(caFile ? { caFile } : {}),
  });
}
