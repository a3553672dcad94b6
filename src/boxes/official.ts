/**
 * Official boxes: update check by the packages-file digest (as upstream), download of changed or
 * missing files (resumable, verified), kernel/initrd extraction once per tarball, all under the box's
 * store lock so parallel runs never race; a fresh box is verified through the stat-keyed digest cache.
 */

import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Dispatcher } from 'undici';
import { writeFileAtomic } from '../core/fs.js';
import { errorMessage, failWith, ok, type Result } from '../core/result.js';
import { runProcess } from '../process/run.js';
import { cachedDigest, rememberDigest } from './digest-cache.js';
import { type DownloadProgress, downloadFile, fetchPublishedSha256, fetchText } from './download.js';
import { type RegistryArch, type RegistryBox, resolveSource } from './registry.js';
import { type BoxState, boxDir, digestDir, lockBox, readState, writeState } from './store.js';

export interface OfficialBoxRequest {
  readonly box: RegistryBox;
  readonly arch: RegistryArch;
  /** Base URL for `obs://` sources. */
  readonly baseUrl: string;
  readonly store: string;
  /** false: no network unless a file is missing (upstream's --no-update-check). */
  readonly updateCheck: boolean;
  readonly signal?: AbortSignal;
  /** Human-readable lines (waiting for a lock, downloading, up to date). */
  readonly onLine?: (line: string) => void;
  readonly onProgress?: (file: string, progress: DownloadProgress) => void;
  /** Called when a file is actually hashed (tests). */
  readonly onHash?: (path: string) => void;
  readonly dispatcher?: Dispatcher;
  /**
   * The box disk is written by builds (`snapshot: false`, upstream's --no-snapshot): once fetched it
   * is not verified or re-fetched until the packages file announces an update (as upstream PR #88).
   */
  readonly writableDisk?: boolean;
}

/** A complete, verified official box in the store. */
export interface FetchedBox {
  readonly dir: string;
  readonly kernel: string;
  readonly initrd?: string;
  readonly disk?: string;
  /** Published sha256 by box file name. */
  readonly files: Readonly<Record<string, string>>;
  readonly packagesSha256?: string;
  /** Files downloaded by this call (empty when the box was fresh). */
  readonly downloaded: readonly string[];
}

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );
const isTarball = (f: string) => /\.tar(\.[a-z0-9]+)?$/.test(f);
const isDisk = (f: string) => /\.(qcow2|raw|img)$/.test(f);

/** sha256 of the published packages file now (the update signal), or undefined if the box has none. */
export async function packagesDigest(
  req: Pick<OfficialBoxRequest, 'arch' | 'baseUrl' | 'signal' | 'dispatcher'>,
): Promise<Result<string | undefined>> {
  if (!req.arch.packagesFile) return ok(undefined);
  const dirUrl = resolveSource(req.arch.source, req.baseUrl);
  if (!dirUrl.ok) return dirUrl;
  const text = await fetchText(`${dirUrl.value}${req.arch.packagesFile}`, {
    ...(req.signal ? { signal: req.signal } : {}),
    ...(req.dispatcher ? { dispatcher: req.dispatcher } : {}),
  });
  return text.ok ? ok(createHash('sha256').update(text.value).digest('hex')) : text;
}

