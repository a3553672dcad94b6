/**
 * The team cache as the scheduler sees it: restore a step that is not fresh locally, upload one
 * that just ran. Never a reason for a step to fail: every problem is a miss (an `info` line naming
 * why) or, for uploads and a store that does not answer, a warning. A store that did not answer is
 * not asked again in this run, so a dead registry costs one timeout, not one per step.
 */
import { readFileSync } from 'node:fs';
import type { Emit } from '../core/events.js';
import type { Project, Step } from '../core/model.js';
import { type Failure, ok, type Result } from '../core/result.js';
import type { HashCache } from '../state/hash-cache.js';
import type { StepRecord } from '../state/record.js';
import { notCacheable } from './entry.js';
import { type Lookup, lookupEntry } from './lookup.js';
import { openStore } from './open-store.js';
import { type Restored, restoreEntry } from './restore.js';
import { type CacheConfig, type CacheFlags, resolveCache } from './settings.js';
import type { CacheStore } from './store.js';
import { uploadEntry } from './upload.js';

/** Who wrote an entry (EntryRecord.writer). */
export const WRITER = `kiwibox ${
  (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string })
    .version
}`;

const messages = (failures: readonly Failure[]) => failures.map((f) => f.message).join('; ');

export class TeamCache {
  readonly config: CacheConfig;
  readonly store: CacheStore;
  #down = false;
  /** Keys whose entry this run restored and verified: uploading them again adds nothing. */
  readonly #stored = new Set<string>();

  constructor(options: { readonly config: CacheConfig; readonly store: CacheStore }) {
    this.config = options.config;
    this.store = options.store;
  }

  get writes(): boolean {
    return this.config.mode === 'read-write';
  }

  /** Whether the store has a trusted entry for `key` (plan, why, cache verify): signature only. */
  async lookup(options: {
    readonly step: Step;
    readonly key: string;
    readonly signal: AbortSignal;
  }): Promise<Lookup> {
    const why = notCacheable(options.step);
    if (why) return { hit: false, reason: `not cached: ${why}` };
    if (this.#down) return { hit: false, reason: `${this.store.name} did not answer earlier in this run` };
    const found = await lookupEntry({
      store: this.store,
      config: this.config,
      key: options.key,
      signal: options.signal,
    });
    if (!found.hit && found.storeDown) this.#down = true;
    return found;
  }

  /** The step's outputs restored from a trusted, verified entry, or undefined (a miss, reported). */
  async restore(options: {
    readonly step: Step;
    readonly project: Project;
    readonly key: string;
    readonly signal: AbortSignal;
    readonly emit: Emit;
    /** Told the digests of restored files, so recording them reads nothing again. */
    readonly hashes?: HashCache;
  }): Promise<Restored | undefined> {
    const { step, emit } = options;
    const wasDown = this.#down;
    const found = await this.lookup(options);
    if (!found.hit) {
      if (found.storeDown) {
        emit({
          type: 'warning',
          step: step.id,
          message: `team cache unavailable, building instead: ${found.reason}`,
        });
      } else if (!wasDown && !found.reason.startsWith('not cached')) {
        emit({ type: 'info', step: step.id, message: `cache miss: ${found.reason}` });
      }
      return undefined;
    }
    const restored: Result<Restored> = await restoreEntry({
      store: this.store,
      entry: found.entry,
      namespace: found.namespace,
      step,
      project: options.project,
      signal: options.signal,
      emit,
      ...(options.hashes ? { hashes: options.hashes } : {}),
    });
    if (!restored.ok) {
      emit({ type: 'info', step: step.id, message: `cache miss: ${messages(restored.error)}` });
      return undefined;
    }
    this.verified(options.key);
    return restored.value;
  }

  /** The entry for `key` was restored and verified in this run (a Slurm step's, see slurm-link.ts). */
  verified(key: string): void {
    this.#stored.add(key);
  }

  /** Uploads a step that ran (read-write mode, not verified in the store already); problems warn. */
  async upload(options: {
    readonly step: Step;
    readonly project: Project;
    readonly record: StepRecord;
    readonly signal: AbortSignal;
    readonly emit: Emit;
  }): Promise<void> {
    const { step, emit } = options;
    if (!this.writes || this.#down || this.#stored.has(options.record.hash)) return;
    if (notCacheable(step, options.record)) return;
    const uploaded = await uploadEntry({
      ...options,
      store: this.store,
      config: this.config,
      writer: WRITER,
    });
    if (!uploaded.ok) {
      emit({
        type: 'warning',
        step: step.id,
        message: `not uploaded to the team cache: ${messages(uploaded.error)}`,
      });
      if (uploaded.error.some((f) => f.reason === 'cache-http')) this.#down = true;
    }
  }

  async close(): Promise<void> {
    await this.store.close?.();
  }
}

/** The team cache a command should use (undefined: none configured, or off); bad settings fail. */
export function openTeamCache(options: {
  readonly project: Project;
  readonly flags?: CacheFlags;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly cwd?: string;
}): Result<TeamCache | undefined> {
  const config = resolveCache(options);
  if (!config.ok || !config.value) return config as Result<undefined>;
  const store = openStore({ config: config.value, podman: options.project.podman, env: options.env });
  if (!store.ok) return store;
  return ok(new TeamCache({ config: config.value, store: store.value }));
}
