/**
 * `--profile FILE`: the run's timeline in the Chrome trace event format (the JSON object form with
 * `traceEvents`), which Perfetto and chrome://tracing open. Each running step is a complete (`X`)
 * slice on the lane of the slot it ran in (the lowest lane free when it started), with its kiwi phases
 * nested inside; fresh and skipped steps are instants on the `kiwibox` lane, restored steps slices
 * with their bytes and time saved. Written atomically at every run's end and on close (Ctrl-C too).
 */
import { performance } from 'node:perf_hooks';
import type { KiwiboxEvent, RerunReason } from '../core/events.js';
import { writeFileAtomicSync } from '../core/fs.js';
import { errorMessage } from '../core/result.js';
import type { Reporter } from './reporter.js';

/** One entry of `traceEvents` (https://docs.google.com/document/d/1CvAClvFfyA5R-PhYUmn5OOQtYMH4h6I0nSsKchNAySU). */
export interface TraceEvent {
  readonly name: string;
  readonly ph: 'X' | 'i' | 'M';
  readonly pid: number;
  readonly tid: number;
  readonly ts?: number;
  readonly dur?: number;
  readonly cat?: string;
  /** Instant scope: `t` (thread). */
  readonly s?: 't';
  readonly args?: Readonly<Record<string, unknown>>;
}

interface Open {
  readonly lane: number;
  readonly start: number;
  readonly kind: string;
  readonly args: Record<string, unknown>;
  phase?: { readonly name: string; readonly start: number };
}

const PID = 1;
/** The lane of the run itself and of steps that took no slot (fresh, skipped). */
const MAIN = 0;

const describeReason = (r: RerunReason): string =>
  'path' in r ? `${r.type}: ${r.path}` : 'step' in r ? `${r.type}: ${r.step}` : r.type;

export class ProfileReporter implements Reporter {
  readonly #file: string;
  readonly #now: () => number;
  readonly #origin: number;
  readonly #onError: (message: string) => void;
  readonly #events: TraceEvent[] = [];
  readonly #open = new Map<string, Open>();
  /** Per slot lane (index 1…): when its last slice ended, undefined while a step runs in it. */
  readonly #laneFree: (number | undefined)[] = [Number.NEGATIVE_INFINITY];
  #run?: { readonly start: number; readonly args: Record<string, unknown> };
  #runs = 0;
  #dirty = false;

  /**
   * @param options.now  Milliseconds on a monotonic clock (default performance.now).
   * @param options.onError  Told when the file cannot be written (the run itself is not failed).
   */
  constructor(options: { file: string; now?: () => number; onError: (message: string) => void }) {
    this.#file = options.file;
    this.#now = options.now ?? (() => performance.now());
    this.#origin = this.#now();
    this.#onError = options.onError;
  }

