// bench/hash: a cold fingerprint (no hash cache) of ~1 GB of files through kiwibox's hashing,
// against sha256sum over the same files, in the same run (page cache warm for both).
// Goal: kiwibox throughput >= 85 % of sha256sum's.   Usage: node bench/hash.mjs [--mb 1024] [--runs 5]
import { spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { hashInputs } from '../dist/fingerprint/inputs.js';
import { HashCache } from '../dist/state/hash-cache.js';

const { values } = parseArgs({
  options: { mb: { type: 'string', default: '1024' }, runs: { type: 'string', default: '5' } },
});
const mb = Number(values.mb);
const runs = Number(values.runs);
const dir = join(tmpdir(), `kiwibox-bench-hash-${mb}`);
// A mix like a description plus a root: a few large files and many small ones.
const large = Math.max(1, Math.floor((mb * 0.9) / 64));
const small = 2000;
if (!existsSync(join(dir, 'done'))) {
  mkdirSync(join(dir, 'small'), { recursive: true });
  const chunk = Buffer.alloc(64 << 20);
  for (let i = 0; i < large; i++) writeFileSync(join(dir, `large-${i}.bin`), randomFillSync(chunk));
  const rest = Math.floor(((mb << 20) - large * (64 << 20)) / small);
  for (let i = 0; i < small; i++)
    writeFileSync(join(dir, 'small', `f${i}`), randomFillSync(Buffer.alloc(Math.max(rest, 1))));
  writeFileSync(join(dir, 'done'), '');
}
const files = [
  ...readdirSync(dir)
    .filter((f) => f.startsWith('large-'))
    .map((f) => join(dir, f)),
  ...readdirSync(join(dir, 'small')).map((f) => join(dir, 'small', f)),
].sort();
spawnSync('cat', files, { stdio: ['ignore', 'ignore', 'ignore'] }); // warm the page cache

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const s = [];
const k = [];
for (let i = 0; i < runs; i++) {
  let t = process.hrtime.bigint();
  const r = spawnSync('xargs', ['-0', 'sha256sum'], {
    input: files.join('\0'),
    stdio: ['pipe', 'ignore', 'inherit'],
    maxBuffer: 1 << 30,
  });
  if (r.status !== 0) throw new Error('sha256sum failed');
  s.push(Number(process.hrtime.bigint() - t) / 1e6);
  const state = mkdtempSync(join(tmpdir(), 'kiwibox-bench-hash-state-'));
  const cache = HashCache.load(join(state, 'hash-cache.json'));
  t = process.hrtime.bigint();
  const { hashes } = await hashInputs({ files, projectDir: dir, cache });
  k.push(Number(process.hrtime.bigint() - t) / 1e6);
  if (Object.keys(hashes).length !== files.length || cache.reads !== files.length)
    throw new Error('not every file was hashed');
  rmSync(state, { recursive: true, force: true });
}
const total = files.length;
console.log(`bench/hash: ${mb} MB in ${total} files (${large} x 64 MB + ${small} small)`);
console.log(`sha256sum: median ${median(s).toFixed(0)} ms (${s.map((x) => x.toFixed(0)).join(' ')})`);
console.log(`kiwibox:   median ${median(k).toFixed(0)} ms (${k.map((x) => x.toFixed(0)).join(' ')})`);
console.log(`throughput kiwibox/sha256sum: ${((median(s) / median(k)) * 100).toFixed(0)} %  (goal >= 85 %)`);
