/**
 * Load-time checks of a boot test (bad input, exit 2, nothing run): the image step makes a bootable
 * type, the firmware fits that image and is installed, the patterns parse, the timeout is positive.
 * Unknown or ill-kinded `image:` names are reported by config/references.ts.
 */
import type { BootTestStep, Step } from '../core/model.js';
import type { Failure, Location } from '../core/result.js';
import { BOOTABLE_TYPES, bootsWith, defaultFirmware, imageTypeOf } from './image-type.js';
import { findOvmf, ovmfDir } from './ovmf.js';
import { parsePattern } from './patterns.js';

type Locate = (step: Step, key: string, index?: number) => Location;

function checkPatterns(step: BootTestStep, at: Locate): Failure[] {
  // The defaults come first in `failOn`; the user's items are the last ones, located as `fail-on.i`.
  let written = 0;
  while (step.fields[`fail-on.${written}`]) written++;
  const lists: [string, readonly string[]][] = [
    ['expect', step.expect],
    ['fail-on', step.failOn.slice(step.failOn.length - written)],
  ];
  const failures: Failure[] = [];
  for (const [key, texts] of lists) {
    texts.forEach((text, index) => {
      const parsed = parsePattern(text);
      if ('error' in parsed) {
        failures.push({
          step: step.id,
          reason: 'bad-pattern',
          message: parsed.error,
          location: at(step, key, index),
        });
      }
    });
  }
  return failures;
}

export function checkBootTest(step: BootTestStep, steps: ReadonlyMap<string, Step>, at: Locate): Failure[] {
  const failures = checkPatterns(step, at);
  if (step.timeout <= 0) {
    failures.push({
      step: step.id,
      reason: 'bad-timeout',
      message: 'timeout must be more than 0 (seconds, or a number with s, m or h: 300s, 5m)',
      location: at(step, 'timeout'),
    });
  }
  const image = steps.get(step.image);
  if (image?.kind !== 'build' && image?.kind !== 'stack') return failures;
  const type = imageTypeOf(image);
  if (type && !BOOTABLE_TYPES.includes(type.image)) {
    failures.push({
      step: step.id,
      reason: 'image-not-bootable',
      message: `'${image.id}' builds a ${type.image} (type from ${type.file}), which is not bootable: a boot test needs an ${BOOTABLE_TYPES.join(' or ')} type`,
      location: at(step, 'image'),
      related: [{ message: `'${image.id}' is declared here`, location: image.location }],
    });
    return failures;
  }
  if (type && step.firmware === 'uefi' && !bootsWith(type, 'uefi')) {
    failures.push({
      step: step.id,
      reason: 'firmware-mismatch',
      message: `firmware: uefi, but '${image.id}' builds a BIOS-only ${type.image} (${type.firmware ? `firmware="${type.firmware}"` : 'no firmware attribute'} in ${type.file}); set firmware="efi" there or use firmware: bios`,
      location: at(step, 'firmware'),
    });
    return failures;
  }
  const firmware = step.firmware ?? (type ? defaultFirmware(type) : 'bios');
  if (firmware === 'uefi' && !findOvmf()) {
    failures.push({
      step: step.id,
      reason: 'ovmf-missing',
      message: `booting '${image.id}' with UEFI needs OVMF firmware, which is not installed (no OVMF_CODE/OVMF_VARS in ${ovmfDir()}): install the Debian package 'ovmf'`,
      location: step.firmware ? at(step, 'firmware') : at(step, 'image'),
    });
  }
  return failures;
}
