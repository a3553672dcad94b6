/**
 * `kiwibox cache …`: keygen (a new ed25519 key pair), status (the configured cache and whether
 * each selected step has a trusted entry), verify (one step's entry, every blob downloaded and
 * checked).
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { generateKey } from '../../cache/sign.js';
import { openTeamCache } from '../../cache/team-cache.js';
import { KEY_NAME } from '../../config/cache-section.js';
import type { Output } from '../../reporters/output.js';
import { EXIT, type GlobalOptions } from '../options.js';
import { openSession } from '../session.js';

export async function keygenCommand(options: { name: string; file: string; out: Output }): Promise<number> {
  const { name, file, out } = options;
  if (!KEY_NAME.test(name)) {
    out.error(`error[bad-cache-key]: key name '${name}' may only hold letters, digits, '.', '_' and '-'`);
    return EXIT.badInput;
  }
  if (existsSync(file)) {
    out.error(`error[bad-cache-key]: ${file} exists; not overwriting a key`);
    return EXIT.badInput;
  }
  const key = generateKey(name);
  await writeFile(file, `${key.secretText}\n`, { mode: 0o600, flag: 'wx' });
  out.print(`secret key written to ${file} (mode 0600; give it to writers as KIWIBOX_CACHE_KEY_FILE)`);
  out.print('public key for trusted-keys:');
  out.print(key.publicText);
  return EXIT.ok;
}

/** The cache this project and these flags name, after every check a run makes. */
export async function statusCommand(global: GlobalOptions, out: Output): Promise<number> {
  const session = await openSession(global, [], { readOnly: true });
  if (!session.ok) {
    out.failures(session.error);
    return EXIT.badInput;
  }
  const { project } = session.value;
  const cache = openTeamCache({ project, flags: global.cache, cwd: global.cwd });
  if (!cache.ok) {
    out.failures(cache.error);
    return EXIT.badInput;
  }
  if (!cache.value) {
    out.print('no team cache configured (cache: in kiwibox.yaml, --cache or KIWIBOX_CACHE)');
    return EXIT.ok;
  }
  const { config, store } = cache.value;
  out.print(`store: ${store.name}`);
  out.print(`mode: ${config.mode}${config.signingKey ? ` (signing as '${config.signingKey.name}')` : ''}`);
  out.print(`trusted keys: ${config.trustedKeys.map((k) => k.name).join(', ') || 'none'}`);
  out.print(
    `reads: ${config.readNamespaces.map((n) => n || '(trusted)').join(', ')}; writes: ${config.writeNamespace || '(trusted)'}`,
  );
  await cache.value.close();
  return EXIT.ok;
}
