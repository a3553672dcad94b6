/** One JSON object per event and line, with a timestamp: for machines and tests. */
import type { KiwiboxEvent } from '../core/events.js';
import type { Reporter } from './reporter.js';

export class NdjsonReporter implements Reporter {
  readonly #out: NodeJS.WritableStream;

  constructor(options: { out: NodeJS.WritableStream }) {
    this.#out = options.out;
  }

  event(event: KiwiboxEvent): void {
    this.#out.write(`${JSON.stringify({ time: new Date().toISOString(), ...event })}\n`);
  }

  close(): void {}
}
