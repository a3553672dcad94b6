/**
 * Expanding a step's InputSpec into the files to hash, and hashing them (stat-cached). Symlinks are
 * not followed: a link's target text is what gets hashed.
 */
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readlinkSync, type Stats } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { glob } from 'tinyglobby';
import type { InputSpec } from '../executors/types.js';
import type { HashCache } from './hash-cache.js';

function walk(dir: string, out: string[]): void {
  let entries: import('node:fs').Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path, out);
    else out.push(path);
  }
}

/** Absolute paths of every input file, sorted, without duplicates. */
export async function listInputs(spec: InputSpec, projectDir: string): Promise<string[]> {
  const files = new Set<string>(spec.files.map((f) => resolve(projectDir, f)));
  for (const dir of spec.dirs) {
    const found: string[] = [];
    walk(resolve(projectDir, dir), found);
    for (const f of found) files.add(f);
  }
  if (spec.globs.length) {
    const matched = await glob([...spec.globs], {
      cwd: projectDir,
      absolute: true,
      dot: true,
      onlyFiles: true,
      followSymbolicLinks: false,
      expandDirectories: false,
    });
    for (const f of matched) files.add(f);
  }
  return [...files].sort();
}

const MISSING = 'missing';

/** `{relative path: sha256}` for every input; a missing explicit file hashes as `missing`. */
export async function hashInputs(options: {
  readonly files: readonly string[];
  readonly projectDir: string;
  readonly cache: HashCache;
}): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const buffer = Buffer.allocUnsafe(1024 * 1024);
  for (const file of options.files) {
    const key = relative(options.projectDir, file) || '.';
    let st: Stats | undefined;
    try {
      st = lstatSync(file);
    } catch {
      out[key] = MISSING;
      continue;
    }
    if (st.isSymbolicLink()) {
      out[key] = `link:${createHash('sha256').update(readlinkSync(file)).digest('hex')}`;
    } else if (st.isFile()) {
      out[key] = await options.cache.hash(file, st, buffer);
    } else {
      out[key] = `special:${st.mode.toString(8)}`;
    }
  }
  return out;
}
