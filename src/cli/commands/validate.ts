import { loadProject } from '../../config/load.js';
import type { Output } from '../../reporters/output.js';
import { EXIT, type GlobalOptions } from '../options.js';

export async function validateCommand(global: GlobalOptions, out: Output): Promise<number> {
  const loaded = await loadProject({ file: global.file });
  if (!loaded.ok) {
    out.failures(loaded.error);
    return EXIT.badInput;
  }
  out.print(`${global.file}: ok, ${loaded.value.project.steps.size} steps`);
  return EXIT.ok;
}
