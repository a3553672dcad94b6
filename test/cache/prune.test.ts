/**
 * `kiwibox cache prune` against a real docker-registry: an entry made to look old (its record's
 * finishedAt rewritten before `cache push`, so the age is fixed, not timed) goes, a new one and
 * other namespaces stay; a registry without deletes and the HTTP store fail with exit 1.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { RegistryClient } from '../../src/cache/oci-client.js';
import { listTags } from '../../src/cache/oci-prune.js';
import { recordFile, stateDirOf } from '../../src/state/layout.js';
import { TempProject } from '../support/project.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { type Key, makeKey } from './fixture.js';

let registry: TestRegistry;
let noDeletes: TestRegistry;
let key: Key;
let work: TempProject;
const projects: TempProject[] = [];

beforeAll(async () => {
  [registry, noDeletes] = await Promise.all([startRegistry(), startRegistry({ deletes: false })]);
  work = new TempProject('kiwibox-prune-keys-');
  key = await makeKey(work.dir, 'ci-1');
});

afterAll(async () => {
  for (const p of projects) p.remove();
  work?.remove();
  await registry?.stop();
  await noDeletes?.stop();
});

const env = () => ({ KIWIBOX_CACHE_KEY_FILE: key.file });

/** A project with steps `old` and `new`, both run (cache off), `old`'s record dated 2020. */
async function project(host: string, repository: string): Promise<TempProject> {
  const p = new TempProject('kiwibox-prune-');
  projects.push(p);
  const task = (id: string) => [
    `  ${id}:`,
    `    run: ["sh", "-c", "echo ${id} $$ > ${id}.txt"]`,
    `    outputs: [${id}.txt]`,
  ];
  p.write({
    'kiwibox.yaml': [
      'version: 1',
      `podman: {registries: {"${host}": {tls-verify: false}}}`,
      `cache: {store: "${host}/${repository}", trusted-keys: ["${key.publicText}"]}`,
      'tasks:',
      ...task('old'),
      ...task('new'),
      '',
    ].join('\n'),
  });
  const ran = await p.kiwibox(['--cache-mode', 'off', 'run']);
  expect(ran.exitCode, String(ran.stderr)).toBe(0);
  const file = recordFile(stateDirOf(p.dir), 'old');
  const record = JSON.parse(readFileSync(file, 'utf8')) as { finishedAt: string };
  writeFileSync(file, JSON.stringify({ ...record, finishedAt: '2020-01-01T00:00:00.000Z' }));
  return p;
}

const hashOf = (p: TempProject, id: string) =>
  (JSON.parse(readFileSync(recordFile(stateDirOf(p.dir), id), 'utf8')) as { hash: string }).hash;

async function tags(host: string, repo: string): Promise<string[]> {
  const response = await fetch(`http://${host}/v2/${repo}/tags/list`);
  if (response.status === 404) return [];
  return (((await response.json()) as { tags: string[] | null }).tags ?? []).sort();
}

