/**
 * The node-side step's scratch dir (`kiwibox __slurm-step`), named after the kiwibox process that
 * owns it: `kiwibox-slurm-step-<host>-<pid namespace>-<pid>-<start time>-XXXXXX`. A step killed
 * before it could remove its own dir (SIGKILL, a node that died) leaves it behind; the next step on
 * that node removes every such dir of its host and pid namespace whose process is gone. The host
 * keeps a TMPDIR shared between nodes safe, the namespace one shared between containers or Slurm's
 * private pid namespaces (there a pid says nothing), the start time a reused pid. Nothing here asks
 * Slurm, so test clusters that reuse job ids cannot confuse it.
 */
import { readlinkSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { processAlive, processStartTime } from '../../core/fs.js';

const PREFIX = 'kiwibox-slurm-step-';
/** mkdtemp appends six letters and digits. */
const NAME = /^kiwibox-slurm-step-(.+)-(\d+)-(\d+)-(\d+)-[A-Za-z0-9]{6}$/;

/** The inode of this process's pid namespace (`pid:[4026531836]`), 0 where /proc cannot say. */
function pidNamespace(): string {
  try {
    return /\[(\d+)\]/.exec(readlinkSync('/proc/self/ns/pid'))?.[1] ?? '0';
  } catch {
    return '0';
  }
}

/** Removes the scratch dirs left by steps on this host whose kiwibox has ended. */
export async function sweepScratchDirs(dir: string = tmpdir()): Promise<void> {
  const host = hostname();
  const ns = pidNamespace();
  const names = await readdir(dir).catch(() => [] as string[]);
  await Promise.all(
    names.map(async (name) => {
      const match = NAME.exec(name);
      if (!match || match[1] !== host || match[2] !== ns) return;
      if (processAlive(Number(match[3]), match[4] === '0' ? undefined : match[4])) return;
      // Another user's dir, or one a parallel sweep took first: not ours to insist on.
      await rm(join(dir, name), { recursive: true, force: true }).catch(() => undefined);
    }),
  );
}

/** A new scratch dir for this process, after sweeping what dead steps left. */
export async function makeScratchDir(): Promise<string> {
  await sweepScratchDirs();
  const me = `${hostname()}-${pidNamespace()}-${process.pid}-${processStartTime(process.pid) ?? 0}`;
  return mkdtemp(join(tmpdir(), `${PREFIX}${me}-`));
}
