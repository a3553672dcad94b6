/**
 * Stack executor: images are mounted in order and rsynced (union, no --delete) into
 * `<staging>/build/image-root`, then kiwi-ng builds from that root: `system create` rebuilds from
 * the stash's own `/image/config.xml`, `system build --allow-existing-root` applies a description
 * on top. Everything happens in a staging dir swapped in on success, so a failed or interrupted
 * stack leaves nothing that blocks the next run (upstream refuses to start over a half-built root).
 */
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExecutorContext, StepExecutor, StepOutputs } from '../../core/executor.js';
import type { StackStep } from '../../core/model.js';
import { fail, failWith, ok, type Result } from '../../core/result.js';
import { checkKiwiArgs } from '../../kiwi/build-options.js';
import { readDescription } from '../../kiwi/description.js';
import { kiwiFileOf } from '../../kiwi/description-file.js';
import { kiwiCacheDir } from '../../state/layout.js';
import { withOwnCache } from '../kiwi/host-build.js';
import { runHostKiwi } from '../kiwi/host-kiwi.js';
import { readKiwiResult } from '../kiwi/result-file.js';
import { stagingPaths, withStagingDir } from '../kiwi/staging.js';
import { imageFingerprints, type StackImage, stackImages } from './images.js';
import { PodmanSession } from './podman.js';
import { rsyncKeepingMode } from './rsync.js';

/** The root a stack fills, relative to the (staging) target dir: where `system build` expects it. */
export const STACK_ROOT = join('build', 'image-root');

/**
 * Checks the stack's description (if any) before anything is mounted: the file kiwi-ng will read
 * (with the step's --kiwi-file), and no bootstrap section (see check-steps.ts, which says it at load).
 */
function checkDescription(step: StackStep): Result<void> {
  if (step.description === undefined) return ok(undefined);
  const where = step.fields.description ?? step.location;
  const kiwiFile = kiwiFileOf(step.kiwiArgs);
  const read = readDescription(step.description, where, kiwiFile === undefined ? {} : { kiwiFile });
  if (!read.ok) return fail(read.error.map((f) => ({ ...f, step: step.id })));
  if (!read.value.hasBootstrap) return ok(undefined);
  return failWith({
    step: step.id,
    reason: 'bootstrap-into-existing-root',
    message: `${read.value.file} has a <packages type="bootstrap"> section: kiwi-ng cannot bootstrap into the stacked (non-empty) root; list the packages under <packages type="image"> instead`,
    location: where,
  });
}

/**
 * Mounts each image in order and syncs it into `root`. podman calls are overlapped with the syncs
 * (the next image is mounted and the previous one unmounted while rsync runs), so only the first
 * mount and the last unmount add to the time. Every mount is undone before this returns.
 */
export async function stackInto(options: {
  images: readonly StackImage[];
  root: string;
  keepDirlinks: boolean;
  session: PodmanSession;
  ctx: Pick<ExecutorContext, 'signal' | 'output' | 'tmpDir'>;
  step?: string;
}): Promise<Result<void>> {
  const { session, ctx, images } = options;
  const unmounts: Promise<unknown>[] = [];
  const unmount = (ref: string) =>
    unmounts.push(
      session.unmountImage(ref).then((result) => {
        if (!result.ok) ctx.output(`cleanup: ${result.error[0]?.message}`, 'stderr');
      }),
    );
  const start = (image: StackImage | undefined) =>
    image ? { ref: image.ref, mount: session.mountImage(image.ref) } : undefined;
  let next = start(images[0]);
  let outcome: Result<void> = ok(undefined);
  for (let i = 0; i < images.length && next; i++) {
    const image = images[i] as StackImage;
    const mount: Result<string> = await next.mount;
    next = undefined;
    if (!mount.ok) {
      outcome = mount;
      unmount(image.ref);
      break;
    }
    if (ctx.signal.aborted) {
      outcome = failWith({ step: options.step, reason: 'cancelled', message: 'stack cancelled' });
      unmount(image.ref);
      break;
    }
    next = start(images[i + 1]);
    ctx.output(`sync ${image.ref}`);
    const synced = await rsyncKeepingMode({
      source: mount.value,
      target: options.root,
      keepDirlinks: options.keepDirlinks,
      cwd: ctx.tmpDir,
      signal: ctx.signal,
      step: options.step,
      onLine: (line) => ctx.output(line, 'stderr'),
    });
    unmount(image.ref);
    if (!synced.ok) {
      outcome = synced;
      break;
    }
  }
  // A mount still in flight after a failure is undone too.
  if (next) {
    await next.mount;
    unmount(next.ref);
  }
  await Promise.all(unmounts);
  return outcome;
}

/**
 * Before `system build --allow-existing-root`: kiwi-ng copies in the new description's scripts but
 * leaves the lower stash's (`image/config.sh`, `images.sh`, …) in place and runs them. Removes them
 * all; the description's own are copied in again. Returns the removed names.
 */
