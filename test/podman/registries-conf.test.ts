/**
 * Registries as podman sees them: a loopback registry marked `insecure = true` in the registries.conf
 * that CONTAINERS_REGISTRIES_CONF names, and nothing in kiwibox's own settings (no tls-verify). podman
 * push/pull honour it; a stack's remote digest (skopeo inspect) must too.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { PodmanSession } from '../../src/executors/podman/podman.js';
import { stackExecutor } from '../../src/executors/podman/stack.js';
import { stashExecutor } from '../../src/executors/podman/stash.js';
import { expectOk } from '../support/expect-ok.js';
import { busyboxRoot, contextFor, projectOf, stackStep, stashStep, withPodmanFixture } from './fixtures.js';

const fx = withPodmanFixture({ prefix: 'kiwibox-registries-conf-', storeTrustsRegistry: false });
const saved = process.env.CONTAINERS_REGISTRIES_CONF;

beforeAll(async () => {
  const conf = join(fx.work, 'registries.conf');
  await writeFile(conf, `[[registry]]\nlocation = "${fx.registry.host}"\ninsecure = true\n`);
  process.env.CONTAINERS_REGISTRIES_CONF = conf;
});
afterAll(() => {
  if (saved === undefined) delete process.env.CONTAINERS_REGISTRIES_CONF;
  else process.env.CONTAINERS_REGISTRIES_CONF = saved;
});

describe('registries.conf named by CONTAINERS_REGISTRIES_CONF', () => {
  test('an insecure loopback registry there is used by podman and by a stack, without tls-verify', async () => {
    expect(fx.store.settings.registries).toEqual({});
    const step = stashStep({
      id: 'base',
      root: { dir: await busyboxRoot(join(fx.work, 'base'), { 'etc/base': '1' }) },
      name: 'base',
    });
    const project = projectOf(fx.work, fx.store.settings, [step]);
    expectOk(await stashExecutor.run(step, await contextFor(project)), 'stash');
    const ref = `${fx.registry.host}/conf/base:v1`;
    // podman reads the variable itself: no --tls-verify here.
    await fx.store.podman(['push', '-q', 'localhost/base:latest', `docker://${ref}`]);

    const stack = stackStep({ id: 's', images: [{ ref }], targetDir: join(fx.work, 'out') });
    const stackProject = projectOf(fx.work, fx.store.settings, [stack]);
    const signal = new AbortController().signal;
    const extra = await stackExecutor.extra?.(stack, { project: stackProject, signal });
    expect(
      expectOk(extra ?? { ok: false, error: [] }, 'stack digest (skopeo inspect)')[`image ${ref}`],
    ).toMatch(/^sha256:/);
    const session = new PodmanSession({ settings: fx.store.settings, cwd: fx.work, signal, step: 's' });
    expectOk(await session.pull(ref), 'podman pull');
    await session.cleanup();
  });
});
