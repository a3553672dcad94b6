import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireLock } from '../../src/boxes/lock.js';

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
