/**
 * The one way kiwibox calls podman: every call carries the user's store flags, `create` never pulls,
 * image names are fully qualified, and every mount or work container a session made is undone in
 * `cleanup()` (callers run it in `finally`, so also after an abort). `podman run` is never used.
 */

import type { ExecutorContext } from '../../core/executor.js';
import { pidAlive } from '../../core/fs.js';
import type { PodmanSettings } from '../../core/model.js';
import type { FailureReason } from '../../core/reasons.js';
import { type Failure, fail, failWith, ok, type Result } from '../../core/result.js';
import { isFullyQualified } from '../../kiwi/image-ref.js';
import { type ProcessResult, runProcess } from '../../process/run.js';
import { tlsArgs } from './refs.js';

/** Global flags for the configured store; podman's defaults where a setting is unset. */
export function podmanGlobalArgs(settings: PodmanSettings): string[] {
  const args: string[] = [];
  if (settings.root) args.push('--root', settings.root);
  if (settings.runroot) args.push('--runroot', settings.runroot);
  if (settings.tmpdir) args.push('--tmpdir', settings.tmpdir);
  if (settings.storageDriver) args.push('--storage-driver', settings.storageDriver);
  // No systemd on build hosts and in CI: cgroupfs and file events always work.
  args.push('--cgroup-manager', 'cgroupfs', '--events-backend', 'file');
  return args;
}

export interface PodmanSessionOptions {
  readonly settings: PodmanSettings;
  readonly cwd: string;
  readonly signal?: AbortSignal;
  readonly step?: string;
  /** Lines of podman's stderr (warnings), for the step log. */
  readonly onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
}

/** What a session created and must undo. */
interface Owned {
  readonly imageMounts: string[];
  readonly containerMounts: Set<string>;
  readonly containers: Set<string>;
}

/** A podman session: calls plus bookkeeping of what must be cleaned up. */
export class PodmanSession {
  private readonly owned: Owned = { imageMounts: [], containerMounts: new Set(), containers: new Set() };

  constructor(private readonly options: PodmanSessionOptions) {}

  /** The session a running step uses: its project's store, its temp dir, its abort signal and log. */
  static forRun(step: string, ctx: ExecutorContext): PodmanSession {
    return new PodmanSession({
      settings: ctx.project.podman,
      cwd: ctx.tmpDir,
      signal: ctx.signal,
      step,
      onLine: (line) => ctx.output(line, 'stderr'),
    });
  }

  /**
   * Runs `podman <store flags> ARGS`; `signal: false` for cleanup calls that must run after an abort.
   * A failure's message ends with podman's last stderr line (CNI config warnings skipped).
   */
  async exec(args: readonly string[], extra: { signal?: false } = {}): Promise<Result<ProcessResult>> {
    const { settings, onLine } = this.options;
    let lastError = '';
    const result = await runProcess({
      argv: ['podman', ...podmanGlobalArgs(settings), ...args],
      cwd: this.options.cwd,
      env: settings.tmpdir ? { TMPDIR: settings.tmpdir } : undefined,
      signal: extra.signal === false ? undefined : this.options.signal,
      step: this.options.step,
      onLine: (line, stream) => {
        if (stream !== 'stderr' || line.includes('CNI config')) return;
        lastError = line;
        onLine?.(line, stream);
      },
    });
    if (result.ok || !lastError) return result;
    return fail(result.error.map((f) => ({ ...f, message: `${f.message}: ${lastError}` })));
  }

  /** Like exec, returning trimmed stdout; a failure gets `reason` (cancellation keeps its own). */
  async call(args: readonly string[], reason: FailureReason): Promise<Result<string>> {
    const result = await this.exec(args);
    if (result.ok) return ok(result.value.stdout.trim());
    return fail(result.error.map((f) => this.explain(f, reason)));
  }

  private explain(failure: Failure, reason: FailureReason): Failure {
    if (failure.reason === 'cancelled' || failure.reason === 'timeout') return failure;
    return { ...failure, reason };
  }

