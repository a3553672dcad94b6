/** A line per event, step output included, prefixed by the step id. For logs and CI. */
import type { KiwiboxEvent } from '../core/events.js';
import { eventLines } from './lines.js';
import type { Reporter } from './reporter.js';

export class PlainReporter implements Reporter {
  readonly #out: NodeJS.WritableStream;
  readonly #options: { cwd: string; color: boolean; output: boolean };

  constructor(options: { out: NodeJS.WritableStream; cwd: string; color: boolean }) {
    this.#out = options.out;
    this.#options = { cwd: options.cwd, color: options.color, output: true };
  }

  #buffer: string[] = [];
  #scheduled = false;
  /** The last phase shown per step: a line when the phase changes, not for each `12/80`. */
  readonly #phases = new Map<string, string>();

  event(event: KiwiboxEvent): void {
    if (event.type === 'step-progress') {
      if (this.#phases.get(event.step) === event.phase) return;
      this.#phases.set(event.step, event.phase);
    } else if (event.type === 'step-started') this.#phases.delete(event.step);
    const lines = eventLines(event, this.#options);
    if (!lines.length) return;
    // Coalesce the lines of one tick into one write: a no-op run emits thousands of events.
    this.#buffer.push(...lines);
    if (event.type === 'run-finished') this.#flush();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.#flush());
    }
  }

  #flush(): void {
    this.#scheduled = false;
    if (this.#buffer.length) this.#out.write(`${this.#buffer.join('\n')}\n`);
    this.#buffer = [];
  }

  close(): void {
    this.#flush();
  }
}
