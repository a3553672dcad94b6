/**
 * Step stamps (.kiwibox/steps/<id>/stamp.json): the no-op shortcut past the record. A stamp only
 * ever vouches for the very inputs, config and record it was written with.
 */
import { existsSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { inputsDigest, statInputs } from '../../src/fingerprint/inputs.js';
import { stepsWith, TempProject } from '../support/project.js';

describe('inputsDigest', () => {
  const p = new TempProject();
  afterAll(() => p.remove());
  p.write({ 'a.txt': 'a\n', 'b.txt': 'b\n' });
  const digest = (...names: string[]) =>
    inputsDigest(
      statInputs(
        names.map((n) => p.path(n)),
        p.dir,
      ),
    );

  it('changes with any stat, a link target, a file appearing, or the list itself', () => {
    symlinkSync('a.txt', p.path('link'));
    const all = digest('a.txt', 'b.txt', 'link', 'gone');
    expect(digest('a.txt', 'b.txt', 'link', 'gone')).toBe(all);
    expect(digest('a.txt', 'b.txt', 'link')).not.toBe(all);
    expect(digest('b.txt', 'a.txt', 'link', 'gone')).not.toBe(all);
    const later = new Date(Date.now() + 5000);
    utimesSync(p.path('b.txt'), later, later);
    const touched = digest('a.txt', 'b.txt', 'link', 'gone');
    expect(touched).not.toBe(all);
    rmSync(p.path('link'));
    symlinkSync('b.txt', p.path('link'));
    const relinked = digest('a.txt', 'b.txt', 'link', 'gone');
    expect(relinked).not.toBe(touched);
    p.write({ gone: '' });
    expect(digest('a.txt', 'b.txt', 'link', 'gone')).not.toBe(relinked);
  });
});

describe('step stamps', () => {
  const p = new TempProject();
  afterAll(() => p.remove());
  p.write({
    'kiwibox.yaml': [
      'version: 1',
      'tasks:',
      '  gen:',
      '    run: [sh, -c, "test ! -e fail.flag && mkdir -p out && cat src/*.txt > out/all.txt"]',
      '    inputs: ["src/*"]',
      '    outputs: [out/all.txt]',
      '',
    ].join('\n'),
    'src/a.txt': 'a\n',
    'src/b.txt': 'b\n',
  });
  const stamp = p.path('.kiwibox/steps/gen/stamp.json');
  const record = p.path('.kiwibox/steps/gen/record.json');
  const ran = async (...args: string[]) => {
    const result = await p.kiwibox(['--reporter', 'ndjson', ...args, 'run']);
    return { started: stepsWith(result.stdout, 'step-started'), exitCode: result.exitCode };
  };

  it('is written with the record, and then spares reading the record', async () => {
    expect((await ran()).started).toEqual(['gen']);
    expect(existsSync(stamp)).toBe(true);
    const saved = readFileSync(record, 'utf8');
    writeFileSync(record, 'not json');
    expect((await ran()).started).toEqual([]);
    writeFileSync(record, saved);
  });

  it('does not vouch for a changed, added or removed input, nor a changed config', async () => {
    writeFileSync(p.path('src/a.txt'), 'aa\n');
    expect((await ran()).started).toEqual(['gen']);
    p.write({ 'src/c.txt': 'c\n' });
    expect((await ran()).started).toEqual(['gen']);
    rmSync(p.path('src/c.txt'));
    expect((await ran()).started).toEqual(['gen']);
    const yaml = readFileSync(p.path('kiwibox.yaml'), 'utf8');
    writeFileSync(p.path('kiwibox.yaml'), yaml.replace('cat src', 'cat  src'));
    expect((await ran()).started).toEqual(['gen']);
    expect((await ran()).started).toEqual([]);
  });

  it('is refreshed when a touched input leaves the step fresh, and rebuilt when missing or corrupt', async () => {
    const before = readFileSync(stamp, 'utf8');
    const later = new Date(Date.now() + 5000);
    utimesSync(p.path('src/b.txt'), later, later);
    expect((await ran()).started).toEqual([]);
    const after = readFileSync(stamp, 'utf8');
    expect(after).not.toBe(before);
    expect(JSON.parse(after).hash).toBe(JSON.parse(before).hash);
    for (const damage of [() => rmSync(stamp), () => writeFileSync(stamp, '{"v":1,')]) {
      damage();
      expect((await ran()).started).toEqual([]);
      expect(readFileSync(stamp, 'utf8')).toBe(after);
    }
  });

  it('goes with the record when a forced run fails: the step is stale, not fresh', async () => {
    writeFileSync(p.path('fail.flag'), '');
    expect(await ran('--force')).toEqual({ started: ['gen'], exitCode: 1 });
    expect(existsSync(stamp)).toBe(false);
    rmSync(p.path('fail.flag'));
    expect((await ran()).started).toEqual(['gen']);
    expect((await ran()).started).toEqual([]);
  });
});
