/**
 * virtiofs: one virtiofsd per share, each in a private mount namespace where the share is bind-mounted
 * on an empty directory of the run (read-only for read-only shares: the C virtiofsd has no read-only
 * mode and the guest could remount rw). The namespace and its mounts vanish with the process, and each
 * run has its own sockets, so parallel runs never meet. virtiofsd needs root.
 */
import { access, mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fail, failWith, ok, type Result } from '../../../core/result.js';
import { type GroupChild, spawnGroup, stopGroup } from '../../../process/group.js';
import type { QemuShare } from '../qemu-argv.js';
import type { SharingBackend, SharingSetup, SharingStartOptions } from './types.js';

/** Where virtiofsd may live (Debian: in qemu-system-common). */
export const VIRTIOFSD_PATHS = ['/usr/lib/qemu/virtiofsd', '/usr/libexec/virtiofsd'] as const;

// A fixed script; paths arrive as positional parameters, never inside the script text.
const SCRIPT = [
  'mount --bind -- "$1" "$2"',
  'if [ "$4" = ro ]; then mount -o remount,bind,ro -- "$2"; fi',
  'exec "$5" --socket-path="$3" -o source="$2" -o cache=auto -o log_level=warn',
].join(' && ');

async function findVirtiofsd(): Promise<string | undefined> {
  for (const path of VIRTIOFSD_PATHS) {
    try {
      await access(path);
      return path;
    } catch {
      // Try the next one.
    }
  }
  return undefined;
}

async function waitForSocket(path: string, child: GroupChild, signal: AbortSignal): Promise<boolean> {
  for (let i = 0; i < 200 && child.running() && !signal.aborted; i++) {
    try {
      if ((await stat(path)).isSocket()) return true;
    } catch {
      // Not yet.
    }
    await sleep(50);
  }
  return false;
}

async function startOne(options: {
  readonly share: QemuShare;
  readonly index: number;
  readonly virtiofsd: string;
  readonly start: SharingStartOptions;
}): Promise<Result<{ child: GroupChild; socket: string }>> {
  const { share, index, start } = options;
  const mountpoint = join(start.runDir, `vfs${index}`);
  const socket = join(start.runDir, `vfs${index}.sock`);
  await mkdir(mountpoint);
  const lines: string[] = [];
  const child = spawnGroup({
    argv: [
      'unshare',
      '--mount',
      '--propagation',
      'private',
      '--',
      'sh',
      '-c',
      SCRIPT,
      'kiwibox-virtiofsd',
      share.path,
      mountpoint,
      socket,
      share.readonly ? 'ro' : 'rw',
      options.virtiofsd,
    ],
    onLine: (line) => {
      lines.push(line);
      start.output(`virtiofsd[${share.tag}]: ${line}`, 'stderr');
    },
  });
  if (await waitForSocket(socket, child, start.signal)) return ok({ child, socket });
  await stopGroup(child, 1000);
  if (start.signal.aborted)
    return failWith({ step: start.step, reason: 'cancelled', message: 'cancelled before boot' });
  return failWith({
    step: start.step,
    reason: 'virtiofsd-failed',
    message: `virtiofsd for ${share.tag} (${share.path}) did not start${lines.length ? `: ${lines.slice(-3).join(' / ')}` : ''}`,
  });
}

export const virtiofsBackend: SharingBackend = {
  name: 'virtiofs',
  async start(start): Promise<Result<SharingSetup>> {
    if (process.getuid?.() !== 0) {
      return failWith({
        step: start.step,
        reason: 'virtiofs-needs-root',
        message: 'virtiofs sharing needs root (virtiofsd sandboxes itself in namespaces); use sharing: 9p',
      });
    }
    const virtiofsd = await findVirtiofsd();
    if (!virtiofsd) {
      return failWith({
        step: start.step,
        reason: 'virtiofsd-missing',
        message: `virtiofsd not found (${VIRTIOFSD_PATHS.join(', ')}); install qemu-system-common`,
      });
    }
    const children: GroupChild[] = [];
    const stop = async () => {
      await Promise.all(children.map((child) => stopGroup(child, 2000)));
    };
    const sockets: Record<string, string> = {};
    for (const [index, share] of start.shares.entries()) {
      const one = await startOne({ share, index, virtiofsd, start });
      if (!one.ok) {
        await stop();
        return fail(one.error);
      }
      children.push(one.value.child);
      sockets[share.tag] = one.value.socket;
    }
    return ok({ qemu: { kind: 'virtiofs', sockets }, variables: {}, stop });
  },
};
