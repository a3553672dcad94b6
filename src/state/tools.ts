/**
 * Versions of the system tools steps use (kiwi-ng, qemu, podman, rsync). Asking kiwi-ng costs half a
 * second of Python start-up, so answers are cached in `.kiwibox/tools.json`, keyed by the binary's
 * stat and the dpkg database's mtime (which moves whenever a package is installed).
 */
import { readFileSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { writeFileAtomic } from '../core/fs.js';
import { runProcess } from '../process/run.js';

type CacheEntry = { key: string; version: string };

function which(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const path = join(dir, name);
    try {
      if (statSync(path).isFile()) return path;
    } catch {
      // Not here.
    }
  }
  return undefined;
}

function statKey(path: string): string {
  const st = statSync(path);
  let dpkg = '';
  try {
    dpkg = String(statSync('/var/lib/dpkg/status').mtimeMs);
  } catch {
    // Not a Debian host.
  }
  return `${path}:${st.ino}:${st.size}:${st.mtimeMs}:${dpkg}`;
}

export class ToolVersions {
  readonly #file: string;
  readonly #cache: Record<string, CacheEntry>;
  readonly #pending = new Map<string, Promise<string>>();
  #dirty = false;

  constructor(file: string) {
    this.#file = file;
    try {
      this.#cache = JSON.parse(readFileSync(file, 'utf8'));
    } catch {
      this.#cache = {};
    }
  }

  /** `name`'s first version line, `not-installed` if it is not on PATH. */
  version(name: string): Promise<string> {
    let pending = this.#pending.get(name);
    if (!pending) {
      pending = this.#probe(name);
      this.#pending.set(name, pending);
    }
    return pending;
  }

  async #probe(name: string): Promise<string> {
    const path = which(name);
    if (!path) return 'not-installed';
    const key = statKey(path);
    const cached = this.#cache[name];
    if (cached?.key === key) return cached.version;
    const result = await runProcess({ argv: [path, '--version'], cwd: '/' });
    const output = result.ok ? `${result.value.stdout}\n${result.value.stderr}` : '';
    const version =
      output
        .split('\n')
        .find((l) => /\d/.test(l))
        ?.trim() ?? 'unknown';
    this.#cache[name] = { key, version };
    this.#dirty = true;
    return version;
  }

  async save(): Promise<void> {
    if (!this.#dirty) return;
    this.#dirty = false;
    await writeFileAtomic(this.#file, JSON.stringify(this.#cache, null, 1));
  }
}
