/**
 * What a sharing backend is: it starts what it needs before QEMU (virtiofsd, an sftp server, …),
 * says what QEMU and the guest command line get, and `stop` undoes everything it started.
 */
import type { Sharing } from '../../../core/model.js';
import type { Result } from '../../../core/result.js';
import type { QemuShare, QemuSharing } from '../qemu-argv.js';

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
