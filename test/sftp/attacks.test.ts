/**
 * Attack suite: a real SSH/SFTP client (ssh2 Client, OpenSSH sftp) tries to read or change anything
 * outside the two shares, or to change the read-only description. Every attempt must be refused, and
 * the sentinel directory next to the shares must be exactly as before.
 */
import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Client, SFTPWrapper } from 'ssh2';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, connect, createFixture, type Fixture, openSftp, SENTINEL_TEXT, sftpBatch } from './fixture.js';

const { STATUS_CODE } = ssh2.utils.sftp;
const { NO_SUCH_FILE, PERMISSION_DENIED } = STATUS_CODE;

async function tree(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    const file = join(entry.parentPath, entry.name);
    const info = await stat(file).catch(() => undefined);
    out.push(`${file} ${info?.mode} ${info?.size} ${info?.mtimeMs}`);
  }
  return out.sort();
}

describe('attacks on the share server', () => {
  let fx: Fixture;
  let client: Client;
  let sftp: SFTPWrapper;
  let outsideBefore: string;
  let descriptionBefore: string[];

  const read = (path: string) => call<Buffer>((cb) => sftp.readFile(path, cb));
  const write = (path: string, text: string) => call<void>((cb) => sftp.writeFile(path, text, cb));

  beforeAll(async () => {
    fx = await createFixture();
    // Pre-existing escapes, as a user's description or an earlier build could hold them.
    await symlink('../outside/secret.txt', join(fx.description, 'escape-file'));
    await symlink('../outside', join(fx.description, 'escape-dir'));
    await symlink('/etc', join(fx.description, 'abs-dir'));
    await symlink('../outside', join(fx.bundle, 'out-dir'));
    await symlink('../outside/secret.txt', join(fx.bundle, 'out-file'));
    await symlink('../outside/created.txt', join(fx.bundle, 'dangling'));
    await symlink('root/etc/motd', join(fx.description, 'inside-link'));
    outsideBefore = await fx.outsideSnapshot();
    descriptionBefore = await tree(fx.description);
    client = await connect({ port: fx.server.port, privateKey: fx.keys.client.privateKey });
    sftp = await openSftp(client);
  });

  afterAll(async () => {
    client?.end();
    // Nothing outside the shares changed and nothing new appeared there; the description is intact.
    expect(await fx.outsideSnapshot()).toBe(outsideBefore);
    expect(await tree(fx.description)).toEqual(descriptionBefore);
    await fx.dispose();
  });

  it('keeps `..` inside the SFTP namespace', async () => {
    for (const path of [
      '/kiwidescription/../outside/secret.txt',
      '/kiwidescription/../../../../outside/secret.txt',
      'kiwibundle/../../outside/secret.txt',
      '../../../../../etc/passwd',
    ]) {
      const result = await read(path);
      expect(result.code, path).toBe(NO_SUCH_FILE);
    }
    // `/kiwidescription/../..` is the virtual root: it lists the shares, nothing of the host.
    const listing = await call<{ filename: string }[]>((cb) => sftp.readdir('/kiwidescription/../..', cb));
    expect(listing.value?.map((entry) => entry.filename).sort()).toEqual(['kiwibundle', 'kiwidescription']);
    const real = await call<string>((cb) => sftp.realpath('/kiwibundle/../..', cb));
    expect(real.value).toBe('/');
  });

  it('answers NO_SUCH_FILE for absolute host paths', async () => {
    expect((await read('/etc/passwd')).code).toBe(NO_SUCH_FILE);
    expect((await call((cb) => sftp.stat('/etc', cb))).code).toBe(NO_SUCH_FILE);
    expect((await call((cb) => sftp.readdir('/tmp', cb))).code).toBe(NO_SUCH_FILE);
    expect((await call((cb) => sftp.realpath('/etc/passwd', cb))).code).toBe(NO_SUCH_FILE);
    expect((await write(join(fx.outside, 'pwn.txt'), 'x')).code).toBe(NO_SUCH_FILE);
    expect((await call((cb) => sftp.mkdir('/pwn', cb))).code).toBe(NO_SUCH_FILE);
    expect((await read('/kiwidescription/config.kiwi\0/../../etc/passwd')).code).toBe(NO_SUCH_FILE);
  });

  it('does not follow pre-existing symlinks out of a share', async () => {
    expect((await read('/kiwidescription/escape-file')).code).toBe(NO_SUCH_FILE);
    expect((await read('/kiwidescription/escape-dir/secret.txt')).code).toBe(NO_SUCH_FILE);
    expect((await call((cb) => sftp.readdir('/kiwidescription/escape-dir', cb))).code).toBe(NO_SUCH_FILE);
    expect((await read('/kiwidescription/abs-dir/passwd')).code).toBe(NO_SUCH_FILE);
    expect((await call((cb) => sftp.stat('/kiwidescription/escape-file', cb))).code).toBe(NO_SUCH_FILE);
    // The link itself may be looked at (lstat/readlink show metadata, never the target's content).
    expect((await call((cb) => sftp.lstat('/kiwidescription/escape-file', cb))).code).toBeUndefined();
    // Links that stay inside work.
    expect((await read('/kiwidescription/inside-link')).value?.toString()).toBe(
      'hello from the description\n',
    );
    // Writable share: writing, truncating, creating or chmod-ing through escaping links fails.
    expect((await write('/kiwibundle/out-file', 'overwritten')).code).toBe(NO_SUCH_FILE);
    expect((await write('/kiwibundle/out-dir/new.txt', 'x')).code).toBe(NO_SUCH_FILE);
    expect((await write('/kiwibundle/dangling', 'x')).code).toBe(NO_SUCH_FILE);
    expect((await call((cb) => sftp.chmod('/kiwibundle/out-file', 0o777, cb))).code).toBe(NO_SUCH_FILE);
    expect((await call((cb) => sftp.mkdir('/kiwibundle/out-dir/sub', cb))).code).toBe(NO_SUCH_FILE);
    expect((await call((cb) => sftp.unlink('/kiwibundle/out-dir/secret.txt', cb))).code).toBe(NO_SUCH_FILE);
    await writeFile(join(fx.bundle, 'mine.txt'), 'mine');
    const moved = await call((cb) => sftp.rename('/kiwibundle/mine.txt', '/kiwibundle/out-dir/mine.txt', cb));
    expect(moved.code).toBe(NO_SUCH_FILE);
  });

  it('refuses symlinks that point outside, created during the session', async () => {
    const link = (target: string, path: string) => call((cb) => sftp.symlink(target, path, cb));
    expect((await link('../outside/secret.txt', '/kiwibundle/l1')).code).toBe(PERMISSION_DENIED);
    expect((await link('/etc/passwd', '/kiwibundle/l2')).code).toBe(PERMISSION_DENIED);
    expect((await link('a/../../outside', '/kiwibundle/l3')).code).toBe(PERMISSION_DENIED);
    expect((await link('mine.txt', '/kiwibundle/ok-link')).code).toBeUndefined();
    // A link made legal by its depth, then moved up a level, points outside: it must not resolve.
    expect((await call((cb) => sftp.mkdir('/kiwibundle/deep', cb))).code).toBeUndefined();
    expect((await link('../outside/secret.txt', '/kiwibundle/deep/l4')).code).toBeUndefined();
    expect(
      (await call((cb) => sftp.rename('/kiwibundle/deep/l4', '/kiwibundle/l4', cb))).code,
    ).toBeUndefined();
    expect((await read('/kiwibundle/l4')).code).toBe(NO_SUCH_FILE);
    expect((await write('/kiwibundle/l4', 'overwritten')).code).toBe(NO_SUCH_FILE);
    // The same with OpenSSH's sftp (whose SYMLINK argument order differs on the wire).
    const result = await sftpBatch({
      port: fx.server.port,
      keyFile: fx.keyFile,
      commands: ['-ln -s ../outside/secret.txt /kiwibundle/l5', 'ln -s mine.txt /kiwibundle/l6'],
    });
    expect(result.exitCode).toBe(0);
    await expect(stat(join(fx.bundle, 'l5'))).rejects.toThrow(/ENOENT/);
    expect(await readFile(join(fx.bundle, 'l6'), 'utf8')).toBe('mine');
  });

  it('refuses every change to the read-only description', async () => {
    const attempts: [string, () => Promise<{ code: number | undefined }>][] = [
      ['write existing', () => write('/kiwidescription/config.kiwi', 'changed')],
      ['create', () => write('/kiwidescription/new.txt', 'x')],
      ['open for append', () => call((cb) => sftp.open('/kiwidescription/config.kiwi', 'a', cb))],
      ['mkdir', () => call((cb) => sftp.mkdir('/kiwidescription/newdir', cb))],
      ['rmdir', () => call((cb) => sftp.rmdir('/kiwidescription/root/etc', cb))],
      ['remove', () => call((cb) => sftp.unlink('/kiwidescription/config.kiwi', cb))],
      [
        'rename inside',
        () => call((cb) => sftp.rename('/kiwidescription/config.kiwi', '/kiwidescription/x', cb)),
      ],
      [
        'rename out',
        () => call((cb) => sftp.rename('/kiwidescription/config.kiwi', '/kiwibundle/stolen', cb)),
      ],
      [
        'rename in',
        () => call((cb) => sftp.rename('/kiwibundle/mine.txt', '/kiwidescription/config.kiwi', cb)),
      ],
      ['chmod', () => call((cb) => sftp.chmod('/kiwidescription/config.kiwi', 0o777, cb))],
      ['utimes', () => call((cb) => sftp.utimes('/kiwidescription/config.kiwi', 1, 1, cb))],
      ['truncate', () => call((cb) => sftp.setstat('/kiwidescription/config.kiwi', { size: 0 }, cb))],
      ['symlink', () => call((cb) => sftp.symlink('config.kiwi', '/kiwidescription/l', cb))],
      ['remove share', () => call((cb) => sftp.rmdir('/kiwidescription', cb))],
    ];
    for (const [what, attempt] of attempts) {
      expect((await attempt()).code, what).toBe(PERMISSION_DENIED);
    }
    // A handle opened for reading cannot be used to change the file either.
    const handle = await call<Buffer>((cb) => sftp.open('/kiwidescription/config.kiwi', 'r', cb));
    expect(handle.value).toBeInstanceOf(Buffer);
    const fh = handle.value as Buffer;
    expect((await call((cb) => sftp.write(fh, Buffer.from('x'), 0, 1, 0, cb))).code).toBe(PERMISSION_DENIED);
    expect((await call((cb) => sftp.fchmod(fh, 0o777, cb))).code).toBe(PERMISSION_DENIED);
    expect((await call((cb) => sftp.fsetstat(fh, { size: 0 }, cb))).code).toBe(PERMISSION_DENIED);
    await call((cb) => sftp.close(fh, cb));
    // The writable share's own root cannot be removed or renamed away.
    expect((await call((cb) => sftp.rmdir('/kiwibundle', cb))).code).toBe(PERMISSION_DENIED);
    expect((await call((cb) => sftp.rename('/kiwibundle', '/kiwibundle2', cb))).code).not.toBeUndefined();
  });

  it('drops setuid/setgid/sticky bits and refuses handing files to another owner', async () => {
    await writeFile(join(fx.bundle, 'tool'), '#!/bin/sh\n');
    expect((await call((cb) => sftp.chmod('/kiwibundle/tool', 0o6755, cb))).code).toBeUndefined();
    expect((await stat(join(fx.bundle, 'tool'))).mode & 0o7777).toBe(0o755);
    expect((await call((cb) => sftp.mkdir('/kiwibundle/sticky', { mode: 0o1777 }, cb))).code).toBeUndefined();
    expect((await stat(join(fx.bundle, 'sticky'))).mode & 0o7000).toBe(0);
    const created = await call<Buffer>((cb) => sftp.open('/kiwibundle/suid', 'w', { mode: 0o4755 }, cb));
    expect(created.value).toBeInstanceOf(Buffer);
    await call((cb) => sftp.close(created.value as Buffer, cb));
    expect((await stat(join(fx.bundle, 'suid'))).mode & 0o7000).toBe(0);
    expect((await call((cb) => sftp.chown('/kiwibundle/tool', 1234, 5678, cb))).code).toBe(PERMISSION_DENIED);
    expect((await stat(join(fx.bundle, 'tool'))).uid).toBe(process.getuid?.());
    const own = await call((cb) =>
      sftp.chown('/kiwibundle/tool', process.getuid?.() ?? 0, process.getgid?.() ?? 0, cb),
    );
    expect(own.code).toBeUndefined();
  });

  it('caps open handles per session and closes what a failed open opened', async () => {
    const { OPEN_MODE } = ssh2.utils.sftp;
    // TRUNC without WRITE opens read-only, then cannot truncate: refused, the fd closed again.
    const odd = await call((cb) => sftp.open('/kiwibundle/mine.txt', OPEN_MODE.READ | OPEN_MODE.TRUNC, cb));
    expect(odd.code).toBe(STATUS_CODE.FAILURE);
    const handles: Buffer[] = [];
    let refusedAt = -1;
    for (let i = 0; i < 520; i++) {
      const opened = await call<Buffer>((cb) => sftp.open('/kiwidescription/config.kiwi', 'r', cb));
      if (opened.value) handles.push(opened.value);
      else {
        refusedAt = i;
        expect(opened.code).toBe(STATUS_CODE.FAILURE);
        break;
      }
    }
    expect(refusedAt).toBe(512);
    for (const handle of handles) await call((cb) => sftp.close(handle, cb));
    expect(
      (await call<Buffer>((cb) => sftp.open('/kiwidescription/config.kiwi', 'r', cb))).value,
    ).toBeInstanceOf(Buffer);
  });

  it('never escapes while a directory is swapped for an outside link (race)', async () => {
    // A helper process flips bundle/race between a real directory and a link to the outside dir,
    // while the client keeps reading and writing through it.
    // race-link points at the directory holding the shares and `outside`, so the swapped component
    // sits in the middle of the path (race/outside/secret.txt), where O_NOFOLLOW does not apply.
    await mkdir(join(fx.bundle, 'race-real', 'outside'), { recursive: true });
    await writeFile(join(fx.bundle, 'race-real', 'outside', 'secret.txt'), 'inside copy\n');
    await writeFile(join(fx.bundle, 'race-real', 'outside', 'inside-only'), '');
    await symlink('..', join(fx.bundle, 'race-link'));
    const flipper = spawn(
      process.execPath,
      [
        '-e',
        `const fs = require('fs'); const d = process.argv[1]; const end = Date.now() + 30000;
         while (Date.now() < end) {
           try { fs.renameSync(d + '/race-real', d + '/race'); fs.renameSync(d + '/race', d + '/race-real'); } catch {}
           try { fs.renameSync(d + '/race-link', d + '/race'); fs.renameSync(d + '/race', d + '/race-link'); } catch {}
         }`,
        fx.bundle,
      ],
      { stdio: 'ignore' },
    );
    const exited = new Promise<void>((resolve) => flipper.once('exit', () => resolve()));
    let insideReads = 0;
    let rounds = 0;
    let running = true;
    void exited.then(() => {
      running = false;
    });
    // At least 4 s of racing, and until a read went through the real directory (the flipper gives up
    // after 30 s).
    const until = Date.now() + 4000;
    while (running && (Date.now() < until || insideReads === 0)) {
      rounds += 1;
      const results = await Promise.all([
        read('/kiwibundle/race/outside/secret.txt'),
        write('/kiwibundle/race/outside/pwn.txt', 'pwned'),
        call<{ filename: string }[]>((cb) => sftp.readdir('/kiwibundle/race/outside', cb)),
        call((cb) => sftp.setstat('/kiwibundle/race/outside/secret.txt', { mode: 0o777 }, cb)),
      ]);
      const content = results[0].value?.toString();
      expect(content).not.toBe(SENTINEL_TEXT);
      if (content === 'inside copy\n') insideReads += 1;
      // A listing of the outside dir would hold secret.txt without inside-only.
      const names = results[2].value?.map((entry) => entry.filename) ?? [];
      if (names.includes('secret.txt')) expect(names).toContain('inside-only');
    }
    flipper.kill();
    await exited;
    expect(rounds).toBeGreaterThan(5);
    // The race really happened: some reads went through the real directory.
    expect(insideReads).toBeGreaterThan(0);
    await expect(stat(join(fx.outside, 'pwn.txt'))).rejects.toThrow(/ENOENT/);
    expect((await stat(join(fx.outside, 'secret.txt'))).mode & 0o777).not.toBe(0o777);
  });

  it('logs refused requests without file contents', () => {
    const refused = fx.log.filter((line) => line.includes('refused'));
    expect(refused.length).toBeGreaterThan(10);
    expect(fx.log.join('\n')).not.toContain(SENTINEL_TEXT.trim());
  });
});
