/**
 * Ctrl-C: the first one aborts the run (running steps get SIGTERM, then SIGKILL after a delay); a
 * second one exits at once, killing every process group still alive (see process/run.ts).
 */
export function interruptController(onSecond: () => void): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  let count = 0;
  const handler = () => {
    count++;
    if (count === 1) controller.abort();
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
