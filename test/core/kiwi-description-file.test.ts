/** kiwi's description-file rule and the --kiwi-file option, without kiwi-ng (see kiwi-agreement for the judge). */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkKiwiArgs } from '../../src/kiwi/build-options.js';
import { descriptionFile, kiwiFileOf } from '../../src/kiwi/description-file.js';

const root = mkdtempSync(join(tmpdir(), 'kiwibox-descfile-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
function dir(files: readonly string[]): string {
  const d = join(root, `d${n++}`);
  for (const f of files) {
    mkdirSync(join(d, f, '..'), { recursive: true });
    writeFileSync(join(d, f), '<image/>');
  }
  mkdirSync(d, { recursive: true });
  return d;
}
const pick = (d: string, kiwiFile?: string) => {
  const r = descriptionFile(d, kiwiFile);
  return r.ok ? r.value.slice(d.length + 1) : `error: ${r.error.replace(d, 'DIR')}`;
};

describe('descriptionFile', () => {
  it('config.xml, then image/config.xml, then the first *.kiwi (dot files skipped, as glob does)', () => {
    expect(pick(dir(['config.kiwi', 'config.xml', 'image/config.xml']))).toBe('config.xml');
    expect(pick(dir(['a.kiwi', 'image/config.xml']))).toBe('image/config.xml');
    expect(pick(dir(['b.kiwi', 'B.kiwi', 'a.kiwi', '.0.kiwi']))).toBe('B.kiwi');
    expect(pick(dir(['config.sh']))).toBe('error: DIR has no config.xml, image/config.xml or *.kiwi file');
    expect(pick(join(root, 'nothere'))).toMatch(/^error: description directory .* does not exist$/);
  });

  it('--kiwi-file names the file, which must exist in the directory', () => {
    const d = dir(['config.xml', 'other.kiwi']);
    expect(pick(d, 'other.kiwi')).toBe('other.kiwi');
    expect(pick(d, 'nothere.kiwi')).toMatch(/^error: --kiwi-file nothere\.kiwi: .* does not exist$/);
    expect(pick(d, '../config.xml')).toMatch(/^error: --kiwi-file \.\.\/config\.xml: expects a file name/);
  });
});

describe('--kiwi-file in kiwi-args', () => {
  it('is a global option with a file name, in either spelling', () => {
    expect(kiwiFileOf(['--kiwi-file', 'a.kiwi'])).toBe('a.kiwi');
    expect(kiwiFileOf(['--debug', '--kiwi-file=b.kiwi'])).toBe('b.kiwi');
    expect(kiwiFileOf(['--debug'])).toBeUndefined();
    const checked = checkKiwiArgs(['--kiwi-file', 'a.kiwi', '--clear-cache']);
    expect(checked.problems).toEqual([]);
    expect(checked.split).toEqual({ global: ['--kiwi-file=a.kiwi'], command: ['--clear-cache'] });
    expect(checkKiwiArgs(['--kiwi-file=sub/a.kiwi']).problems.map((p) => p.reason)).toEqual([
      'malformed-kiwi-option',
    ]);
  });
});
