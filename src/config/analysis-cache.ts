/**
 * The analysed project, cached in `.kiwibox/analysis.json` so that a run of an unchanged file skips
 * YAML parsing and schema validation. The key covers everything the analysis reads: the file's path
 * and bytes, kiwibox's own analyser (version, schema and code files' stats) and the value of every
 * `${VAR}` the file expands. Only a successful analysis is stored, so diagnostics always come from a
 * real analysis. Checks that look at other files (descriptions, stash roots, box files) are re-run
 * on a hit by the caller.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../core/fs.js';
import type { Project, Step } from '../core/model.js';
import { analysisFile, stateDirOf } from '../state/layout.js';

/** Bumped when the stored shape changes. */
const FORMAT = 1;

type Env = Readonly<Record<string, string | undefined>>;

interface Stored {
  readonly v: number;
  readonly key: string;
  /** Every variable the file expands, with the value it had. */
  /** Each variable's value; null: unset (a `${NAME:-default}` took its default). */
  readonly env: Record<string, string | null>;
  readonly project: Omit<Project, 'steps'> & { readonly steps: Step[] };
}

let stamp: string | undefined;

/**
 * Identity of the analyser: a rebuilt or upgraded kiwibox (or YAML parser, or schema validator)
 * never trusts an older analysis.
 */
function codeStamp(): string {
  if (stamp !== undefined) return stamp;
  const parts: string[] = [];
  const here = fileURLToPath(new URL('.', import.meta.url));
  const require = createRequire(import.meta.url);
  const files = [
    ...readdirSync(here)
      .sort()
      .map((name) => join(here, name)),
    fileURLToPath(new URL('../../schema/kiwibox.schema.json', import.meta.url)),
    fileURLToPath(new URL('../../package.json', import.meta.url)),
    require.resolve('yaml/package.json'),
    require.resolve('ajv/package.json'),
  ];
  for (const file of files) {
    const st = statSync(file, { throwIfNoEntry: false });
    parts.push(`${file}:${st?.size}:${st?.mtimeMs}`);
  }
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version?: string;
  };
  stamp = `${pkg.version}\n${parts.join('\n')}`;
  return stamp;
}

/** True if a JSON round trip gives `value` back (plain data, finite numbers). */
function jsonSafe(value: unknown): boolean {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (Array.isArray(value)) return value.every((v) => v !== undefined && jsonSafe(v));
  if (typeof value !== 'object' || Object.getPrototypeOf(value) !== Object.prototype) return false;
  return Object.values(value).every((v) => v === undefined || jsonSafe(v));
}

export class AnalysisCache {
  readonly #path: string;
  readonly #key: string;

  /** The cache for `file` (absolute) with contents `text`. */
  constructor(options: { readonly file: string; readonly text: string }) {
    this.#path = analysisFile(stateDirOf(dirname(options.file)));
    this.#key = createHash('sha256')
      .update(`${FORMAT}\n${codeStamp()}\n${options.file}\n`)
      .update(options.text)
      .digest('hex');
  }

  /** The cached project if it was analysed from the same text, code and variable values. */
  read(env: Env): Project | undefined {
    let stored: Stored;
    try {
      stored = JSON.parse(readFileSync(this.#path, 'utf8')) as Stored;
    } catch {
      return undefined;
    }
    if (stored?.v !== FORMAT || stored.key !== this.#key || !Array.isArray(stored.project?.steps)) {
      return undefined;
    }
    for (const [name, value] of Object.entries(stored.env ?? {}))
      if ((env[name] ?? null) !== value) return undefined;
    const { steps, ...rest } = stored.project;
    return { ...rest, steps: new Map(steps.map((s) => [s.id, s])) };
  }

  /** Stores a successful analysis; a cache that cannot be written is no error. */
  async write(project: Project, variables: Iterable<string>, env: Env): Promise<void> {
    const values: Record<string, string | null> = {};
    for (const name of variables) values[name] = env[name] ?? null;
    const stored: Stored = {
      v: FORMAT,
      key: this.#key,
      env: values,
      project: { ...project, steps: [...project.steps.values()] },
    };
    if (!jsonSafe(stored)) return;
    try {
      await writeFileAtomic(this.#path, JSON.stringify(stored));
    } catch {
      // A read-only project still runs, without the cache.
    }
  }
}
