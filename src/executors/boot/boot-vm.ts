/**
 * One boot: a per-run directory (overlay, OVMF vars copy, sockets), QEMU with its serial console on a
 * socket kiwibox listens on, the console watched as it arrives, and the VM powered off (QMP `quit`,
 * then SIGTERM/SIGKILL to its process group) as soon as the outcome is known: every expectation seen,
 * a fail-on pattern, the timeout, or cancellation. The run directory is removed on every path.
 */
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { OvmfFiles } from '../../boot/ovmf.js';
import type { ConsolePattern } from '../../boot/patterns.js';
import { errorMessage, type Failure, failWith, ok, type Result } from '../../core/result.js';
import { type GroupChild, spawnGroup, stopGroup, waitExit } from '../../process/group.js';
import { runProcess } from '../../process/run.js';
import { qmpQuit } from '../qemu/qmp.js';
import { type BootMedia, bootArgv } from './boot-argv.js';
import { ConsoleWatch } from './console-watch.js';
import type { BootableFile } from './image-file.js';

export interface BootOptions {
  readonly file: BootableFile;
  readonly uefi?: OvmfFiles;
  readonly accel: 'kvm' | 'tcg';
  readonly memory: string;
  readonly cpus: number;
  readonly expect: readonly ConsolePattern[];
  readonly failOn: readonly ConsolePattern[];
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
  readonly output: (line: string, stream?: 'stdout' | 'stderr') => void;
  readonly progress?: (phase: string, detail?: string) => void;
  readonly step: string;
  /** Parent of the run directory: $TMPDIR, else /var/tmp (the overlay grows with guest writes). */
  readonly tmpRoot?: string;
}

export interface BootRun {
  /** Milliseconds from QEMU's start to each expectation. */
  readonly seenAtMs: readonly number[];
}

type Outcome =
  | { readonly kind: 'passed' }
  | { readonly kind: 'fail-on'; readonly pattern: string; readonly line: string }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'cancelled' }
  | { readonly kind: 'exited' };

/** Listens on `path` for QEMU's console connection. */
async function listen(path: string, onSocket: (socket: Socket) => void): Promise<Server> {
  const server = createServer(onSocket);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  return server;
}

