/**
 * An isolated podman store for a test file: its own root/runroot/tmpdir under /tmp, so tests never
 * touch the host's images. `leftovers()` reports mounts and work containers a test forgot;
 * `dispose()` resets the store (podman system reset) and removes it, also when mounts leaked.
 */
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PodmanSettings } from '../../src/core/model.js';
import { podmanGlobalArgs } from '../../src/executors/podman/podman.js';
import { runProcess } from '../../src/process/run.js';

export interface TestStore {
  readonly dir: string;
  readonly settings: PodmanSettings;
  /** `podman <store flags> ARGS`; throws with stderr on failure (tests want loud errors). */
  podman(args: readonly string[]): Promise<string>;
  /** Mounts under the store, image mounts and containers that are still there. Empty when clean. */
  leftovers(): Promise<string[]>;
  dispose(): Promise<void>;
}

/** Mount points at or under `dir`, deepest first. */
export async function mountsUnder(dir: string): Promise<string[]> {
  const table = await readFile('/proc/self/mounts', 'utf8');
  return table
    .split('\n')
    .map((line) => line.split(' ')[1] ?? '')
    .map((path) => path.replace(/\\040/g, ' '))
    .filter((path) => path === dir || path.startsWith(`${dir}/`))
    .sort()
    .reverse();
}

export async function createTestStore(registries: PodmanSettings['registries'] = {}): Promise<TestStore> {
  const dir = await mkdtemp(join(tmpdir(), 'kiwibox-podman-'));
  const settings: PodmanSettings = {
    root: join(dir, 'root'),
    runroot: join(dir, 'runroot'),
    tmpdir: join(dir, 'tmp'),
    storageDriver: 'overlay',
    registries,
  };
  await mkdir(join(dir, 'tmp'), { recursive: true });
  const raw = (args: readonly string[]) =>
    runProcess({
      argv: ['podman', ...podmanGlobalArgs(settings), ...args],
      cwd: dir,
      env: { TMPDIR: join(dir, 'tmp') },
    });
  const podman = async (args: readonly string[]) => {
    const result = await raw(args);
    if (!result.ok)
      throw new Error(`podman ${args.join(' ')}: ${result.error.map((f) => f.message).join('; ')}`);
    return result.value.stdout.trim();
  };
  return {
    dir,
    settings,
    podman,
    async leftovers() {
      const found: string[] = [];
      const imageMounts = await podman(['image', 'mount']);
      if (imageMounts) found.push(`image mounts: ${imageMounts}`);
      const containers = await podman(['ps', '-a', '--format', '{{.Names}}']);
      if (containers) found.push(`containers: ${containers}`);
      for (const mount of await mountsUnder(dir)) found.push(`mount: ${mount}`);
      return found;
    },
    async dispose() {
      await raw(['image', 'umount', '-a', '-f']);
      await raw(['rm', '-a', '-f']);
      await raw(['system', 'reset', '-f']);
      for (const mount of await mountsUnder(dir)) {
        await runProcess({ argv: ['umount', '-l', mount], cwd: '/' });
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
