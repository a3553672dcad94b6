// bench/noop: a no-op run of a generated pipeline (1,000 tasks over 100,000 input files, all fresh)
// against ninja on an equivalent build.ninja over the same files, in the same run.
// Goal: kiwibox <= 1.5x ninja.   Usage: node bench/noop.mjs [--tasks N] [--files-per-task N] [--runs N]
import { execFileSync, spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generatePipeline } from './gen-pipeline.mjs';

const { values } = parseArgs({
  options: {
    tasks: { type: 'string', default: '1000' },
    'files-per-task': { type: 'string', default: '100' },
    runs: { type: 'string', default: '7' },
    dir: { type: 'string', default: join(tmpdir(), 'kiwibox-bench-noop') },
  },
});
const tasks = Number(values.tasks);
const perTask = Number(values['files-per-task']);
const runs = Number(values.runs);
const dir = join(values.dir, `${tasks}x${perTask}`);
const bin = new URL('../bin/kiwibox.js', import.meta.url).pathname;

const generate = () => generatePipeline({ dir, tasks, perTask });

function time(cmd, args) {
  const start = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return { ms, out: r.stdout.toString() };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

generate();
console.log(`bench/noop: ${tasks} tasks, ${tasks * perTask} input files in ${dir}`);
const ninjaVersion = execFileSync('ninja', ['--version'], { encoding: 'utf8' }).trim();
// Bring both up to date (ninja's own log, kiwibox's records and hash cache).
time('ninja', ['-j', '2']);
time('node', [bin, '--reporter', 'plain', '-j', '2', 'run']);
const k = [];
const n = [];
for (let i = 0; i < runs; i++) {
  const kr = time('node', [bin, '--reporter', 'plain', 'run']);
  if (!kr.out.includes(`0 ran, ${tasks} fresh`))
    throw new Error(`kiwibox was not a no-op:\n${kr.out.slice(-500)}`);
  k.push(kr.ms);
  const nr = time('ninja', []);
  if (!nr.out.includes('no work to do')) throw new Error(`ninja was not a no-op: ${nr.out}`);
  n.push(nr.ms);
}
const km = median(k);
const nm = median(n);
console.log(`ninja ${ninjaVersion}: median ${nm.toFixed(0)} ms   (${n.map((x) => x.toFixed(0)).join(' ')})`);
console.log(`kiwibox:      median ${km.toFixed(0)} ms   (${k.map((x) => x.toFixed(0)).join(' ')})`);
console.log(`ratio kiwibox/ninja: ${(km / nm).toFixed(2)}x  (goal <= 1.5x)`);
