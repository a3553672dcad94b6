/**
 * The profile reporter on a hand-driven clock: restored steps (which have no start event), kiwi
 * phases nested in their step, lanes reused once free, and close() ending what is still running.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { KiwiboxEvent } from '../../src/core/events.js';
import { ProfileReporter, type TraceEvent } from '../../src/reporters/profile.js';

const dir = mkdtempSync(join(tmpdir(), 'kiwibox-profile-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function rig(name: string) {
  let now = 1000;
  const errors: string[] = [];
  const file = join(dir, name);
  const reporter = new ProfileReporter({ file, now: () => now, onError: (m) => errors.push(m) });
  return {
    reporter,
    errors,
    at: (ms: number, event: KiwiboxEvent) => {
      now = 1000 + ms;
      reporter.event(event);
    },
    read: () => (JSON.parse(readFileSync(file, 'utf8')) as { traceEvents: TraceEvent[] }).traceEvents,
  };
}

const started = (step: string): KiwiboxEvent => ({ type: 'step-started', step, kind: 'build', reasons: [] });
const named = (events: TraceEvent[], name: string) => events.filter((e) => e.name === name);

describe('ProfileReporter', () => {
  it('nests phases in their step, puts restored steps on a free lane with their numbers', () => {
    const r = rig('a.json');
    r.at(0, { type: 'run-started', steps: ['img', 'disk', 'doc'], jobs: 2 });
    r.at(0, started('img'));
    r.at(100, { type: 'step-progress', step: 'img', phase: 'prepare' });
    r.at(150, { type: 'step-progress', step: 'img', phase: 'prepare', detail: '3/9' });
    r.at(400, { type: 'step-progress', step: 'img', phase: 'create' });
    // Restored while img runs: it took the other slot for its 200 ms.
    r.at(500, {
      type: 'step-restored',
      step: 'disk',
      kind: 'build',
      durationMs: 200,
      bytes: 1234,
      savedMs: 60_000,
      store: 'http://127.0.0.1:1/kiwibox',
    });
    r.at(900, { type: 'step-succeeded', step: 'img', kind: 'build', durationMs: 900 });
    r.at(950, { type: 'step-fresh', step: 'doc', kind: 'task' });
    r.at(1000, {
      type: 'run-finished',
      summary: { succeeded: 1, fresh: 1, failed: 0, skipped: 0, durationMs: 1000, interrupted: false },
    });
    const events = r.read();
    expect(named(events, 'img')).toEqual([
      expect.objectContaining({ ph: 'X', tid: 1, ts: 0, dur: 900_000, cat: 'build' }),
    ]);
    expect(named(events, 'prepare')).toEqual([
      expect.objectContaining({ ph: 'X', tid: 1, ts: 100_000, dur: 300_000 }),
    ]);
    expect(named(events, 'create')).toEqual([
      expect.objectContaining({ ph: 'X', tid: 1, ts: 400_000, dur: 500_000 }),
    ]);
    expect(named(events, 'disk')).toEqual([
      expect.objectContaining({
        ph: 'X',
        tid: 2,
        ts: 300_000,
        dur: 200_000,
        args: expect.objectContaining({ outcome: 'restored', bytes: 1234, savedMs: 60_000 }),
      }),
    ]);
    expect(named(events, 'doc')).toEqual([expect.objectContaining({ ph: 'i', tid: 0, ts: 950_000 })]);
    expect(named(events, 'run')).toEqual([
      expect.objectContaining({ ph: 'X', tid: 0, ts: 0, dur: 1_000_000 }),
    ]);
    expect(r.errors).toEqual([]);
  });

  it('reuses a lane once its step ended, and close() ends running steps as unfinished', () => {
    const r = rig('b.json');
    r.at(0, { type: 'run-started', steps: ['x', 'y', 'z'], jobs: 2 });
    r.at(0, started('x'));
    r.at(10, started('y'));
    r.at(50, { type: 'step-succeeded', step: 'x', kind: 'build', durationMs: 50 });
    r.at(60, started('z'));
    r.reporter.close();
    const events = r.read();
    expect(named(events, 'x')[0]).toMatchObject({ tid: 1, args: { outcome: 'succeeded' } });
    expect(named(events, 'y')[0]).toMatchObject({ tid: 2, args: { outcome: 'unfinished' } });
    expect(named(events, 'z')[0]).toMatchObject({ tid: 1, ts: 60_000, args: { outcome: 'unfinished' } });
    expect(named(events, 'run')[0]).toMatchObject({ args: { unfinished: true } });
    expect(events.filter((e) => e.name === 'thread_name').map((e) => e.args?.name)).toEqual([
      'kiwibox',
      'slot 1',
      'slot 2',
    ]);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('says so when the file cannot be written', () => {
    // The parent exists as a file: mkdir fails.
    writeFileSync(join(dir, 'blocker'), '');
    const r = rig('blocker/profile.json');
    r.at(0, { type: 'run-started', steps: [], jobs: 1 });
    r.reporter.close();
    expect(r.errors[0]).toContain('cannot write the profile');
  });
});
