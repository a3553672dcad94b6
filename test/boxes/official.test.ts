import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ensureOfficialBox,
  type OfficialBoxRequest,
  packagesDigest,
  verifyOfficialBox,
} from '../../src/boxes/official.js';
import { findBox } from '../../src/boxes/registry.js';
import { listStored, removeStored } from '../../src/boxes/store.js';
import { DISK, fixtureRegistry, PACKAGES, publish, publishBox, REPO, TARBALL } from './fixture-box.js';
import { type FixtureServer, sha256, startFixtureServer } from './fixture-server.js';

let server: FixtureServer;
let store: string;
let hashed: string[];
let lines: string[];

beforeAll(async () => {
  server = await startFixtureServer();
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => {
  store = mkdtempSync(join(tmpdir(), 'kiwibox-store-'));
  server.hits.clear();
  server.ranges.clear();
  hashed = [];
  lines = [];
});
afterEach(() => rmSync(store, { recursive: true, force: true }));

function request(extra: Partial<OfficialBoxRequest> = {}): OfficialBoxRequest {
  const found = findBox(fixtureRegistry(), 'testbox', 'x86_64');
  if (!found.ok) throw new Error('fixture registry');
  return {
    ...found.value,
    baseUrl: server.url,
    store,
    updateCheck: true,
    onHash: (p) => hashed.push(p),
    onLine: (l) => lines.push(l),
    ...extra,
  };
}
const hits = (name: string) => server.hits.get(`${REPO}${name}`) ?? 0;

describe('official boxes in the store', () => {
  it('fetches, verifies and extracts a box; a second run downloads and hashes nothing', async () => {
    const box = publishBox(server);
    const first = await ensureOfficialBox(request());
    expect(first.ok).toBe(true);
    if (!first.ok) return;
    expect(first.value.downloaded).toEqual([TARBALL, DISK]);
    expect(readFileSync(first.value.kernel, 'utf8')).toBe('kernel 1');
    expect(readFileSync(first.value.initrd ?? '', 'utf8')).toBe('initrd 1');
    expect(readFileSync(first.value.disk ?? '').equals(box.disk)).toBe(true);
    expect(first.value.files[DISK]).toBe(sha256(box.disk));

    hashed = [];
    const second = await ensureOfficialBox(request());
    expect(second.ok && second.value.downloaded).toEqual([]);
    expect(hits(DISK)).toBe(1);
    expect(hits(`${DISK}.sha256`)).toBe(1);
    expect(hits(PACKAGES)).toBe(2);
    expect(hashed).toEqual([]); // stat cache: the disk is not re-read
    expect(lines.at(-1)).toContain('up to date');

    // No update check: no network at all.
    const offline = await ensureOfficialBox(request({ updateCheck: false, baseUrl: 'http://127.0.0.1:9' }));
    expect(offline.ok).toBe(true);

    // `box verify` really re-reads every file.
    const verified = await verifyOfficialBox(request());
    expect(verified.ok).toBe(true);
    expect(hashed.map((p) => p.split('/').pop())).toEqual([TARBALL, DISK]);
  });

  it('detects an update by the packages-file digest and fetches only files that changed', async () => {
    publishBox(server);
    expect((await ensureOfficialBox(request())).ok).toBe(true);
    const before = await packagesDigest(request());
    const newDisk = randomBytes(1024 * 1024);
    publish(server, DISK, newDisk);
    server.put(`${REPO}${PACKAGES}`, JSON.stringify({ version: 2 }));
    const after = await packagesDigest(request());
    expect(after.ok && before.ok && after.value !== before.value).toBe(true);

    const updated = await ensureOfficialBox(request());
    expect(updated.ok && updated.value.downloaded).toEqual([DISK]);
    expect(lines.some((l) => l.includes('update available'))).toBe(true);
    expect(readFileSync(join(store, 'testbox', 'x86_64', DISK)).equals(newDisk)).toBe(true);
    expect(hits(TARBALL)).toBe(1);
  });

  it('refuses a corrupted download and keeps the committed box intact', async () => {
    const box = publishBox(server);
    expect((await ensureOfficialBox(request())).ok).toBe(true);
    const evil = randomBytes(1024 * 1024);
    publish(server, DISK, evil, sha256(randomBytes(8))); // published digest does not match content
    server.put(`${REPO}${PACKAGES}`, 'changed');
    const r = await ensureOfficialBox(request());
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error[0]?.reason).toBe('checksum-mismatch');
    const disk = join(store, 'testbox', 'x86_64', DISK);
    expect(readFileSync(disk).equals(box.disk)).toBe(true);
    expect(existsSync(`${disk}.part`)).toBe(false);
    // Still an update pending: the state was not advanced.
    const again = await ensureOfficialBox(request());
    expect(again.ok).toBe(false);
  });

  it('resumes a download interrupted by a dropped connection', async () => {
    const box = publishBox(server);
    server.dropOnce(`${REPO}${DISK}`, 300_000);
    const r = await ensureOfficialBox(request());
    expect(r.ok).toBe(true);
    expect(server.ranges.get(`${REPO}${DISK}`)?.[0]).toMatch(/^bytes=\d+-$/);
    expect(lines.some((l) => /retry 1/.test(l))).toBe(true);
    expect(readFileSync(join(store, 'testbox', 'x86_64', DISK)).equals(box.disk)).toBe(true);
  });

  it('serialises two parallel fetches of one box: one download, both succeed', async () => {
    const box = publishBox(server);
    server.delay(`${REPO}${DISK}`, 400);
    const [a, b] = await Promise.all([ensureOfficialBox(request()), ensureOfficialBox(request())]);
    server.delay(`${REPO}${DISK}`, 0);
    expect(a.ok && b.ok).toBe(true);
    expect(hits(DISK)).toBe(1);
    const downloads = [a, b].map((r) => (r.ok ? r.value.downloaded.length : -1)).sort();
    expect(downloads).toEqual([0, 2]);
    expect(lines.some((l) => l.includes('waiting for process'))).toBe(true);
    expect(readFileSync(join(store, 'testbox', 'x86_64', DISK)).equals(box.disk)).toBe(true);
    expect(existsSync(join(store, 'testbox', 'x86_64.lock'))).toBe(false);
  });

  it('re-fetches a box file that was changed on disk', async () => {
    const box = publishBox(server);
    expect((await ensureOfficialBox(request())).ok).toBe(true);
    const disk = join(store, 'testbox', 'x86_64', DISK);
    writeFileSync(disk, 'tampered');
    hashed = [];
    const r = await ensureOfficialBox(request());
    expect(r.ok && r.value.downloaded).toEqual([DISK]);
    expect(hashed).toEqual([disk]);
    expect(readFileSync(disk).equals(box.disk)).toBe(true);
  });

  it('keeps a disk written by builds (snapshot: false) until an update is published', async () => {
    publishBox(server);
    expect((await ensureOfficialBox(request({ writableDisk: true }))).ok).toBe(true);
    const disk = join(store, 'testbox', 'x86_64', DISK);
    writeFileSync(disk, 'package cache written by a --no-snapshot build');
    hashed = [];
    const kept = await ensureOfficialBox(request({ writableDisk: true }));
    expect(kept.ok && kept.value.downloaded).toEqual([]);
    expect(hashed).not.toContain(disk);
    expect(readFileSync(disk, 'utf8')).toContain('package cache');
    server.put(`${REPO}${PACKAGES}`, 'an update');
    publish(server, DISK, randomBytes(4096));
    const updated = await ensureOfficialBox(request({ writableDisk: true }));
    expect(updated.ok && updated.value.downloaded).toEqual([DISK]);
  });

  it('lists and removes stored boxes', async () => {
    publishBox(server);
    expect((await ensureOfficialBox(request())).ok).toBe(true);
    const listed = await listStored(store);
    expect(listed.map((b) => `${b.name}/${b.arch}`)).toEqual(['testbox/x86_64']);
    expect(listed[0]?.bytes).toBeGreaterThan(2 * 1024 * 1024);
    expect(await removeStored({ store, name: 'testbox', arch: 'aarch64' })).toEqual({ ok: true, value: [] });
    expect(await removeStored({ store, name: 'testbox' })).toEqual({ ok: true, value: ['x86_64'] });
    expect(existsSync(join(store, 'testbox'))).toBe(false);
    expect(await listStored(store)).toEqual([]);
  });
});
