/**
 * A real, successful kiwi-ng build inside the host box: `examples/host-box` run as it is, through
 * the CLI. The host's own kiwi-ng (9.24, from /usr shared read-only) runs in a QEMU guest (TCG here)
 * and builds a tbz image.
 *
 * The job is picked to finish in a few minutes under TCG: no bootstrap section (kiwi skips
 * debootstrap), an empty local flat repository (kiwi needs one), and the root comes from an
 * `<archive>` that a task packs from a busybox tree. kiwi still runs its whole build flow (root
 * setup, archive install, tar.xz, package metadata export, `result bundle`) for real. It takes
 * ~2.5 s natively; the guest figure is printed.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { execaSync } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureHostBox, hostBoxArch } from '../../src/boxes/host-box.js';
import { leftoverProcesses } from '../box/testbox.js';
import { BIN, ROOT, stepsWith, TempProject } from '../support/project.js';
import { missingRealTools, testBoxStore } from '../support/real-tools.js';

const skip = missingRealTools({ tools: ['qemu-system-x86_64', 'kiwi-ng', 'tar', 'busybox'], root: true });

const store = testBoxStore();

/** The unprivileged user the build runs as when the tests run as root (CI): nobody. */
const NOBODY = 65534;

/**
 * Run as root (CI), the build runs as nobody: a build without root is the host box's point. nobody
 * gets its own project dir and box store, seeded from the shared store (which lives under root's
 * home) so the kernel package is not fetched again.
 */
async function asNonRoot(p: TempProject): Promise<{ env: Record<string, string>; user?: number }> {
  if (process.getuid?.() !== 0) return { env: { KIWIBOX_BOX_STORE: store } };
  const boxes = await ensureHostBox({ store, arch: hostBoxArch() });
  if (!boxes.ok) throw new Error(boxes.error.map((f) => f.message).join('\n'));
  const own = p.path('.nobody-store');
  const arch = join(own, 'host', hostBoxArch());
  mkdirSync(arch, { recursive: true });
  execFileSync('cp', ['-a', '--', dirname(boxes.value.kernel), arch]);
  execFileSync('chown', ['-R', `${NOBODY}:${NOBODY}`, p.dir]);
  // nobody must be able to reach the project, kiwibox and node through their parent directories.
  for (const path of [p.dir, BIN, process.execPath]) {
    const probe = execaSync('test', ['-r', path], { reject: false, uid: NOBODY, gid: NOBODY });
    if (probe.exitCode !== 0) throw new Error(`${path} is not readable by uid ${NOBODY}: move the checkout`);
  }
  return { env: { KIWIBOX_BOX_STORE: own, HOME: p.dir, XDG_CACHE_HOME: p.path('.cache') }, user: NOBODY };
}

describe.skipIf(skip !== undefined || hostBoxArch() !== 'x86_64')(
  'a real kiwi-ng build in the host box',
  () => {
    const p = new TempProject('kiwibox-hostbox-build-');
    afterAll(() => p.remove());

    it('builds a tbz with the host kiwi-ng in the VM without root, then is fresh without booting', async () => {
      execFileSync('cp', ['-a', '--', `${join(ROOT, 'examples/host-box')}/.`, p.dir]);
      const { env, user } = await asNonRoot(p);
      const started = Date.now();
      const first = await p.kiwibox(['--reporter', 'ndjson', 'run'], env, user);
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      const log = p.path('out/tiny/result.log');
      const tail = existsSync(log)
        ? readFileSync(log, 'utf8').split('\n').slice(-40).join('\n')
        : '(no result.log)';
      expect(first.exitCode, `${first.stdout.slice(-4000)}\n--- result.log tail\n${tail}`).toBe(0);
      process.stdout.write(`host box: real kiwi-ng tiny tbz build took ${seconds} s (boot included, TCG)\n`);
      expect(stepsWith(first.stdout, 'step-succeeded').sort()).toEqual(['host', 'root', 'tiny']);

      // kiwi's own result bundle, produced in the guest and read back here.
      expect(readFileSync(p.path('out/tiny/result.code'), 'utf8').trim()).toBe('0');
      // Written by a build that ran without root: the files belong to the unprivileged user.
      if (user !== undefined) expect(statSync(p.path('out/tiny/result.code')).uid).toBe(user);
      const files = readdirSync(p.path('out/tiny'));
      const image = files.find((f) => /^hostbox-tiny\.x86_64-1\.0\.0-0\.tar\.xz$/.test(f));
      expect(image, files.join(' ')).toBeDefined();
      expect(files).toContain(`${image}.sha256`);
      expect(files).toContain('hostbox-tiny.x86_64-1.0.0-0.packages');
      const listing = execFileSync('tar', ['-tJf', p.path(`out/tiny/${image}`)])
        .toString()
        .split('\n');
      expect(listing).toContain('bin/busybox');
      expect(listing).toContain('etc/passwd');
      const kiwiLog = readFileSync(log, 'utf8');
      expect(kiwiLog).toContain('--> loaded /description/config.xml');
      expect(kiwiLog).toMatch(/--> root_archive: \/result\/hostbox-tiny\.x86_64-1\.0\.0\.tar\.xz/);
      expect(await leftoverProcesses(p.dir)).toEqual([]);

      const second = await p.kiwibox(['--reporter', 'ndjson', 'run'], env, user);
      expect(second.exitCode).toBe(0);
      expect(stepsWith(second.stdout, 'step-fresh').sort()).toEqual(['host', 'root', 'tiny']);
      expect(stepsWith(second.stdout, 'step-started')).toEqual([]);

      // The upstream command line with `--box host`: the same build as a one-step pipeline.
      const compat = ['--reporter', 'ndjson', 'boxbuild', '--box', 'host', '--'];
      const built = ['--description', 'description', '--target-dir', 'out/compat'];
      const third = await p.kiwibox([...compat, ...built], env, user);
      expect(third.exitCode, third.stdout.slice(-3000)).toBe(0);
      expect(stepsWith(third.stdout, 'step-succeeded').sort()).toEqual(['box', 'build']);
      expect(readFileSync(p.path('out/compat/result.code'), 'utf8').trim()).toBe('0');
      expect(readdirSync(p.path('out/compat'))).toContain(image);
      const again = await p.kiwibox([...compat, ...built], env, user);
      expect(stepsWith(again.stdout, 'step-fresh').sort()).toEqual(['box', 'build']);
    }, 1_500_000);
  },
);
