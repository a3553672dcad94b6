/**
 * The same team cache through the HTTP backend (src/cache/http-store.ts) behind the one store
 * dispatch: an `http://` store writes signed entries to a real nginx WebDAV and a fresh clone
 * restores from it; an untrusted key is a miss there too.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { type NginxDav, startNginxDav } from '../support/nginx-dav.js';
import { TempProject } from '../support/project.js';
import { type CacheFixture, cacheFixture, type Key, makeKey, outcomes, run } from './fixture.js';

let fx: CacheFixture;
let dav: NginxDav;
let key: Key;
let other: Key;
const projects: TempProject[] = [];

beforeAll(async () => {
  fx = await cacheFixture();
  dav = await startNginxDav();
  key = await makeKey(fx.work, 'ci-1');
  other = await makeKey(fx.work, 'dev-1');
}, 60_000);

afterAll(async () => {
  for (const p of projects) p.remove();
  await dav?.remove();
  await fx?.dispose();
});

function project(trusted: string): TempProject {
  const p = new TempProject('kiwibox-cache-http-');
  projects.push(p);
  p.write({
    'kiwibox.yaml': [
      'version: 1',
      `cache: {store: "${dav.url}/team", trusted-keys: ["${trusted}"]}`,
      'tasks:',
      '  t:',
      '    run: ["sh", "-c", "head -c 50000 /dev/urandom > out.bin"]',
      '    outputs: [out.bin]',
      '',
    ].join('\n'),
  });
  return p;
}

test('an http:// store: write signed entries, restore in a fresh clone, untrusted key is a miss', async () => {
  const env = { KIWIBOX_CACHE_HTTP_USER: dav.user, KIWIBOX_CACHE_HTTP_PASSWORD: dav.password };
  const writer = await run(project(key.publicText), { ...env, KIWIBOX_CACHE_KEY_FILE: key.file });
  expect(writer.exitCode, String(writer.stderr)).toBe(0);
  expect(writer.events.filter((e) => e.type === 'warning')).toEqual([]);
  const reader = await run(project(key.publicText));
  expect(outcomes(reader.events)).toEqual({ t: 'step-restored' });
  const untrusting = await run(project(other.publicText));
  expect(outcomes(untrusting.events)).toEqual({ t: 'step-succeeded' });
  expect(String(untrusting.events.find((e) => e.type === 'info')?.message)).toContain(
    "expected 'dev-1', found 'ci-1'",
  );
}, 120_000);
