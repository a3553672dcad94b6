/**
 * A resolved box: the files and settings the QEMU executor boots. Box steps (official, local, host)
 * produce one; boxed builds consume it through the box step's outputs (`boxToData`/`boxFromData`).
 */
import type { Arch } from '../core/model.js';

export interface Box {
  readonly name: string;
  readonly arch: Arch;
  /** Absolute path of the kernel (bzImage, vmlinux ELF, or arm64 Image). */
  readonly kernel: string;
  readonly initrd?: string;
  /** qcow2 (or raw) root disk; booted with -snapshot so it is never written. */
  readonly disk?: string;
  /** Kernel command line of the box itself; the executor appends the build's arguments. */
  readonly cmdline: string;
  /** `1G`, `8G`, … as QEMU's -m takes it. */
  readonly memory: string;
  readonly cpus: number;
  /** Console device the guest writes to (`hvc0`, `ttyS0`, `ttyAMA0`). */
  readonly console: string;
  /**
   * The guest expects a NIC with user networking (no host port): the official boxes' run_kiwi waits
   * for its link and kiwi fetches packages; the host box's kiwi-ng needs it for repositories too.
   */
  readonly network?: boolean;
  /** Host directories to share read-only into the guest by tag (the host box shares /usr). */
  readonly extraShares?: readonly { readonly tag: string; readonly path: string }[];
  /** sha256 over the box's files (stat-cached): enters dependents' fingerprints. */
  readonly digest: string;
}

/** Serialises a box into step output data (string values only). */
export function boxToData(box: Box): Record<string, string> {
  return { box: JSON.stringify(box), digest: box.digest };
}

/** Reads a box back from a box step's output data; undefined if absent or malformed. */
export function boxFromData(data: Readonly<Record<string, string>> | undefined): Box | undefined {
  const raw = data?.box;
  if (raw === undefined) return undefined;
  try {
    const box = JSON.parse(raw) as Box;
    return typeof box.kernel === 'string' && typeof box.digest === 'string' ? box : undefined;
  } catch {
    return undefined;
  }
}
