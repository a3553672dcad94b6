/**
 * The watch's input map reads `!pattern` input globs as list-inputs does: a change to an excluded
 * file triggers nothing (before: the exclude matched every other path in the project).
 */
import { describe, expect, it } from 'vitest';
import { loadProject } from '../../src/config/load.js';
import { executorsFor } from '../../src/executors/index.js';
import { InputMap } from '../../src/watch/input-map.js';
import { TempProject } from '../support/project.js';

describe('watch input map with excludes', () => {
  it('maps included files to the step and excluded or unrelated ones to nothing', async () => {
    const p = new TempProject();
    try {
      p.write({
        'kiwibox.yaml': [
          'version: 1',
          'tasks:',
          '  t:',
          "    run: ['true']",
          '    inputs: ["src/**/*.txt", "!src/**/skip/**"]',
          '',
        ].join('\n'),
        'src/a/x.txt': '',
      });
      const loaded = await loadProject({ file: p.path('kiwibox.yaml'), cache: false, env: {} });
      if (!loaded.ok) throw new Error(JSON.stringify(loaded.error));
      const { project } = loaded.value;
      const map = new InputMap({ project, ids: ['t'], lookup: await executorsFor(project) });
      expect(map.stepsFor(p.path('src/a/x.txt'))).toEqual(['t']);
      expect(map.stepsFor(p.path('src/a/skip/y.txt'))).toEqual([]);
      expect(map.stepsFor(p.path('notes.md'))).toEqual([]);
    } finally {
      p.remove();
    }
  });
});
