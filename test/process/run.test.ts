/**
 * runProcess with a pipe (`a | b`) and stdout to a file: what host-kernel.ts unpacks kernels with.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pidAlive } from '../../src/core/fs.js';
import { spawnGroup } from '../../src/process/group.js';
import { runProcess } from '../../src/process/run.js';

const dir = mkdtempSync(join(tmpdir(), 'kiwibox-process-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('runProcess', () => {
  it('streams stdout into a second command and returns its result', async () => {
    const r = await runProcess({ argv: ['printf', 'b\\na\\n'], pipeTo: ['sort'], cwd: dir });
    expect(r.ok && r.value.stdout).toBe('a\nb');
  });

  it('fails when either side of the pipe fails', async () => {
    const first = await runProcess({ argv: ['sh', '-c', 'echo x; exit 3'], pipeTo: ['cat'], cwd: dir });
    expect(first.ok ? 'ok' : first.error[0]?.message).toMatch(/exited with code 3/);
    const second = await runProcess({ argv: ['echo', 'x'], pipeTo: ['sh', '-c', 'cat; exit 4'], cwd: dir });
    expect(second.ok ? 'ok' : second.error[0]?.message).toMatch(/exited with code 4/);
  });

  it("names the tool's last stderr line when it exits non-zero (apt-cache's E: line, say)", async () => {
    const r = await runProcess({
      argv: ['sh', '-c', 'echo noise >&2; echo "E: the reason" >&2; exit 100'],
      cwd: dir,
    });
    expect(r.ok ? 'ok' : r.error[0]?.message).toBe(
      'sh -c echo noise >&2; echo "E: the reason" >&2; exit 100 exited with code 100: E: the reason',
    );
  });

  it('writes stdout to a file', async () => {
    const out = join(dir, 'out.txt');
    const r = await runProcess({ argv: ['cat'], input: 'hello', stdoutFile: out, cwd: dir });
    expect(r.ok).toBe(true);
    expect(readFileSync(out, 'utf8')).toBe('hello');
  });

  it('cancels both sides of a pipe, SIGKILL for one that ignores SIGTERM', async () => {
    const pids = join(dir, 'pids');
    const controller = new AbortController();
    const running = runProcess({
      argv: ['sh', '-c', `echo $$ >> ${pids}; trap '' TERM; while :; do sleep 0.1; done`],
      pipeTo: ['sh', '-c', `echo $$ >> ${pids}; cat > /dev/null`],
      cwd: dir,
      signal: controller.signal,
      killAfterMs: 300,
    });
    for (
      let i = 0;
      i < 100 && (readFileSync(pids, { flag: 'a+', encoding: 'utf8' }).match(/\n/g)?.length ?? 0) < 2;
      i++
    )
      await new Promise((r) => setTimeout(r, 50));
    controller.abort();
    const r = await running;
    expect(r.ok ? 'ok' : r.error[0]?.reason).toBe('cancelled');
    const started = readFileSync(pids, 'utf8').trim().split('\n').map(Number);
    expect(started).toHaveLength(2);
    expect(started.filter(pidAlive)).toEqual([]);
  });
});

describe('runProcess and the signing key', () => {
  const count = ['sh', '-c', 'env | grep -c ^KIWIBOX_CACHE_KEY= || true'] as const;
  it('never passes KIWIBOX_CACHE_KEY to a child unless it keeps secrets (srun does)', async () => {
    const before = process.env.KIWIBOX_CACHE_KEY;
    process.env.KIWIBOX_CACHE_KEY = 'k-1:c2VjcmV0';
    try {
      const inherited = await runProcess({ argv: [...count], cwd: dir });
      expect(inherited.ok && inherited.value.stdout).toBe('0');
      const given = await runProcess({
        argv: [...count],
        cwd: dir,
        env: { ...process.env } as Record<string, string>,
      });
      expect(given.ok && given.value.stdout).toBe('0');
      const replaced = await runProcess({
        argv: [...count],
        cwd: dir,
        replaceEnv: true,
        env: { KIWIBOX_CACHE_KEY: 'x', PATH: process.env.PATH ?? '' },
      });
      expect(replaced.ok && replaced.value.stdout).toBe('0');
      // QEMU and virtiofsd start through spawnGroup, which strips it too.
      const lines: string[] = [];
      const vmLike = spawnGroup({ argv: [...count], env: { ...process.env }, onLine: (l) => lines.push(l) });
      await vmLike.exited;
      expect(lines).toEqual(['0']);
      const kept = await runProcess({ argv: [...count], cwd: dir, keepSecrets: true });
      expect(kept.ok && kept.value.stdout).toBe('1');
    } finally {
      if (before === undefined) delete process.env.KIWIBOX_CACHE_KEY;
      else process.env.KIWIBOX_CACHE_KEY = before;
    }
  });
});
