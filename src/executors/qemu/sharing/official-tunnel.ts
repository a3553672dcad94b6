/**
 * sshfs for the official kiwi boxes, with the box side unchanged. Their guest adds the key from the
 * `ssh_key`/`ssh_key_type` variables to root's authorized_keys, waits until localhost:10000 answers,
 * and runs `sshfs -p 10000 <user>@localhost:<host_kiwidescription> /description` (and the bundle).
 * Upstream points that port at the host's sshd through `ssh -R 10000:localhost:22`, which needs the
 * boxes' public "unsafe" key in ~/.ssh/authorized_keys. Here the reverse tunnel ends in kiwibox's
 * share server instead (streams are injected, no TCP hop), and before opening it the host installs
 * the build's own client key as the guest's id_ed25519, so the server still accepts only that key.
 */

import type { Client as ClientType } from 'ssh2';
import ssh2 from 'ssh2';
import type { BuildKeys } from '../../../sftp/keys.js';
import type { ShareServer } from '../../../sftp/server.js';

const { Client } = ssh2;

/** The port the official boxes' guest waits for and mounts through. */
export const OFFICIAL_GUEST_PORT = 10000;

/** Box variables for the official guest protocol (values carry no spaces, as the cmdline needs). */
export function officialBoxVariables(options: {
  readonly keys: BuildKeys;
  /** SFTP paths by share tag, e.g. `{ kiwidescription: '/kiwidescription', kiwibundle: '/kiwibundle' }`. */
  readonly paths: Readonly<Record<string, string>>;
}): Record<string, string> {
  const [type = '', blob = ''] = options.keys.client.publicKey.split(' ');
  const variables: Record<string, string> = { ssh_key: blob, ssh_key_type: type };
  for (const [tag, path] of Object.entries(options.paths)) variables[`host_${tag}`] = path;
  return variables;
}

export interface OfficialTunnelOptions {
  /** Host port forwarded to the guest's sshd (QEMU hostfwd on 127.0.0.1). */
  readonly guestSshPort: number;
  readonly keys: BuildKeys;
  readonly server: ShareServer;
  readonly signal: AbortSignal;
  /** Port opened inside the guest; default 10000 (what the official guest waits for). */
  readonly guestPort?: number;
  /** Pause between connection attempts while the guest boots; default 2000 ms. */
  readonly retryMs?: number;
  readonly onLog?: (line: string) => void;
}

export interface OfficialTunnel {
  /** Resolves once the tunnel is open in the guest (for tests and logs); never rejects. */
  readonly established: Promise<void>;
  stop(): Promise<void>;
}

/** Installs the build's key in the guest: `~root/.ssh/id_ed25519`, which the guest's ssh tries. */
function installGuestKey(client: ClientType, privateKey: string): Promise<boolean> {
  const script = 'umask 077 && mkdir -p /root/.ssh && cat > /root/.ssh/id_ed25519';
  return new Promise((resolve) => {
    client.exec(script, (error, channel) => {
      if (error) {
        resolve(false);
        return;
      }
      channel.on('exit', (code: number | null) => resolve(code === 0));
      channel.on('close', () => resolve(false));
      channel.on('data', () => undefined);
      channel.stderr.on('data', () => undefined);
      channel.end(privateKey);
    });
  });
}

/**
 * Keeps trying to log into the guest (it boots slowly) until the build ends; once in, installs the
 * key and opens the reverse tunnel, whose connections go straight into the share server.
 */
export function startOfficialTunnel(options: OfficialTunnelOptions): OfficialTunnel {
  const log = options.onLog ?? (() => undefined);
  const guestPort = options.guestPort ?? OFFICIAL_GUEST_PORT;
  let stopped = false;
  let current: ClientType | undefined;
  let timer: NodeJS.Timeout | undefined;
  let markEstablished: () => void = () => undefined;
  const established = new Promise<void>((resolve) => {
    markEstablished = resolve;
  });

  const attempt = () => {
    if (stopped) return;
    const client = new Client();
    current = client;
    let retried = false;
    const retry = () => {
      if (retried || stopped) return;
      retried = true;
      client.end();
      timer = setTimeout(attempt, options.retryMs ?? 2000);
    };
    client.on('ready', async () => {
      // Every SFTP request of the guest crosses this connection: no Nagle delay on small packets.
      (client as unknown as { setNoDelay(on: boolean): void }).setNoDelay(true);
      if (!(await installGuestKey(client, options.keys.client.privateKey))) {
        log('sshfs tunnel: could not install the build key in the guest; retrying');
        retry();
        return;
      }
      client.forwardIn('localhost', guestPort, (error) => {
        if (error) {
          log(`sshfs tunnel: the guest refused the reverse tunnel (${error.message}); retrying`);
          retry();
          return;
        }
        log(`sshfs tunnel: guest port ${guestPort} → kiwibox share server`);
        markEstablished();
      });
    });
    client.on('tcp connection', (_info, accept) => options.server.injectSocket(accept()));
    client.on('error', retry);
    client.on('close', retry);
    client.connect({
      host: '127.0.0.1',
      port: options.guestSshPort,
      username: 'root',
      privateKey: options.keys.client.privateKey,
      // The guest's host key is new on every boot (upstream removes it from known_hosts each time).
      hostVerifier: () => true,
      readyTimeout: 20_000,
    });
  };

  const stop = async () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    options.signal.removeEventListener('abort', onAbort);
    current?.end();
  };
  const onAbort = () => void stop();
  options.signal.addEventListener('abort', onAbort, { once: true });
  if (options.signal.aborted) void stop();
  else attempt();
  return { established, stop };
}
