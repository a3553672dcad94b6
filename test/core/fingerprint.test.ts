/**
 * Fingerprints, freshness and `why`, through the real CLI on task steps.
 */
import { readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { describeReason, explainFingerprints } from '../../src/fingerprint/explain.js';
import { makeFingerprint } from '../../src/fingerprint/fingerprint.js';
import { HashCache } from '../../src/state/hash-cache.js';
import type { Fingerprint } from '../../src/state/record.js';
import { stepsWith, TempProject } from '../support/project.js';

const fp = (over: Partial<Fingerprint>): Fingerprint =>
  makeFingerprint({
    kind: 'task',
    config: { run: 'x' },
    files: {},
    tools: {},
    upstream: {},
    extra: {},
    ...over,
  });

describe('explainFingerprints', () => {
  it('names every changed field', () => {
    const old = fp({
      files: { a: '1', b: '2' },
      config: { run: 'x', type: 'tbz' },
      tools: { 'kiwi-ng': '9.24' },
      upstream: { u: 'h1' },
    });
    const now = fp({
      files: { a: '1', b: '3', c: '4' },
      config: { run: 'x', type: 'oem' },
      tools: { 'kiwi-ng': '9.25' },
      upstream: { u: 'h2' },
    });
    expect(explainFingerprints(old, now).map(describeReason)).toEqual([
      'file changed: b',
      'file added: c',
      'config type: "tbz" -> "oem"',
      'upstream step changed: u',
      'tool kiwi-ng: 9.24 -> 9.25',
    ]);
    expect(explainFingerprints(now, now)).toEqual([]);
    expect(explainFingerprints(now, fp({ files: { a: '1' } })).map(describeReason)).toContain(
      'file removed: c',
    );
  });

  it('keeps fields in a fixed order whatever the input order', () => {
    const a = fp({ files: { z: '1', a: '2' } });
    const b = fp({ files: { a: '2', z: '1' } });
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    expect(Object.keys(a)).toEqual([
      'format',
      'kind',
      'platform',
      'config',
      'files',
      'tools',
      'upstream',
      'extra',
    ]);
  });
});

describe('HashCache', () => {
  it('does not re-read a file whose stat is unchanged, and re-reads a changed one', async () => {
    const p = new TempProject();
    try {
      p.write({ 'f.txt': 'one' });
      const cache = HashCache.load(p.path('.kiwibox/hash-cache.json'));
      const { statSync } = await import('node:fs');
      const first = await cache.hash(p.path('f.txt'), statSync(p.path('f.txt')));
      await cache.hash(p.path('f.txt'), statSync(p.path('f.txt')));
      expect(cache.reads).toBe(1);
      await cache.save();
      const reloaded = HashCache.load(p.path('.kiwibox/hash-cache.json'));
      expect(await reloaded.hash(p.path('f.txt'), statSync(p.path('f.txt')))).toBe(first);
      expect(reloaded.reads).toBe(0);
      writeFileSync(p.path('f.txt'), 'two');
      expect(await reloaded.hash(p.path('f.txt'), statSync(p.path('f.txt')))).not.toBe(first);
      expect(reloaded.reads).toBe(1);
    } finally {
      p.remove();
    }
  });
});

describe('freshness through the CLI', () => {
  const p = new TempProject();
  afterAll(() => p.remove());
  p.write({
    'kiwibox.yaml': [
      'version: 1',
      'tasks:',
      '  gen:',
      '    run: [sh, -c, "mkdir -p out && find src -name \'*.txt\' | sort | xargs cat > out/all.txt"]',
      '    inputs: ["src/**/*.txt"]',
      '    outputs: [out/all.txt]',
      '  use:',
      '    needs: [gen]',
      '    run: "wc -c < out/all.txt > out/count.txt"',
      '    outputs: [out/count.txt]',
      '  other:',
      '    run: [touch, other.stamp]',
      '    outputs: [other.stamp]',
    ].join('\n'),
    'src/a.txt': 'a\n',
    'src/sub/b.txt': 'b\n',
  });
  const run = (...args: string[]) => p.kiwibox(['--reporter', 'ndjson', 'run', ...args]);

  it('runs everything once, then nothing', async () => {
    const first = await run();
    expect(first.exitCode).toBe(0);
    expect(stepsWith(first.stdout, 'step-succeeded').sort()).toEqual(['gen', 'other', 'use']);
    const second = await run();
    expect(stepsWith(second.stdout, 'step-fresh').sort()).toEqual(['gen', 'other', 'use']);
    expect(stepsWith(second.stdout, 'step-started')).toEqual([]);
  });

  it('re-runs exactly the steps an input change affects, and why names the file', async () => {
    writeFileSync(p.path('src/sub/b.txt'), 'bb\n');
    const why = await p.kiwibox(['why', 'gen']);
    expect(why.stdout).toBe('gen would run:\n  file changed: src/sub/b.txt');
    const whyUse = await p.kiwibox(['why', 'use']);
    expect(whyUse.stdout).toContain('upstream step will run: gen');
    const plan = await p.kiwibox(['plan', '--json']);
    const planned = JSON.parse(plan.stdout) as { step: string; action: string }[];
    expect(Object.fromEntries(planned.map((s) => [s.step, s.action]))).toEqual({
      gen: 'run',
      use: 'run',
      other: 'fresh',
    });
    const again = await run();
    expect(stepsWith(again.stdout, 'step-started').sort()).toEqual(['gen', 'use']);
    expect(readFileSync(p.path('out/count.txt'), 'utf8').trim()).toBe('5');
  });

  it('re-runs a step whose output was deleted or modified, and why says so', async () => {
    rmSync(p.path('other.stamp'));
    expect((await p.kiwibox(['why', 'other'])).stdout).toContain('output missing: other.stamp');
    expect(stepsWith((await run('other')).stdout, 'step-started')).toEqual(['other']);
    writeFileSync(p.path('out/count.txt'), 'tampered\n');
    expect((await p.kiwibox(['why', 'use'])).stdout).toContain('output modified: out/count.txt');
    // A touch alone (same content) keeps the step fresh: the content hash settles the doubt.
    const later = new Date(Date.now() + 5000);
    utimesSync(p.path('other.stamp'), later, later);
    expect((await p.kiwibox(['why', 'other'])).stdout).toMatch(/^other is fresh/);
  });

  it('re-runs on a config change, naming the field, and a file added to a glob', async () => {
    const yaml = readFileSync(p.path('kiwibox.yaml'), 'utf8');
    writeFileSync(
      p.path('kiwibox.yaml'),
      yaml.replace('touch, other.stamp', 'touch, other.stamp, extra.stamp'),
    );
    expect((await p.kiwibox(['why', 'other'])).stdout).toContain(
      'config run: ["touch","other.stamp"] -> ["touch","other.stamp","extra.stamp"]',
    );
    p.write({ 'src/new.txt': 'n\n' });
    expect((await p.kiwibox(['why', 'gen'])).stdout).toContain('file added: src/new.txt');
  });

  it('--force runs fresh steps; a failed step is never fresh', async () => {
    await run();
    const forced = await p.kiwibox(['--reporter', 'ndjson', '--force', 'run', 'other']);
    expect(stepsWith(forced.stdout, 'step-started')).toEqual(['other']);
    p.write({ 'bad.yaml': 'version: 1\ntasks:\n  bad: {run: [sh, -c, "exit 3"]}\n' });
    for (let i = 0; i < 2; i++) {
      const bad = await p.kiwibox(['-f', 'bad.yaml', '--reporter', 'ndjson', 'run']);
      expect(bad.exitCode).toBe(1);
      expect(stepsWith(bad.stdout, 'step-failed')).toEqual(['bad']);
    }
    expect((await p.kiwibox(['-f', 'bad.yaml', 'why', 'bad'])).stdout).toContain(
      'last attempt did not succeed',
    );
  });
});
