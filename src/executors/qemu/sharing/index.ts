/**
 * Sharing backends: how host directories reach a box, by `sharing:` value. The sshfs backend (and
 * with it ssh2) is loaded only when a box uses it.
 */
import type { Sharing } from '../../../core/model.js';
import { ninePBackend } from './9p.js';
import type { SharingBackend } from './types.js';
import { virtiofsBackend } from './virtiofs.js';

/** The backend for `name`. */
export async function sharingBackend(name: Sharing): Promise<SharingBackend> {
  switch (name) {
    case '9p':
      return ninePBackend;
    case 'virtiofs':
      return virtiofsBackend;
    case 'sshfs':
      return (await import('./sshfs.js')).sshfsBackend;
  }
}
