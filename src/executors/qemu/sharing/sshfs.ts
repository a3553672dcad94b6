/**
 * `sharing: sshfs` for every box (index.ts loads it on first use). It starts
 * both routes, since the backend cannot see which guest protocol a box speaks: the virtio-serial
 * SFTP ports that kiwibox's test box mounts (sshfs-virtio.ts) and the per-build SSH server behind
 * the reverse tunnel the official boxes use (sshfs-official.ts). A guest uses one; the other idles.
 * Use `virtioSftpBackend` or `officialSshfsBackend` alone where the box kind is known.
 */
import { fail, ok } from '../../../core/result.js';
import { type OfficialStartOptions, officialSshfsBackend } from './sshfs-official.js';
import { virtioSftpBackend } from './sshfs-virtio.js';
import type { SharingBackend } from './types.js';

export { officialSshfsBackend } from './sshfs-official.js';
export { virtioSftpBackend } from './sshfs-virtio.js';

export const sshfsBackend: SharingBackend = {
  name: 'sshfs',
  async start(start: OfficialStartOptions) {
    const virtio = await virtioSftpBackend.start(start);
    if (!virtio.ok) return virtio;
    const official = await officialSshfsBackend.start(start);
    if (!official.ok) {
      await virtio.value.stop();
      return fail(official.error);
    }
    const argsOf = (setup: typeof virtio.value) => (setup.qemu.kind === 'external' ? setup.qemu.args : []);
    return ok({
      qemu: { kind: 'external', args: [...argsOf(virtio.value), ...argsOf(official.value)] },
      variables: { ...virtio.value.variables, ...official.value.variables },
      stop: async () => {
        await Promise.all([virtio.value.stop(), official.value.stop()]);
      },
    });
  },
};
