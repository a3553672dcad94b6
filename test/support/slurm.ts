/**
 * A real one-node Slurm cluster for tests (slurm-cluster.mjs, shared with bench/slurm.mjs): munge and
 * slurm.conf in a temp dir, the daemons stopped by PID.
 */
export { SLURM_TOOLS, startSlurm, type TestSlurm } from './slurm-cluster.mjs';
