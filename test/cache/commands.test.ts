/**
 * `kiwibox cache push`, `verify` and `status` against a real registry, and two writers of one
 * fingerprint at once leaving one valid entry.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { TempProject } from '../support/project.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { type CacheFixture, cacheFixture, type Key, makeKey, outcomes, run } from './fixture.js';

let fx: CacheFixture;
let registry: TestRegistry;
let key: Key;
const projects: TempProject[] = [];

beforeAll(async () => {
  fx = await cacheFixture();
  registry = await startRegistry();
  key = await makeKey(fx.work, 'ci-1');
});

afterAll(async () => {
  for (const p of projects) p.remove();
  await registry?.stop();
  await fx?.dispose();
});

function project(repository: string): TempProject {
  const p = new TempProject('kiwibox-cache-cmd-');
  projects.push(p);
  p.write({
    'kiwibox.yaml': [
      'version: 1',
      `podman: {registries: {"${registry.host}": {tls-verify: false}}}`,
      `cache: {store: "${registry.host}/${repository}", trusted-keys: ["${key.publicText}"]}`,
      'tasks:',
      '  t:',
      '    run: ["sh", "-c", "head -c 100000 /dev/urandom > out.bin"]',
      '    outputs: [out.bin]',
      '',
    ].join('\n'),
  });
  return p;
}

const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

test('push uploads a step that is fresh here; verify checks it and finds a tampered blob', async () => {
  const p = project('team/cmd');
  expect((await p.kiwibox(['--cache-mode', 'off', 'run'])).exitCode).toBe(0);
  const notYet = await p.kiwibox(['cache', 'verify', 't']);
  expect([notYet.exitCode, notYet.stdout]).toEqual([1, 't: no entry']);
  const pushed = await p.kiwibox(['cache', 'push'], { KIWIBOX_CACHE_KEY_FILE: key.file });
  expect([pushed.exitCode, pushed.stdout]).toEqual([0, 't: pushed']);
  const verified = await p.kiwibox(['cache', 'verify', 't']);
  expect(verified.exitCode, String(verified.stdout)).toBe(0);
  expect(verified.stdout).toMatch(/^t: ok, signed by 'ci-1', 3 blobs/);
  const status = await p.kiwibox(['cache', 'status']);
  expect(status.stdout).toContain(`store: oci://${registry.host}/team/cmd`);
  expect(status.stdout).toContain('mode: read-only');

  const digest = sha(p.path('out.bin'));
  writeFileSync(
    join(registry.dir, 'data/docker/registry/v2/blobs/sha256', digest.slice(0, 2), digest, 'data'),
    'x',
  );
  const tampered = await p.kiwibox(['cache', 'verify', 't']);
  expect(tampered.exitCode).toBe(1);
  expect(tampered.stdout).toContain(`blob sha256:${digest}: got 1 bytes`);
  const noKey = await p.kiwibox(['cache', 'push']);
  expect(noKey.exitCode).toBe(2);
}, 120_000);

test('two writers of one fingerprint at once leave one valid entry, restored whole', async () => {
  const [a, b] = [project('team/race'), project('team/race')];
  const env = { KIWIBOX_CACHE_KEY_FILE: key.file };
  const [ra, rb] = await Promise.all([run(a, env), run(b, env)]);
  expect([ra.exitCode, rb.exitCode]).toEqual([0, 0]);
  const reader = project('team/race');
  const read = await run(reader);
  expect(outcomes(read.events)).toEqual({ t: 'step-restored' });
  // Different random outputs: the reader has exactly one writer's, never a mix.
  expect([sha(a.path('out.bin')), sha(b.path('out.bin'))]).toContain(sha(reader.path('out.bin')));
  expect((await reader.kiwibox(['cache', 'verify'])).exitCode).toBe(0);
}, 120_000);
