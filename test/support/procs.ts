/** Polling and /proc helpers for tests that watch processes come and go. */
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** Polls `probe` every 100 ms until it holds or `ms` have passed; returns its last value. */
export async function waitUntil<T>(probe: () => T, holds: (value: T) => boolean, ms: number): Promise<T> {
  const until = Date.now() + ms;
  let value = probe();
  while (!holds(value) && Date.now() < until) {
    await sleep(100);
    value = probe();
  }
  return value;
}

/** Pids of `parent`'s children whose command name is `comm`. */
export function childrenNamed(parent: number, comm: string): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((name) => {
      try {
        const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
        const ppid = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1];
        return stat.includes(`(${comm})`) && Number(ppid) === parent;
      } catch {
        return false;
      }
    })
    .map(Number);
}
