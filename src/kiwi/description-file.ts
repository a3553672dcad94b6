/**
 * Which file of a description directory is the description: kiwi-ng's rule (tasks/base.py,
 * load_xml_description), the only one kiwibox uses — validation, host and boxed builds, stacks and
 * the compatibility commands all ask here, so kiwibox checks the file kiwi-ng will build.
 *
 * 1. `--kiwi-file NAME` (a kiwi-ng global option) names it: `<dir>/NAME`.
 * 2. Else `config.xml`, then `image/config.xml`, then the first `*.kiwi` in sorted order.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fail, ok, type Result } from '../core/result.js';

const exists = (path: string): boolean => {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
};

/**
 * The description file kiwi-ng reads in `dir` (absolute when `dir` is), or why there is none.
 * `kiwiFile` is the value of `--kiwi-file`, when the step's kiwi-args give one.
 */
export function descriptionFile(dir: string, kiwiFile?: string): Result<string, string> {
  try {
    if (!statSync(dir).isDirectory()) return fail(`${dir} is not a directory`);
  } catch {
    return fail(`description directory ${dir} does not exist`);
  }
  if (kiwiFile !== undefined) {
    if (kiwiFile.includes('/')) return fail(`--kiwi-file ${kiwiFile}: expects a file name in ${dir}`);
    const named = join(dir, kiwiFile);
    return exists(named) ? ok(named) : fail(`--kiwi-file ${kiwiFile}: ${named} does not exist`);
  }
  for (const candidate of [join(dir, 'config.xml'), join(dir, 'image', 'config.xml')]) {
    if (exists(candidate)) return ok(candidate);
  }
  // Python's glob skips dot files; sorted() compares code points, as the default JS sort does.
  const kiwis = readdirSync(dir)
    .filter((name) => name.endsWith('.kiwi') && !name.startsWith('.'))
    .sort();
  const first = kiwis[0];
  if (first !== undefined) return ok(join(dir, first));
  return fail(`${dir} has no config.xml, image/config.xml or *.kiwi file`);
}

/**
 * The `--kiwi-file` value in a kiwi-args list (`--kiwi-file=N` or `--kiwi-file N`), if any; the last
 * one wins, as with docopt.
 */
export function kiwiFileOf(kiwiArgs: readonly string[]): string | undefined {
  let found: string | undefined;
  kiwiArgs.forEach((arg, index) => {
    if (arg.startsWith('--kiwi-file=')) found = arg.slice('--kiwi-file='.length);
    else if (arg === '--kiwi-file' && index + 1 < kiwiArgs.length) found = kiwiArgs[index + 1];
  });
  return found;
}
