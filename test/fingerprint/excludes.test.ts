/**
 * `!pattern` among a step's input globs excludes what it matches (before: the `!` was dropped and
 * the pattern listed its files as inputs).
 */
import { describe, expect, it } from 'vitest';
import { listInputs } from '../../src/fingerprint/list-inputs.js';
import { TempProject } from '../support/project.js';

describe('input globs with excludes', () => {
  it('drops the files an exclude matches, whatever the order of the globs', async () => {
    const p = new TempProject();
    try {
      p.write({
        'src/a/x.txt': '',
        'src/a/skip/y.txt': '',
        'src/b/skip/deeper/z.txt': '',
        'src/b/w.txt': '',
        'top.txt': '',
      });
      const list = async (globs: string[]) =>
        (await listInputs({ globs, files: [], dirs: [] }, p.dir)).map((f) => f.slice(p.dir.length + 1));
      const expected = ['src/a/x.txt', 'src/b/w.txt'];
      expect(await list(['src/**/*.txt', '!src/**/skip/**'])).toEqual(expected);
      expect(await list(['!src/**/skip/**', 'src/**/*.txt'])).toEqual(expected);
      expect(await list(['**/*.txt', '!src/**/skip/**', '!top.txt'])).toEqual(expected);
      // Literal paths and whole bases under an excluded directory, file-name excludes.
      expect(await list(['src/a/skip/y.txt', 'src/a/*.txt', '!src/a/skip/**'])).toEqual(['src/a/x.txt']);
      expect(await list(['src/a/**', '!src/**'])).toEqual([]);
      expect(await list(['src/**', '!**/w.txt', '!**/skip/**'])).toEqual(['src/a/x.txt']);
      expect(await list(['src/**', '!src/a/skip/y.txt'])).toEqual([
        'src/a/x.txt',
        'src/b/skip/deeper/z.txt',
        'src/b/w.txt',
      ]);
      // An extglob `!(…)` is a pattern, not an exclude.
      expect(await list(['src/a/!(x).txt', 'top.txt'])).toEqual(['top.txt']);
    } finally {
      p.remove();
    }
  });
});
