/**
 * The embedded SSH server behind `sharing: sshfs`: alive only for one build, listening on 127.0.0.1,
 * accepting only that build's client key, and granting nothing but the `sftp` subsystem over the
 * build's two shares. It replaces upstream's use of the host sshd and ~/.ssh/authorized_keys.
 */
import { timingSafeEqual } from 'node:crypto';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { AuthContext, Connection, ParsedKey, Session } from 'ssh2';
import ssh2 from 'ssh2';
import { errorMessage, failWith, ok, type Result } from '../core/result.js';
import { resolveShares, type Share } from './confine.js';
import { serveSftp } from './handlers.js';

const { Server, utils } = ssh2;

/** Failed authentication attempts allowed per connection before it is dropped. */
const MAX_AUTH_FAILURES = 6;

export interface ShareServerOptions {
  /** The directories served, e.g. `{ path: '/kiwidescription', dir, readOnly: true }`. */
  readonly shares: readonly Share[];
  /** OpenSSH public key line (or private key) of the only client allowed in. */
  readonly clientPublicKey: string;
  /** Private host key (OpenSSH or PEM). */
  readonly hostKey: string;
  /** Aborting stops the server like `stop()`. */
  readonly signal?: AbortSignal;
  /** Port on 127.0.0.1; default 0 (a free one). */
  readonly port?: number;
  /** false: no TCP listener at all, connections arrive only through `injectSocket`. Default true. */
  readonly listen?: boolean;
  /** Audit lines: connections, refused auth, refused channels and requests. */
  readonly onLog?: (line: string) => void;
}

export interface ShareServer {
  /** The TCP port on 127.0.0.1 (0 when started with `listen: false`). */
  readonly port: number;
  /**
   * Hands the server an already connected stream (e.g. a channel forwarded out of a guest), which
   * then goes through the same handshake and key check as a TCP client.
   */
  injectSocket(socket: Duplex): void;
  /** Closes the listener and every connection; resolves when the port is closed. Idempotent. */
  stop(): Promise<void>;
}

function parseOne(key: string): ParsedKey | undefined {
  const parsed = utils.parseKey(key);
  if (parsed instanceof Error) return undefined;
  return Array.isArray(parsed) ? parsed[0] : parsed;
}

/** Public-key check: the offered key must be the build's key, and the signature must verify. */
function checkAuth(ctx: AuthContext, allowed: ParsedKey, allowedBlob: Buffer): boolean {
  if (ctx.method !== 'publickey') return false;
  const offered = ctx.key.data;
  if (ctx.key.algo !== allowed.type || offered.length !== allowedBlob.length) return false;
  if (!timingSafeEqual(offered, allowedBlob)) return false;
  // Without a signature the client only asks whether the key would do; the real attempt follows.
  if (!ctx.signature || !ctx.blob) return true;
  return allowed.verify(ctx.blob, ctx.signature, ctx.hashAlgo) === true;
}

