// bench/watch-noop: a no-op `kiwibox run` answered by a running `kiwibox watch` (src/watch/serve.ts)
// against the full check (`run --no-watch`), ninja, and the floor of starting kiwibox at all
// (`kiwibox --version`), alternating in one go over 1,000 tasks x 100 files (bench/watch's
// pipeline: real files, no hard links). Medians of wall and CPU time (user + sys of the child, from
// /usr/bin/time), with ratios; also the CPU the watch itself used meanwhile (its own checks).
// Goal: the answered no-op under 100 ms wall at any pipeline size.
//
// Usage: node bench/watch-noop.mjs [--tasks 1000] [--files-per-task 100] [--runs 11]
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { generatePipeline } from './gen-pipeline.mjs';
import { median, timed } from './timed.mjs';

const { values } = parseArgs({
  options: {
    tasks: { type: 'string', default: '1000' },
    'files-per-task': { type: 'string', default: '100' },
    runs: { type: 'string', default: '11' },
  },
});
const tasks = Number(values.tasks);
const perTask = Number(values['files-per-task']);
const runs = Number(values.runs);
const bin = new URL('../bin/kiwibox.js', import.meta.url).pathname;
const MARKER = 'answered by kiwibox watch';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const dir = join(tmpdir(), 'kiwibox-bench-noop', `${tasks}x${perTask}`);
mkdirSync(dir, { recursive: true });
generatePipeline({ dir, tasks, perTask });
timed(dir, 'ninja', ['-j', '2']);
timed(dir, 'node', [bin, '--reporter', 'plain', '-j', '2', 'run', '--no-watch']);
timed(dir, 'node', [bin, '--reporter', 'plain', 'run', '--no-watch']);

const watch = spawn('node', [bin, '--reporter', 'ndjson', 'watch'], {
  cwd: dir,
  stdio: ['ignore', 'pipe', 'inherit'],
});
const waiting = new Promise((resolve) =>
  createInterface({ input: watch.stdout }).on('line', (line) => {
    if (line.includes('"watch-waiting"')) resolve();
  }),
);
const ticks = () => {
  const f = readFileSync(`/proc/${watch.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(f[11]) + Number(f[12]); // utime + stime, 1/100 s
};
try {
  await waiting;
  // The watch vouches only after its own full check, on records older than 2 s.
  let answered = false;
  const ready = Date.now();
  for (let i = 0; i < 120 && !answered; i++) {
    answered = timed(dir, 'node', [bin, '--reporter', 'plain', 'run']).out.includes(MARKER);
    if (!answered) await sleep(500);
  }
  if (!answered) throw new Error('the watch never answered');
  console.log(
    `bench/watch-noop: ${tasks} tasks x ${perTask} files (${tasks * perTask} files), ${runs} runs each; ` +
      `the watch answered ${((Date.now() - ready) / 1000).toFixed(1)} s after its first run`,
  );
  console.log(
    `ninja ${execFileSync('ninja', ['--version'], { encoding: 'utf8' }).trim()}, node ${process.version}`,
  );
  const rows = { watch: [], full: [], ninja: [], floor: [] };
  let fellBack = 0;
  const watchTicks = ticks();
  for (let i = 0; i < runs; i++) {
    const w = timed(dir, 'node', [bin, '--reporter', 'plain', 'run']);
    if (!w.out.includes(`0 ran, ${tasks} fresh`))
      throw new Error(`run ${i} was not a no-op:\n${w.out.slice(-400)}`);
    // Not answered (on a loaded machine the 300 ms may pass): a full check, counted apart.
    if (w.out.includes(MARKER)) rows.watch.push(w);
    else fellBack++;
    const f = timed(dir, 'node', [bin, '--reporter', 'plain', 'run', '--no-watch']);
    if (!f.out.includes(`0 ran, ${tasks} fresh`) || f.out.includes(MARKER))
      throw new Error(`the full check was not a no-op:\n${f.out.slice(-400)}`);
    rows.full.push(f);
    const n = timed(dir, 'ninja', []);
    if (!n.out.includes('no work to do')) throw new Error(`ninja was not a no-op: ${n.out}`);
    rows.ninja.push(n);
    rows.floor.push(timed(dir, 'node', [bin, '--version']));
  }
  const watchCpu = (ticks() - watchTicks) * 10;
  const m = Object.fromEntries(
    Object.entries(rows).map(([k, rs]) => [
      k,
      { wall: median(rs.map((r) => r.ms)), cpu: median(rs.map((r) => r.cpu)) },
    ]),
  );
  console.log('');
  console.log('                                  wall ms   cpu ms');
  const line = (name, r) =>
    console.log(`${name.padEnd(32)} ${r.wall.toFixed(0).padStart(7)}  ${r.cpu.toFixed(0).padStart(7)}`);
  line('run, answered by the watch', m.watch);
  line('run --no-watch (full check)', m.full);
  line('ninja', m.ninja);
  line('kiwibox --version (start floor)', m.floor);
  const ratio = (a, b) => `${(a.wall / b.wall).toFixed(2)}x wall, ${(a.cpu / b.cpu).toFixed(2)}x cpu`;
  console.log('');
  console.log(`answered / ninja:      ${ratio(m.watch, m.ninja)}`);
  console.log(`answered / full check: ${ratio(m.watch, m.full)}`);
  console.log(`answered / start floor: ${ratio(m.watch, m.floor)}`);
  console.log(`full check / ninja:    ${ratio(m.full, m.ninja)}`);
  if (fellBack)
    console.log(`${fellBack} of ${runs} asks were not answered (full check instead); not in the medians`);
  console.log(
    `the watch itself used ${watchCpu} ms CPU during the ${runs * 4} timed commands (its answers, and any re-check)`,
  );
  console.log(
    `goal: answered no-op under 100 ms wall: ${m.watch.wall < 100 ? 'met' : 'NOT met'} (${m.watch.wall.toFixed(0)} ms)`,
  );
} finally {
  watch.kill('SIGINT');
}
