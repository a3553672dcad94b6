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
    const test = plainTest(pattern) ?? regexTest(pattern);
    match = (name) => (name.includes('\\') ? full(name) : test(name));
    matchers.set(pattern, match);
  }
  return match;
}

function regexTest(pattern: string): (name: string) => boolean {
  const re = picomatch.makeRe(pattern, MATCH);
  return (name) => name === pattern || re.test(name);
}

// The commonest globs without a regex, read as picomatch reads them with `dot`: `**` is any path;
// `**` + `/*.txt`, any path whose last name ends in `.txt`; `*.txt`, such a name without a slash;
// `**` + `/skip`, any path whose last name is `skip`.
function plainTest(pattern: string): ((name: string) => boolean) | undefined {
  if (pattern === '**') return () => true;
  const named = /^\*\*\/([^*?[\]{}()!+@\\/]+)$/.exec(pattern)?.[1];
  if (named !== undefined) return (name) => name === named || name.endsWith(`/${named}`);
  const suffix = /^(\*\*\/)?\*([^*?[\]{}()!+@\\/]*)$/.exec(pattern);
  if (!suffix) return undefined;
  const end = suffix[2] as string;
  return suffix[1] ? (name) => name.endsWith(end) : (name) => name.endsWith(end) && !name.includes('/');
}

type Test = (relative: string) => boolean;

/**
 * The regular files under `dir` whose path relative to the crawl's root matches, down to `depth`
 * levels (Infinity for `**` and for patterns whose segments cannot be counted), skipping the
 * directories `skipDir` names (relative to the root, as `rel` without its trailing slash).
 */
