/**
 * Runs one box VM to its end: starts the sharing backend, boots QEMU from an argv array with the
 * console streamed to `output`, and enforces a timeout. Timeout and abort power the VM off over QMP,
 * then SIGTERM, then SIGKILL. Every process, socket and the per-run directory (which also holds the
 * `-snapshot` overlay through TMPDIR) are cleaned up on every path. Exit 0 only means QEMU ended
 * normally: the caller decides success from what the guest left behind.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Box } from '../../boxes/box.js';
import type { Sharing } from '../../core/model.js';
import { freeLocalPort } from '../../core/net.js';
import { errorMessage, type Failure, fail, failWith, ok, type Result } from '../../core/result.js';
import { buildGuestCmdline } from '../../kiwi/guest-protocol.js';
import { type GroupChild, spawnGroup, stopGroup, waitExit } from '../../process/group.js';
import { type QemuShare, qemuArgv } from './qemu-argv.js';
import { qmpQuit } from './qmp.js';
import { sharingBackend } from './sharing/index.js';

export interface RunVmOptions {
  readonly box: Box;
  readonly accel: 'kvm' | 'tcg';
  readonly memory?: string;
  readonly cpus?: number;
  /** kiwi-ng arguments for `kiwi="…"` (see kiwi/guest-protocol.ts). */
  readonly kiwiArgs: readonly string[];
  /** More box variables; `sharing_backend` is set from `sharing`. */
  readonly variables?: Readonly<Record<string, string>>;
  readonly noHalt?: boolean;
  /** The build's shares; the box's own extra shares are added read-only. */
  readonly shares: readonly QemuShare[];
  readonly sharing: Sharing;
  readonly snapshot?: boolean;
  /** User networking for the guest; `forwardGuestPort` also forwards a free 127.0.0.1 port to it. */
  readonly network?: { readonly forwardGuestPort?: number };
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
  readonly output: (line: string, stream?: 'stdout' | 'stderr') => void;
  readonly step?: string;
  /**
   * Parent of the per-run directory (sockets, snapshot overlay); default $TMPDIR, else /var/tmp for a
   * box with a disk, else os.tmpdir(). Keep it short (unix socket paths).
   */
  readonly tmpRoot?: string;
}

export interface VmRun {
  /** The last console lines (up to 200). */
  readonly console: readonly string[];
  readonly hostPort?: number;
  readonly durationMs: number;
}

const CONSOLE_TAIL = 200;

/** Boots the box and waits for QEMU to end; see the module comment for what success means. */
export async function runVm(options: RunVmOptions): Promise<Result<VmRun>> {
  const { step } = options;
  const backend = await sharingBackend(options.sharing);
  if (options.signal.aborted)
    return failWith({ step, reason: 'cancelled', message: 'cancelled before boot' });
  // The -snapshot overlay of a box disk grows with everything the build writes to it: keep it off a
  // tmpfs /tmp (/var/tmp is disk-backed) unless TMPDIR says where.
  const tmpRoot = options.tmpRoot ?? (options.box.disk && !process.env.TMPDIR ? '/var/tmp' : tmpdir());
  const runDir = await mkdtemp(join(tmpRoot, 'kbvm-'));
  try {
    const shares: QemuShare[] = [
      ...options.shares,
      ...(options.box.extraShares ?? []).map((share) => ({ ...share, readonly: true })),
    ];
    // sshfs on a box with its own NIC: forward guest :22 on that NIC rather than adding a second one.
    const sshPort =
      options.sharing === 'sshfs' && options.network && options.network.forwardGuestPort === undefined
        ? await freeLocalPort()
        : undefined;
    const setup = await backend.start({
      shares,
      runDir,
      signal: options.signal,
      output: options.output,
      step,
      guestSshPort: sshPort,
    });
    if (!setup.ok) return setup;
    try {
      const cmdline = buildGuestCmdline({
        boxCmdline: options.box.cmdline,
        kiwiArgs: options.kiwiArgs,
        variables: { ...options.variables, ...setup.value.variables, sharing_backend: options.sharing },
        noHalt: options.noHalt,
        step,
      });
      if (!cmdline.ok) return cmdline;
      const hostPort = options.network?.forwardGuestPort === undefined ? undefined : await freeLocalPort();
      const qmpSocket = join(runDir, 'qmp.sock');
      const argv = qemuArgv({
        box: options.box,
        accel: options.accel,
        memory: options.memory,
        cpus: options.cpus,
        cmdline: cmdline.value,
        shares,
        sharing: setup.value.qemu,
        snapshot: options.snapshot,
        network:
          options.network === undefined
            ? undefined
            : {
                hostForward:
                  sshPort !== undefined
                    ? { hostPort: sshPort, guestPort: 22 }
                    : hostPort === undefined || options.network.forwardGuestPort === undefined
                      ? undefined
                      : { hostPort, guestPort: options.network.forwardGuestPort },
              },
        qmpSocket,
      });
      const run = await supervise({ ...options, argv, runDir, qmpSocket });
      return run.ok ? ok({ ...run.value, hostPort }) : run;
    } finally {
      await setup.value.stop();
    }
  } catch (error) {
    return failWith({ step, reason: 'vm-error', message: `box run failed: ${errorMessage(error)}` });
  } finally {
    await rm(runDir, { recursive: true, force: true });
  }
}

