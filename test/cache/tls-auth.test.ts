/**
 * The team cache against a registry as teams run it: TLS with a CA made here (read from
 * ~/.config/containers/certs.d/<host:port>/, as podman reads it) and htpasswd auth, with the
 * credentials `podman login` leaves in an auth file. Without credentials the cache only warns.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { runProcess } from '../../src/process/run.js';
import { TempProject } from '../support/project.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { type CacheFixture, cacheFixture, type Key, makeKey, outcomes, run } from './fixture.js';

let fx: CacheFixture;
let registry: TestRegistry;
let key: Key;
let home: string;
const projects: TempProject[] = [];

async function sh(argv: [string, ...string[]], cwd: string): Promise<string> {
  const result = await runProcess({ argv, cwd });
  if (!result.ok) throw new Error(result.error.map((f) => f.message).join('\n'));
  return result.value.stdout;
}

beforeAll(async () => {
  fx = await cacheFixture();
  const pki = join(fx.work, 'pki');
  mkdirSync(pki);
  await sh(
    [
      'openssl',
      'req',
      '-x509',
      '-newkey',
      'ed25519',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=kiwibox test CA',
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
    ],
    pki,
  );
  await sh(
    [
      'openssl',
      'req',
      '-newkey',
      'ed25519',
      '-nodes',
      '-subj',
      '/CN=127.0.0.1',
      '-keyout',
      'server.key',
      '-out',
      'server.csr',
    ],
    pki,
  );
  writeFileSync(join(pki, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  await sh(
    [
      'openssl',
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '1',
      '-extfile',
      'san.ext',
      '-out',
      'server.crt',
    ],
    pki,
  );
  // bcrypt, which the registry's htpasswd reader demands (apache2-utils).
  writeFileSync(join(pki, 'htpasswd'), await sh(['htpasswd', '-Bbn', 'builder', 's3cret'], pki));
  registry = await startRegistry({
    tls: { certificate: join(pki, 'server.crt'), key: join(pki, 'server.key') },
    htpasswd: join(pki, 'htpasswd'),
  });
  home = join(fx.work, 'home');
  const certs = join(home, '.config/containers/certs.d', registry.host);
  mkdirSync(certs, { recursive: true });
  await sh(['cp', join(pki, 'ca.crt'), join(certs, 'ca.crt')], pki);
  writeFileSync(
    join(fx.work, 'auth.json'),
    JSON.stringify({
      auths: { [registry.host]: { auth: Buffer.from('builder:s3cret').toString('base64') } },
    }),
  );
  key = await makeKey(fx.work, 'ci-1');
}, 120_000);

afterAll(async () => {
  for (const p of projects) p.remove();
  await registry?.stop();
  await fx?.dispose();
});

function project(): TempProject {
  const p = new TempProject('kiwibox-cache-tls-');
  projects.push(p);
  p.write({
    'kiwibox.yaml': [
      'version: 1',
      `cache: {store: "${registry.host}/team/tls", trusted-keys: ["${key.publicText}"]}`,
      'tasks:',
      '  t:',
      '    run: ["sh", "-c", "echo secret-ish > out.txt"]',
      '    outputs: [out.txt]',
      '',
    ].join('\n'),
  });
  return p;
}

test('TLS with the CA from certs.d and htpasswd credentials from the auth file: write, then restore', async () => {
  const env = { HOME: home, REGISTRY_AUTH_FILE: join(fx.work, 'auth.json') };
  const writer = await run(project(), { ...env, KIWIBOX_CACHE_KEY_FILE: key.file });
  expect(writer.exitCode, String(writer.stderr)).toBe(0);
  expect(writer.events.filter((e) => e.type === 'warning')).toEqual([]);
  const reader = await run(project(), env);
  expect(outcomes(reader.events)).toEqual({ t: 'step-restored' });
}, 120_000);

test('without credentials (401) or without the CA: a warning, the step runs', async () => {
  const noAuth = await run(project(), { HOME: home, REGISTRY_AUTH_FILE: join(fx.work, 'none.json') });
  expect(outcomes(noAuth.events)).toEqual({ t: 'step-succeeded' });
  expect(String(noAuth.events.find((e) => e.type === 'warning')?.message)).toContain('HTTP 401');
  const noCa = await run(project(), {
    HOME: join(fx.work, 'empty-home'),
    REGISTRY_AUTH_FILE: join(fx.work, 'auth.json'),
  });
  expect(outcomes(noCa.events)).toEqual({ t: 'step-succeeded' });
  expect(String(noCa.events.find((e) => e.type === 'warning')?.message)).toMatch(/certificate/i);
}, 120_000);
