/**
 * Watches a serial console byte stream: splits it into lines for the log, and matches `expect`
 * patterns in order and `fail-on` patterns anywhere. The unfinished last line is matched too, since a
 * login prompt never ends with a newline; a cursor keeps a pattern from matching the same text twice
 * and makes `expect` ordered within one line as well.
 */
import type { ConsolePattern } from '../../boot/patterns.js';

/** Terminal control sequences (grub and systemd paint the console) and stray control characters. */
const CONTROL =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: that is what it removes
  /\x1b\[[0-?]*[ -/]*[@-~]|\x1b[()#][0-9A-Za-z]|\x1b[0-9=>@-Z\\\]^_a-z]|[\x00-\x08\x0b-\x0c\x0e-\x1f\x7f]/g;

export type WatchEvent =
  | { readonly kind: 'expected'; readonly index: number; readonly line: string }
  | { readonly kind: 'fail-on'; readonly pattern: string; readonly line: string };

export class ConsoleWatch {
  readonly #expect: readonly ConsolePattern[];
  readonly #failOn: readonly ConsolePattern[];
  readonly #onLine: (line: string) => void;
  readonly #onEvent: (event: WatchEvent) => void;
  readonly #decoder = new TextDecoder('utf-8');
  #partial = '';
  /** Where in the current line the next expectation may start. */
  #cursor = 0;
  #next = 0;
  #failed = false;
  readonly #tail: string[] = [];

  constructor(options: {
    readonly expect: readonly ConsolePattern[];
    readonly failOn: readonly ConsolePattern[];
    readonly onLine: (line: string) => void;
    readonly onEvent: (event: WatchEvent) => void;
  }) {
    this.#expect = options.expect;
    this.#failOn = options.failOn;
    this.#onLine = options.onLine;
    this.#onEvent = options.onEvent;
  }

  /** Expectations seen so far. */
  get seen(): number {
    return this.#next;
  }

  get done(): boolean {
    return this.#next >= this.#expect.length;
  }

  /** The last complete lines (up to 40) and the unfinished one. */
  tail(lines = 40): string[] {
    const partial = this.#clean(this.#partial);
    return [...this.#tail.slice(-lines), ...(partial ? [partial] : [])];
  }

  feed(chunk: Buffer): void {
    this.#partial += this.#decoder.decode(chunk, { stream: true });
    let newline = this.#partial.indexOf('\n');
    while (newline >= 0) {
      const line = this.#clean(this.#partial.slice(0, newline));
      this.#partial = this.#partial.slice(newline + 1);
      this.#match(line);
      this.#cursor = 0;
      this.#tail.push(line);
      if (this.#tail.length > 200) this.#tail.shift();
      this.#onLine(line);
      newline = this.#partial.indexOf('\n');
    }
    if (this.#partial) this.#match(this.#clean(this.#partial));
  }

  /** The stream ended: the unfinished line goes to the log. */
  end(): void {
    const rest = this.#clean(this.#partial + this.#decoder.decode());
    this.#partial = '';
    if (rest) {
      this.#match(rest);
      this.#tail.push(rest);
      this.#onLine(rest);
    }
  }

  #clean(line: string): string {
    return line.replace(CONTROL, '').replace(/\s+$/, '');
  }

  #match(line: string): void {
    if (this.#failed) return;
    for (const pattern of this.#failOn) {
      if (pattern.find(line, 0) >= 0) {
        this.#failed = true;
        this.#onEvent({ kind: 'fail-on', pattern: pattern.text, line });
        return;
      }
    }
    for (let pattern = this.#expect[this.#next]; pattern; pattern = this.#expect[this.#next]) {
      const end = pattern.find(line, this.#cursor);
      if (end < 0) return;
      this.#cursor = end;
      this.#onEvent({ kind: 'expected', index: this.#next, line });
      this.#next++;
    }
  }
}
