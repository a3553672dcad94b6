/**
 * The bundled example, built for real: host kiwi-ng builds a Debian bookworm tarball, a task checks
 * it, the second run is fresh, and after an edit in the description `why` names the file.
 */
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { events, ROOT, stepsWith, TempProject } from '../support/project.js';
import { debianMirror, missingRealTools } from '../support/real-tools.js';

const skip = missingRealTools({ tools: ['kiwi-ng', 'debootstrap'], root: true });

describe.skipIf(skip !== undefined)('examples/debian-tbz with real kiwi-ng', () => {
  const p = new TempProject('kiwibox-example-');
  afterAll(() => p.remove());
  cpSync(join(ROOT, 'examples/debian-tbz'), p.dir, {
    recursive: true,
    filter: (src) => !src.includes('/out') && !src.includes('.kiwibox'),
  });
  const env = { DEBIAN_MIRROR: debianMirror(ROOT) };

  it('builds the image and checks the tarball', async () => {
    const run = await p.kiwibox(['--reporter', 'ndjson', 'run'], env);
    const failed = events(run.stdout).filter((e) => e.type === 'step-failed');
    const tail = failed.map((e) =>
      existsSync(String(e.log)) ? readFileSync(String(e.log), 'utf8').slice(-3000) : '',
    );
    expect(failed, `${JSON.stringify(failed, null, 2)}\n${tail.join('\n')}`).toEqual([]);
    expect(run.exitCode).toBe(0);
    expect(stepsWith(run.stdout, 'step-succeeded')).toEqual(['base', 'check']);
    expect(readFileSync(p.path('out/check.txt'), 'utf8')).toMatch(/\.tar\.xz: \d+ entries, Debian 12\./);
    const record = JSON.parse(readFileSync(p.path('.kiwibox/steps/base/record.json'), 'utf8'));
    const outputs = record.outputs.files.map((f: { path: string }) => f.path);
    expect(outputs).toContain('out/base/kiwi.result.json');
    expect(
      outputs.some((f: string) => /out\/base\/kiwibox-debian-tbz\.x86_64-1\.0\.0\.tar\.xz$/.test(f)),
    ).toBe(true);
  }, 1_200_000);

  it('finds everything fresh on the second run', async () => {
    const run = await p.kiwibox(['--reporter', 'ndjson', 'run'], env);
    expect(run.exitCode).toBe(0);
    expect(stepsWith(run.stdout, 'step-fresh')).toEqual(['base', 'check']);
    expect(stepsWith(run.stdout, 'step-started')).toEqual([]);
  });

  it('names an edited description file in why and plan', async () => {
    writeFileSync(p.path('description/root/etc/motd'), 'Edited, still built by kiwibox.\n');
    const why = await p.kiwibox(['why', 'base'], env);
    expect(why.stdout).toBe('base would run:\n  file changed: description/root/etc/motd');
    const plan = await p.kiwibox(['plan'], env);
    expect(plan.stdout).toContain('run   check [task]\n        upstream step will run: base');
  });
});
