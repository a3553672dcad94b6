/**
 * Running a command to its end, for executors, boxes and tools: argv arrays only, output streamed
 * line by line, and cancellation that reaches the whole process group (SIGTERM, then SIGKILL after a
 * delay; the rules: live-groups.ts). Process groups matter because a `sh -c` task or a tool that
 * forks would otherwise leave orphans behind. No other module spawns through execa.
 */
import { type Failure, fail, ok, type Result } from '../core/result.js';
import { groupEnded, groupStarted, KILL_AFTER_MS, terminateGroup } from './live-groups.js';
import { withoutSecrets } from './secrets.js';

export interface RunProcessOptions {
  /** Program and arguments; never a shell string. */
  readonly argv: readonly [string, ...string[]];
  readonly cwd: string;
  /** Added to (or, with `replaceEnv`, replacing) the inherited environment. */
  readonly env?: Readonly<Record<string, string>>;
  readonly replaceEnv?: boolean;
  /** Keep the secrets of secrets.ts (the signing key): only srun, which takes them to the node. */
  readonly keepSecrets?: boolean;
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
  /** Stdout goes to this file instead of memory and `onLine`. */
  readonly stdoutFile?: string;
  /**
   * Stdout streams into this second command (`a | b`), never into memory: the result is the second
   * command's, and either one failing fails the run. Both are cancelled together.
   */
  readonly pipeTo?: readonly [string, ...string[]];
}

/** The child's whole environment: inherited (unless replaced) plus `env`, minus the secrets. */
function childEnv(options: RunProcessOptions): Record<string, string> {
  const merged = options.replaceEnv ? { ...options.env } : { ...process.env, ...options.env };
  if (!options.keepSecrets) return withoutSecrets(merged);
  return Object.fromEntries(Object.entries(merged).filter((e): e is [string, string] => e[1] !== undefined));
}

export interface ProcessResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a process to its end. A non-zero exit is a failure (`exit-non-zero`), as is a signal. */
export async function runProcess(options: RunProcessOptions): Promise<Result<ProcessResult>> {
  const [file, ...args] = options.argv;
  const killAfterMs = options.killAfterMs ?? KILL_AFTER_MS;
  // execa is ~100 modules: a no-op run, which spawns nothing, never loads it.
  const { execa } = await import('execa');
  const common = {
    cwd: options.cwd,
    env: childEnv(options),
    extendEnv: false,
    detached: true,
    cleanup: false,
    reject: false,
    stripFinalNewline: true,
    buffer: true,
    maxBuffer: 64 * 1024 * 1024,
  } as const;
  const first = execa(file, args, {
    ...common,
    ...(options.input === undefined ? { stdin: 'ignore' as const } : { input: options.input }),
    ...(options.stdoutFile !== undefined ? { stdout: { file: options.stdoutFile } } : {}),
    // Piped: stdout is the second command's input, never buffered (it may be hundreds of MB).
    ...(options.pipeTo !== undefined ? { buffer: { stdout: false } } : {}),
  });
  const [pipeFile, ...pipeArgs] = options.pipeTo ?? [];
  const second = pipeFile === undefined ? undefined : execa(pipeFile, pipeArgs, common);
  // The pipe's own promise settles with the second command; failures are read from both results.
  if (second) first.pipe(second).catch(() => undefined);
  const child = second ?? first;
  const pids = [...new Set([first.pid, child.pid])].filter((p) => p !== undefined);
  for (const p of pids) groupStarted(p);

  let cancelled: 'aborted' | 'timeout' | undefined;
  const cancelKills: (() => void)[] = [];
  const terminate = (why: 'aborted' | 'timeout') => {
    if (cancelled || !pids.length) return;
    cancelled = why;
    for (const p of pids) cancelKills.push(terminateGroup(p, killAfterMs));
  };
  const onAbort = () => terminate('aborted');
  if (options.signal?.aborted) onAbort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const timeout =
    options.timeoutMs === undefined ? undefined : setTimeout(() => terminate('timeout'), options.timeoutMs);

  const pumps: Promise<void>[] = [];
  if (options.onLine && options.stdoutFile === undefined) {
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
  const piped = second ? await first : undefined;
  await Promise.all(pumps);
  options.signal?.removeEventListener('abort', onAbort);
  if (timeout) clearTimeout(timeout);
  for (const cancel of cancelKills) cancel();
  for (const p of pids) groupEnded(p);

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
    // The tool's last words on stderr usually say why (apt's "E: …", podman's "Error: …").
    const why = stderr.trim().split('\n').pop()?.trim();
    const message = `${command} exited with code ${result.exitCode}${why ? `: ${why}` : ''}`;
    return fail([{ ...base, reason: 'exit-non-zero', message }]);
  }
  if (piped && (piped.exitCode !== 0 || piped.signal)) {
    const why = piped.signal ? `was killed by ${piped.signal}` : `exited with code ${piped.exitCode}`;
    return fail([
      { ...base, reason: 'exit-non-zero', message: `${command} ${why}: ${String(piped.stderr)}` },
    ]);
  }
  return ok({ exitCode: 0, stdout, stderr });
}
