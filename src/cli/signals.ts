import { runForcedExitHooks } from '../process/forced-exit.js';

/** How long a second Ctrl-C waits for the last clean-up that must not be skipped (scancel). */
const FORCED_EXIT_LIMIT_MS = 2000;

/**
 * Ctrl-C: the first one aborts the run (running steps get SIGTERM, then SIGKILL after a delay); a
 * second one exits after at most FORCED_EXIT_LIMIT_MS for the forced-exit hooks (process/
 * forced-exit.ts), killing every process group still alive (see process/run.ts); a third one exits
 * without waiting.
 */
export function interruptController(onSecond: () => void): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  let count = 0;
  const handler = () => {
    count++;
    if (count === 1) controller.abort();
    else if (count === 2) void runForcedExitHooks(FORCED_EXIT_LIMIT_MS).finally(onSecond);
    else onSecond();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}
