/**
 * Build into a staging dir beside the target and swap it in only on success, so a failed or
 * interrupted build never leaves a half-replaced target dir.
 */
import { mkdir, rename } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Result } from '../../core/result.js';
import { removeTree } from './mounts.js';

/** Staging and trash names are fixed per target so that leftovers of a killed run are found and removed. */
export function stagingPaths(targetDir: string): { staging: string; trash: string } {
  const parent = dirname(targetDir);
  const name = basename(targetDir);
  return { staging: join(parent, `.${name}.kiwibox-staging`), trash: join(parent, `.${name}.kiwibox-old`) };
}

/**
 * Runs `build(staging)` on an empty staging dir. On success the staging dir replaces `targetDir`
 * (old one moved aside, then removed); on failure the staging dir is removed and the target is untouched.
 */
export async function withStagingDir<T>(
  targetDir: string,
  build: (staging: string) => Promise<Result<T>>,
): Promise<Result<T>> {
  const { staging, trash } = stagingPaths(targetDir);
  await removeTree(staging);
  await removeTree(trash);
  await mkdir(staging, { recursive: true });
  let result: Result<T>;
  try {
    result = await build(staging);
  } catch (error) {
    await removeTree(staging);
    throw error;
  }
  if (!result.ok) {
    await removeTree(staging);
    return result;
  }
  await mkdir(dirname(targetDir), { recursive: true });
  try {
    await rename(targetDir, trash);
  } catch {
    // No previous target.
  }
  await rename(staging, targetDir);
  await removeTree(trash);
  return result;
}
