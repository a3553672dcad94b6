/**
 * A long-running child (QEMU, virtiofsd) in its own process group: argv only, stdin closed, output
 * streamed line by line without buffering it all (a VM console can be large), and a kill that reaches
 * the whole group (the group rules: live-groups.ts).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { groupEnded, groupStarted, signalGroup, terminateGroup } from './live-groups.js';
import { withoutSecrets } from './secrets.js';

/** How a child ended: an exit code, a signal, or a spawn error (`error` set, e.g. ENOENT). */
export interface ChildExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly error?: string;
}

export interface GroupChild {
  readonly pid: number | undefined;
  /** Resolves once the process has exited and its output is drained. */
  readonly exited: Promise<ChildExit>;
  /** Signals the whole process group (no-op once it is gone). */
  kill(signal: NodeJS.Signals): void;
  /** True until `exited` resolved. */
  running(): boolean;
}

/** Starts `argv` in a new process group; each output line (without `\r`) goes to `onLine`. */
export function spawnGroup(options: {
  readonly argv: readonly [string, ...string[]];
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  readonly onLine: (line: string, stream: 'stdout' | 'stderr') => void;
}): GroupChild {
  const [file, ...args] = options.argv;
  const child: ChildProcess = spawn(file, args, {
    cwd: options.cwd,
    // Never the signing key (secrets.ts): QEMU and virtiofsd need nothing of it.
    env: withoutSecrets(options.env ?? process.env),
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pid = child.pid;
  groupStarted(pid);
  let done = false;
  const drains: Promise<void>[] = [];
  for (const [stream, name] of [
    [child.stdout, 'stdout'],
    [child.stderr, 'stderr'],
  ] as const) {
    if (!stream) continue;
    const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
    lines.on('line', (line) => options.onLine(line.replace(/\r/g, ''), name));
    drains.push(new Promise((resolve) => lines.once('close', () => resolve())));
  }
  const exited = new Promise<ChildExit>((resolve) => {
    let spawnError: string | undefined;
    child.once('error', (error) => {
      spawnError = error.message;
      // A spawn failure emits no 'exit'.
      if (pid === undefined) finish({ code: null, signal: null, error: spawnError });
    });
    child.once('exit', (code, signal) => finish({ code, signal, error: spawnError }));
    function finish(exit: ChildExit): void {
      if (done) return;
      done = true;
      groupEnded(pid);
      void Promise.all(drains).then(() => resolve(exit));
    }
  });
  return {
    pid,
    exited,
    kill: (signal) => {
      if (!done && pid !== undefined) signalGroup(pid, signal);
    },
    running: () => !done,
  };
}

/** Waits for `child` to exit, at most `ms`; true if it did. */
export async function waitExit(child: GroupChild, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  const result = await Promise.race([child.exited.then(() => true as const), timeout]);
  clearTimeout(timer);
  return result;
}

/** SIGTERM to the group, SIGKILL after `graceMs`, then waits for the exit. */
export async function stopGroup(child: GroupChild, graceMs?: number): Promise<ChildExit> {
  if (child.running() && child.pid !== undefined) {
    const cancelKill = terminateGroup(child.pid, graceMs);
    await child.exited;
    cancelKill();
  }
  return child.exited;
}
