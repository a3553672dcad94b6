/**
 * The `sshfs` route for the official kiwi boxes (their guest side unchanged): a per-build key pair,
 * the share server without any TCP listener, and the reverse tunnel from the guest's port 10000
 * into it (see official-tunnel.ts). The guest's sshd is reached through a QEMU host forward to its
 * port 22 on 127.0.0.1: the VM runner's when it passes `guestSshPort`, otherwise a NIC added here.
 */
import { freeLocalPort } from '../../../core/net.js';
import { errorMessage, failWith, ok, type Result } from '../../../core/result.js';
import { generateBuildKeys } from '../../../sftp/keys.js';
import { startShareServer } from '../../../sftp/server.js';
import { officialBoxVariables, startOfficialTunnel } from './official-tunnel.js';
import type { SharingBackend, SharingSetup, SharingStartOptions } from './types.js';

/** SharingStartOptions plus the host port the VM runner forwards to the guest's port 22, if it does. */
export type OfficialStartOptions = SharingStartOptions & { readonly guestSshPort?: number };

export const officialSshfsBackend: SharingBackend = {
  name: 'sshfs',
  async start(start: OfficialStartOptions): Promise<Result<SharingSetup>> {
    const log = (line: string) => start.output(`sshfs: ${line}`, 'stderr');
    const keys = generateBuildKeys({ comment: `kiwibox-${start.step ?? 'build'}` });
    const paths = Object.fromEntries(start.shares.map((share) => [share.tag, `/${share.tag}`]));
    const server = await startShareServer({
      shares: start.shares.map((share) => ({
        path: `/${share.tag}`,
        dir: share.path,
        readOnly: share.readonly,
      })),
      clientPublicKey: keys.client.publicKey,
      hostKey: keys.host.privateKey,
      signal: start.signal,
      listen: false,
      onLog: log,
    });
    if (!server.ok) return server;
    let guestSshPort = start.guestSshPort;
    const args: string[] = [];
    if (guestSshPort === undefined) {
      try {
        guestSshPort = await freeLocalPort();
      } catch (error) {
        await server.value.stop();
        return failWith({ step: start.step, reason: 'sshfs-share-failed', message: errorMessage(error) });
      }
      args.push('-nic', `user,model=virtio-net-pci,hostfwd=tcp:127.0.0.1:${guestSshPort}-:22`);
    }
    const tunnel = startOfficialTunnel({
      guestSshPort,
      keys,
      server: server.value,
      signal: start.signal,
      onLog: log,
    });
    let stopped: Promise<void> | undefined;
    const stop = () => {
      stopped ??= tunnel.stop().then(() => server.value.stop());
      return stopped;
    };
    return ok({ qemu: { kind: 'external', args }, variables: officialBoxVariables({ keys, paths }), stop });
  },
};
