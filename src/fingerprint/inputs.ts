/**
 * Stating and hashing a step's input files (listed by list-inputs.ts), stat-cached. Symlinks are
 * not followed: a link's target text is what gets hashed.
 */
import { createHash } from 'node:crypto';
import { lstatSync, readlinkSync, type Stats } from 'node:fs';
import { relative } from 'node:path';
import type { HashCache } from '../state/hash-cache.js';
import type { StatKey } from '../state/record.js';

const MISSING = 'missing';

/** What a step's last record knows about its inputs: hashes and the stats they were taken at. */
export interface KnownInputs {
  readonly files: Readonly<Record<string, string>>;
  readonly stats: Readonly<Record<string, StatKey>>;
}

export interface HashedInputs {
  /** `{relative path: sha256}`, in the order of `files`. */
  readonly hashes: Record<string, string>;
  readonly stats: Record<string, StatKey>;
}

/** An input file with its lstat (undefined: missing), taken once per decision. */
export interface StatedInput {
  readonly path: string;
  /** Relative to the project dir: the key in the fingerprint's `files`. */
  readonly key: string;
  readonly st: Stats | undefined;
}

/** lstat of every input (`files` absolute, as listInputs returns them). */
export function statInputs(files: readonly string[], projectDir: string): StatedInput[] {
  const prefix = `${projectDir}/`;
  return files.map((path) => ({
    path,
    key: path.startsWith(prefix) ? path.slice(prefix.length) : relative(projectDir, path) || '.',
    st: lstatSync(path, { throwIfNoEntry: false }),
  }));
}

/**
 * Within one run, steps with the same InputSpec (tasks sharing an input tree) list and stat it once.
 * Only specs that more than one step has are kept, and only until a step is about to run (or be
 * restored): from then on anything may change, and every step lists and stats its own inputs.
 */
export class InputMemo {
  readonly #shared: ReadonlySet<string>;
  readonly #kept = new Map<string, Promise<StatedInput[]>>();
  #on = true;

  /** `keys`: one key (see keyOf) per step of the run. */
  constructor(keys: Iterable<string>) {
    const seen = new Set<string>();
    const shared = new Set<string>();
    for (const key of keys) (seen.has(key) ? shared : seen).add(key);
    this.#shared = shared;
  }

  static keyOf(spec: unknown): string {
    return JSON.stringify(spec);
  }

  get(key: string): Promise<StatedInput[]> | undefined {
    return this.#on ? this.#kept.get(key) : undefined;
  }

  /** The listing as a promise: steps deciding side by side wait for the first one's. */
  set(key: string, inputs: Promise<StatedInput[]>): void {
    if (this.#on && this.#shared.has(key)) this.#kept.set(key, inputs);
  }

  /** A step is about to change files: stop reusing listings and stats. */
  disable(): void {
    this.#on = false;
    this.#kept.clear();
  }
}

/** Digests of the inputs arrays InputMemo hands out more than once (arrays never change). */
const digests = new WeakMap<readonly StatedInput[], string>();

/**
 * A digest of what decides each input's hash short of reading it: the key, and the stat of a
 * regular file (the stat that vouches for its hash, see hashInputs), a link's target, a special
 * file's mode, or its absence. Equal digests mean equal `files` in the fingerprint.
 */
export function inputsDigest(inputs: readonly StatedInput[]): string {
  const known = digests.get(inputs);
  if (known !== undefined) return known;
  const numbers = new Float64Array(inputs.length * 5);
  // NUL never occurs in a path or a link target: the encoding is unambiguous.
  let text = '';
  for (let i = 0; i < inputs.length; i++) {
    const { path, key, st } = inputs[i] as StatedInput;
    if (!st) text += `${key}\0m\0`;
    else if (st.isFile()) {
      text += `${key}\0f\0`;
      numbers[i * 5] = st.dev;
      numbers[i * 5 + 1] = st.ino;
      numbers[i * 5 + 2] = st.size;
      numbers[i * 5 + 3] = st.mtimeMs;
      numbers[i * 5 + 4] = st.ctimeMs;
    } else if (st.isSymbolicLink()) text += `${key}\0l${readlinkSync(path)}\0`;
    else text += `${key}\0s${st.mode}\0`;
  }
  const digest = createHash('sha256').update(text).update(numbers).digest('hex');
  digests.set(inputs, digest);
  return digest;
}

const sameStat = (k: StatKey | undefined, st: Stats) =>
  k !== undefined &&
  k[1] === st.ino &&
  k[2] === st.size &&
  k[3] === st.mtimeMs &&
  k[4] === st.ctimeMs &&
  k[0] === st.dev;

/**
 * Hashes every input; a missing explicit file hashes as `missing`. A file whose stat equals what the
 * step's last record saw keeps that record's hash without touching the shared hash cache.
 */
export async function hashInputs(options: {
  readonly inputs: readonly StatedInput[];
  readonly cache: HashCache;
  readonly known?: KnownInputs;
}): Promise<HashedInputs> {
  const hashes: Record<string, string> = {};
  const stats: Record<string, StatKey> = {};
  const knownFiles = options.known?.files ?? {};
  const knownStats = options.known?.stats ?? {};
  let buffer: Buffer | undefined;
  for (const { path, key, st } of options.inputs) {
    if (!st) {
      hashes[key] = MISSING;
      continue;
    }
    if (st.isFile()) {
      const known = knownFiles[key];
      if (known !== undefined && sameStat(knownStats[key], st)) hashes[key] = known;
      else {
        buffer ??= Buffer.allocUnsafe(1024 * 1024);
        hashes[key] = await options.cache.hash(path, st, buffer);
      }
      stats[key] = [st.dev, st.ino, st.size, st.mtimeMs, st.ctimeMs];
    } else if (st.isSymbolicLink()) {
      hashes[key] = `link:${createHash('sha256').update(readlinkSync(path)).digest('hex')}`;
    } else {
      hashes[key] = `special:${st.mode.toString(8)}`;
    }
  }
  return { hashes, stats };
}
