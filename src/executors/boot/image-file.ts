/**
 * The file a boot test boots, as the image step's `kiwi.result.json` names it (never guessed from
 * file names): an oem's disk in its chosen format, else the raw disk, else a live iso.
 */

import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, extname, isAbsolute, join } from 'node:path';
import { errorMessage, failWith, ok, type Result } from '../../core/result.js';
import { KIWI_RESULT_FILE } from '../kiwi/result-file.js';

export interface BootableFile {
  readonly path: string;
  /** QEMU's name of the format (`raw`, `qcow2`, …). */
  readonly format: string;
  readonly media: 'disk' | 'cdrom';
  /** The kiwi.result.json key it came from. */
  readonly key: string;
}

/** QEMU block formats of kiwi's `format=` disk types, by file extension. */
const FORMATS: Readonly<Record<string, string>> = {
  '.raw': 'raw',
  '.qcow2': 'qcow2',
  '.vmdk': 'vmdk',
  '.vhdx': 'vhdx',
  '.vhd': 'vpc',
  '.vhdfixed': 'vpc',
  '.vdi': 'vdi',
};

/**
 * kiwi-ng writes the paths of the dir it built into: a staging dir that was renamed to the target dir
 * (host builds), or the guest's bundle dir (boxed builds). Its result files sit at the top of that dir.
 */
function resolveResultPath(targetDir: string, name: string): string {
  if (!isAbsolute(name)) return join(targetDir, name);
  if (existsSync(name) && dirname(name) === targetDir) return name;
  const moved = join(targetDir, basename(name));
  return existsSync(moved) ? moved : name;
}

/** Result keys in order of preference. */
const KEYS = ['disk_format_image', 'disk_image', 'live_image'] as const;

export async function findBootableFile(options: {
  readonly targetDir: string;
  readonly imageStep: string;
  readonly step: string;
}): Promise<Result<BootableFile>> {
  const file = join(options.targetDir, KIWI_RESULT_FILE);
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    return failWith({
      step: options.step,
      reason: 'image-result-unreadable',
      message: `cannot read what '${options.imageStep}' built (${file}): ${errorMessage(error)}`,
    });
  }
  const unusable: string[] = [];
  for (const key of KEYS) {
    const value = parsed?.[key];
    const name = Array.isArray(value) ? value[0] : (value as { filename?: unknown } | null)?.filename;
    if (typeof name !== 'string') continue;
    const path = resolveResultPath(options.targetDir, name);
    if (key === 'live_image') return ok({ path, format: 'raw', media: 'cdrom', key });
    const format = FORMATS[extname(path)];
    if (format) return ok({ path, format, media: 'disk', key });
    unusable.push(`${key}: ${path}`);
  }
  return failWith({
    step: options.step,
    reason: 'image-not-bootable',
    message: `${file} names no disk or iso QEMU can boot${unusable.length ? ` (unusable: ${unusable.join(', ')}; a compressed disk cannot boot)` : ''}`,
  });
}
