import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpioArchive } from '../../src/boxes/cpio.js';
import { ensureHostBox, hostBoxArch } from '../../src/boxes/host-box.js';
import { HOST_INIT } from '../../src/boxes/host-init.js';
import { expectOk } from '../support/expect-ok.js';
import { testBoxStore } from '../support/real-tools.js';

const store = testBoxStore();
let scratch: string;
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'kiwibox-host-'));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('host box', () => {
  // The host box's key comes from apt-cache. Adding an apt architecture makes every apt-cache call fail
  // until the next apt-get update ("The package cache was built for different architectures"); the
  // aarch64 test box used to add arm64 while this file ran, so the first run on a fresh machine failed.
  it.runIf(execFileSync('dpkg', ['--print-architecture']).toString().trim() === 'amd64')(
    'finds arm64 known to apt before any test runs (scripts/setup adds it; tests never change apt)',
    () => {
      expect(execFileSync('dpkg', ['--print-foreign-architectures']).toString().split('\n')).toContain(
        'arm64',
      );
    },
  );

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
    const second = expectOk(await ensureHostBox({ store, arch: hostBoxArch() }), 'second ensureHostBox');
    expect(second.initrd).toBe(first.value.initrd);
    expect(statSync(first.value.initrd).mtimeMs).toBe(mtime);
    expect((await ensureHostBox({ store, arch: hostBoxArch() === 'x86_64' ? 'aarch64' : 'x86_64' })).ok).toBe(
      false,
    );
  }, 600_000);
});

describe('host box in a store shared by two callers', () => {
  // Test files run in parallel and share one store (testBoxStore): two callers building the host box
  // at once must both get it. The .deb comes from the shared store, so nothing is downloaded twice.
  it('two concurrent ensureHostBox calls on an empty store both succeed, and again on the built one', async () => {
    const shared = expectOk(await ensureHostBox({ store, arch: hostBoxArch() }), 'shared host box');
    const fresh = join(scratch, 'concurrent-store');
    const arch = join(fresh, 'host', hostBoxArch());
    execFileSync('mkdir', ['-p', arch]);
    execFileSync('cp', ['-a', '--', join(dirname(dirname(shared.kernel)), 'debs'), arch]);
    const both = await Promise.all([
      ensureHostBox({ store: fresh, arch: hostBoxArch() }),
      ensureHostBox({ store: fresh, arch: hostBoxArch() }),
    ]);
    const [a, b] = both.map((r, i) => expectOk(r, `concurrent call ${i + 1}`));
    expect(a?.initrd).toBe(b?.initrd);
    const again = await Promise.all([
      ensureHostBox({ store: fresh, arch: hostBoxArch() }),
      ensureHostBox({ store: fresh, arch: hostBoxArch() }),
    ]);
    for (const [i, r] of again.entries())
      expect(expectOk(r, `repeated call ${i + 1}`).initrd).toBe(a?.initrd);
  }, 600_000);
});

describe('host box boot', () => {
  // Boots the host box under TCG with the QEMU helper's runVm and runs the host's real kiwi-ng inside
  // it over the official protocol. The description names a repository that cannot exist, so kiwi-ng
  // fails at a known point; what is asserted is that the host's own kiwi-ng ran in the guest (its log
  // in result.log) and reported through result.code.
  it('runs the host kiwi-ng inside the VM and reports through result.code', async () => {
    const { runVm } = await import('../../src/executors/qemu/vm.js');
    const { resolveBox } = await import('../../src/boxes/resolve.js');
    const desc = join(scratch, 'desc');
    const bundle = join(scratch, 'bundle');
    execFileSync('mkdir', ['-p', desc, bundle]);
    writeFileSync(
      join(desc, 'config.xml'),
      `<?xml version="1.0" encoding="utf-8"?>
<image schemaversion="7.4" name="hostbox-probe">
  <description type="system"><author>kiwibox</author><contact>test@example.invalid</contact><specification>probe</specification></description>
  <preferences><version>1.0.0</version><packagemanager>apt</packagemanager><type image="tbz"/></preferences>
  <repository type="apt-deb"><source path="dir:///kiwibox-no-such-repo"/></repository>
  <packages type="bootstrap"><package name="busybox-static"/></packages>
</image>
`,
    );
    const box = await resolveBox(
      {
        kind: 'box',
        id: 'host',
        deps: [],
        location: { file: join(scratch, 'kiwibox.yaml'), offset: 0, length: 0 },
        fields: {},
        source: 'host',
        name: 'host',
        memory: '1G',
        cpus: 1,
        arch: hostBoxArch() as 'x86_64',
        accel: 'tcg',
        raw: {},
      },
      { projectDir: scratch, env: { ...process.env, KIWIBOX_BOX_STORE: store } },
    );
    if (!box.ok) throw new Error(box.error.map((f) => f.message).join('\n'));
    const lines: string[] = [];
    const run = await runVm({
      box: box.value,
      accel: 'tcg',
      kiwiArgs: ['system', 'build'],
      shares: [
        { tag: 'kiwidescription', path: desc, readonly: true },
        { tag: 'kiwibundle', path: bundle, readonly: false },
      ],
      sharing: '9p',
      timeoutMs: 600_000,
      signal: new AbortController().signal,
      output: (l) => lines.push(l),
    });
    const log = readFileSync(join(bundle, 'result.log'), 'utf8');
    if (process.env.KIWIBOX_TEST_DUMP)
      writeFileSync(process.env.KIWIBOX_TEST_DUMP, `${lines.join('\n')}\n----\n${log}`);
    if (!run.ok) throw new Error(`${run.error[0]?.message}\n${lines.slice(-30).join('\n')}`);
    expect(lines.some((l) => l.includes('hostbox: kiwi-ng system build'))).toBe(true);
    // Every module loaded, and /etc got its writable overlay.
    expect(lines.filter((l) => /insmod .* failed|no overlay on \/etc/.test(l))).toEqual([]);
    // The host's kiwi-ng read the description through the read-only share and failed where expected.
    expect(log).toContain('--> loaded /description/config.xml');
    expect(log).toContain('KiwiDebootstrapError');
    const code = readFileSync(join(bundle, 'result.code'), 'utf8').trim();
    expect(code).toBe('1');
    expect(lines.some((l) => l.includes(`hostbox: result.code=${code}`))).toBe(true);
  }, 900_000);
});
