/**
 * HTTP to one registry (undici): the scheme and CA podman would use, credentials from the auth file,
 * challenges answered once and remembered per scope, short timeouts (a dead or slow cache is a miss,
 * not a stalled build).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { Agent, type Dispatcher, request } from 'undici';
import { type BasicCredentials, basicHeader, parseChallenge, registryCredentials } from './oci-auth.js';

type Env = Readonly<Record<string, string | undefined>>;

/** Connect and first-byte limits; a transfer may go on as long as bytes keep coming. */
const CONNECT_TIMEOUT_MS = 3000;
const HEADERS_TIMEOUT_MS = 15_000;
const BODY_IDLE_TIMEOUT_MS = 60_000;

/** `*.crt` of /etc/containers/certs.d/<registry>/ and the per-user twin, as podman reads them. */
function registryCAs(registry: string, env: Env): string[] {
  const dirs = [
    join('/etc/containers/certs.d', registry),
    join(env.HOME || homedir(), '.config', 'containers', 'certs.d', registry),
  ];
  const cas: string[] = [];
  for (const dir of dirs) {
    try {
      for (const name of readdirSync(dir)
        .filter((n) => n.endsWith('.crt'))
        .sort()) {
        cas.push(readFileSync(join(dir, name), 'utf8'));
      }
    } catch {
      // No directory: the system's CAs only.
    }
  }
  return cas;
}

export interface SendOptions {
  readonly method: Dispatcher.HttpMethod;
  /** A path (`/v2/…`) or an absolute URL (an upload's Location). */
  readonly url: string;
  readonly scope: string;
  readonly headers?: Record<string, string>;
  /** A Buffer or string is replayed after a challenge; a stream is not (authenticate first). */
  readonly body?: Buffer | string | Readable;
  readonly signal: AbortSignal;
}

export class RegistryClient {
  readonly base: string;
  readonly #dispatcher: Agent;
  readonly #credentials: BasicCredentials | undefined;
  /** scope → Authorization header value. */
  readonly #auth = new Map<string, string>();

  constructor(options: { readonly registry: string; readonly insecure: boolean; readonly env?: Env }) {
    const env = options.env ?? process.env;
    this.base = `${options.insecure ? 'http' : 'https'}://${options.registry}`;
    const ca = options.insecure ? [] : registryCAs(options.registry, env);
    const tls = ca.length ? { ca: [...ca] } : {};
    this.#dispatcher = new Agent({
      connect: { timeout: CONNECT_TIMEOUT_MS, ...tls },
      headersTimeout: HEADERS_TIMEOUT_MS,
      bodyTimeout: BODY_IDLE_TIMEOUT_MS,
    });
    this.#credentials = registryCredentials(options.registry, env);
  }

  async close(): Promise<void> {
    await this.#dispatcher.close();
  }

  async send(options: SendOptions): Promise<Dispatcher.ResponseData> {
    const first = await this.#once(options);
    if (
      first.statusCode !== 401 ||
      (options.body !== undefined && typeof options.body === 'object' && !Buffer.isBuffer(options.body))
    ) {
      return first;
    }
    const header = first.headers['www-authenticate'];
    await first.body.dump();
    // Unanswerable (no credentials): the second 401 goes back to the caller as the answer.
    await this.#answer(Array.isArray(header) ? header[0] : header, options);
    return this.#once(options);
  }

  #once(options: SendOptions): Promise<Dispatcher.ResponseData> {
    const url = options.url.startsWith('http') ? options.url : `${this.base}${options.url}`;
    const auth = this.#auth.get(options.scope);
    return request(url, {
      method: options.method,
      headers: { ...options.headers, ...(auth ? { authorization: auth } : {}) },
      body: options.body,
      dispatcher: this.#dispatcher,
      signal: options.signal,
    });
  }

  /** Obtains what the challenge asks for; false when there is nothing to answer with. */
  async #answer(header: string | undefined, options: SendOptions): Promise<boolean> {
    const challenge = header ? parseChallenge(header) : undefined;
    if (!challenge) return false;
    if (challenge.scheme === 'basic') {
      if (!this.#credentials) return false;
      this.#auth.set(options.scope, basicHeader(this.#credentials));
      return true;
    }
    const { realm, service } = challenge.params;
    if (!realm) return false;
    const url = new URL(realm);
    if (service) url.searchParams.set('service', service);
    url.searchParams.set('scope', options.scope);
    const response = await request(url, {
      headers: this.#credentials ? { authorization: basicHeader(this.#credentials) } : {},
      dispatcher: this.#dispatcher,
      signal: options.signal,
    });
    if (response.statusCode !== 200) {
      await response.body.dump();
      return false;
    }
    const body = (await response.body.json()) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (!token) return false;
    this.#auth.set(options.scope, `Bearer ${token}`);
    return true;
  }
}
