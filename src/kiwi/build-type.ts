/**
 * Which <type> a build gets, resolved as kiwi-ng 9 does (XMLState: _used_profiles, _profiled,
 * _build_type_section):
 * - profiles: the step's, each with the profiles it <requires>; none given → those with import="true";
 *   a profile whose `arch` excludes the build arch does not exist;
 * - types: those in <preferences> without `profiles` or naming a selected profile (and whose `arch`
 *   allows the build arch);
 * - the step's `type:` must be among them (`vmx` means oem, as kiwi-ng 9's command line has it; its
 *   XSLT turns <type image="vmx"> of schemaversion ≤ 7.2 into oem too); else the primary one, else the first; none → kiwi-ng fails
 *   with "No build type defined with applied profiles: […]".
 */
import { arch as nodeArch } from 'node:os';
import type { Location } from '../core/result.js';
import { fail, ok, type Result } from '../core/result.js';
import type { KiwiDescription, KiwiType } from './description.js';
import { readDescription } from './description.js';
import { kiwiFileOf } from './description-file.js';

/** The build type a step makes: the <type>'s `image` and all its attributes (format, firmware, …). */
export interface ResolvedBuildType {
  readonly image: string;
  readonly attributes: Readonly<Record<string, string>>;
  /** The profiles kiwi-ng applies (requested or import="true", plus what they require). */
  readonly profiles: readonly string[];
  /** The description file read. */
  readonly file: string;
}

export type BuildTypeProblem =
  | { readonly reason: 'unknown-profile'; readonly message: string; readonly profileIndex: number }
  | { readonly reason: 'unknown-type' | 'no-build-type'; readonly message: string };

/** kiwi's name for the build host's (or a box's) architecture. */
export function kiwiArch(arch: string = nodeArch()): string {
  return arch === 'x64' ? 'x86_64' : arch === 'arm64' ? 'aarch64' : arch;
}

const allows = (archs: readonly string[], arch: string) => archs.length === 0 || archs.includes(arch);
const pyList = (names: readonly string[]) => `[${names.map((n) => `'${n}'`).join(', ')}]`;

/** Resolves type and profiles of a build against its description (see the file comment). */
export function resolveBuildType(
  desc: KiwiDescription,
  request: { readonly type?: string; readonly profiles: readonly string[]; readonly arch?: string },
): Result<ResolvedBuildType, BuildTypeProblem[]> {
  const arch = request.arch ?? kiwiArch();
  // kiwi-ng 9's command line reads `--type vmx` as oem ("vmx type is now a subset of oem").
  const wanted = request.type === 'vmx' ? 'oem' : request.type;
  const available = new Map(desc.profiles.filter((p) => allows(p.arch, arch)).map((p) => [p.name, p]));
  const problems: BuildTypeProblem[] = [];
  let profiles: string[];
  if (request.profiles.length === 0) {
    profiles = [...available.values()].filter((p) => p.import).map((p) => p.name);
  } else {
    profiles = [];
    const add = (name: string, index: number) => {
      if (profiles.includes(name)) return;
      const profile = available.get(name);
      if (!profile) {
        const declared = desc.profiles.map((p) => p.name);
        const message = declared.includes(name)
          ? `profile '${name}' in ${desc.file} is not for ${arch} (its arch attribute excludes it)`
          : `profile '${name}' is not declared in ${desc.file} (it has: ${declared.join(', ') || 'none'})`;
        problems.push({ reason: 'unknown-profile', message, profileIndex: index });
        return;
      }
      profiles.push(name);
      for (const required of profile.requires) add(required, index);
    };
    for (const [index, name] of request.profiles.entries()) add(name, index);
  }
  // Unknown profiles are reported; the type is still checked against the known ones.
  const selected = desc.types.filter(
    (t) => allows(t.arch, arch) && (t.profiles.length === 0 || t.profiles.some((p) => profiles.includes(p))),
  );
  let chosen: KiwiType | undefined;
  if (wanted !== undefined) {
    chosen = selected.find((t) => t.image === wanted);
    if (!chosen) problems.push({ reason: 'unknown-type', message: typeMissing(desc, wanted, profiles) });
  } else {
    chosen = selected.find((t) => t.primary) ?? selected[0];
    if (!chosen && problems.length === 0) {
      const hint = desc.types.length
        ? `: every <type> sits in a <preferences profiles=…> and none of them is selected; give the step 'profiles:' (${profileNames(desc.types)}) or mark a profile import="true"`
        : ': the description has no <type>';
      problems.push({
        reason: 'no-build-type',
        message: `kiwi-ng would fail with "No build type defined with applied profiles: ${pyList(profiles)}"${hint}`,
      });
    }
  }
  if (problems.length > 0 || !chosen) return fail(problems);
  return ok({ image: chosen.image, attributes: chosen.attributes, profiles, file: desc.file });
}

function profileNames(types: readonly KiwiType[]): string {
  return [...new Set(types.flatMap((t) => t.profiles))].join(', ');
}

function typeMissing(desc: KiwiDescription, type: string, profiles: readonly string[]): string {
  const base = `type '${type}' is not declared in ${desc.file} for the applied profiles ${pyList(profiles)}`;
  const elsewhere = desc.types.filter((t) => t.image === type);
  if (elsewhere.length > 0) {
    return `${base}: it is declared only under profile(s) ${profileNames(elsewhere)} (or another arch); add one to the step's 'profiles:'`;
  }
  const names = [...new Set(desc.types.map((t) => t.image))];
  return `${base} (it has: ${names.join(', ') || 'none'})`;
}

/** A build or stack step, as far as its build type goes. */
export interface BuildTypeRequest {
  readonly description?: string;
  readonly type?: string;
  readonly profiles: readonly string[];
  readonly kiwiArgs: readonly string[];
  /** The build arch (a box's arch); default: this host's. */
  readonly arch?: string;
}

/**
 * The build type a build or stack step makes, with its attributes: e.g. `image: 'oem'` and
 * `attributes.firmware: 'uefi'` tell that the step makes a bootable disk and how it boots.
 * Undefined `description` (a stack rebuilding its stash's own description) is an error here.
 */
export function stepBuildType(step: BuildTypeRequest, where: Location): Result<ResolvedBuildType> {
  if (step.description === undefined) {
    return fail([
      { reason: 'missing-description', message: 'the step names no description', location: where },
    ]);
  }
  const kiwiFile = kiwiFileOf(step.kiwiArgs);
  const read = readDescription(step.description, where, kiwiFile === undefined ? {} : { kiwiFile });
  if (!read.ok) return read;
  const resolved = resolveBuildType(read.value, {
    ...(step.type !== undefined ? { type: step.type } : {}),
    profiles: step.profiles,
    ...(step.arch !== undefined ? { arch: step.arch } : {}),
  });
  if (resolved.ok) return resolved;
  return fail(resolved.error.map((p) => ({ reason: p.reason, message: p.message, location: where })));
}
