import { readFile, stat, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { execa } from 'execa';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair } from '../../src/sftp/keys.js';
import { startShareServer } from '../../src/sftp/server.js';
import { call, connect, createFixture, type Fixture, openSftp, SENTINEL_TEXT, sftpBatch } from './fixture.js';

const { utils } = ssh2;
const { STATUS_CODE } = utils.sftp;

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('share server with the OpenSSH sftp client', () => {
  let fx: Fixture;
  beforeAll(async () => {
    fx = await createFixture();
  });
  afterAll(async () => {
    await fx.dispose();
  });

  it('reads the description and writes the bundle', async () => {
    await writeFile(join(fx.root, 'upload.bin'), Buffer.alloc(300_000, 7));
    const result = await sftpBatch({
      port: fx.server.port,
      keyFile: fx.keyFile,
      cwd: fx.root,
      commands: [
        'ls /',
        'get /kiwidescription/config.kiwi fetched.kiwi',
        'get kiwidescription/root/etc/motd motd',
        'cd /kiwibundle',
        'put upload.bin result.bin',
        'mkdir sub',
        'put upload.bin sub/copy.bin',
        'rename sub/copy.bin sub/moved.bin',
        'ln -s moved.bin sub/link',
        'chmod 600 result.bin',
        'ls -l /kiwibundle/sub',
      ],
    });
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('kiwidescription');
    expect(result.stdout).toContain('kiwibundle');
    expect(await readFile(join(fx.root, 'fetched.kiwi'), 'utf8')).toBe('<image name="test"/>\n');
    expect(await readFile(join(fx.root, 'motd'), 'utf8')).toBe('hello from the description\n');
    const written = await readFile(join(fx.bundle, 'result.bin'));
    expect(written.length).toBe(300_000);
    expect(written.every((byte) => byte === 7)).toBe(true);
    expect((await stat(join(fx.bundle, 'result.bin'))).mode & 0o777).toBe(0o600);
    expect((await readFile(join(fx.bundle, 'sub', 'link'))).length).toBe(300_000);
    expect(result.stdout).toMatch(/moved\.bin/);
  });

  it('lists a big directory in pages', async () => {
    for (let i = 0; i < 250; i++) await writeFile(join(fx.bundle, `many-${i}`), '');
    const result = await sftpBatch({
      port: fx.server.port,
      keyFile: fx.keyFile,
      commands: ['ls -1 /kiwibundle'],
    });
    expect(result.exitCode).toBe(0);
    expect(result.stdout.split('\n').filter((line) => /many-\d+/.test(line))).toHaveLength(250);
  });
});

