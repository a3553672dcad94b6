#!/usr/bin/env node
// Target-share write throughput: the guest (test box, through kiwibox's VM runner) writes MB of
// zeros with dd conv=fsync into the bundle share, over 9p and over virtiofs, against the same dd on
// the host disk into the same directory. Goal: share/host >= 0.6. Also prints the guest's own
// zero->null dd speed, the ceiling TCG puts on any guest I/O.
//   npm run build && node bench/box-io.mjs [MB]
import { execFileSync } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { kiwiboxRun, median, resetBundle, testBox, workDir } from './box-common.mjs';

const mb = Number(process.argv[2] ?? 200);
const box = testBox();
// Run by the kiwi-ng stand-in before its build (the description's testbox-run hook).
const script = `
up() { cut -d' ' -f1 /proc/uptime; }
t0=$(up); dd if=/dev/zero of=/bundle/io.bin bs=1M count=${mb} conv=fsync 2>/dev/null; t1=$(up)
echo "BENCH-WRITE $t0 $t1"; rm -f /bundle/io.bin
t0=$(up); dd if=/dev/zero of=/dev/null bs=1M count=${mb} 2>/dev/null; t1=$(up)
echo "BENCH-NULL $t0 $t1"
`;
const dir = await workDir({ 'testbox-run': script });

function hostWrite() {
  const file = join(dir, 'bundle', 'host.bin');
  const start = performance.now();
  execFileSync('dd', ['if=/dev/zero', `of=${file}`, 'bs=1M', `count=${mb}`, 'conv=fsync'], {
    stdio: 'ignore',
  });
  const seconds = (performance.now() - start) / 1000;
  execFileSync('rm', ['-f', file]);
  return mb / seconds;
}

async function guestWrite(sharing) {
  await resetBundle(dir);
  const lines = [];
  await kiwiboxRun({ box, dir, sharing, timeoutMs: 600_000, output: (line) => lines.push(line) });
  const rate = (tag) => {
    const line = lines.find((l) => l.includes(tag));
    if (!line) throw new Error(`${sharing}: no ${tag} line in the console:\n${lines.slice(-15).join('\n')}`);
    const [, t0, t1] = line.trim().split(/\s+/).slice(-3);
    return mb / (Number(t1) - Number(t0));
  };
  return { write: rate('BENCH-WRITE'), null: rate('BENCH-NULL') };
}

const reps = Number(process.argv[3] ?? 3);
console.log(`box-io: ${mb} MB, ${reps} rounds, load average ${loadavg()[0].toFixed(2)}`);
// Load on a shared machine moves the host figure too: each guest run is compared with the mean of
// the host runs just before and after it, and the median ratio is reported.
const ratios = { '9p': [], virtiofs: [] };
let before = hostWrite();
for (let round = 1; round <= reps; round++) {
  for (const sharing of ['9p', 'virtiofs']) {
    const guest = await guestWrite(sharing);
    const after = hostWrite();
    const host = (before + after) / 2;
    ratios[sharing].push(guest.write / host);
    console.log(
      `  round ${round} ${sharing.padEnd(8)} guest write ${guest.write.toFixed(0)} MB/s, host ${host.toFixed(0)} MB/s, ratio ${(guest.write / host).toFixed(2)}; guest zero->null ${guest.null.toFixed(0)} MB/s`,
    );
    before = after;
  }
}
for (const sharing of ['9p', 'virtiofs']) {
  console.log(
    `box-io: ${sharing.padEnd(8)} median ratio guest/host write ${median(ratios[sharing]).toFixed(2)} (goal >= 0.6)`,
  );
}
console.log(`box-io: load average ${loadavg()[0].toFixed(2)}`);
await rm(dir, { recursive: true, force: true });
