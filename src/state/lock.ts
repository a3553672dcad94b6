/**
 * The per-step lock, so two kiwibox processes never run the same step at once (see lock-file.ts).
 * Not waited for: a step another kiwibox is running fails as `locked`.
 */
import { mkdirSync } from 'node:fs';
import type { Result } from '../core/result.js';
import { lockFile, stepDir } from './layout.js';
import { type LockAttempt, tryLock } from './lock-file.js';

export function acquireStepLock(stateDir: string, id: string): Promise<Result<LockAttempt>> {
  mkdirSync(stepDir(stateDir, id), { recursive: true });
  return tryLock(lockFile(stateDir, id));
}
