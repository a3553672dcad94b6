/**
 * The re-run reasons that need a real tool and a real output: `tool-changed` (the recorded podman
 * version differs from the one now installed) and `output-invalid` (the stashed image is gone from
 * podman's store), as `plan` and `why` print them through bin/kiwibox.js.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { kiwiBusyboxRoot, podmanYaml, withPodmanFixture } from '../podman/fixtures.js';
import { BIN } from '../support/project.js';

const fx = withPodmanFixture({ prefix: 'kiwibox-reasons-' });

async function kiwibox(...args: string[]) {
  const { execa } = await import('execa');
  return execa(process.execPath, [BIN, ...args], {
    cwd: fx.work,
    reject: false,
    env: { NO_COLOR: '1', CI: 'true' },
    stdin: 'ignore',
  });
}

describe('re-run reasons of a stash', () => {
  it('tool-changed after a podman upgrade, output-invalid when the image is gone', async () => {
    await kiwiBusyboxRoot(join(fx.work, 'root'), 'reasons');
    writeFileSync(
      join(fx.work, 'kiwibox.yaml'),
      [
        'version: 1',
        ...podmanYaml(fx.store.settings, fx.registry.host),
        'stashes:',
        '  base: {root: ./root}',
        '',
      ].join('\n'),
    );
    const first = await kiwibox('--reporter', 'plain');
    expect(first.stdout).toMatch(/^ok {4}base /m);
    expect(first.exitCode).toBe(0);
    expect((await kiwibox('plan')).stdout).toBe('fresh base [stash]\n0 of 1 steps would run');

    // kiwibox keeps tool versions in .kiwibox/tools.json, keyed by the binary's stat: what an
    // upgrade looks like to it is another version under the same key.
    const toolsFile = join(fx.work, '.kiwibox', 'tools.json');
    const tools = JSON.parse(readFileSync(toolsFile, 'utf8'));
    const installed = tools.podman.version as string;
    writeFileSync(
      toolsFile,
      JSON.stringify({ ...tools, podman: { ...tools.podman, version: 'podman version 99.0.0' } }),
    );
    const plan = await kiwibox('plan');
    expect(plan.stdout).toBe(
      `run   base [stash]\n        tool podman: ${installed} -> podman version 99.0.0\n1 of 1 steps would run`,
    );
    expect((await kiwibox('why', 'base')).stdout).toBe(
      `base would run:\n  tool podman: ${installed} -> podman version 99.0.0`,
    );
    writeFileSync(toolsFile, JSON.stringify(tools));
    expect((await kiwibox('plan')).stdout).toMatch(/^fresh base/);

    await fx.store.podman(['rmi', 'localhost/base:latest']);
    const gone = await kiwibox('plan', '--json');
    expect(JSON.parse(gone.stdout)).toMatchObject([
      { step: 'base', action: 'run', reasons: [{ type: 'output-invalid' }] },
    ]);
    const why = await kiwibox('why', 'base');
    expect(why.stdout).toMatch(/^base would run:\n {2}output no longer valid: \{.*"image":/);
    const again = await kiwibox('--reporter', 'plain');
    expect(again.stdout).toMatch(/^run {3}base \[stash\] output no longer valid/m);
    expect(again.exitCode).toBe(0);
    expect(await fx.store.podman(['image', 'exists', 'localhost/base:latest'])).toBe('');
  }, 120_000);
});
