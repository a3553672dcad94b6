/**
 * Where the HTTP cache's basic-auth credentials come from: never kiwibox.yaml (it is committed), but
 * the environment (CI secrets) or, failing that, the netrc file curl and git already use (laptops).
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { errorMessage, failWith, ok, type Result } from '../core/result.js';

export interface HttpCredentials {
  readonly user: string;
  readonly password: string;
}

export const HTTP_USER_VAR = 'KIWIBOX_CACHE_HTTP_USER';
export const HTTP_PASSWORD_VAR = 'KIWIBOX_CACHE_HTTP_PASSWORD';

const credentialsFailure = (message: string) => failWith({ reason: 'http-cache-credentials', message });

/**
 * The credentials for `url`: KIWIBOX_CACHE_HTTP_USER and KIWIBOX_CACHE_HTTP_PASSWORD when either is
 * set (both must be), else the `machine <host>` (or `default`) entry of $NETRC or ~/.netrc, else none
 * (reads then go out anonymously and a write the server protects fails with 401).
 */
export function httpCredentialsFromEnv(options: {
  readonly url: string;
  readonly env: Readonly<Record<string, string | undefined>>;
}): Result<HttpCredentials | undefined> {
  const { env } = options;
  const user = env[HTTP_USER_VAR];
  const password = env[HTTP_PASSWORD_VAR];
  if (user !== undefined || password !== undefined) {
    if (!user || password === undefined)
      return credentialsFailure(`${HTTP_USER_VAR} and ${HTTP_PASSWORD_VAR} must be set together`);
    return ok({ user, password });
  }
  let host: string;
  try {
    host = new URL(options.url).hostname;
  } catch {
    return ok(undefined);
  }
  const explicit = env.NETRC;
  const file = explicit || join(env.HOME || homedir(), '.netrc');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    // No ~/.netrc is the normal case; a NETRC the user named must be readable.
    if (!explicit && (error as NodeJS.ErrnoException).code === 'ENOENT') return ok(undefined);
    return credentialsFailure(`cannot read the netrc file ${file}: ${errorMessage(error)}`);
  }
  return ok(netrcEntry(text, host));
}

/** The login and password netrc gives `host` (its `machine` entry, else `default`). */
export function netrcEntry(text: string, host: string): HttpCredentials | undefined {
  const tokens = text
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('#'))
    .join('\n')
    .split(/\s+/)
    .filter(Boolean);
  let machine: string | undefined;
  const found = new Map<string, { login?: string; password?: string }>();
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    if (token === 'machine') machine = tokens[++i];
    else if (token === 'default') machine = '';
    else if (token === 'macdef')
      machine = undefined; // A macro body follows; its words are not entries.
    else if ((token === 'login' || token === 'password') && machine !== undefined) {
      const entry = found.get(machine) ?? {};
      entry[token] = tokens[++i];
      found.set(machine, entry);
    }
  }
  const entry = found.get(host) ?? found.get('');
  return entry?.login && entry.password !== undefined
    ? { user: entry.login, password: entry.password }
    : undefined;
}
