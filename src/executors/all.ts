/**
 * Every executor kiwibox ships, wired by step kind.
 */
import { type ExecutorLookup, executorLookup } from './registry.js';

export function allExecutors(): ExecutorLookup {
  return executorLookup({});
}
