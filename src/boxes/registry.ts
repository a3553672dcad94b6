/**
 * The official box registry in upstream's `kiwi_boxed_plugin.yml` format: a bundled default list,
 * optionally extended/overridden by a user file, and resolution of `obs://` sources to download URLs.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { errorMessage, type Failure, fail, failWith, ok, type Result } from '../core/result.js';
import { DEFAULT_OBS_BASE_URL, DEFAULT_REGISTRY_YAML } from './default-registry.js';

/** One architecture of a registry box. */
export interface RegistryArch {
  /** `x86_64`, `aarch64`, `s390x`, `ppc64le`. */
  readonly name: string;
  /** Kernel arguments of the box (root device, …), without `console=`. */
  readonly cmdline: readonly string[];
  /** `obs://Project:Sub/repo` or an `http(s)://` directory URL. */
  readonly source: string;
  /** File whose digest signals a box update (upstream's update check). */
  readonly packagesFile?: string;
  /** Box files: `*-Kernel.tar.xz` (kernel and initrd inside) and `*.qcow2`. */
  readonly boxfiles: readonly string[];
  readonly container?: string;
  readonly useInitrd: boolean;
}

export interface RegistryBox {
  readonly name: string;
  /** QEMU memory (`8096M`); upstream's `mem_mb`, a bare number meaning MiB. */
  readonly memory: string;
  readonly processors?: number;
  readonly console: string;
  readonly arches: readonly RegistryArch[];
}

export interface Registry {
  readonly boxes: readonly RegistryBox[];
}

const ARCHES = new Set(['x86_64', 's390x', 'aarch64', 'ppc64', 'ppc64le']);

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStrList = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

function bad(file: string, message: string): Failure {
  return { reason: 'bad-box-registry', message: `${file}: ${message}` };
}

function parseArch(raw: unknown, where: string, file: string, errors: Failure[]): RegistryArch | undefined {
  if (!isObj(raw)) {
    errors.push(bad(file, `${where}: expected a mapping`));
    return undefined;
  }
  const name = raw.name;
  const { cmdline, source, boxfiles } = raw;
  const before = errors.length;
  if (typeof name !== 'string' || !ARCHES.has(name))
    errors.push(bad(file, `${where}.name: not a known arch`));
  if (!isStrList(cmdline)) errors.push(bad(file, `${where}.cmdline: expected a list of strings`));
  if (typeof source !== 'string') errors.push(bad(file, `${where}.source: expected a string`));
  if (!isStrList(boxfiles) || boxfiles.length === 0)
    errors.push(bad(file, `${where}.boxfiles: expected files`));
  if (raw.packages_file !== undefined && typeof raw.packages_file !== 'string') {
    errors.push(bad(file, `${where}.packages_file: expected a string`));
  }
  for (const f of [...(isStrList(boxfiles) ? boxfiles : []), raw.packages_file]) {
    if (typeof f === 'string' && (f.includes('/') || f.startsWith('.') || f === '')) {
      errors.push(bad(file, `${where}: file name '${f}' must be a plain name`));
    }
  }
  if (errors.length > before) return undefined;
  return {
    name: name as string,
    cmdline: cmdline as string[],
    source: source as string,
    boxfiles: boxfiles as string[],
    ...(typeof raw.packages_file === 'string' ? { packagesFile: raw.packages_file } : {}),
    ...(typeof raw.container === 'string' ? { container: raw.container } : {}),
    useInitrd: raw.use_initrd === true,
  };
}

/** Parses registry text (upstream schema: `box:` list of boxes with `arch:` lists). */
export function parseRegistry(text: string, file: string): Result<Registry> {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (error) {
    return failWith(bad(file, `not valid YAML: ${errorMessage(error)}`));
  }
  if (!isObj(doc) || !Array.isArray(doc.box)) return failWith(bad(file, 'expected a top-level `box:` list'));
  const errors: Failure[] = [];
  const boxes: RegistryBox[] = [];
  doc.box.forEach((raw, i) => {
    const where = `box[${i}]`;
    if (!isObj(raw) || typeof raw.name !== 'string' || raw.name === '') {
      errors.push(bad(file, `${where}: expected a mapping with a name`));
      return;
    }
    const mem = raw.mem_mb;
    const memory =
      typeof mem === 'number' ? `${mem}M` : typeof mem === 'string' && /^\d+[KMGT]?$/.test(mem) ? mem : '';
    if (memory === '') errors.push(bad(file, `${where}.mem_mb: expected a size like 8096M`));
    if (typeof raw.console !== 'string') errors.push(bad(file, `${where}.console: expected a string`));
    const processors = raw.processors;
    if (processors !== undefined && !(Number.isInteger(processors) && (processors as number) > 0)) {
      errors.push(bad(file, `${where}.processors: expected a positive integer`));
    }
    if (!Array.isArray(raw.arch)) {
      errors.push(bad(file, `${where}.arch: expected a list`));
      return;
    }
    const arches = raw.arch.map((a, j) => parseArch(a, `${where}.arch[${j}]`, file, errors));
    if (arches.some((a) => a === undefined) || memory === '' || typeof raw.console !== 'string') return;
    boxes.push({
      name: raw.name,
      memory,
      console: raw.console,
      ...(typeof processors === 'number' ? { processors } : {}),
      arches: arches as RegistryArch[],
    });
  });
  return errors.length > 0 ? fail(errors) : ok({ boxes });
}

