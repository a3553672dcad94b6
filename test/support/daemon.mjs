/**
 * Daemons that tests start (registry, nginx, the Slurm cluster's munged/slurmctld/slurmd): each runs
 * detached, leading its own process group, and is stopped by that group: SIGTERM, then SIGKILL
 * after a grace period. If the test process exits without its teardown, the group is SIGKILLed on
 * the way out. Plain JavaScript so that bench scripts (via slurm-cluster.mjs) can use it too.
 */
import { setTimeout as sleep } from 'node:timers/promises';

/** Signals the process group `child` leads (nothing once it is gone). */
export function killGroup(child, signal) {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, signal);
  } catch {
    // Gone.
  }
}

/** Guards a detached child; see daemon.d.mts. */
export function guardDaemon(child) {
  let exited = child.exitCode !== null || child.signalCode !== null;
  const onExit = () => killGroup(child, 'SIGKILL');
  if (!exited) process.once('exit', onExit);
  child.once('exit', () => {
    exited = true;
    process.off('exit', onExit);
  });
  const waitExit = async (ms) => {
    for (let waited = 0; !exited && waited < ms; waited += 50) await sleep(50);
  };
  return {
    exited: () => exited,
    kill: async () => {
      killGroup(child, 'SIGKILL');
      await waitExit(5000);
    },
    stop: async (graceMs = 5000) => {
      if (exited) return;
      killGroup(child, 'SIGTERM');
      await waitExit(graceMs);
      if (exited) return;
      killGroup(child, 'SIGKILL');
      await waitExit(1000);
    },
  };
}
