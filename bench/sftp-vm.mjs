#!/usr/bin/env node
// Share I/O inside the test box (QEMU, TCG) over sshfs (kiwibox's SFTP server), 9p and virtiofs, on
// the same files: throughput of one big file (read from the description, written to the bundle) and
// per-file latency of many small files. Timed by the guest's clock (/proc/uptime) in the stand-in's
// testbox-run hook, so boot time is left out. Prints the figures and sshfs's ratios to the others.
// Needs `npm run build` (imports ../dist) and scripts/testbox/sshfs-layer (builds the box, cached).
// Usage: node bench/sftp-vm.mjs [--mb 64] [--files 200] [--only 9p,virtiofs,sshfs]   (virtiofs needs root)
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { runVm } from '../dist/executors/qemu/vm.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, fallback) => {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 ? Number(process.argv[index + 1]) : fallback;
};
const megabytes = arg('mb', 64);
const fileCount = arg('files', 200);

const GUEST_SCRIPT = `
t() { cut -d' ' -f1 /proc/uptime; }
mark() { echo "BENCH $1 $2 $(t)"; }
cp /description/big.bin /tmp/big.bin; cp -r /description/small /tmp/small; sync
s=$(t); cat /description/big.bin > /dev/null; mark read-big $s
s=$(t); cp /tmp/big.bin /bundle/big.bin && sync; mark write-big $s
s=$(t); cat /description/small2/* > /dev/null; mark read-small $s
s=$(t); cp -r /tmp/small /bundle/small && sync; mark write-small $s
rm -f /tmp/big.bin; rm -rf /tmp/small
`;

const { stdout } = await promisify(execFile)(join(repo, 'scripts/testbox/sshfs-layer'), [], {
  maxBuffer: 16 * 1024 * 1024,
});
const files = JSON.parse(stdout.trim().split('\n').pop());
const work = await mkdtemp(join(tmpdir(), 'kiwibox-bench-vm-'));
const results = {};
try {
  const description = join(work, 'desc');
  await mkdir(join(description, 'small'), { recursive: true });
  await mkdir(join(description, 'small2'));
  await writeFile(
    join(description, 'config.xml'),
    '<image schemaversion="7.4" name="bench"><preferences><version>1.0.0</version></preferences></image>\n',
  );
  await writeFile(join(description, 'testbox-run'), GUEST_SCRIPT);
  await writeFile(join(description, 'big.bin'), randomBytes(megabytes * 1024 * 1024));
  for (let i = 0; i < fileCount; i++) {
    // Two copies: the guest copies `small` to its tmpfs first, so `small2` is read cold.
    await writeFile(join(description, 'small', `f${i}`), randomBytes(4096));
    await writeFile(join(description, 'small2', `f${i}`), randomBytes(4096));
  }
  const only = process.argv.indexOf('--only');
  const wanted = only > 0 ? process.argv[only + 1].split(',') : ['9p', 'virtiofs', 'sshfs'];
  const backends = wanted.filter((b) => b !== 'virtiofs' || process.getuid?.() === 0);
  if (wanted.includes('virtiofs') && !backends.includes('virtiofs'))
    console.log('virtiofs skipped: it needs root');
  for (const sharing of backends) {
    const bundle = join(work, `bundle-${sharing}`);
    await mkdir(bundle);
    const marks = {};
    const run = await runVm({
      box: {
        name: 'testbox-sshfs',
        arch: files.arch,
        kernel: files.kernel,
        initrd: files.initrd,
        cmdline: files.cmdline,
        memory: '768M',
        cpus: 1,
        console: files.console,
        digest: files.key,
      },
      accel: 'tcg',
      kiwiArgs: ['system', 'build'],
      shares: [
        { tag: 'kiwidescription', path: description, readonly: true },
        { tag: 'kiwibundle', path: bundle, readonly: false },
      ],
      sharing,
      timeoutMs: 900_000,
      signal: new AbortController().signal,
      output: (line) => {
        const match = /^BENCH (\S+) (\S+) (\S+)/.exec(line);
        if (match) marks[match[1]] = Number(match[3]) - Number(match[2]);
      },
      tmpRoot: work,
    });
    if (!run.ok) throw new Error(`${sharing}: ${run.error.map((f) => f.message).join('; ')}`);
    if (Object.keys(marks).length !== 4) throw new Error(`${sharing}: the guest did not report all figures`);
    results[sharing] = marks;
  }
  const rows = [
    ['read-big', `read ${megabytes} MB file`, 'MB/s'],
    ['write-big', `write ${megabytes} MB file`, 'MB/s'],
    ['read-small', `read ${fileCount} small files`, 'ms/file'],
    ['write-small', `write ${fileCount} small files`, 'ms/file'],
  ];
  const figure = (unit, seconds) => (unit === 'MB/s' ? megabytes / seconds : (seconds * 1000) / fileCount);
  const others = backends.filter((b) => b !== 'sshfs');
  console.log(
    `${'guest I/O (TCG)'.padEnd(26)}${backends.map((b) => b.padEnd(16)).join('')}${others.map((b) => `sshfs vs ${b}`.padEnd(18)).join('')}`,
  );
  for (const [key, label, unit] of rows) {
    const values = Object.fromEntries(
      backends.map((b) => [b, figure(unit, Math.max(results[b][key], 0.01))]),
    );
    // "N× slower" (or faster) whatever the unit.
    const slower = (other) => {
      const ratio = unit === 'MB/s' ? values[other] / values.sshfs : values.sshfs / values[other];
      return ratio >= 1 ? `${ratio.toFixed(1)}x slower` : `${(1 / ratio).toFixed(1)}x faster`;
    };
    console.log(
      `${label.padEnd(26)}${backends.map((b) => `${values[b].toFixed(1)} ${unit}`.padEnd(16)).join('')}${others.map((o) => slower(o).padEnd(18)).join('')}`,
    );
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
