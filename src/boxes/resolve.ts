/**
 * BoxStep → Box for each source: official (registry + store), local (files), host (Debian kernel +
 * generated initramfs + the host's /usr). Shared by the box step executor and `kiwibox box`.
 *
 * Keys read from the box step's raw YAML mapping (BoxStep.raw):
 *   official: `registry` (path of a kiwi_boxed_plugin.yml, relative to the project dir),
 *             `base-url` (download base for obs:// sources), `update-check` (bool, default true),
 *             `snapshot` (false: builds write the box disk, upstream's --no-snapshot; it is then
 *             neither verified nor re-fetched until an update is published)
 *   local:    `console` (default ttyS0 on x86_64, ttyAMA0 on aarch64), `network` (bool: give the guest
 *             a NIC with user networking; official and host boxes always get one)
 */
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import type { Dispatcher } from 'undici';
import type { BoxStep } from '../core/model.js';
import { type Failure, fail, ok, type Result } from '../core/result.js';
import type { Box } from './box.js';
import { cachedDigest } from './digest-cache.js';
import type { DownloadProgress } from './download.js';
import { ensureHostBox } from './host-box.js';
import { ensureOfficialBox } from './official.js';
import { boxBaseUrl, findBox, loadRegistry, type RegistryArch, type RegistryBox } from './registry.js';
import { boxStoreDir, digestDir } from './store.js';

type Env = Readonly<Record<string, string | undefined>>;

export interface ResolveContext {
  readonly projectDir: string;
  readonly signal?: AbortSignal;
  readonly env?: Env;
  readonly onLine?: (line: string) => void;
  readonly onProgress?: (file: string, progress: DownloadProgress) => void;
  readonly onHash?: (path: string) => void;
  readonly dispatcher?: Dispatcher;
}

/** The default console device per architecture for boxes that do not name one. */
export function defaultConsole(arch: string): string {
  return arch === 'aarch64' ? 'ttyAMA0' : 'ttyS0';
}

/** The registry entry of an official box step, with the step's registry/base-url settings applied. */
export function officialEntry(
  step: BoxStep,
  ctx: Pick<ResolveContext, 'projectDir' | 'env'>,
): Result<{ box: RegistryBox; arch: RegistryArch; baseUrl: string; updateCheck: boolean }> {
  const raw = step.raw;
  const file = typeof raw.registry === 'string' ? resolve(ctx.projectDir, raw.registry) : undefined;
  const registry = loadRegistry({ ...(file ? { file } : {}), ...(ctx.env ? { env: ctx.env } : {}) });
  if (!registry.ok) return registry;
  const found = findBox(registry.value, step.name, step.arch);
  if (!found.ok) return fail(found.error.map((f) => ({ ...f, step: step.id, location: step.location })));
  const baseUrl = boxBaseUrl({
    ...(typeof raw['base-url'] === 'string' ? { baseUrl: raw['base-url'] } : {}),
    ...(ctx.env ? { env: ctx.env } : {}),
  });
  return ok({ ...found.value, baseUrl, updateCheck: raw['update-check'] !== false });
}

/** sha256 over what makes a box itself: its files' digests, command line and arch. */
export function boxDigest(parts: {
  files: readonly (string | undefined)[];
  cmdline: string;
  arch: string;
}): string {
  return createHash('sha256')
    .update(
      JSON.stringify({ files: parts.files.map((f) => f ?? null), cmdline: parts.cmdline, arch: parts.arch }),
    )
    .digest('hex');
}

/** Digests of the box's files (stat-cached), in kernel/initrd/disk order. */
export async function fileDigests(
  paths: readonly (string | undefined)[],
  ctx: Pick<ResolveContext, 'signal' | 'onHash'> & { store: string },
): Promise<Result<(string | undefined)[]>> {
  const out: (string | undefined)[] = [];
  const errors: Failure[] = [];
  for (const path of paths) {
    if (path === undefined) {
      out.push(undefined);
      continue;
    }
    const digest = await cachedDigest(path, {
      cacheDir: digestDir(ctx.store),
      ...(ctx.signal ? { signal: ctx.signal } : {}),
      ...(ctx.onHash ? { onHash: ctx.onHash } : {}),
    });
    if (digest.ok) out.push(digest.value);
    else errors.push(...digest.error);
  }
  return errors.length > 0 ? fail(errors) : ok(out);
}

