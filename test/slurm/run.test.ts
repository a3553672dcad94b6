/**
 * Steps as Slurm jobs on a real one-node cluster (test/support/slurm.ts): the same records as a
 * local run, a second run fresh without a job, and the faults: scancel, a job Slurm refuses, a
 * controller that does not answer, bad configuration, Ctrl-C.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, events, TempProject } from '../support/project.js';
import { missingRealTools } from '../support/real-tools.js';
import { SLURM_TOOLS, startSlurm, type TestSlurm, unreachableConf } from '../support/slurm.js';

const missing = missingRealTools({ tools: SLURM_TOOLS, root: true });

const TASKS = [
  'tasks:',
  '  gen: {run: [sh, -c, "echo generated > gen.txt; echo to-stdout; echo to-stderr >&2"], outputs: [gen.txt]}',
  '  up: {run: [sh, -c, "tr a-z A-Z < gen.txt > up.txt"], needs: [gen], inputs: [gen.txt], outputs: [up.txt]}',
  '  side: {run: [sh, -c, "mkdir -p out && seq 1 100 > out/seq.txt"], outputs: ["out/*.txt"]}',
].join('\n');

interface RecordFile {
  hash: string;
  outputs: { files: { path: string; size: number; sha256: string }[]; data: Record<string, string> };
}
const record = (p: TempProject, id: string) =>
  JSON.parse(readFileSync(p.path(`.kiwibox/steps/${id}/record.json`), 'utf8')) as RecordFile;
const failuresOf = (stdout: string, step: string) =>
  events(stdout).find((e) => e.type === 'step-failed' && e.step === step)?.failures as
    | { reason: string; message: string }[]
    | undefined;

describe.skipIf(missing !== undefined)('steps as Slurm jobs', () => {
  let slurm: TestSlurm;
  const projects: TempProject[] = [];
  const project = (files: Record<string, string>) => {
    const p = new TempProject('kiwibox-slurm-test-').write(files);
    projects.push(p);
    return p;
  };
  const kiwibox = (p: TempProject, args: string[]) => p.kiwibox(['--reporter', 'ndjson', ...args], slurm.env);

  beforeAll(async () => {
    slurm = await startSlurm();
  });
  afterAll(async () => {
    for (const p of projects) p.remove();
    await slurm?.stop();
  });

  it('runs a pipeline of tasks as jobs: same records as locally, then fresh without a job', async () => {
    const local = project({ 'kiwibox.yaml': `version: 1\n${TASKS}\n` });
    const remote = project({
      'kiwibox.yaml': `version: 1\nslurm: {partition: main, time-limit: 5m}\n${TASKS}\n`,
    });
    expect((await kiwibox(local, [])).exitCode).toBe(0);
    const before = slurm.finishedJobs().length;
    const ran = await kiwibox(remote, []);
    expect(ran.stderr).toBe('');
    expect(ran.exitCode).toBe(0);
    const jobs = slurm.finishedJobs().slice(before);
    expect(jobs).toHaveLength(3);
    for (const id of ['gen', 'up', 'side']) {
      expect(jobs.some((line) => line.includes(`Name=kiwibox:${id}@`))).toBe(true);
      // The fingerprint and every output (path, size, digest) are the same as the local run's.
      expect(record(remote, id).hash).toBe(record(local, id).hash);
      const strip = (r: RecordFile) =>
        r.outputs.files.map(({ path, size, sha256 }) => ({ path, size, sha256 }));
      expect(strip(record(remote, id))).toEqual(strip(record(local, id)));
    }
    expect(readFileSync(remote.path('up.txt'), 'utf8')).toBe('GENERATED\n');
    // The node's output streamed into the step's events and log, srun's chatter filtered out.
    const lines = events(ran.stdout).filter((e) => e.type === 'step-output' && e.step === 'gen');
    expect(lines.map((e) => e.line)).toEqual(expect.arrayContaining(['to-stdout', 'to-stderr']));
    const log = readFileSync(remote.path('.kiwibox/logs/gen.log'), 'utf8');
    expect(log).toContain('to-stdout');
    expect(log).not.toContain('srun: ');

    const again = await kiwibox(remote, []);
    expect(again.exitCode).toBe(0);
    expect(events(again.stdout).filter((e) => e.type === 'step-fresh')).toHaveLength(3);
    expect(slurm.finishedJobs()).toHaveLength(before + 3);
    expect(slurm.queued()).toEqual([]);
  });

  it('runs Slurm jobs beyond -j: Slurm steps take no local slot', async () => {
    const p = project({
      'kiwibox.yaml': [
        'version: 1',
        'slurm: {}',
        'tasks:',
        '  one: {run: [sh, -c, "sleep 2"]}',
        '  two: {run: [sh, -c, "sleep 2"]}',
      ].join('\n'),
    });
    const ran = await kiwibox(p, ['-j', '1']);
    expect(ran.exitCode).toBe(0);
    const types = events(ran.stdout)
      .filter((e) => e.type === 'step-started' || e.type === 'step-succeeded')
      .map((e) => e.type);
    // Both started before either finished.
    expect(types).toEqual(['step-started', 'step-started', 'step-succeeded', 'step-succeeded']);
    // From the analysis cache, the project still sends its steps to Slurm.
    const before = slurm.finishedJobs().length;
    expect((await kiwibox(p, ['-j', '1', '--force'])).exitCode).toBe(0);
    expect(slurm.finishedJobs()).toHaveLength(before + 2);
  });

  it('fails a step whose job is cancelled with scancel, with the cancelled reason', async () => {
    const p = project({ 'kiwibox.yaml': 'version: 1\nslurm: {}\ntasks:\n  slow: {run: [sleep, "60"]}\n' });
    const running = kiwibox(p, []);
    let queued: string[] = [];
    for (let i = 0; i < 100 && !queued.length; i++) {
      await sleep(100);
      queued = slurm.queued();
    }
    expect(queued).toHaveLength(1);
    slurm.client(['scancel', queued[0] as string]);
    const ran = await running;
    expect(ran.exitCode).toBe(1);
    expect(failuresOf(ran.stdout, 'slow')?.map((f) => f.reason)).toEqual(['slurm-cancelled']);
    expect(existsSync(p.path('.kiwibox/steps/slow/record.json'))).toBe(false);
  });

  it("fails a step that Slurm refuses at submit, with Slurm's reason", async () => {
    const p = project({
      'kiwibox.yaml': [
        'version: 1',
        'slurm: {partition: nosuch}',
        'tasks:',
        '  t: {run: [sh, -c, "echo should-not-run > ran.txt"]}',
      ].join('\n'),
    });
    const partition = await kiwibox(p, []);
    expect(partition.exitCode).toBe(1);
    const [failure] = failuresOf(partition.stdout, 't') ?? [];
    expect(failure?.reason).toBe('slurm-rejected');
    expect(failure?.message).toContain('Invalid partition name specified');

    writeFileSync(
      p.path('kiwibox.yaml'),
      'version: 1\nslurm: {srun-args: [--constraint=aarch64]}\ntasks:\n  t: {run: [sh, -c, "echo x > ran.txt"]}\n',
    );
    const feature = await kiwibox(p, []);
    expect(feature.exitCode).toBe(1);
    const [refused] = failuresOf(feature.stdout, 't') ?? [];
    expect(refused?.reason).toBe('slurm-rejected');
    expect(refused?.message).toContain('Invalid feature specification');
  });

  it('reports a controller that does not answer before anything runs (exit 1)', async () => {
    const p = project({
      'kiwibox.yaml': [
        'version: 1',
        'slurm: {kinds: [task]}',
        'tasks:',
        '  t: {run: [sh, -c, "echo ran > ran.txt"], outputs: [ran.txt]}',
      ].join('\n'),
    });
    const ran = await p.kiwibox(['--reporter', 'plain'], unreachableConf(slurm, p.dir));
    expect(ran.exitCode).toBe(1);
    expect(ran.stderr).toContain('error[slurm-unreachable]');
    expect(ran.stdout).not.toContain('run   t');
    expect(existsSync(p.path('ran.txt'))).toBe(false);
  });

  it('rejects bad slurm: settings with file:line:col and exit 2', async () => {
    const p = project({
      'kiwibox.yaml': [
        'version: 1',
        'slurm:',
        '  shared-filesystem: false',
        '  steps: [t, nosuch]',
        '  srun-args: [--job-name=x]',
        '  partition: "two words"',
        'tasks:',
        '  t: {run: [sh, -c, "echo ran > ran.txt"]}',
      ].join('\n'),
    });
    const ran = await p.kiwibox(['--reporter', 'plain'], slurm.env);
    expect(ran.exitCode).toBe(2);
    expect(ran.stderr).toContain('kiwibox.yaml:6:14');
    const fixed = readFileSync(p.path('kiwibox.yaml'), 'utf8').replace('  partition: "two words"\n', '');
    writeFileSync(p.path('kiwibox.yaml'), fixed);
    const rest = await p.kiwibox(['--reporter', 'plain'], slurm.env);
    expect(rest.exitCode).toBe(2);
    expect(rest.stderr).toMatch(/kiwibox\.yaml:3:22: error\[invalid-value\].*needs the team cache/);
    expect(rest.stderr).toMatch(/kiwibox\.yaml:4:14: error\[unknown-step\]/);
    expect(rest.stderr).toMatch(/kiwibox\.yaml:5:15: error\[invalid-value\].*--job-name/);
    expect(rest.stderr).not.toContain('    at ');
    expect(existsSync(p.path('ran.txt'))).toBe(false);
  });

  it('cancels every submitted job on Ctrl-C, running or pending: squeue is empty afterwards', async () => {
    // One task more than the node has CPUs: the last job waits in the queue.
    const count = availableParallelism() + 1;
    const tasks = Array.from({ length: count }, (_, i) => `  t${i}: {run: [sleep, "60"]}`);
    const p = project({ 'kiwibox.yaml': ['version: 1', 'slurm: {}', 'tasks:', ...tasks].join('\n') });
    const child = spawn(process.execPath, [BIN, '--reporter', 'ndjson'], {
      cwd: p.dir,
      env: { ...process.env, ...slurm.env, CI: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk) => {
      stdout += String(chunk);
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let queued: string[] = [];
    for (let i = 0; i < 200 && queued.length < count; i++) {
      await sleep(100);
      queued = slurm.queued();
    }
    expect(queued).toHaveLength(count);
    expect(slurm.client(['squeue', '-h', '-o', '%T']).split('\n')).toContain('PENDING');
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(slurm.queued()).toEqual([]);
    for (const id of queued) {
      expect(slurm.client(['scontrol', '--oneliner', 'show', 'job', id])).toContain('JobState=CANCELLED');
    }
    expect(failuresOf(stdout, 't0')?.map((f) => f.reason)).toEqual(['cancelled']);
    expect(failuresOf(stdout, `t${count - 1}`)?.map((f) => f.reason)).toEqual(['cancelled']);
  });
});
