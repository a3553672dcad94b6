import { execFile, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireStepLock } from '../../src/state/lock.js';
import { acquireLock } from '../../src/state/lock-file.js';

const execFileAsync = promisify(execFile);

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kiwibox-lock-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('store lock', () => {
  it('holds the file with our pid and removes it on release', async () => {
    const path = join(dir, 'a.lock');
    const lock = await acquireLock(path);
    expect(lock.ok).toBe(true);
    if (!lock.ok) return;
    expect(JSON.parse(readFileSync(path, 'utf8')).pid).toBe(process.pid);
    await lock.value.release();
    expect(existsSync(path)).toBe(false);
  });

  it('waits for a live owner and gives up when aborted', async () => {
    const path = join(dir, 'b.lock');
    const first = await acquireLock(path);
    expect(first.ok).toBe(true);
    const waits: number[] = [];
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 400);
    const second = await acquireLock(path, {
      signal: controller.signal,
      onWait: (pid) => waits.push(pid),
      pollMs: 50,
    });
    expect(second.ok).toBe(false);
    if (!second.ok) expect(second.error[0]?.reason).toBe('cancelled');
    expect(waits).toEqual([process.pid]);
    if (first.ok) await first.value.release();
  });

  it('breaks the lock of a process that is gone, and of a reused pid', async () => {
    const path = join(dir, 'c.lock');
    const dead = spawnSync('true').pid;
    writeFileSync(path, JSON.stringify({ pid: dead }));
    const lock = await acquireLock(path, { pollMs: 20 });
    expect(lock.ok).toBe(true);
    if (lock.ok) await lock.value.release();
    // Our own pid, but another start time: the recorded owner is not us.
    writeFileSync(path, JSON.stringify({ pid: process.pid, start: '1' }));
    const again = await acquireLock(path, { pollMs: 20 });
    expect(again.ok).toBe(true);
    if (again.ok) await again.value.release();
  });

  it('hands the lock from one holder to the next in order', async () => {
    const path = join(dir, 'd.lock');
    const order: string[] = [];
    const hold = async (name: string) => {
      const lock = await acquireLock(path, { pollMs: 20 });
      if (!lock.ok) throw new Error('lock');
      order.push(`${name}+`);
      await new Promise((r) => setTimeout(r, 100));
      order.push(`${name}-`);
      await lock.value.release();
    };
    await Promise.all([hold('a'), hold('b'), hold('c')]);
    // Never two holders at once: every + is followed by its own -.
    for (let i = 0; i < order.length; i += 2) expect(order[i]?.[0]).toBe(order[i + 1]?.[0]);
  });
});

describe('store lock between processes', () => {
  // Another process holding the lock the way acquireLock writes it (O_EXCL create, {"pid"}).
  const holder = (path: string, ms: number) =>
    spawn(
      process.execPath,
      [
        '-e',
        `const fs = require('fs');
         const fd = fs.openSync(${JSON.stringify(path)}, 'wx');
         fs.writeSync(fd, JSON.stringify({ pid: process.pid }));
         fs.closeSync(fd);
         process.stdout.write('held\\n');
         setTimeout(() => { fs.unlinkSync(${JSON.stringify(path)}); process.exit(0); }, ${ms});`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
  const held = (child: ReturnType<typeof spawn>) =>
    new Promise<void>((resolve) => child.stdout?.once('data', () => resolve()));

  it('waits for another live process, then takes the lock', async () => {
    const path = join(dir, 'p.lock');
    const child = holder(path, 600);
    await held(child);
    const waits: number[] = [];
    const lock = await acquireLock(path, { pollMs: 50, onWait: (pid) => waits.push(pid) });
    expect(lock.ok).toBe(true);
    expect(waits).toEqual([child.pid]);
    // The holder unlinked its lock (and exits normally); we never held it at the same time.
    await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
    expect(child.exitCode).toBe(0);
    if (lock.ok) await lock.value.release();
  });

  it('breaks the lock of a process that was killed while holding it', async () => {
    const path = join(dir, 'k.lock');
    const child = holder(path, 60_000);
    await held(child);
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    expect(existsSync(path)).toBe(true);
    const lock = await acquireLock(path, { pollMs: 50 });
    expect(lock.ok).toBe(true);
    expect(JSON.parse(readFileSync(path, 'utf8')).pid).toBe(process.pid);
    if (lock.ok) await lock.value.release();
  });
});

describe('step lock', () => {
  const compiled = fileURLToPath(new URL('../../dist/state/lock.js', import.meta.url));
  const child = fileURLToPath(new URL('../fixtures/step-lock-child.mjs', import.meta.url));

  it('names the live owner and is free again after release', async () => {
    const first = await acquireStepLock(dir, 'a');
    expect(first.ok && 'held' in first.value).toBe(true);
    const second = await acquireStepLock(dir, 'a');
    // Our own pid: a second caller in one process is refused as another process would be.
    expect(second.ok && second.value).toEqual({ owner: process.pid });
    if (first.ok && 'held' in first.value) await first.value.held.release();
    const third = await acquireStepLock(dir, 'a');
    expect(third.ok && 'held' in third.value).toBe(true);
  });

  // The old step lock read the owner's pid after a failed create and crashed with ENOENT when the
  // owner released in between; it also broke a lock whose pid was not written yet.
  it('never crashes or lets two holders overlap when processes race for it', async () => {
    const log = join(dir, 'log');
    const runs = Array.from({ length: 4 }, () =>
      execFileAsync(process.execPath, [child, compiled, dir, log, '200']).then(
        () => 0,
        (error: { code?: number; stderr?: string }) => `${error.code}: ${error.stderr}`,
      ),
    );
    expect(await Promise.all(runs)).toEqual([0, 0, 0, 0]);
    const lines = readFileSync(log, 'utf8').trim().split('\n');
    expect(lines.length).toBeGreaterThan(8);
    for (let i = 0; i < lines.length; i += 2) {
      expect([lines[i], lines[i + 1]]).toEqual([lines[i], `-${lines[i]?.slice(1)}`]);
      expect(lines[i]?.startsWith('+')).toBe(true);
    }
  });
});
