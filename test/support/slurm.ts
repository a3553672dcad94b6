/**
 * A real one-node Slurm cluster for tests (slurm-cluster.mjs, shared with bench/slurm.mjs): munge and
 * slurm.conf in a temp dir, the daemons stopped by PID.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { TempProject } from './project.js';
import { startSlurm, type TestSlurm } from './slurm-cluster.mjs';

export { SLURM_TOOLS, startSlurm, type TestSlurm } from './slurm-cluster.mjs';

/**
 * For a describe block: the cluster starts before its first test; after the last one the projects
 * made with `project` and whatever `onCleanup` got are removed, then the cluster stops.
 */
export function slurmFixture(prefix: string): {
  readonly slurm: TestSlurm;
  project(files: Record<string, string>): TempProject;
  onCleanup(cleanup: () => void): void;
} {
  let cluster: TestSlurm | undefined;
  const cleanups: (() => void)[] = [];
  beforeAll(async () => {
    cluster = await startSlurm();
  });
  afterAll(async () => {
    for (const cleanup of cleanups) cleanup();
    await cluster?.stop();
  });
  return {
    get slurm() {
      if (!cluster) throw new Error('the Slurm cluster is not started (use it inside a test)');
      return cluster;
    },
    project(files) {
      const p = new TempProject(prefix).write(files);
      cleanups.push(() => p.remove());
      return p;
    },
    onCleanup(cleanup) {
      cleanups.push(cleanup);
    },
  };
}

/** `SLURM_CONF` for the cluster's configuration with a port where no slurmctld listens (in `dir`). */
export function unreachableConf(slurm: TestSlurm, dir: string): { SLURM_CONF: string } {
  const conf = readFileSync(slurm.env.SLURM_CONF, 'utf8').replace(/^SlurmctldPort=\d+$/m, 'SlurmctldPort=9');
  writeFileSync(join(dir, 'dead.conf'), conf);
  return { SLURM_CONF: join(dir, 'dead.conf') };
}
