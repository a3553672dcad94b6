/**
 * `slurm:` (schema-valid) → SlurmSettings, with the checks the schema cannot make: the steps it
 * names exist, srun options kiwibox sets itself are not given again, and the shared-filesystem
 * mode (the only one so far) is not switched off.
 */
import type { Document } from 'yaml';
import type { SlurmSettings, Step, StepKind } from '../core/model.js';
import type { Failure, Location } from '../core/result.js';
import { parseDuration, withoutExtensions } from './normalize.js';
import { locate } from './yaml-ast.js';

type Raw = Record<string, unknown>;

/** srun options kiwibox sets per job: the job's name and directory, and no terminal. */
const OWNED = ['--job-name', '-J', '--chdir', '-D', '--pty', '--ntasks', '-n', '--nodes', '-N'];

const strings = (value: unknown): string[] => (Array.isArray(value) ? value.map(String) : []);

export function slurmSettings(options: {
  readonly value: Raw;
  readonly doc: Document;
  readonly file: string;
  readonly steps: ReadonlyMap<string, Step>;
}): { settings?: SlurmSettings; failures: Failure[] } {
  if (options.value.slurm === undefined) return { failures: [] };
  const raw = withoutExtensions((options.value.slurm ?? {}) as Raw);
  const at = (...path: string[]): Location => ({
    file: options.file,
    ...locate(options.doc, ['slurm', ...path]),
  });
  const failures: Failure[] = [];
  if (raw['shared-filesystem'] === false) {
    failures.push({
      reason: 'invalid-value',
      message:
        'shared-filesystem: false is not supported yet: nodes without the project directory need the team cache to move step inputs and outputs',
      location: at('shared-filesystem'),
    });
  }
  const steps = strings(raw.steps);
  steps.forEach((id, i) => {
    if (!options.steps.has(id)) {
      failures.push({
        reason: 'unknown-step',
        message: `slurm step '${id}' is not a step in this file`,
        location: at('steps', String(i)),
      });
    }
  });
  const srunArgs = strings(raw['srun-args']);
  srunArgs.forEach((arg, i) => {
    const name = arg.split('=')[0] as string;
    if (OWNED.includes(name) || (/^-[JDnN]./.test(arg) && !arg.startsWith('--'))) {
      failures.push({
        reason: 'invalid-value',
        message: `srun option ${name} is set by kiwibox for each job`,
        location: at('srun-args', String(i)),
      });
    }
  });
  const limit = raw['time-limit'] as number | string | undefined;
  const settings: SlurmSettings = {
    partition: typeof raw.partition === 'string' ? raw.partition : undefined,
    account: typeof raw.account === 'string' ? raw.account : undefined,
    timeLimit: limit === undefined ? undefined : parseDuration(limit, 0),
    srunArgs,
    steps,
    kinds: strings(raw.kinds) as StepKind[],
    maxJobs: typeof raw['max-jobs'] === 'number' ? raw['max-jobs'] : 64,
    retries: typeof raw.retries === 'number' ? raw.retries : 0,
    archConstraint: raw['arch-constraint'] !== false,
  };
  return { settings, failures };
}

/** True if `step` runs as a Slurm job under `settings`. */
export function runsOnSlurm(settings: SlurmSettings | undefined, step: Step): boolean {
  if (!settings) return false;
  if (!settings.steps.length && !settings.kinds.length) return true;
  return settings.steps.includes(step.id) || settings.kinds.includes(step.kind);
}
