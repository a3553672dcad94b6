import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpioArchive } from '../../src/boxes/cpio.js';
import { ensureHostBox, hostBoxArch } from '../../src/boxes/host-box.js';
import { HOST_INIT } from '../../src/boxes/host-init.js';

// The host box downloads the Debian kernel package once into a store shared by the host-box tests
// (KIWIBOX_TEST_BOX_STORE, default under the user's cache) so repeated runs do not fetch it again.
const store =
  process.env.KIWIBOX_TEST_BOX_STORE ??
  join(process.env.XDG_CACHE_HOME ?? join(process.env.HOME ?? tmpdir(), '.cache'), 'kiwibox', 'test-boxes');
let scratch: string;
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'kiwibox-host-'));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('host box', () => {
  it('has an /init that is valid sh', () => {
    const file = join(scratch, 'init');
    writeFileSync(file, HOST_INIT);
    expect(() => execFileSync('/bin/busybox', ['sh', '-n', file])).not.toThrow();
    expect(HOST_INIT).toContain(
      'kiwi-ng --logfile /bundle/result.log $args --description /description --target-dir /result',
    );
  });

  it('writes a newc archive that cpio reads back', () => {
    const archive = cpioArchive([
      { kind: 'dir', path: 'bin' },
      { kind: 'file', path: 'bin/hello', data: Buffer.from('hi\n'), mode: 0o755 },
      { kind: 'symlink', path: 'bin/link', target: 'hello' },
    ]);
    const listing = execFileSync('cpio', ['-itv', '--quiet'], { input: archive }).toString();
    expect(listing).toMatch(/drwxr-xr-x .* bin\n/);
    expect(listing).toMatch(/-rwxr-xr-x .* 3 .* bin\/hello\n/);
    expect(listing).toMatch(/lrwxrwxrwx .* bin\/link -> hello\n/);
    const out = join(scratch, 'x');
    execFileSync('mkdir', ['-p', out]);
    execFileSync('cpio', ['-id', '--quiet'], { input: archive, cwd: out });
    expect(readFileSync(join(out, 'bin/hello'), 'utf8')).toBe('hi\n');
  });

  it('builds the Debian kernel + initramfs once and reuses it', async () => {
    const lines: string[] = [];
    const first = await ensureHostBox({ store, arch: hostBoxArch(), onLine: (l) => lines.push(l) });
    if (!first.ok) throw new Error(first.error.map((f) => f.message).join('\n'));
    expect(readFileSync(first.value.kernel).subarray(0, 4).toString('latin1')).toBe('\x7fELF');
    const listing = execFileSync('cpio', ['-it', '--quiet'], {
      input: readFileSync(first.value.initrd),
    }).toString();
    for (const m of [
      'init',
      'bin/busybox',
      'bin/sh',
      'lib/modules/9p.ko',
      'lib/modules/overlay.ko',
      'lib/modules/load-order',
    ]) {
      expect(listing.split('\n')).toContain(m);
    }
    expect(first.value.shares.map((s) => s.tag)).toEqual(['hostusr', 'hostetc']);
    const mtime = statSync(first.value.initrd).mtimeMs;
    const second = await ensureHostBox({ store, arch: hostBoxArch() });
    expect(second.ok && second.value.initrd).toBe(first.value.initrd);
    expect(statSync(first.value.initrd).mtimeMs).toBe(mtime);
    expect((await ensureHostBox({ store, arch: hostBoxArch() === 'x86_64' ? 'aarch64' : 'x86_64' })).ok).toBe(
      false,
    );
  }, 600_000);
});
