/**
 * The real Debian `docker-registry` (CNCF distribution) on a free 127.0.0.1 port, with its own data
 * dir; plain HTTP without auth unless `tls` (a certificate and key) and `htpasswd` (a file made
 * with `htpasswd -B`, apache2-utils) are given. Started by the test setup, stopped (process group
 * killed) at the end; `kill()` is the crash a test may want (SIGKILL, data kept), and `dir`/`host`
 * can be passed back to start the same registry again.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freeLocalPort } from '../../src/core/net.js';
import { guardDaemon } from './daemon.mjs';

export interface TestRegistry {
  /** `127.0.0.1:PORT`, the registry part of image references. */
  readonly host: string;
  readonly dir: string;
  stop(): Promise<void>;
  /** SIGKILL, keeping the data dir (start again with `{ dir, host }`). */
  kill(): Promise<void>;
}

export interface RegistryOptions {
  /** Reuse this dir (its `data` survives `kill`). */
  readonly dir?: string;
  readonly host?: string;
  readonly tls?: { readonly certificate: string; readonly key: string };
  readonly htpasswd?: string;
  /** false: manifest deletes are refused (405 UNSUPPORTED), as on a registry configured so. */
  readonly deletes?: boolean;
}

async function answers(host: string, tls: boolean): Promise<boolean> {
  if (tls) {
    return new Promise((done) => {
      const socket = connect({ host: host.split(':')[0], port: Number(host.split(':')[1]) });
      socket.once('connect', () => {
        socket.destroy();
        done(true);
      });
      socket.once('error', () => done(false));
    });
  }
  try {
    const response = await fetch(`http://${host}/v2/`, { signal: AbortSignal.timeout(1000) });
    return response.ok || response.status === 401;
  } catch {
    return false;
  }
}

export async function startRegistry(options: RegistryOptions = {}): Promise<TestRegistry> {
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'kiwibox-registry-')));
  const host = options.host ?? `127.0.0.1:${await freeLocalPort()}`;
  const tls = options.tls !== undefined;
  // A registry left on the port would answer the health check of ours.
  if (await answers(host, tls)) throw new Error(`${host} already serves a registry`);
  const tlsLine = options.tls
    ? `, tls: {certificate: ${options.tls.certificate}, key: ${options.tls.key}}`
    : '';
  const config = [
    'version: 0.1',
    'log: {level: warn, accesslog: {disabled: true}}',
    `storage: {filesystem: {rootdirectory: ${join(dir, 'data')}}, delete: {enabled: ${options.deletes ?? true}}}`,
    `http: {addr: "${host}"${tlsLine}}`,
    ...(options.htpasswd ? [`auth: {htpasswd: {realm: kiwibox-test, path: ${options.htpasswd}}}`] : []),
    '',
  ].join('\n');
  await writeFile(join(dir, 'config.yml'), config);
  const log = await open(join(dir, 'registry.log'), 'w');
  const child = spawn('docker-registry', ['serve', join(dir, 'config.yml')], {
    detached: true,
    stdio: ['ignore', log.fd, log.fd],
  });
  await log.close();
  const guard = guardDaemon(child);
  const kill = () => guard.kill();
  const stop = async () => {
    await guard.stop();
    await rm(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 100; i++) {
    if (guard.exited()) break;
    if (await answers(host, tls)) return { host, dir, stop, kill };
    await sleep(100);
  }
  await stop();
  throw new Error(`docker-registry did not come up on ${host}`);
}
