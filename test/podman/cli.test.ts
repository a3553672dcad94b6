/**
 * The compatibility command lines, parsed by commander and run through a one-step runner that calls
 * the executors directly (the stand-in for the pipeline runner the CLI gets in production).
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Command } from 'commander';
import { describe, expect, test } from 'vitest';
import { exitCodeOf } from '../../src/cli/action.js';
import { registerStackbuildCommand } from '../../src/cli/commands/stackbuild.js';
import { registerStashCommands } from '../../src/cli/commands/stash.js';
import type { Project } from '../../src/core/model.js';
import { stackExecutor } from '../../src/executors/podman/stack.js';
import { stashExecutor } from '../../src/executors/podman/stash.js';
import { contextFor, kiwiBusyboxRoot, withPodmanFixture } from './fixtures.js';

const fx = withPodmanFixture({ prefix: 'kiwibox-cli-test-', storeTrustsRegistry: false });
const ran: Project[] = [];
const failures: string[] = [];

/** Runs the single step of a compat project with its executor; 0 on success, 1 on failure. */
async function runOneStep(project: Project): Promise<number> {
  ran.push(project);
  const [step] = [...project.steps.values()];
  const ctx = await contextFor(project);
  if (step?.kind === 'stash') return (await stashExecutor.run(step, ctx)).ok ? 0 : 1;
  if (step?.kind === 'stack') {
    const result = await stackExecutor.run(step, ctx);
    if (!result.ok) failures.push(JSON.stringify(result.error));
    return result.ok ? 0 : 1;
  }
  return 1;
}

async function kiwibox(...args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const program = new Command('kiwibox').exitOverride();
  const io = { print: (l: string) => out.push(l), error: (l: string) => err.push(l) };
  registerStashCommands({ program, io, run: runOneStep });
  registerStackbuildCommand({ program, io, run: runOneStep });
  await program.parseAsync(args, { from: 'user' });
  return { code: exitCodeOf(program) ?? 0, out, err };
}

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
    const stashed = await kiwibox('stash', '--root', root, '--tag', 'v1', ...storeArgs());
    expect(stashed).toMatchObject({ code: 0, err: [] });
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
      '--',
      '--config',
      fx.fastConfig,
    );
    expect(built.code).toBe(1); // compat-base:v1 was never pushed
    expect(failures.at(-1)).toMatch(/podman-pull-failed.*manifest unknown/);
    const stack = [...(ran.at(-1)?.steps.values() ?? [])][0];
    expect(stack).toMatchObject({
      kind: 'stack',
      images: [{ ref: `${fx.registry.host}/compat-base:v1` }, { ref: `${fx.registry.host}/other:latest` }],
      kiwiArgs: ['--config', fx.fastConfig],
    });

    const local = await kiwibox(
      'stackbuild',
      '--stash',
      'compat-base:v1',
      '--stash',
      'other',
      '--target-dir',
      target,
      ...storeArgs(),
      '--',
      '--config',
      fx.fastConfig,
    );
    expect(local.code).toBe(0);
    expect((await stat(join(target, 'kiwi.result.json'))).isFile()).toBe(true);
  });

  test('upper-case names are refused before anything runs', async () => {
    const before = ran.length;
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
    expect(ran.length).toBe(before);
  });
});