test('prune deletes only entries older than the cutoff, only in its namespace; dry run deletes nothing', async () => {
  const p = await project(registry.host, 'team/prune');
  const [oldKey, newKey] = [hashOf(p, 'old'), hashOf(p, 'new')];
  const pushed = await p.kiwibox(['cache', 'push'], env());
  expect([pushed.exitCode, pushed.stdout]).toEqual([0, 'old: pushed\nnew: pushed']);
  const ns = await p.kiwibox(['--cache-namespace', 'pr-1', 'cache', 'push', 'old'], env());
  expect(ns.exitCode, String(ns.stdout)).toBe(0);
  // A tag that is not a fingerprint is not an entry to prune (it names new's manifest).
  const manifest = await fetch(`http://${registry.host}/v2/team/prune/manifests/${newKey}`, {
    headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
  });
  const put = await fetch(`http://${registry.host}/v2/team/prune/manifests/latest`, {
    method: 'PUT',
    headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
    body: await manifest.text(),
  });
  expect(put.status).toBe(201);
  const all = [oldKey, newKey, 'latest'].sort();
  expect(await tags(registry.host, 'team/prune')).toEqual(all);

  const dry = await p.kiwibox(['cache', 'prune', '--older-than', '30d', '--dry-run']);
  expect(dry.exitCode, String(dry.stderr)).toBe(0);
  const dryLines = String(dry.stdout).split('\n');
  expect(
    dryLines.some((l) => l.startsWith(`would delete old ${oldKey} (finished 2020-01-01T00:00:00.000Z,`)),
  ).toBe(true);
  expect(dryLines.some((l) => l.startsWith(`kept new ${newKey} (finished `))).toBe(true);
  expect(dryLines.at(-1)).toBe(
    `would prune 1 of 2 entries older than 30d in oci://${registry.host}/team/prune (trusted namespace); nothing deleted (dry run)`,
  );
  expect(dryLines).toHaveLength(3);
  expect(await tags(registry.host, 'team/prune')).toEqual(all);

  const pruned = await p.kiwibox(['cache', 'prune', '--older-than', '30d']);
  expect(pruned.exitCode, String(pruned.stderr)).toBe(0);
  const lines = String(pruned.stdout).split('\n');
  expect(lines).toHaveLength(3);
  expect(lines.filter((l) => l.startsWith('deleted '))).toEqual([
    expect.stringMatching(
      new RegExp(`^deleted old ${oldKey} \\(finished 2020-01-01T00:00:00.000Z, \\d+d\\d\\dh ago\\)$`),
    ),
  ]);
  expect(lines.filter((l) => l.startsWith('kept '))).toEqual([
    expect.stringMatching(new RegExp(`^kept new ${newKey} \\(finished \\S+, [^ ]+ ago\\)$`)),
  ]);
  expect(lines[2]).toBe(
    `pruned 1 of 2 entries older than 30d in oci://${registry.host}/team/prune (trusted namespace); the registry's garbage collector frees their blobs`,
  );
  expect(await tags(registry.host, 'team/prune')).toEqual([newKey, 'latest'].sort());
  const verifyNew = await p.kiwibox(['cache', 'verify', 'new']);
  expect(verifyNew.exitCode, String(verifyNew.stdout)).toBe(0);
  const verifyOld = await p.kiwibox(['cache', 'verify', 'old']);
  expect([verifyOld.exitCode, verifyOld.stdout]).toEqual([1, 'old: no entry']);
  // The other namespace was not the command's: its old entry is still there...
  expect(await tags(registry.host, 'team/prune/pr-1')).toEqual([oldKey]);
  // ...until prune is pointed at it.
  const nsPrune = await p.kiwibox(['--cache-namespace', 'pr-1', 'cache', 'prune', '--older-than', '30d']);
  expect(nsPrune.exitCode, String(nsPrune.stderr)).toBe(0);
  expect(String(nsPrune.stdout)).toContain('pruned 1 of 1 entries older than 30d');
  expect(String(nsPrune.stdout)).toContain('(namespace pr-1)');
  expect(await tags(registry.host, 'team/prune/pr-1')).toEqual([]);
  // Nothing older than a year is left in the trusted namespace.
  const again = await p.kiwibox(['cache', 'prune', '--older-than', '365d']);
  expect([again.exitCode, String(again.stdout).split('\n').at(-1)]).toEqual([
    0,
    `pruned 0 of 1 entries older than 365d in oci://${registry.host}/team/prune (trusted namespace); the registry's garbage collector frees their blobs`,
  ]);
}, 120_000);

