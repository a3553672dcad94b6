/**
 * What a boot test's image step builds: the KIWI type kiwi-ng will build for it (resolved with its
 * profiles by kiwi/build-type.ts) and that type's `firmware`, which decides how QEMU boots it.
 */
import type { BuildStep, StackStep } from '../core/model.js';
import { stepBuildType } from '../kiwi/build-type.js';

/** KIWI image types that make a file QEMU can boot (a disk or an iso). */
export const BOOTABLE_TYPES: readonly string[] = ['oem', 'iso'];

export interface ImageType {
  /** The KIWI type name (`oem`, `iso`, `tbz`, …). */
  readonly image: string;
  /** The <type>'s `firmware` attribute as written (`efi`, `bios`, …), if any. */
  readonly firmware?: string;
  /** The config file it was read from. */
  readonly file: string;
}

/** UEFI for `efi`/`uefi` (x86_64 kiwi disks then also keep a legacy BIOS boot), else BIOS only. */
export function defaultFirmware(type: ImageType): 'bios' | 'uefi' {
  return type.firmware === 'efi' || type.firmware === 'uefi' ? 'uefi' : 'bios';
}

/** True if the image boots with `firmware`: a BIOS-only image cannot boot under UEFI. */
export function bootsWith(type: ImageType, firmware: 'bios' | 'uefi'): boolean {
  return firmware === 'bios' || defaultFirmware(type) === 'uefi';
}

/**
 * The type `step` builds, or undefined when it cannot be known before the build (a stack without a
 * description builds what the stacked root's own description says) or the description is unreadable
 * or has no type for the step (the build step's own checks report that).
 */
export function imageTypeOf(step: BuildStep | StackStep): ImageType | undefined {
  if (step.description === undefined) return undefined;
  const resolved = stepBuildType(step, step.location);
  if (!resolved.ok) return undefined;
  const { image, attributes, file } = resolved.value;
  const firmware = attributes.firmware;
  return firmware === undefined ? { image, file } : { image, firmware, file };
}
