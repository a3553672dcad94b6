/**
 * `kiwibox run`/`plan` asking a running `kiwibox watch` (src/watch/serve.ts), with real processes
 * and real file events: it answers a no-op, and never a stale one (an edit just before the run, a
 * watcher that has not read its events yet, records removed or cleaned from another terminal, a
 * different environment, a killed watcher's socket).
 */
import { existsSync, linkSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { events, ROOT, TempProject } from '../support/project.js';
import { WatchRig } from '../support/watch-rig.js';

const PIPELINE = [
  'version: 1',
  'tasks:',
  '  a:',
  '    run: "mkdir -p out && cat a.txt > out/a.txt"',
  '    inputs: [a.txt]',
  '    outputs: [out/a.txt]',
  '  b:',
  '    needs: [a]',
  '    run: "wc -c < out/a.txt > out/b.txt"',
  '    inputs: ["src/**"]',
  '    outputs: [out/b.txt]',
].join('\n');

const MARKER = /^answered by kiwibox watch \(pid (\d+)\)/;

let project: TempProject | undefined;
let rig: WatchRig | undefined;
afterEach(async () => {
  if (rig) expect(await rig.stop()).toBe(130);
  project?.remove();
  rig = undefined;
});

async function start(
  files: Record<string, string> = {},
  prefix = 'kiwibox-watchd-',
): Promise<{ p: TempProject; w: WatchRig }> {
  project = new TempProject(prefix);
  project.write({ 'kiwibox.yaml': PIPELINE, 'a.txt': 'a\n', 'src/x/y.txt': 'y\n', ...files });
  rig = new WatchRig(project);
  await rig.idle();
  return { p: project, w: rig };
}

/** `kiwibox run` (ndjson): its events, exit code and the watch's pid if the watch answered. */
async function run(p: TempProject, args: string[] = [], env: Record<string, string> = {}) {
  const r = await p.kiwibox(['--reporter', 'ndjson', 'run', ...args], { KIWIBOX_WATCH_DEBUG: '1', ...env });
  const all = events(r.stdout);
  const info = all.find((e) => e.type === 'info' && MARKER.test(String(e.message)));
  const pid = info ? Number(MARKER.exec(String(info.message))?.[1]) : undefined;
  const steps = (type: string) => all.filter((e) => e.type === type).map((e) => e.step);
  return { r, all, pid, steps, stderr: r.stderr };
}

/** Runs until the watch answers (it vouches only for records a few seconds old). */
async function untilAnswered(p: TempProject, args: string[] = []) {
  for (let i = 0; i < 60; i++) {
    const got = await run(p, args);
    if (got.pid !== undefined) return got;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error('the watch never answered');
}

describe('run and plan asking a running watch', () => {
  it('answers a no-op with what a no-op run prints, marked; plan too; --no-watch and the env var skip it', async () => {
    const { p, w } = await start();
    const got = await untilAnswered(p);
    expect(got.pid).toBe(w.pid);
    expect(got.r.exitCode).toBe(0);
    expect(got.steps('step-fresh')).toEqual(['a', 'b']);
    expect(got.all.at(-1)).toMatchObject({ type: 'run-finished', summary: { fresh: 2, succeeded: 0 } });
    const only = await run(p, ['a']);
    expect(only.pid).toBe(w.pid);
    expect(only.steps('step-fresh')).toEqual(['a']);

    const plan = await p.kiwibox(['plan']);
    expect(plan.stdout).toContain('fresh a [task]');
    expect(plan.stdout).toMatch(/0 of 2 steps would run \(answered by kiwibox watch \(pid \d+\)/);
    const full = await p.kiwibox(['plan', '--no-watch']);
    expect(full.stdout).toContain('0 of 2 steps would run');
    expect(full.stdout).not.toContain('answered by');
    expect((await run(p, ['--no-watch'])).pid).toBeUndefined();
    expect((await run(p, [], { KIWIBOX_NO_WATCH: '1' })).pid).toBeUndefined();
    // Ctrl-C ends the watch and removes its socket.
    expect(existsSync(p.path('.kiwibox/watch/socket'))).toBe(true);
    expect(await w.stop()).toBe(130);
    rig = undefined;
    expect(existsSync(p.path('.kiwibox/watch/socket'))).toBe(false);
  });

  it('an input edited right before the run is never answered fresh', async () => {
    const { p } = await start();
    await untilAnswered(p);
    writeFileSync(p.path('src/x/y.txt'), 'changed\n');
    const got = await run(p);
    expect(got.pid).toBeUndefined();
    // The watch may have re-run b already; either way the client checked in full.
    expect([...got.steps('step-started'), ...got.steps('step-fresh')]).toContain('b');
  });

  it('waits for the event of a change made before the ask, even when the watcher reads it late', async () => {
    const { p, w } = await start();
    await untilAnswered(p);
    // A stopped watcher has not read any event: the edit's and then the client's cookie queue up.
    process.kill(w.pid, 'SIGSTOP');
    try {
      writeFileSync(p.path('a.txt'), 'edited\n');
      // However loaded the machine, the client waits for the answer (no timeout decides here).
      const asking = run(p, [], { KIWIBOX_WATCH_ASK_MS: '60000' });
      const cookies = p.path('.kiwibox/watch/cookies');
      for (let i = 0; i < 2000 && !readdirSync(cookies).length; i++)
        await new Promise((r) => setTimeout(r, 5));
      process.kill(w.pid, 'SIGCONT');
      const got = await asking;
      expect(got.pid).toBeUndefined();
      // The answer waited for the cookie, so the edit's event was in: not a timeout, a real "no".
      expect(got.stderr).toMatch(/does not know: (files changed|the watch is busy)/);
    } finally {
      process.kill(w.pid, 'SIGCONT');
    }
  });

  it('records removed or cleaned from another terminal are not answered fresh', async () => {
    const { p } = await start();
    await untilAnswered(p);
    // Outputs stay: only the records say `a` never ran.
    rmSync(p.path('.kiwibox/steps/a'), { recursive: true });
    const got = await run(p, ['a']);
    expect(got.pid).toBeUndefined();
    expect(got.steps('step-started')).toEqual(['a']);
    await untilAnswered(p);
    expect((await p.kiwibox(['clean', 'b'])).exitCode).toBe(0);
    const after = await run(p);
    expect(after.pid).toBeUndefined();
    expect(after.steps('step-started')).toEqual(['b']);
  });

  it('a different environment gets the full check', async () => {
    const { p } = await start();
    await untilAnswered(p);
    const got = await run(p, [], { KIWIBOX_TEST_OTHER: 'x' });
    expect(got.pid).toBeUndefined();
    expect(got.stderr).toContain('environment variable KIWIBOX_TEST_OTHER differs');
    expect(got.steps('step-fresh')).toEqual(['a', 'b']);
  });

  it("a killed watcher's socket is ignored, and the next watch replaces it", async () => {
    const { p, w } = await start();
    await untilAnswered(p);
    process.kill(w.pid, 'SIGKILL');
    await w.stop();
    rig = undefined;
    expect(existsSync(p.path('.kiwibox/watch/socket'))).toBe(true);
    const got = await run(p);
    expect(got.r.exitCode).toBe(0);
    expect(got.pid).toBeUndefined();
    expect(got.stderr).toMatch(/watch socket: .*ECONNREFUSED/);
    expect(got.steps('step-fresh')).toEqual(['a', 'b']);
    rig = new WatchRig(p);
    await rig.idle();
    expect((await untilAnswered(p)).pid).toBe(rig.pid);
  });

  it('a deleted output is not answered fresh', async () => {
    const { p } = await start();
    await untilAnswered(p);
    rmSync(p.path('out/b.txt'));
    const got = await run(p);
    expect(got.pid).toBeUndefined();
    expect(got.steps('step-started')).toEqual(['b']);
  });

  it('a second watch on the project leaves the answering to the first', async () => {
    const { p, w } = await start();
    await untilAnswered(p);
    const second = new WatchRig(p);
    try {
      await second.waitFor(
        (e) => e.type === 'warning' && /another kiwibox watch answers/.test(String(e.message)),
      );
      expect((await run(p)).pid).toBe(w.pid);
    } finally {
      expect(await second.stop()).toBe(130);
    }
  });

  it('an input with another hard link is never answered (its changes may send no event here)', async () => {
    const { p } = await start({ 'elsewhere/y.txt': 'y\n' });
    rmSync(p.path('src/x/y.txt'));
    linkSync(p.path('elsewhere/y.txt'), p.path('src/x/y.txt'));
    for (let i = 0; i < 40; i++) {
      const got = await run(p);
      expect(got.pid).toBeUndefined();
      if (got.stderr.includes('has other hard links')) return;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error('the watch never said why it does not answer');
  });

  it('answers from a project whose socket path is longer than a unix socket address', async () => {
    const { p, w } = await start({}, `kiwibox-watchd-${'long'.repeat(25)}-`);
    expect(Buffer.byteLength(p.path('.kiwibox/watch/socket'))).toBeGreaterThan(108);
    expect((await untilAnswered(p)).pid).toBe(w.pid);
  });

  it('a watch started from another build of kiwibox does not answer', async () => {
    const { p } = await start();
    await untilAnswered(p);
    // What a rebuild does to every compiled file: a new mtime (put back afterwards, to the µs).
    const file = join(ROOT, 'dist', 'scheduler', 'plan.js');
    const was = statSync(file);
    utimesSync(file, was.atime, new Date(was.mtimeMs + 5000));
    try {
      const got = await run(p);
      expect(got.pid).toBeUndefined();
      expect(got.stderr).toContain('the watch runs another build of kiwibox');
    } finally {
      utimesSync(file, was.atimeMs / 1000, was.mtimeMs / 1000);
    }
  });
});
