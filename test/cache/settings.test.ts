/**
 * Bad team cache input is exit 2 before anything runs: a trusted key that does not parse (at its
 * file:line:col), a malformed store, a signing key file others can read, a bad mode variable, and
 * read-write without a key. Plus the signature itself: what is signed, and what breaks it.
 */
import { chmodSync, existsSync, readFileSync, statSync } from 'node:fs';
import { afterAll, describe, expect, test } from 'vitest';
import {
  canonicalString,
  generateKey,
  parseSigningKey,
  signEntry,
  verifyEntry,
} from '../../src/cache/sign.js';
import type { CacheEntry } from '../../src/cache/store.js';
import { parseTrustedKey } from '../../src/config/cache-section.js';
import { TempProject } from '../support/project.js';

const projects: TempProject[] = [];
afterAll(() => {
  for (const p of projects) p.remove();
});

const KEY = generateKey('ci-1');

function project(cache: string[]): TempProject {
  const p = new TempProject('kiwibox-cache-settings-');
  projects.push(p);
  p.write({
    'kiwibox.yaml': [
      'version: 1',
      'cache:',
      ...cache.map((l) => `  ${l}`),
      'tasks:',
      '  t:',
      '    run: ["sh", "-c", "echo ran > ran.txt"]',
      '    outputs: [ran.txt]',
      '',
    ].join('\n'),
  });
  return p;
}

describe('bad cache settings: exit 2, nothing run', () => {
  test('a trusted key that does not parse is reported at its line and column', async () => {
    const p = project([
      'store: 127.0.0.1:9/team/cache',
      'trusted-keys:',
      `  - "${KEY.publicText}"`,
      '  - "ci-2:short"',
    ]);
    const result = await p.kiwibox(['run']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('kiwibox.yaml:6:7: error[bad-cache-key]');
    expect(result.stderr).toContain("key 'ci-2' is not 32 bytes of base64");
    expect(existsSync(p.path('ran.txt'))).toBe(false);
  });

  test('a store that is neither a URL nor a registry repository', async () => {
    const p = project(['store: just-a-name']);
    const result = await p.kiwibox(['validate']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/kiwibox\.yaml:3:10: error\[bad-cache-setting\]/);
  });

  test('a mode outside the schema', async () => {
    const p = project(['store: 127.0.0.1:9/team/cache', 'mode: sometimes']);
    const result = await p.kiwibox(['run']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('kiwibox.yaml:4:');
    expect(existsSync(p.path('ran.txt'))).toBe(false);
  });

  test('a signing key file group or others can read is refused, as ssh refuses it', async () => {
    const p = project(['store: 127.0.0.1:9/team/cache']);
    p.write({ 'ci.key': `${KEY.secretText}\n` });
    chmodSync(p.path('ci.key'), 0o640);
    const result = await p.kiwibox(['run'], { KIWIBOX_CACHE_KEY_FILE: p.path('ci.key') });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(`signing key ${p.path('ci.key')}: permissions 0640 are too open`);
    expect(existsSync(p.path('ran.txt'))).toBe(false);
  });

  test('a signing key that does not parse, a bad mode variable, read-write without a key', async () => {
    const p = project(['store: 127.0.0.1:9/team/cache']);
    const badKey = await p.kiwibox(['run'], { KIWIBOX_CACHE_KEY: 'ci-1:AAAA' });
    expect([badKey.exitCode, badKey.stderr]).toEqual([
      2,
      expect.stringContaining('KIWIBOX_CACHE_KEY: not name:base64'),
    ]);
    const badMode = await p.kiwibox(['run'], { KIWIBOX_CACHE_MODE: 'bogus' });
    expect([badMode.exitCode, badMode.stderr]).toEqual([
      2,
      expect.stringContaining("KIWIBOX_CACHE_MODE: 'bogus'"),
    ]);
    const noKey = await p.kiwibox(['--cache-mode', 'read-write', 'run']);
    expect([noKey.exitCode, noKey.stderr]).toEqual([
      2,
      expect.stringContaining('read-write needs a signing key'),
    ]);
    const badNs = await p.kiwibox(['run'], { KIWIBOX_CACHE_NAMESPACE: 'PR 7' });
    expect(badNs.exitCode).toBe(2);
    expect(existsSync(p.path('ran.txt'))).toBe(false);
  });

  test('cache off runs without a store being asked', async () => {
    const p = project(['store: 127.0.0.1:9/team/cache', 'mode: off']);
    const result = await p.kiwibox(['run']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).not.toContain('warning');
  });
});

describe('kiwibox cache keygen', () => {
  test('writes a 0600 secret and prints a public key trusted-keys accepts', async () => {
    const p = project([]);
    const result = await p.kiwibox(['cache', 'keygen', 'ci-9', 'ci-9.key']);
    expect(result.exitCode).toBe(0);
    expect(statSync(p.path('ci-9.key')).mode & 0o777).toBe(0o600);
    const publicText = String(result.stdout).trim().split('\n').at(-1) ?? '';
    expect(parseTrustedKey(publicText)).toMatchObject({ name: 'ci-9' });
    expect(parseSigningKey(readFileSync(p.path('ci-9.key'), 'utf8'))?.publicText).toBe(publicText);
    const again = await p.kiwibox(['cache', 'keygen', 'ci-9', 'ci-9.key']);
    expect(again.exitCode).toBe(2);
  });
});

describe('signatures (the Nix model: a canonical string, not the serialized entry)', () => {
  const digest = (c: string) => `sha256:${c.repeat(64)}` as const;
  const unsigned = {
    key: 'f'.repeat(64),
    config: { digest: digest('c'), size: 10, mediaType: 'x' },
    layers: [
      { digest: digest('b'), size: 1, mediaType: 'x' },
      { digest: digest('a'), size: 2, mediaType: 'x' },
    ],
  };
  const key = parseSigningKey(KEY.secretText);
  if (!key) throw new Error('key does not parse');
  const trusted = [{ ...(parseTrustedKey(KEY.publicText) as { name: string; key: string }) }];
  const entry: CacheEntry = { ...unsigned, signatures: { 'ci-1': signEntry(unsigned, key) } };

  test('the canonical string sorts layer digests', () => {
    expect(canonicalString(unsigned)).toBe(
      `kiwibox-entry-1;${'f'.repeat(64)};${digest('c')};${digest('a')},${digest('b')}`,
    );
  });

  test('verifies, and any changed digest or key breaks it', () => {
    expect(verifyEntry(entry, trusted)).toEqual({ trusted: true, keyName: 'ci-1' });
    expect(verifyEntry({ ...entry, key: 'e'.repeat(64) }, trusted).trusted).toBe(false);
    expect(verifyEntry({ ...entry, layers: [...entry.layers, entry.config] }, trusted).trusted).toBe(false);
    const other = generateKey('ci-1');
    const impostor = [parseTrustedKey(other.publicText) as { name: string; key: string }];
    expect(verifyEntry(entry, impostor)).toEqual({
      trusted: false,
      reason: "signature by 'ci-1' does not verify",
    });
    expect(verifyEntry(entry, [])).toEqual({
      trusted: false,
      reason: "not signed by a trusted key (expected none, found 'ci-1')",
    });
  });
});
