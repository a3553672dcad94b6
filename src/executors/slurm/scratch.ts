/**
 * The node-side step's scratch dir (`kiwibox __slurm-step`), named after the kiwibox process that
 * owns it: `kiwibox-slurm-step-<host>-<pid>-XXXXXX`. A step killed before it could remove its own
 * dir (SIGKILL, a node that died) leaves it behind; the next step on that node removes every such
 * dir of its host whose process is gone. The host in the name keeps a TMPDIR shared between nodes
 * safe; nothing here asks Slurm, so test clusters that reuse job ids cannot confuse it.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pidAlive } from '../../core/fs.js';

const PREFIX = 'kiwibox-slurm-step-';
/** mkdtemp appends six letters and digits. */
const NAME = /^kiwibox-slurm-step-(.+)-(\d+)-[A-Za-z0-9]{6}$/;

/** Removes the scratch dirs left by steps on this host whose kiwibox has ended. */
export async function sweepScratchDirs(dir: string = tmpdir()): Promise<void> {
  const host = hostname();
  const names = await readdir(dir).catch(() => [] as string[]);
  await Promise.all(
    names.map(async (name) => {
      const match = NAME.exec(name);
      if (!match || match[1] !== host || pidAlive(Number(match[2]))) return;
      // Another user's dir, or one a parallel sweep took first: not ours to insist on.
      await rm(join(dir, name), { recursive: true, force: true }).catch(() => undefined);
    }),
  );
}

/** A new scratch dir for this process, after sweeping what dead steps left. */
export async function makeScratchDir(): Promise<string> {
  await sweepScratchDirs();
  return mkdtemp(join(tmpdir(), `${PREFIX}${hostname()}-${process.pid}-`));
}
