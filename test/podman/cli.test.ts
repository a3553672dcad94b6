/**
 * The compatibility command lines (`stash`, `stash list`, `stackbuild`), run as users run them:
 * bin/kiwibox.js, the pipeline runner, fingerprints and the ndjson reporter. kiwi-ng's global
 * options go before the command, as on the upstream plugins page.
 */
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { BIN, events } from '../support/project.js';
import { kiwiBusyboxRoot, withPodmanFixture } from './fixtures.js';

const fx = withPodmanFixture({ prefix: 'kiwibox-cli-test-', storeTrustsRegistry: false });

async function kiwibox(...args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const result = await execa(process.execPath, [BIN, '--reporter', 'ndjson', ...args], {
    cwd: fx.work,
    reject: false,
    env: { NO_COLOR: '1', CI: 'true' },
    stdin: 'ignore',
  });
  const lines = (text: string) => (text ? text.split('\n') : []);
  return { code: result.exitCode ?? -1, out: lines(result.stdout), err: lines(result.stderr) };
}

/** The failures of the step-failed events in `out`. */
const failuresOf = (out: string[]) =>
  events(out.join('\n'))
    .filter((e) => e.type === 'step-failed')
    .map((e) => JSON.stringify(e.failures));

const storeArgs = () => [
  '--podman-root',
  fx.store.settings.root as string,
  '--podman-runroot',
  fx.store.settings.runroot as string,
  '--podman-tmpdir',
  fx.store.settings.tmpdir as string,
];

describe('compatibility commands', () => {
  test('stash --root (name from /image/config.xml), stash list, stash --list, stackbuild', async () => {
    const root = await kiwiBusyboxRoot(join(fx.work, 'root'), 'compat-base');
    // kiwi-ng's globals before the command are taken (and, as upstream, not used by stash).
    const stashed = await kiwibox('--debug', 'stash', '--root', root, '--tag', 'v1', ...storeArgs());
    expect(stashed.err).toEqual(['note: --debug is not used by stash (as with kiwi-ng)']);
    expect(stashed.code).toBe(0);
    expect(events(stashed.out.join('\n')).map((e) => e.type)).toContain('step-succeeded');
    expect(await fx.store.podman(['image', 'exists', 'localhost/compat-base:v1'])).toBe('');

    const second = await kiwibox('stash', '--root', root, '--container-name', 'other', ...storeArgs());
    expect(second.code).toBe(0);

    const table = await kiwibox('stash', 'list', ...storeArgs());
    expect(table.code).toBe(0);
    expect(table.out[0]).toMatch(/^REPOSITORY\s+TAG\s+LAYERS/);
    expect(table.out.some((line) => /^localhost\/compat-base\s+v1\s+1\s/.test(line))).toBe(true);
    expect(table.out.some((line) => /^localhost\/other\s+latest\s+1\s/.test(line))).toBe(true);

    const json = await kiwibox('stash', '--list', ...storeArgs());
    const listed = JSON.parse(json.out.join('\n')) as { repository: string; tag: string; layers: number }[];
    expect(listed.map((s) => `${s.repository}:${s.tag}`)).toEqual([
      'localhost/compat-base:v1',
      'localhost/other:latest',
    ]);

    await fx.store.podman([
      'push',
      '-q',
      '--tls-verify=false',
      'localhost/other:latest',
      `docker://${fx.registry.host}/other:latest`,
    ]);
    const target = join(fx.work, 'target');
    const built = await kiwibox(
      '--config',
      fx.fastConfig,
      'stackbuild',
      '--stash',
      'compat-base:v1',
      '--stash',
      'other',
      '--from-registry',
      fx.registry.host,
      '--target-dir',
      target,
      ...storeArgs(),
    );
    expect(built.code).toBe(1); // compat-base:v1 was never pushed
    const pulled = failuresOf(built.out).at(-1);
    // The pipeline resolves remote images while fingerprinting, before anything is pulled.
    expect(pulled).toMatch(/"reason":"image-unresolvable"/);
    expect(pulled).toContain(`${fx.registry.host}/compat-base:v1`);

    const stackbuild = [
      'stackbuild',
      '--stash',
      'compat-base:v1',
      '--stash',
      'other',
      '--target-dir',
      target,
    ];
    const local = await kiwibox(
      '--config',
      fx.fastConfig,
      '--logfile',
      'kiwi.log',
      ...stackbuild,
      ...storeArgs(),
    );
    expect(failuresOf(local.out)).toEqual([]);
    expect(local.code).toBe(0);
    expect((await stat(join(target, 'kiwi.result.json'))).isFile()).toBe(true);
    // --logfile: the step's log, copied there after the run.
    expect(existsSync(join(fx.work, 'kiwi.log'))).toBe(true);
    // The same command again: fresh, through the fingerprints.
    const again = await kiwibox('--config', fx.fastConfig, ...stackbuild, ...storeArgs());
    expect(again.code).toBe(0);
    expect(
      events(again.out.join('\n'))
        .filter((e) => e.type === 'step-fresh')
        .map((e) => e.step),
    ).toEqual(['stackbuild']);
  });

  test('upper-case names are refused before anything runs', async () => {
    const result = await kiwibox(
      'stackbuild',
      '--stash',
      'Upper:1',
      '--target-dir',
      join(fx.work, 'x'),
      ...storeArgs(),
    );
    expect(result.code).toBe(2);
    expect(result.err.join('\n')).toMatch(/invalid-image-name/);
    expect(result.out).toEqual([]);
  });
});
