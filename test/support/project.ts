/**
 * A temporary project for tests: write files, load them, run the real CLI.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execa } from 'execa';

export const ROOT = new URL('../..', import.meta.url).pathname;
export const BIN = join(ROOT, 'bin', 'kiwibox.js');

/** A minimal valid KIWI description. */
export const MINIMAL_KIWI = `<?xml version="1.0" encoding="utf-8"?>
<image schemaversion="7.5" name="t">
  <description type="system"><author>tester</author><contact>t@localhost</contact><specification>t</specification></description>
  <preferences>
    <version>1.0.0</version>
    <packagemanager>apt</packagemanager>
    <type image="tbz"/>
    <type image="oem" primary="true"/>
  </preferences>
  <profiles>
    <profile name="Default" description="d"/>
    <profile name="Small" description="s"/>
  </profiles>
  <packages type="image"><package name="netbase"/></packages>
</image>
`;

export class TempProject {
  readonly dir: string;

  constructor(prefix = 'kiwibox-test-') {
    this.dir = mkdtempSync(join(tmpdir(), prefix));
  }

  write(files: Record<string, string>): this {
    for (const [name, text] of Object.entries(files)) {
      const path = join(this.dir, name);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, text);
    }
    return this;
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  /**
   * Runs the built CLI in the project dir; never throws on a non-zero exit. `user` runs it as that
   * uid (and gid), without root's supplementary groups.
   */
  async kiwibox(
    args: string[],
    env: Record<string, string> = {},
    user?: number,
    options: { stripFinalNewline?: boolean } = {},
  ) {
    return execa(process.execPath, [BIN, ...args], {
      cwd: this.dir,
      reject: false,
      env: { NO_COLOR: '1', CI: 'true', ...env },
      stdin: 'ignore',
      stripFinalNewline: options.stripFinalNewline ?? true,
      ...(user === undefined ? {} : { uid: user, gid: user }),
    });
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Parses NDJSON reporter output into events. */
export function events(stdout: string): Array<Record<string, unknown> & { type: string; step?: string }> {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l));
}

/** Step ids with an event of `type`, in order. */
export function stepsWith(stdout: string, type: string): string[] {
  return events(stdout)
    .filter((e) => e.type === type)
    .map((e) => String(e.step));
}
