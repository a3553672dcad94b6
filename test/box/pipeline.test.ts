/**
 * A pipeline with boxed builds through the CLI: a local test box and two builds on it run in
 * parallel, the second run is fresh without booting anything, an edit re-runs only its build.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { stepsWith, TempProject } from '../support/project.js';
import { missingRealTools } from '../support/real-tools.js';
import { leftoverProcesses, writeTestBoxProject } from './testbox.js';

const skip = missingRealTools({ tools: ['qemu-system-x86_64', 'apt-get'], root: true });

describe.skipIf(skip !== undefined)('a kiwibox.yaml with boxed builds', () => {
  const p = new TempProject('kiwibox-boxed-pipeline-');
  afterAll(() => p.remove());

  it('builds twice in parallel in the box, then is fresh without booting, then re-runs one build', async () => {
    await writeTestBoxProject({
      project: p,
      descriptions: ['one', 'two'],
      builds: [
        '  one: {box: tiny, description: one, target-dir: out/one, timeout: 600}',
        '  two: {box: tiny, description: two, target-dir: out/two, sharing: virtiofs, timeout: 600}',
      ],
    });
    const first = await p.kiwibox(['-j', '2', '--reporter', 'ndjson', 'run']);
    expect(first.exitCode, first.stdout.slice(-3000)).toBe(0);
    expect(stepsWith(first.stdout, 'step-succeeded').sort()).toEqual(['one', 'tiny', 'two']);
    expect(existsSync(p.path('out/one/kiwi.result.json'))).toBe(true);
    expect(existsSync(p.path('out/two/kiwi.result.json'))).toBe(true);
    expect(await leftoverProcesses(p.dir)).toEqual([]);

    const second = await p.kiwibox(['--reporter', 'ndjson', 'run']);
    expect(stepsWith(second.stdout, 'step-fresh').sort()).toEqual(['one', 'tiny', 'two']);
    expect(stepsWith(second.stdout, 'step-started')).toEqual([]);

    writeFileSync(p.path('two/extra.txt'), 'changed\n');
    expect((await p.kiwibox(['why', 'two'])).stdout).toBe('two would run:\n  file added: two/extra.txt');
    const third = await p.kiwibox(['--reporter', 'ndjson', 'run']);
    expect(third.exitCode).toBe(0);
    expect(stepsWith(third.stdout, 'step-started')).toEqual(['two']);
  }, 900_000);
});
