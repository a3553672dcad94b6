/**
 * Registry credentials as podman finds them (containers-auth.json(5)): $REGISTRY_AUTH_FILE,
 * ${XDG_RUNTIME_DIR}/containers/auth.json, ~/.config/containers/auth.json, ~/.docker/config.json;
 * the first file with an entry for the registry wins. Then the token dance the distribution spec
 * asks for: a 401's `WWW-Authenticate: Basic` or `Bearer realm=…,service=…,scope=…` challenge.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

type Env = Readonly<Record<string, string | undefined>>;

export interface BasicCredentials {
  readonly user: string;
  readonly password: string;
}

function authFiles(env: Env): string[] {
  const home = env.HOME || homedir();
  return [
    env.REGISTRY_AUTH_FILE,
    env.XDG_RUNTIME_DIR ? join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json') : undefined,
    join(home, '.config', 'containers', 'auth.json'),
    join(home, '.docker', 'config.json'),
  ].filter((f): f is string => Boolean(f));
}

/** `podman login`'s credentials for `registry` (`host[:port]`), if any file has them. */
export function registryCredentials(registry: string, env: Env = process.env): BasicCredentials | undefined {
  for (const file of authFiles(env)) {
    let auths: Record<string, { auth?: string }> | undefined;
    try {
      auths = (JSON.parse(readFileSync(file, 'utf8')) as { auths?: typeof auths }).auths;
    } catch {
      continue;
    }
    const entry = auths?.[registry] ?? auths?.[`https://${registry}`] ?? auths?.[`http://${registry}`];
    if (!entry?.auth) continue;
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  return undefined;
}

export function basicHeader(credentials: BasicCredentials): string {
  return `Basic ${Buffer.from(`${credentials.user}:${credentials.password}`).toString('base64')}`;
}

export interface Challenge {
  readonly scheme: 'basic' | 'bearer';
  readonly params: Readonly<Record<string, string>>;
}

/** One `WWW-Authenticate` header value → its scheme and parameters. */
export function parseChallenge(header: string): Challenge | undefined {
  const match = /^\s*(\w+)\s*(.*)$/.exec(header);
  const scheme = match?.[1]?.toLowerCase();
  if (scheme !== 'basic' && scheme !== 'bearer') return undefined;
  const params: Record<string, string> = {};
  for (const p of (match?.[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)) params[p[1] as string] = p[2] as string;
  return { scheme, params };
}
