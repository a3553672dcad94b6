/**
 * The directory listing cache (state/dir-cache.ts) as listInputs uses it: a cached listing must
 * never hide a change. Each case first proves the cache is in use (no directory read on an
 * unchanged tree), then changes the tree and expects exactly what an uncached listing gives.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listInputs } from '../../src/fingerprint/list-inputs.js';
import { DirListings, RACY_MS } from '../../src/state/dir-cache.js';
import { TempProject } from '../support/project.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Lists `globs` through `listings` and without a cache; both must agree. */
async function both(p: TempProject, listings: DirListings, globs: string[]) {
  const cached = await listInputs({ globs, files: [], dirs: [] }, p.dir, listings);
  const fresh = await listInputs({ globs, files: [], dirs: [] }, p.dir);
  expect(cached).toEqual(fresh);
  return cached.map((f) => f.slice(p.dir.length + 1));
}

describe('directory listing cache', () => {
  const p = new TempProject();
  const file = join(p.dir, '.kiwibox', 'dir-cache.json');
  afterAll(() => p.remove());

  beforeAll(() => {
    p.write({
      'src/a/b/c/d/f1.txt': '1',
      'src/a/b/e/f2.txt': '2',
      'src/a/b/e/skip/f3.txt': '3',
      'src/g/f4.txt': '4',
    });
  });

  /** A warm cache (after RACY_MS: every listing kept), saved and loaded again as the next run would. */
  async function warm(globs: string[]): Promise<DirListings> {
    await sleep(RACY_MS + 100);
    const first = new DirListings(file);
    await listInputs({ globs, files: [], dirs: [] }, p.dir, first);
    await first.save();
    const next = new DirListings(file);
    await listInputs({ globs, files: [], dirs: [] }, p.dir, next);
    expect(next.reads).toBe(0);
    return new DirListings(file);
  }

  it('reads no directory when nothing changed, for ** and for excludes', async () => {
    const listings = await warm(['src/**']);
    expect(await both(p, listings, ['src/**/*.txt', '!src/**/skip/**'])).toEqual([
      'src/a/b/c/d/f1.txt',
      'src/a/b/e/f2.txt',
      'src/g/f4.txt',
    ]);
    expect(listings.reads).toBe(0);
  });

  it('sees a new file in a deep directory', async () => {
    const listings = await warm(['src/**']);
    writeFileSync(p.path('src/a/b/c/d/new.txt'), 'n');
    expect(await both(p, listings, ['src/**'])).toContain('src/a/b/c/d/new.txt');
    expect(listings.reads).toBe(1);
    rmSync(p.path('src/a/b/c/d/new.txt'));
  });

  it('sees a removed file', async () => {
    writeFileSync(p.path('src/a/b/e/gone.txt'), 'g');
    const listings = await warm(['src/**']);
    rmSync(p.path('src/a/b/e/gone.txt'));
    expect(await both(p, listings, ['src/**'])).not.toContain('src/a/b/e/gone.txt');
  });

  it('sees a renamed directory, and two directories that swapped names', async () => {
    let listings = await warm(['src/**']);
    renameSync(p.path('src/a/b/c'), p.path('src/a/b/x'));
    let listed = await both(p, listings, ['src/**']);
    expect(listed).toContain('src/a/b/x/d/f1.txt');
    expect(listed).not.toContain('src/a/b/c/d/f1.txt');
    listings = await warm(['src/**']);
    // Swap x and e: both names still there, in the same parent; only their identities moved.
    renameSync(p.path('src/a/b/x'), p.path('src/a/b/tmp'));
    renameSync(p.path('src/a/b/e'), p.path('src/a/b/x'));
    renameSync(p.path('src/a/b/tmp'), p.path('src/a/b/e'));
    listed = await both(p, listings, ['src/**']);
    expect(listed).toContain('src/a/b/e/d/f1.txt');
    expect(listed).toContain('src/a/b/x/f2.txt');
  });

  it('does not keep a listing taken within RACY_MS of its directory change', async () => {
    mkdirSync(p.path('src/racy'));
    writeFileSync(p.path('src/racy/r1.txt'), 'r');
    const first = new DirListings(file);
    await listInputs({ globs: ['src/racy/*'], files: [], dirs: [] }, p.dir, first);
    await first.save();
    // Unchanged, but too young to trust: read again.
    const second = new DirListings(file);
    await listInputs({ globs: ['src/racy/*'], files: [], dirs: [] }, p.dir, second);
    expect(second.reads).toBe(1);
  });

  it('sees a file added in the same timestamp tick as the listing', async () => {
    // The racy case itself: a change right after the listing, often in the same tick of the
    // file system's clock (then the directory's mtime and ctime do not move).
    for (let i = 0; i < 20; i++) {
      const dir = p.path(`src/tick${i}`);
      mkdirSync(dir);
      const listings = new DirListings(file);
      await listInputs({ globs: [`src/tick${i}/*`], files: [], dirs: [] }, p.dir, listings);
      writeFileSync(join(dir, 'late.txt'), 'l');
      await listings.save();
      expect(await both(p, new DirListings(file), [`src/tick${i}/*`])).toEqual([`src/tick${i}/late.txt`]);
    }
  });
});

describe('file systems whose directory timestamps are not trusted', () => {
  const root = process.getuid?.() === 0;
  const mnt = mkdtempSync(join(tmpdir(), 'kiwibox-ramfs-'));
  let mounted = false;
  beforeAll(() => {
    if (!root) return;
    // ramfs: a file system outside the trusted list, which a test can mount anywhere.
    execFileSync('mount', ['-t', 'ramfs', 'none', mnt]);
    mounted = true;
  });
  afterAll(() => {
    if (mounted) execFileSync('umount', [mnt]);
    rmSync(mnt, { recursive: true, force: true });
  });

  it.skipIf(!root)('reads every listing again (mounting ramfs needs root)', async () => {
    mkdirSync(join(mnt, 'src/a'), { recursive: true });
    writeFileSync(join(mnt, 'src/a/f.txt'), 'f');
    const old = new Date(Date.now() - 60_000);
    utimesSync(join(mnt, 'src/a'), old, old);
    utimesSync(join(mnt, 'src'), old, old);
    const file = join(mnt, '.kiwibox', 'dir-cache.json');
    const first = new DirListings(file);
    expect(first.trusted(statSync(mnt).dev, mnt)).toBe(false);
    await listInputs({ globs: ['src/**'], files: [], dirs: [] }, mnt, first);
    await first.save();
    const next = new DirListings(file);
    expect(await listInputs({ globs: ['src/**'], files: [], dirs: [] }, mnt, next)).toEqual([
      join(mnt, 'src/a/f.txt'),
    ]);
    expect(next.reads).toBe(2);
  });

  it('trusts the local file system the tests run on', () => {
    const dir = tmpdir();
    const fs = execFileSync('stat', ['-f', '-c', '%T', dir], { encoding: 'utf8' }).trim();
    const expected = ['ext2/ext3', 'xfs', 'btrfs', 'tmpfs', 'overlayfs', 'zfs', 'f2fs', 'bcachefs'];
    expect(new DirListings(join(dir, 'x')).trusted(statSync(dir).dev, dir)).toBe(expected.includes(fs));
  });
});
