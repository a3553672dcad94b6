/**
 * The stream-backed SFTP server (test box path): OpenSSH's sftp speaks to it over a unix socket,
 * through `sftp -D` and a relay process, with the same confinement as the SSH server.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveShares } from '../../src/sftp/confine.js';
import { serveRawSftp } from '../../src/sftp/raw-sftp.js';

const RELAY = `const s = require('net').connect(process.argv[1]); process.stdin.pipe(s); s.pipe(process.stdout); s.on('close', () => process.exit(0));`;

describe('raw SFTP over a stream', () => {
  let root: string;
  let socket: string;
  let server: ReturnType<typeof createServer>;
  const refused: string[] = [];

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'kiwibox-rawsftp-'));
    await Promise.all([mkdir(join(root, 'desc')), mkdir(join(root, 'bundle'))]);
    await writeFile(join(root, 'desc', 'config.kiwi'), 'description\n');
    await writeFile(join(root, 'secret'), 'outside\n');
    const shares = await resolveShares([
      { path: '/kiwidescription', dir: join(root, 'desc'), readOnly: true },
      { path: '/kiwibundle', dir: join(root, 'bundle'), readOnly: false },
    ]);
    socket = join(root, 'sftp.sock');
    server = createServer((stream) =>
      serveRawSftp({ stream, shares, onRefused: (what) => refused.push(what) }),
    );
    await new Promise<void>((resolve) => server.listen(socket, resolve));
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await rm(root, { recursive: true, force: true });
  });

  const sftp = (commands: string[]) =>
    execa('sftp', ['-b', '-', '-D', `${process.execPath} -e ${JSON.stringify(RELAY)} ${socket}`], {
      input: `${commands.join('\n')}\n`,
      reject: false,
      cwd: root,
      timeout: 60_000,
    });

  it('reads the description, writes the bundle, keeps links in order', async () => {
    await writeFile(join(root, 'up.txt'), 'uploaded\n');
    const result = await sftp([
      'get /kiwidescription/config.kiwi got.txt',
      'put up.txt /kiwibundle/up.txt',
      'ln -s up.txt /kiwibundle/link',
    ]);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(await readFile(join(root, 'got.txt'), 'utf8')).toBe('description\n');
    expect(await readFile(join(root, 'bundle', 'link'), 'utf8')).toBe('uploaded\n');
  });

  it('refuses writes to the description and paths outside', async () => {
    for (const command of [
      'put up.txt /kiwidescription/x',
      'get /kiwidescription/../secret x',
      'rm /kiwidescription/config.kiwi',
    ]) {
      const result = await sftp([command]);
      expect(result.exitCode, command).not.toBe(0);
    }
    expect(refused.length).toBeGreaterThanOrEqual(3);
    expect(await readFile(join(root, 'desc', 'config.kiwi'), 'utf8')).toBe('description\n');
  });
});
