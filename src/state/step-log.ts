/**
 * A step's full output (layout.ts: logs/<id>.log), truncated at each run.
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { logsDir, stepLogFile } from './layout.js';

export class StepLog {
  readonly path: string;
  readonly #stream: WriteStream;

  constructor(stateDir: string, id: string) {
    this.path = stepLogFile(stateDir, id);
    mkdirSync(logsDir(stateDir), { recursive: true });
    this.#stream = createWriteStream(this.path, { flags: 'w' });
  }

  line(text: string): void {
    this.#stream.write(`${text}\n`);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#stream.end(resolve));
  }
}
