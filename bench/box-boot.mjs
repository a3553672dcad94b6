#!/usr/bin/env node
// Boot-to-command: the test box's whole protocol run (boot, mount shares, kiwi-ng stand-in, bundle,
// power off) through kiwibox's VM runner (dist/executors/qemu/vm.js) against a hand-written QEMU
// command for the same kernel/initrd, alternating, N runs each. Goal: ratio <= 1.05.
//   npm run build && node bench/box-boot.mjs [RUNS]
import { readFile, rm } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { handQemu, kiwiboxRun, median, resetBundle, testBox, workDir } from './box-common.mjs';

const runs = Number(process.argv[2] ?? 5);
const box = testBox();
const dir = await workDir();

async function checkResult(label) {
  const code = (await readFile(join(dir, 'bundle', 'result.code'), 'utf8')).trim();
  if (code !== '0') throw new Error(`${label}: result.code ${code}`);
}

const times = { kiwibox: [], hand: [] };
const variants = { kiwibox: () => kiwiboxRun({ box, dir }), hand: () => handQemu({ box, dir }) };
console.log(`box-boot: ${runs} runs each, load average ${loadavg()[0].toFixed(2)}`);
for (let i = 0; i < runs; i++) {
  const order = i % 2 === 0 ? ['hand', 'kiwibox'] : ['kiwibox', 'hand'];
  for (const name of order) {
    await resetBundle(dir);
    const start = performance.now();
    await variants[name]();
    const seconds = (performance.now() - start) / 1000;
    await checkResult(name);
    times[name].push(seconds);
    console.log(`  run ${i + 1} ${name.padEnd(7)} ${seconds.toFixed(2)} s`);
  }
}
const k = median(times.kiwibox);
const h = median(times.hand);
console.log(`box-boot: median kiwibox ${k.toFixed(2)} s, hand-written qemu ${h.toFixed(2)} s`);
// The two runs of a round happen back to back under about the same load: their ratio is steadier.
const pairs = times.kiwibox.map((t, i) => t / times.hand[i]);
console.log(`box-boot: ratio of medians kiwibox/hand = ${(k / h).toFixed(3)} (goal <= 1.05)`);
console.log(
  `box-boot: median per-round ratio = ${median(pairs).toFixed(3)}, load average ${loadavg()[0].toFixed(2)}`,
);
await rm(dir, { recursive: true, force: true });
