/**
 * The team cache end to end, through the CLI, against a real docker-registry on 127.0.0.1 and real
 * podman, rsync and kiwi-ng: clone A builds and writes; clone B (new dir, empty .kiwibox/, empty
 * podman store) restores every step without running a task or kiwi-ng, byte for byte. Then what
 * must be a miss (untrusted key, untrusted namespace, tampered blob) rebuilds, read-only never
 * writes, a dead registry only warns.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { TempProject } from '../support/project.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import {
  type CacheFixture,
  type CloneOptions,
  cacheFixture,
  type Key,
  makeClone,
  makeKey,
  outcomes,
  run,
  sideLines,
  treeDigests,
} from './fixture.js';

let fx: CacheFixture;
let registry: TestRegistry;
let ci: Key;
let dev: Key;
let side: string;
const clones: TempProject[] = [];

beforeAll(async () => {
  fx = await cacheFixture();
  registry = await startRegistry();
  ci = await makeKey(fx.work, 'ci-1');
  dev = await makeKey(fx.work, 'dev-1');
  side = join(fx.work, 'side-effects');
});

afterAll(async () => {
  for (const clone of clones) clone.remove();
  await registry?.stop();
  await fx?.dispose();
});

async function clone(options: Partial<CloneOptions> = {}): Promise<TempProject> {
  const made = await makeClone({
    registry: registry.host,
    store: await fx.newStore(),
    trusted: [ci.publicText],
    sideFile: side,
    fastConfig: fx.fastConfig,
    ...options,
  });
  clones.push(made);
  return made;
}

async function tags(repository: string): Promise<string[]> {
  const response = await fetch(`http://${registry.host}/v2/${repository}/tags/list`);
  if (response.status === 404) return [];
  return ((await response.json()) as { tags: string[] | null }).tags ?? [];
}

const ALL = ['base', 'gen', 'image', 'post'];

describe('team cache on an OCI registry', () => {
  let a: TempProject;

  test('clone A runs and writes; clone B restores everything without running anything, byte-identical', async () => {
    a = await clone();
    const first = await run(a, { KIWIBOX_CACHE_KEY_FILE: ci.file });
    expect(first.exitCode, String(first.stderr) + String(first.stdout)).toBe(0);
    expect(outcomes(first.events)).toEqual(Object.fromEntries(ALL.map((s) => [s, 'step-succeeded'])));
    expect(first.events.filter((e) => e.type === 'warning')).toEqual([]);
    expect((await tags('team/kiwibox-cache')).length).toBe(4);

    const b = await clone();
    // plan looks up (signature checked) and writes nothing; image and post wait for their inputs.
    const plan = await b.kiwibox(['plan', '--json']);
    expect(plan.exitCode, String(plan.stderr)).toBe(0);
    const planned = JSON.parse(String(plan.stdout)) as {
      step: string;
      cache?: { restore: boolean; keyName?: string };
    }[];
    expect(planned.find((p) => p.step === 'gen')?.cache).toMatchObject({ restore: true, keyName: 'ci-1' });
    expect(planned.find((p) => p.step === 'base')?.cache).toMatchObject({ restore: true });
    expect(existsSync(join(b.dir, '.kiwibox'))).toBe(false);
    const why = await b.kiwibox(['why', 'gen']);
    expect(why.stdout).toContain('would restore from cache (oci://');
    const before = sideLines(side).length;
    const second = await run(b);
    expect(second.exitCode, String(second.stderr)).toBe(0);
    expect(outcomes(second.events)).toEqual(Object.fromEntries(ALL.map((s) => [s, 'step-restored'])));
    expect(second.events.filter((e) => e.type === 'step-started')).toEqual([]);
    expect(sideLines(side).length).toBe(before);
    // Every recorded output is back, byte for byte (kiwi's build/ root is no output, so not cached).
    const restored = treeDigests(b.dir);
    delete restored['kiwibox.yaml'];
    const built = treeDigests(a.dir);
    expect(Object.keys(restored)).toEqual(
      expect.arrayContaining(['gen/blob.bin', 'gen/out.txt', 'post.txt', 'out/kiwi.result.json']),
    );
    expect(Object.keys(restored).some((f) => f.endsWith('.tar.xz'))).toBe(true);
    for (const [path, digest] of Object.entries(restored))
      expect([path, built[path]]).toEqual([path, digest]);
    const finished = second.events.find((e) => e.type === 'run-finished') as unknown as {
      summary: Record<string, number>;
    };
    expect(finished.summary).toMatchObject({ restored: 4, succeeded: 0 });
    expect(finished.summary.restoredBytes).toBeGreaterThan(300_000);
    // The stash's image is back in B's empty store with the id A recorded; B is fresh now.
    const third = await run(b);
    expect(outcomes(third.events)).toEqual(Object.fromEntries(ALL.map((s) => [s, 'step-fresh'])));
    // The log was replayed.
    expect(readFileSync(join(b.dir, '.kiwibox/logs/gen.log'), 'utf8')).toContain('made gen');
  }, 600_000);

  test('an entry signed by a key the reader does not trust is a miss naming both keys; the step runs', async () => {
    const c = await clone({ trusted: [dev.publicText] });
    const before = sideLines(side).length;
    const result = await run(c);
    expect(result.exitCode, String(result.stderr)).toBe(0);
    expect(outcomes(result.events)).toMatchObject({ gen: 'step-succeeded', base: 'step-succeeded' });
    expect(sideLines(side).length).toBeGreaterThan(before);
    const miss = result.events.find((e) => e.type === 'info' && e.step === 'gen');
    expect(String(miss?.message)).toMatch(/expected 'dev-1', found 'ci-1'/);
  }, 600_000);

  test('an untrusted namespace is never read by trusted readers; its own writers read it', async () => {
    const pr = await clone({ variant: 'pr', cacheLines: ['write-namespace: pr-7'] });
    const written = await run(pr, { KIWIBOX_CACHE_KEY_FILE: ci.file });
    expect(written.exitCode, String(written.stderr)).toBe(0);
    // base and image do not depend on the variant: restored from the trusted namespace, not written.
    expect(outcomes(written.events)).toMatchObject({ base: 'step-restored', gen: 'step-succeeded' });
    expect(await tags('team/kiwibox-cache/pr-7')).toHaveLength(2);

    const trustedReader = await clone({ variant: 'pr' });
    const read = await run(trustedReader, {}, ['--cache-mode', 'read-only']);
    expect(read.exitCode).toBe(0);
    // base's fingerprint does not depend on the variant: it comes from the trusted namespace.
    expect(outcomes(read.events)).toMatchObject({
      gen: 'step-succeeded',
      post: 'step-succeeded',
      base: 'step-restored',
    });

    const prReader = await clone({ variant: 'pr' });
    const again = await run(prReader, { KIWIBOX_CACHE_NAMESPACE: 'pr-7' });
    expect(outcomes(again.events)).toEqual(Object.fromEntries(ALL.map((s) => [s, 'step-restored'])));
  }, 600_000);

  test('a tampered blob is a miss (digest mismatch) and the step rebuilds', async () => {
    const w = await clone({ variant: 'tamper' });
    expect((await run(w, { KIWIBOX_CACHE_KEY_FILE: ci.file })).exitCode).toBe(0);
    const digest = createHash('sha256')
      .update(readFileSync(join(w.dir, 'gen/out.txt')))
      .digest('hex');
    const blob = join(
      registry.dir,
      'data/docker/registry/v2/blobs/sha256',
      digest.slice(0, 2),
      digest,
      'data',
    );
    writeFileSync(blob, 'input evil\n');
    const r = await clone({ variant: 'tamper' });
    const before = sideLines(side).length;
    const result = await run(r);
    expect(result.exitCode, String(result.stderr)).toBe(0);
    expect(outcomes(result.events)).toMatchObject({ gen: 'step-succeeded' });
    expect(sideLines(side).slice(before)).toContain('gen');
    const miss = result.events.find((e) => e.type === 'info' && e.step === 'gen');
    expect(String(miss?.message)).toContain(`sha256:${digest}`);
    expect(readFileSync(join(r.dir, 'gen/out.txt'), 'utf8')).toBe('input tamper\n');
  }, 600_000);

  test('read-only mode never writes, even with a signing key', async () => {
    const before = await tags('team/kiwibox-cache');
    const ro = await clone({ variant: 'readonly' });
    const result = await run(ro, { KIWIBOX_CACHE_KEY_FILE: ci.file, KIWIBOX_CACHE_MODE: 'read-only' });
    expect(result.exitCode).toBe(0);
    expect(outcomes(result.events)).toMatchObject({ gen: 'step-succeeded', post: 'step-succeeded' });
    expect(await tags('team/kiwibox-cache')).toEqual(before);
  }, 600_000);

  test('a registry that is down from the start: a warning, the run succeeds', async () => {
    const down = await clone({ variant: 'down', repository: 'team/kiwibox-cache' });
    const dead = '127.0.0.1:9'; // discard port: nothing listens
    const result = await run(down, { KIWIBOX_CACHE_KEY_FILE: ci.file }, ['--cache', `${dead}/team/cache`]);
    expect(result.exitCode, String(result.stderr)).toBe(0);
    expect(outcomes(result.events)).toEqual(Object.fromEntries(ALL.map((s) => [s, 'step-succeeded'])));
    const warnings = result.events.filter((e) => e.type === 'warning');
    expect(warnings.length).toBeGreaterThanOrEqual(1);
    expect(String(warnings[0]?.message)).toContain('team cache unavailable');
  }, 600_000);
});
