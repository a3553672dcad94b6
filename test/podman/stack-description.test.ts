/**
 * The stack executor reads its description with kiwi's rule (kiwi/description-file.ts), as the
 * validator does, and refuses before any image is mounted (no podman call is reached here).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stackExecutor } from '../../src/executors/podman/stack.js';
import { expectFailed } from '../support/expect-ok.js';
import { contextFor, disposeContexts, projectOf, stackStep } from './fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'kiwibox-stack-desc-'));
afterAll(async () => {
  await disposeContexts();
  rmSync(dir, { recursive: true, force: true });
});

const image = (bootstrap: boolean) =>
  `<image schemaversion="7.5" name="s"><packages type="${bootstrap ? 'bootstrap' : 'image'}"><package name="x"/></packages></image>`;

async function run(desc: Record<string, string>, kiwiArgs: string[] = []) {
  const description = mkdtempSync(join(dir, 'desc-'));
  for (const [name, text] of Object.entries(desc)) {
    mkdirSync(join(description, name, '..'), { recursive: true });
    writeFileSync(join(description, name), text);
  }
  const step = stackStep({
    id: 's',
    images: [{ ref: 'localhost/base:latest' }],
    targetDir: join(dir, 'out'),
    description,
    kiwiArgs,
  });
  const project = projectOf(dir, { registries: {} }, [step]);
  return stackExecutor.run(step, await contextFor(project));
}

describe('stack description', () => {
  it('is the file kiwi-ng reads: config.xml before config.kiwi', async () => {
    const failures = expectFailed(await run({ 'config.xml': image(true), 'config.kiwi': image(false) }));
    expect(failures.map((f) => f.reason)).toEqual(['bootstrap-into-existing-root']);
    expect(failures[0]?.message).toContain('/config.xml has a <packages type="bootstrap">');
  });

  it('is image/config.xml, or the --kiwi-file of kiwi-args', async () => {
    const nested = expectFailed(await run({ 'image/config.xml': image(true) }));
    expect(nested[0]?.message).toContain('/image/config.xml has');
    const named = expectFailed(
      await run({ 'config.xml': image(false), 'other.kiwi': image(true) }, ['--kiwi-file=other.kiwi']),
    );
    expect(named[0]?.message).toContain('/other.kiwi has');
    const missing = expectFailed(await run({}, []));
    expect(missing.map((f) => f.reason)).toEqual(['missing-description']);
  });
});
