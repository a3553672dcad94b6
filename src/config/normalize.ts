/**
 * Schema-valid data → the normalised model: defaults filled in, paths made absolute, edges listed,
 * and the YAML location of every field kept. No reference checks here (see references.ts).
 */
import { resolve } from 'node:path';
import type { Document } from 'yaml';
import { DEFAULT_FAIL_ON } from '../boot/patterns.js';
import type {
  BootTestStep,
  BoxStep,
  BuildStep,
  PodmanSettings,
  Sharing,
  StackStep,
  StashStep,
  Step,
  StepKind,
  TaskStep,
} from '../core/model.js';
import type { Location } from '../core/result.js';
import { locate } from './yaml-ast.js';

/** YAML section of each step kind. */
export const SECTIONS = {
  boxes: 'box',
  builds: 'build',
  stashes: 'stash',
  stacks: 'stack',
  tasks: 'task',
  'boot-tests': 'boot-test',
} as const satisfies Record<string, StepKind>;

export type Section = keyof typeof SECTIONS;
type Raw = Record<string, unknown>;

/** Default seconds before a boot test's VM is powered off. */
export const DEFAULT_BOOT_TIMEOUT = 600;

/** Default seconds before a boxed build is stopped. */
export const DEFAULT_BUILD_TIMEOUT = 2 * 60 * 60;

export function parseDuration(value: number | string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value === 'number') return value;
  const unit = value.at(-1);
  const n = Number.parseInt(value, 10);
  return unit === 'h' ? n * 3600 : unit === 'm' ? n * 60 : n;
}

export interface StepDraft {
  readonly step: Step;
  readonly section: Section;
  /** The entry as written (after ${VAR} expansion). */
  readonly raw: Readonly<Raw>;
}

interface Context {
  readonly doc: Document;
  readonly file: string;
  readonly dir: string;
}

function fieldsOf(ctx: Context, section: Section, id: string, raw: Raw): Record<string, Location> {
  const fields: Record<string, Location> = {};
  for (const [key, value] of Object.entries(raw)) {
    fields[key] = { file: ctx.file, ...locate(ctx.doc, [section, id, key]) };
    // List items get their own entries (`needs.1`) so a bad item is pointed at, not the list.
    if (Array.isArray(value)) {
      value.forEach((_item, i) => {
        fields[`${key}.${i}`] = { file: ctx.file, ...locate(ctx.doc, [section, id, key, String(i)]) };
      });
    }
  }
  return fields;
}

const strings = (value: unknown): string[] => (Array.isArray(value) ? value.map(String) : []);
const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const sorted = (ids: Iterable<string | undefined>): string[] =>
  [...new Set([...ids].filter((id): id is string => id !== undefined))].sort();

function box(ctx: Context, id: string, raw: Raw): Omit<BoxStep, 'location' | 'fields' | 'deps'> {
  const source = raw.host === true ? 'host' : raw.kernel !== undefined ? 'local' : 'official';
  const path = (key: string) =>
    typeof raw[key] === 'string' ? resolve(ctx.dir, raw[key] as string) : undefined;
  return {
    kind: 'box',
    id,
    source,
    name: str(raw.name) ?? id,
    kernel: path('kernel'),
    initrd: path('initrd'),
    disk: path('disk'),
    cmdline: str(raw.cmdline),
    memory: str(raw.memory) ?? (source === 'official' ? '8G' : '1G'),
    cpus: typeof raw.cpus === 'number' ? raw.cpus : source === 'official' ? 4 : 1,
    arch: raw.arch === 'aarch64' ? 'aarch64' : 'x86_64',
    accel: raw.accel === 'kvm' || raw.accel === 'tcg' ? raw.accel : 'auto',
    raw,
  };
}

