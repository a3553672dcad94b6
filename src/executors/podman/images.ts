/**
 * The images of a stack, as fully qualified references, and the digests remote ones point at now
 * (pinned in the stack's fingerprint, so a moved tag re-runs the stack).
 */
import type { Project, StackStep } from '../../core/model.js';
import { type Failure, fail, ok, type Result } from '../../core/result.js';
import { isFullyQualified, registryOf } from '../../kiwi/image-ref.js';
import { runProcess } from '../../process/run.js';
import { localRef } from './names.js';
import type { PodmanSession } from './podman.js';
import { registriesConfArgs, tlsArgs } from './refs.js';

export interface StackImage {
  /** Fully qualified reference that is pulled (remote) and mounted. */
  readonly ref: string;
  /** Pulled from a registry before mounting; otherwise already in the local store. */
  readonly remote: boolean;
  /** The stash step it comes from, if any (its fingerprint covers a local image). */
  readonly stash?: string;
}

/** Resolves `images:` in order. A stash is `localhost/NAME:TAG`, or `REGISTRY/NAME:TAG` with from-registry. */
export function stackImages(step: StackStep, project: Project): Result<StackImage[]> {
  const images: StackImage[] = [];
  const problems: Failure[] = [];
  for (const image of step.images) {
    if ('stash' in image) {
      const stash = project.steps.get(image.stash);
      if (stash?.kind !== 'stash') {
        problems.push({
          step: step.id,
          reason: 'unknown-stash',
          message: `"${image.stash}" is not a stash step`,
        });
        continue;
      }
      const ref = step.fromRegistry
        ? `${step.fromRegistry}/${stash.name}:${stash.tag}`
        : localRef(stash.name, stash.tag);
      images.push({ ref, remote: step.fromRegistry !== undefined, stash: stash.id });
    } else if (!isFullyQualified(image.ref)) {
      problems.push({
        step: step.id,
        reason: 'short-image-name',
        message: `"${image.ref}" is not fully qualified: write REGISTRY/NAME:TAG (or localhost/NAME:TAG); short names can resolve to the wrong image`,
      });
    } else {
      images.push({ ref: image.ref, remote: registryOf(image.ref) !== 'localhost' });
    }
  }
  return problems.length > 0 ? fail(problems) : ok(images);
}

/** The manifest digest a remote reference points at now (`skopeo inspect`, nothing is pulled). */
export async function remoteDigest(options: {
  ref: string;
  project: Project;
  signal: AbortSignal;
  step?: string;
}): Promise<Result<string>> {
  const result = await runProcess({
    argv: [
      'skopeo',
      ...registriesConfArgs(),
      'inspect',
      ...tlsArgs(options.project.podman, options.ref),
      '--format',
      '{{.Digest}}',
      `docker://${options.ref}`,
    ],
    cwd: options.project.dir,
    signal: options.signal,
    step: options.step,
    timeoutMs: 120_000,
  });
  const digest = result.ok ? result.value.stdout.trim() : '';
  if (digest.startsWith('sha256:')) return ok(digest);
  return fail([
    {
      step: options.step,
      reason: 'image-unresolvable',
      message: `cannot resolve ${options.ref} in its registry${result.ok ? '' : `: ${result.error[0]?.message}`}`,
    },
  ]);
}

/**
 * Fingerprint fields for images given by reference: `image <ref>` → the digest the tag points at
 * (remote) or the image id (localhost/). Stash steps' images are covered by their upstream token.
 */
export async function imageFingerprints(options: {
  step: StackStep;
  project: Project;
  signal: AbortSignal;
  session: PodmanSession;
}): Promise<Result<Record<string, string>>> {
  const images = stackImages(options.step, options.project);
  if (!images.ok) return images;
  const fields: Record<string, string> = {};
  for (const image of images.value) {
    // A stash's own record (image id, pushed digest) reaches this fingerprint as its upstream token;
    // asking the registry here would fail before the stash's first push (e.g. in `plan`).
    if (image.stash !== undefined) continue;
    if (image.remote) {
      const digest = await remoteDigest({ ref: image.ref, project: options.project, signal: options.signal });
      if (!digest.ok) return digest;
      fields[`image ${image.ref}`] = digest.value;
    } else {
      const info = await options.session.inspectImage(image.ref);
      if (!info.ok) return info;
      fields[`image ${image.ref}`] = info.value.id;
    }
  }
  return ok(fields);
}