/** Boxes of `overlay` replace same-named boxes of `base`; others are added after. */
export function mergeRegistries(base: Registry, overlay: Registry): Registry {
  const names = new Set(overlay.boxes.map((b) => b.name));
  return { boxes: [...base.boxes.filter((b) => !names.has(b.name)), ...overlay.boxes] };
}

/** The bundled default registry. */
export function defaultRegistry(): Registry {
  const parsed = parseRegistry(DEFAULT_REGISTRY_YAML, '<bundled kiwi_boxed_plugin.yml>');
  if (!parsed.ok) throw new Error(`Internal error: bundled registry: ${parsed.error[0]?.message}`);
  return parsed.value;
}

/**
 * Where upstream's plugin looks for its registry (after `$KIWI_BOXED_PLUGIN_CFG`), so a file set up
 * for `kiwi-ng system boxbuild` keeps working. Its `$PWD/kiwi_boxed_plugin.yml` step is left out: a
 * file picked up from whatever directory kiwibox runs in would be a surprise.
 */
export function upstreamRegistryPaths(env: Readonly<Record<string, string | undefined>>): string[] {
  return [
    ...(env.KIWI_BOXED_PLUGIN_CFG ? [env.KIWI_BOXED_PLUGIN_CFG] : []),
    ...(env.HOME ? [`${env.HOME}/.config/kiwi/kiwi_boxed_plugin.yml`] : []),
    '/etc/kiwi_boxed_plugin.yml',
  ];
}

/**
 * The registry in effect: the bundled list, merged with a user file: `file` if given, else
 * `$KIWIBOX_BOX_REGISTRY`, else the first of upstream's locations that exists (see
 * upstreamRegistryPaths; pass `upstream: []` to skip them).
 */
export function loadRegistry(options: {
  readonly file?: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly upstream?: readonly string[];
}): Result<Registry> {
  const env = options.env ?? process.env;
  const upstream = (options.upstream ?? upstreamRegistryPaths(env)).find((p) => existsSync(p));
  const file = options.file ?? (env.KIWIBOX_BOX_REGISTRY || upstream);
  if (file === undefined || file === '') return ok(defaultRegistry());
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    return failWith({
      reason: 'bad-box-registry',
      message: `cannot read box registry ${file}: ${errorMessage(error)}`,
    });
  }
  const user = parseRegistry(text, file);
  return user.ok ? ok(mergeRegistries(defaultRegistry(), user.value)) : user;
}

/** The entry for `name` on `arch`, or a failure naming what exists. */
export function findBox(
  registry: Registry,
  name: string,
  arch: string,
): Result<{ box: RegistryBox; arch: RegistryArch }> {
  const box = registry.boxes.find((b) => b.name === name);
  if (!box) {
    const known = registry.boxes.map((b) => b.name).join(', ');
    return failWith({ reason: 'unknown-box', message: `no box '${name}' in the registry (known: ${known})` });
  }
  const entry = box.arches.find((a) => a.name === arch);
  if (!entry) {
    const known = box.arches.map((a) => a.name).join(', ');
    return failWith({
      reason: 'box-arch-unavailable',
      message: `box '${name}' has no ${arch} variant (has: ${known})`,
    });
  }
  return ok({ box, arch: entry });
}

/** Base URL for `obs://` sources: explicit, then `$KIWIBOX_BOX_BASE_URL`, then OBS's download server. */
export function boxBaseUrl(options: {
  readonly baseUrl?: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
}): string {
  const env = options.env ?? process.env;
  return options.baseUrl ?? (env.KIWIBOX_BOX_BASE_URL || DEFAULT_OBS_BASE_URL);
}

/**
 * The directory URL (ending in `/`) a registry source points at. `obs://A:B:C/images` becomes
 * `<base>/A:/B:/C/images/` as kiwi's Uri does; `http(s)://` sources are taken as they are.
 */
export function resolveSource(source: string, baseUrl: string): Result<string> {
  if (/^https?:\/\//.test(source)) return ok(source.endsWith('/') ? source : `${source}/`);
  const match = /^obs:\/\/+([^/]+)(\/.*)?$/.exec(source);
  if (!match?.[1]) {
    return failWith({
      reason: 'bad-box-source',
      message: `unsupported box source '${source}' (obs:// or http(s)://)`,
    });
  }
  const project = match[1].replaceAll(':', ':/');
  const rest = (match[2] ?? '').replace(/^\/+|\/+$/g, '');
  const base = baseUrl.replace(/\/+$/, '');
  return ok(`${base}/${project}/${rest === '' ? '' : `${rest}/`}`);
}
