/**
 * A share server over two temp dirs (a description with known files, an empty bundle) next to a
 * sentinel directory outside both, plus OpenSSH `sftp` and ssh2 Client helpers against it.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import type { Client as ClientType, ConnectConfig, SFTPWrapper } from 'ssh2';
import ssh2 from 'ssh2';
import { type BuildKeys, generateBuildKeys, writePrivateKeyFile } from '../../src/sftp/keys.js';
import { type ShareServer, startShareServer } from '../../src/sftp/server.js';

const { Client } = ssh2;

export const SENTINEL_TEXT = 'sentinel: must never be read or changed\n';

export interface Fixture {
  readonly root: string;
  readonly description: string;
  readonly bundle: string;
  /** A directory outside both shares holding `secret.txt`. */
  readonly outside: string;
  readonly keys: BuildKeys;
  readonly keyFile: string;
  readonly server: ShareServer;
  readonly abort: AbortController;
  readonly log: string[];
  /** Snapshot of everything in `outside` (names, sizes, mtimes, contents). */
  outsideSnapshot(): Promise<string>;
  dispose(): Promise<void>;
}

async function snapshot(dir: string): Promise<string> {
  const lines: string[] = [];
  for (const name of (await readdir(dir)).sort()) {
    const file = join(dir, name);
    const info = await stat(file);
    const content = info.isFile() ? await readFile(file, 'utf8') : '';
    lines.push(`${name} ${info.mode} ${info.size} ${info.mtimeMs} ${content}`);
  }
  return lines.join('\n');
}

export async function createFixture(): Promise<Fixture> {
  const root = await mkdtemp(join(tmpdir(), 'kiwibox-sftp-'));
  const description = join(root, 'desc');
  const bundle = join(root, 'bundle');
  const outside = join(root, 'outside');
  await Promise.all([mkdir(description), mkdir(bundle), mkdir(outside), mkdir(join(root, 'keys'))]);
  await writeFile(join(description, 'config.kiwi'), '<image name="test"/>\n');
  await mkdir(join(description, 'root', 'etc'), { recursive: true });
  await writeFile(join(description, 'root', 'etc', 'motd'), 'hello from the description\n');
  await writeFile(join(outside, 'secret.txt'), SENTINEL_TEXT);
  const keys = generateBuildKeys({ comment: 'test' });
  const keyFile = await writePrivateKeyFile({ dir: join(root, 'keys'), key: keys.client });
  if (!keyFile.ok) throw new Error(keyFile.error[0]?.message);
  const abort = new AbortController();
  const log: string[] = [];
  const started = await startShareServer({
    shares: [
      { path: '/kiwidescription', dir: description, readOnly: true },
      { path: '/kiwibundle', dir: bundle, readOnly: false },
    ],
    clientPublicKey: keys.client.publicKey,
    hostKey: keys.host.privateKey,
    signal: abort.signal,
    onLog: (line) => log.push(line),
  });
  if (!started.ok) throw new Error(started.error[0]?.message);
  const server = started.value;
  return {
    root,
    description,
    bundle,
    outside,
    keys,
    keyFile: keyFile.value,
    server,
    abort,
    log,
    outsideSnapshot: () => snapshot(outside),
    async dispose() {
      await server.stop();
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** Runs OpenSSH `sftp -b -` with the given batch lines; never throws. */
export async function sftpBatch(options: {
  readonly port: number;
  readonly keyFile: string;
  readonly commands: readonly string[];
  readonly cwd?: string;
  readonly extra?: readonly string[];
}) {
  const result = await execa(
    'sftp',
    [
      '-b',
      '-',
      '-P',
      String(options.port),
      '-i',
      options.keyFile,
      '-o',
      'StrictHostKeyChecking=no',
      '-o',
      'UserKnownHostsFile=/dev/null',
      '-o',
      'IdentitiesOnly=yes',
      '-o',
      'BatchMode=yes',
      '-o',
      'LogLevel=ERROR',
      ...(options.extra ?? []),
      'kiwibox@127.0.0.1',
    ],
    { input: `${options.commands.join('\n')}\n`, reject: false, cwd: options.cwd, timeout: 60_000 },
  );
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
}

/** Connects an ssh2 Client; resolves with it or rejects with the connection error. */
export function connect(config: ConnectConfig): Promise<ClientType> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    client.once('ready', () => {
      // Request/response over TCP: without this, Nagle and delayed ACKs add ~40 ms per request.
      (client as unknown as { setNoDelay(on: boolean): void }).setNoDelay(true);
      resolve(client);
    });
    client.once('error', reject);
    client.connect({ host: '127.0.0.1', username: 'kiwibox', readyTimeout: 30_000, ...config });
  });
}

export function openSftp(client: ClientType): Promise<SFTPWrapper> {
  return new Promise((resolve, reject) =>
    client.sftp((error, sftp) => (error ? reject(error) : resolve(sftp))),
  );
}

/** Calls an SFTP client method and resolves with `{ error?.code, value }`. */
export function call<T>(
  fn: (callback: (error: (Error & { code?: number }) | null | undefined, value?: T) => void) => void,
): Promise<{ code: number | undefined; value: T | undefined }> {
  return new Promise((resolve) => {
    fn((error, value) => resolve({ code: error ? (error.code ?? -1) : undefined, value }));
  });
}
