/**
 * Expanding a step's InputSpec into the files to hash: whole directories, single files and globs
 * (regular files only; symlinks are neither followed nor listed by globs).
 */
import { lstatSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import picomatch from 'picomatch';
import type { InputSpec } from '../core/executor.js';
import { type DirListings, type Listing, readListing } from '../state/dir-cache.js';

/** `dir` (normalised, absolute) with a slash to append entry names to: path.join costs µs a call. */
const prefixOf = (dir: string) => (dir.endsWith('/') ? dir : `${dir}/`);

/** Reads directories through the listing cache when there is one. */
type Lister = (dir: string, follow: boolean) => Listing | undefined;

function listerFor(listings: DirListings | undefined): Lister {
  if (listings) return (dir, follow) => listings.list(dir, follow);
  return (dir) => readListing(dir);
}

/** Every entry but directories under `dir`, recursively (links are entries, not followed). */
function walk(list: Lister, dir: string, out: string[], root = true): void {
  const listing = list(dir, root);
  if (!listing) return;
  const prefix = prefixOf(dir);
  const { names, types } = listing;
  for (let i = 0; i < names.length; i++) {
    const path = prefix + (names[i] as string);
    if (types[i] === 'd') walk(list, path, out, false);
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
 * The regular files under `base` whose path relative to `cwd` matches, down to `depth` levels
 * below `base` (Infinity for `**` and for patterns whose segments cannot be counted).
 */
function crawl(options: {
  readonly list: Lister;
  readonly dir: string;
  readonly rel: string;
  readonly depth: number;
  readonly match: (relative: string) => boolean;
  readonly out: string[];
}): void {
  const { list, dir, rel, depth, match, out } = options;
  const listing = list(dir, rel === '');
  if (!listing) return;
  const prefix = prefixOf(dir);
  const { names, types } = listing;
  for (let i = 0; i < names.length; i++) {
    const name = names[i] as string;
    const type = types[i];
    if (type === 'f') {
      if (match(rel + name)) out.push(prefix + name);
    } else if (type === 'd' && depth > 1) {
      crawl({ list, dir: prefix + name, rel: `${rel}${name}/`, depth: depth - 1, match, out });
    }
  }
}

/** How many levels below its base a glob can reach. */
function depthOf(glob: string): number {
  if (/\*\*|[{(\\]/.test(glob)) return Number.POSITIVE_INFINITY;
  return glob.split('/').length;
}

/** Excludes: `!pattern`, but not the extglob `!(…)`. */
const isExclude = (pattern: string) => pattern.startsWith('!') && !pattern.startsWith('!(');

/**
 * Absolute paths of the regular files under `cwd` matching any of `patterns` and none of the
 * `!pattern` excludes among them (symlinks are neither followed nor listed), as tinyglobby lists
 * them; through the listing cache when given one. Globs within one directory (`*.txt`) read just
 * that directory.
 */
export function globFiles(cwd: string, patterns: readonly string[], listings?: DirListings): string[] {
  const list = listerFor(listings);
  const found: string[] = [];
  const excludes = patterns.filter(isExclude).map((p) => matcherFor(p.slice(1)));
  for (const pattern of patterns) {
    if (isExclude(pattern)) continue;
    const match = matcherFor(pattern);
    const depth = /^\.\.?$/.test(pattern) ? 0 : depthOf(pattern);
    crawl({ list, dir: cwd, rel: '', depth, match, out: found });
  }
  const kept = excludes.length
    ? found.filter((f) => !excludes.some((x) => x(f.slice(cwd.length + 1))))
    : found;
  return patterns.length > 1 ? [...new Set(kept)] : kept;
}

/**
 * Absolute paths of every input file, sorted, without duplicates. `!pattern` globs exclude what
 * they match (relative to the project dir) from what the other globs list.
 */
export async function listInputs(
  spec: InputSpec,
  projectDir: string,
  listings?: DirListings,
): Promise<string[]> {
  const list = listerFor(listings);
  const files = new Set<string>(spec.files.map((f) => resolve(projectDir, f)));
  for (const dir of spec.dirs) {
    const found: string[] = [];
    walk(list, resolve(projectDir, dir), found);
    for (const f of found) files.add(f);
  }
  // Crawl from each pattern's static base: `src/5/*.txt` must not walk all of `src/`.
  const byBase = new Map<string, string[]>();
  const excludes: ((relative: string) => boolean)[] = [];
  for (const pattern of spec.globs) {
    if (isExclude(pattern)) {
      excludes.push(matcherFor(pattern.slice(1)));
      continue;
    }
    const scan = picomatch.scan(pattern);
    if (!scan.isGlob) {
      const path = resolve(projectDir, pattern);
      if (lstatSync(path, { throwIfNoEntry: false })?.isFile()) files.add(path);
      continue;
    }
    byBase.set(scan.base, [...(byBase.get(scan.base) ?? []), scan.glob]);
  }
  let found: string[] | undefined;
  for (const [base, patterns] of byBase) {
    const crawled = globFiles(resolve(projectDir, base || '.'), patterns, listings);
    // The common case, one glob and nothing else, has no duplicates to drop.
    if (!files.size && byBase.size === 1) found = crawled;
    else for (const f of crawled) files.add(f);
  }
  found ??= [...files];
  if (excludes.length) {
    const prefix = prefixOf(projectDir);
    const excluded = (f: string) => {
      const rel = f.startsWith(prefix) ? f.slice(prefix.length) : relative(projectDir, f);
      return excludes.some((x) => x(rel));
    };
    found = found.filter((f) => !excluded(f));
  }
  // A single glob's files usually arrive sorted: checking is cheaper than sorting again.
  for (let i = 1; i < found.length; i++) {
    if ((found[i - 1] as string) > (found[i] as string)) return found.sort();
  }
  return found;
}
