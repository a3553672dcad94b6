/**
 * Commands that only look (graph, plan, why, validate) write nothing: no `.kiwibox/` appears in a
 * fresh project, and an existing one is left byte for byte as it was.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TempProject } from '../support/project.js';

const YAML = [
  'version: 1',
  'tasks:',
  '  gen:',
  '    run: [sh, -c, "mkdir -p out && cat in/*.txt > out/all.txt"]',
  '    inputs: ["in/*.txt"]',
  '    outputs: [out/all.txt]',
  '  use:',
  '    needs: [gen]',
  '    run: [cat, out/all.txt]',
  '',
].join('\n');

const LOOKS = [
  ['graph'],
  ['graph', '--format', 'json'],
  ['plan'],
  ['plan', '--json'],
  ['why', 'use'],
  ['validate'],
];

/** Every file under `dir` with its size, mtime and content. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else out[relative(dir, p)] = `${st.size} ${st.mtimeMs} ${readFileSync(p, 'base64')}`;
    }
  };
  walk(dir);
  return out;
}

describe('read-only commands', () => {
  const projects: TempProject[] = [];
  const fresh = () => {
    const p = new TempProject().write({ 'kiwibox.yaml': YAML, 'in/a.txt': 'a\n' });
    projects.push(p);
    return p;
  };
  afterAll(() => {
    for (const p of projects) p.remove();
  });

  it.each(LOOKS.map((args) => [args.join(' '), args] as const))(
    '`%s` creates no .kiwibox in a fresh project',
    async (_, args) => {
      const p = fresh();
      const r = await p.kiwibox([...args]);
      expect(r.stderr).toBe('');
      expect(r.exitCode).toBe(0);
      expect(readdirSync(p.dir).sort()).toEqual(['in', 'kiwibox.yaml']);
    },
  );

  it('leave the state of a project that ran untouched', async () => {
    const p = fresh();
    expect((await p.kiwibox(['run'])).exitCode).toBe(0);
    p.write({ 'in/b.txt': 'b\n' });
    const before = snapshot(p.dir);
    for (const args of LOOKS) await p.kiwibox(args);
    expect(snapshot(p.dir)).toEqual(before);
  });
});
