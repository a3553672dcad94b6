#!/usr/bin/env node
// Stacking 3 images of ~100 MB (overlapping paths, as stacked stashes have) into one root:
//   kiwibox   - stackInto() from dist (image mount, rsync -aHAX --numeric-ids --one-file-system --inplace, mode restored)
//   upstream  - the stackbuild plugin's way: per image `podman image mount`, rsync --archive --hard-links
//               --xattrs --acls --one-file-system --inplace MNT/ ROOT, `podman image umount --force`
//   cp -a     - cp -a of each image mount in order (the union, no rsync)
// Same images, same run, isolated podman store; rounds alternate the order; medians and ratios printed.
// The three resulting trees are compared (rsync -n --checksum) and must be identical.
// Run: npm run build && node bench/stack-3x100.mjs [rounds, default 5]
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PodmanSession, podmanGlobalArgs } from '../dist/executors/podman/podman.js';
import { stackInto } from '../dist/executors/podman/stack.js';
import { stashExecutor } from '../dist/executors/podman/stash.js';
import { runProcess } from '../dist/process/run.js';

const rounds = Number(process.argv[2] ?? 5);
const work = await mkdtemp(join(tmpdir(), 'kiwibox-bench-stack-'));
const settings = {
  root: join(work, 'store/root'),
  runroot: join(work, 'store/runroot'),
  tmpdir: join(work, 'store/tmp'),
  storageDriver: 'overlay',
  registries: {},
};
await mkdir(settings.tmpdir, { recursive: true });

async function sh(argv) {
  const result = await runProcess({ argv, cwd: work });
  if (!result.ok) throw new Error(`${argv.join(' ')}: ${result.error[0].message}`);
  return result.value.stdout;
}
const podman = (...args) => sh(['podman', ...podmanGlobalArgs(settings), ...args]);

/** ~100 MB: 60 × 1 MB files + 4000 × 10 KB files; `overlap` of them at paths the other images share. */
async function makeTree(dir, seed) {
  for (let i = 0; i < 60; i++) {
    const shared = i < 20; // 20 big files at shared paths: later images overwrite them
    const path = join(dir, 'usr/share', shared ? 'shared' : `own${seed}`, `big${i}.bin`);
    await mkdir(join(path, '..'), { recursive: true });
    await writeFile(path, randomBytes(1 << 20));
  }
  for (let d = 0; d < 40; d++) {
    const shared = d < 10;
    const sub = join(dir, 'usr/lib', shared ? `shared${d}` : `own${seed}-${d}`);
    await mkdir(sub, { recursive: true });
    for (let f = 0; f < 100; f++) await writeFile(join(sub, `f${f}.so`), randomBytes(10 * 1024));
  }
  await mkdir(join(dir, 'etc'), { recursive: true });
  await writeFile(join(dir, 'etc/release'), `image ${seed}\n`);
}

const images = [];
for (const seed of [1, 2, 3]) {
  const dir = join(work, `tree${seed}`);
  await makeTree(dir, seed);
  const step = {
    kind: 'stash',
    id: `img${seed}`,
    deps: [],
    location: { file: '', offset: 0, length: 0 },
    fields: {},
    root: { dir },
    name: `bench/img${seed}`,
    tag: 'latest',
  };
  const project = {
    file: '',
    dir: work,
    stateDir: work,
    podman: settings,
    steps: new Map([[step.id, step]]),
  };
  const ctx = {
    project,
    signal: new AbortController().signal,
    output: () => {},
    upstream: new Map(),
    tmpDir: work,
  };
  const result = await stashExecutor.run(step, ctx);
  if (!result.ok) throw new Error(JSON.stringify(result.error));
  images.push(result.value.data.image);
  await rm(dir, { recursive: true, force: true });
}
const size = await sh(['du', '-sm', settings.root]);
console.log(`images: ${images.join(', ')} (store ${size.split('\t')[0]} MB)`);

