#!/usr/bin/env node
// Boot-to-marker: `kiwibox run` of a boot test (its record dropped first) on a real kiwi-built oem disk against a
// hand-written QEMU command on the same disk (the recipe's: -snapshot, serial to a file polled every
// 100 ms, killed once the marker shows), alternating, N runs each, TCG both. Goal: ratio <= 1.05.
//   npm run build && node bench/boot.mjs [RUNS]
// The disk project (test/fixtures/oem-disk built by kiwibox with the host's kiwi-ng, as root) is kept
// in KIWIBOX_BENCH_OEM_DISK (default ~/.cache/kiwibox/bench-oem-disk; a KIWIBOX_TEST_OEM_DISK dir works
// too) and built on first use; an existing description there is used as it is (remove the dir to
// rebuild). The bench writes its own bench-boot.yaml beside the project's kiwibox.yaml.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { homedir, loadavg, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runKiwibox } from './kiwibox-cli.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const runs = Number(process.argv[2] ?? 3);
const marker = 'KIWIBOX-BOOT-OK';
const dir = process.env.KIWIBOX_BENCH_OEM_DISK ?? join(homedir(), '.cache/kiwibox/bench-oem-disk');
const env = {
  ...process.env,
  NO_COLOR: '1',
  DEBIAN_MIRROR: execFileSync(join(root, 'scripts/debian-mirror'), { encoding: 'utf8' }).trim(),
};
const yaml = `version: 1
builds:
  disk:
    description: description
    target-dir: out/disk
    kiwi-args: [--set-repo, "\${DEBIAN_MIRROR},apt-deb"]
boot-tests:
  bench-boots: {image: disk, expect: [${marker}], accel: tcg, timeout: 10m}
`;

function kiwibox(args) {
  return runKiwibox({ cwd: dir, env, args: ['-f', 'bench-boot.yaml', '--reporter', 'plain', ...args] });
}

async function diskPath() {
  await mkdir(dir, { recursive: true });
  if (!existsSync(join(dir, 'description'))) {
    await cp(join(root, 'test/fixtures/oem-disk'), join(dir, 'description'), { recursive: true });
  }
  await writeFile(join(dir, 'bench-boot.yaml'), yaml);
  console.log(`boot: building (or finding fresh) the oem disk in ${dir}`);
  await kiwibox(['run', 'disk']);
  const result = JSON.parse(await readFile(join(dir, 'out/disk/kiwi.result.json'), 'utf8'));
  // kiwi names the files in the dir it built in (a staging dir renamed to out/disk afterwards).
  return join(dir, 'out/disk', basename(result.disk_image.filename));
}

/** The hand-written run: QEMU as the recipe boots it, killed when the marker is in the serial log. */
async function hand(disk) {
  const work = await mkdtemp(join(tmpdir(), 'kbbench-boot-'));
  const log = join(work, 'serial.log');
  await writeFile(log, '');
  const qemu = spawn(
    'qemu-system-x86_64',
    [
      '-accel',
      'tcg',
      '-m',
      '1G',
      '-smp',
      '1',
      '-display',
      'none',
      '-serial',
      `file:${log}`,
      '-monitor',
      'none',
      '-no-reboot',
      '-snapshot',
      '-drive',
      `file=${disk},format=raw,if=virtio`,
      '-nic',
      'none',
    ],
    { stdio: 'ignore', env: { ...process.env, TMPDIR: work } },
  );
  const exited = new Promise((resolve) => qemu.on('exit', resolve));
  let text = '';
  let ended = false;
  void exited.then(() => (ended = true));
  const deadline = Date.now() + 15 * 60_000;
  while (!text.includes(marker) && !ended && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    text = await readFile(log, 'utf8');
    // A panicked guest (under heavy load TCG can trip the kernel's IO-APIC timer check) never gets there.
    if (text.includes('Kernel panic - not syncing')) break;
  }
  qemu.kill('SIGKILL');
  await exited;
  await rm(work, { recursive: true, force: true });
  if (!text.includes(marker)) {
    const panic = /Kernel panic - not syncing:.*/.exec(text)?.[0];
    throw new Error(`hand-written qemu: no marker (${panic ?? (ended ? 'qemu ended' : 'timed out')})`);
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const disk = await diskPath();
await stat(disk);
const times = { kiwibox: [], hand: [] };
// --force would rebuild the disk too: drop the boot test's record instead (untimed), so it runs.
const prepare = { kiwibox: () => kiwibox(['clean', 'bench-boots']), hand: async () => {} };
const variants = { kiwibox: () => kiwibox(['run', 'bench-boots']), hand: () => hand(disk) };
console.log(`boot: ${runs} runs each on ${disk}, load average ${loadavg()[0].toFixed(2)}`);
for (let i = 0; i < runs; i++) {
  const order = i % 2 === 0 ? ['hand', 'kiwibox'] : ['kiwibox', 'hand'];
  const round = {};
  for (const name of order) {
    await prepare[name]();
    const start = performance.now();
    try {
      await variants[name]();
    } catch (error) {
      console.log(
        `  run ${i + 1} ${name.padEnd(7)} failed, round dropped: ${String(error.message).split('\n')[0]}`,
      );
      break;
    }
    round[name] = (performance.now() - start) / 1000;
    console.log(
      `  run ${i + 1} ${name.padEnd(7)} ${round[name].toFixed(2)} s (load ${loadavg()[0].toFixed(2)})`,
    );
  }
  if (round.kiwibox !== undefined && round.hand !== undefined) {
    times.kiwibox.push(round.kiwibox);
    times.hand.push(round.hand);
  }
}
if (!times.kiwibox.length) throw new Error('boot: no round completed');
const k = median(times.kiwibox);
const h = median(times.hand);
const pairs = times.kiwibox.map((t, i) => t / times.hand[i]);
console.log(`boot: median boot-to-marker kiwibox ${k.toFixed(2)} s, hand-written qemu ${h.toFixed(2)} s`);
console.log(`boot: ratio of medians kiwibox/hand = ${(k / h).toFixed(3)} (goal <= 1.05)`);
console.log(
  `boot: median per-round ratio = ${median(pairs).toFixed(3)}, load average ${loadavg()[0].toFixed(2)}`,
);
