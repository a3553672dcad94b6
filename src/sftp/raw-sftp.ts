/**
 * SFTP without SSH: the same request handlers and confinement, spoken directly over a byte stream.
 * The project's test box uses it through `sshfs -o passive` on a virtio-serial port whose host end is
 * a unix socket in the run's private directory, so no TCP port, key or guest network is involved.
 *
 * ssh2 does not export a stream-backed SFTP server, but its SFTP class only needs a channel-like
 * object: outgoing bytes go to `_protocol.channelData`, incoming bytes are `push`ed. That is what is
 * emulated here (ssh2 is pinned to ^1.17; the unit test exercises the emulation with a real client).
 */
import { createRequire } from 'node:module';
import type { Duplex } from 'node:stream';
import type { SFTPWrapper } from 'ssh2';
import type { ResolvedShare } from './confine.js';
import { serveSftp } from './handlers.js';

type SftpServerInstance = SFTPWrapper & { push(data: Buffer | null): void };
type SftpConstructor = new (
  client: unknown,
  chanInfo: unknown,
  config: { server: boolean; debug?: (line: string) => void },
) => SftpServerInstance;

const require = createRequire(import.meta.url);
const { SFTP } = require('ssh2/lib/protocol/SFTP.js') as { SFTP: SftpConstructor };

/**
 * Identifies the peer as OpenSSH-compatible to ssh2: sshfs and OpenSSH's sftp send SYMLINK with
 * target and link swapped, which ssh2 undoes only for peers it takes for OpenSSH.
 */
const PEER_IDENT = 'SSH-2.0-OpenSSH_raw-sftp';

export interface RawSftpOptions {
  readonly stream: Duplex;
  readonly shares: readonly ResolvedShare[];
  readonly onRefused?: (what: string) => void;
}

/** Serves SFTP on `stream` until it ends; closing the session ends the stream. */
export function serveRawSftp(options: RawSftpOptions): void {
  const { stream } = options;
  const endpoint = () => ({ id: 0, window: Number.POSITIVE_INFINITY, packetSize: 256 * 1024, state: 'open' });
  const chanInfo = { type: 'session', incoming: endpoint(), outgoing: endpoint() };
  const protocol = {
    _remoteIdentRaw: PEER_IDENT,
    channelData: (_id: number, data: Buffer) => {
      if (!stream.destroyed) stream.write(data);
    },
    channelClose: () => {
      chanInfo.outgoing.state = 'closed';
      stream.end();
    },
  };
  const sftp = new SFTP({ _protocol: protocol }, chanInfo, { server: true });
  serveSftp(sftp, { shares: options.shares, onRefused: options.onRefused });
  stream.on('data', (chunk: Buffer) => sftp.push(chunk));
  stream.once('end', () => sftp.push(null));
  stream.once('close', () => {
    chanInfo.outgoing.state = 'closed';
    sftp.emit('close');
  });
  // A protocol error (garbage from the peer) closes the stream through channelClose.
  sftp.on('error', () => stream.destroy());
  stream.on('error', () => undefined);
}
