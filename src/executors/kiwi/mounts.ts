/**
 * kiwi-ng bind-mounts /dev, /proc and /sys into the image root while it builds. If a build was
 * killed hard, those mounts can outlive it, and removing the directory would then delete the
 * host's device nodes. Always unmount what lies below a path before removing it.
 */
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { runProcess } from '../../process/run.js';

/** Mount points at or below `dir`, deepest first. */
export function mountsBelow(dir: string): string[] {
  const root = resolve(dir);
  let table = '';
  try {
    table = readFileSync('/proc/self/mounts', 'utf8');
  } catch {
    return [];
  }
  return table
    .split('\n')
    .map((line) => line.split(' ')[1]?.replace(/\\040/g, ' ').replace(/\\011/g, '\t') ?? '')
    .filter((m) => m === root || m.startsWith(`${root}/`))
    .sort((a, b) => b.length - a.length);
}

/** Unmounts everything below `dir` (lazily if busy), then removes it. */
export async function removeTree(dir: string): Promise<void> {
  for (const mount of mountsBelow(dir)) {
    const plain = await runProcess({ argv: ['umount', mount], cwd: '/' });
    if (!plain.ok) await runProcess({ argv: ['umount', '-l', mount], cwd: '/' });
  }
  if (mountsBelow(dir).length)
    throw new Error(`Internal error: ${dir} still has mounts; refusing to remove it`);
  await rm(dir, { recursive: true, force: true });
}
