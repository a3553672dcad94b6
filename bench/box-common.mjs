// Shared by the box benchmarks: the test box, a work dir with a description, a run through kiwibox's
// VM runner (dist/, so `npm run build` first) and the same run by a hand-written QEMU command.
import { execFileSync, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('..', import.meta.url));

const { runVm } = await import(join(root, 'dist/executors/qemu/vm.js'));

/** The x86_64 test box as a Box (built or found in the cache by scripts/testbox/build). */
export function testBox() {
  const out = execFileSync(join(root, 'scripts/testbox/build'), ['--arch', 'x86_64'], { encoding: 'utf8' });
  const files = JSON.parse(out.trim().split('\n').pop());
  return {
    name: 'testbox',
    arch: 'x86_64',
    kernel: files.kernel,
    initrd: files.initrd,
    cmdline: files.cmdline,
    memory: '512M',
    cpus: 1,
    console: files.console,
    digest: files.key,
  };
}

/** A work dir with `desc/` (a tiny description plus `extra` files) and an empty `bundle/`. */
export async function workDir(extra = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'kbbench-'));
  await mkdir(join(dir, 'desc'));
  await writeFile(
    join(dir, 'desc', 'config.xml'),
    '<image schemaversion="7.4" name="tiny"><preferences><version>1.0.0</version></preferences></image>\n',
  );
  for (const [name, content] of Object.entries(extra)) await writeFile(join(dir, 'desc', name), content);
  await mkdir(join(dir, 'bundle'));
  return dir;
}

export async function resetBundle(dir) {
  await rm(join(dir, 'bundle'), { recursive: true, force: true });
  await mkdir(join(dir, 'bundle'));
}

/**
 * One run of the test box through kiwibox's VM runner, `desc/` read-only and `bundle/` writable, the
 * console lines to `output`; throws on failure.
 */
export async function kiwiboxRun({ box, dir, sharing = '9p', timeoutMs = 300_000, output = () => {} }) {
  const result = await runVm({
    box,
    accel: 'tcg',
    kiwiArgs: ['system', 'build'],
    shares: [
      { tag: 'kiwidescription', path: join(dir, 'desc'), readonly: true },
      { tag: 'kiwibundle', path: join(dir, 'bundle'), readonly: false },
    ],
    sharing,
    timeoutMs,
    signal: new AbortController().signal,
    output,
  });
  if (!result.ok) throw new Error(JSON.stringify(result.error));
}

/**
 * The same VM by hand: the recipe's command line, 9p shares, console to a pipe; resolves with its
 * console. Written out on purpose rather than taken from dist/'s qemuArgv: it is the baseline the
 * VM runner is measured against, so a costlier QEMU option there shows up as a worse ratio.
 */
export function handQemu({ box, dir, sharing = '9p' }) {
  const argv = [
    '-accel',
    'tcg',
    '-m',
    box.memory,
    '-smp',
    '1',
    '-nodefaults',
    '-no-user-config',
    '-display',
    'none',
    '-no-reboot',
    '-serial',
    'stdio',
    '-kernel',
    box.kernel,
    '-initrd',
    box.initrd,
    '-append',
    `${box.cmdline} kiwi="system build" sharing_backend=_${sharing}_`,
    '-device',
    'virtio-rng-pci',
    '-virtfs',
    `local,path=${join(dir, 'desc')},mount_tag=kiwidescription,security_model=none,readonly=on,multidevs=remap`,
    '-virtfs',
    `local,path=${join(dir, 'bundle')},mount_tag=kiwibundle,security_model=none,multidevs=remap`,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn('qemu-system-x86_64', argv, { stdio: ['ignore', 'pipe', 'inherit'] });
    let console = '';
    child.stdout.on('data', (chunk) => {
      console += chunk;
    });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(console) : reject(new Error(`qemu exited ${code}`))));
  });
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}
