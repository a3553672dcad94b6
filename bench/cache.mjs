#!/usr/bin/env node
// Team cache: (1) a fresh clone restoring the whole pipeline from a warm cache vs a cold build of the
// same pipeline (goal: restore <= 5 % of the build's wall time); (2) kiwibox's restore throughput for
// one step with a big output vs `skopeo copy` of the same entry's blobs from the same registry
// (goal: >= 0.8x). Real docker-registry on 127.0.0.1, real podman (isolated stores), rsync, kiwi-ng.
// The pipeline: a stash of a busybox root, a stack built from it by kiwi-ng (tbz), and a task that
// makes and compresses 256 MB (the "big output").
//   npm run build && node bench/cache.mjs [RUNS]
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKey } from '../dist/cache/sign.js';
import { runKiwibox } from './kiwibox-cli.mjs';
import { startRegistry } from './registry.mjs';

const runs = Number(process.argv[2] ?? 3);
const work = await mkdtemp(join(tmpdir(), 'kiwibox-bench-cache-'));
const cleanups = [];

function busyboxRoot(dir) {
  for (const sub of [
    'usr/bin',
    'etc',
    'tmp',
    'dev',
    'proc',
    'sys',
    'root',
    'image',
    'var/lib/dpkg',
    'usr/share/doc',
  ])
    mkdirSync(join(dir, sub), { recursive: true });
  symlinkSync('usr/bin', join(dir, 'bin'));
  copyFileSync('/bin/busybox', join(dir, 'usr/bin/busybox'));
  chmodSync(join(dir, 'usr/bin/busybox'), 0o755);
  symlinkSync('busybox', join(dir, 'usr/bin/sh'));
  writeFileSync(join(dir, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  writeFileSync(join(dir, 'var/lib/dpkg/status'), '');
  writeFileSync(join(dir, 'usr/share/doc/.keep'), '');
  writeFileSync(
    join(dir, 'image/config.xml'),
    `<?xml version="1.0" encoding="utf-8"?>
<image schemaversion="7.5" name="benchcache">
  <description type="system"><author>bench</author><contact>b@localhost</contact><specification>busybox</specification></description>
  <preferences><version>1.0.0</version><packagemanager>apt</packagemanager><type image="tbz"/></preferences>
  <repository type="apt-deb" distribution="bookworm" components="main" repository_gpgcheck="false"><source path="file:///nonexistent"/></repository>
  <packages type="image"/>
</image>
`,
  );
}

let clones = 0;
function clone({ host, publicText, repository }) {
  const dir = join(work, `clone-${clones++}`);
  // podman refuses a runroot longer than 50 characters: a short dir of its own.
  const store = mkdtempSync('/tmp/kbc-');
  mkdirSync(dir, { recursive: true });
  cleanups.push(() => {
    try {
      execFileSync(
        'podman',
        ['--root', `${store}/root`, '--runroot', `${store}/run`, 'system', 'reset', '--force'],
        {
          stdio: 'ignore',
        },
      );
    } catch {}
    rmSync(store, { recursive: true, force: true });
  });
  busyboxRoot(join(dir, 'root'));
  writeFileSync(join(work, 'kiwi-fast.yml'), "xz:\n  - options: '-0 --threads=0'\n");
  writeFileSync(join(dir, 'seed.txt'), 'bench\n');
  writeFileSync(
    join(dir, 'kiwibox.yaml'),
    `version: 1
podman:
  root: ${store}/root
  runroot: ${store}/run
  tmpdir: ${store}/tmp
  storage-driver: overlay
  registries: {"${host}": {tls-verify: false}}
cache:
  store: ${host}/${repository}
  trusted-keys: ["${publicText}"]
tasks:
  big:
    run: ["sh", "-c", "openssl enc -aes-128-ctr -nosalt -pass file:seed.txt -in /dev/zero 2>/dev/null | head -c 268435456 | gzip -1 > big.raw.gz"]
    inputs: [seed.txt]
    outputs: [big.raw.gz]
stashes:
  base: {root: ./root}
stacks:
  image:
    images: [base]
    target-dir: ./out
    kiwi-args: [--config, ${join(work, 'kiwi-fast.yml')}]
`,
  );
  mkdirSync(join(store, 'tmp'), { recursive: true });
  return dir;
}

function kiwibox(dir, args, env = {}) {
  return runKiwibox({
    cwd: dir,
    env: { ...process.env, NO_COLOR: '1', ...env },
    args: ['--reporter', 'ndjson', ...args],
  });
}

function eventsOf(out) {
  return out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l));
}

