/**
 * Input listing: the single-directory glob shortcut must list exactly what tinyglobby lists.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync } from 'node:fs';
import { glob } from 'tinyglobby';
import { afterAll, describe, expect, it } from 'vitest';
import { globFiles, listInputs } from '../../src/fingerprint/list-inputs.js';
import { TempProject } from '../support/project.js';

describe('globFiles', () => {
  const p = new TempProject();
  afterAll(() => p.remove());
  p.write({
    'a.txt': '',
    '.hidden.txt': '',
    'b.c': '',
    'B.TXT': '',
    'f1.txt': '',
    'f2.txt': '',
    'we ird[1].txt': '',
    'back\\slash.txt': '',
    'dir.txt/inner.txt': '',
    'sub/deep.txt': '',
  });
  symlinkSync('a.txt', p.path('link.txt'));
  symlinkSync('sub', p.path('linkdir.txt'));
  mkdirSync(p.path('empty.txt'));
  execFileSync('mkfifo', [p.path('fifo.txt')]);

  const patterns = [
    '*',
    '*.txt',
    '*.{c,txt}',
    'f?.txt',
    '[ab].*',
    '!(a).txt',
    '@(a|b).*',
    '+(f1|f2).txt',
    '.*',
    '*.TXT',
    'we ird*',
    '**/*.txt',
    '**',
    '**/deep.txt',
    '*/*.txt',
    '!*.txt',
    '\\*.txt',
    'back*',
    'back\\slash.txt',
  ];

  it.each(patterns)('lists what tinyglobby lists for %s', async (pattern) => {
    const expected = await glob([pattern], {
      cwd: p.dir,
      absolute: true,
      dot: true,
      onlyFiles: true,
      followSymbolicLinks: false,
      expandDirectories: false,
    });
    expect((await globFiles(p.dir, [pattern])).sort()).toEqual(expected.sort());
  });

  it('lists nothing in a directory that is not there', async () => {
    expect(await globFiles(p.path('nope'), ['*.txt'])).toEqual([]);
  });

  it('lists every input once, sorted, whatever the mix of files, dirs and globs', async () => {
    const list = (globs: string[], files: string[] = [], dirs: string[] = []) =>
      listInputs({ globs, files, dirs }, p.dir).then((l) => l.map((f) => f.slice(p.dir.length + 1)));
    expect(await list(['f*.txt'])).toEqual(['f1.txt', 'f2.txt']);
    expect(await list(['f*.txt', '*1.txt', 'sub/*.txt'])).toEqual(['f1.txt', 'f2.txt', 'sub/deep.txt']);
    expect(await list(['*.c', 'f1.txt'], ['b.c', 'nope'], ['sub'])).toEqual([
      'b.c',
      'f1.txt',
      'nope',
      'sub/deep.txt',
    ]);
    expect(await list(['**/*.txt'])).toEqual(
      (
        await glob(['**/*.txt'], {
          cwd: p.dir,
          dot: true,
          followSymbolicLinks: false,
          expandDirectories: false,
        })
      ).sort(),
    );
  });
});
