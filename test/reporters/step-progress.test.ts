/** step-progress: the status line shows the phase, plain prints a line per phase change, ndjson all. */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { KiwiboxEvent } from '../../src/core/events.js';
import { NdjsonReporter } from '../../src/reporters/ndjson.js';
import { PlainReporter } from '../../src/reporters/plain.js';
import { StatusReporter } from '../../src/reporters/status.js';

function sink(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

const events: KiwiboxEvent[] = [
  { type: 'run-started', steps: ['disk'], jobs: 1 },
  { type: 'step-started', step: 'disk', kind: 'build', reasons: [] },
  { type: 'step-progress', step: 'disk', phase: 'bootstrap' },
  { type: 'step-progress', step: 'disk', phase: 'packages', detail: '1/80' },
  { type: 'step-progress', step: 'disk', phase: 'packages', detail: '2/80' },
  { type: 'step-progress', step: 'disk', phase: 'initrd' },
];

describe('step-progress', () => {
  it('plain prints one line per phase change, not per detail', async () => {
    const out = sink();
    const reporter = new PlainReporter({ out: out.stream, cwd: '/', color: false });
    for (const e of events) reporter.event(e);
    reporter.close();
    const lines = out.text().split('\n');
    expect(lines.filter((l) => l.startsWith('disk :'))).toEqual([
      'disk : bootstrap',
      'disk : packages 1/80',
      'disk : initrd',
    ]);
  });

  it('ndjson carries every progress event with its detail', () => {
    const out = sink();
    const reporter = new NdjsonReporter({ out: out.stream });
    for (const e of events) reporter.event(e);
    const parsed = out
      .text()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((e) => e.type === 'step-progress');
    expect(parsed.map((e) => [e.phase, e.detail])).toEqual([
      ['bootstrap', undefined],
      ['packages', '1/80'],
      ['packages', '2/80'],
      ['initrd', undefined],
    ]);
  });

  it('the status line shows the latest phase of a running step and drops it when the step ends', () => {
    const out = sink();
    const stream = Object.assign(out.stream, { columns: 200, isTTY: true }) as unknown as NodeJS.WriteStream;
    const reporter = new StatusReporter({ out: stream, cwd: '/', color: false });
    for (const e of events.slice(0, 5)) reporter.event(e);
    expect(out.text()).toMatch(/\[0\/1\] disk \d+ms packages 2\/80/);
    expect(out.text()).not.toContain('disk : packages');
    reporter.event({ type: 'step-succeeded', step: 'disk', kind: 'build', durationMs: 5 });
    reporter.event({ type: 'step-started', step: 'disk', kind: 'build', reasons: [] });
    const before = out.text().length;
    reporter.event({ type: 'step-queued', step: 'disk', kind: 'build' });
    expect(out.text().slice(before)).not.toContain('packages');
    reporter.close();
  });
});
