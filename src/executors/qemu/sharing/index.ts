/**
 * Sharing backends: how host directories reach a box. Each backend starts what it needs before QEMU
 * (virtiofsd, an sftp server, …) and says what QEMU and the guest command line get; `stop` undoes
 * everything it started. 9p and virtiofs are built in; sshfs plugs in through `registerSharingBackend`.
 */
import type { Sharing } from '../../../core/model.js';
import type { Result } from '../../../core/result.js';
import type { QemuShare, QemuSharing } from '../qemu-argv.js';
import { ninePBackend } from './9p.js';
import { virtiofsBackend } from './virtiofs.js';

export interface SharingStartOptions {
  /** Shares in order; tags follow the box protocol (kiwidescription, kiwibundle, custompath, …). */
  readonly shares: readonly QemuShare[];
  /** Private per-run directory (short path: unix sockets live here). */
  readonly runDir: string;
  readonly signal: AbortSignal;
  readonly output: (line: string, stream?: 'stdout' | 'stderr') => void;
  readonly step?: string;
  /**
   * When the box has its own NIC: the 127.0.0.1 port the VM runner forwards to the guest's port 22
   * (sshfs for official boxes reaches the guest through it instead of adding a second NIC).
   */
  readonly guestSshPort?: number;
}

export interface SharingSetup {
  /** What qemu-argv adds for the shares. */
  readonly qemu: QemuSharing;
  /** Box variables for the guest (`sharing_backend` is added by the VM runner). */
  readonly variables: Readonly<Record<string, string>>;
  /** Stops every process and removes every mount/socket the backend made; safe to call twice. */
  stop(): Promise<void>;
}

export interface SharingBackend {
  readonly name: Sharing;
  start(options: SharingStartOptions): Promise<Result<SharingSetup>>;
}

const backends = new Map<Sharing, SharingBackend>([
  ['9p', ninePBackend],
  ['virtiofs', virtiofsBackend],
]);

/** Adds or replaces a backend (issue 6 registers sshfs here). */
export function registerSharingBackend(backend: SharingBackend): void {
  backends.set(backend.name, backend);
}

/** The backend for `name`, if one is registered. */
export function sharingBackend(name: Sharing): SharingBackend | undefined {
  return backends.get(name);
}
