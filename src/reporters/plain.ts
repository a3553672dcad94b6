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

  event(event: KiwiboxEvent): void {
    for (const line of eventLines(event, this.#options)) this.#out.write(`${line}\n`);
  }

  close(): void {}
}
