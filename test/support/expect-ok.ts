/**
 * Assertions on a Result that print the failures when it is not ok, instead of "expected false to be
 * true": `const value = expectOk(await ensureHostBox(…))`.
 */
import { expect } from 'vitest';
import type { Failure, Result } from '../../src/core/result.js';

const describeFailures = (failures: readonly Failure[]): string =>
  failures.map((f) => `[${f.reason}]${f.step ? ` ${f.step}:` : ''} ${f.message}`).join('\n');

/** The value of an ok Result; fails the test with every failure's reason and message otherwise. */
export function expectOk<T>(result: Result<T>, what = 'result'): T {
  if (!result.ok) expect.fail(`${what} failed:\n${describeFailures(result.error)}`);
  return result.value;
}

/** The failures of a failed Result; fails the test (showing the value) when it is ok. */
export function expectFailed<T>(result: Result<T>, what = 'result'): Failure[] {
  if (result.ok) expect.fail(`${what} was expected to fail but gave ${JSON.stringify(result.value)}`);
  return result.error;
}
