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
import { fingerprintHash } from '../../fingerprint/fingerprint.js';
import { formatBytes } from '../../reporters/lines.js';
import type { Output } from '../../reporters/output.js';
import { readRecord } from '../../state/record.js';
import { EXIT, type GlobalOptions } from '../options.js';
import { openSession, planSession } from '../session.js';

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

/** Checks the entry of each step (its current fingerprint) as a restore would; 1 if any fails. */
export async function verifyCommand(global: GlobalOptions, steps: string[], out: Output): Promise<number> {
  const opened = await planSession({ global, targets: steps, force: false, out });
  if (!opened) return EXIT.badInput;
  const cache = openTeamCache({ project: opened.session.project, flags: global.cache, cwd: global.cwd });
  if (!cache.ok || !cache.value) {
    if (cache.ok) out.error('no team cache configured (cache: in kiwibox.yaml, --cache or KIWIBOX_CACHE)');
    else out.failures(cache.error);
    return EXIT.badInput;
  }
  const { verifyStepEntry } = await import('../../cache/verify.js');
  let failed = 0;
  try {
    for (const id of steps.length ? steps : opened.planned.map((p) => p.step)) {
      const planned = opened.planned.find((p) => p.step === id);
      const step = opened.session.project.steps.get(id);
      const key = planned?.fingerprint ? fingerprintHash(planned.fingerprint) : planned?.record?.hash;
      const waits = planned?.reasons.some((r) => r.type === 'upstream-will-run');
      if (!step || !key || waits) {
        out.print(`${id}: no fingerprint yet (a step it depends on has not run)`);
        failed++;
        continue;
      }
      const verified = await verifyStepEntry({
        cache: cache.value,
        step,
        key,
        signal: new AbortController().signal,
      });
      if (verified.ok) {
        out.print(
          `${id}: ok, signed by '${verified.keyName}', ${verified.blobs} blobs (${formatBytes(verified.bytes)}) verified`,
        );
      } else {
        out.print(`${id}: ${verified.reason}`);
        failed++;
      }
    }
  } finally {
    await cache.value.close();
  }
  return failed ? EXIT.failed : EXIT.ok;
}

/** Uploads the entries of steps that are fresh here (what a CI job built before the cache existed). */
export async function pushCommand(global: GlobalOptions, steps: string[], out: Output): Promise<number> {
  const opened = await planSession({ global, targets: steps, force: false, out });
  if (!opened) return EXIT.badInput;
  const { project } = opened.session;
  const cache = openTeamCache({ project, flags: global.cache, cwd: global.cwd });
  if (!cache.ok || !cache.value?.writes) {
    if (cache.ok)
      out.error('error[bad-cache-setting]: cache push needs a read-write team cache and a signing key');
    else out.failures(cache.error);
    return EXIT.badInput;
  }
  let failed = 0;
  try {
    for (const planned of opened.planned) {
      if (steps.length && !steps.includes(planned.step)) continue;
      const step = project.steps.get(planned.step);
      const record = readRecord(project.stateDir, planned.step);
      if (!step || planned.action !== 'fresh' || !record) {
        out.print(`${planned.step}: not pushed (not fresh here; run it first)`);
        continue;
      }
      let warned = false;
      await cache.value.upload({
        step,
        project,
        record,
        signal: new AbortController().signal,
        emit: (event) => {
          if (event.type === 'warning') {
            warned = true;
            out.print(`${planned.step}: ${event.message}`);
          }
        },
      });
      if (warned) failed++;
      else out.print(`${planned.step}: pushed`);
    }
  } finally {
    await cache.value.close();
  }
  return failed ? EXIT.failed : EXIT.ok;
}
