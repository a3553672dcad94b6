// bench/prefetch: what the input-prefetch worker alone buys on a no-op run. The same generated
// pipeline as bench/noop (all fresh), run alternately with the worker on and off
// (KIWIBOX_PREFETCH=0) in one go; prints both medians and the saving.
// Usage: node bench/prefetch.mjs [--tasks N] [--files-per-task N] [--runs N] [--bin PATH]
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generatePipeline } from './gen-pipeline.mjs';

const { values } = parseArgs({
  options: {
    tasks: { type: 'string', default: '1000' },
    'files-per-task': { type: 'string', default: '100' },
    runs: { type: 'string', default: '9' },
    dir: { type: 'string', default: join(tmpdir(), 'kiwibox-bench-noop') },
    bin: { type: 'string', default: new URL('../bin/kiwibox.js', import.meta.url).pathname },
  },
});
const tasks = Number(values.tasks);
const perTask = Number(values['files-per-task']);
const runs = Number(values.runs);
const dir = join(values.dir, `${tasks}x${perTask}`);

function time(env) {
  const start = process.hrtime.bigint();
  const r = spawnSync('node', [values.bin, '--reporter', 'plain', 'run'], {
    cwd: dir,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`kiwibox run failed: ${r.stderr}`);
  if (!r.stdout.toString().includes(`0 ran, ${tasks} fresh`)) throw new Error('kiwibox was not a no-op');
  return ms;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

generatePipeline({ dir, tasks, perTask });
console.log(`bench/prefetch: ${tasks} tasks, ${tasks * perTask} input files in ${dir}`);
spawnSync('node', [values.bin, '--reporter', 'plain', '-j', '2', 'run'], { cwd: dir, stdio: 'ignore' });
time({});
const on = [];
const off = [];
for (let i = 0; i < runs; i++) {
  // Alternate which goes first so a drift in machine load hits both sides alike.
  if (i % 2 === 0) {
    on.push(time({}));
    off.push(time({ KIWIBOX_PREFETCH: '0' }));
  } else {
    off.push(time({ KIWIBOX_PREFETCH: '0' }));
    on.push(time({}));
  }
}
const mOn = median(on);
const mOff = median(off);
const fmt = (xs) => xs.map((x) => x.toFixed(0)).join(' ');
console.log(`worker on:  median ${mOn.toFixed(0)} ms   (${fmt(on)})`);
console.log(`worker off: median ${mOff.toFixed(0)} ms   (${fmt(off)})`);
console.log(
  `saving: ${(((mOff - mOn) / mOff) * 100).toFixed(1)} % of the wall time (keep the worker at >= 15 %)`,
);
