// bench/noop: no-op runs (everything fresh) of generated pipelines against ninja on an equivalent
// build.ninja over the same files, in one go: for each glob shape (see gen-pipeline.mjs) kiwibox and
// ninja alternate, and each reports the median wall time and the median CPU time (user + sys of the
// child, from /usr/bin/time) with their ratios. Goal: kiwibox <= 1.5x ninja; every shape within
// 1.2x of `star` (the single-directory fast path).
//
// Usage: node bench/noop.mjs [--tasks 1000] [--files-per-task 100] [--runs 11] [--shapes a,b]
//        node bench/noop.mjs --quick        (100 tasks x 100 files, 7 runs)
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generateShape, SHAPES, SHARED_TASKS } from './gen-pipeline.mjs';
import { median, timed } from './timed.mjs';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    tasks: { type: 'string' },
    'files-per-task': { type: 'string', default: '100' },
    runs: { type: 'string' },
    shapes: { type: 'string', default: SHAPES.join(',') },
    dir: { type: 'string', default: join(tmpdir(), 'kiwibox-bench-noop') },
  },
});
const tasks = Number(values.tasks ?? (values.quick ? 100 : 1000));
const perTask = Number(values['files-per-task']);
const runs = Number(values.runs ?? (values.quick ? 7 : 11));
const shapes = values.shapes.split(',');
for (const s of shapes) if (!SHAPES.includes(s)) throw new Error(`unknown shape ${s} (${SHAPES})`);
const bin = new URL('../bin/kiwibox.js', import.meta.url).pathname;

const fmt = (xs) => xs.map((x) => x.toFixed(0)).join(' ');

console.log(
  `bench/noop: ${tasks} tasks x ${perTask} files (${tasks * perTask} files), ${runs} runs per shape`,
);
console.log(
  `ninja ${execFileSync('ninja', ['--version'], { encoding: 'utf8' }).trim()}, node ${process.version}`,
);
// All shapes first: linking a shape's files changes their ctime, which the others' records hold.
const dirs = shapes.map((shape) => generateShape({ root: values.dir, shape, tasks, perTask }));
const projects = shapes.map((shape, i) => {
  const dir = dirs[i];
  const steps = shape === 'shared' ? SHARED_TASKS : tasks;
  // Bring both up to date (ninja's log, kiwibox's records), then one kiwibox no-op so that caches
  // a first no-op writes (listings younger than their directories' timestamps) are in place.
  timed(dir, 'ninja', ['-j', '2']);
  timed(dir, 'node', [bin, '--reporter', 'plain', '-j', '2', 'run']);
  timed(dir, 'node', [bin, '--reporter', 'plain', 'run']);
  return { shape, dir, steps, k: [], n: [] };
});
for (let i = 0; i < runs; i++) {
  for (const p of projects) {
    const kr = timed(p.dir, 'node', [bin, '--reporter', 'plain', 'run']);
    if (!kr.out.includes(`0 ran, ${p.steps} fresh`))
      throw new Error(`kiwibox was not a no-op in ${p.dir}:\n${kr.out.slice(-500)}`);
    p.k.push(kr);
    const nr = timed(p.dir, 'ninja', []);
    if (!nr.out.includes('no work to do')) throw new Error(`ninja was not a no-op: ${nr.out}`);
    p.n.push(nr);
  }
}
const rows = projects.map((p) => {
  const kw = median(p.k.map((r) => r.ms));
  const kc = median(p.k.map((r) => r.cpu));
  const nw = median(p.n.map((r) => r.ms));
  const nc = median(p.n.map((r) => r.cpu));
  return { ...p, kw, kc, nw, nc };
});
const star = rows.find((r) => r.shape === 'star');
console.log('');
console.log(
  'shape     ninja wall/cpu ms   kiwibox wall/cpu ms   wall x   cpu x   cpu/wall   vs star wall/cpu',
);
for (const r of rows) {
  const vsStar = star ? `${(r.kw / star.kw).toFixed(2)}x / ${(r.kc / star.kc).toFixed(2)}x` : '-';
  console.log(
    `${r.shape.padEnd(9)} ${`${r.nw.toFixed(0)} / ${r.nc.toFixed(0)}`.padStart(16)}   ` +
      `${`${r.kw.toFixed(0)} / ${r.kc.toFixed(0)}`.padStart(19)}   ${(r.kw / r.nw).toFixed(2).padStart(6)}` +
      `   ${(r.kc / r.nc).toFixed(2).padStart(5)}   ${(r.kc / r.kw).toFixed(2).padStart(8)}   ${vsStar}`,
  );
}
console.log('');
console.log('wall x, cpu x: kiwibox / ninja. cpu/wall above 1.0: kiwibox used more than one core.');
console.log('vs star: against the single-directory shape; dstar lists the same directories, nested has');
console.log('21 directories per task where star has 1, shared lists the whole tree for each of its tasks.');
for (const r of rows) {
  console.log(`${r.shape}: kiwibox wall ${fmt(r.k.map((x) => x.ms))} | cpu ${fmt(r.k.map((x) => x.cpu))}`);
  console.log(
    `${' '.repeat(r.shape.length)}  ninja   wall ${fmt(r.n.map((x) => x.ms))} | cpu ${fmt(r.n.map((x) => x.cpu))}`,
  );
}
console.log('goals: wall x <= 1.5 against ninja; every shape <= 1.2x star');
