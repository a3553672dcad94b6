/**
 * What the guest left in the bundle dir: `result.code` (first line, an integer) and `result.log`. A
 * missing, empty or unreadable result.code is a failure, never a success (upstream counts it as 0).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errorMessage, failWith, ok, type Result } from '../../core/result.js';

export const RESULT_CODE = 'result.code';
export const RESULT_LOG = 'result.log';

/** The last `lines` lines of result.log, or '' if there is none. */
export async function resultLogTail(dir: string, lines = 15): Promise<string> {
  try {
    const text = await readFile(join(dir, RESULT_LOG), 'utf8');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** Ok when result.code says 0; otherwise a failure that carries the log tail (or the console tail). */
export async function checkResultCode(options: {
  readonly dir: string;
  readonly consoleTail: readonly string[];
  readonly step?: string;
}): Promise<Result<void>> {
  const { dir, step } = options;
  let text: string;
  try {
    text = await readFile(join(dir, RESULT_CODE), 'utf8');
  } catch (error) {
    const console = options.consoleTail.slice(-10).join('\n');
    return failWith({
      step,
      reason: 'result-missing',
      message: `the box wrote no ${RESULT_CODE} (${errorMessage(error)}): the build did not run to its end${console ? `\nlast console lines:\n${console}` : ''}`,
    });
  }
  const first = text.split('\n')[0]?.trim() ?? '';
  if (!/^\d+$/.test(first)) {
    return failWith({
      step,
      reason: 'result-code-unreadable',
      message: `${RESULT_CODE} holds ${JSON.stringify(first)}, not an exit code`,
    });
  }
  const code = Number(first);
  if (code === 0) return ok(undefined);
  const log = await resultLogTail(dir);
  return failWith({
    step,
    reason: 'box-build-failed',
    message: `kiwi-ng in the box failed with code ${code}${log ? `; end of ${RESULT_LOG}:\n${log}` : ''}`,
  });
}

/** Regular files of a bundle dir (for boxes whose kiwi-ng writes no kiwi.result.json into the bundle). */
export async function listBundle(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(dir, entry.name))
    .sort();
}
