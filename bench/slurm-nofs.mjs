#!/usr/bin/env node
// bench/slurm-nofs: what Slurm without a shared filesystem costs on top of the shared-filesystem
// mode, on a real one-node cluster and a real docker-registry as the team cache, both started here.
// One task, forced, RUNS times, in three copies of one project: local, Slurm with a shared
// filesystem, Slurm without (node-project-dir: a second working copy). Twice: with a 1 KiB output
// and with a 64 MiB one (random bytes: each run uploads and restores a new blob).
//   npm run build && node bench/slurm-nofs.mjs [RUNS]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKey } from '../dist/cache/sign.js';
import { startSlurm } from '../test/support/slurm-cluster.mjs';
import { startRegistry } from './registry.mjs';

const runs = Number(process.argv[2] ?? 5);
const bin = new URL('../bin/kiwibox.js', import.meta.url).pathname;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const work = mkdtempSync(join(tmpdir(), 'kiwibox-bench-nofs-'));
let n = 0;
const newDir = () => mkdtempSync(join(work, `p${n++}-`));

// Async, so a Ctrl-C or SIGTERM reaches the handler below while kiwibox runs.
let running;
async function time(argv, options) {
  const start = process.hrtime.bigint();
  const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  running = child;
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const status = await new Promise((done) => child.on('close', (code) => done(code)));
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (status !== 0) throw new Error(`${argv.join(' ')}: exit ${status}\n${out}`);
  return ms;
}

let slurm;
let registry;
let cleaning;
// Once, from the finally or a signal: the registry, the cluster, the temp dir.
const cleanup = () => {
  cleaning ??= (async () => {
    registry?.stop();
    await slurm?.stop();
    rmSync(work, { recursive: true, force: true });
  })();
  return cleaning;
};
for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
]) {
  process.once(signal, () => {
    console.error(`bench/slurm-nofs: ${signal}, cleaning up`);
    // kiwibox cancels its Slurm job on SIGTERM; the cluster is stopped after it anyway.
    if (running?.exitCode === null) running.kill('SIGTERM');
    cleanup().finally(() => process.exit(code));
  });
}

try {
  slurm = await startSlurm();
  registry = await startRegistry(join(work, 'registry'));
  const key = generateKey('bench-1');
  const keyFile = join(work, 'bench-1.key');
  writeFileSync(keyFile, `${key.secretText}\n`, { mode: 0o600 });
  const env = { ...process.env, ...slurm.env, NO_COLOR: '1', KIWIBOX_CACHE_KEY_FILE: keyFile };
  const kiwibox = (dir, args) =>
    time([process.execPath, bin, '--reporter', 'plain', ...args], { cwd: dir, env });

  const measure = async (bytes, repo) => {
    const task = `tasks:\n  t: {run: [sh, -c, "head -c ${bytes} /dev/urandom > out.bin"], outputs: [out.bin]}\n`;
    const cache = [
      `podman: {registries: {"${registry.host}": {tls-verify: false}}}`,
      `cache: {store: ${registry.host}/bench/${repo}, trusted-keys: ["${key.publicText}"]}`,
    ];
    const node = newDir();
    const yaml = {
      local: `version: 1\n${task}`,
      shared: `version: 1\nslurm: {}\n${task}`,
      nofs: [
        'version: 1',
        ...cache,
        `slurm: {shared-filesystem: false, node-project-dir: ${node}}`,
        task,
      ].join('\n'),
    };
    writeFileSync(join(node, 'kiwibox.yaml'), yaml.nofs);
    const result = {};
    for (const [mode, text] of Object.entries(yaml)) {
      const dir = newDir();
      writeFileSync(join(dir, 'kiwibox.yaml'), text);
      await kiwibox(dir, []);
      const times = [];
      for (let i = 0; i < runs; i++) times.push(await kiwibox(dir, ['--force']));
      result[mode] = median(times);
    }
    return result;
  };
  const f = (ms) => `${ms.toFixed(0)} ms`;
  console.log(`bench/slurm-nofs: one-node cluster and registry on this machine, median of ${runs} runs each`);
  for (const [label, bytes, repo] of [
    ['1 KiB output', 1024, 'small'],
    ['64 MiB output', 64 * 1024 * 1024, 'big'],
  ]) {
    const m = await measure(bytes, repo);
    console.log(
      `one task, ${label}: local ${f(m.local)}, Slurm shared-fs ${f(m.shared)}, Slurm no-shared-fs ${f(m.nofs)}: no-shared-fs adds ${f(m.nofs - m.shared)} per step over shared-fs (ratio ${(m.nofs / m.shared).toFixed(2)}), ${f(m.nofs - m.local)} over local`,
    );
  }
  console.log(
    'where the extra time goes: the node opens the cache, fingerprints the step and uploads the entry (manifest, log, outputs); the submitting side looks the entry up and downloads and verifies every blob',
  );
} finally {
  await cleanup();
}
