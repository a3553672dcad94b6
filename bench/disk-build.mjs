#!/usr/bin/env node
// The same oem disk build on the host and in the host box, alternating, N runs each: the smallest
// disk that still partitions a loop device, makes ext4, copies the root and installs grub
// (test/fixtures/hostbox-disk; the root comes from an archive). Prints the ratio box/host and, from
// kiwibox's own step-progress events, how long each kiwi phase took in both.
//   npm run build && node bench/disk-build.mjs [RUNS]     (as root: the host build needs it)
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureHostBox, hostBoxArch } from '../dist/boxes/host-box.js';

const root = new URL('..', import.meta.url).pathname;
const runs = Number(process.argv[2] ?? 2);
const store = process.env.KIWIBOX_BOX_STORE ?? join(process.env.HOME ?? tmpdir(), '.cache/kiwibox/boxes');
const arch = hostBoxArch();
const box = await ensureHostBox({ store, arch });
if (!box.ok) throw new Error(box.error.map((f) => f.message).join('\n'));
const debs = join(store, 'host', arch, 'debs');
const deb = readdirSync(debs).find((n) => n.startsWith('linux-image-') && n.endsWith('.deb'));
const dir = mkdtempSync(join(tmpdir(), 'kiwibox-bench-disk-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
cpSync(join(root, 'test/fixtures/hostbox-disk'), join(dir, 'description'), { recursive: true });
execFileSync(join(dir, 'description/make-root.sh'), [
  join(debs, deb),
  box.value.initrd,
  join(dir, 'description/root.tar'),
]);
const build = (extra) => `    description: description\n${extra}`;
writeFileSync(join(dir, 'host.yaml'), `version: 1\nbuilds:\n  disk:\n${build('    target-dir: out/host\n')}`);
writeFileSync(
  join(dir, 'box.yaml'),
  `version: 1\nboxes:\n  host: {host: true, memory: 1G, cpus: 1, network: false}\nbuilds:\n  disk:\n${build('    target-dir: out/box\n    box: host\n    timeout: 3600\n')}`,
);

/** Runs one build; returns its wall time and the seconds spent in each progress phase. */
function once(file) {
  const start = performance.now();
  const out = execFileSync(
    process.execPath,
    [join(root, 'bin/kiwibox.js'), '-C', dir, '-f', file, '--reporter', 'ndjson', '--force', 'run'],
    {
      env: { ...process.env, KIWIBOX_BOX_STORE: store },
      maxBuffer: 256 * 1024 * 1024,
    },
  ).toString();
  const seconds = (performance.now() - start) / 1000;
  const events = out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l));
  const phases = {};
  let last;
  const marks = ['step-started', 'step-progress', 'step-succeeded', 'step-failed'];
  for (const e of events.filter((x) => x.step === 'disk' && marks.includes(x.type))) {
    const t = Date.parse(e.time) / 1000;
    if (last) phases[last.phase] = (phases[last.phase] ?? 0) + t - last.t;
    if (e.type === 'step-started') last = { phase: 'start', t };
    else if (e.type === 'step-progress') last = { phase: e.phase, t };
    else if (e.type === 'step-succeeded') last = undefined;
    else if (e.type === 'step-failed') throw new Error(`${file}: the build failed`);
  }
  return { seconds, phases };
}

const results = { host: [], box: [] };
console.log(`disk-build: ${runs} runs each, load average ${loadavg()[0].toFixed(2)}`);
for (let i = 0; i < runs; i++) {
  for (const name of i % 2 === 0 ? ['host', 'box'] : ['box', 'host']) {
    const r = once(`${name}.yaml`);
    results[name].push(r);
    const where = Object.entries(r.phases)
      .map(([p, s]) => `${p} ${s.toFixed(1)}`)
      .join(', ');
    console.log(`  run ${i + 1} ${name.padEnd(4)} ${r.seconds.toFixed(1)} s  (${where})`);
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const h = median(results.host.map((r) => r.seconds));
const b = median(results.box.map((r) => r.seconds));
console.log(
  `disk-build: median host ${h.toFixed(1)} s, host box ${b.toFixed(1)} s, ratio box/host = ${(b / h).toFixed(2)}`,
);
