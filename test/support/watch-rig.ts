/**
 * Drives `kiwibox watch --reporter ndjson` in a temp project: collects its events as they arrive
 * and waits for the ones a test expects.
 */
import { execa, type ResultPromise } from 'execa';
import { BIN, type TempProject } from './project.js';

export type WatchEvent = Record<string, unknown> & { type: string; step?: string };

export class WatchRig {
  readonly events: WatchEvent[] = [];
  readonly #child: ResultPromise<{ reject: false; cwd: string; stdin: 'ignore'; lines: true }>;
  #waiters: Array<() => void> = [];

  constructor(project: TempProject, args: string[] = []) {
    const child = execa('node', [BIN, '--reporter', 'ndjson', 'watch', '--debounce', '30', ...args], {
      cwd: project.dir,
      reject: false,
      stdin: 'ignore',
      lines: true,
      env: { NO_COLOR: '1' },
    });
    this.#child = child;
    void (async () => {
      for await (const line of child.iterable()) {
        if (!String(line).startsWith('{')) continue;
        this.events.push(JSON.parse(String(line)));
        for (const w of this.#waiters) w();
      }
    })();
  }

  /** Resolves with the index after the first event from `from` on that matches. */
  async waitFor(match: (e: WatchEvent) => boolean, from = 0, timeoutMs = 60_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.events.findIndex((e, idx) => idx >= from && match(e));
      if (i >= 0) return i + 1;
      if (Date.now() > deadline) {
        throw new Error(
          `timed out waiting; events so far:\n${this.events.map((e) => JSON.stringify(e)).join('\n')}`,
        );
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 200);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
      this.#waiters = [];
    }
  }

  /** Waits until the watcher is idle again after event index `from`. */
  idle(from = 0): Promise<number> {
    return this.waitFor((e) => e.type === 'watch-waiting', from);
  }

  /** Steps that got `type` events between two indexes. */
  steps(type: string, from: number, to = this.events.length): string[] {
    return this.events
      .slice(from, to)
      .filter((e) => e.type === type)
      .map((e) => String(e.step));
  }

  /** The watch process (node running bin/kiwibox.js). */
  get pid(): number {
    return this.#child.pid as number;
  }

  async stop(): Promise<number | undefined> {
    this.#child.kill('SIGINT');
    const result = await this.#child;
    return result.exitCode;
  }
}
