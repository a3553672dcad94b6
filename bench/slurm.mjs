#!/usr/bin/env node
// bench/slurm: what running steps as Slurm jobs costs, on a real one-node cluster started here
// (test/support/slurm-cluster.mjs), against the same pipeline run locally, in the same run.
//   1. one task (`true`), forced, N times: per-step overhead of a Slurm job vs a local spawn;
//   2. 20 independent tasks (`sleep 0.2`), forced: via Slurm vs locally (-j 2, the machine's cores).
// Also splits one Slurm step into its parts (srun of `true`, srun of node+kiwibox --version).
//   npm run build && node bench/slurm.mjs [RUNS]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSlurm } from '../test/support/slurm-cluster.mjs';

const runs = Number(process.argv[2] ?? 5);
const bin = new URL('../bin/kiwibox.js', import.meta.url).pathname;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const one = 'tasks:\n  t: {run: ["true"]}\n';
const twenty = `tasks:\n${Array.from({ length: 20 }, (_, i) => `  t${i}: {run: [sleep, "0.2"]}`).join('\n')}\n`;

function project(slurm, tasks) {
  const dir = mkdtempSync(join(tmpdir(), 'kiwibox-bench-slurm-'));
  writeFileSync(join(dir, 'kiwibox.yaml'), `version: 1\n${slurm ? 'slurm: {}\n' : ''}${tasks}`);
  return dir;
}

function time(argv, options) {
  const start = process.hrtime.bigint();
  const r = spawnSync(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: exit ${r.status}\n${r.stdout}\n${r.stderr}`);
  return ms;
}

const slurm = await startSlurm();
const env = { ...process.env, ...slurm.env, NO_COLOR: '1' };
const dirs = [];
try {
  const kiwibox = (dir, args) =>
    time([process.execPath, bin, '--reporter', 'plain', ...args], { cwd: dir, env });
  const pair = (tasks, args) => {
    const local = project(false, tasks);
    const remote = project(true, tasks);
    dirs.push(local, remote);
    kiwibox(local, args);
    kiwibox(remote, args);
    const l = [];
    const r = [];
    for (let i = 0; i < runs; i++) {
      l.push(kiwibox(local, ['--force', ...args]));
      r.push(kiwibox(remote, ['--force', ...args]));
    }
    return { local: median(l), slurm: median(r) };
  };
  const cwd = tmpdir();
  const parts = {
    srunTrue: median(Array.from({ length: runs }, () => time(['srun', 'true'], { cwd, env }))),
    srunNode: median(
      Array.from({ length: runs }, () => time(['srun', process.execPath, bin, '--version'], { cwd, env })),
    ),
    ping: median(Array.from({ length: runs }, () => time(['scontrol', 'ping'], { cwd, env }))),
    showJob: median(
      Array.from({ length: runs }, () => time(['scontrol', '--oneliner', 'show', 'job', '1'], { cwd, env })),
    ),
    nodeLocal: median(
      Array.from({ length: runs }, () => time([process.execPath, bin, '--version'], { cwd, env })),
    ),
  };
  const single = pair(one, ['-j', '2']);
  const many = pair(twenty, ['-j', '2']);
  const f = (ms) => `${ms.toFixed(0)} ms`;
  console.log(`bench/slurm: one-node cluster on this machine, median of ${runs} runs each`);
  console.log(
    `one task, whole run:    local ${f(single.local)}, Slurm ${f(single.slurm)}: +${f(single.slurm - single.local)} per step, ratio ${(single.slurm / single.local).toFixed(2)}`,
  );
  console.log(
    `20 tasks (sleep 0.2), -j 2: local ${f(many.local)}, Slurm ${f(many.slurm)}: ratio ${(many.slurm / many.local).toFixed(2)}`,
  );
  console.log(
    `where a Slurm step's time goes: srun true ${f(parts.srunTrue)}; srun node kiwibox --version ${f(parts.srunNode)} (node + kiwibox start alone ${f(parts.nodeLocal)}); scontrol ping (once per run) ${f(parts.ping)}, scontrol show job (once per step) ${f(parts.showJob)}; the rest is the node loading the project and its executor and the result file`,
  );
} finally {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  await slurm.stop();
}