  private requireQualified(ref: string): Result<void> {
    if (isFullyQualified(ref)) return ok(undefined);
    return failWith({
      step: this.options.step,
      reason: 'short-image-name',
      message: `not fully qualified: ${ref}`,
    });
  }

  /** True when `ref` (a name or an id) is in the store. */
  async imageExists(ref: string): Promise<boolean> {
    return (await this.exec(['image', 'exists', ref])).ok;
  }

  /** `podman image inspect` of one image, parsed. */
  async inspectImage(ref: string): Promise<Result<ImageInfo>> {
    const out = await this.call(['image', 'inspect', '--format', 'json', ref], 'image-not-found');
    if (!out.ok) return out;
    const parsed = JSON.parse(out.value) as RawImageInfo[];
    const raw = parsed[0];
    if (!raw)
      return failWith({ step: this.options.step, reason: 'image-not-found', message: `no image ${ref}` });
    return ok({
      id: raw.Id,
      digest: raw.Digest ?? '',
      layers: raw.RootFS?.Layers?.length ?? 0,
      labels: raw.Labels ?? raw.Config?.Labels ?? {},
      names: raw.RepoTags ?? [],
    });
  }

  /** `podman import FILE REF` with the given `--change` instructions; returns the image id. */
  async importTar(options: {
    tarFile: string;
    ref: string;
    changes: readonly string[];
  }): Promise<Result<string>> {
    const qualified = this.requireQualified(options.ref);
    if (!qualified.ok) return qualified;
    const changes = options.changes.flatMap((change) => ['--change', change]);
    return this.call(['import', '-q', ...changes, options.tarFile, options.ref], 'podman-import-failed');
  }

  /** A work container of `ref` (never pulled, never started), mounted; returns [name, mount point]. */
  async createMounted(options: {
    ref: string;
    name: string;
  }): Promise<Result<{ name: string; mount: string }>> {
    const qualified = this.requireQualified(options.ref);
    if (!qualified.ok) return qualified;
    const created = await this.call(
      ['create', '-q', '--pull=never', '--network', 'none', '--name', options.name, options.ref, '/bin/sh'],
      'podman-create-failed',
    );
    // Tracked even on failure: an aborted create may still have made the container.
    this.owned.containers.add(options.name);
    if (!created.ok) return created;
    const mount = await this.call(['mount', options.name], 'podman-mount-failed');
    this.owned.containerMounts.add(options.name);
    if (!mount.ok) return mount;
    return ok({ name: options.name, mount: mount.value });
  }

  /** Commits a (tracked) work container as `ref`; one new layer. Returns the image id. */
  async commit(options: {
    container: string;
    ref: string;
    changes: readonly string[];
  }): Promise<Result<string>> {
    const unmounted = await this.unmountContainer(options.container);
    if (!unmounted.ok) return unmounted;
    const changes = options.changes.flatMap((change) => ['--change', change]);
    return this.call(['commit', '-q', ...changes, options.container, options.ref], 'podman-commit-failed');
  }

  private async unmountContainer(name: string): Promise<Result<string>> {
    if (!this.owned.containerMounts.has(name)) return ok('');
    const result = await this.call(['unmount', name], 'podman-unmount-failed');
    if (result.ok) this.owned.containerMounts.delete(name);
    return result;
  }

  /** `podman image mount REF` (read-only overlay); returns the mount point. */
  async mountImage(ref: string): Promise<Result<string>> {
    const qualified = this.requireQualified(ref);
    if (!qualified.ok) return qualified;
    const result = await this.call(['image', 'mount', ref], 'image-mount-failed');
    // Tracked before the result is known: an aborted call may have mounted it.
    this.owned.imageMounts.push(ref);
    if (!result.ok) return result;
    if (!result.value.startsWith('/')) {
      return failWith({
        step: this.options.step,
        reason: 'image-mount-failed',
        message: `no mount point for ${ref}`,
      });
    }
    return result;
  }