const withConsole = (console: string, cmdline: string) =>
  /(^|\s)console=/.test(cmdline) ? cmdline : `console=${console}${cmdline ? ` ${cmdline}` : ''}`;

/** Resolves any box step into a bootable Box (fetching, checking or generating its files). */
export async function resolveBox(step: BoxStep, ctx: ResolveContext): Promise<Result<Box>> {
  const store = boxStoreDir(ctx.env);
  const tag = (failures: Failure[]) => fail(failures.map((f) => ({ step: step.id, ...f })));
  const userSet = (field: string) => step.fields[field] !== undefined;
  let kernel: string;
  let initrd: string | undefined;
  let disk: string | undefined;
  let cmdline: string;
  let consoleDev: string;
  let memory = step.memory;
  let cpus = step.cpus;
  let extraShares: Box['extraShares'];
  let diskDigest: string | undefined;
  // Official and host boxes fetch packages; a local box has a NIC only when it asks (`network: true`).
  let network = step.raw.network === true;
  switch (step.source) {
    case 'official': {
      const entry = officialEntry(step, ctx);
      if (!entry.ok) return tag(entry.error);
      const writableDisk = step.raw.snapshot === false;
      const fetched = await ensureOfficialBox({ ...entry.value, store, ...ctx, writableDisk });
      if (!fetched.ok) return tag(fetched.error);
      ({ kernel, initrd, disk } = fetched.value);
      // The disk's identity is its published digest (verified at download; a writable one changes).
      const diskName = disk?.split('/').pop();
      diskDigest = diskName ? fetched.value.files[diskName] : undefined;
      consoleDev = entry.value.box.console;
      cmdline = withConsole(consoleDev, [...entry.value.arch.cmdline, step.cmdline ?? ''].join(' ').trim());
      // The registry's sizes apply unless the step sets its own.
      if (!userSet('memory')) memory = entry.value.box.memory;
      network = true;
      if (!userSet('cpus') && entry.value.box.processors) cpus = entry.value.box.processors;
      break;
    }
    case 'local': {
      if (step.kernel === undefined)
        return tag([{ reason: 'box-kernel-missing', message: 'a local box needs a kernel' }]);
      ({ kernel, initrd, disk } = step);
      consoleDev = typeof step.raw.console === 'string' ? step.raw.console : defaultConsole(step.arch);
      cmdline = withConsole(consoleDev, step.cmdline ?? '');
      break;
    }
    case 'host': {
      const host = await ensureHostBox({ store, arch: step.arch, ...ctx });
      if (!host.ok) return tag(host.error);
      ({ kernel, initrd } = host.value);
      consoleDev = defaultConsole(step.arch);
      cmdline = withConsole(consoleDev, `${host.value.cmdline} ${step.cmdline ?? ''}`.trim());
      extraShares = host.value.shares;
      network = true;
      break;
    }
  }
  const digests = await fileDigests([kernel, initrd, diskDigest ? undefined : disk], { store, ...ctx });
  if (!digests.ok) return tag(digests.error);
  if (diskDigest) digests.value[2] = diskDigest;
  return ok({
    name: step.name,
    arch: step.arch,
    kernel,
    ...(initrd ? { initrd } : {}),
    ...(disk ? { disk } : {}),
    cmdline,
    memory,
    cpus,
    console: consoleDev,
    ...(extraShares ? { extraShares } : {}),
    ...(network ? { network } : {}),
    digest: boxDigest({ files: digests.value, cmdline, arch: step.arch }),
  });
}
