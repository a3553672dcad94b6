/**
 * A step's full output in `.kiwibox/logs/<id>.log`, truncated at each run.
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';

export function stepLogPath(stateDir: string, id: string): string {
  return join(stateDir, 'logs', `${encodeURIComponent(id)}.log`);
}

export class StepLog {
  readonly path: string;
  readonly #stream: WriteStream;

  constructor(stateDir: string, id: string) {
    this.path = stepLogPath(stateDir, id);
    mkdirSync(join(stateDir, 'logs'), { recursive: true });
    this.#stream = createWriteStream(this.path, { flags: 'w' });
  }

  line(text: string): void {
    this.#stream.write(`${text}\n`);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#stream.end(resolve));
  }
}
