/**
 * The official boxes' sshfs route without an official box: a stand-in guest sshd (ssh2 Server,
 * named so below) plays the box's side of the protocol — it trusts the key from the `ssh_key`
 * variables, runs the key-install command, and serves the `-R` reverse tunnel on a local port. The
 * "guest sshfs" is OpenSSH's real sftp client using the key the host installed, through that port.
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server as NetServer } from 'node:net';
import { join } from 'node:path';
import type { Connection, Server } from 'ssh2';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  officialBoxVariables,
  startOfficialTunnel,
} from '../../src/executors/qemu/sharing/official-tunnel.js';
import { sshfsBackend } from '../../src/executors/qemu/sharing/sshfs.js';
import { generateKeyPair, publicKeyBlob } from '../../src/sftp/keys.js';
import { createFixture, type Fixture, sftpBatch } from './fixture.js';

const { Server: SshServer } = ssh2;

interface StandinGuest {
  readonly port: number;
  readonly root: string;
  /** The port the reverse tunnel was bound to "inside the guest". */
  readonly tunnelPort: Promise<number>;
  readonly execs: string[];
  close(): Promise<void>;
}

/** A STAND-IN for the official box's sshd: authorized key from the box variables, exec, `-R`. */
async function startStandinGuest(options: {
  root: string;
  authorized: string;
  port?: number;
}): Promise<StandinGuest> {
  const authorizedBlob = publicKeyBlob(options.authorized);
  const execs: string[] = [];
  const listeners: NetServer[] = [];
  const connections = new Set<Connection>();
  let resolveTunnel: (port: number) => void = () => undefined;
  const tunnelPort = new Promise<number>((resolve) => {
    resolveTunnel = resolve;
  });
  const server: Server = new SshServer({ hostKeys: [generateKeyPair('guest').privateKey] }, (client) => {
    connections.add(client);
    client.on('close', () => connections.delete(client));
    client.on('error', () => undefined);
    client.on('authentication', (ctx) => {
      if (ctx.method === 'publickey' && authorizedBlob && ctx.key.data.equals(authorizedBlob)) ctx.accept();
      else ctx.reject(['publickey']);
    });
    client.on('session', (accept) => {
      const session = accept();
      session.on('exec', (acceptExec, _reject, info) => {
        execs.push(info.command);
        const channel = acceptExec();
        const chunks: Buffer[] = [];
        channel.on('data', (chunk: Buffer) => chunks.push(chunk));
        channel.on('end', async () => {
          // What `cat > /root/.ssh/id_ed25519` does in the real guest.
          await mkdir(join(options.root, 'root', '.ssh'), { recursive: true });
          await writeFile(join(options.root, 'root', '.ssh', 'id_ed25519'), Buffer.concat(chunks), {
            mode: 0o600,
          });
          channel.exit(0);
          channel.end();
        });
      });
    });
    client.on('request', (accept, reject, name, info) => {
      if (name !== 'tcpip-forward' || !accept) {
        reject?.();
        return;
      }
      const forwardInfo = info as { bindAddr: string; bindPort: number };
      let boundPort = forwardInfo.bindPort;
      const listener = createServer((socket) => {
        client.forwardOut(
          forwardInfo.bindAddr,
          boundPort,
          socket.remoteAddress ?? '127.0.0.1',
          socket.remotePort ?? 0,
          (error, channel) => {
            if (error) {
              socket.destroy();
              return;
            }
            socket.pipe(channel).pipe(socket);
          },
        );
      });
      listeners.push(listener);
      listener.listen(0, '127.0.0.1', () => {
        const address = listener.address();
        boundPort = typeof address === 'object' && address ? address.port : 0;
        accept(boundPort);
        resolveTunnel(boundPort);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', () => resolve()));
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    root: options.root,
    tunnelPort,
    execs,
    async close() {
      for (const listener of listeners) listener.close();
      for (const client of connections) client.end();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('the official boxes sshfs route', () => {
  let fx: Fixture;
  let guest: StandinGuest;
  const abort = new AbortController();

  beforeAll(async () => {
    fx = await createFixture();
    const variables = officialBoxVariables({
      keys: fx.keys,
      paths: { kiwidescription: '/kiwidescription', kiwibundle: '/kiwibundle' },
    });
    guest = await startStandinGuest({
      root: join(fx.root, 'guest'),
      authorized: `${variables.ssh_key_type} ${variables.ssh_key}`,
    });
  });

  afterAll(async () => {
    abort.abort();
    await guest.close();
    await fx.dispose();
  });

  it('builds the box variables from the build key and the SFTP paths', () => {
    const variables = officialBoxVariables({
      keys: fx.keys,
      paths: { kiwidescription: '/kiwidescription', kiwibundle: '/kiwibundle' },
    });
    expect(variables.ssh_key_type).toBe('ssh-ed25519');
    expect(fx.keys.client.publicKey).toContain(variables.ssh_key);
    expect(variables.host_kiwidescription).toBe('/kiwidescription');
    for (const value of Object.values(variables)) expect(value).not.toMatch(/[\s"]/);
  });

  it('installs the build key in the guest and serves the shares through the reverse tunnel', async () => {
    const lines: string[] = [];
    const tunnel = startOfficialTunnel({
      guestSshPort: guest.port,
      keys: fx.keys,
      server: fx.server,
      signal: abort.signal,
      guestPort: 0,
      retryMs: 200,
      onLog: (line) => lines.push(line),
    });
    await tunnel.established;
    const port = await guest.tunnelPort;
    expect(guest.execs).toEqual(['umask 077 && mkdir -p /root/.ssh && cat > /root/.ssh/id_ed25519']);
    const guestKey = join(guest.root, 'root', '.ssh', 'id_ed25519');
    expect(await readFile(guestKey, 'utf8')).toBe(fx.keys.client.privateKey);
    // The "guest sshfs": a real OpenSSH client through the guest's tunnel port, with the guest's key.
    await writeFile(join(fx.root, 'from-guest.txt'), 'written by the guest\n');
    const result = await sftpBatch({
      port,
      keyFile: guestKey,
      cwd: fx.root,
      commands: ['get /kiwidescription/config.kiwi got.kiwi', 'put from-guest.txt /kiwibundle/result.code'],
    });
    expect(result.stderr, fx.log.join('\n')).toBe('');
    expect(result.exitCode).toBe(0);
    expect(await readFile(join(fx.root, 'got.kiwi'), 'utf8')).toBe('<image name="test"/>\n');
    expect(await readFile(join(fx.bundle, 'result.code'), 'utf8')).toBe('written by the guest\n');
    // The box's published key (any other key) is refused on the same path.
    const unsafe = join(fx.root, 'unsafe_key');
    await writeFile(unsafe, generateKeyPair('box-unsafe').privateKey, { mode: 0o600 });
    const refused = await sftpBatch({ port, keyFile: unsafe, commands: ['ls /'] });
    expect(refused.exitCode).not.toBe(0);
    expect(fx.log.some((line) => line.startsWith('connection from injected'))).toBe(true);
    await tunnel.stop();
  });

  it('keeps retrying while the guest boots, and stops on abort', async () => {
    const freePort = await new Promise<number>((resolve) => {
      const probe = createServer();
      probe.listen(0, '127.0.0.1', () => {
        const address = probe.address();
        probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
      });
    });
    const lateAbort = new AbortController();
    const tunnel = startOfficialTunnel({
      guestSshPort: freePort,
      keys: fx.keys,
      server: fx.server,
      signal: lateAbort.signal,
      guestPort: 0,
      retryMs: 200,
    });
    // Nothing listens yet: the tunnel must survive refused connections.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const late = await startStandinGuest({
      root: join(fx.root, 'late-guest'),
      authorized: fx.keys.client.publicKey,
      port: freePort,
    });
    try {
      await tunnel.established;
      expect(await late.tunnelPort).toBeGreaterThan(0);
      lateAbort.abort();
    } finally {
      await late.close();
    }
  });

  it('sets up both routes from the sharing backend and tears them down', async () => {
    const runDir = join(fx.root, 'run');
    await mkdir(runDir);
    const lines: string[] = [];
    const started = await sshfsBackend.start({
      shares: [
        { tag: 'kiwidescription', path: fx.description, readonly: true },
        { tag: 'kiwibundle', path: fx.bundle, readonly: false },
      ],
      runDir,
      signal: new AbortController().signal,
      output: (line) => lines.push(line),
      step: 'img',
    });
    expect(started.ok).toBe(true);
    if (!started.ok) return;
    const { qemu, variables } = started.value;
    const args = qemu.kind === 'external' ? qemu.args.join(' ') : '';
    expect(args).toContain('name=org.kiwibox.sftp.kiwidescription');
    expect(args).toMatch(/hostfwd=tcp:127\.0\.0\.1:\d+-:22/);
    expect(args).not.toMatch(/hostfwd=tcp::|0\.0\.0\.0/);
    expect(variables.host_kiwibundle).toBe('/kiwibundle');
    expect(variables.ssh_key_type).toBe('ssh-ed25519');
    // Every build gets its own key: the fixture's key is not this build's.
    expect(fx.keys.client.publicKey).not.toContain(variables.ssh_key);
    await started.value.stop();
    await started.value.stop();
    expect(await readdir(runDir)).toEqual([]);
  });
});
