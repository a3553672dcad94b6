/**
 * What a user at a terminal sees and does: the status reporter on a pseudo-terminal (util-linux
 * `script`), and Ctrl-C twice (the second exits at once, killing the process groups still alive).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { BIN, TempProject } from '../support/project.js';
import { missingRealTools } from '../support/real-tools.js';

const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;

describe('on a terminal', () => {
  it.skipIf(missingRealTools({ tools: ['script', 'stty'] }))(
    'shows a status line per running step, erased as steps finish; a failure shows its log tail',
    async () => {
      const p = new TempProject();
      try {
        p.write({
          'kiwibox.yaml': [
            'version: 1',
            'tasks:',
            // `a` prints after its first status line is drawn; its output goes to the log only.
            '  a: {run: [sh, -c, "sleep 1; echo a-out"]}',
            '  b: {run: [sh, -c, "echo b-out; exit 3"], needs: [a]}',
          ].join('\n'),
        });
        // `script` gives the pty the size of its own stdin: none here, so set one (a 0x0 terminal
        // shows no status line: log-update draws nothing at height 0).
        const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: '1', TERM: 'xterm' };
        delete env.CI;
        const result = await execa(
          'script',
          ['-qfec', `stty rows 24 cols 100; exec ${quote(process.execPath)} ${quote(BIN)}`, '/dev/null'],
          { cwd: p.dir, env, extendEnv: false, reject: false, stdin: 'ignore' },
        );
        // Escape shown as ⎋ so that the expectations can spell the terminal sequences.
        const screen = result.stdout.replaceAll('\r', '').replaceAll('\u001b', '⎋');
        expect(result.exitCode).toBe(1);
        // The status line, redrawn in place (erase line, cursor up) while `a` runs.
        expect(screen).toMatch(/\[0\/2\] a \d+ms\n/);
        expect(screen).toMatch(/⎋\[2K⎋\[1A⎋\[2K⎋\[G\[0\/2\] a \d/);
        // Erased before the step's own line scrolls above it.
        expect(screen).toMatch(/⎋\[2K⎋\[G(⎋\[\?2026l)?ok {4}a \d/);
        expect(screen).toMatch(/\[1\/2\] b /);
        expect(screen).not.toMatch(/a-out/);
        expect(screen).toContain('FAIL  b ');
        expect(screen).toContain('      | b-out\n');
        expect(screen).toMatch(/failed: 1 ran, 0 fresh, 1 failed, 0 skipped in /);
      } finally {
        p.remove();
      }
    },
    30_000,
  );
});

/** Resolves once `stream` has printed a line matching `pattern`. */
function lineMatching(stream: NodeJS.ReadableStream, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString();
      const line = buffered.split('\n').find((l) => pattern.test(l));
      if (line !== undefined) {
        stream.off('data', onData);
        resolve(line);
      }
    };
    stream.on('data', onData);
    stream.once('end', () => reject(new Error(`ended without a line matching ${pattern}:\n${buffered}`)));
  });
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

describe('Ctrl-C', () => {
  it('the second one exits at once with 130 and kills the step processes that ignore SIGTERM', async () => {
    const p = new TempProject();
    try {
      // The task ignores SIGTERM (so the first Ctrl-C only asks) and says when it got one.
      const script = [
        'trap "" TERM',
        'sleep 60 & echo $! > sleep.pid',
        'trap "echo got-term" TERM',
        'echo started',
        'wait; wait',
      ].join('; ');
      p.write({ 'kiwibox.yaml': `version: 1\ntasks:\n  hold: {run: [sh, -c, ${JSON.stringify(script)}]}\n` });
      // The step's scratch dir goes here, to see that even the second Ctrl-C removes it.
      mkdirSync(p.path('tmp'));
      const child = execa(process.execPath, [BIN, '--reporter', 'ndjson'], {
        cwd: p.dir,
        env: { CI: 'true', TMPDIR: p.path('tmp') },
        reject: false,
        stdin: 'ignore',
      });
      const stdout = child.stdout as NodeJS.ReadableStream;
      await lineMatching(stdout, /"type":"step-output".*started/);
      const sleepPid = Number(readFileSync(p.path('sleep.pid'), 'utf8'));
      expect(alive(sleepPid)).toBe(true);
      const gotTerm = lineMatching(stdout, /got-term/);
      child.kill('SIGINT');
      await gotTerm;
      expect(alive(sleepPid)).toBe(true);
      child.kill('SIGINT');
      const result = await child;
      expect(result.exitCode).toBe(130);
      // It did not wait for the run to wind down: no summary event.
      expect(result.stdout).not.toMatch(/"type":"run-finished"/);
      for (let i = 0; i < 50 && alive(sleepPid); i++) await new Promise((r) => setTimeout(r, 100));
      expect(alive(sleepPid)).toBe(false);
      expect(existsSync(p.path('sleep.pid'))).toBe(true);
      expect(readdirSync(p.path('tmp'))).toEqual([]);
    } finally {
      p.remove();
    }
  }, 30_000);
});
