import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { downloadFile, fetchPublishedSha256 } from '../../src/boxes/download.js';
import { type FixtureServer, sha256, startFixtureServer } from './fixture-server.js';

let server: FixtureServer;
let dir: string;
const body = randomBytes(3 * 1024 * 1024 + 17);

beforeAll(async () => {
  server = await startFixtureServer();
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kiwibox-dl-'));
  server.hits.clear();
  server.ranges.clear();
  server.put('/f.bin', body);
  server.put('/f.bin.sha256', `${sha256(body)}  f.bin\n`);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('downloadFile', () => {
  it('downloads, verifies and commits by rename, reporting progress', async () => {
    const published = await fetchPublishedSha256(`${server.url}/f.bin`);
    expect(published).toEqual({ ok: true, value: sha256(body) });
    const seen: number[] = [];
    const dest = join(dir, 'f.bin');
    const r = await downloadFile({
      url: `${server.url}/f.bin`,
      dest,
      sha256: sha256(body),
      onProgress: (p) => seen.push(p.received),
    });
    expect(r).toEqual({ ok: true, value: { sha256: sha256(body), size: body.length } });
    expect(readFileSync(dest).equals(body)).toBe(true);
    expect(existsSync(`${dest}.part`)).toBe(false);
    expect(seen.at(-1)).toBe(body.length);
  });

  it('resumes a part left by an interrupted run with Range + If-Range', async () => {
    const dest = join(dir, 'f.bin');
    server.dropOnce('/f.bin', 1024 * 1024);
    const first = await downloadFile({ url: `${server.url}/f.bin`, dest, sha256: sha256(body), retries: 0 });
    expect(first.ok).toBe(false);
    expect(existsSync(dest)).toBe(false);
    const partSize = statSync(`${dest}.part`).size;
    expect(partSize).toBeGreaterThan(0);
    const second = await downloadFile({ url: `${server.url}/f.bin`, dest, sha256: sha256(body) });
    expect(second.ok).toBe(true);
    expect(server.ranges.get('/f.bin')).toEqual([`bytes=${partSize}-`]);
    expect(readFileSync(dest).equals(body)).toBe(true);
  });

  it('retries in-process after a dropped connection and resumes where it stopped', async () => {
    const dest = join(dir, 'f.bin');
    server.dropOnce('/f.bin', 700_000);
    const retries: string[] = [];
    const r = await downloadFile({
      url: `${server.url}/f.bin`,
      dest,
      sha256: sha256(body),
      onRetry: (_n, why) => retries.push(why),
    });
    expect(r.ok).toBe(true);
    expect(retries).toHaveLength(1);
    expect(server.hits.get('/f.bin')).toBe(2);
    expect(server.ranges.get('/f.bin')?.[0]).toMatch(/^bytes=\d+-$/);
    expect(readFileSync(dest).equals(body)).toBe(true);
  });

  it('restarts from zero when the file changed on the server (If-Range → 200)', async () => {
    const dest = join(dir, 'f.bin');
    server.dropOnce('/f.bin', 500_000);
    expect(
      (await downloadFile({ url: `${server.url}/f.bin`, dest, sha256: sha256(body), retries: 0 })).ok,
    ).toBe(false);
    const changed = Buffer.concat([body.subarray(0, 500_000), randomBytes(1000)]);
    server.put('/f.bin', changed);
    // Same published digest expected by the caller would now mismatch; use the new one.
    const r = await downloadFile({ url: `${server.url}/f.bin`, dest, sha256: sha256(body) });
    // The part's metadata names the old digest: the new download keeps it (same url+digest), the
    // server answers 200 for a stale If-Range, and the content fails verification.
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error[0]?.reason).toBe('checksum-mismatch');
    expect(server.ranges.get('/f.bin')?.length).toBe(1);
    expect(existsSync(dest)).toBe(false);
    const fresh = await downloadFile({ url: `${server.url}/f.bin`, dest, sha256: sha256(changed) });
    expect(fresh.ok).toBe(true);
    expect(readFileSync(dest).equals(changed)).toBe(true);
  });

  it('rejects content that does not match the published sha256 and commits nothing', async () => {
    const dest = join(dir, 'f.bin');
    server.put('/f.bin', Buffer.concat([body.subarray(0, 100), Buffer.from('X'), body.subarray(101)]));
    const r = await downloadFile({ url: `${server.url}/f.bin`, dest, sha256: sha256(body) });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error[0]?.reason).toBe('checksum-mismatch');
    expect(existsSync(dest)).toBe(false);
    expect(existsSync(`${dest}.part`)).toBe(false);
  });

  it('follows a mirror redirect, also when resuming', async () => {
    server.redirect('/mirrored.bin', '/f.bin');
    const dest = join(dir, 'm.bin');
    server.dropOnce('/f.bin', 800_000);
    const first = await downloadFile({
      url: `${server.url}/mirrored.bin`,
      dest,
      sha256: sha256(body),
      retries: 0,
    });
    expect(first.ok).toBe(false);
    const second = await downloadFile({ url: `${server.url}/mirrored.bin`, dest, sha256: sha256(body) });
    expect(second.ok).toBe(true);
    expect(server.hits.get('/mirrored.bin')).toBe(2);
    expect(server.ranges.get('/f.bin')?.[0]).toMatch(/^bytes=\d+-$/);
    expect(readFileSync(dest).equals(body)).toBe(true);
  });

  it('fails on HTTP 404 without retrying', async () => {
    const r = await downloadFile({ url: `${server.url}/nope`, dest: join(dir, 'nope'), sha256: sha256('') });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error[0]?.message).toContain('HTTP 404');
    expect(server.hits.get('/nope')).toBe(1);
  });

  it('stops when aborted', async () => {
    const controller = new AbortController();
    server.delay('/f.bin', 300);
    setTimeout(() => controller.abort(), 50);
    const r = await downloadFile({
      url: `${server.url}/f.bin`,
      dest: join(dir, 'f.bin'),
      sha256: sha256(body),
      signal: controller.signal,
    });
    server.delay('/f.bin', 0);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error[0]?.reason).toBe('cancelled');
  });
});
