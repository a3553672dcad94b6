/**
 * A per-step lock file so two kiwibox processes never run the same step at once. The file holds the
 * owner's pid; a lock whose owner is gone is stale and taken over.
 */
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { pidAlive } from '../core/fs.js';
import { lockFile, stepDir } from './layout.js';

/** Takes the lock; returns a release function, or the pid of the live owner. */
export function acquireStepLock(stateDir: string, id: string): { release: () => void } | { owner: number } {
  const dir = stepDir(stateDir, id);
  mkdirSync(dir, { recursive: true });
  const file = lockFile(stateDir, id);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return { release: () => rmSync(file, { force: true }) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number.parseInt(readFileSync(file, 'utf8'), 10);
      if (Number.isFinite(owner) && owner !== process.pid && pidAlive(owner)) return { owner };
      rmSync(file, { force: true });
    }
  }
  throw new Error(`Internal error: cannot take the lock ${file}`);
}
