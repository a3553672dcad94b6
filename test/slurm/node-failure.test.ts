/**
 * A node that dies mid-step (slurmd, slurmstepd and the step's processes SIGKILLed): Slurm marks it
 * DOWN after SlurmdTimeout (~30 s here) and the job NODE_FAIL; kiwibox submits the step again
 * (`slurm.retries`), which runs once the node is back. Slow (~45 s), so a file of its own.
 */
import { existsSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { events, TempProject } from '../support/project.js';
import { missingRealTools } from '../support/real-tools.js';
import { SLURM_TOOLS, startSlurm, type TestSlurm } from '../support/slurm.js';

const missing = missingRealTools({ tools: SLURM_TOOLS, root: true });

describe.skipIf(missing !== undefined)('a Slurm node that dies mid-step', () => {
  let slurm: TestSlurm;
  const p = new TempProject('kiwibox-slurm-node-');
  beforeAll(async () => {
    slurm = await startSlurm();
  });
  afterAll(async () => {
    p.remove();
    await slurm?.stop();
  });

  it('fails the job with NODE_FAIL, and kiwibox runs the step again (retries: 1)', async () => {
    p.write({
      'kiwibox.yaml': [
        'version: 1',
        'slurm: {retries: 1}',
        'tasks:',
        // The first attempt waits to be killed; the second finds the marker and finishes at once.
        '  t: {run: [sh, -c, "if [ -e attempt ]; then echo second > out.txt; else touch attempt; sleep 300; fi"], outputs: [out.txt]}',
      ].join('\n'),
    });
    const running = p.kiwibox(['--reporter', 'ndjson'], slurm.env);
    // Killed once the step runs on the node (under load, starting Node there takes a while).
    for (let i = 0; i < 600 && !existsSync(p.path('attempt')); i++) await sleep(100);
    expect(existsSync(p.path('attempt'))).toBe(true);
    const queued = slurm.queued();
    expect(queued).toHaveLength(1);
    slurm.killNode();
    for (let i = 0; i < 90 && !slurm.nodeState().startsWith('down'); i++) await sleep(1000);
    expect(slurm.nodeState()).toMatch(/^down/);
    slurm.startNode();
    const ran = await running;
    expect(ran.exitCode, ran.stdout.slice(-3000)).toBe(0);
    expect(readFileSync(p.path('out.txt'), 'utf8')).toBe('second\n');
    const first = queued[0] as string;
    expect(slurm.client(['scontrol', '--oneliner', 'show', 'job', first])).toContain('JobState=NODE_FAIL');
    const lines = events(ran.stdout)
      .filter((e) => e.type === 'step-output')
      .map((e) => String(e.line));
    expect(
      lines.some((l) => l.includes(`the node of Slurm job ${first} failed`) && l.includes('retry 1 of 1')),
    ).toBe(true);
    expect(slurm.finishedJobs().filter((l) => l.includes('Name=kiwibox:t@'))).toHaveLength(2);
  }, 300_000);
});