/** Turns one section entry into a step (without deps on unresolved names: see `edgesOf`). */
function draft(ctx: Context, section: Section, id: string, raw: Raw): Step {
  const location: Location = { file: ctx.file, ...locate(ctx.doc, [section, id], true) };
  const fields = fieldsOf(ctx, section, id, raw);
  const needs = strings(raw.needs);
  const abs = (value: unknown) => resolve(ctx.dir, String(value));
  switch (SECTIONS[section]) {
    case 'box': {
      return { ...box(ctx, id, raw), location, fields, deps: sorted(needs) };
    }
    case 'build': {
      const step: BuildStep = {
        kind: 'build',
        id,
        location,
        fields,
        description: abs(raw.description),
        targetDir: abs(raw['target-dir']),
        type: str(raw.type),
        profiles: strings(raw.profiles),
        kiwiArgs: strings(raw['kiwi-args']),
        box: str(raw.box),
        sharing: (str(raw.sharing) ?? '9p') as Sharing,
        timeout: parseDuration(raw.timeout as number | string | undefined, DEFAULT_BUILD_TIMEOUT),
        deps: sorted([...needs, str(raw.box)]),
      };
      return step;
    }
    case 'stash': {
      const push = raw.push as Raw | undefined;
      const step: StashStep = {
        kind: 'stash',
        id,
        location,
        fields,
        // Whether `root` names a build is decided by references.ts; a directory until then.
        root: { dir: abs(raw.root) },
        name: id,
        tag: str(raw.tag) ?? 'latest',
        push: push ? { registry: String(push.registry), tlsVerify: push['tls-verify'] !== false } : undefined,
        deps: sorted(needs),
      };
      return step;
    }
    case 'stack': {
      const step: StackStep = {
        kind: 'stack',
        id,
        location,
        fields,
        images: strings(raw.images).map((ref) => ({ ref })),
        fromRegistry: str(raw['from-registry']),
        description: raw.description === undefined ? undefined : abs(raw.description),
        targetDir: abs(raw['target-dir']),
        box: str(raw.box),
        type: str(raw.type),
        profiles: strings(raw.profiles),
        kiwiArgs: strings(raw['kiwi-args']),
        keepDirlinks: raw['keep-dirlinks'] === true,
        deps: sorted([...needs, str(raw.box)]),
      };
      return step;
    }
    case 'boot-test': {
      const failOn = strings(raw['fail-on']);
      const step: BootTestStep = {
        kind: 'boot-test',
        id,
        location,
        fields,
        image: String(raw.image),
        firmware: raw.firmware === 'bios' || raw.firmware === 'uefi' ? raw.firmware : undefined,
        memory: str(raw.memory) ?? '1G',
        cpus: typeof raw.cpus === 'number' ? raw.cpus : 1,
        accel: raw.accel === 'kvm' || raw.accel === 'tcg' ? raw.accel : 'auto',
        expect: strings(raw.expect),
        failOn: raw['default-fail-on'] === false ? failOn : [...DEFAULT_FAIL_ON, ...failOn],
        timeout: parseDuration(raw.timeout as number | string | undefined, DEFAULT_BOOT_TIMEOUT),
        deps: sorted([...needs, String(raw.image)]),
      };
      return step;
    }
    case 'task': {
      const step: TaskStep = {
        kind: 'task',
        id,
        location,
        fields,
        run: typeof raw.run === 'string' ? raw.run : strings(raw.run),
        inputs: strings(raw.inputs),
        outputs: strings(raw.outputs),
        env: (raw.env as Record<string, string> | undefined) ?? {},
        deps: sorted(needs),
      };
      return step;
    }
  }
}

/** `raw` without its `x-` extension keys (ignored, and kept out of fingerprints), at every level. */
export function withoutExtensions(raw: Raw): Raw {
  const kept: Raw = {};
  for (const [key, value] of Object.entries(raw)) {
    if (key.startsWith('x-')) continue;
    const plain = value !== null && typeof value === 'object' && !Array.isArray(value);
    // `env` and `registries` map names (a variable, a registry host): an x- name there is no extension.
    if (plain && (key === 'env' || key === 'registries')) {
      kept[key] = Object.fromEntries(
        Object.entries(value as Record<string, unknown>).map(([name, v]) => [
          name,
          v !== null && typeof v === 'object' && !Array.isArray(v) ? withoutExtensions(v as Raw) : v,
        ]),
      );
    } else kept[key] = plain ? withoutExtensions(value as Raw) : value;
  }
  return kept;
}

/** All steps of the file in declaration order (duplicates across sections included, for reporting). */
export function draftSteps(options: { doc: Document; file: string; dir: string; value: Raw }): StepDraft[] {
  const ctx: Context = { doc: options.doc, file: options.file, dir: options.dir };
  const drafts: StepDraft[] = [];
  for (const section of Object.keys(SECTIONS) as Section[]) {
    const entries = (options.value[section] ?? {}) as Record<string, Raw | null>;
    for (const [id, given] of Object.entries(entries)) {
      const raw = withoutExtensions(given ?? {});
      drafts.push({ section, raw, step: draft(ctx, section, id, raw) });
    }
  }
  return drafts;
}

/** `podman:` settings, with registries used by stash pushes defaulting to TLS on. */
export function podmanSettings(options: { value: Raw; dir: string }): PodmanSettings {
  const raw = withoutExtensions((options.value.podman ?? {}) as Raw);
  const path = (key: string) =>
    typeof raw[key] === 'string' ? resolve(options.dir, raw[key] as string) : undefined;
  const registries: Record<string, { tlsVerify: boolean }> = {};
  for (const [host, settings] of Object.entries((raw.registries ?? {}) as Record<string, Raw>)) {
    registries[host] = { tlsVerify: settings['tls-verify'] !== false };
  }
  return {
    root: path('root'),
    runroot: path('runroot'),
    tmpdir: path('tmpdir'),
    storageDriver: str(raw['storage-driver']),
    registries,
  };
}
