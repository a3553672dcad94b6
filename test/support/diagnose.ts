/**
 * Loads a kiwibox.yaml written into a TempProject and returns what a user would see: `ok`, or every
 * diagnostic as printed (no colour), with the case's file name shown as kiwibox.yaml.
 */
import { loadProject } from '../../src/config/load.js';
import { formatFailure } from '../../src/reporters/diagnostics.js';
import type { TempProject } from './project.js';

let n = 0;

export async function diagnoseIn(options: {
  readonly project: TempProject;
  readonly yaml: string;
  /** Other files of the project (descriptions), by relative path. */
  readonly files?: Record<string, string>;
  readonly env?: Record<string, string>;
}): Promise<string> {
  const { project } = options;
  const name = `case${n++}.yaml`;
  project.write({ [name]: options.yaml, ...options.files });
  const loaded = await loadProject({ file: project.path(name), env: options.env ?? {} });
  if (loaded.ok) return 'ok';
  return loaded.error
    .flatMap((f) => formatFailure(f, { cwd: project.dir, color: false }))
    .join('\n')
    .replaceAll(name, 'kiwibox.yaml')
    .replaceAll(`${project.dir}/`, '');
}
