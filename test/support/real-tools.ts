/**
 * Real-tool tests need root and system tools. Outside CI a missing tool skips the test and says why;
 * in CI (CI=true) it fails: CI must never skip the real-tool tests.
 */
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function has(tool: string): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v "$1"', 'sh', tool], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Undefined when everything is there, else the reason (and in CI: throws). */
export function missingRealTools(options: { tools: readonly string[]; root?: boolean }): string | undefined {
  const missing = options.tools.filter((t) => !has(t));
  const problems = [
    ...(missing.length ? [`missing ${missing.join(', ')} (run scripts/setup)`] : []),
    ...(options.root && process.getuid?.() !== 0 ? ['needs root'] : []),
  ];
  if (!problems.length) return undefined;
  const reason = problems.join('; ');
  if (process.env.CI) throw new Error(`real-tool test cannot run in CI: ${reason}`);
  console.warn(`skipping real-tool test: ${reason}`);
  return reason;
}

/** Debian mirror from apt's sources, as scripts/debian-mirror prints it. */
export function debianMirror(root: string): string {
  return execFileSync(`${root}/scripts/debian-mirror`, { encoding: 'utf8' }).trim();
}

/**
 * The box store the host-box tests share (KIWIBOX_TEST_BOX_STORE, default under the user's cache), so
 * the Debian kernel package is fetched once per machine, not once per test file or run.
 */
export function testBoxStore(): string {
  const cache = process.env.XDG_CACHE_HOME ?? join(process.env.HOME ?? tmpdir(), '.cache');
  return process.env.KIWIBOX_TEST_BOX_STORE ?? join(cache, 'kiwibox', 'test-boxes');
}