async function extractKernel(tarball: string, dir: string, useInitrd: boolean, signal?: AbortSignal) {
  const tmp = await mkdtemp(join(dir, '.extract-'));
  try {
    const patterns = useInitrd ? ['*.kernel', '*.initrd'] : ['*.kernel'];
    const tar = await runProcess({
      argv: ['tar', '-C', tmp, '--wildcards', '--no-same-owner', '-xf', tarball, ...patterns],
      cwd: dir,
      ...(signal ? { signal } : {}),
    });
    if (!tar.ok) {
      return failWith({
        reason: 'box-kernel-missing',
        message: `${tarball}: no ${patterns.join(' / ')} inside (${tar.error[0]?.message})`,
      });
    }
    const found = await readdir(tmp, { recursive: true });
    for (const [suffix, target] of [
      ['.kernel', 'kernel'],
      ['.initrd', 'initrd'],
    ] as const) {
      const file = found.find((f) => f.endsWith(suffix));
      if (file) await rename(join(tmp, file), join(dir, target));
    }
    return ok(undefined);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** Makes the box complete and verified in the store; downloads only what changed or is missing. */
export async function ensureOfficialBox(req: OfficialBoxRequest): Promise<Result<FetchedBox>> {
  const { box, arch, store, signal } = req;
  const dir = boxDir(store, box.name, arch.name);
  const dirUrl = resolveSource(arch.source, req.baseUrl);
  if (!dirUrl.ok) return dirUrl;
  const net = { ...(signal ? { signal } : {}), ...(req.dispatcher ? { dispatcher: req.dispatcher } : {}) };
  const lock = await lockBox(store, box.name, arch.name, {
    ...(signal ? { signal } : {}),
    onWait: (pid) => req.onLine?.(`box ${box.name}: waiting for process ${pid} (store lock)`),
  });
  if (!lock.ok) return lock;
  try {
    await mkdir(dir, { recursive: true });
    const state: BoxState = (await readState(dir)) ?? { source: dirUrl.value, files: {} };
    let packages: string | undefined;
    let packagesSha = state.packagesSha256;
    if (req.updateCheck && arch.packagesFile) {
      const text = await fetchText(`${dirUrl.value}${arch.packagesFile}`, net);
      if (!text.ok) return text;
      packages = text.value;
      packagesSha = createHash('sha256').update(packages).digest('hex');
    }
    // A different base URL (a mirror) is no update: the files are checked by content.
    const update = packagesSha !== state.packagesSha256;
    if (update && state.packagesSha256)
      req.onLine?.(`box ${box.name}: update available (packages file changed)`);
    const files: Record<string, string> = {};
    const downloaded: string[] = [];
    for (const file of arch.boxfiles) {
      const path = join(dir, file);
      const known = state.files[file];
      // A disk the builds may write (upstream --no-snapshot) is kept as it is until an update.
      if (req.writableDisk && isDisk(file) && !update && known && (await exists(path))) {
        files[file] = known;
        continue;
      }
      const local = await cachedDigest(path, {
        cacheDir: digestDir(store),
        ...(req.onHash ? { onHash: req.onHash } : {}),
        ...(signal ? { signal } : {}),
      });
      if (!update && known && local.ok && local.value === known) {
        files[file] = known;
        continue;
      }
      if (local.ok && known && local.value !== known)
        req.onLine?.(`box ${box.name}: ${file} changed on disk, fetching again`);
      const published = await fetchPublishedSha256(`${dirUrl.value}${file}`, net);
      if (!published.ok) return published;
      if (local.ok && local.value === published.value) {
        files[file] = published.value;
        continue;
      }
      req.onLine?.(`box ${box.name}: downloading ${file}`);
      const got = await downloadFile({
        url: `${dirUrl.value}${file}`,
        dest: path,
        sha256: published.value,
        ...net,
        onProgress: (p) => req.onProgress?.(file, p),
        onRetry: (n, why) => req.onLine?.(`box ${box.name}: ${file}: ${why}; retry ${n}`),
      });
      if (!got.ok) return got;
      await rememberDigest(path, got.value.sha256, digestDir(store));
      files[file] = got.value.sha256;
      downloaded.push(file);
    }
    const tarball = arch.boxfiles.find(isTarball);
    if (!tarball)
      return failWith({
        reason: 'bad-box-registry',
        message: `box ${box.name}: no kernel tarball in boxfiles`,
      });
    const tarSha = files[tarball];
    const kernel = join(dir, 'kernel');
    const initrd = join(dir, 'initrd');
    const haveKernel = await stat(kernel).then(
      () => true,
      () => false,
    );
    const haveInitrd =
      !arch.useInitrd ||
      (await stat(initrd).then(
        () => true,
        () => false,
      ));
    let extractedFrom = state.extractedFrom;
    if (extractedFrom !== tarSha || !haveKernel || !haveInitrd) {
      const extracted = await extractKernel(join(dir, tarball), dir, arch.useInitrd, signal);
      if (!extracted.ok) return extracted;
      extractedFrom = tarSha;
    }
    if (packages !== undefined && arch.packagesFile)
      await writeFileAtomic(join(dir, arch.packagesFile), packages);
    const next: BoxState = {
      source: dirUrl.value,
      files,
      ...(packagesSha ? { packagesSha256: packagesSha } : {}),
      ...(extractedFrom ? { extractedFrom } : {}),
      updated: downloaded.length > 0 ? new Date().toISOString() : (state.updated ?? new Date().toISOString()),
    };
    await writeState(dir, next);
    if (downloaded.length === 0) req.onLine?.(`box ${box.name}: up to date`);
    const disk = arch.boxfiles.find(isDisk);
    return ok({
      dir,
      kernel,
      ...(arch.useInitrd ? { initrd } : {}),
      ...(disk ? { disk: join(dir, disk) } : {}),
      files,
      ...(packagesSha ? { packagesSha256: packagesSha } : {}),
      downloaded,
    });
  } catch (error) {
    return failWith({ reason: 'box-store-error', message: `box ${box.name}: ${errorMessage(error)}` });
  } finally {
    await lock.value.release();
  }
}

/** Re-hashes every stored file of the box (ignoring the digest cache) against its published digest. */
export async function verifyOfficialBox(
  req: Pick<OfficialBoxRequest, 'box' | 'arch' | 'store' | 'signal' | 'onHash'>,
): Promise<Result<Record<string, string>>> {
  const dir = boxDir(req.store, req.box.name, req.arch.name);
  const state = await readState(dir);
  if (!state)
    return failWith({
      reason: 'box-not-fetched',
      message: `box ${req.box.name} (${req.arch.name}) is not in the store`,
    });
  const bad: string[] = [];
  const verifyDir = join(dir, `.verify-${process.pid}-${Date.now()}`);
  for (const file of req.arch.boxfiles) {
    const expected = state.files[file];
    // A throwaway cache dir: forces a real read, and leaves the shared cache untouched on failure.
    const got = await cachedDigest(join(dir, file), {
      cacheDir: verifyDir,
      ...(req.onHash ? { onHash: req.onHash } : {}),
      ...(req.signal ? { signal: req.signal } : {}),
    });
    if (!got.ok || got.value !== expected)
      bad.push(`${file}: ${got.ok ? `sha256 ${got.value}, expected ${expected}` : got.error[0]?.message}`);
  }
  await rm(verifyDir, { recursive: true, force: true });
  if (bad.length > 0)
    return failWith({ reason: 'checksum-mismatch', message: `box ${req.box.name}: ${bad.join('; ')}` });
  return ok(state.files);
}
