/**
 * A boxed build as a Slurm job on the real one-node cluster: the node boots the test box (QEMU,
 * TCG) through kiwibox, the job asked for the box's vCPUs, memory and architecture, and the second
 * run is fresh without a job.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leftoverProcesses, writeTestBoxProject } from '../box/testbox.js';
import { stepsWith, TempProject } from '../support/project.js';
import { missingRealTools } from '../support/real-tools.js';
import { SLURM_TOOLS, startSlurm, type TestSlurm } from '../support/slurm.js';

const missing = missingRealTools({ tools: [...SLURM_TOOLS, 'qemu-system-x86_64', 'apt-get'], root: true });

describe.skipIf(missing !== undefined)('a boxed build as a Slurm job', () => {
  let slurm: TestSlurm;
  const p = new TempProject('kiwibox-slurm-boxed-');
  beforeAll(async () => {
    slurm = await startSlurm();
  });
  afterAll(async () => {
    p.remove();
    await slurm?.stop();
  });

  it('builds in the box on the node, asking for what the box needs, then is fresh', async () => {
    await writeTestBoxProject({
      project: p,
      descriptions: ['one'],
      head: ['slurm: {kinds: [build], time-limit: 20m}'],
      builds: ['  one: {box: tiny, description: one, target-dir: out/one, timeout: 600}'],
    });
    const before = slurm.finishedJobs().length;
    const first = await p.kiwibox(['--reporter', 'ndjson', 'run'], slurm.env);
    expect(first.exitCode, first.stdout.slice(-3000)).toBe(0);
    expect(stepsWith(first.stdout, 'step-succeeded').sort()).toEqual(['one', 'tiny']);
    expect(existsSync(p.path('out/one/kiwi.result.json'))).toBe(true);
    const jobs = slurm.finishedJobs().slice(before);
    expect(jobs).toHaveLength(1);
    const id = /JobId=(\d+)/.exec(jobs[0] as string)?.[1] as string;
    const shown = slurm.client(['scontrol', '--oneliner', 'show', 'job', id]);
    expect(shown).toContain('JobState=COMPLETED');
    expect(shown).toContain('Name=kiwibox:one@');
    expect(shown).toContain('NumCPUs=1');
    expect(shown).toContain('MinMemoryNode=768M');
    expect(shown).toContain('Features=x86_64');
    expect(await leftoverProcesses(p.dir)).toEqual([]);

    const second = await p.kiwibox(['--reporter', 'ndjson', 'run'], slurm.env);
    expect(stepsWith(second.stdout, 'step-fresh').sort()).toEqual(['one', 'tiny']);
    expect(slurm.finishedJobs()).toHaveLength(before + 1);
  }, 900_000);
});
