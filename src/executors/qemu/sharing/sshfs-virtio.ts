/**
 * The `sshfs` sharing backend for boxes that use kiwibox's guest side (the test box with the sshfs
 * layer): each share gets a virtio-serial port named `org.kiwibox.sftp.<tag>` whose host end is a
 * unix socket in the run's private directory. QEMU connects to it at start; kiwibox serves SFTP on
 * the connection (same handlers and confinement as the SSH server) and the guest mounts it with the
 * real `sshfs -o passive`. No TCP port, key or guest network exists, so nothing else can reach the
 * server; the run directory (0700) keeps other local users away from the sockets.
 */
import { rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { errorMessage, failWith, ok, type Result } from '../../../core/result.js';
import { type ResolvedShare, resolveShares } from '../../../sftp/confine.js';
import { serveRawSftp } from '../../../sftp/raw-sftp.js';
import { qemuOptValue } from '../qemu-argv.js';
import type { SharingBackend, SharingSetup, SharingStartOptions } from './types.js';

/** Prefix of the virtio-serial port names the guest looks for (`org.kiwibox.sftp.kiwibundle`). */
export const SFTP_PORT_PREFIX = 'org.kiwibox.sftp.';

/** The SFTP path a share tag is served under (`/kiwidescription`, `/kiwibundle`, `/custompath`). */
export const sftpPathOf = (tag: string) => `/${tag}`;

interface Listener {
  readonly server: Server;
  readonly socketPath: string;
  readonly streams: Set<Socket>;
}

async function listen(options: {
  readonly socketPath: string;
  readonly shares: readonly ResolvedShare[];
  readonly tag: string;
  readonly output: SharingStartOptions['output'];
}): Promise<Listener> {
  const streams = new Set<Socket>();
  const server = createServer((stream) => {
    // One connection per port: QEMU's. Anything after it is refused.
    if (streams.size > 0) {
      stream.destroy();
      return;
    }
    streams.add(stream);
    stream.once('close', () => streams.delete(stream));
    serveRawSftp({
      stream,
      shares: options.shares,
      onRefused: (what) => options.output(`sshfs[${options.tag}]: refused ${what}`, 'stderr'),
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return { server, socketPath: options.socketPath, streams };
}

async function closeListener(listener: Listener): Promise<void> {
  for (const stream of listener.streams) stream.destroy();
  await new Promise<void>((resolve) => listener.server.close(() => resolve()));
  await rm(listener.socketPath, { force: true });
}

/** QEMU arguments: one virtio-serial bus, one named port per share, each on its unix socket. */
export function sshfsQemuArgs(
  ports: readonly { readonly tag: string; readonly socketPath: string }[],
): string[] {
  const args = ['-device', 'virtio-serial-pci,id=kbsftp'];
  ports.forEach((port, index) => {
    args.push(
      '-chardev',
      `socket,id=kbsftp${index},path=${qemuOptValue(port.socketPath)}`,
      '-device',
      `virtserialport,bus=kbsftp.0,chardev=kbsftp${index},name=${SFTP_PORT_PREFIX}${port.tag}`,
    );
  });
  return args;
}

/** The test-box route alone; `sshfsBackend` (sshfs-share.ts) combines it with the official-box route. */
export const virtioSftpBackend: SharingBackend = {
  name: 'sshfs',
  async start(start): Promise<Result<SharingSetup>> {
    let shares: ResolvedShare[];
    try {
      shares = await resolveShares(
        start.shares.map((share) => ({
          path: sftpPathOf(share.tag),
          dir: share.path,
          readOnly: share.readonly,
        })),
      );
    } catch (error) {
      return failWith({ step: start.step, reason: 'sshfs-share-failed', message: errorMessage(error) });
    }
    const listeners: Listener[] = [];
    let stopped: Promise<void> | undefined;
    const stop = () => {
      stopped ??= Promise.all(listeners.map(closeListener)).then(() => undefined);
      return stopped;
    };
    try {
      for (const [index, share] of start.shares.entries()) {
        const socketPath = join(start.runDir, `sftp${index}.sock`);
        listeners.push(await listen({ socketPath, shares, tag: share.tag, output: start.output }));
      }
    } catch (error) {
      await stop();
      return failWith({
        step: start.step,
        reason: 'sshfs-share-failed',
        message: `cannot open the sftp sockets: ${errorMessage(error)}`,
      });
    }
    const ports = start.shares.map((share, index) => ({
      tag: share.tag,
      socketPath: listeners[index]?.socketPath ?? '',
    }));
    return ok({ qemu: { kind: 'external', args: sshfsQemuArgs(ports) }, variables: {}, stop });
  },
};
