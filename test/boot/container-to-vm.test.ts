/**
 * examples/container-to-vm as it is, through bin/kiwibox.js, with real kiwi-ng, podman (an isolated
 * store, given to podman by CONTAINERS_STORAGE_CONF since the example names no store) and QEMU:
 * base root → stash → stack with the VM layer → oem disk → boot test that sees the marker and a
 * login prompt. The disk is a recorded output (from kiwi.result.json); the second run is all fresh.
 */
import { cpSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { withPodmanFixture } from '../podman/fixtures.js';
import { diskFromResult } from '../support/oem-disk.js';
import { events, ROOT, stepsWith, TempProject } from '../support/project.js';
import { debianMirror, missingRealTools } from '../support/real-tools.js';

const skip = missingRealTools({
  tools: ['kiwi-ng', 'debootstrap', 'podman', 'rsync', 'qemu-system-x86_64', 'sfdisk'],
  root: true,
});

describe.skipIf(skip !== undefined)('examples/container-to-vm with real kiwi-ng, podman and QEMU', () => {
  const fx = withPodmanFixture({ prefix: 'kiwibox-container-to-vm-' });
  const p = new TempProject('kiwibox-container-to-vm-');
  cpSync(join(ROOT, 'examples/container-to-vm'), p.dir, {
    recursive: true,
    filter: (src) => !src.includes('/out') && !src.includes('.kiwibox'),
  });
  const env = () => {
    const conf = join(fx.work, 'storage.conf');
    writeFileSync(
      conf,
      `[storage]\ndriver = "overlay"\ngraphroot = "${fx.store.settings.root}"\nrunroot = "${fx.store.settings.runroot}"\n`,
    );
    return {
      DEBIAN_MIRROR: debianMirror(ROOT),
      CONTAINERS_STORAGE_CONF: conf,
      // A TMPDIR that exists only on the host must not reach kiwi's chroot (the kernel's dracut
      // hook failed on it: "Invalid tmpdir"); podman's spool files go there meanwhile.
      TMPDIR: fx.store.settings.tmpdir ?? fx.work,
    };
  };

  it('builds the disk from the stack and boots it to the marker and a login prompt', async () => {
    try {
      const run = await p.kiwibox(['--reporter', 'ndjson', 'run'], env());
      const all = events(run.stdout);
      const failed = all.filter((e) => e.type === 'step-failed');
      const tail = failed.map((e) =>
        existsSync(String(e.log)) ? readFileSync(String(e.log), 'utf8').slice(-4000) : '',
      );
      expect(failed, `${JSON.stringify(failed, null, 2)}\n${tail.join('\n')}\n${run.stderr}`).toEqual([]);
      expect(run.exitCode).toBe(0);
      expect(stepsWith(run.stdout, 'step-succeeded')).toEqual(['base', 'base-root', 'vm', 'vm-boots']);

      const disk = await diskFromResult(p.path('out/vm/kiwi.result.json'));
      expect(disk).toBe(p.path('out/vm/container-to-vm.x86_64-1.0.0.raw'));
      expect(statSync(disk).size).toBeGreaterThan(100 * 1024 * 1024);
      const record = JSON.parse(readFileSync(p.path('.kiwibox/steps/vm/record.json'), 'utf8'));
      const outputs = record.outputs.files.map((f: { path: string }) => f.path);
      expect(outputs).toContain('out/vm/container-to-vm.x86_64-1.0.0.raw');

      // The stack showed where its time went: kiwi's phases as progress events.
      const phases = all.filter((e) => e.type === 'step-progress' && e.step === 'vm').map((e) => e.phase);
      expect(phases).toEqual(expect.arrayContaining(['packages', 'initrd', 'disk']));
      const console = readFileSync(p.path('.kiwibox/logs/vm-boots.log'), 'utf8');
      expect(console).toContain('KIWIBOX-BOOT-OK');
      expect(console).toMatch(/login: ?/);
    } finally {
      // nothing to clean here: the second test re-uses the project
    }
  }, 3_600_000);

  it('finds everything fresh on the second run and leaves the disk alone', async () => {
    const before = statSync(p.path('out/vm/container-to-vm.x86_64-1.0.0.raw'));
    const run = await p.kiwibox(['--reporter', 'ndjson', 'run'], env());
    expect(run.exitCode, run.stdout).toBe(0);
    expect(stepsWith(run.stdout, 'step-started')).toEqual([]);
    expect(stepsWith(run.stdout, 'step-fresh')).toEqual(['base', 'base-root', 'vm', 'vm-boots']);
    const after = statSync(p.path('out/vm/container-to-vm.x86_64-1.0.0.raw'));
    expect(after.mtimeMs).toBe(before.mtimeMs);
    p.remove();
  }, 300_000);
});
