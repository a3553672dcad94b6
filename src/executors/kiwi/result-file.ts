/**
 * Reads what kiwi-ng says it built: `kiwi.result.json` in the target dir maps a result key to
 * `[filename, use_for_bundle, compress, shasum]` (a serialised namedtuple), plus a `bundle_format`
 * entry. A missing or unreadable file means the build failed, whatever the exit code said.
 */
import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { errorMessage, fail, ok, type Result } from '../../core/result.js';

export const KIWI_RESULT_FILE = 'kiwi.result.json';

/** Absolute paths of the files kiwi-ng reported, checked to exist, sorted. */
export async function readKiwiResult(options: {
  readonly targetDir: string;
  /** kiwi-ng writes paths of the dir it built into; when that was a staging dir, map them here. */
  readonly builtIn?: string;
  readonly step?: string;
}): Promise<Result<string[]>> {
  const { targetDir, step } = options;
  const file = join(targetDir, KIWI_RESULT_FILE);
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    return fail([
      { step, reason: 'result-unreadable', message: `cannot read ${file}: ${errorMessage(error)}` },
    ]);
  }
  if (typeof parsed !== 'object' || parsed === null) {
    return fail([{ step, reason: 'result-unreadable', message: `${file} is not a JSON object` }]);
  }
  const files = new Set<string>([file]);
  for (const [key, value] of Object.entries(parsed)) {
    const name = Array.isArray(value) ? value[0] : (value as { filename?: unknown } | null)?.filename;
    if (key === 'bundle_format' || typeof name !== 'string') continue;
    let path = isAbsolute(name) ? name : join(targetDir, name);
    if (options.builtIn && isAbsolute(name)) {
      const rel = relative(options.builtIn, name);
      if (!rel.startsWith('..')) path = resolve(targetDir, rel);
    }
    files.add(path);
  }
  for (const path of files) {
    try {
      await stat(path);
    } catch {
      return fail([
        { step, reason: 'result-missing', message: `kiwi-ng reported ${path}, but it does not exist` },
      ]);
    }
  }
  return ok([...files].sort());
}
