/**
 * A running `kiwibox watch` answers `kiwibox run`/`plan` from another terminal over a unix socket
 * in `.kiwibox/watch/` (mode 0700 dir, 0600 socket): "fresh" only when its own full check
 * (verify.ts) found the selection fresh and nothing moved since; otherwise "don't know, check in
 * full". The argument that it is never stale is in docs/freshness.md.
 *
 * Late events: a client first creates a cookie file in `.kiwibox/watch/cookies/`, then asks. The
 * cookie dir and every input watch share this process's one inotify descriptor, whose events
 * arrive in the order the changes happened; so once the cookie's event is here, so is the event
 * of every change made before the client asked (as git's fsmonitor cookies).
 */
import { chmodSync, type FSWatcher, lstatSync, mkdirSync, rmSync, statSync, watch } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import type { Emit } from '../core/events.js';
import type { FingerprintServices } from '../fingerprint/decide.js';
import { selectSteps } from '../graph/graph.js';
import { watchCookieDir, watchDir, watchSocketFile } from '../state/layout.js';
import { checkOutputs } from '../state/record.js';
import { Cookies } from './cookies.js';
import {
  type AskAnswer,
  type AskRequest,
  codeIdentity,
  envDifference,
  PROTOCOL,
  socketAddress,
} from './protocol.js';
import { sameKeys, stateKeys, type Verified, verify, type WatchedProject } from './verify.js';

/** What the daemon reads of the watch (src/watch/watcher.ts). */
export interface WatchState {
  /** Waiting for changes: no run, no pending or debounced change, no re-analysis due. */
  readonly idle: boolean;
  /** How many file events (chokidar's raw ones) arrived so far. */
  readonly generation: number;
  readonly watched: WatchedProject | undefined;
}

/** The build this watch loaded (taken when the module loads, before any rebuild can happen). */
const CODE = codeIdentity();

/** Quiet time after the watch went idle (or a file event) before checking. */
const SETTLE_MS = 100;

export class WatchDaemon {
  readonly #watch: WatchState;
  readonly #o: { targets: readonly string[]; services: FingerprintServices; signal: AbortSignal; emit: Emit };
  readonly #server: Server;
  readonly #cookies: Cookies;
  readonly #socket: string;
  readonly #release: () => void;
  #verified: Verified | undefined;
  #why = 'not checked yet';
  #timer: NodeJS.Timeout | undefined;
  #checking = false;
  /** Directories holding input files named one by one, and the events seen there. */
  #parents: FSWatcher[] = [];
  #parentsOf: WatchedProject | undefined;
  #parentEvents = 0;
  readonly #exitHook = () => rmSync(this.#socket, { force: true });

  private constructor(options: {
    watch: WatchState;
    targets: readonly string[];
    services: FingerprintServices;
    signal: AbortSignal;
    emit: Emit;
    server: Server;
    cookies: Cookies;
    socket: string;
    release: () => void;
  }) {
    this.#watch = options.watch;
    this.#o = options;
    this.#server = options.server;
    this.#cookies = options.cookies;
    this.#socket = options.socket;
    this.#release = options.release;
    // Without its socket (`.kiwibox/` removed), every ask just goes unanswered.
    this.#server.on('error', () => {});
    this.#server.on('connection', (socket) => this.#serve(socket));
    process.on('exit', this.#exitHook);
  }

  /** Starts answering, or says why not (another watch serves the project, no socket possible). */
  static async start(options: {
    watch: WatchState;
    stateDir: string;
    targets: readonly string[];
    services: FingerprintServices;
    signal: AbortSignal;
    emit: Emit;
  }): Promise<WatchDaemon | undefined> {
    const dir = watchDir(options.stateDir);
    const socket = watchSocketFile(options.stateDir);
    const cookieDir = watchCookieDir(options.stateDir);
    let address = { path: socket, release: () => {} };
    const warn = (message: string) => {
      address.release();
      options.emit({ type: 'warning', message: `not answering run/plan from other terminals: ${message}` });
      return undefined;
    };
    try {
      mkdirSync(cookieDir, { recursive: true, mode: 0o700 });
      chmodSync(dir, 0o700);
      address = socketAddress(socket);
    } catch (error) {
      return warn((error as Error).message);
    }
    if (statSync(socket, { throwIfNoEntry: false })) {
      if (await answers(address.path)) return warn(`another kiwibox watch answers on ${socket}`);
      // A socket nobody listens on: left by a watch that was killed.
      rmSync(socket, { force: true });
    }
    const server = createServer();
    const listening = await new Promise<string | undefined>((resolve) => {
      server.once('error', (error) => resolve(error.message));
      server.listen(address.path, () => resolve(undefined));
    });
    if (listening) return warn(listening);
    chmodSync(socket, 0o600);
    const cookies = new Cookies(cookieDir);
    return new WatchDaemon({ ...options, server, cookies, socket, release: address.release });
  }

  /** The watch is idle again (after a run or a change that ran nothing): check once it settles. */
  idle(): void {
    this.#schedule(SETTLE_MS);
  }

  /** A file event: whatever was verified no longer holds; check again once things settle. */
  changed(): void {
    this.#schedule(SETTLE_MS);
  }

  async close(): Promise<void> {
    clearTimeout(this.#timer);
    for (const w of this.#parents) w.close();
    this.#cookies.close();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    rmSync(this.#socket, { force: true });
    process.off('exit', this.#exitHook);
    this.#release();
  }

  /** Every file event the answer depends on: the watch's and those in the parents' directories. */
  #events(): number {
    return this.#watch.generation + this.#parentEvents;
  }

  /**
   * The watch follows an input named by itself through a watch on the file, which a replacing save
   * ends until the watch is renewed; a watch on its directory sees every later change at once.
   */
  #watchParents(watched: WatchedProject): void {
    if (this.#parentsOf === watched) return;
    for (const w of this.#parents) w.close();
    this.#parents = [];
    this.#parentsOf = watched;
    const seen = () => {
      this.#parentEvents++;
      this.changed();
    };
    const dirs = new Set<string>();
    for (const root of watched.inputs.roots)
      if (lstatSync(root, { throwIfNoEntry: false })?.isFile()) dirs.add(dirname(root));
    for (const dir of dirs) {
      try {
        const w = watch(dir, { persistent: false }, seen);
        w.on('error', seen);
        this.#parents.push(w);
      } catch {
        seen();
      }
    }
  }

  #schedule(ms: number): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#check();
    }, ms);
  }

  async #check(): Promise<void> {
    const watched = this.#watch.watched;
    if (this.#checking || !this.#watch.idle || !watched || this.#o.signal.aborted) return;
    if (this.#verified?.watched === watched && this.#verified.generation === this.#events()) return;
    this.#checking = true;
    this.#verified = undefined;
    try {
      this.#watchParents(watched);
      const result = await verify({
        watched,
        targets: this.#o.targets,
        services: this.#o.services,
        generation: () => this.#events(),
        signal: this.#o.signal,
      });
      if ('ok' in result) this.#verified = result.ok;
      else {
        this.#why = result.no;
        if (result.retryMs !== undefined) this.#schedule(Math.max(result.retryMs, SETTLE_MS));
      }
    } catch (error) {
      this.#why = `the check failed: ${(error as Error).message}`;
    } finally {
      this.#checking = false;
    }
    if (process.env.KIWIBOX_WATCH_DEBUG)
      this.#o.emit({
        type: 'info',
        message: `watch check: ${this.#verified ? 'fresh, answering' : this.#why}`,
      });
  }

