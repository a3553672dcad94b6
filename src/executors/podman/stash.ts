/**
 * Stash executor: a root tree becomes `localhost/NAME:TAG`. The first stash of a name imports the
 * tree as one layer; each later one adds exactly one layer with the delta (work container + mount +
 * rsync --delete + commit, so deleted files become whiteouts), as upstream's layering does.
 */
import { randomBytes } from 'node:crypto';
import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExecutorContext, StepExecutor, StepOutputs } from '../../core/executor.js';
import type { Project, StashStep } from '../../core/model.js';
import { fail, failWith, ok, type Result } from '../../core/result.js';
import { runProcess } from '../../process/run.js';
import { rootDescription } from './description.js';
import { localRef, validateImageName, validateTag } from './names.js';
import { PodmanSession } from './podman.js';
import { rsyncTree, STASH_EXCLUDES } from './rsync.js';

export const LABEL_MAINTAINER = 'io.osinside.kiwi.maintainer';
export const LABEL_META = 'io.osinside.kiwi.meta';
/** Upstream's meta label value: `kiwibox stash list` finds stashes by it, also upstream's. */
export const META_VALUE = 'KIWI - https://github.com/OSInside/kiwi';

/** The root tree a stash takes: a directory, or a (host) build's image root. */
export function resolveStashRoot(step: StashStep, project: Project): Result<string> {
  if ('dir' in step.root) return ok(step.root.dir);
  const build = project.steps.get(step.root.build);
  if (build?.kind !== 'build') {
    return failWith({
      step: step.id,
      reason: 'root-unavailable',
      message: `"${step.root.build}" is not a build step, so it has no image root to stash`,
      location: step.fields.root,
    });
  }
  if (build.box !== undefined) {
    return failWith({
      step: step.id,
      reason: 'root-unavailable',
      message: `build "${build.id}" runs in box "${build.box}": its image root stays inside the box and cannot be stashed; stash a host build or a directory`,
      location: step.fields.root,
    });
  }
  return ok(join(build.targetDir, 'build', 'image-root'));
}

/**
 * One `--change` per instruction (several labels in one LABEL are mis-parsed by podman 4.3). podman
 * strips the outer quotes of a LABEL value but does not unescape inside, so `"` and `\` cannot be
 * expressed: they become `'` and `/`.
 */
export function stashChanges(author: string): string[] {
  const quote = (value: string) =>
    `"${value
      .replace(/"/g, "'")
      .replace(/\\/g, '/')
      .replace(/[\r\n]+/g, ' ')}"`;
  return [
    'CMD ["/bin/sh"]',
    `LABEL ${LABEL_MAINTAINER}=${quote(author)}`,
    `LABEL ${LABEL_META}=${quote(META_VALUE)}`,
  ];
}

/** The newest local image of `name` (any tag): the layer a new stash goes on top of. */
async function previousStash(session: PodmanSession, name: string, tag: string): Promise<string | undefined> {
  const ref = localRef(name, tag);
  if (await session.imageExists(ref)) return ref;
  const listed = await session.call(
    ['images', '--format', 'json', '--filter', `reference=localhost/${name}`],
    'podman-list-failed',
  );
  if (!listed.ok) return undefined;
  const images = JSON.parse(listed.value || '[]') as { Names?: string[]; Created?: number }[];
  const newest = images
    .filter((image) => (image.Names ?? []).some((n) => n.startsWith(`localhost/${name}:`)))
    .sort((a, b) => (b.Created ?? 0) - (a.Created ?? 0))[0];
  return newest?.Names?.find((n) => n.startsWith(`localhost/${name}:`));
}

async function importFirst(options: {
  session: PodmanSession;
  root: string;
  ref: string;
  changes: string[];
  ctx: ExecutorContext;
  step: string;
}): Promise<Result<string>> {
  const tarFile = join(options.ctx.tmpDir, `stash-${randomBytes(4).toString('hex')}.tar`);
  const excludes = STASH_EXCLUDES.map((pattern) => `--exclude=.${pattern}`);
  const tar = await runProcess({
    argv: [
      'tar',
      '-C',
      options.root,
      '--numeric-owner',
      '--xattrs',
      '--xattrs-include=*',
      '--acls',
      ...excludes,
      '-cf',
      tarFile,
      '.',
    ],
    cwd: options.ctx.tmpDir,
    signal: options.ctx.signal,
    step: options.step,
    onLine: (line) => options.ctx.output(line, 'stderr'),
  });
  if (!tar.ok)
    return fail(tar.error.map((f) => (f.reason === 'exit-non-zero' ? { ...f, reason: 'tar-failed' } : f)));
  try {
    return await options.session.importTar({ tarFile, ref: options.ref, changes: options.changes });
  } finally {
    await rm(tarFile, { force: true });
  }
}

