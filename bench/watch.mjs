// bench/watch: (1) file save -> affected step started, median over repeated edits (goal <= 200 ms);
// (2) CPU used by an idle `kiwibox watch` over 100,000 input files (goal: near zero).
// Usage: node bench/watch.mjs [--edits 20] [--idle-seconds 10]
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { generatePipeline } from './gen-pipeline.mjs';

const { values } = parseArgs({
  options: { edits: { type: 'string', default: '20' }, 'idle-seconds': { type: 'string', default: '10' } },
});
const bin = new URL('../bin/kiwibox.js', import.meta.url).pathname;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Starts `kiwibox watch` in dir; returns the child and a function to await a matching event. */
function startWatch(dir) {
  const child = spawn('node', [bin, '--reporter', 'ndjson', 'watch', '--debounce', '20'], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'inherit'],
    // The watch reports its own freshness check (src/watch/serve.ts) as an info event.
    env: { ...process.env, KIWIBOX_WATCH_DEBUG: '1' },
  });
  const events = [];
  let waiter;
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (!line.startsWith('{')) return;
    const e = { ...JSON.parse(line), seen: Date.now() };
    events.push(e);
    if (process.env.DEBUG_BENCH) console.error(line.slice(0, 120));
    waiter?.();
  });
  const next = (match, from) =>
    new Promise((resolve) => {
      const check = () => {
        const found = events.slice(from).find(match);
        if (found) resolve({ event: found, index: events.indexOf(found) + 1 });
      };
      waiter = check;
      check();
    });
  return { child, events, next };
}

async function latency() {
  const dir = mkdtempSync(join(tmpdir(), 'kiwibox-bench-watch-'));
  writeFileSync(join(dir, 'in.txt'), '0\n');
  writeFileSync(
    join(dir, 'kiwibox.yaml'),
    'version: 1\ntasks:\n  copy:\n    run: [cp, in.txt, out.txt]\n    inputs: [in.txt]\n    outputs: [out.txt]\n',
  );
  const w = startWatch(dir);
  let { index } = await w.next((e) => e.type === 'watch-waiting', 0);
  const samples = [];
  for (let i = 1; i <= Number(values.edits); i++) {
    await new Promise((r) => setTimeout(r, 500)); // a person saves again later than that
    const t0 = Date.now();
    writeFileSync(join(dir, 'in.txt'), `${i}\n`);
    const started = await w.next((e) => e.type === 'step-started', index);
    samples.push(started.event.seen - t0);
    ({ index } = await w.next((e) => e.type === 'watch-waiting', started.index));
  }
  w.child.kill('SIGINT');
  rmSync(dir, { recursive: true, force: true });
  return samples;
}

async function idleCpu() {
  const dir = join(tmpdir(), 'kiwibox-bench-noop', '1000x100');
  mkdirSync(dir, { recursive: true });
  generatePipeline({ dir, tasks: 1000, perTask: 100 });
  spawnSync('node', [bin, '--reporter', 'plain', 'run'], { cwd: dir, stdio: 'ignore' });
  const w = startWatch(dir);
  const waiting = await w.next((e) => e.type === 'watch-waiting', 0);
  const ticks = () => {
    const f = readFileSync(`/proc/${w.child.pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return Number(f[11]) + Number(f[12]); // utime + stime, clock ticks (1/100 s)
  };
  // Once idle, the watch checks the selection in full (to answer `run` from other terminals):
  // measured on its own, then idle from there.
  const idleFrom = ticks();
  const checked = await w.next(
    (e) => e.type === 'info' && e.message.startsWith('watch check:'),
    waiting.index,
  );
  const check = (ticks() - idleFrom) / 100;
  await new Promise((r) => setTimeout(r, 1000));
  const before = ticks();
  const seconds = Number(values['idle-seconds']);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const used = (ticks() - before) / 100;
  w.child.kill('SIGINT');
  return { files: waiting.event.files, used, seconds, check, outcome: checked.event.message };
}

const samples = await latency();
console.log(
  `save -> step started: median ${median(samples)} ms over ${samples.length} edits (min ${Math.min(...samples)}, max ${Math.max(...samples)}); goal <= 200 ms`,
);
const idle = await idleCpu();
console.log(`the watch's own check after its first run: ${idle.check.toFixed(2)} s CPU (${idle.outcome})`);
console.log(
  `idle watch over ${idle.files} files: ${idle.used.toFixed(2)} s CPU in ${idle.seconds} s = ${((idle.used / idle.seconds) * 100).toFixed(2)} % of a core; goal: near zero`,
);