async function timed(fn) {
  const start = process.hrtime.bigint();
  const value = await fn();
  return { ms: Number(process.hrtime.bigint() - start) / 1e6, value };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

try {
  const registry = await startRegistry(join(work, 'registry'));
  cleanups.push(registry.stop);
  const host = registry.host;
  const key = generateKey('bench-1');
  const keyFile = join(work, 'bench.key');
  writeFileSync(keyFile, `${key.secretText}\n`, { mode: 0o600 });
  const cold = [];
  const warm = [];
  const restoreRates = [];
  const skopeoRates = [];
  for (let i = 0; i < runs; i++) {
    const repository = `bench/run${i}`;
    // Cold: a clone with the cache off builds everything.
    const c = clone({ host, publicText: key.publicText, repository });
    cold.push((await timed(() => kiwibox(c, ['--cache-mode', 'off', 'run']))).ms);
    // Writer: fills the cache (not timed).
    const w = clone({ host, publicText: key.publicText, repository });
    await kiwibox(w, ['run'], { KIWIBOX_CACHE_KEY_FILE: keyFile });
    // Warm: a fresh clone, empty .kiwibox/ and podman store, restores everything.
    const r = clone({ host, publicText: key.publicText, repository });
    const restored = await timed(() => kiwibox(r, ['run']));
    const events = eventsOf(restored.value);
    const kinds = events.filter((e) => e.type === 'step-restored').map((e) => e.step);
    if (kinds.length !== 3) throw new Error(`expected 3 restored steps, got ${kinds.join(', ')}`);
    warm.push(restored.ms);
    // Throughput alone (as skopeo runs alone): a fresh clone restoring only the big step.
    const only = clone({ host, publicText: key.publicText, repository });
    const big = eventsOf(await kiwibox(only, ['run', 'big'])).find((e) => e.type === 'step-restored');
    restoreRates.push(big.bytes / big.durationMs);
    // skopeo copy of the same entry (manifest + blobs) to a dir.
    const tag = JSON.parse(
      execFileSync('curl', ['-s', `http://${host}/v2/${repository}/tags/list`], { encoding: 'utf8' }),
    ).tags;
    const manifests = tag.map((t) =>
      JSON.parse(
        execFileSync(
          'curl',
          [
            '-s',
            '-H',
            'Accept: application/vnd.oci.image.manifest.v1+json',
            `http://${host}/v2/${repository}/manifests/${t}`,
          ],
          {
            encoding: 'utf8',
          },
        ),
      ),
    );
    const bigTag = tag[manifests.findIndex((m) => m.annotations?.['dev.kiwibox.step'] === 'big')];
    const bigManifest = manifests.find((m) => m.annotations?.['dev.kiwibox.step'] === 'big');
    const bytes = bigManifest.layers.reduce((s, l) => s + l.size, bigManifest.config.size);
    const target = join(work, `skopeo-${i}`);
    const copy = await timed(async () =>
      execFileSync(
        'skopeo',
        ['copy', '--src-tls-verify=false', `docker://${host}/${repository}:${bigTag}`, `dir:${target}`],
        {
          stdio: 'ignore',
        },
      ),
    );
    skopeoRates.push(bytes / copy.ms);
    rmSync(target, { recursive: true, force: true });
  }
  const ratio = median(warm) / median(cold);
  const throughput = median(restoreRates) / median(skopeoRates);
  console.log(
    `cold build ${(median(cold) / 1000).toFixed(2)} s, warm restore ${(median(warm) / 1000).toFixed(2)} s (median of ${runs})`,
  );
  console.log(`restore/build wall time ratio: ${(ratio * 100).toFixed(1)} % (goal <= 5 %)`);
  console.log(
    `restore of the big step ${(median(restoreRates) / 1000).toFixed(0)} MB/s, skopeo copy ${(median(skopeoRates) / 1000).toFixed(0)} MB/s`,
  );
  console.log(`restore/skopeo throughput ratio: ${throughput.toFixed(2)}x (goal >= 0.8x)`);
} finally {
  for (const cleanup of cleanups.reverse()) {
    try {
      cleanup();
    } catch {}
  }
  rmSync(work, { recursive: true, force: true });
}
