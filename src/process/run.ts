/**
 * Spawning for every executor: argv arrays only, output streamed line by line, and cancellation that
 * reaches the whole process group (SIGTERM, then SIGKILL after a delay). Process groups matter
 * because a `sh -c` task or a tool that forks would otherwise leave orphans behind.
 */
import { type Failure, fail, ok, type Result } from '../core/result.js';

export interface RunProcessOptions {
  /** Program and arguments; never a shell string. */
  readonly argv: readonly [string, ...string[]];
  readonly cwd: string;
  /** Added to (or, with `replaceEnv`, replacing) the inherited environment. */
  readonly env?: Readonly<Record<string, string>>;
  readonly replaceEnv?: boolean;
  /** Aborting sends SIGTERM to the process group, SIGKILL after `killAfterMs`. */
  readonly signal?: AbortSignal;
  readonly killAfterMs?: number;
  /** Fail with `timeout` after this many ms (same kill sequence). */
  readonly timeoutMs?: number;
  /** Each line of stdout/stderr, as it arrives. */
  readonly onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  /** Bytes written to stdin, then closed. Default: stdin is closed at once. */
  readonly input?: string | Buffer;
  /** Step id for failures. */
  readonly step?: string;
}

export interface ProcessResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Process groups still alive: killed if kiwibox itself exits before they end. */
const liveGroups = new Set<number>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const pid of liveGroups) killGroup(pid, 'SIGKILL');
  });
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

/** Runs a process to its end. A non-zero exit is a failure (`exit-non-zero`), as is a signal. */
export async function runProcess(options: RunProcessOptions): Promise<Result<ProcessResult>> {
  installExitHook();
  const [file, ...args] = options.argv;
  const killAfterMs = options.killAfterMs ?? 5000;
  // execa is ~100 modules: a no-op run, which spawns nothing, never loads it.
  const { execa } = await import('execa');
  const child = execa(file, args, {
    cwd: options.cwd,
    env: options.env,
    extendEnv: !options.replaceEnv,
    detached: true,
    cleanup: false,
    reject: false,
    stripFinalNewline: true,
    buffer: true,
    maxBuffer: 64 * 1024 * 1024,
    ...(options.input === undefined ? { stdin: 'ignore' as const } : { input: options.input }),
  });
  const pid = child.pid;
  if (pid !== undefined) liveGroups.add(pid);

  let cancelled: 'aborted' | 'timeout' | undefined;
  let forceTimer: NodeJS.Timeout | undefined;
  const terminate = (why: 'aborted' | 'timeout') => {
    if (cancelled || pid === undefined) return;
    cancelled = why;
    killGroup(pid, 'SIGTERM');
    forceTimer = setTimeout(() => killGroup(pid, 'SIGKILL'), killAfterMs);
    forceTimer.unref();
  };
  const onAbort = () => terminate('aborted');
  if (options.signal?.aborted) onAbort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const timeout =
    options.timeoutMs === undefined ? undefined : setTimeout(() => terminate('timeout'), options.timeoutMs);

  const pumps: Promise<void>[] = [];
  if (options.onLine) {
    const onLine = options.onLine;
    for (const stream of ['stdout', 'stderr'] as const) {
      // Never break out of this loop: execa's iterator awaits process exit in `finally`.
      pumps.push(
        (async () => {
          for await (const line of child.iterable({ from: stream, preserveNewlines: false })) {
            onLine(String(line), stream);
          }
        })().catch(() => undefined),
      );
    }
  }

  const result = await child;
  await Promise.all(pumps);
  options.signal?.removeEventListener('abort', onAbort);
  if (timeout) clearTimeout(timeout);
  if (forceTimer) clearTimeout(forceTimer);
  // Reap anything the process left in its group (a daemonised grandchild).
  if (pid !== undefined) {
    killGroup(pid, 'SIGKILL');
    liveGroups.delete(pid);
  }

  const stdout = typeof result.stdout === 'string' ? result.stdout : '';
  const stderr = typeof result.stderr === 'string' ? result.stderr : '';
  const command = options.argv.join(' ');
  const base = { step: options.step };
  if (cancelled === 'aborted') {
    return fail([{ ...base, reason: 'cancelled', message: `${file} was cancelled` }]);
  }
  if (cancelled === 'timeout') {
    return fail([{ ...base, reason: 'timeout', message: `${file} timed out after ${options.timeoutMs} ms` }]);
  }
  if (result.failed && result.exitCode === undefined && result.signal === undefined) {
    const failure: Failure = {
      ...base,
      reason: 'spawn-error',
      message: `cannot start ${file}: ${result.shortMessage}`,
    };
    return fail([failure]);
  }
  if (result.signal) {
    return fail([{ ...base, reason: 'signal', message: `${command} was killed by ${result.signal}` }]);
  }
  if (result.exitCode !== 0) {
    return fail([
      { ...base, reason: 'exit-non-zero', message: `${command} exited with code ${result.exitCode}` },
    ]);
  }
  return ok({ exitCode: 0, stdout, stderr });
}
