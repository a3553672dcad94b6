// One timed child process for the no-op benches: wall time from hrtime, CPU time (user + sys of
// the child) from /usr/bin/time (Debian package `time`, installed by scripts/setup).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'kiwibox-bench-time-'));
const timeOut = join(dir, 'time');
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

/** Runs cmd in dir: { ms, cpu, out }; throws with its stderr when it fails. */
export function timed(cwd, cmd, args) {
  const start = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%U %S', '-o', timeOut, cmd, ...args], {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed in ${cwd}: ${r.stderr}`);
  const [user, sys] = readFileSync(timeOut, 'utf8').trim().split('\n').at(-1).split(' ').map(Number);
  return { ms, cpu: (user + sys) * 1000, out: r.stdout.toString() };
}

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
