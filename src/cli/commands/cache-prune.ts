/**
 * `kiwibox cache prune --older-than DURATION [--dry-run]`: deletes the entries of one namespace
 * (the trusted one, or `--cache-namespace`) whose step finished longer ago than DURATION. Needs
 * the registry's delete permission (its credentials), not a signing key: removing an entry can
 * make a step run again, never make a reader trust something.
 */
import { type PruneLine, pruneEntries } from '../../cache/prune.js';
import { openTeamCache } from '../../cache/team-cache.js';
import type { Output } from '../../reporters/output.js';
import { formatDuration } from '../../reporters/reporter.js';
import { EXIT, type GlobalOptions } from '../options.js';
import { openSession } from '../session.js';

const UNITS: Readonly<Record<string, number>> = { '': 1, s: 1, m: 60, h: 3600, d: 86_400 };

/** `30d`, `12h`, `90m`, `45s`, `3600` (seconds) → milliseconds; undefined if malformed. */
export function parseAge(text: string): number | undefined {
  const match = /^([0-9]+)([smhd]?)$/.exec(text.trim());
  if (!match) return undefined;
  return Number(match[1]) * (UNITS[match[2] ?? ''] ?? 1) * 1000;
}

/** `412d03h` for entries days old (a cache's usual ages), else as durations are shown elsewhere. */
function ago(ms: number): string {
  const hours = Math.floor(ms / 3_600_000);
  return hours < 24
    ? formatDuration(ms)
    : `${Math.floor(hours / 24)}d${String(hours % 24).padStart(2, '0')}h`;
}

function lineText(line: PruneLine, now: number): string {
  if (line.action === 'unreadable') return `kept ${line.key}: cannot tell its age: ${line.reason}`;
  const verb = { deleted: 'deleted', 'would-delete': 'would delete', kept: 'kept' }[line.action];
  return `${verb} ${line.step} ${line.key} (finished ${line.finishedAt.toISOString()}, ${ago(Math.max(0, now - line.finishedAt.getTime()))} ago)`;
}

export async function pruneCommand(options: {
  readonly global: GlobalOptions;
  readonly olderThan: string;
  readonly dryRun: boolean;
  readonly out: Output;
}): Promise<number> {
  const { global, out } = options;
  const age = parseAge(options.olderThan);
  if (age === undefined) {
    out.error(
      `error[bad-cache-setting]: --older-than '${options.olderThan}': expected a number with s, m, h or d (e.g. 30d)`,
    );
    return EXIT.badInput;
  }
  const session = await openSession(global, [], { readOnly: true });
  if (!session.ok) {
    out.failures(session.error);
    return EXIT.badInput;
  }
  const cache = openTeamCache({ project: session.value.project, flags: global.cache, cwd: global.cwd });
  if (!cache.ok || !cache.value) {
    if (cache.ok) out.error('no team cache configured (cache: in kiwibox.yaml, --cache or KIWIBOX_CACHE)');
    else out.failures(cache.error);
    return EXIT.badInput;
  }
  const { store, config } = cache.value;
  const namespace = config.writeNamespace;
  const where = `${store.name} (${namespace ? `namespace ${namespace}` : 'trusted namespace'})`;
  const now = Date.now();
  try {
    const pruned = await pruneEntries({
      store,
      namespace,
      cutoff: new Date(now - age),
      dryRun: options.dryRun,
      signal: new AbortController().signal,
      report: (line) => out.print(lineText(line, now)),
    });
    if (!pruned.ok) {
      out.failures(pruned.error);
      return EXIT.failed;
    }
    const { entries, pruned: n, unreadable } = pruned.value;
    const unread = unreadable ? `, ${unreadable} of unknown age kept` : '';
    out.print(
      options.dryRun
        ? `would prune ${n} of ${entries} entries older than ${options.olderThan} in ${where}${unread}; nothing deleted (dry run)`
        : `pruned ${n} of ${entries} entries older than ${options.olderThan} in ${where}${unread}; the registry's garbage collector frees their blobs`,
    );
    return unreadable ? EXIT.failed : EXIT.ok;
  } finally {
    await cache.value.close();
  }
}
