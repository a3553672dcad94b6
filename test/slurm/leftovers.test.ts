/**
 * Nothing is left behind on a real one-node cluster when things end hard: a second Ctrl-C still
 * cancels kiwibox's jobs, and a node-side step killed with SIGKILL leaves no scratch dir once the
 * next job has run.
 */
import { spawn } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { processStartTime } from '../../src/core/fs.js';
import { childrenNamed, waitUntil } from '../support/procs.js';
import { BIN } from '../support/project.js';
import { missingRealTools } from '../support/real-tools.js';
import { SLURM_TOOLS, slurmFixture } from '../support/slurm.js';

const missing = missingRealTools({ tools: SLURM_TOOLS, root: true });

/** Pids of the node-side kiwibox processes (`node BIN __slurm-step REQUEST`) of the project in `dir`. */
function nodeSteps(dir: string): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((name) => {
      try {
        const argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
        return argv[0] === process.execPath && argv[2] === '__slurm-step' && argv[3]?.startsWith(dir);
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe.skipIf(missing !== undefined)('no leftovers from Slurm jobs', () => {
  const fixture = slurmFixture('kiwibox-slurm-leftovers-');
  const { project } = fixture;

  // A test that failed must not leave its jobs to hold the node's CPUs for the next one.
  afterEach(async () => {
    const { slurm } = fixture;
    if (!slurm.queued().length) return;
    slurm.client(['scancel', '--user=root']);
    await waitUntil(
      () => slurm.queued(),
      (ids) => ids.length === 0,
      15_000,
    );
  });
  it('a second Ctrl-C still cancels every job: squeue is empty afterwards', async () => {
    const { slurm } = fixture;
    const p = project({
      'kiwibox.yaml': 'version: 1\nslurm: {}\ntasks:\n  a: {run: [sleep, "60"]}\n  b: {run: [sleep, "60"]}\n',
    });
    const child = spawn(process.execPath, [BIN, '--reporter', 'ndjson'], {
      cwd: p.dir,
      env: { ...process.env, ...slurm.env, CI: 'true' },
      stdio: ['ignore', 'ignore', 'ignore'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const running = () =>
      slurm.client(['squeue', '-h', '-t', 'RUNNING', '-o', '%i']).split('\n').filter(Boolean);
    const jobs = await waitUntil(running, (ids) => ids.length === 2, 20_000);
    expect(jobs).toHaveLength(2);
    // A cluster slow to answer: the first Ctrl-C's scancel has sent nothing yet when the second comes.
    const resume = slurm.pauseMunge();
    try {
      child.kill('SIGINT');
      // The first Ctrl-C's scancels are stuck; kill them, so only the second Ctrl-C's can end the jobs.
      const first = await waitUntil(
        () => childrenNamed(child.pid as number, 'scancel'),
        (pids) => pids.length > 0,
        5_000,
      );
      expect(first.length).toBeGreaterThan(0);
      for (const pid of first) process.kill(pid, 'SIGKILL');
      child.kill('SIGINT');
      await sleep(50);
    } finally {
      resume();
    }
    expect(await exited).toBe(130);
    // Slurm may take a moment to end a cancelled job (COMPLETING); a job left running stays for 60 s.
    expect(
      await waitUntil(
        () => slurm.queued(),
        (ids) => ids.length === 0,
        15_000,
      ),
    ).toEqual([]);
    for (const id of jobs) {
      expect(slurm.client(['scontrol', '--oneliner', 'show', 'job', id])).toContain('JobState=CANCELLED');
    }
  }, 60_000);

  it('a node-side step killed with SIGKILL leaves no scratch dir after the next run', async () => {
    const { slurm } = fixture;
    // The jobs get this TMPDIR (srun exports the environment): only this test's scratch dirs are in it.
    const tmp = mkdtempSync(join(tmpdir(), 'kiwibox-slurm-tmp-'));
    fixture.onCleanup(() => rmSync(tmp, { recursive: true, force: true }));
    const scratch = () => readdirSync(tmp).filter((name) => name.startsWith('kiwibox-slurm-step-'));
    // The kill orphans the step's own `sleep`; short, so it does not outlive the test by much.
    const p = project({ 'kiwibox.yaml': 'version: 1\nslurm: {}\ntasks:\n  t: {run: [sleep, "20"]}\n' });
    const env = { ...slurm.env, TMPDIR: tmp };
    const first = p.kiwibox(['--reporter', 'ndjson'], env);
    expect(await waitUntil(scratch, (dirs) => dirs.length === 1, 20_000)).toHaveLength(1);
    // Not scancel: Slurm turns `scancel --signal=KILL` into its usual SIGTERM first.
    const [pid, ...more] = nodeSteps(p.dir);
    expect(more).toEqual([]);
    process.kill(pid as number, 'SIGKILL');
    expect((await first).exitCode).toBe(1);
    // The kill gave the node-side kiwibox no chance to remove its dir.
    expect(scratch()).toHaveLength(1);

    // The dir of a step whose kiwibox still runs (this test process stands in for it) is kept; one
    // whose pid now belongs to another process (a different start time) is not.
    const ns = /\[(\d+)\]/.exec(readlinkSync('/proc/self/ns/pid'))?.[1];
    const me = `kiwibox-slurm-step-${hostname()}-${ns}-${process.pid}`;
    const alive = `${me}-${processStartTime(process.pid)}-Alive0`;
    mkdirSync(join(tmp, alive));
    mkdirSync(join(tmp, `${me}-1-Reused`));

    writeFileSync(p.path('kiwibox.yaml'), 'version: 1\nslurm: {}\ntasks:\n  t: {run: [sh, -c, "exit 0"]}\n');
    const next = await p.kiwibox(['--reporter', 'ndjson'], env);
    expect(next.exitCode).toBe(0);
    expect(scratch()).toEqual([alive]);
  }, 60_000);
});
