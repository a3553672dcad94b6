/**
 * `graph`, `clean`, and the re-run reasons `plan` and `why` print, through bin/kiwibox.js as users
 * run them. Tasks only: no tools needed beyond sh.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TempProject } from '../support/project.js';

const p = new TempProject();
afterAll(() => p.remove());

const YAML = [
  'version: 1',
  'tasks:',
  '  a: {run: [sh, -c, "cat in.txt > a.txt"], inputs: [in.txt], outputs: [a.txt]}',
  '  b: {run: [sh, -c, "cat a.txt > b.txt"], needs: [a], inputs: [a.txt], outputs: [b.txt]}',
  '  c: {run: [sh, -c, "echo c > c.txt"], outputs: [c.txt]}',
].join('\n');

beforeAll(async () => {
  p.write({ 'kiwibox.yaml': YAML, 'in.txt': '1\n' });
  const first = await p.kiwibox(['--reporter', 'plain']);
  expect(first.exitCode).toBe(0);
});

describe('kiwibox graph', () => {
  it('prints dot, mermaid and json, each ending with a newline', async () => {
    const dot = await p.kiwibox(['graph', '--format', 'dot']);
    expect(dot.exitCode).toBe(0);
    // execa strips one final newline: read the raw bytes through `stripFinalNewline: false`.
    const raw = async (format: string) =>
      (await p.kiwibox(['graph', '--format', format], {}, undefined, { stripFinalNewline: false })).stdout;
    expect(await raw('dot')).toBe(
      [
        'digraph kiwibox {',
        '  rankdir=LR;',
        '  "a" [label="a\\n(task)"];',
        '  "b" [label="b\\n(task)"];',
        '  "c" [label="c\\n(task)"];',
        '  "a" -> "b";',
        '}',
        '',
      ].join('\n'),
    );
    expect(await raw('mermaid')).toBe(
      ['graph LR', '  n0["a (task)"]', '  n1["b (task)"]', '  n2["c (task)"]', '  n0 --> n1', ''].join('\n'),
    );
    const json = await raw('json');
    expect(json.endsWith('}\n')).toBe(true);
    expect(JSON.parse(json)).toEqual({
      steps: [
        { id: 'a', kind: 'task', deps: [] },
        { id: 'b', kind: 'task', deps: ['a'] },
        { id: 'c', kind: 'task', deps: [] },
      ],
    });
    // Read-only: a bad format is bad input.
    expect((await p.kiwibox(['graph', '--format', 'svg'])).exitCode).toBe(2);
  });
});

describe('re-run reasons in plan and why', () => {
  it('upstream-will-run and format-changed', async () => {
    // A record written by a kiwibox with another fingerprint format (its hash differs too).
    // Its stamp (the fast path) would not match either: without one, the record decides.
    rmSync(p.path('.kiwibox/steps/a/stamp.json'));
    const file = p.path('.kiwibox/steps/a/record.json');
    const record = JSON.parse(readFileSync(file, 'utf8'));
    writeFileSync(
      file,
      JSON.stringify({ ...record, hash: '0'.repeat(64), fingerprint: { ...record.fingerprint, format: 0 } }),
    );
    const plan = await p.kiwibox(['plan', 'b']);
    expect(plan.stdout).toBe(
      [
        'run   a [task]',
        '        fingerprint format of a different kiwibox version',
        'run   b [task]',
        '        upstream step will run: a',
        '2 of 2 steps would run',
      ].join('\n'),
    );
    expect(plan.exitCode).toBe(0);
    const json = JSON.parse((await p.kiwibox(['plan', '--json', 'b'])).stdout);
    expect(json.map((s: { reasons: unknown }) => s.reasons)).toEqual([
      [{ type: 'format-changed' }],
      [{ type: 'upstream-will-run', step: 'a' }],
    ]);
    const why = await p.kiwibox(['why', 'b']);
    expect(why.stdout).toBe('b would run:\n  upstream step will run: a');
    expect((await p.kiwibox(['--reporter', 'plain', 'b'])).exitCode).toBe(0);
    expect((await p.kiwibox(['why', 'b'])).stdout).toMatch(/^b is fresh: /);
  });
});

describe('kiwibox clean', () => {
  it('removes the named steps outputs, records and logs, and nothing else', async () => {
    expect(existsSync(p.path('c.txt'))).toBe(true);
    const cleaned = await p.kiwibox(['clean', 'b', 'c']);
    expect(cleaned.stdout).toBe('cleaned b\ncleaned c');
    expect(cleaned.exitCode).toBe(0);
    for (const gone of ['b.txt', 'c.txt', '.kiwibox/steps/b', '.kiwibox/steps/c', '.kiwibox/logs/c.log'])
      expect(existsSync(p.path(gone)), gone).toBe(false);
    for (const kept of ['a.txt', '.kiwibox/steps/a/record.json', '.kiwibox/logs/a.log'])
      expect(existsSync(p.path(kept)), kept).toBe(true);
    const plan = await p.kiwibox(['plan']);
    expect(plan.stdout).toMatch(/^fresh a \[task\]\nrun {3}b \[task\]\n {8}no successful run recorded\n/);
    expect((await p.kiwibox(['clean', 'nosuch'])).exitCode).toBe(2);
  });
});