function crawl(options: {
  readonly list: Lister;
  readonly dir: string;
  readonly rel: string;
  readonly depth: number;
  readonly match: Test;
  readonly skipDir: Test | undefined;
  readonly out: string[];
}): void {
  const { list, dir, rel, depth, match, skipDir, out } = options;
  const listing = list(dir, rel === '');
  if (!listing) return;
  const prefix = prefixOf(dir);
  const { names, types } = listing;
  for (let i = 0; i < names.length; i++) {
    const name = names[i] as string;
    const type = types[i];
    if (type === 'f') {
      if (match(rel + name)) out.push(prefix + name);
    } else if (type === 'd' && depth > 1 && !skipDir?.(rel + name)) {
      crawl({ ...options, dir: prefix + name, rel: `${rel}${name}/`, depth: depth - 1 });
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
 * Exclude patterns (without their `!`) as tests: `dir/**` ones on directories, which are then not
 * crawled at all (every file below would be excluded), the others on files.
 */
function excludeTests(patterns: readonly string[]): { dirs: Test | undefined; files: Test | undefined } {
  const dirs = patterns.filter((p) => p.endsWith('/**')).map((p) => matcherFor(p.slice(0, -3)));
  const files = patterns.filter((p) => !p.endsWith('/**')).map((p) => matcherFor(p));
  const any = (tests: Test[]): Test | undefined => {
    if (!tests.length) return undefined;
    return tests.length === 1 ? (tests[0] as Test) : (rel) => tests.some((t) => t(rel));
  };
  return { dirs: any(dirs), files: any(files) };
}

/**
 * Absolute paths of the regular files under `cwd` matching any of `patterns` and none of the
 * `!pattern` excludes among them (symlinks are neither followed nor listed), as tinyglobby lists
 * them; through the listing cache when given one. Globs within one directory (`*.txt`) read just
 * that directory. `skipDir`: directories (relative to `cwd`) not to crawl.
 */
export function globFiles(
  cwd: string,
  patterns: readonly string[],
  options: { readonly listings?: DirListings | undefined; readonly skipDir?: Test | undefined } = {},
): string[] {
  const list = listerFor(options.listings);
  const found: string[] = [];
  const excluding = patterns.filter(isExclude);
  const excludes = excludeTests(excluding.map((p) => p.slice(1)));
  const outer = options.skipDir;
  const skipDir =
    outer && excludes.dirs ? (rel: string) => outer(rel) || !!excludes.dirs?.(rel) : (outer ?? excludes.dirs);
  if (excludes.dirs?.('')) return [];
  for (const pattern of patterns) {
    if (isExclude(pattern)) continue;
    const match = matcherFor(pattern);
    const depth = /^\.\.?$/.test(pattern) ? 0 : depthOf(pattern);
    crawl({ list, dir: cwd, rel: '', depth, match, skipDir, out: found });
  }
  const fileExcluded = excludes.files;
  const prefix = prefixOf(cwd);
  const kept = fileExcluded ? found.filter((f) => !fileExcluded(f.slice(prefix.length))) : found;
  // Two patterns may list a file twice.
  return patterns.length - excluding.length > 1 ? [...new Set(kept)] : kept;
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
  const excludePatterns = spec.globs.filter(isExclude).map((p) => p.slice(1));
  // Compiled only if a path outside the crawls needs them (steps differ here: `tree/7/**`).
  let all: ReturnType<typeof excludeTests> | undefined;
  const excludes = () => {
    all ??= excludeTests(excludePatterns);
    return all;
  };
  const prefix = prefixOf(projectDir);
  const relativeOf = (f: string) => (f.startsWith(prefix) ? f.slice(prefix.length) : relative(projectDir, f));
  /** `dir` (relative) or a directory above it named by a `dir/**` exclude among `tests`. */
  const dirExcluded = (dir: string, tests = excludes()) => {
    const dirs = tests.dirs;
    if (!dirs) return false;
    for (let i = dir.indexOf('/'); i >= 0; i = dir.indexOf('/', i + 1))
      if (dirs(dir.slice(0, i))) return true;
    return dirs(dir);
  };
  /** For paths not crawled: excluded by a file pattern or below an excluded directory. */
  const excluded = (rel: string) =>
    excludePatterns.length > 0 &&
    (!!excludes().files?.(rel) || (rel.includes('/') && dirExcluded(rel.slice(0, rel.lastIndexOf('/')))));
  // Crawl from each pattern's static base: `src/5/*.txt` must not walk all of `src/`.
  const byBase = new Map<string, string[]>();
  for (const pattern of spec.globs) {
    if (isExclude(pattern)) continue;
    const scan = picomatch.scan(pattern);
    if (!scan.isGlob) {
      const path = resolve(projectDir, pattern);
      if (lstatSync(path, { throwIfNoEntry: false })?.isFile() && !excluded(relativeOf(path)))
        files.add(path);
      continue;
    }
    byBase.set(scan.base, [...(byBase.get(scan.base) ?? []), scan.glob]);
  }
  let found: string[] | undefined;
  for (const [base, patterns] of byBase) {
    const cwd = resolve(projectDir, base || '.');
    const at = relativeOf(cwd);
    // Excludes that start with the base apply below it as they are, each compiled once for all
    // the steps that share its shape (`tree/7/**/skip/**` -> `**/skip/**` under `tree/7`); they
    // cannot name the base or a directory above it (globFiles checks the base itself).
    const head = at === '' ? '' : `${at}/`;
    const literal = !/[*?[\]{}()!+@\\]/.test(at);
    const local = excludePatterns.filter((p) => literal && p.startsWith(head));
    const outer = excludeTests(excludePatterns.filter((p) => !local.includes(p)));
    // The base or a directory above it excluded: nothing below it counts.
    if (at !== '' && dirExcluded(at, outer)) continue;
    const dirs = outer.dirs;
    const skipDir = dirs && ((rel: string) => dirs(head + rel));
    const own = [...patterns, ...local.map((p) => `!${p.slice(head.length)}`)];
    let crawled = globFiles(cwd, own, { listings, skipDir });
    const fileExcluded = outer.files;
    if (fileExcluded) crawled = crawled.filter((f) => !fileExcluded(relativeOf(f)));
    // The common case, one glob and nothing else, has no duplicates to drop.
    if (!files.size && byBase.size === 1) found = crawled;
    else for (const f of crawled) files.add(f);
  }
  found ??= [...files];
  // A single glob's files usually arrive sorted: checking is cheaper than sorting again.
  for (let i = 1; i < found.length; i++) {
    if ((found[i - 1] as string) > (found[i] as string)) return found.sort();
  }
  return found;
}
