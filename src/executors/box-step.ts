/**
 * The `box` step: resolves an official, local or host box into a bootable Box and hands it to
 * dependents through its output data (`boxToData`). Box files live in the shared box store (or are
 * the user's own), so the step records no output files; `stillValid` re-checks the box's digest
 * through the stat-keyed cache, which costs a few stat calls when nothing changed.
 */
import { stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { boxFromData, boxToData } from '../boxes/box.js';
import type { DownloadProgress } from '../boxes/download.js';
import { hostBoxKey } from '../boxes/host-box.js';
import { packagesDigest } from '../boxes/official.js';
import { boxDigest, fileDigests, officialEntry, resolveBox } from '../boxes/resolve.js';
import { boxStoreDir, readState } from '../boxes/store.js';
import type { StepExecutor } from '../core/executor.js';
import type { BoxStep } from '../core/model.js';
import { ok, type Result } from '../core/result.js';

const MiB = 1024 * 1024;

/** Formats download progress as log lines, one per 10 % (or per 64 MiB when the size is unknown). */
export function progressLines(emit: (line: string) => void): (file: string, p: DownloadProgress) => void {
  const last = new Map<string, number>();
  return (file, p) => {
    const mark = p.total ? Math.floor((p.received / p.total) * 10) : Math.floor(p.received / (64 * MiB));
    if (last.get(file) === mark) return;
    last.set(file, mark);
    const size = `${(p.received / MiB).toFixed(1)} MiB`;
    const of = p.total
      ? ` of ${(p.total / MiB).toFixed(1)} MiB (${Math.floor((p.received / p.total) * 100)}%)`
      : '';
    const resumed = p.resumedFrom > 0 ? `, resumed at ${(p.resumedFrom / MiB).toFixed(1)} MiB` : '';
    emit(`${file}: ${size}${of}${resumed}`);
  };
}

/** StepExecutor for `kind: 'box'` steps. */
export const boxStepExecutor: StepExecutor<BoxStep> = {
  tools(step) {
    // The host box runs the host's own kiwi-ng: its version is part of what the box is.
    return step.source === 'host' ? ['kiwi-ng'] : [];
  },

  inputs(step) {
    const files =
      step.source === 'local' ? [step.kernel, step.initrd, step.disk].filter((f) => f !== undefined) : [];
    return { dirs: [], files, globs: [] };
  },

  async extra(step, { project, signal }): Promise<Result<Record<string, string>>> {
    if (step.source === 'host') {
      const host = await hostBoxKey(step.arch, signal);
      if (!host.ok) return host;
      return ok({
        'host-kernel': `${host.value.pkg.pkg} ${host.value.pkg.version}`,
        'host-box': host.value.key,
      });
    }
    if (step.source !== 'official') return ok({});
    const entry = officialEntry(step, { projectDir: project.dir });
    if (!entry.ok) return entry;
    // update-check: false means no network before deciding freshness (upstream --no-update-check).
    if (!entry.value.updateCheck) return ok({});
    const digest = await packagesDigest({ ...entry.value, signal });
    if (!digest.ok) return digest;
    return ok<Record<string, string>>(digest.value ? { 'box-packages': digest.value } : {});
  },

  async run(step, ctx) {
    const box = await resolveBox(step, {
      projectDir: ctx.project.dir,
      signal: ctx.signal,
      onLine: (line) => ctx.output(line),
      onProgress: progressLines((line) => ctx.output(line)),
    });
    if (!box.ok) return box;
    ctx.output(
      `box ${box.value.name} (${box.value.arch}): ${box.value.kernel}${box.value.disk ? ` + ${box.value.disk}` : ''}`,
    );
    return ok({ files: [], data: boxToData(box.value) });
  },

  async stillValid(step, outputs) {
    const box = boxFromData(outputs.data);
    if (!box) return false;
    // A disk the builds write (snapshot: false) is identified by its published digest, not re-hashed.
    const writable = step.source === 'official' && step.raw.snapshot === false ? box.disk : undefined;
    const digests = await fileDigests([box.kernel, box.initrd, writable ? undefined : box.disk], {
      store: boxStoreDir(),
    });
    if (!digests.ok) return false;
    if (writable) {
      const state = await readState(dirname(writable));
      const published = state?.files[basename(writable)];
      if (!published || !(await stat(writable).catch(() => undefined))) return false;
      digests.value[2] = published;
    }
    return boxDigest({ files: digests.value, cmdline: box.cmdline, arch: box.arch }) === box.digest;
  },
};
