/**
 * Input digests computed on a second thread: listing and lstat of every input is most of a no-op
 * run, and it parallelises. A worker digests steps from the end of the order while the main thread
 * goes from the start; each step is claimed by one side through shared memory. The main thread uses
 * a worker's digest only while no step has started to run: after that, inputs may have changed since
 * the worker looked, so every step is stated again by the main thread (`stop`).
 */
import { Worker } from 'node:worker_threads';
import type { InputSpec } from '../core/executor.js';

export const CLAIMED_BY_WORKER = 2;
const CLAIMED_BY_MAIN = 1;
export const STEP_DONE = 1;
export const STEP_FAILED = 2;
export const DIGEST_BYTES = 32;
/** Below this many steps the worker's start-up costs more than it saves. */
const MIN_STEPS = 64;
/** A worker that does not finish a claimed step within this long is not waited for. */
const WAIT_MS = 2000;

export interface PrefetchShared {
  /** Per step: 0 unclaimed, 1 main thread, 2 worker. */
  readonly claims: Int32Array;
  /** Per step: 0 pending, 1 digest ready, 2 failed. */
  readonly done: Int32Array;
  readonly digests: Uint8Array;
  /** [0] set to 1: the worker stops claiming. */
  readonly stop: Int32Array;
}

export class InputPrefetch {
  readonly #worker: Worker;
  readonly #shared: PrefetchShared;
  readonly #index: ReadonlyMap<string, number>;
  #stopped = false;

  private constructor(worker: Worker, shared: PrefetchShared, ids: readonly string[]) {
    this.#worker = worker;
    this.#shared = shared;
    this.#index = new Map(ids.map((id, i) => [id, i]));
  }

  /** Starts a worker for `steps` (in the order the main thread will decide them), if worth it. */
  static start(options: {
    readonly steps: readonly { readonly id: string; readonly spec: InputSpec }[];
    readonly projectDir: string;
  }): InputPrefetch | undefined {
    const n = options.steps.length;
    if (n < MIN_STEPS) return undefined;
    const url = new URL('./prefetch-worker.js', import.meta.url);
    const shared: PrefetchShared = {
      claims: new Int32Array(new SharedArrayBuffer(4 * n)),
      done: new Int32Array(new SharedArrayBuffer(4 * n)),
      digests: new Uint8Array(new SharedArrayBuffer(DIGEST_BYTES * n)),
      stop: new Int32Array(new SharedArrayBuffer(4)),
    };
    let worker: Worker;
    try {
      worker = new Worker(url, {
        workerData: { ...shared, specs: options.steps.map((s) => s.spec), projectDir: options.projectDir },
        stdout: true,
        stderr: true,
      });
    } catch {
      return undefined;
    }
    const prefetch = new InputPrefetch(
      worker,
      shared,
      options.steps.map((s) => s.id),
    );
    // A worker that cannot start (sources run without a build) just leaves every step to the main thread.
    worker.on('error', () => prefetch.stop());
    worker.unref();
    return prefetch;
  }

  /**
   * The worker's inputs digest for step `id`, waiting briefly if it is at it; undefined when the
   * main thread is to compute it (claimed here now, stopped, failed or unknown).
   */
  take(id: string): string | undefined {
    const i = this.#index.get(id);
    if (i === undefined || this.#stopped) return undefined;
    const { claims, done, digests } = this.#shared;
    if (Atomics.compareExchange(claims, i, 0, CLAIMED_BY_MAIN) !== CLAIMED_BY_WORKER) return undefined;
    Atomics.wait(done, i, 0, WAIT_MS);
    if (Atomics.load(done, i) !== STEP_DONE) return undefined;
    return Buffer.from(digests.subarray(i * DIGEST_BYTES, (i + 1) * DIGEST_BYTES)).toString('hex');
  }

  /** No digest of the worker's is used from now on (a step is about to run). */
  stop(): void {
    this.#stopped = true;
    Atomics.store(this.#shared.stop, 0, 1);
  }

  async close(): Promise<void> {
    this.stop();
    await this.#worker.terminate();
  }
}
