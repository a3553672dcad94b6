/**
 * A ninja-like status line on a terminal: `[3/7] base 1m12s`, redrawn in place, with finished steps
 * scrolling above it. Step output goes to the step logs only; a failure shows its log's tail.
 */
import { readFileSync } from 'node:fs';
import { createLogUpdate } from 'log-update';
import type { KiwiboxEvent } from '../core/events.js';
import { eventLines, progressText } from './lines.js';
import { formatDuration, type Reporter } from './reporter.js';

const TAIL = 15;

export class StatusReporter implements Reporter {
  readonly #out: NodeJS.WriteStream;
  readonly #update: ReturnType<typeof createLogUpdate>;
  readonly #options: { cwd: string; color: boolean; output: boolean };
  readonly #running = new Map<string, number>();
  /** The latest `step-progress` text of each running step, shown after its time. */
  readonly #progress = new Map<string, string>();
  #total = 0;
  #finished = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: { out: NodeJS.WriteStream; cwd: string; color: boolean }) {
    this.#out = options.out;
    this.#update = createLogUpdate(options.out, { showCursor: true });
    this.#options = { cwd: options.cwd, color: options.color, output: false };
  }

  event(event: KiwiboxEvent): void {
    switch (event.type) {
      case 'run-started':
        this.#total = event.steps.length;
        this.#finished = 0;
        this.#timer ??= setInterval(() => this.#render(), 1000);
        this.#timer.unref();
        break;
      case 'step-started':
        this.#running.set(event.step, Date.now());
        break;
      case 'step-progress':
        // The status line shows it; no scrolling line for every package.
        this.#progress.set(event.step, progressText(event));
        this.#render();
        return;
      case 'step-fresh':
      case 'step-succeeded':
      case 'step-restored':
      case 'step-failed':
      case 'step-skipped':
        this.#running.delete(event.step);
        this.#progress.delete(event.step);
        this.#finished++;
        break;
      default:
        break;
    }
    const lines = eventLines(event, this.#options);
    if (event.type === 'step-failed' && event.log) lines.push(...this.#tail(event.log));
    if (lines.length) {
      this.#update.clear();
      this.#out.write(`${lines.join('\n')}\n`);
    }
    if (event.type === 'run-finished') this.#stop();
    else this.#render();
  }

  #tail(log: string): string[] {
    try {
      const lines = readFileSync(log, 'utf8').trimEnd().split('\n');
      return lines.slice(-TAIL).map((l) => `      | ${l}`);
    } catch {
      return [];
    }
  }

  #render(): void {
    if (!this.#running.size) {
      this.#update.clear();
      return;
    }
    const now = Date.now();
    const steps = [...this.#running]
      .map(([id, t]) => {
        const progress = this.#progress.get(id);
        return `${id} ${formatDuration(now - t)}${progress ? ` ${progress}` : ''}`;
      })
      .join(', ');
    const width = this.#out.columns ?? 80;
    const line = `[${this.#finished}/${this.#total}] ${steps}`;
    this.#update(line.length > width ? `${line.slice(0, width - 1)}…` : line);
  }

  #stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#update.clear();
  }

  close(): void {
    this.#stop();
    this.#update.done();
  }
}