/** See the file comment. Output: `{imageId, image, layers, pushed?}`. */
export const stashExecutor: StepExecutor<StashStep> = {
  tools: () => ['podman', 'rsync', 'tar'],
  inputs: (step) => ({ dirs: 'dir' in step.root ? [step.root.dir] : [], files: [], globs: [] }),

  async run(step, ctx): Promise<Result<StepOutputs>> {
    const name = validateImageName(step.name, step.id);
    const tag = validateTag(step.tag, step.id);
    if (!name.ok || !tag.ok) return fail([...(name.ok ? [] : name.error), ...(tag.ok ? [] : tag.error)]);
    const root = resolveStashRoot(step, ctx.project);
    if (!root.ok) return root;
    const isDir = await stat(root.value).then(
      (s) => s.isDirectory(),
      () => false,
    );
    if (!isDir) {
      return failWith({
        step: step.id,
        reason: 'root-unavailable',
        message: `root tree ${root.value} does not exist`,
      });
    }
    const ref = localRef(step.name, step.tag);
    const changes = stashChanges((await rootDescription(root.value))?.author ?? '');
    const session = PodmanSession.forRun(step.id, ctx);
    try {
      await session.removeStaleWork();
      const base = await previousStash(session, step.name, step.tag);
      const committed = base
        ? await addLayer({ session, base, root: root.value, ref, changes, ctx, step: step.id })
        : await importFirst({ session, root: root.value, ref, changes, ctx, step: step.id });
      if (!committed.ok) return committed;
      const info = await session.inspectImage(ref);
      if (!info.ok) return info;
      ctx.output(`${ref}: image ${info.value.id.slice(0, 12)}, ${info.value.layers} layer(s)`);
      const data: Record<string, string> = {
        imageId: info.value.id,
        image: ref,
        layers: String(info.value.layers),
      };
      if (step.push) {
        const dest = `${step.push.registry}/${step.name}:${step.tag}`;
        const digestFile = join(ctx.tmpDir, `digest-${randomBytes(4).toString('hex')}`);
        const pushed = await session.push({ source: ref, dest, digestFile, tlsVerify: step.push.tlsVerify });
        if (!pushed.ok) return pushed;
        const digest = (await readFile(digestFile, 'utf8')).trim();
        if (!digest.startsWith('sha256:')) {
          return failWith({
            step: step.id,
            reason: 'push-unconfirmed',
            message: `push of ${dest} gave no digest`,
          });
        }
        data.pushed = `${dest}@${digest}`;
        ctx.output(`pushed ${data.pushed}`);
      }
      return ok({ files: [], data });
    } finally {
      const problems = await session.cleanup();
      for (const problem of problems) ctx.output(`cleanup: ${problem.message}`, 'stderr');
    }
  },

  async stillValid(step, outputs, project) {
    const session = new PodmanSession({ settings: project.podman, cwd: project.dir, step: step.id });
    const info = await session.inspectImage(localRef(step.name, step.tag));
    return info.ok && info.value.id === outputs.data.imageId;
  },

  async clean(step, _outputs, project) {
    const session = new PodmanSession({ settings: project.podman, cwd: project.dir, step: step.id });
    await session.exec(['rmi', '--ignore', localRef(step.name, step.tag)]);
  },
};

async function addLayer(options: {
  session: PodmanSession;
  base: string;
  root: string;
  ref: string;
  changes: string[];
  ctx: ExecutorContext;
  step: string;
}): Promise<Result<string>> {
  const { session, ctx } = options;
  const work = `kiwibox-stash-${process.pid}-${randomBytes(4).toString('hex')}`;
  const container = await session.createMounted({ ref: options.base, name: work });
  if (!container.ok) return container;
  const synced = await rsyncTree({
    source: options.root,
    target: container.value.mount,
    mirror: true,
    excludes: STASH_EXCLUDES,
    cwd: ctx.tmpDir,
    signal: ctx.signal,
    step: options.step,
    onLine: (line) => ctx.output(line, 'stderr'),
  });
  if (!synced.ok) return synced;
  return session.commit({ container: work, ref: options.ref, changes: options.changes });
}
