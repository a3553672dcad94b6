/**
 * What the core tells the world. Logic emits these; reporters (src/reporters) render them and
 * nothing else prints.
 */

import type { StepKind } from './model.js';
import type { Failure } from './result.js';

/** Why a step is not fresh (fingerprint/explain.ts computes them; `plan`, `why` and step-started show them). */
export type RerunReason =
  | { readonly type: 'never-ran' }
  | { readonly type: 'forced' }
  | { readonly type: 'format-changed' }
  | { readonly type: 'file-added' | 'file-removed' | 'file-changed'; readonly path: string }
  | { readonly type: 'config-changed'; readonly field: string; readonly old: unknown; readonly new: unknown }
  | { readonly type: 'upstream-changed'; readonly step: string }
  | { readonly type: 'upstream-will-run'; readonly step: string }
  | { readonly type: 'tool-changed'; readonly tool: string; readonly old?: string; readonly new?: string }
  | { readonly type: 'extra-changed'; readonly key: string; readonly old?: string; readonly new?: string }
  | { readonly type: 'output-missing' | 'output-modified'; readonly path: string }
  | { readonly type: 'output-invalid'; readonly detail: string };

export type SkipReason = 'dependency-failed' | 'aborted' | 'stopped';

export interface RunSummary {
  readonly succeeded: number;
  readonly fresh: number;
  readonly failed: number;
  readonly skipped: number;
  /** Steps taken from the team cache instead of run (step-restored). */
  readonly restored?: number;
  /** Bytes the team cache restores downloaded. */
  readonly restoredBytes?: number;
  /** The recorded run times of the restored steps: what restoring saved. */
  readonly savedMs?: number;
  readonly durationMs: number;
  /** The first step that failed and where its full output is. */
  readonly firstFailure?: {
    readonly step: string;
    readonly log?: string;
    readonly failures: readonly Failure[];
  };
  readonly interrupted: boolean;
}

export type KiwiboxEvent =
  | { readonly type: 'run-started'; readonly steps: readonly string[]; readonly jobs: number }
  | { readonly type: 'step-queued'; readonly step: string; readonly kind: StepKind }
  | { readonly type: 'step-fresh'; readonly step: string; readonly kind: StepKind }
  | {
      readonly type: 'step-started';
      readonly step: string;
      readonly kind: StepKind;
      readonly reasons: readonly RerunReason[];
    }
  | {
      readonly type: 'step-output';
      readonly step: string;
      readonly stream: 'stdout' | 'stderr';
      readonly line: string;
    }
  | {
      /** Where a long step is now (a kiwi phase, a boot test's progress); `detail` e.g. `12/80`. */
      readonly type: 'step-progress';
      readonly step: string;
      readonly phase: string;
      readonly detail?: string;
    }
  | {
      readonly type: 'step-succeeded';
      readonly step: string;
      readonly kind: StepKind;
      readonly durationMs: number;
    }
  | {
      /** Taken from the team cache instead of run (src/cache): outputs verified and in place. */
      readonly type: 'step-restored';
      readonly step: string;
      readonly kind: StepKind;
      readonly durationMs: number;
      /** Bytes downloaded (blobs the machine already had are not counted). */
      readonly bytes: number;
      /** The recorded run time of the step that wrote the entry: what restoring saved. */
      readonly savedMs: number;
      /** The store it came from, e.g. `oci://127.0.0.1:5000/team/cache`. */
      readonly store: string;
    }
  | {
      readonly type: 'step-failed';
      readonly step: string;
      readonly kind: StepKind;
      readonly durationMs: number;
      readonly failures: readonly Failure[];
      readonly log?: string;
    }
  | {
      readonly type: 'step-skipped';
      readonly step: string;
      readonly kind: StepKind;
      readonly reason: SkipReason;
      readonly dependency?: string;
    }
  | { readonly type: 'run-finished'; readonly summary: RunSummary }
  | { readonly type: 'diagnostics'; readonly failures: readonly Failure[] }
  | { readonly type: 'warning'; readonly message: string; readonly step?: string }
  | { readonly type: 'info'; readonly message: string; readonly step?: string }
  | { readonly type: 'watch-waiting'; readonly files: number; readonly steps: number }
  | { readonly type: 'watch-change'; readonly files: readonly string[] }
  | { readonly type: 'watch-loop'; readonly step: string; readonly files: readonly string[] };

export type Emit = (event: KiwiboxEvent) => void;
