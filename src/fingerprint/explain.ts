/**
 * Why a step is not fresh: a field-by-field diff of the stored fingerprint against the current one,
 * plus the state of the recorded outputs. `plan` and `why` print these; `run` attaches them to
 * step-started events.
 */
import type { RerunReason } from '../core/events.js';
import type { Fingerprint } from '../state/record.js';

function diffRecords(
  old: Readonly<Record<string, unknown>>,
  now: Readonly<Record<string, unknown>>,
  make: (key: string, o: unknown, n: unknown) => RerunReason,
): RerunReason[] {
  const keys = [...new Set([...Object.keys(old), ...Object.keys(now)])].sort();
  return keys
    .filter((k) => JSON.stringify(old[k]) !== JSON.stringify(now[k]))
    .map((k) => make(k, old[k], now[k]));
}

/** Every difference between two fingerprints of the same step, files first. */
export function explainFingerprints(old: Fingerprint, now: Fingerprint): RerunReason[] {
  if (old.format !== now.format) return [{ type: 'format-changed' }];
  const reasons: RerunReason[] = [];
  for (const path of Object.keys(now.files)) {
    if (!(path in old.files)) reasons.push({ type: 'file-added', path });
    else if (old.files[path] !== now.files[path]) reasons.push({ type: 'file-changed', path });
  }
  for (const path of Object.keys(old.files))
    if (!(path in now.files)) reasons.push({ type: 'file-removed', path });
  reasons.push(
    ...diffRecords(old.config, now.config, (field, o, n) => ({
      type: 'config-changed',
      field,
      old: o,
      new: n,
    })),
    ...diffRecords(old.upstream, now.upstream, (step) => ({ type: 'upstream-changed', step })),
    ...diffRecords(old.tools, now.tools, (tool, o, n) => ({
      type: 'tool-changed',
      tool,
      old: o as string | undefined,
      new: n as string | undefined,
    })),
    ...diffRecords(old.extra, now.extra, (key, o, n) => ({
      type: 'extra-changed',
      key,
      old: o as string | undefined,
      new: n as string | undefined,
    })),
  );
  if (old.kind !== now.kind)
    reasons.push({ type: 'config-changed', field: 'kind', old: old.kind, new: now.kind });
  if (old.platform !== now.platform) {
    reasons.push({ type: 'config-changed', field: 'platform', old: old.platform, new: now.platform });
  }
  return reasons;
}

const show = (v: unknown) => (v === undefined ? '(unset)' : JSON.stringify(v));

/** One human line per reason. */
export function describeReason(reason: RerunReason): string {
  switch (reason.type) {
    case 'never-ran':
      return 'no successful run recorded';
    case 'forced':
      return '--force';
    case 'format-changed':
      return 'fingerprint format of a different kiwibox version';
    case 'file-added':
      return `file added: ${reason.path}`;
    case 'file-removed':
      return `file removed: ${reason.path}`;
    case 'file-changed':
      return `file changed: ${reason.path}`;
    case 'config-changed':
      return `config ${reason.field}: ${show(reason.old)} -> ${show(reason.new)}`;
    case 'upstream-changed':
      return `upstream step changed: ${reason.step}`;
    case 'upstream-will-run':
      return `upstream step will run: ${reason.step}`;
    case 'tool-changed':
      return `tool ${reason.tool}: ${reason.old ?? '(none)'} -> ${reason.new ?? '(none)'}`;
    case 'extra-changed':
      return `${reason.key}: ${reason.old ?? '(none)'} -> ${reason.new ?? '(none)'}`;
    case 'output-missing':
      return `output missing: ${reason.path}`;
    case 'output-modified':
      return `output modified: ${reason.path}`;
    case 'output-invalid':
      return `output no longer valid: ${reason.detail}`;
  }
}
