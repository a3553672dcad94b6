/**
 * UEFI firmware for boot tests: Debian's `ovmf` package (OVMF_CODE read-only, plus a throw-away copy
 * of OVMF_VARS per boot so no run sees another's NVRAM). The 4 MB pair first, as Debian's default.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export interface OvmfFiles {
  readonly code: string;
  readonly vars: string;
}

/** Where the `ovmf` package installs; KIWIBOX_OVMF_DIR overrides it (another distribution's layout). */
export function ovmfDir(): string {
  return process.env.KIWIBOX_OVMF_DIR ?? '/usr/share/OVMF';
}

const PAIRS = [
  ['OVMF_CODE_4M.fd', 'OVMF_VARS_4M.fd'],
  ['OVMF_CODE.fd', 'OVMF_VARS.fd'],
] as const;

/** The installed OVMF code/vars pair, or undefined (install the `ovmf` package). */
export function findOvmf(dir = ovmfDir()): OvmfFiles | undefined {
  for (const [code, vars] of PAIRS) {
    const pair = { code: join(dir, code), vars: join(dir, vars) };
    if (existsSync(pair.code) && existsSync(pair.vars)) return pair;
  }
  return undefined;
}
