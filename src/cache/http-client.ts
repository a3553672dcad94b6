/**
 * One HTTP cache server as undici sees it: the base URL, the agent (timeouts, the extra CA), basic
 * auth, and the translation of what went wrong into failures that name the URL. A failure here is
 * fast by design: the cache layer treats it as a miss and runs the step.
 */
import type { Readable } from 'node:stream';
import { rootCertificates } from 'node:tls';
import { Agent, type Dispatcher, request } from 'undici';
import type { FailureReason } from '../core/reasons.js';
import { errorMessage, type Failure, failWith, ok, type Result } from '../core/result.js';
import { HTTP_PASSWORD_VAR, HTTP_USER_VAR, type HttpCredentials } from './http-auth.js';

export interface HttpClientOptions {
  /** `http(s)://host:port[/prefix]`, no trailing slash. */
  readonly base: string;
  readonly credentials?: HttpCredentials;
  /** PEM text of extra CAs trusted besides Node's bundled ones. */
  readonly ca?: string;
  readonly connectTimeoutMs: number;
  /** Longest wait for the response headers, and for each chunk of a body after that. */
  readonly idleTimeoutMs: number;
}

export interface HttpCall {
  readonly method: 'GET' | 'HEAD' | 'PUT' | 'DELETE';
  /** Relative to the base: `cas/<hex>`, `pr-12/ac/<hex>`. */
  readonly path: string;
  readonly signal: AbortSignal;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: Buffer | Readable;
}

/** TLS errors (Node's `code`s): the certificate is not trusted or does not fit. */
const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'ERR_SSL_WRONG_VERSION_NUMBER',
]);

function errorCode(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

export class HttpClient {
  readonly #base: string;
  readonly #dispatcher: Dispatcher;
  readonly #authorization?: string;

  constructor(options: HttpClientOptions) {
    this.#base = options.base;
    this.#dispatcher = new Agent({
      // `ca` replaces Node's CA list: keep the bundled roots beside the extra ones.
      connect: {
        timeout: options.connectTimeoutMs,
        ...(options.ca ? { ca: [...rootCertificates, options.ca] } : {}),
      },
      headersTimeout: options.idleTimeoutMs,
      bodyTimeout: options.idleTimeoutMs,
    });
    const { credentials } = options;
    if (credentials)
      this.#authorization = `Basic ${Buffer.from(`${credentials.user}:${credentials.password}`).toString('base64')}`;
  }

  /** Closes idle connections; requests still running finish first. */
  close(): Promise<void> {
    return this.#dispatcher.close();
  }

  /** The absolute URL of `path` (for messages too: it never holds credentials). */
  url(path: string): string {
    return `${this.#base}/${path}`;
  }

  /** Sends one request; a thrown network error becomes a failure naming method and URL. */
  async send(call: HttpCall): Promise<Result<Dispatcher.ResponseData>> {
    const url = this.url(call.path);
    const headers: Record<string, string> = { ...call.headers };
    if (this.#authorization) headers.authorization = this.#authorization;
    try {
      return ok(
        await request(url, {
          method: call.method,
          headers,
          signal: call.signal,
          dispatcher: this.#dispatcher,
          ...(call.body === undefined ? {} : { body: call.body }),
        }),
      );
    } catch (error) {
      return failWith(this.networkFailure({ method: call.method, url, error, signal: call.signal }));
    }
  }

  /** What a thrown error means: cancelled, TLS trouble, or an unreachable server. */
  networkFailure(options: { method: string; url: string; error: unknown; signal: AbortSignal }): Failure {
    const { method, url, error } = options;
    if (options.signal.aborted) return { reason: 'cancelled', message: `${method} ${url}: cancelled` };
    const code = errorCode(error);
    const detail = `${errorMessage(error)}${code && !errorMessage(error).includes(code) ? ` (${code})` : ''}`;
    if (code && (TLS_CODES.has(code) || code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS')))
      return {
        reason: 'http-cache-tls',
        message: `${method} ${url}: TLS: ${detail} (is the server's CA given as the cache's CA file?)`,
      };
    return { reason: 'http-cache-unreachable', message: `${method} ${url}: ${detail}` };
  }

  /** A failure for an unexpected answer: 401/403 are "denied", the rest name their status. */
  statusFailure(options: { method: string; path: string; status: number; hint?: string }): Failure {
    const { method, status } = options;
    const url = this.url(options.path);
    const denied = status === 401 || status === 403;
    const reason: FailureReason = denied ? 'http-cache-denied' : 'http-cache-status';
    const why =
      options.hint ??
      (status === 401
        ? this.#authorization
          ? 'the server rejected the credentials'
          : `the server wants credentials (set ${HTTP_USER_VAR} and ${HTTP_PASSWORD_VAR}, or a netrc entry)`
        : status === 403
          ? 'the server forbids this'
          : undefined);
    return { reason, message: `${method} ${url}: HTTP ${status}${why ? `: ${why}` : ''}` };
  }
}
