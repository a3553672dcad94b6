/**
 * The real Debian `docker-registry` (CNCF distribution) on a free 127.0.0.1 port, with its own data
 * dir, no auth, plain HTTP. Started by the test setup, stopped (process group killed) at the end.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freeLocalPort } from '../../src/core/net.js';

export interface TestRegistry {
  /** `127.0.0.1:PORT`, the registry part of image references. */
  readonly host: string;
  readonly dir: string;
  stop(): Promise<void>;
}

async function answers(host: string): Promise<boolean> {
  try {
    const response = await fetch(`http://${host}/v2/`, { signal: AbortSignal.timeout(1000) });
    return response.ok;
  } catch {
    return false;
  }
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, signal);
  } catch {
    // Gone.
  }
}

export async function startRegistry(): Promise<TestRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'kiwibox-registry-'));
  const port = await freeLocalPort();
  const host = `127.0.0.1:${port}`;
  // A registry left on the port would answer the health check of ours.
  if (await answers(host)) throw new Error(`${host} already serves a registry`);
  const config = [
    'version: 0.1',
    'log: {level: warn, accesslog: {disabled: true}}',
    `storage: {filesystem: {rootdirectory: ${join(dir, 'data')}}, delete: {enabled: true}}`,
    `http: {addr: "${host}"}`,
    '',
  ].join('\n');
  await writeFile(join(dir, 'config.yml'), config);
  const log = await open(join(dir, 'registry.log'), 'w');
  const child = spawn('docker-registry', ['serve', join(dir, 'config.yml')], {
    detached: true,
    stdio: ['ignore', log.fd, log.fd],
  });
  await log.close();
  let exited = false;
  // If the test process dies without teardown, do not leave the registry behind.
  const onExit = () => killGroup(child, 'SIGKILL');
  process.once('exit', onExit);
  child.once('exit', () => {
    exited = true;
    process.off('exit', onExit);
  });
  const stop = async () => {
    if (!exited) {
      killGroup(child, 'SIGTERM');
      for (let i = 0; i < 50 && !exited; i++) await sleep(100);
      if (!exited) killGroup(child, 'SIGKILL');
    }
    await rm(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 100; i++) {
    if (exited) break;
    if (await answers(host)) return { host, dir, stop };
    await sleep(100);
  }
  await stop();
  throw new Error(`docker-registry did not come up on ${host}`);
}