export async function boot(options: BootOptions): Promise<Result<BootRun>> {
  const { step, output } = options;
  if (options.signal.aborted)
    return failWith({ step, reason: 'cancelled', message: 'cancelled before boot' });
  const runDir = await mkdtemp(
    join(options.tmpRoot ?? (process.env.TMPDIR ? tmpdir() : '/var/tmp'), 'kbboot-'),
  );
  let server: Server | undefined;
  try {
    let media: BootMedia;
    if (options.file.media === 'disk') {
      const overlay = join(runDir, 'overlay.qcow2');
      // The image is only the overlay's read-only backing file: it stays byte-for-byte unchanged.
      const made = await runProcess({
        argv: [
          'qemu-img',
          'create',
          '-q',
          '-f',
          'qcow2',
          '-F',
          options.file.format,
          '-b',
          options.file.path,
          overlay,
        ],
        cwd: runDir,
        signal: options.signal,
        step,
      });
      if (!made.ok) return made;
      media = { kind: 'disk', overlay };
    } else {
      media = { kind: 'cdrom', path: options.file.path };
    }
    let uefi: OvmfFiles | undefined;
    if (options.uefi) {
      uefi = { code: options.uefi.code, vars: join(runDir, 'OVMF_VARS.fd') };
      await copyFile(options.uefi.vars, uefi.vars);
    }
    let settle: (outcome: Outcome) => void = () => undefined;
    const outcome = new Promise<Outcome>((resolve) => {
      settle = resolve;
    });
    const started = Date.now();
    const seenAtMs: number[] = [];
    const total = options.expect.length;
    const watch = new ConsoleWatch({
      expect: options.expect,
      failOn: options.failOn,
      onLine: (line) => output(line),
      onEvent: (event) => {
        if (event.kind === 'fail-on') {
          settle({ kind: 'fail-on', pattern: event.pattern, line: event.line });
          return;
        }
        seenAtMs.push(Date.now() - started);
        output(
          `boot: saw expect ${event.index + 1}/${total} (${JSON.stringify(options.expect[event.index]?.text)}) after ${((Date.now() - started) / 1000).toFixed(1)} s`,
          'stderr',
        );
        if (event.index + 1 >= total) settle({ kind: 'passed' });
        else options.progress?.('boot', `waiting for expect ${event.index + 2}/${total}`);
      },
    });
    let consoleClosed: Promise<void> = Promise.resolve();
    const consoleSocket = join(runDir, 'console.sock');
    server = await listen(consoleSocket, (socket) => {
      consoleClosed = new Promise((resolve) => socket.once('close', () => resolve()));
      socket.on('data', (chunk: Buffer) => watch.feed(chunk));
      socket.on('error', () => undefined);
    });
    const qmpSocket = join(runDir, 'qmp.sock');
    const argv = bootArgv({
      media,
      accel: options.accel,
      memory: options.memory,
      cpus: options.cpus,
      consoleSocket,
      qmpSocket,
      uefi,
    });
    output(`$ ${argv.join(' ')}`, 'stderr');
    options.progress?.('boot', `waiting for expect 1/${total}`);
    const qemuLines: string[] = [];
    const child: GroupChild = spawnGroup({
      argv,
      cwd: runDir,
      onLine: (line, stream) => {
        qemuLines.push(line);
        if (qemuLines.length > 20) qemuLines.shift();
        output(`qemu: ${line}`, stream);
      },
    });
    const timer = setTimeout(() => settle({ kind: 'timeout' }), options.timeoutMs);
    const onAbort = () => settle({ kind: 'cancelled' });
    options.signal.addEventListener('abort', onAbort, { once: true });
    void child.exited.then(async () => {
      // The console's last bytes (a marker printed just before power-off) arrive before its close.
      await Promise.race([consoleClosed, new Promise((resolve) => setTimeout(resolve, 1000))]);
      watch.flush();
      settle({ kind: 'exited' });
    });
    const result = await outcome;
    clearTimeout(timer);
    options.signal.removeEventListener('abort', onAbort);
    await powerOff(child, qmpSocket);
    const exit = await child.exited;
    watch.end();
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    const tail = () =>
      watch
        .tail(15)
        .map((line) => `  | ${line}`)
        .join('\n');
    let failure: Failure | undefined;
    switch (result.kind) {
      case 'passed':
        return ok({ seenAtMs });
      case 'fail-on':
        failure = {
          step,
          reason: 'boot-failed',
          message: `the console showed '${result.pattern}' after ${seconds} s: ${result.line}`,
        };
        break;
      case 'timeout':
        failure = {
          step,
          reason: 'boot-timeout',
          message: `timed out after ${options.timeoutMs / 1000} s waiting for expect ${watch.seen + 1}/${total} (${JSON.stringify(options.expect[watch.seen]?.text)}); the VM was powered off. Last console lines:\n${tail()}`,
        };
        break;
      case 'cancelled':
        failure = {
          step,
          reason: 'cancelled',
          message: 'the boot test was cancelled; the VM was powered off',
        };
        break;
      case 'exited': {
        const how =
          exit.error && exit.code === null
            ? `could not start: ${exit.error}`
            : exit.signal
              ? `was killed by ${exit.signal}`
              : `exited with code ${exit.code}`;
        failure = {
          step,
          reason: 'boot-ended',
          message: `QEMU ${how} after ${seconds} s before expect ${watch.seen + 1}/${total} (${JSON.stringify(options.expect[watch.seen]?.text)}) was seen${qemuLines.length ? `: ${qemuLines.slice(-3).join(' / ')}` : ''}. Last console lines:\n${tail()}`,
        };
        break;
      }
    }
    return failWith(failure);
  } catch (error) {
    return failWith({ step, reason: 'vm-error', message: `boot test failed: ${errorMessage(error)}` });
  } finally {
    server?.close();
    await rm(runDir, { recursive: true, force: true });
  }
}

/** QMP `quit` (the guest needs no clean shutdown: its disk is a throw-away overlay), then signals. */
async function powerOff(child: GroupChild, qmpSocket: string): Promise<void> {
  if (!child.running()) return;
  if ((await qmpQuit(qmpSocket, 2000)) && (await waitExit(child, 5000))) return;
  await stopGroup(child, 3000);
}
