/**
 * The prefetch worker (see prefetch.ts): digests the inputs of the steps at the end of the order
 * while the main thread works from the start, each step claimed by exactly one side.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { InputSpec } from '../core/executor.js';
import { inputsDigest, statInputs } from './inputs.js';
import { listInputs } from './list-inputs.js';
import { CLAIMED_BY_WORKER, DIGEST_BYTES, type PrefetchShared, STEP_DONE, STEP_FAILED } from './prefetch.js';

const { specs, projectDir, claims, done, digests, stop } = workerData as PrefetchShared & {
  readonly specs: readonly InputSpec[];
  readonly projectDir: string;
};

for (let i = specs.length - 1; i >= 0 && Atomics.load(stop, 0) === 0; i--) {
  if (Atomics.compareExchange(claims, i, 0, CLAIMED_BY_WORKER) !== 0) continue;
  let state = STEP_FAILED;
  try {
    const digest = inputsDigest(statInputs(await listInputs(specs[i] as InputSpec, projectDir), projectDir));
    digests.set(Buffer.from(digest, 'hex'), i * DIGEST_BYTES);
    state = STEP_DONE;
  } finally {
    Atomics.store(done, i, state);
    Atomics.notify(done, i);
  }
}
parentPort?.close();
