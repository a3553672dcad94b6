/**
 * Where everything kiwibox keeps between runs lives: `.kiwibox/` beside kiwibox.yaml. No other
 * module builds a path into it.
 *
 *   .kiwibox/analysis.json          the analysed project (config/analysis-cache.ts)
 *   .kiwibox/hash-cache.json        file hashes by stat (hash-cache.ts)
 *   .kiwibox/dir-cache.json         directory listings by stat (dir-cache.ts)
 *   .kiwibox/tools.json             tool versions (tools.ts)
 *   .kiwibox/steps/<id>/record.json the last successful run (record.ts)
 *   .kiwibox/steps/<id>/stamp.json  its small summary for no-op runs (stamp.ts)
 *   .kiwibox/steps/<id>/lock        the pid running the step (lock.ts)
 *   .kiwibox/logs/<id>.log          the step's last output (step-log.ts)
 *   .kiwibox/kiwi-cache/<id>/       kiwi-ng's package cache for a host build
 *   .kiwibox/slurm/<run>/<id>.*.json a Slurm job's request and the node's result (executors/slurm)
 *   .kiwibox/watch/socket           where a running `kiwibox watch` answers run/plan (watch/serve.ts)
 *   .kiwibox/watch/cookies/         files a client creates so the watcher knows its events are in
 */
import { join } from 'node:path';

/** The state directory of the project in `projectDir`. */
export function stateDirOf(projectDir: string): string {
  return join(projectDir, '.kiwibox');
}

/** Step ids may contain dots and slashes; keep directory and file names unambiguous and safe. */
const safe = (id: string) => encodeURIComponent(id);

export function stepDir(stateDir: string, id: string): string {
  return join(stateDir, 'steps', safe(id));
}

export const recordFile = (stateDir: string, id: string) => join(stepDir(stateDir, id), 'record.json');
export const stampFile = (stateDir: string, id: string) => join(stepDir(stateDir, id), 'stamp.json');
export const lockFile = (stateDir: string, id: string) => join(stepDir(stateDir, id), 'lock');
/** Where team cache blobs of a step are downloaded and checked before they move into place. */
export const cacheStagingDir = (stateDir: string, id: string) => join(stepDir(stateDir, id), 'cache-staging');
export const logsDir = (stateDir: string) => join(stateDir, 'logs');
export const stepLogFile = (stateDir: string, id: string) => join(logsDir(stateDir), `${safe(id)}.log`);
export const analysisFile = (stateDir: string) => join(stateDir, 'analysis.json');
export const hashCacheFile = (stateDir: string) => join(stateDir, 'hash-cache.json');
export const dirCacheFile = (stateDir: string) => join(stateDir, 'dir-cache.json');
export const toolsFile = (stateDir: string) => join(stateDir, 'tools.json');
export const kiwiCacheDir = (stateDir: string, id: string) => join(stateDir, 'kiwi-cache', safe(id));
export const slurmRunDir = (stateDir: string, runId: string) => join(stateDir, 'slurm', safe(runId));
export const slurmRequestFile = (stateDir: string, runId: string, id: string) =>
  join(slurmRunDir(stateDir, runId), `${safe(id)}.request.json`);
export const slurmResultFile = (stateDir: string, runId: string, id: string) =>
  join(slurmRunDir(stateDir, runId), `${safe(id)}.result.json`);
/** Mode 0700: only the owner reaches the watch socket and its cookies. */
export const watchDir = (stateDir: string) => join(stateDir, 'watch');
export const watchSocketFile = (stateDir: string) => join(watchDir(stateDir), 'socket');
export const watchCookieDir = (stateDir: string) => join(watchDir(stateDir), 'cookies');