  /** Undoes one image mount of this session (podman counts mounts, so others' mounts stay). */
  async unmountImage(ref: string): Promise<Result<void>> {
    const index = this.owned.imageMounts.lastIndexOf(ref);
    if (index < 0) return ok(undefined);
    this.owned.imageMounts.splice(index, 1);
    const result = await this.exec(['image', 'umount', ref], { signal: false });
    return result.ok ? ok(undefined) : fail(result.error.map((f) => this.explain(f, 'image-umount-failed')));
  }

  /** `podman pull REF` (TLS per registry settings); returns the image id. */
  async pull(ref: string): Promise<Result<string>> {
    const qualified = this.requireQualified(ref);
    if (!qualified.ok) return qualified;
    return this.call(['pull', '-q', ...tlsArgs(this.options.settings, ref), ref], 'podman-pull-failed');
  }

  /**
   * `podman push SRC docker://DEST`; returns the pushed manifest digest. `tlsVerify` (the stash's
   * own `push.tls-verify`) wins over the registry settings when given.
   */
  async push(options: {
    source: string;
    dest: string;
    digestFile: string;
    tlsVerify?: boolean;
  }): Promise<Result<string>> {
    const qualified = this.requireQualified(options.dest);
    if (!qualified.ok) return qualified;
    const tls =
      options.tlsVerify === undefined
        ? tlsArgs(this.options.settings, options.dest)
        : options.tlsVerify
          ? []
          : ['--tls-verify=false'];
    const args = [
      'push',
      '-q',
      ...tls,
      '--digestfile',
      options.digestFile,
      options.source,
      `docker://${options.dest}`,
    ];
    return this.call(args, 'podman-push-failed');
  }

  /** Removes work containers left by kiwibox processes that no longer run (killed with SIGKILL). */
  async removeStaleWork(): Promise<void> {
    const listed = await this.exec(['ps', '-a', '--filter', `label=${WORK_LABEL}`, '--format', 'json']);
    if (!listed.ok) return;
    const containers = JSON.parse(listed.value.stdout || '[]') as {
      Names?: string[];
      Labels?: Record<string, string>;
    }[];
    for (const container of containers) {
      const pid = Number(container.Labels?.[WORK_LABEL]);
      const name = container.Names?.[0];
      if (!name || !Number.isInteger(pid) || pid === process.pid || pidAlive(pid)) continue;
      await this.exec(['rm', '-f', '--ignore', name], { signal: false });
    }
  }

  /** Unmounts and removes everything this session made; never aborted, never throws. */
  async cleanup(): Promise<Failure[]> {
    const problems: Failure[] = [];
    for (const ref of [...this.owned.imageMounts].reverse()) {
      const result = await this.unmountImage(ref);
      if (!result.ok) problems.push(...result.error);
    }
    for (const name of [...this.owned.containerMounts]) {
      // The container may be gone already (a failed create): removal below unmounts anyway.
      await this.exec(['unmount', name], { signal: false });
      this.owned.containerMounts.delete(name);
    }
    for (const name of [...this.owned.containers]) {
      const result = await this.exec(['rm', '-f', '--ignore', name], { signal: false });
      if (result.ok) this.owned.containers.delete(name);
      else problems.push(...result.error.map((f) => this.explain(f, 'container-cleanup-failed')));
    }
    return problems;
  }
}

/** Label on work containers: the pid of the kiwibox process that made it. */
export const WORK_LABEL = 'io.kiwibox.work-pid';

/** The parts of `podman image inspect` kiwibox uses. */
export interface ImageInfo {
  readonly id: string;
  readonly digest: string;
  readonly layers: number;
  readonly labels: Readonly<Record<string, string>>;
  readonly names: readonly string[];
}

interface RawImageInfo {
  Id: string;
  Digest?: string;
  RepoTags?: string[];
  Labels?: Record<string, string> | null;
  Config?: { Labels?: Record<string, string> | null };
  RootFS?: { Layers?: string[] };
}
