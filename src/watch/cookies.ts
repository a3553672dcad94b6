/**
 * The cookie files of clients asking a running watch (serve.ts): a client creates one after every
 * change it wants the answer to include, and the watch answers only once the cookie's event is
 * here. The cookie dir is watched through the process's one inotify descriptor, like every input,
 * so its event comes after theirs (as git's fsmonitor cookies).
 */
import { type FSWatcher, statSync, watch } from 'node:fs';
import { join } from 'node:path';

/** How long a cookie's event may take: far longer than inotify ever needs on an idle watcher. */
const COOKIE_MS = 250;

export class Cookies {
  readonly #dir: string;
  readonly #watcher: FSWatcher;
  readonly #seen = new Set<string>();
  readonly #waiters = new Map<string, () => void>();

  constructor(dir: string) {
    this.#dir = dir;
    this.#watcher = watch(dir, { persistent: false });
    this.#watcher.on('change', (_type, name) => this.#event(String(name)));
    // Without its directory (`.kiwibox/` removed) every ask just goes unanswered.
    this.#watcher.on('error', () => {});
  }

  /** Resolves true once the creation event of cookie `name` is here, false after COOKIE_MS. */
  seen(name: string): Promise<boolean> {
    if (this.#seen.delete(name)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(name);
        resolve(false);
      }, COOKIE_MS);
      this.#waiters.set(name, () => {
        clearTimeout(timer);
        this.#waiters.delete(name);
        resolve(true);
      });
    });
  }

  close(): void {
    this.#watcher.close();
  }

  #event(name: string): void {
    const waiter = this.#waiters.get(name);
    if (waiter) {
      waiter();
      return;
    }
    // Seen before its question arrived. Its removal is an event too: not remembered (it is gone).
    if (!statSync(join(this.#dir, name), { throwIfNoEntry: false })) return;
    if (this.#seen.size > 1000) this.#seen.clear();
    this.#seen.add(name);
  }
}