async function supervise(
  options: RunVmOptions & { argv: [string, ...string[]]; runDir: string; qmpSocket: string },
): Promise<Result<Omit<VmRun, 'hostPort'>>> {
  const { step, output } = options;
  const started = Date.now();
  const consoleTail: string[] = [];
  const stderrTail: string[] = [];
  output(`$ ${options.argv.map((arg) => (/[\s"'$\\]/.test(arg) ? JSON.stringify(arg) : arg)).join(' ')}`);
  const child: GroupChild = spawnGroup({
    argv: options.argv,
    // -snapshot overlays are created in TMPDIR: keep them in the run dir, removed afterwards.
    env: { ...process.env, TMPDIR: options.runDir },
    onLine: (line, stream) => {
      const tail = stream === 'stderr' ? stderrTail : consoleTail;
      tail.push(line);
      if (tail.length > CONSOLE_TAIL) tail.shift();
      output(line, stream);
    },
  });
  let stopping: 'timeout' | 'cancelled' | undefined;
  let stopped: Promise<void> | undefined;
  const powerOff = (why: 'timeout' | 'cancelled') => {
    if (stopping) return;
    stopping = why;
    output(
      why === 'timeout'
        ? `box timed out after ${options.timeoutMs / 1000} s: powering off`
        : 'cancelled: powering off the box',
      'stderr',
    );
    stopped = (async () => {
      const accepted = await qmpQuit(options.qmpSocket);
      if (accepted && (await waitExit(child, 10_000))) return;
      output(`QEMU did not quit over QMP${accepted ? ' in time' : ''}: sending SIGTERM`, 'stderr');
      await stopGroup(child, 5000);
    })();
  };
  const timer = setTimeout(() => powerOff('timeout'), options.timeoutMs);
  const onAbort = () => powerOff('cancelled');
  options.signal.addEventListener('abort', onAbort, { once: true });
  if (options.signal.aborted) onAbort();
  const exit = await child.exited;
  clearTimeout(timer);
  options.signal.removeEventListener('abort', onAbort);
  await stopped;
  const durationMs = Date.now() - started;
  const binary = options.argv[0];
  const detail = stderrTail.slice(-5).join(' / ');
  let failure: Failure | undefined;
  if (exit.error && exit.code === null) {
    failure = { step, reason: 'spawn-error', message: `cannot start ${binary}: ${exit.error}` };
  } else if (stopping === 'timeout') {
    failure = {
      step,
      reason: 'timeout',
      message: `the box did not finish within ${options.timeoutMs / 1000} s and was powered off`,
    };
  } else if (stopping === 'cancelled') {
    failure = { step, reason: 'cancelled', message: 'the box was powered off (cancelled)' };
  } else if (exit.code !== 0) {
    const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
    failure = { step, reason: 'qemu-failed', message: `${binary} ${how}${detail ? `: ${detail}` : ''}` };
  }
  return failure ? fail([failure]) : ok({ console: consoleTail, durationMs });
}
