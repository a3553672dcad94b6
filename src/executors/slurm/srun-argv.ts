/**
 * The srun command line for one step: kiwibox's job name and directory, the `slurm:` settings, and
 * what a boxed step needs from its node (the box's vCPUs and memory, KVM, the box's architecture).
 */
import type { BoxStep, Project, SlurmSettings, Step } from '../../core/model.js';

/** QEMU's own memory beside the guest's, asked for on top of the box's memory. */
const QEMU_OVERHEAD_MB = 256;

/** `8G`, `512M`, `1024` (QEMU: MiB) → MiB. */
export function memoryMiB(memory: string): number {
  const n = Number.parseInt(memory, 10);
  const unit = /[KMGT]$/.exec(memory)?.[0] ?? 'M';
  const factor = { K: 1 / 1024, M: 1, G: 1024, T: 1024 * 1024 }[unit] ?? 1;
  return Math.ceil(n * factor);
}

/** What the step needs from a node, as srun options. */
export function resourceArgs(step: Step, project: Project, settings: SlurmSettings): string[] {
  let vm: { cpus: number; memory: string; accel: string; arch?: string } | undefined;
  if ((step.kind === 'build' || step.kind === 'stack') && step.box !== undefined) {
    const box = project.steps.get(step.box) as BoxStep | undefined;
    if (box?.kind === 'box') vm = box;
  } else if (step.kind === 'boot-test') vm = step;
  if (!vm) return [];
  const args = [`--cpus-per-task=${vm.cpus}`, `--mem=${memoryMiB(vm.memory) + QEMU_OVERHEAD_MB}M`];
  if (vm.accel === 'kvm') args.push('--gres=kvm:1');
  if (vm.arch !== undefined && settings.archConstraint) args.push(`--constraint=${vm.arch}`);
  return args;
}

export interface SrunOptions {
  readonly step: Step;
  readonly project: Project;
  readonly settings: SlurmSettings;
  readonly jobName: string;
  /** The project's directory on the node (default: the same as here). */
  readonly chdir?: string;
  /** The node's command: node, kiwibox, the internal subcommand and the request file. */
  readonly command: readonly string[];
}

export function srunArgv(options: SrunOptions): [string, ...string[]] {
  const { settings } = options;
  const minutes =
    settings.timeLimit === undefined ? undefined : Math.max(1, Math.ceil(settings.timeLimit / 60));
  return [
    'srun',
    `--job-name=${options.jobName}`,
    `--chdir=${options.chdir ?? options.project.dir}`,
    '--nodes=1',
    '--ntasks=1',
    // `srun: jobid N: …` tells the job id as soon as it is allocated (the rest is filtered out).
    '--verbose',
    '--kill-on-bad-exit=1',
    '--export=ALL',
    ...(settings.partition === undefined ? [] : [`--partition=${settings.partition}`]),
    ...(settings.account === undefined ? [] : [`--account=${settings.account}`]),
    ...(minutes === undefined ? [] : [`--time=${minutes}`]),
    ...resourceArgs(options.step, options.project, settings),
    ...settings.srunArgs,
    ...options.command,
  ];
}

/** srun's stderr lines worth showing in the step's log: errors and queueing, not --verbose chatter. */
export function srunLineShown(line: string): boolean {
  if (!line.startsWith('srun: ')) return true;
  return /^srun: (error:|job \d+ (queued|has been allocated)|Force Terminated|Job step aborted)/.test(line);
}

/** The job id in an srun line (`srun: jobid 12: nodes…`, `srun: job 12 queued …`). */
export function jobIdOf(line: string): string | undefined {
  return /^srun: job(?:id)? (\d+)[: ]/.exec(line)?.[1];
}
