/**
 * What `plan`, `why` and `watch` say about Slurm on a real one-node cluster: a stale step that would
 * be a Slurm job says so (plan stays read-only and asks the controller nothing), and `watch`, like
 * `run`, refuses to start when the controller does not answer.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { childrenNamed, waitUntil } from '../support/procs.js';
import { BIN, type TempProject } from '../support/project.js';
import { missingRealTools } from '../support/real-tools.js';
import { SLURM_TOOLS, slurmFixture, unreachableConf } from '../support/slurm.js';

const missing = missingRealTools({ tools: SLURM_TOOLS, root: true });

const PIPELINE = [
  'version: 1',
  'slurm: {partition: main, steps: [remote]}',
  'tasks:',
  '  remote: {run: [sh, -c, "echo r > remote.txt"], outputs: [remote.txt]}',
  '  here: {run: [sh, -c, "echo h > here.txt"], outputs: [here.txt]}',
].join('\n');

interface PlanEntry {
  step: string;
  action: string;
  slurm?: { partition?: string };
}

describe.skipIf(missing !== undefined)('plan, why and watch with Slurm', () => {
  const fixture = slurmFixture('kiwibox-slurm-plan-');
  const { project } = fixture;
  const deadConf = (p: TempProject) => unreachableConf(fixture.slurm, p.dir);

  it('plan and why say which stale step would run on Slurm, without asking the controller', async () => {
    const { slurm } = fixture;
    const p = project({ 'kiwibox.yaml': PIPELINE });
    // A dead controller changes nothing: plan and why contact no one.
    const dead = deadConf(p);
    const plain = await p.kiwibox(['plan'], dead);
    expect(plain.exitCode).toBe(0);
    const lines = plain.stdout.split('\n');
    const remoteAt = lines.findIndex((l) => l.startsWith('run   remote'));
    const hereAt = lines.findIndex((l) => l.startsWith('run   here'));
    expect(lines.slice(remoteAt, hereAt).join('\n')).toContain('would run on Slurm (partition main)');
    expect(lines.slice(hereAt, -1).join('\n')).not.toContain('Slurm');
    expect(lines.at(-1)).toBe('2 of 2 steps would run (1 on Slurm)');
    const json = await p.kiwibox(['plan', '--json'], dead);
    expect(json.exitCode).toBe(0);
    const entries = JSON.parse(json.stdout) as PlanEntry[];
    expect(entries.find((e) => e.step === 'remote')?.slurm).toEqual({ partition: 'main' });
    expect(entries.find((e) => e.step === 'here')).not.toHaveProperty('slurm');
    const why = await p.kiwibox(['why', 'remote'], dead);
    expect(why.exitCode).toBe(0);
    expect(why.stdout).toContain('would run on Slurm (partition main)');
    expect((await p.kiwibox(['why', 'here'], dead)).stdout).not.toContain('Slurm');

    // Once run, the step is fresh: nothing would go to Slurm.
    expect((await p.kiwibox(['--reporter', 'plain'], slurm.env)).exitCode).toBe(0);
    const fresh = await p.kiwibox(['plan', '--json'], dead);
    const after = JSON.parse(fresh.stdout) as PlanEntry[];
    expect(after.map((e) => [e.action, e.slurm])).toEqual([
      ['fresh', undefined],
      ['fresh', undefined],
    ]);
    expect((await p.kiwibox(['plan'], dead)).stdout).not.toContain('Slurm');
  });

  it('watch reports a controller that does not answer before anything runs (exit 1)', async () => {
    const p = project({ 'kiwibox.yaml': PIPELINE });
    // Bounded: a watch that does not check would run the local step and then wait for changes.
    const ran = await execa(process.execPath, [BIN, '--reporter', 'plain', 'watch'], {
      cwd: p.dir,
      reject: false,
      stdin: 'ignore',
      env: { NO_COLOR: '1', CI: 'true', ...deadConf(p) },
      timeout: 30_000,
    });
    expect(ran.exitCode).toBe(1);
    expect(ran.stderr).toContain('error[slurm-unreachable]');
    expect(existsSync(p.path('remote.txt'))).toBe(false);
    expect(existsSync(p.path('here.txt'))).toBe(false);
  }, 60_000);

  // A controller that accepts connections and never answers: `scontrol ping` waits for it.
  const held: Socket[] = [];
  let silent: Server | undefined;
  afterAll(() => {
    for (const socket of held) socket.destroy();
    silent?.close();
  });
  async function silentConf(p: TempProject): Promise<{ SLURM_CONF: string }> {
    silent ??= await new Promise<Server>((resolve) => {
      const server = createServer((socket) => held.push(socket));
      server.listen(0, '127.0.0.1', () => resolve(server));
    });
    const port = (silent.address() as { port: number }).port;
    const conf = readFileSync(fixture.slurm.env.SLURM_CONF, 'utf8').replace(
      /^SlurmctldPort=\d+$/m,
      `SlurmctldPort=${port}`,
    );
    writeFileSync(join(p.dir, 'silent.conf'), conf);
    return { SLURM_CONF: join(p.dir, 'silent.conf') };
  }

  for (const command of ['run', 'watch']) {
    it(`Ctrl-C while ${command} waits for the controller ends its scontrol ping too (exit 130)`, async () => {
      const p = project({ 'kiwibox.yaml': PIPELINE });
      const child = spawn(process.execPath, [BIN, '--reporter', 'plain', command], {
        cwd: p.dir,
        env: { ...process.env, NO_COLOR: '1', CI: 'true', ...(await silentConf(p)) },
        stdio: 'ignore',
      });
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      const pings = await waitUntil(
        () => childrenNamed(child.pid as number, 'scontrol'),
        (pids) => pids.length > 0,
        20_000,
      );
      expect(pings.length).toBeGreaterThan(0);
      child.kill('SIGINT');
      expect(await exited).toBe(130);
      const alive = (pid: number) => existsSync(`/proc/${pid}`);
      const left = await waitUntil(
        () => pings.filter(alive),
        (pids) => pids.length === 0,
        5_000,
      );
      for (const pid of left) process.kill(pid, 'SIGKILL');
      expect(left).toEqual([]);
      expect(existsSync(p.path('here.txt'))).toBe(false);
    }, 60_000);
  }
});
