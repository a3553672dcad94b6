/**
 * What must still happen when a second Ctrl-C makes kiwibox exit at once: every registered hook
 * starts (the Slurm executor's scancel, without which a job runs on after srun is killed), and the
 * exit waits for them up to a bound. Whatever is still running then dies with live-groups' exit hook.
 */
const hooks = new Set<() => Promise<unknown>>();

/** Registers `hook` until the returned function is called. */
export function onForcedExit(hook: () => Promise<unknown>): () => void {
  hooks.add(hook);
  return () => {
    hooks.delete(hook);
  };
}

/** Runs every hook at once; resolves when all have ended or after `limitMs`, whichever comes first. */
export async function runForcedExitHooks(limitMs: number): Promise<void> {
  if (!hooks.size) return;
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, limitMs);
  });
  const all = Promise.allSettled([...hooks].map((hook) => Promise.resolve().then(hook)));
  await Promise.race([all, bound]);
  clearTimeout(timer);
}
