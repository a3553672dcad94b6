#!/usr/bin/env node
// Throughput (one 64 MB file) and per-file latency (200 small files) through the embedded share
// server with OpenSSH's sftp client, against a plain local copy of the same files in the same run,
// and against OpenSSH's own sftp-server spoken to over a pipe (`sftp -D`: the SFTP protocol cost
// without SSH transport, confinement or Node).
// Needs `npm run build` first (imports ../dist). Usage: node bench/sftp-io.mjs [--mb 64] [--files 200]
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { generateBuildKeys, writePrivateKeyFile } from '../dist/sftp/keys.js';
import { startShareServer } from '../dist/sftp/server.js';

const run = promisify(execFile);
const arg = (name, fallback) => {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 ? Number(process.argv[index + 1]) : fallback;
};
const megabytes = arg('mb', 64);
const fileCount = arg('files', 200);

async function timed(fn) {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

const root = await mkdtemp(join(tmpdir(), 'kiwibox-bench-sftp-'));
const server = { stop: async () => undefined };
try {
  const description = join(root, 'desc');
  const bundle = join(root, 'bundle');
  const local = join(root, 'local');
  await Promise.all([mkdir(join(description, 'small'), { recursive: true }), mkdir(bundle), mkdir(local)]);
  await writeFile(join(description, 'big.bin'), randomBytes(megabytes * 1024 * 1024));
  for (let i = 0; i < fileCount; i++) await writeFile(join(description, 'small', `f${i}`), randomBytes(4096));

  const keys = generateBuildKeys({ comment: 'bench' });
  const keyFile = await writePrivateKeyFile({ dir: root, key: keys.client });
  if (!keyFile.ok) throw new Error(keyFile.error[0].message);
  const started = await startShareServer({
    shares: [
      { path: '/kiwidescription', dir: description, readOnly: true },
      { path: '/kiwibundle', dir: bundle, readOnly: false },
    ],
    clientPublicKey: keys.client.publicKey,
    hostKey: keys.host.privateKey,
  });
  if (!started.ok) throw new Error(started.error[0].message);
  server.stop = started.value.stop;
  const viaServer = [
    '-P',
    String(started.value.port),
    '-i',
    keyFile.value,
    '-o',
    'StrictHostKeyChecking=no',
    '-o',
    'UserKnownHostsFile=/dev/null',
    '-o',
    'BatchMode=yes',
    '-o',
    'LogLevel=ERROR',
    'bench@127.0.0.1',
  ];
  // sftp-server -d starts in the root dir; paths are then rewritten to the real directories.
  const direct = ['-D', `/usr/lib/openssh/sftp-server -d ${root}`];
  const sftp = (commands, how = viaServer) =>
    new Promise((resolve, reject) => {
      const rewrite = (line) =>
        how === viaServer
          ? line
          : line.replaceAll('/kiwidescription', description).replaceAll('/kiwibundle', bundle);
      const child = execFile('sftp', ['-b', '-', ...how], { cwd: root }, (error) =>
        error ? reject(error) : resolve(),
      );
      child.stdin.end(`${commands.map(rewrite).join('\n')}\n`);
    });

  // Connection setup alone, subtracted from every sftp figure.
  const setup = Math.min(await timed(() => sftp(['pwd'])), await timed(() => sftp(['pwd'])));
  const rows = [];
  const directSetup = Math.min(
    await timed(() => sftp(['pwd'], direct)),
    await timed(() => sftp(['pwd'], direct)),
  );
  const measure = async (name, unit, amount, localFn, commands, cleanup) => {
    const base = await timed(localFn);
    const openssh = Math.max((await timed(() => sftp(commands, direct))) - directSetup, 1e-6);
    await cleanup();
    const through = Math.max((await timed(() => sftp(commands))) - setup, 1e-6);
    rows.push({ name, unit, amount, base, openssh, through });
  };
  const clean =
    (...paths) =>
    () =>
      Promise.all(paths.map((p) => rm(join(root, p), { recursive: true, force: true })));
  await measure(
    'read 64 MB file',
    'MB/s',
    megabytes,
    () => run('cp', [join(description, 'big.bin'), join(local, 'big.bin')]),
    ['get /kiwidescription/big.bin got.bin'],
    clean('got.bin'),
  );
  await measure(
    'write 64 MB file',
    'MB/s',
    megabytes,
    () => run('cp', [join(local, 'big.bin'), join(local, 'big2.bin')]),
    ['put got.bin /kiwibundle/big.bin'],
    clean('bundle/big.bin'),
  );
  await measure(
    `read ${fileCount} small files`,
    'ms/file',
    fileCount,
    () => run('cp', ['-r', join(description, 'small'), join(local, 'small')]),
    ['get -r /kiwidescription/small got-small'],
    clean('got-small'),
  );
  await measure(
    `write ${fileCount} small files`,
    'ms/file',
    fileCount,
    () => run('cp', ['-r', join(local, 'small'), join(local, 'small2')]),
    ['put -r got-small /kiwibundle/small'],
    clean('bundle/small'),
  );

  console.log(`sftp connection setup: ${(setup * 1000).toFixed(0)} ms (subtracted)`);
  console.log(
    'benchmark                 local cp        openssh -D      embedded sftp   embedded/local  embedded/openssh',
  );
  for (const row of rows) {
    const figure = (seconds) => (row.unit === 'MB/s' ? row.amount / seconds : (seconds * 1000) / row.amount);
    const [base, openssh, through] = [figure(row.base), figure(row.openssh), figure(row.through)];
    // "N× slower" (or faster) whatever the unit.
    const slower = (ours, theirs) => {
      const ratio = row.unit === 'MB/s' ? theirs / ours : ours / theirs;
      return ratio >= 1 ? `${ratio.toFixed(1)}x slower` : `${(1 / ratio).toFixed(1)}x faster`;
    };
    const cell = (value) => `${value.toFixed(2)} ${row.unit}`.padEnd(16);
    console.log(
      `${row.name.padEnd(26)}${cell(base)}${cell(openssh)}${cell(through)}${slower(through, base).padEnd(16)}${slower(through, openssh)}`,
    );
  }
} finally {
  await server.stop();
  await rm(root, { recursive: true, force: true });
}
