/**
 * The scheduler against real tiny processes: parallelism, failure modes, Ctrl-C with a process
 * that ignores SIGTERM, the per-step lock, and the staging dir of builds.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { pidAlive } from '../../src/core/fs.js';
import { withStagingDir } from '../../src/executors/kiwi/staging.js';
import { BIN, events, ROOT, stepsWith, TempProject } from '../support/project.js';

const fixture = (name: string) => join(ROOT, 'test', 'fixtures', name);

describe('scheduler', () => {
  const p = new TempProject();
  afterAll(() => p.remove());

  it('runs independent steps in parallel up to -j, dependents after', async () => {
    const log = p.path('par.log');
    p.write({
      'par.yaml': [
        'version: 1',
        'tasks:',
        `  a: {run: [${fixture('stamp.sh')}, a, "1", ${log}]}`,
        `  b: {run: [${fixture('stamp.sh')}, b, "1", ${log}]}`,
        `  c: {run: [${fixture('stamp.sh')}, c, "0", ${log}], needs: [a, b]}`,
      ].join('\n'),
    });
    const run = await p.kiwibox(['-f', 'par.yaml', '-j', '2', '--reporter', 'ndjson', 'run']);
    expect(run.exitCode).toBe(0);
    const t: Record<string, number> = Object.fromEntries(
      readFileSync(log, 'utf8')
        .trim()
        .split('\n')
        .map((l) => {
          const [name, what, ms] = l.split(' ');
          return [`${name}.${what}`, Number(ms)];
        }),
    );
    const at = (k: string) => t[k] ?? Number.NaN;
    expect(at('b.start')).toBeLessThan(at('a.end'));
    expect(at('a.start')).toBeLessThan(at('b.end'));
    expect(at('c.start')).toBeGreaterThanOrEqual(Math.max(at('a.end'), at('b.end')));
    writeFileSync(log, '');
    await p.kiwibox(['-f', 'par.yaml', '-j', '1', '--force', 'run']);
    const serial = readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split(' ').slice(0, 2).join(' '));
    expect(serial).toEqual(['a start', 'a end', 'b start', 'b end', 'c start', 'c end']);
  });

  it('stops starting new steps after a failure, unless --keep-going; dependents never start', async () => {
    p.write({
      'fail.yaml': [
        'version: 1',
        'tasks:',
        '  bad: {run: [sh, -c, "exit 1"]}',
        '  after: {run: [touch, after.stamp], needs: [bad]}',
        '  independent: {run: [touch, independent.stamp]}',
      ].join('\n'),
    });
    const stop = await p.kiwibox(['-f', 'fail.yaml', '-j', '1', '--reporter', 'ndjson', 'run']);
    expect(stop.exitCode).toBe(1);
    const skipped = events(stop.stdout).filter((e) => e.type === 'step-skipped');
    expect(skipped.map((e) => [e.step, e.reason])).toEqual([
      ['after', 'dependency-failed'],
      ['independent', 'stopped'],
    ]);
    const going = await p.kiwibox([
      '-f',
      'fail.yaml',
      '-j',
      '1',
      '--keep-going',
      '--reporter',
      'ndjson',
      'run',
    ]);
    expect(going.exitCode).toBe(1);
    expect(stepsWith(going.stdout, 'step-succeeded')).toEqual(['independent']);
    expect(existsSync(p.path('after.stamp'))).toBe(false);
    const summary = events(going.stdout).find((e) => e.type === 'run-finished')?.summary as Record<
      string,
      unknown
    >;
    expect(summary.firstFailure).toMatchObject({ step: 'bad', log: p.path('.kiwibox/logs/bad.log') });
  });

  it('Ctrl-C stops a step that ignores SIGTERM with SIGKILL, exits 130, leaves no process', async () => {
    const pidFile = p.path('stubborn.pid');
    p.write({
      'int.yaml': [
        'version: 1',
        'tasks:',
        `  stubborn: {run: [${fixture('ignores-sigterm.sh')}, ${pidFile}]}`,
        '  later: {run: [touch, later.stamp], needs: [stubborn]}',
      ].join('\n'),
    });
    const child = execa('node', [BIN, '-f', 'int.yaml', '--reporter', 'ndjson', 'run'], {
      cwd: p.dir,
      reject: false,
      stdin: 'ignore',
    });
    while (!existsSync(pidFile) || !readFileSync(pidFile, 'utf8').trim())
      await new Promise((r) => setTimeout(r, 50));
    const pid = Number(readFileSync(pidFile, 'utf8'));
    child.kill('SIGINT');
    const result = await child;
    expect(result.exitCode).toBe(130);
    expect(pidAlive(pid)).toBe(false);
    const ev = events(result.stdout);
    expect(ev.find((e) => e.type === 'step-failed')).toMatchObject({
      step: 'stubborn',
      failures: [{ reason: 'cancelled' }],
    });
    expect(ev.find((e) => e.type === 'step-skipped')).toMatchObject({
      step: 'later',
      reason: 'dependency-failed',
    });
    expect(existsSync(p.path('later.stamp'))).toBe(false);
  }, 60_000);

  it('never runs the same step in two kiwibox processes at once', async () => {
    const pidFile = p.path('locked.pid');
    p.write({
      'lock.yaml': `version: 1\ntasks:\n  slow: {run: [${fixture('ignores-sigterm.sh')}, ${pidFile}]}\n`,
    });
    const first = execa('node', [BIN, '-f', 'lock.yaml', 'run'], {
      cwd: p.dir,
      reject: false,
      stdin: 'ignore',
    });
    while (!existsSync(pidFile) || !readFileSync(pidFile, 'utf8').trim())
      await new Promise((r) => setTimeout(r, 50));
    const second = await p.kiwibox(['-f', 'lock.yaml', '--reporter', 'ndjson', 'run']);
    expect(second.exitCode).toBe(1);
    expect(events(second.stdout).find((e) => e.type === 'step-failed')).toMatchObject({
      failures: [{ reason: 'locked' }],
    });
    first.kill('SIGINT');
    expect((await first).exitCode).toBe(130);
  }, 60_000);
});

describe('staging dir', () => {
  const p = new TempProject();
  afterAll(() => p.remove());

  it('keeps the old target when the build fails, and swaps in the new one on success', async () => {
    const target = p.path('out/target');
    mkdirSync(target, { recursive: true });
    writeFileSync(join(target, 'old.txt'), 'old');
    const failed = await withStagingDir(target, async (staging) => {
      writeFileSync(join(staging, 'half.txt'), 'half');
      return { ok: false, error: [{ reason: 'exit-non-zero', message: 'boom' }] };
    });
    expect(failed.ok).toBe(false);
    expect(readFileSync(join(target, 'old.txt'), 'utf8')).toBe('old');
    expect(existsSync(join(target, 'half.txt'))).toBe(false);
    expect(existsSync(p.path('out/.target.kiwibox-staging'))).toBe(false);
    const done = await withStagingDir(target, async (staging) => {
      writeFileSync(join(staging, 'new.txt'), 'new');
      return { ok: true, value: 1 };
    });
    expect(done.ok).toBe(true);
    expect(existsSync(join(target, 'old.txt'))).toBe(false);
    expect(readFileSync(join(target, 'new.txt'), 'utf8')).toBe('new');
  });
});
