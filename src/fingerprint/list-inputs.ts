/**
 * Expanding a step's InputSpec into the files to hash: whole directories, single files and globs
 * (regular files only; symlinks are neither followed nor listed by globs).
 */
import { type Dirent, lstatSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import picomatch from 'picomatch';
import type { InputSpec } from '../core/executor.js';

/** `dir` (normalised, absolute) with a slash to append entry names to: path.join costs µs a call. */
const prefixOf = (dir: string) => (dir.endsWith('/') ? dir : `${dir}/`);

function walk(dir: string, out: string[]): void {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  const prefix = prefixOf(dir);
  for (const entry of entries) {
    const path = prefix + entry.name;
    if (entry.isDirectory()) walk(path, out);
    else out.push(path);
  }
}

/** tinyglobby's matching options for the options globFiles passes it. */
const MATCH = { dot: true, nobrace: false, nocase: false, noextglob: false, noglobstar: false, posix: true };
const matchers = new Map<string, (name: string) => boolean>();

/**
 * picomatch's matcher, minus its per-call result objects: for a name without backslashes (which
 * picomatch would turn into slashes first) it is the pattern itself or a regex match.
 */
function matcherFor(pattern: string): (name: string) => boolean {
  let match = matchers.get(pattern);
  if (!match) {
    const full = picomatch(pattern, MATCH);
    const re = picomatch.makeRe(pattern, MATCH);
    match = (name) => (name.includes('\\') ? full(name) : name === pattern || re.test(name));
    matchers.set(pattern, match);
  }
  return match;
}

/**
 * A glob within one directory (`*.txt`, `f?.{c,h}`) needs no crawler: one readdir and a matcher
 * (compiled once per pattern, not once per step) do what tinyglobby would, a good deal faster.
 */
function singleDirectory(cwd: string, pattern: string): string[] | undefined {
  if (/[/\\]|\*\*|^!|^\.\.?$/.test(pattern)) return undefined;
  const match = matcherFor(pattern);
  let entries: Dirent[];
  try {
    entries = readdirSync(cwd, { withFileTypes: true });
  } catch {
    return [];
  }
  const names: string[] = [];
  for (const entry of entries) if (entry.isFile() && match(entry.name)) names.push(entry.name);
  // Sorted as names, cheaper than as full paths with their long common prefix (same order).
  const prefix = prefixOf(cwd);
  return names.sort().map((name) => prefix + name);
}

/** Absolute paths of the regular files under `cwd` matching any of `patterns`. */
export async function globFiles(cwd: string, patterns: readonly string[]): Promise<string[]> {
  const found: string[] = [];
  const rest: string[] = [];
  for (const pattern of patterns) {
    const simple = singleDirectory(cwd, pattern);
    if (simple) found.push(...simple);
    else rest.push(pattern);
  }
  if (!rest.length) return found;
  const { glob } = await import('tinyglobby');
  const crawled = await glob(rest, {
    cwd,
    absolute: true,
    dot: true,
    onlyFiles: true,
    followSymbolicLinks: false,
    expandDirectories: false,
  });
  return [...found, ...crawled];
}

/** Absolute paths of every input file, sorted, without duplicates. */
export async function listInputs(spec: InputSpec, projectDir: string): Promise<string[]> {
  const files = new Set<string>(spec.files.map((f) => resolve(projectDir, f)));
  for (const dir of spec.dirs) {
    const found: string[] = [];
    walk(resolve(projectDir, dir), found);
    for (const f of found) files.add(f);
  }
  // Crawl from each pattern's static base: `src/5/*.txt` must not walk all of `src/`.
  const byBase = new Map<string, string[]>();
  for (const pattern of spec.globs) {
    const scan = picomatch.scan(pattern);
    if (!scan.isGlob) {
      const path = resolve(projectDir, pattern);
      if (lstatSync(path, { throwIfNoEntry: false })?.isFile()) files.add(path);
      continue;
    }
    byBase.set(scan.base, [...(byBase.get(scan.base) ?? []), scan.glob]);
  }
  let list: string[] | undefined;
  for (const [base, patterns] of byBase) {
    const found = await globFiles(resolve(projectDir, base || '.'), patterns);
    // The common case, one glob and nothing else, has no duplicates to drop.
    if (!files.size && byBase.size === 1 && patterns.length === 1) list = found;
    else for (const f of found) files.add(f);
  }
  list ??= [...files];
  // A single glob's files usually arrive sorted: checking is cheaper than sorting again.
  for (let i = 1; i < list.length; i++) {
    if ((list[i - 1] as string) > (list[i] as string)) return list.sort();
  }
  return list;
}
