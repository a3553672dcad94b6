/**
 * Input digests from the prefetch worker (pipelines of 64 steps and more): right on both ends of
 * the order, and never trusted once a step has run.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { stepsWith, TempProject } from '../support/project.js';

const N = 80;

describe('prefetched input digests', () => {
  const p = new TempProject();
  afterAll(() => p.remove());
  const yaml = ['version: 1', 'tasks:'];
  const files: Record<string, string> = {};
  for (let i = 0; i < N; i++) {
    // t0 copies its input over the last step's: an undeclared dependency, seen only by stating late.
    const run = i === 0 ? `cp in/t0.txt in/t${N - 1}.txt && touch out/t0` : `touch out/t${i}`;
    yaml.push(
      `  t${i}:`,
      `    run: "mkdir -p out && ${run}"`,
      `    inputs: [in/t${i}.txt]`,
      `    outputs: [out/t${i}]`,
    );
    files[`in/t${i}.txt`] = `${i}\n`;
  }
  p.write({ 'kiwibox.yaml': `${yaml.join('\n')}\n`, ...files });
  const started = async () =>
    stepsWith((await p.kiwibox(['--reporter', 'ndjson', '-j', '1', 'run'])).stdout, 'step-started');

  it('finds the one changed step at either end of the order', async () => {
    expect(await started()).toHaveLength(N);
    expect(await started()).toEqual([]);
    for (const i of [N - 2, 1, N / 2]) {
      writeFileSync(p.path(`in/t${i}.txt`), `${i} changed\n`);
      expect(await started()).toEqual([`t${i}`]);
    }
    expect(await started()).toEqual([]);
  });

  it('states again after a step ran: what it wrote is seen in the same run', async () => {
    writeFileSync(p.path('in/t0.txt'), 'new\n');
    expect(await started()).toEqual(['t0', `t${N - 1}`]);
    expect(readFileSync(p.path(`in/t${N - 1}.txt`), 'utf8')).toBe('new\n');
    expect(await started()).toEqual([]);
  });
});