test('a registry that refuses deletes: exit 1 naming the store, nothing deleted', async () => {
  const p = await project(noDeletes.host, 'team/nodel');
  expect((await p.kiwibox(['cache', 'push', 'old'], env())).exitCode).toBe(0);
  const oldKey = hashOf(p, 'old');
  // A fingerprint-looking tag on a manifest that is not a kiwibox entry: kept, named, exit 1.
  const base = `http://${noDeletes.host}/v2/team/nodel/manifests`;
  const type = 'application/vnd.oci.image.manifest.v1+json';
  const manifest = (await (await fetch(`${base}/${oldKey}`, { headers: { accept: type } })).json()) as object;
  const stranger = 'd'.repeat(64);
  const put = await fetch(`${base}/${stranger}`, {
    method: 'PUT',
    headers: { 'content-type': type },
    body: JSON.stringify({ ...manifest, artifactType: 'application/vnd.example.other' }),
  });
  expect(put.status).toBe(201);
  const dry = await p.kiwibox(['cache', 'prune', '--older-than', '1d', '--dry-run']);
  expect(dry.exitCode).toBe(1);
  expect(String(dry.stdout)).toContain(
    `kept ${stranger}: cannot tell its age: team/nodel:${stranger} is not a kiwibox entry`,
  );
  expect(String(dry.stdout)).toContain(`would delete old ${oldKey}`);
  expect(String(dry.stdout)).toContain('would prune 1 of 2 entries older than 1d');
  expect(String(dry.stdout)).toContain('1 of unknown age kept');
  const pruned = await p.kiwibox(['cache', 'prune', '--older-than', '1d']);
  expect(pruned.exitCode).toBe(1);
  expect(String(pruned.stderr)).toContain(
    `error[cache-delete-refused]: oci://${noDeletes.host}/team/nodel does not allow deletes`,
  );
  expect(String(pruned.stdout)).not.toContain('deleted');
  expect(await tags(noDeletes.host, 'team/nodel')).toEqual([oldKey, stranger].sort());
}, 120_000);

test('the HTTP store cannot list: exit 1, no silent success; a bad duration is exit 2', async () => {
  const p = new TempProject('kiwibox-prune-http-');
  projects.push(p);
  p.write({ 'kiwibox.yaml': 'version: 1\ntasks:\n  t: {run: ["true"]}\n' });
  const http = await p.kiwibox([
    '--cache',
    'http://127.0.0.1:9/kiwibox',
    'cache',
    'prune',
    '--older-than',
    '1d',
  ]);
  expect(http.exitCode).toBe(1);
  expect(String(http.stderr)).toContain(
    'error[cache-cannot-list]: cannot list the entries of http://127.0.0.1:9/kiwibox',
  );
  expect(String(http.stdout)).toBe('');
  const bad = await p.kiwibox([
    '--cache',
    `${registry.host}/team/x`,
    'cache',
    'prune',
    '--older-than',
    '30 days',
  ]);
  expect(bad.exitCode).toBe(2);
  expect(String(bad.stderr)).toContain("--older-than '30 days'");
  const missing = await p.kiwibox(['--cache', `${registry.host}/team/x`, 'cache', 'prune']);
  expect(missing.exitCode).toBe(2);
}, 60_000);

test('listing follows Link pages (tags-pagination-shim: Debian docker-registry 2.8 ignores n)', async () => {
  const [a, b, c] = ['a'.repeat(64), 'b'.repeat(64), 'c'.repeat(64)];
  // Each page names the next one, relative or absolute; the last links back to the first.
  const pages: Record<string, { tags: string[]; next?: string }> = {
    '': { tags: [a, 'latest'], next: '/v2/team/r/tags/list?n=2&last=latest' },
    latest: { tags: [b], next: 'ABSOLUTE/v2/team/r/tags/list?n=2&last=b' },
    b: { tags: [c], next: '/v2/team/r/tags/list?n=2' },
  };
  const shim = createServer((req, res) => {
    const url = new URL(req.url ?? '', 'http://x');
    const page =
      url.pathname === '/v2/team/r/tags/list' ? pages[url.searchParams.get('last') ?? ''] : undefined;
    if (!page) return res.writeHead(404).end();
    const { port } = shim.address() as AddressInfo;
    const next = page.next?.replace('ABSOLUTE', `http://127.0.0.1:${port}`);
    res.writeHead(200, {
      'content-type': 'application/json',
      ...(next ? { link: `<${next}>; rel="next"` } : {}),
    });
    res.end(JSON.stringify({ name: 'team/r', tags: page.tags }));
  });
  await new Promise<void>((done) => shim.listen(0, '127.0.0.1', done));
  const { port } = shim.address() as AddressInfo;
  const client = new RegistryClient({ registry: `127.0.0.1:${port}`, insecure: true });
  try {
    const signal = AbortSignal.timeout(10_000);
    const listed = await listTags({ client, repo: 'team/r', signal, pageSize: 2 });
    expect(listed).toEqual({ ok: true, value: [a, b, c] });
    const none = await listTags({ client, repo: 'team/none', signal });
    expect(none).toEqual({ ok: true, value: [] });
  } finally {
    await client.close();
    shim.close();
  }
});
