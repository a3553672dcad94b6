/**
 * Watches a serial console byte stream: splits it into lines for the log, and matches `expect`
 * patterns in order and `fail-on` patterns anywhere. The unfinished last line is matched too, since a
 * login prompt never ends with a newline; a cursor keeps a pattern from matching the same text twice
 * and makes `expect` ordered within one line as well. A `fail-on` match in an unfinished line waits
 * (up to `failOnGraceMs`) for the line's end, so the failure quotes the whole line: QEMU may deliver
 * "Kernel panic - not syncing" and its reason in two chunks.
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
  /** A fail-on pattern seen in the unfinished line, reported at the line's end or after the grace. */
  #pending: { readonly pattern: string; readonly timer: NodeJS.Timeout } | undefined;
  readonly #failOnGraceMs: number;
  readonly #tail: string[] = [];

  constructor(options: {
    readonly expect: readonly ConsolePattern[];
    readonly failOn: readonly ConsolePattern[];
    readonly onLine: (line: string) => void;
    readonly onEvent: (event: WatchEvent) => void;
    readonly failOnGraceMs?: number;
  }) {
    this.#failOnGraceMs = options.failOnGraceMs ?? 1000;
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
      this.#match(line, true);
      this.#cursor = 0;
      this.#tail.push(line);
      if (this.#tail.length > 200) this.#tail.shift();
      this.#onLine(line);
      newline = this.#partial.indexOf('\n');
    }
    if (this.#partial) this.#match(this.#clean(this.#partial), false);
  }

  /** Reports a fail-on match still waiting for its line's end (the VM is gone: no more bytes). */
  flush(): void {
    if (this.#pending) this.#fail(this.#pending.pattern, this.#clean(this.#partial));
  }

  /** The stream ended: the unfinished line goes to the log. */
  end(): void {
    this.#partial += this.#decoder.decode();
    this.flush();
    const rest = this.#clean(this.#partial);
    this.#partial = '';
    if (rest) {
      this.#match(rest, true);
      this.#tail.push(rest);
      this.#onLine(rest);
    }
  }

  #clean(line: string): string {
    return line.replace(CONTROL, '').replace(/\s+$/, '');
  }

  #fail(pattern: string, line: string): void {
    if (this.#pending) clearTimeout(this.#pending.timer);
    this.#pending = undefined;
    if (this.#failed) return;
    this.#failed = true;
    this.#onEvent({ kind: 'fail-on', pattern, line });
  }

  #match(line: string, complete: boolean): void {
    if (this.#failed) return;
    if (this.#pending) {
      if (complete) this.#fail(this.#pending.pattern, line);
      return;
    }
    for (const pattern of this.#failOn) {
      if (pattern.find(line, 0) < 0) continue;
      if (complete) this.#fail(pattern.text, line);
      else {
        const timer = setTimeout(() => this.flush(), this.#failOnGraceMs);
        this.#pending = { pattern: pattern.text, timer };
      }
      return;
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
