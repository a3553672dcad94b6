/**
 * One SFTP session: every request of SFTP v3 that sshfs and OpenSSH's `sftp` use, served from the
 * shares and nothing else. Requests not handled here (EXTENDED) are answered OP_UNSUPPORTED by ssh2.
 */
import { constants } from 'node:fs';
import type { Attributes, SFTPWrapper } from 'ssh2';
import { OPEN_MODE, STATUS_CODE, safeMode, toAttrs, toOpenFlags, toStatus, wantsWrite } from './attrs.js';
import { openAnchored, type ResolvedShare, SftpDenied, withAnchor } from './confine.js';
import { HandleTable } from './handles.js';
import {
  applyAttrs,
  find,
  listDir,
  listVirtual,
  makeDir,
  makeSymlink,
  readLink,
  realPath,
  removeDir,
  removeFile,
  renamePath,
  setStat,
  statPath,
} from './path-ops.js';

/** Largest READ answered at once: below ssh2's packet limit for any client. */
const MAX_READ = 64 * 1024;
/** Names per READDIR reply. */
const DIR_PAGE = 100;

export interface SessionOptions {
  readonly shares: readonly ResolvedShare[];
  /** Cap on open handles (default 512). */
  readonly maxHandles?: number;
  /** Called for each refused request (audit trail; never sees file contents). */
  readonly onRefused?: (what: string) => void;
}

