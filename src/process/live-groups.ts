/**
 * The process-group rules for every child kiwibox starts (process/run.ts and process/group.ts):
 * each child leads its own group; stopping means SIGTERM to the group, then SIGKILL after a grace
 * period; when a child ends, whatever it left in its group is killed; and groups still alive when
 * kiwibox exits (a second Ctrl-C) are killed by one exit hook, which then removes the scratch dirs
 * still registered (so no child writes into them afterwards).
 */
import { rmSync } from 'node:fs';

/** Grace between SIGTERM and SIGKILL unless a caller says otherwise. */
export const KILL_AFTER_MS = 5000;

const live = new Set<number>();
const scratch = new Set<string>();
let hooked = false;

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const leader of live) signalGroup(leader, 'SIGKILL');
    for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
  });
}

/** Signals the whole group led by `pid` (no-op once it is gone). */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

/** A new group leader: killed if kiwibox exits before `groupEnded`. */
export function groupStarted(pid: number | undefined): void {
  if (pid === undefined) return;
  hookExit();
  live.add(pid);
}

/** A scratch dir the exit hook removes if kiwibox exits before the returned function is called. */
export function removeOnExit(dir: string): () => void {
  hookExit();
  scratch.add(dir);
  return () => {
    scratch.delete(dir);
  };
}

/** The leader exited: reap anything it left in its group (a daemonised grandchild, a sandbox). */
export function groupEnded(pid: number | undefined): void {
  if (pid === undefined) return;
  signalGroup(pid, 'SIGKILL');
  live.delete(pid);
}

/** SIGTERM to the group now, SIGKILL after `graceMs`; the returned function cancels the SIGKILL. */
export function terminateGroup(pid: number, graceMs: number = KILL_AFTER_MS): () => void {
  signalGroup(pid, 'SIGTERM');
  const timer = setTimeout(() => signalGroup(pid, 'SIGKILL'), graceMs);
  timer.unref();
  return () => clearTimeout(timer);
}
