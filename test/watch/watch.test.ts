/**
 * Watch mode with real file edits: exactly the affected steps run, outputs never trigger, a broken
 * file is reported and a fix resumes, a running step is restarted, a self-feeding step is a loop.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { TempProject } from '../support/project.js';
import { WatchRig } from '../support/watch-rig.js';

const PIPELINE = [
  'version: 1',
  'tasks:',
  '  gen:',
  '    run: "mkdir -p out && cat gen.txt shared.txt > out/gen.txt"',
  '    inputs: [gen.txt, shared.txt]',
  '    outputs: [out/gen.txt]',
  '  use:',
  '    needs: [gen]',
  '    run: "wc -c < out/gen.txt > out/use.txt"',
  '    outputs: [out/use.txt]',
  '  leaf:',
  '    run: "mkdir -p out && cat leaf.txt shared.txt > out/leaf.txt"',
  '    inputs: [leaf.txt, shared.txt]',
  '    outputs: [out/leaf.txt]',
].join('\n');

let project: TempProject | undefined;
let rig: WatchRig | undefined;
afterEach(async () => {
  expect(await rig?.stop()).toBe(130);
  project?.remove();
  rig = undefined;
});

async function start(files: Record<string, string> = {}, args: string[] = []) {
  project = new TempProject('kiwibox-watch-');
  project.write({
    'kiwibox.yaml': PIPELINE,
    'gen.txt': 'g\n',
    'leaf.txt': 'l\n',
    'shared.txt': 's\n',
    ...files,
  });
  rig = new WatchRig(project, args);
  const ready = await rig.idle();
  expect(rig.steps('step-succeeded', 0, ready).sort()).toEqual(['gen', 'leaf', 'use']);
  return { p: project, w: rig, ready };
}

describe('kiwibox watch', () => {
  it('runs exactly the step a leaf edit affects, and its outputs do not trigger', async () => {
    const { p, w, ready } = await start();
    expect(w.events[ready - 1]).toMatchObject({ type: 'watch-waiting', steps: 3 });
    writeFileSync(p.path('leaf.txt'), 'l2\n');
    const after = await w.idle(ready);
    expect(w.steps('step-started', ready, after)).toEqual(['leaf']);
    expect(w.events.slice(ready, after).find((e) => e.type === 'watch-change')).toMatchObject({
      files: [p.path('leaf.txt')],
    });
    // Nothing else happens: had the step's own output write triggered a run, its change would come
    // before the one of this later edit (file events keep their order).
    writeFileSync(p.path('gen.txt'), 'g2\n');
    const next = await w.idle(after);
    const changes = w.events.slice(after, next).filter((e) => e.type === 'watch-change');
    expect(changes.map((e) => e.files)).toEqual([[p.path('gen.txt')]]);
    expect(w.steps('step-started', after, next)).toEqual(['gen', 'use']);
  });

  it('sees edits by polling with --poll (for shares that send no file events)', async () => {
    const { p, w, ready } = await start({}, ['--poll', '100']);
    writeFileSync(p.path('leaf.txt'), 'l2\n');
    const after = await w.idle(ready);
    expect(w.steps('step-started', ready, after)).toEqual(['leaf']);
    expect(readFileSync(p.path('out/leaf.txt'), 'utf8')).toBe('l2\ns\n');
  });

  it('runs every step a shared input affects, plus dependents', async () => {
    const { p, w, ready } = await start();
    writeFileSync(p.path('shared.txt'), 's2\n');
    const after = await w.idle(ready);
    expect(w.steps('step-started', ready, after).sort()).toEqual(['gen', 'leaf', 'use']);
    expect(readFileSync(p.path('out/leaf.txt'), 'utf8')).toBe('l\ns2\n');
  });

  it('runs only the new step when kiwibox.yaml gains one', async () => {
    const { p, w, ready } = await start();
    writeFileSync(
      p.path('kiwibox.yaml'),
      `${PIPELINE}\n  extra:\n    run: [touch, extra.stamp]\n    outputs: [extra.stamp]\n`,
    );
    const after = await w.idle(ready);
    expect(w.steps('step-started', ready, after)).toEqual(['extra']);
  });

  it('reports a broken kiwibox.yaml, keeps watching, and resumes on the fix', async () => {
    const { p, w, ready } = await start();
    writeFileSync(p.path('kiwibox.yaml'), `${PIPELINE}\n  broken: {run: ["true"], needs: [nowhere]}\n`);
    const broken = await w.waitFor((e) => e.type === 'diagnostics', ready);
    expect(JSON.stringify(w.events[broken - 1])).toContain('unknown-step');
    // Two saves within one kernel timestamp tick look like one to the file watcher; people are slower.
    // (Setting the second save's mtime instead did not make chokidar report it reliably.)
    await new Promise((r) => setTimeout(r, 100));
    writeFileSync(
      p.path('kiwibox.yaml'),
      PIPELINE.replace('cat leaf.txt shared.txt', 'cat shared.txt leaf.txt'),
    );
    const fixed = await w.waitFor((e) => e.type === 'step-succeeded', broken);
    expect(w.steps('step-started', broken, fixed)).toEqual(['leaf']);
    await w.idle(fixed);
  });

  it('cancels and restarts a running step when its input changes', async () => {
    const { p, w, ready } = await start({ 'slow.txt': '1\n' });
    writeFileSync(
      p.path('kiwibox.yaml'),
      `${PIPELINE}\n  slow:\n    run: "sleep 4; cp slow.txt out/slow.txt"\n    inputs: [slow.txt]\n    outputs: [out/slow.txt]\n`,
    );
    const started = await w.waitFor((e) => e.type === 'step-started' && e.step === 'slow', ready);
    writeFileSync(p.path('slow.txt'), '2\n');
    const done = await w.waitFor((e) => e.type === 'step-succeeded' && e.step === 'slow', started);
    const slow = w.events
      .slice(started - 1, done)
      .filter((e) => e.step === 'slow' && e.type !== 'step-output' && e.type !== 'step-queued');
    expect(slow.map((e) => e.type)).toEqual([
      'step-started',
      'step-failed',
      'step-started',
      'step-succeeded',
    ]);
    expect(slow[1]).toMatchObject({ failures: [{ reason: 'cancelled' }] });
    expect(readFileSync(p.path('out/slow.txt'), 'utf8')).toBe('2\n');
    await w.idle(done);
  });

  it('reports a step that writes into its own inputs as a loop instead of running forever', async () => {
    // fed.txt exists from the start: a file created between two watcher scans can miss its next write.
    const { p, w, ready } = await start({ 'fed.txt': '0\n' });
    writeFileSync(
      p.path('kiwibox.yaml'),
      `${PIPELINE}\n  feeder:\n    run: "date +%s%N >> fed.txt"\n    inputs: [fed.txt]\n`,
    );
    const loop = await w.waitFor((e) => e.type === 'watch-loop', ready);
    expect(w.events[loop - 1]).toMatchObject({ step: 'feeder' });
    const runs = w.steps('step-started', ready, loop).filter((s) => s === 'feeder').length;
    expect(runs).toBeLessThanOrEqual(3);
    // After the report the feeder rests: the next thing that runs is what a later edit affects.
    const idle = await w.idle(loop);
    writeFileSync(p.path('leaf.txt'), 'l2\n');
    const next = await w.waitFor((e) => e.type === 'step-succeeded' && e.step === 'leaf', idle);
    expect(w.steps('step-started', loop, next)).toEqual(['leaf']);
    await w.idle(next);
  });

  it('--debounce gathers the changes of one moment into one run', async () => {
    const { p, w, ready } = await start({}, ['--debounce', '1000']);
    writeFileSync(p.path('leaf.txt'), 'l2\n');
    writeFileSync(p.path('gen.txt'), 'g2\n');
    const after = await w.idle(ready);
    const changes = w.events.slice(ready, after).filter((e) => e.type === 'watch-change');
    expect(changes.map((e) => e.files)).toEqual([[p.path('gen.txt'), p.path('leaf.txt')]]);
    expect(w.steps('step-started', ready, after).sort()).toEqual(['gen', 'leaf', 'use']);
  });

  it('--on-change finish lets a running step finish, then runs it again', async () => {
    const { p, w, ready } = await start({ 'slow.txt': '1\n' }, ['--on-change', 'finish']);
    // The step runs until the test creates `go` (not an input): no timing involved.
    writeFileSync(
      p.path('kiwibox.yaml'),
      `${PIPELINE}\n  slow:\n    run: "while [ ! -e go ]; do sleep 0.05; done; cp slow.txt out/slow.txt"\n    inputs: [slow.txt]\n    outputs: [out/slow.txt]\n`,
    );
    const started = await w.waitFor((e) => e.type === 'step-started' && e.step === 'slow', ready);
    writeFileSync(p.path('slow.txt'), '2\n');
    const seen = await w.waitFor((e) => e.type === 'watch-change', started);
    expect(w.events[seen - 1]).toMatchObject({ files: [p.path('slow.txt')] });
    writeFileSync(p.path('go'), '');
    const first = await w.waitFor((e) => e.type === 'step-succeeded' && e.step === 'slow', started);
    const again = await w.waitFor((e) => e.type === 'step-succeeded' && e.step === 'slow', first);
    const slow = w.events
      .slice(started - 1, again)
      .filter((e) => e.step === 'slow' && e.type !== 'step-output' && e.type !== 'step-queued');
    expect(slow.map((e) => e.type)).toEqual([
      'step-started',
      'step-succeeded',
      'step-started',
      'step-succeeded',
    ]);
    expect(readFileSync(p.path('out/slow.txt'), 'utf8')).toBe('2\n');
    await w.idle(again);
  });
});
