/**
 * `slurm:` (schema-valid) → SlurmSettings, with the checks the schema cannot make: the steps it
 * names exist, srun options kiwibox sets itself are not given again, and a cluster without a
 * shared filesystem has the team cache (`cache: store:`) its data moves through.
 */
import { isAbsolute } from 'node:path';
import type { Document } from 'yaml';
import type { SlurmSettings, Step, StepKind } from '../core/model.js';
import type { Failure, Location } from '../core/result.js';
import { parseDuration, withoutExtensions } from './normalize.js';
import { locate } from './yaml-ast.js';

type Raw = Record<string, unknown>;

/**
 * srun options kiwibox sets per job: the job's name and directory, no terminal, and --export=ALL
 * (the node's kiwibox reads the team cache settings and signing key from the environment).
 */
const OWNED = ['--job-name', '-J', '--chdir', '-D', '--pty', '--ntasks', '-n', '--nodes', '-N', '--export'];

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
  const shared = raw['shared-filesystem'] !== false;
  const cache = (options.value.cache ?? {}) as Raw;
  if (!shared && typeof cache.store !== 'string') {
    failures.push({
      reason: 'invalid-value',
      message:
        'shared-filesystem: false needs the team cache (a cache: section with a store): it carries step inputs to the nodes and their outputs back',
      location: at('shared-filesystem'),
    });
  }
  const nodeDir = raw['node-project-dir'];
  if (typeof nodeDir === 'string' && (shared || !isAbsolute(nodeDir))) {
    failures.push({
      reason: 'invalid-value',
      message: shared
        ? 'node-project-dir is for shared-filesystem: false (with a shared filesystem the nodes use this path)'
        : `node-project-dir must be an absolute path, not '${nodeDir}'`,
      location: at('node-project-dir'),
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
    sharedFilesystem: shared,
    ...(typeof nodeDir === 'string' ? { nodeProjectDir: nodeDir } : {}),
  };
  return { settings, failures };
}

/**
 * True if `step` runs as a Slurm job under `settings`. Without a shared filesystem a box never
 * does: it is resolved where it is used (the node resolves its own), not carried by the cache.
 */
export function runsOnSlurm(settings: SlurmSettings | undefined, step: Step): boolean {
  if (!settings) return false;
  if (settings.sharedFilesystem === false && step.kind === 'box') return false;
  if (!settings.steps.length && !settings.kinds.length) return true;
  return settings.steps.includes(step.id) || settings.kinds.includes(step.kind);
}