  /** Microseconds since the reporter was made. */
  #ts(ms = this.#now()): number {
    return Math.max(0, Math.round((ms - this.#origin) * 1000));
  }

  #slice(options: {
    name: string;
    cat: string;
    tid: number;
    start: number;
    end: number;
    args?: object;
  }): void {
    const ts = this.#ts(options.start);
    this.#events.push({
      name: options.name,
      cat: options.cat,
      ph: 'X',
      pid: PID,
      tid: options.tid,
      ts,
      dur: Math.max(1, this.#ts(options.end) - ts),
      ...(options.args ? { args: { ...options.args } } : {}),
    });
  }

  #instant(name: string, cat: string, args: object): void {
    this.#events.push({ name, cat, ph: 'i', s: 't', pid: PID, tid: MAIN, ts: this.#ts(), args: { ...args } });
  }

  /** The lowest slot lane free since `from` (a new one when all are taken). */
  #takeLane(from: number): number {
    let lane = this.#laneFree.findIndex((free, i) => i > MAIN && free !== undefined && free <= from);
    if (lane < 0) lane = this.#laneFree.push(undefined) - 1;
    this.#laneFree[lane] = undefined;
    return lane;
  }

  #begin(step: string, kind: string, args: Record<string, unknown>, start = this.#now()): void {
    this.#open.set(step, { lane: this.#takeLane(start), start, kind, args });
  }

  #endPhase(open: Open, end: number): void {
    if (!open.phase) return;
    this.#slice({ name: open.phase.name, cat: 'phase', tid: open.lane, start: open.phase.start, end });
    open.phase = undefined;
  }

  #end(step: string, outcome: string, extra: Record<string, unknown> = {}): boolean {
    const open = this.#open.get(step);
    if (!open) return false;
    const end = this.#now();
    this.#endPhase(open, end);
    this.#slice({
      name: step,
      cat: open.kind,
      tid: open.lane,
      start: open.start,
      end,
      args: { ...open.args, outcome, ...extra },
    });
    this.#open.delete(step);
    this.#laneFree[open.lane] = end;
    return true;
  }

  event(event: KiwiboxEvent): void {
    this.#dirty = true;
    switch (event.type) {
      case 'run-started':
        this.#runs++;
        this.#run = { start: this.#now(), args: { steps: event.steps.length, jobs: event.jobs } };
        break;
      case 'step-started':
        this.#begin(event.step, event.kind, { kind: event.kind, reasons: event.reasons.map(describeReason) });
        break;
      case 'step-progress': {
        const open = this.#open.get(event.step);
        if (!open || open.phase?.name === event.phase) break;
        const now = this.#now();
        this.#endPhase(open, now);
        open.phase = { name: event.phase, start: now };
        break;
      }
      case 'step-succeeded':
        this.#end(event.step, 'succeeded', { durationMs: event.durationMs });
        break;
      case 'step-failed': {
        const extra = {
          failures: event.failures.map((f) => f.reason),
          ...(event.log ? { log: event.log } : {}),
        };
        if (!this.#end(event.step, 'failed', extra))
          this.#instant(event.step, event.kind, { kind: event.kind, outcome: 'failed', ...extra });
        break;
      }
      case 'step-restored': {
        const extra = { bytes: event.bytes, savedMs: event.savedMs, store: event.store };
        // Restoring takes a slot like running does; without a start event the slice ends now.
        if (!this.#open.has(event.step))
          this.#begin(event.step, event.kind, { kind: event.kind }, this.#now() - event.durationMs);
        this.#end(event.step, 'restored', extra);
        break;
      }
      case 'step-fresh':
        this.#instant(event.step, event.kind, { kind: event.kind, outcome: 'fresh' });
        break;
      case 'step-skipped':
        this.#instant(event.step, event.kind, {
          kind: event.kind,
          outcome: 'skipped',
          reason: event.reason,
          ...(event.dependency ? { dependency: event.dependency } : {}),
        });
        break;
      case 'run-finished':
        if (this.#run) {
          const { summary } = event;
          const name = this.#runs > 1 ? `run ${this.#runs}` : 'run';
          this.#slice({
            name,
            cat: 'run',
            tid: MAIN,
            start: this.#run.start,
            end: this.#now(),
            args: {
              ...this.#run.args,
              succeeded: summary.succeeded,
              fresh: summary.fresh,
              failed: summary.failed,
              skipped: summary.skipped,
              interrupted: summary.interrupted,
            },
          });
          this.#run = undefined;
        }
        this.#write();
        break;
      default:
        break;
    }
  }

  /** Closes what is still open (the process is exiting) and writes the file. */
  close(): void {
    for (const step of [...this.#open.keys()]) this.#end(step, 'unfinished');
    if (this.#run) {
      this.#slice({
        name: 'run',
        cat: 'run',
        tid: MAIN,
        start: this.#run.start,
        end: this.#now(),
        args: { ...this.#run.args, unfinished: true },
      });
      this.#run = undefined;
      this.#dirty = true;
    }
    if (this.#dirty) this.#write();
  }

  /** The whole trace: metadata naming the process and every lane, then the events in time order. */
  trace(): { traceEvents: TraceEvent[]; displayTimeUnit: 'ms' } {
    const meta = (name: string, tid: number, args: Record<string, unknown>): TraceEvent => ({
      name,
      ph: 'M',
      pid: PID,
      tid,
      args,
    });
    const lanes = this.#laneFree.map((_, tid) => [
      meta('thread_name', tid, { name: tid === MAIN ? 'kiwibox' : `slot ${tid}` }),
      meta('thread_sort_index', tid, { sort_index: tid }),
    ]);
    const timed = [...this.#events].sort((a, b) => (a.ts ?? 0) - (b.ts ?? 0));
    return {
      traceEvents: [meta('process_name', MAIN, { name: 'kiwibox' }), ...lanes.flat(), ...timed],
      displayTimeUnit: 'ms',
    };
  }

  #write(): void {
    this.#dirty = false;
    try {
      writeFileAtomicSync(this.#file, `${JSON.stringify(this.trace())}\n`);
    } catch (error) {
      this.#onError(`cannot write the profile ${this.#file}: ${errorMessage(error)}`);
    }
  }
}
