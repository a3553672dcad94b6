/**
 * What a boot test's image step builds: the selected KIWI <type> (the step's `type:`, else the
 * description's primary type) and its `firmware`. The one place that reads that from a description,
 * so it can switch to src/kiwi's own type resolution once that exists.
 */
import { readFileSync } from 'node:fs';
import { XMLParser } from 'fast-xml-parser';
import type { BuildStep, StackStep } from '../../core/model.js';
import { findConfigFile, readDescription } from '../../kiwi/description.js';

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

type XmlNode = Record<string, unknown>;
const asArray = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

/**
 * The type `step` builds, or undefined when it cannot be known before the build (a stack without a
 * description builds what the stacked root's own description says) or the description is unreadable
 * (the build step's own checks report that).
 */
export function imageTypeOf(step: BuildStep | StackStep): ImageType | undefined {
  if (step.description === undefined) return undefined;
  const found = findConfigFile(step.description);
  if (!found.ok) return undefined;
  const desc = readDescription(step.description, { file: found.value, offset: 0, length: 0 });
  if (!desc.ok) return undefined;
  const name = step.type ?? desc.value.primaryType;
  if (name === undefined) return undefined;
  let firmware: string | undefined;
  try {
    const parser = new XMLParser({
      ignoreAttributes: false,
      attributeNamePrefix: '@_',
      isArray: (tag) => ['preferences', 'type'].includes(tag),
    });
    const root = (parser.parse(readFileSync(found.value, 'utf8')) as XmlNode).image as XmlNode | undefined;
    for (const prefs of asArray(root?.preferences as XmlNode[] | undefined)) {
      for (const type of asArray(prefs.type as XmlNode[] | undefined)) {
        if (type['@_image'] === name && firmware === undefined && typeof type['@_firmware'] === 'string') {
          firmware = type['@_firmware'];
        }
      }
    }
  } catch {
    // readDescription parsed it already; nothing more to learn.
  }
  return { image: name, firmware, file: found.value };
}