/** Serves SFTP requests on an accepted `sftp` subsystem channel until it closes. */
export function serveSftp(sftp: SFTPWrapper, options: SessionOptions): void {
  const { shares } = options;
  const handles = new HandleTable(options.maxHandles);

  /**
   * Request order, as OpenSSH's sftp-server keeps it (sshfs pipelines OPEN(create) and LSTAT of the
   * same file and relies on the LSTAT seeing the new file): a request that changes anything waits
   * for every earlier request; a read-only one (READ, the STATs, READLINK, REALPATH) waits only for
   * the last changing request, so pipelined READs overlap. A thrown error becomes a status reply.
   */
  let lastChange: Promise<void> = Promise.resolve();
  let readsSince: Promise<void>[] = [];
  const serve = (reqid: number, what: string, work: () => Promise<void>, readOnly = false): void => {
    const run = () =>
      work().catch((error: unknown) => {
        const { code, message } = toStatus(error);
        if (code === STATUS_CODE.PERMISSION_DENIED || error instanceof SftpDenied) {
          options.onRefused?.(`${what}: ${message}`);
        }
        reply(() => sftp.status(reqid, code, message));
      });
    if (readOnly) {
      readsSince.push(lastChange.then(run));
      // A long run of reads (a big file) is folded so the list stays short.
      if (readsSince.length > 1024) readsSince = [Promise.all(readsSince).then(() => undefined)];
    } else {
      const before = Promise.all([lastChange, ...readsSince]);
      readsSince = [];
      lastChange = before.then(run);
    }
  };
  /** Replies may race the channel closing; a reply to a gone client is dropped. */
  const reply = (send: () => void): void => {
    try {
      send();
    } catch {
      // Channel already closed.
    }
  };
  const ok = (reqid: number) => reply(() => sftp.status(reqid, STATUS_CODE.OK));
  const fileOf = (handle: Buffer) => {
    const entry = handles.get(handle);
    if (entry?.kind !== 'file') throw new SftpDenied('failure', 'invalid handle');
    return entry;
  };

  sftp.on('OPEN', (reqid: number, filename: string, pflags: number, attrs: Partial<Attributes>) =>
    serve(reqid, `OPEN ${filename}`, async () => {
      const location = find(shares, filename);
      if (location.kind !== 'share') throw new SftpDenied('permission-denied', `${filename}: not a file`);
      const writable = wantsWrite(pflags);
      if (writable && location.share.readOnly)
        throw new SftpDenied('permission-denied', `${filename}: read-only`);
      if (!handles.hasRoom()) throw new SftpDenied('failure', 'too many open handles');
      const fh = await withAnchor({ ...location, follow: true }, (a) =>
        openAnchored(a, toOpenFlags(pflags), safeMode(attrs.mode, 0o644)),
      );
      // Truncation waits until the fd is known to be inside the share.
      if (pflags & OPEN_MODE.TRUNC) {
        try {
          await fh.truncate(0);
        } catch (error) {
          await fh.close();
          throw error;
        }
      }
      const handle = handles.add({ kind: 'file', fh, share: location.share, writable });
      reply(() => sftp.handle(reqid, handle));
    }),
  );

  sftp.on('READ', (reqid: number, handle: Buffer, offset: number, length: number) =>
    serve(
      reqid,
      'READ',
      async () => {
        const { fh } = fileOf(handle);
        const buffer = Buffer.alloc(Math.min(length, MAX_READ));
        const { bytesRead } = await fh.read(buffer, 0, buffer.length, offset);
        if (bytesRead === 0) reply(() => sftp.status(reqid, STATUS_CODE.EOF));
        else reply(() => sftp.data(reqid, buffer.subarray(0, bytesRead)));
      },
      true,
    ),
  );

  sftp.on('WRITE', (reqid: number, handle: Buffer, offset: number, data: Buffer) =>
    serve(reqid, 'WRITE', async () => {
      const entry = fileOf(handle);
      if (!entry.writable || entry.share.readOnly)
        throw new SftpDenied('permission-denied', 'read-only handle');
      let done = 0;
      while (done < data.length) {
        const { bytesWritten } = await entry.fh.write(data, done, data.length - done, offset + done);
        done += bytesWritten;
      }
      ok(reqid);
    }),
  );

  sftp.on('CLOSE', (reqid: number, handle: Buffer) =>
    serve(reqid, 'CLOSE', async () => {
      if (!(await handles.close(handle))) throw new SftpDenied('failure', 'invalid handle');
      ok(reqid);
    }),
  );

  sftp.on('FSTAT', (reqid: number, handle: Buffer) =>
    serve(
      reqid,
      'FSTAT',
      async () => {
        const { fh } = fileOf(handle);
        const attrs = toAttrs(await fh.stat());
        reply(() => sftp.attrs(reqid, attrs));
      },
      true,
    ),
  );

  sftp.on('FSETSTAT', (reqid: number, handle: Buffer, attrs: Partial<Attributes>) =>
    serve(reqid, 'FSETSTAT', async () => {
      const entry = fileOf(handle);
      if (entry.share.readOnly) throw new SftpDenied('permission-denied', 'read-only share');
      await applyAttrs(entry.fh, attrs);
      ok(reqid);
    }),
  );

  for (const [event, follow] of [
    ['STAT', true],
    ['LSTAT', false],
  ] as const) {
    sftp.on(event, (reqid: number, path: string) =>
      serve(
        reqid,
        `${event} ${path}`,
        async () => {
          const attrs = await statPath(shares, path, follow);
          reply(() => sftp.attrs(reqid, attrs));
        },
        true,
      ),
    );
  }

  sftp.on('SETSTAT', (reqid: number, path: string, attrs: Partial<Attributes>) =>
    serve(reqid, `SETSTAT ${path}`, async () => {
      await setStat(shares, path, attrs);
      ok(reqid);
    }),
  );

  sftp.on('OPENDIR', (reqid: number, path: string) =>
    serve(reqid, `OPENDIR ${path}`, async () => {
      const location = find(shares, path);
      if (!handles.hasRoom()) throw new SftpDenied('failure', 'too many open handles');
      if (location.kind === 'virtual') {
        const handle = handles.add({ kind: 'dir', entries: listVirtual(location.children), position: 0 });
        reply(() => sftp.handle(reqid, handle));
        return;
      }
      const fh = await withAnchor({ ...location, follow: true }, (a) =>
        openAnchored(a, constants.O_RDONLY | constants.O_DIRECTORY),
      );
      const handle = handles.add({ kind: 'dir', fh, share: location.share, position: 0 });
      reply(() => sftp.handle(reqid, handle));
    }),
  );

  sftp.on('READDIR', (reqid: number, handle: Buffer) =>
    serve(reqid, 'READDIR', async () => {
      const entry = handles.get(handle);
      if (entry?.kind !== 'dir') throw new SftpDenied('failure', 'invalid handle');
      if (!entry.entries) entry.entries = entry.fh ? await listDir(`/proc/self/fd/${entry.fh.fd}`) : [];
      const page = entry.entries.slice(entry.position, entry.position + DIR_PAGE);
      entry.position += page.length;
      if (page.length === 0) reply(() => sftp.status(reqid, STATUS_CODE.EOF));
      else reply(() => sftp.name(reqid, page));
    }),
  );

  sftp.on('REALPATH', (reqid: number, path: string) =>
    serve(
      reqid,
      `REALPATH ${path}`,
      async () => {
        const filename = await realPath(shares, path);
        reply(() => sftp.name(reqid, [{ filename, longname: filename, attrs: {} as Attributes }]));
      },
      true,
    ),
  );

  sftp.on('READLINK', (reqid: number, path: string) =>
    serve(
      reqid,
      `READLINK ${path}`,
      async () => {
        const filename = await readLink(shares, path);
        reply(() => sftp.name(reqid, [{ filename, longname: filename, attrs: {} as Attributes }]));
      },
      true,
    ),
  );

  const simple: [string, (reqid: number, ...args: never[]) => Promise<void>][] = [
    ['MKDIR', (_r, path: string, attrs: Partial<Attributes>) => makeDir(shares, path, attrs)],
    ['RMDIR', (_r, path: string) => removeDir(shares, path)],
    ['REMOVE', (_r, path: string) => removeFile(shares, path)],
    ['RENAME', (_r, from: string, to: string) => renamePath(shares, from, to)],
    // ssh2 hands over (link, target) in that order for every client (it swaps OpenSSH's order).
    ['SYMLINK', (_r, link: string, target: string) => makeSymlink(shares, link, target)],
  ];
  for (const [event, run] of simple) {
    sftp.on(event, (reqid: number, ...args: never[]) =>
      serve(reqid, `${event} ${args.filter((arg) => typeof arg === 'string').join(' ')}`, async () => {
        await run(reqid, ...args);
        ok(reqid);
      }),
    );
  }

  sftp.once('close', () => void handles.closeAll());
  // The client's EOF ends the session: close the channel too, or OpenSSH's sftp waits for it forever.
  sftp.once('end', () => {
    void handles.closeAll();
    reply(() => sftp.end());
  });
}