describe('authentication and channels', () => {
  let fx: Fixture;
  beforeAll(async () => {
    fx = await createFixture();
  });
  afterAll(async () => {
    await fx.dispose();
  });

  it('refuses another key', async () => {
    const other = generateKeyPair('intruder');
    await expect(connect({ port: fx.server.port, privateKey: other.privateKey })).rejects.toThrow(
      /authentication methods failed/,
    );
    const otherFile = join(fx.root, 'keys', 'other');
    await writeFile(otherFile, other.privateKey, { mode: 0o600 });
    const result = await sftpBatch({ port: fx.server.port, keyFile: otherFile, commands: ['ls /'] });
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toMatch(/Permission denied/);
  });

  it('refuses password and keyboard-interactive authentication', async () => {
    await expect(connect({ port: fx.server.port, password: 'secret' })).rejects.toThrow(
      /authentication methods failed/,
    );
    await expect(
      connect({ port: fx.server.port, tryKeyboard: true, password: undefined, username: 'root' }),
    ).rejects.toThrow(/authentication methods failed/);
    expect(fx.log.some((line) => /password authentication refused/.test(line))).toBe(true);
  });

  it('refuses exec, shell, pty, env, subsystems and port forwarding', async () => {
    const client = await connect({ port: fx.server.port, privateKey: fx.keys.client.privateKey });
    try {
      const exec = await new Promise<Error | undefined>((resolve) =>
        client.exec('id', (error) => resolve(error)),
      );
      expect(exec?.message).toMatch(/Unable to exec/);
      const shell = await new Promise<Error | undefined>((resolve) =>
        client.shell(false, (error) => resolve(error)),
      );
      expect(shell?.message).toMatch(/Unable to open shell/);
      const sub = await new Promise<Error | undefined>((resolve) =>
        (client as unknown as { subsys(name: string, cb: (error?: Error) => void): void }).subsys(
          'netconf',
          (error) => resolve(error),
        ),
      );
      expect(sub?.message).toMatch(/Unable to start subsystem/);
      const forwardIn = await new Promise<Error | undefined>((resolve) =>
        client.forwardIn('127.0.0.1', 0, (error) => resolve(error)),
      );
      expect(forwardIn?.message).toMatch(/Unable to bind/);
      const forwardOut = await new Promise<Error | undefined>((resolve) =>
        client.forwardOut('127.0.0.1', 1, '127.0.0.1', fx.server.port, (error) => resolve(error)),
      );
      expect(forwardOut?.message).toMatch(/Administratively prohibited|Connection refused|open failure/i);
      const streamlocal = await new Promise<Error | undefined>((resolve) =>
        client.openssh_forwardOutStreamLocal('/run/dbus/system_bus_socket', (error) => resolve(error)),
      );
      expect(streamlocal).toBeInstanceOf(Error);
      // The connection still serves SFTP after all these refusals.
      const sftp = await openSftp(client);
      const { value } = await call<Buffer>((cb) => sftp.readFile('/kiwidescription/config.kiwi', cb));
      expect(value?.toString()).toBe('<image name="test"/>\n');
    } finally {
      client.end();
    }
    expect(fx.log.some((line) => /exec refused/.test(line))).toBe(true);
    expect(fx.log.some((line) => /direct-tcpip to 127\.0\.0\.1/.test(line))).toBe(true);
  });

  it('refuses OpenSSH exec, shell and stdio forwarding', async () => {
    const ssh = (...args: string[]) =>
      execa(
        'ssh',
        [
          '-p',
          String(fx.server.port),
          '-i',
          fx.keyFile,
          '-o',
          'StrictHostKeyChecking=no',
          '-o',
          'UserKnownHostsFile=/dev/null',
          '-o',
          'BatchMode=yes',
          '-o',
          'IdentitiesOnly=yes',
          '-T',
          ...args,
        ],
        { reject: false, timeout: 60_000, input: '' },
      );
    const sentinel = join(fx.root, 'exec-ran');
    const exec = await ssh('kiwibox@127.0.0.1', `touch ${sentinel}`);
    expect(exec.exitCode).not.toBe(0);
    const shell = await ssh('kiwibox@127.0.0.1');
    expect(shell.exitCode).not.toBe(0);
    const forward = await ssh('-W', `127.0.0.1:${fx.server.port}`, 'kiwibox@127.0.0.1');
    expect(forward.exitCode).not.toBe(0);
    expect(String(forward.stderr)).toMatch(/prohibited|failed/i);
    await expect(stat(sentinel)).rejects.toThrow(/ENOENT/);
    expect(await readFile(join(fx.outside, 'secret.txt'), 'utf8')).toBe(SENTINEL_TEXT);
  });
});

describe('server lifetime', () => {
  it('closes the port on stop() and refuses new connections', async () => {
    const fx = await createFixture();
    const client = await connect({ port: fx.server.port, privateKey: fx.keys.client.privateKey });
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    expect(await portOpen(fx.server.port)).toBe(true);
    await fx.server.stop();
    await closed;
    expect(await portOpen(fx.server.port)).toBe(false);
    await fx.server.stop();
    await fx.dispose();
  });

  it('stops on abort', async () => {
    const fx = await createFixture();
    expect(await portOpen(fx.server.port)).toBe(true);
    fx.abort.abort();
    await fx.server.stop();
    expect(await portOpen(fx.server.port)).toBe(false);
    await fx.dispose();
  });

  it('gives each build its own keys: one build key does not open another build server', async () => {
    const [a, b] = await Promise.all([createFixture(), createFixture()]);
    try {
      expect(a.server.port).not.toBe(b.server.port);
      expect(a.keys.client.publicKey).not.toBe(b.keys.client.publicKey);
      await expect(connect({ port: b.server.port, privateKey: a.keys.client.privateKey })).rejects.toThrow(
        /authentication methods failed/,
      );
    } finally {
      await Promise.all([a.dispose(), b.dispose()]);
    }
  });

  it('fails early on a missing share directory or a bad key', async () => {
    const keys = generateKeyPair();
    const missing = await startShareServer({
      shares: [{ path: '/kiwidescription', dir: '/nonexistent/kiwibox-test', readOnly: true }],
      clientPublicKey: keys.publicKey,
      hostKey: keys.privateKey,
    });
    expect(missing.ok ? 'ok' : missing.error[0]?.reason).toBe('sshfs-server-bad-share');
    const badKey = await startShareServer({
      shares: [],
      clientPublicKey: 'nonsense',
      hostKey: keys.privateKey,
    });
    expect(badKey.ok ? 'ok' : badKey.error[0]?.reason).toBe('sshfs-server-bad-key');
    expect(STATUS_CODE.OK).toBe(0);
  });
});
