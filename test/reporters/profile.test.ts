/**
 * `kiwibox run --profile FILE` through bin/kiwibox.js: the Chrome trace it writes has one lane per
 * slot, parallel steps overlapping on different lanes, dependents after their dependencies, fresh
 * steps as instants, and it is written on failure and on Ctrl-C too. Tasks only: sh and sleep.
 */
import { existsSync, readFileSync } from 'node:fs';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, TempProject } from '../support/project.js';

interface TraceEvent {
  name: string;
  ph: string;
  pid: number;
  tid: number;
  ts?: number;
  dur?: number;
  cat?: string;
  args?: Record<string, unknown>;
}

const p = new TempProject('kiwibox-profile-');
afterAll(() => p.remove());

p.write({
  'kiwibox.yaml': [
    'version: 1',
    'tasks:',
    '  a: {run: [sh, -c, "sleep 0.6; echo a > a.txt"], outputs: [a.txt]}',
    '  b: {run: [sh, -c, "sleep 0.6; echo b > b.txt"], outputs: [b.txt]}',
    '  c: {run: [sh, -c, "sleep 0.2; cat a.txt > c.txt"], needs: [a], inputs: [a.txt], outputs: [c.txt]}',
    '  d: {run: [sh, -c, "exit 3"]}',
    '  long: {run: [sleep, "30"]}',
  ].join('\n'),
});

function readTrace(file: string): TraceEvent[] {
  const trace = JSON.parse(readFileSync(p.path(file), 'utf8')) as { traceEvents: TraceEvent[] };
  expect(Array.isArray(trace.traceEvents)).toBe(true);
  return trace.traceEvents;
}

const slice = (events: TraceEvent[], name: string): Required<Pick<TraceEvent, 'ts' | 'dur'>> & TraceEvent => {
  const found = events.filter((e) => e.ph === 'X' && e.name === name);
  expect(found, name).toHaveLength(1);
  return found[0] as Required<Pick<TraceEvent, 'ts' | 'dur'>> & TraceEvent;
};

describe('kiwibox run --profile', () => {
  it('writes slot lanes: parallel steps overlap on two lanes, a dependent starts after its dependency', async () => {
    const run = await p.kiwibox([
      'run',
      '-j',
      '2',
      '--keep-going',
      '--profile',
      'trace.json',
      'a',
      'b',
      'c',
      'd',
    ]);
    // d fails: the profile is written all the same.
    expect(run.exitCode, run.stderr).toBe(1);
    const events = readTrace('trace.json');
    expect(events).toContainEqual(expect.objectContaining({ ph: 'M', name: 'process_name' }));
    const lanes = events.filter((e) => e.ph === 'M' && e.name === 'thread_name');
    expect(lanes.map((e) => e.args?.name)).toEqual(['kiwibox', 'slot 1', 'slot 2']);

    const a = slice(events, 'a');
    const b = slice(events, 'b');
    const c = slice(events, 'c');
    const d = slice(events, 'd');
    for (const s of [a, b, c, d]) {
      expect(s.pid).toBe(1);
      expect([1, 2]).toContain(s.tid);
      expect(s.cat).toBe('task');
    }
    // Microseconds: the 0.6 s sleeps last at least that long, and not absurdly longer.
    expect(a.dur).toBeGreaterThanOrEqual(600_000);
    expect(a.dur).toBeLessThan(20_000_000);
    expect(c.dur).toBeGreaterThanOrEqual(200_000);
    expect(a.tid).not.toBe(b.tid);
    expect(a.ts < b.ts + b.dur && b.ts < a.ts + a.dur).toBe(true);
    expect(c.ts).toBeGreaterThanOrEqual(a.ts + a.dur);
    expect(a.args).toMatchObject({ outcome: 'succeeded', reasons: ['never-ran'] });
    expect(d.args).toMatchObject({ outcome: 'failed', failures: ['exit-non-zero'] });
    // No two steps share a lane at the same time.
    const steps = [a, b, c, d].sort((x, y) => x.ts - y.ts);
    for (const [i, x] of steps.entries())
      for (const y of steps.slice(i + 1))
        if (x.tid === y.tid) expect(y.ts, `${x.name} then ${y.name}`).toBeGreaterThanOrEqual(x.ts + x.dur);
    // The run spans every step, on the kiwibox lane.
    const whole = slice(events, 'run');
    expect(whole.tid).toBe(0);
    expect(whole.args).toMatchObject({ succeeded: 3, failed: 1, jobs: 2 });
    for (const s of steps) {
      expect(s.ts).toBeGreaterThanOrEqual(whole.ts);
      expect(s.ts + s.dur).toBeLessThanOrEqual(whole.ts + whole.dur);
    }
    // Written atomically: no temp file left beside it.
    expect(existsSync(p.path('trace.json'))).toBe(true);
  });

  it('shows fresh steps as instants on the kiwibox lane', async () => {
    const run = await p.kiwibox(['run', '--profile', 'out/fresh.json', 'a', 'b', 'c']);
    expect(run.exitCode, run.stderr).toBe(0);
    const events = readTrace('out/fresh.json');
    const fresh = events.filter((e) => e.ph === 'i');
    expect(fresh.map((e) => e.name).sort()).toEqual(['a', 'b', 'c']);
    for (const e of fresh) expect(e).toMatchObject({ tid: 0, args: { outcome: 'fresh' } });
    expect(events.filter((e) => e.ph === 'X').map((e) => e.name)).toEqual(['run']);
  });

  it('is written when the run is stopped with Ctrl-C, the running step ending there', async () => {
    const child = execa('node', [BIN, 'run', '--reporter', 'ndjson', '--profile', 'stopped.json', 'long'], {
      cwd: p.dir,
      reject: false,
      stdin: 'ignore',
      env: { CI: 'true' },
    });
    let output = '';
    let interrupted = false;
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      // One Ctrl-C: a second one after the run ended would find the default handler again.
      if (!interrupted && output.includes('"type":"step-started"')) {
        interrupted = true;
        child.kill('SIGINT');
      }
    });
    const run = await child;
    expect(run.exitCode).toBe(130);
    const long = slice(readTrace('stopped.json'), 'long');
    expect(long.tid).toBe(1);
    expect(long.dur).toBeLessThan(20_000_000);
    expect(long.args?.outcome).toBe('failed');
    expect(long.args?.failures).toEqual(['cancelled']);
  }, 60_000);

  it('refuses a directory as the profile file before running anything', async () => {
    const run = await p.kiwibox(['run', '--profile', 'out', 'a']);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain('--profile out: is a directory');
  });
});