  #serve(socket: Socket): void {
    let text = '';
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk) => {
      text += chunk.toString('utf8');
      const end = text.indexOf('\n');
      if (end < 0) return;
      socket.removeAllListeners('data');
      let request: AskRequest;
      try {
        request = JSON.parse(text.slice(0, end)) as AskRequest;
      } catch {
        socket.destroy();
        return;
      }
      void this.#answer(request)
        .catch((error: Error): AskAnswer => ({ fresh: false, pid: process.pid, why: error.message }))
        .then((answer) => socket.end(`${JSON.stringify(answer)}\n`));
    });
  }

  /** What moved without a file event (records, outputs): check again, in full. */
  #doubt(why: string): AskAnswer {
    this.#verified = undefined;
    this.#why = why;
    if (!this.#checking && !this.#timer) this.#schedule(SETTLE_MS);
    return { fresh: false, pid: process.pid, why };
  }

  async #answer(request: AskRequest): Promise<AskAnswer> {
    const no = (why: string): AskAnswer => ({ fresh: false, pid: process.pid, why });
    const wellFormed =
      request.v === PROTOCOL &&
      typeof request.cookie === 'string' &&
      /^[\w.-]+$/.test(request.cookie) &&
      Array.isArray(request.targets) &&
      request.targets.every((t) => typeof t === 'string') &&
      typeof request.env === 'object' &&
      request.env !== null;
    if (!wellFormed) return no('unknown request');
    const seen = await this.#cookies.seen(request.cookie);
    if (!seen) return no('the cookie event did not arrive');
    const v = this.#verified;
    // Records written by another terminal send no file event: an ask is the hint to look again.
    if (!v) return this.#doubt(this.#why);
    const { project, graph } = v.watched;
    if (request.file !== project.file) return no(`the watch serves ${project.file}`);
    if (request.code !== CODE) return no('the watch runs another build of kiwibox');
    const differs = envDifference(request.env, v.env);
    if (differs !== undefined) return no(`environment variable ${differs} differs from the watch's`);
    const order = selectSteps(project, graph, request.targets);
    if (!order.ok) return no('the targets do not select steps');
    // Outputs are not watched (steps write them): checked as the full check does, now.
    for (const id of order.value) {
      const run = v.runs.get(id);
      if (!run) return no(`step '${id}' is not watched`);
      if ((await checkOutputs(run, project.dir)).length)
        return this.#doubt(`step '${id}' has missing or modified outputs`);
    }
    // From here on synchronous: no event can slip in between these checks and the answer.
    if (this.#verified !== v) return no('the watch is checking again');
    if (!this.#watch.idle) return no('the watch is busy');
    if (this.#events() !== v.generation || this.#watch.watched !== v.watched)
      return no('files changed since the watch last checked');
    const now = stateKeys(project, order.value);
    for (const id of order.value)
      if (!sameKeys(v.state.get(id), now.get(id) ?? [null, null]))
        return this.#doubt(`step '${id}' was recorded or cleaned since`);
    const steps = order.value.map((id) => ({ id, kind: project.steps.get(id)?.kind ?? 'task' }));
    return { fresh: true, pid: process.pid, steps };
  }
}

/** True when something accepts connections on `path` (a live watch), within 200 ms. */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const client = connect({ path });
    const done = (yes: boolean) => {
      clearTimeout(timer);
      client.destroy();
      resolve(yes);
    };
    const timer = setTimeout(() => done(false), 200);
    client.on('connect', () => done(true));
    client.on('error', () => done(false));
  });
}
