/**
 * 9p: QEMU serves the shares itself (no helper process); read-only shares get `readonly=on`, which
 * QEMU enforces even if the guest remounts read-write.
 */
import { ok } from '../../../core/result.js';
import type { SharingBackend } from './types.js';

export const ninePBackend: SharingBackend = {
  name: '9p',
  start: async () => ok({ qemu: { kind: '9p' }, variables: {}, stop: async () => {} }),
};
