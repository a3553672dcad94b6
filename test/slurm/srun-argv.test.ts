/**
 * The srun command line: kiwibox's own options, the `slurm:` settings, and what a boxed step asks
 * of its node (vCPUs, memory with QEMU's share, KVM, the box's architecture).
 */
import { describe, expect, it } from 'vitest';
import { analyse } from '../../src/config/analyse.js';
import type { Project } from '../../src/core/model.js';
import { memoryMiB, resourceArgs, srunArgv, srunLineShown } from '../../src/executors/slurm/srun-argv.js';

function project(yaml: string): Project {
  const analysed = analyse({ file: '/p/kiwibox.yaml', text: yaml, env: {}, skipFileChecks: true });
  if (!analysed.ok) throw new Error(analysed.error.map((f) => f.message).join('\n'));
  return analysed.value.project;
}

const BOXES = [
  'version: 1',
  'slurm: {partition: build, account: images, time-limit: 90m, srun-args: [--qos=high], arch-constraint: true}',
  'boxes:',
  '  kvmbox: {kernel: k, initrd: i, memory: 2G, cpus: 4, accel: kvm}',
  '  armbox: {kernel: k, initrd: i, memory: 512M, arch: aarch64, accel: tcg}',
  'builds:',
  '  fast: {box: kvmbox, description: d, target-dir: o1}',
  '  arm: {box: armbox, description: d, target-dir: o2}',
  '  host: {description: d, target-dir: o3}',
  'tasks:',
  '  t: {run: ["true"]}',
].join('\n');

describe('srun arguments', () => {
  const p = project(BOXES);
  const step = (id: string) => p.steps.get(id) as NonNullable<ReturnType<typeof p.steps.get>>;
  const settings = p.slurm as NonNullable<Project['slurm']>;

  it('asks for the box: vCPUs, memory plus QEMU, KVM when the box wants it, its arch as a feature', () => {
    expect(resourceArgs(step('fast'), p, settings)).toEqual([
      '--cpus-per-task=4',
      '--mem=2304M',
      '--gres=kvm:1',
      '--constraint=x86_64',
    ]);
    expect(resourceArgs(step('arm'), p, settings)).toEqual([
      '--cpus-per-task=1',
      '--mem=768M',
      '--constraint=aarch64',
    ]);
    expect(resourceArgs(step('host'), p, settings)).toEqual([]);
    expect(resourceArgs(step('t'), p, settings)).toEqual([]);
    expect(resourceArgs(step('arm'), p, { ...settings, archConstraint: false })).not.toContain(
      '--constraint=aarch64',
    );
  });

  it('names the job and passes the settings, then the node command', () => {
    const argv = srunArgv({
      step: step('t'),
      project: p,
      settings,
      jobName: 'kiwibox:t@abcd',
      command: ['node', 'kiwibox.js', '__slurm-step', 'req.json'],
    });
    expect(argv).toEqual([
      'srun',
      '--job-name=kiwibox:t@abcd',
      '--chdir=/p',
      '--nodes=1',
      '--ntasks=1',
      '--verbose',
      '--kill-on-bad-exit=1',
      '--export=ALL',
      '--partition=build',
      '--account=images',
      '--time=90',
      '--qos=high',
      'node',
      'kiwibox.js',
      '__slurm-step',
      'req.json',
    ]);
  });

  it('converts QEMU memory sizes and filters srun --verbose chatter', () => {
    expect([memoryMiB('8G'), memoryMiB('512M'), memoryMiB('1024'), memoryMiB('2048K')]).toEqual([
      8192, 512, 1024, 2,
    ]);
    expect(srunLineShown('srun: jobid 12: nodes(1):`vm`')).toBe(false);
    expect(srunLineShown('srun: error: vm: task 0: Exited with exit code 3')).toBe(true);
    expect(srunLineShown('srun: job 13 queued and waiting for resources')).toBe(true);
    expect(srunLineShown('a line of the step')).toBe(true);
  });

  it('selects steps by id and by kind; neither: every step', async () => {
    const { runsOnSlurm } = await import('../../src/config/slurm.js');
    const pick = (extra: string) => {
      const q = project(BOXES.replace(/^slurm: .*$/m, `slurm: {${extra}}`));
      return [...q.steps.values()].filter((s) => runsOnSlurm(q.slurm, s)).map((s) => s.id);
    };
    expect(pick('')).toEqual(['kvmbox', 'armbox', 'fast', 'arm', 'host', 't']);
    expect(pick('kinds: [task]')).toEqual(['t']);
    expect(pick('steps: [arm], kinds: [task]')).toEqual(['arm', 't']);
  });
  it('refuses srun-args kiwibox sets itself, --export included (the node needs the cache variables)', () => {
    for (const arg of ['--export=NONE', '--export', '--chdir=/x', '-J', '-Jname']) {
      const analysed = analyse({
        file: '/p/kiwibox.yaml',
        text: [
          'version: 1',
          `slurm: {partition: p, srun-args: ["${arg}"]}`,
          'tasks:',
          '  t: {run: ["true"]}',
        ].join('\n'),
        env: {},
        skipFileChecks: true,
      });
      const messages = analysed.ok ? [] : analysed.error.map((f) => `${f.location?.offset}: ${f.message}`);
      expect(messages.join('\n'), arg).toMatch(/^\d+: srun option -.* is set by kiwibox for each job/);
    }
  });
});