const methods = {
  async kiwibox(root) {
    const session = new PodmanSession({ settings, cwd: work });
    const ctx = { signal: new AbortController().signal, output: () => {}, tmpDir: work };
    try {
      const result = await stackInto({
        images: images.map((ref) => ({ ref, remote: false })),
        root,
        keepDirlinks: false,
        session,
        ctx,
      });
      if (!result.ok) throw new Error(JSON.stringify(result.error));
    } finally {
      await session.cleanup();
    }
  },
  async upstream(root) {
    for (const image of images) {
      const { mode } = await stat(root);
      const mount = (await podman('image', 'mount', image)).trim();
      try {
        await sh([
          'rsync',
          '--archive',
          '--hard-links',
          '--xattrs',
          '--acls',
          '--one-file-system',
          '--inplace',
          `${mount}/`,
          root,
        ]);
      } finally {
        await podman('image', 'umount', '--force', image);
      }
      await chmod(root, mode & 0o7777); // KIWI's DataSync restores the target's mode
    }
  },
  async 'cp -a'(root) {
    for (const image of images) {
      const { mode } = await stat(root);
      const mount = (await podman('image', 'mount', image)).trim();
      try {
        await sh(['cp', '-a', `${mount}/.`, root]);
      } finally {
        await podman('image', 'umount', '--force', image);
      }
      await chmod(root, mode & 0o7777);
    }
  },
};

const times = Object.fromEntries(Object.keys(methods).map((name) => [name, []]));
const names = Object.keys(methods);
try {
  // Round 0 warms the page cache and is not counted; later rounds rotate who goes first.
  for (let round = 0; round <= rounds; round++) {
    const order = names.map((_, i) => names[(i + round) % names.length]);
    for (const name of order) {
      const root = join(work, `out-${name.replace(/\W/g, '')}`, 'build/image-root');
      await rm(join(root, '../..'), { recursive: true, force: true });
      await mkdir(root, { recursive: true, mode: 0o755 });
      await sh(['sync']);
      const start = process.hrtime.bigint();
      await methods[name](root);
      if (round > 0) times[name].push(Number(process.hrtime.bigint() - start) / 1e9);
    }
  }
  // Same resulting tree: rsync dry-run with checksums lists every difference (none expected).
  const reference = join(work, 'out-upstream/build/image-root/');
  for (const name of ['kiwibox', 'cp -a']) {
    const other = join(work, `out-${name.replace(/\W/g, '')}`, 'build/image-root/');
    const diff = await sh([
      'rsync',
      '-aHAXn',
      '--checksum',
      '--delete',
      '--itemize-changes',
      other,
      reference,
    ]);
    const lines = diff.split('\n').filter(Boolean);
    console.log(
      `${name} vs upstream: ${lines.length === 0 ? 'identical tree' : `${lines.length} differences, e.g. ${lines[0]}`}`,
    );
  }
  const median = (list) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)];
  const base = median(times.upstream);
  for (const name of names) {
    const m = median(times[name]);
    const all = times[name].map((t) => t.toFixed(2)).join(' ');
    // Per-round ratios: both methods ran in the same round, so background load on a shared machine
    // cancels out better than in the ratio of medians.
    const perRound = times[name].map((t, i) => t / times.upstream[i]);
    console.log(
      `${name.padEnd(9)} median ${m.toFixed(2)} s, min ${Math.min(...times[name]).toFixed(2)} s (${all}); ` +
        `vs upstream: ratio of medians ${(m / base).toFixed(2)}x, median per-round ratio ${median(perRound).toFixed(2)}x`,
    );
  }
} finally {
  await runProcess({
    argv: ['podman', ...podmanGlobalArgs(settings), 'image', 'umount', '-a', '-f'],
    cwd: work,
  });
  await runProcess({ argv: ['podman', ...podmanGlobalArgs(settings), 'system', 'reset', '-f'], cwd: work });
  await rm(work, { recursive: true, force: true });
}