/** Starts the share server; fails with `sshfs-server-*` reasons if a key or a share is unusable. */
export async function startShareServer(options: ShareServerOptions): Promise<Result<ShareServer>> {
  const log = options.onLog ?? (() => undefined);
  const allowed = parseOne(options.clientPublicKey);
  if (!allowed)
    return failWith({ reason: 'sshfs-server-bad-key', message: 'the client public key does not parse' });
  const allowedBlob = allowed.getPublicSSH();
  if (!parseOne(options.hostKey)?.isPrivateKey()) {
    return failWith({ reason: 'sshfs-server-bad-key', message: 'the host key is not a private key' });
  }
  let shares: Awaited<ReturnType<typeof resolveShares>>;
  try {
    shares = await resolveShares(options.shares);
  } catch (error) {
    return failWith({ reason: 'sshfs-server-bad-share', message: errorMessage(error) });
  }
  if (options.signal?.aborted) return failWith({ reason: 'cancelled', message: 'share server not started' });

  const connections = new Set<Connection>();
  const server = new Server({ hostKeys: [options.hostKey], ident: 'kiwibox-sftp' }, (client, info) => {
    connections.add(client);
    // SFTP is request/response: Nagle plus delayed ACKs would add ~40 ms to every small request.
    (client as unknown as { setNoDelay(on: boolean): void }).setNoDelay(true);
    const peer = `${info.ip ?? 'injected'}:${info.port ?? 0} (${info.header.identRaw})`;
    log(`connection from ${peer}`);
    let failures = 0;
    client.on('authentication', (ctx) => {
      if (checkAuth(ctx, allowed, allowedBlob)) {
        if (ctx.method === 'publickey' && ctx.signature) log(`${peer}: authenticated as ${ctx.username}`);
        ctx.accept();
        return;
      }
      if (ctx.method !== 'none') log(`${peer}: ${ctx.method} authentication refused`);
      failures += 1;
      ctx.reject(['publickey']);
      if (failures >= MAX_AUTH_FAILURES) client.end();
    });
    client.on('ready', () => {
      client.on('session', (accept) => handleSession(accept(), { shares, log, peer }));
      // Port forwarding in either direction and agent/X11 are never granted (explicitly refused).
      client.on('tcpip', (_accept, reject, data) => {
        log(`${peer}: direct-tcpip to ${data.destIP}:${data.destPort} refused`);
        reject();
      });
      client.on('openssh.streamlocal', (_accept, reject) => {
        log(`${peer}: streamlocal refused`);
        reject();
      });
      client.on('request', (_accept, reject, name) => {
        log(`${peer}: global request ${name} refused`);
        reject?.();
      });
    });
    client.on('error', (error) => log(`${peer}: ${error.message}`));
    client.on('close', () => connections.delete(client));
  });
  server.on('error', (error: Error) => log(`server error: ${error.message}`));

  const listening = await new Promise<Result<number>>((resolve) => {
    if (options.listen === false) {
      resolve(ok(0));
      return;
    }
    const onError = (error: Error) =>
      resolve(failWith({ reason: 'sshfs-server-listen-failed', message: errorMessage(error) }));
    server.once('error', onError);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', onError);
      const address = server.address();
      resolve(ok(typeof address === 'object' && address ? address.port : 0));
    });
  });
  if (!listening.ok) return listening;

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= new Promise<void>((resolve) => {
      options.signal?.removeEventListener('abort', onAbort);
      if (options.listen === false) resolve();
      else server.close(() => resolve());
      for (const client of connections) client.end();
      // end() waits for the peer; a stuck peer must not keep the port's connections open.
      setTimeout(() => {
        for (const client of connections) (client as unknown as { _sock?: Duplex })._sock?.destroy();
      }, 1000).unref();
    });
    return stopping;
  };
  const onAbort = () => void stop();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) onAbort();

  return ok({
    port: listening.value,
    stop,
    injectSocket: (socket: Duplex) => server.injectSocket(socket as Socket),
  });
}

/** One session channel: the `sftp` subsystem is the only thing it may become. */
function handleSession(
  session: Session,
  context: { shares: Awaited<ReturnType<typeof resolveShares>>; log: (line: string) => void; peer: string },
): void {
  const { log, peer } = context;
  let sftpStarted = false;
  session.on('sftp', (accept, reject) => {
    if (sftpStarted) {
      reject();
      return;
    }
    sftpStarted = true;
    serveSftp(accept(), { shares: context.shares, onRefused: (what) => log(`${peer}: refused ${what}`) });
  });
  const refuse = (what: string) => (_accept: unknown, reject?: () => void) => {
    log(`${peer}: ${what} refused`);
    reject?.();
  };
  session.on('exec', refuse('exec'));
  session.on('shell', refuse('shell'));
  session.on('pty', refuse('pty'));
  session.on('env', refuse('env'));
  session.on('x11', refuse('x11'));
  session.on('auth-agent', refuse('agent forwarding'));
  session.on('subsystem', refuse('subsystem'));
  session.on('signal', refuse('signal'));
}