export async function removeStaleScripts(root: string): Promise<string[]> {
  const dir = join(root, 'image');
  const names = (await readdir(dir).catch(() => [] as string[]))
    .filter((name) => name.endsWith('.sh'))
    .sort();
  for (const name of names) await rm(join(dir, name), { force: true });
  return names;
}

/** kiwi-ng after the root is filled: `system create` without a description, else `system build`. */
async function runKiwi(step: StackStep, staging: string, ctx: ExecutorContext): Promise<Result<void>> {
  const checked = checkKiwiArgs(step.kiwiArgs);
  if (checked.problems.length > 0) {
    return fail(checked.problems.map((p) => ({ step: step.id, reason: p.reason, message: p.message })));
  }
  const { global, command } = checked.split;
  const root = join(staging, STACK_ROOT);
  let args: string[];
  if (step.description === undefined) {
    // `system create` takes only --signing-key of the build options.
    const wrong = command.filter((arg) => !arg.startsWith('--signing-key='));
    if (wrong.length > 0) {
      return failWith({
        step: step.id,
        reason: 'kiwi-option-not-for-create',
        message: `without a description the stack runs kiwi-ng system create, which does not take ${wrong.join(' ')}`,
      });
    }
    args = ['--root', root, '--target-dir', staging, ...command];
  } else {
    const extra = command.filter((arg) => arg !== '--allow-existing-root');
    args = ['--description', step.description, '--target-dir', staging, '--allow-existing-root', ...extra];
  }
  const result = await runHostKiwi({
    ctx,
    targetDir: staging,
    command: ['system', step.description === undefined ? 'create' : 'build'],
    type: step.type,
    profiles: step.profiles,
    // Its own kiwi cache, as host builds have: two kiwi runs sharing /var/cache/kiwi fight over
    // apt's lock ("Unable to lock directory /var/cache/kiwi/apt-get/archives/").
    globalArgs: withOwnCache(global, kiwiCacheDir(ctx.project.stateDir, step.id)),
    args,
    cwd: ctx.project.dir,
    step: step.id,
  });
  if (!result.ok) {
    return fail(
      result.error.map((f) => (f.reason === 'exit-non-zero' ? { ...f, reason: 'kiwi-failed' } : f)),
    );
  }
  const built = await readKiwiResult({ targetDir: staging, step: step.id });
  return built.ok ? ok(undefined) : built;
}

/** See the file comment. Output: the kiwi-ng result files; data `images` = the stacked refs with ids. */
export const stackExecutor: StepExecutor<StackStep> = {
  tools: (step) => ['podman', 'rsync', 'kiwi-ng', ...(hasRemote(step) ? ['skopeo'] : [])],
  inputs: (step) => ({
    dirs: step.description === undefined ? [] : [step.description],
    files: [],
    globs: [],
  }),

  async extra(step, { project, signal }) {
    const session = new PodmanSession({ settings: project.podman, cwd: project.dir, signal, step: step.id });
    return imageFingerprints({ step, project, signal, session });
  },

  async run(step, ctx): Promise<Result<StepOutputs>> {
    if (step.box !== undefined) {
      return failWith({
        step: step.id,
        reason: 'stack-in-box-unsupported',
        message: `stacks run on the host (podman and kiwi-ng as root); box "${step.box}" is not supported for stacks yet`,
        location: step.fields.box,
      });
    }
    const images = stackImages(step, ctx.project);
    if (!images.ok) return images;
    const description = checkDescription(step);
    if (!description.ok) return description;
    const session = PodmanSession.forRun(step.id, ctx);
    const ids: string[] = [];
    try {
      for (const image of images.value) {
        if (image.remote) {
          ctx.output(`pull ${image.ref}`);
          const pulled = await session.pull(image.ref);
          if (!pulled.ok) return pulled;
        }
        const info = await session.inspectImage(image.ref);
        if (!info.ok) return info;
        ids.push(`${image.ref}@${info.value.id}`);
      }
      const built = await withStagingDir(step.targetDir, async (staging) => {
        const root = join(staging, STACK_ROOT);
        await mkdir(root, { recursive: true, mode: 0o755 });
        const stacked = await stackInto({
          images: images.value,
          root,
          keepDirlinks: step.keepDirlinks,
          session,
          ctx,
          step: step.id,
        });
        if (!stacked.ok) return stacked;
        if (step.description !== undefined) {
          const removed = await removeStaleScripts(root);
          if (removed.length > 0)
            ctx.output(`removed the stacked images' scripts: image/${removed.join(', image/')}`);
        }
        return runKiwi(step, staging, ctx);
      });
      if (!built.ok) return built;
    } finally {
      const problems = await session.cleanup();
      for (const problem of problems) ctx.output(`cleanup: ${problem.message}`, 'stderr');
    }
    const files = await readKiwiResult({
      targetDir: step.targetDir,
      builtIn: stagingPaths(step.targetDir).staging,
      step: step.id,
    });
    if (!files.ok) return files;
    return ok({ files: files.value, data: { images: ids.join(' ') } });
  },
};

function hasRemote(step: StackStep): boolean {
  return (
    step.fromRegistry !== undefined ||
    step.images.some((image) => 'ref' in image && !image.ref.startsWith('localhost/'))
  );
}
