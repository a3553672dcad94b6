/**
 * The client side: ask the `kiwibox watch` running on this project whether the selection is fresh.
 * Any failure (no watch, a dead one's socket, a slow answer) is `undefined`: the caller checks in
 * full. Imports nothing of the project, so a no-op answered here costs a process start and a
 * round trip.
 */
import { rmSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { stateDirOf, watchCookieDir, watchSocketFile } from '../state/layout.js';
import {
  type AskAnswer,
  type AskRequest,
  codeIdentity,
  comparableEnv,
  PROTOCOL,
  socketAddress,
} from './protocol.js';

/**
 * A live watcher answers in well under this; a stopped (SIGSTOP) or busy one is not waited for.
 * `KIWIBOX_WATCH_ASK_MS` sets it (a slow machine, a test).
 */
const answerMs = () => Number(process.env.KIWIBOX_WATCH_ASK_MS) || 300;

export type Asked = { readonly answer: AskAnswer } | { readonly none: string };

export async function askWatch(options: {
  readonly file: string;
  readonly targets: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
}): Promise<Asked> {
  const stateDir = stateDirOf(dirname(options.file));
  const socket = watchSocketFile(stateDir);
  if (!statSync(socket, { throwIfNoEntry: false })?.isSocket()) return { none: 'no watch socket' };
  // The cookie is created after everything this client (and whoever ran before it) changed: its
  // event reaches the watcher after theirs (see serve.ts).
  const cookie = `${process.pid}-${process.hrtime.bigint()}`;
  const cookieFile = join(watchCookieDir(stateDir), cookie);
  try {
    writeFileSync(cookieFile, '', { flag: 'wx', mode: 0o600 });
  } catch (error) {
    return { none: `cannot create a cookie: ${(error as Error).message}` };
  }
  const request: AskRequest = {
    v: PROTOCOL,
    file: options.file,
    targets: options.targets,
    env: comparableEnv(options.env ?? process.env),
    cookie,
    code: codeIdentity(),
  };
  try {
    const address = socketAddress(socket);
    try {
      return await exchange(address.path, request);
    } finally {
      address.release();
    }
  } catch (error) {
    return { none: `watch socket: ${(error as Error).message}` };
  } finally {
    rmSync(cookieFile, { force: true });
  }
}

function exchange(path: string, request: AskRequest): Promise<Asked> {
  return new Promise((resolve) => {
    const client = connect({ path });
    let text = '';
    const done = (asked: Asked) => {
      clearTimeout(timer);
      client.destroy();
      resolve(asked);
    };
    const ms = answerMs();
    const timer = setTimeout(() => done({ none: `no answer within ${ms} ms` }), ms);
    // A socket left by a killed watcher refuses the connection: ignored, the full check runs.
    client.on('error', (error) => done({ none: `watch socket: ${error.message}` }));
    client.on('connect', () => client.write(`${JSON.stringify(request)}\n`));
    client.on('data', (chunk) => {
      text += chunk.toString('utf8');
      const end = text.indexOf('\n');
      if (end < 0) return;
      try {
        done({ answer: JSON.parse(text.slice(0, end)) as AskAnswer });
      } catch {
        done({ none: 'unreadable answer' });
      }
    });
    client.on('end', () => done({ none: 'the watch closed the connection' }));
  });
}
