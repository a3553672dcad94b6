/**
 * `kiwibox watch`: a state machine around the one-shot run.
 *
 *   start ──► analyse ──ok──► running ──done──► watching ◄─┐
 *                │  ▲            ▲   │ change: cancel       │ change (debounced)
 *             invalid │          │   ▼ (if it touches a     │
 *                ▼    │          └── restart  running step) │
 *             broken ─┘ (kiwibox.yaml fixed)     watching ──┘
 *
 * A change marks the steps whose inputs contain the path (and, through the run, their
 * dependents); a change to kiwibox.yaml or a description's config re-analyses the file and runs
 * what the plan says changed. Outputs and `.kiwibox/` are never watched. A step whose own runs keep
 * changing its inputs is reported as a loop instead of being re-run forever.
 */
import { statSync } from 'node:fs';
import { relative } from 'node:path';
import { type FSWatcher, watch } from 'chokidar';
import { type LoadedProject, loadProject } from '../config/load.js';
import type { Emit, KiwiboxEvent } from '../core/events.js';
import type { ExecutorLookup } from '../core/executor.js';
import type { Project } from '../core/model.js';
import type { FingerprintServices } from '../fingerprint/decide.js';
import { listInputs } from '../fingerprint/list-inputs.js';
import { dependentsOf, selectSteps, topologicalOrder } from '../graph/graph.js';
import { planSteps } from '../scheduler/plan.js';
import { runSteps } from '../scheduler/run.js';
import { readRecord } from '../state/record.js';
import { InputMap } from './input-map.js';
import { WatchDaemon, type WatchState } from './serve.js';

export interface WatchOptions {
  readonly file: string;
  readonly targets: readonly string[];
  /** The executors a (re-)analysed project needs. */
  readonly lookupFor: (project: Project) => Promise<ExecutorLookup>;
  readonly services: (stateDir: string) => FingerprintServices;
  readonly emit: Emit;
  readonly jobs: number;
  readonly keepGoing: boolean;
  /** What a change does to an affected step that is running: cancel and restart it, or let it finish. */
  readonly onChange: 'cancel' | 'finish';
  readonly debounceMs: number;
  /**
   * Poll every this many ms instead of using inotify: for file systems that send no events
   * (network and VM shares, some container mounts). Polling also sees every write, where chokidar's
   * event path can drop a second change to one file within ~50 ms.
   */
  readonly pollMs?: number;
  /** Ctrl-C: ends the watch and everything it started. */
  readonly signal: AbortSignal;
  /** Answer `run`/`plan` from other terminals over `.kiwibox/watch/socket` (not with polling). */
  readonly serve?: boolean;
}

/** This many self-caused changes in a row make a loop: one can be a user saving during a run, two are not. */
const LOOP_RUNS = 2;

/** The run in progress: which steps it covers, which started, which finished well. */
interface RunState {
  readonly abort: AbortController;
  readonly order: ReadonlySet<string>;
  readonly started: Set<string>;
  readonly done: Set<string>;
  /** Files the watcher reported while the run went on (their change is counted already). */
  readonly seen: Set<string>;
}

interface Analysed extends LoadedProject {
  readonly selection: readonly string[];
  readonly inputs: InputMap;
  readonly lookup: ExecutorLookup;
}

export class Watch implements WatchState {
  readonly #o: WatchOptions;
  #analysed: Analysed | undefined;
  #watcher: FSWatcher | undefined;
  #pending = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #dirty = new Set<string>();
  #reanalyse = false;
  #run: RunState | undefined;
  readonly #running = new Set<string>();
  /** When each step's last run started and ended (ms since the epoch, as file mtimes are). */
  readonly #window = new Map<string, { start: number; end: number }>();
  readonly #hot = new Map<string, number>();
  #wake: (() => void) | undefined;
  #generation = 0;
  #daemon: WatchDaemon | undefined;
  #serving = false;

  constructor(options: WatchOptions) {
    this.#o = options;
  }

  /** Runs until the signal aborts. */
  async run(): Promise<void> {
    await this.#analyse(true);
    this.#o.signal.addEventListener('abort', () => {
      this.#run?.abort.abort();
      this.#wake?.();
    });
    while (!this.#o.signal.aborted) {
      if (this.#reanalyse) await this.#analyse(false);
      if (this.#dirty.size && this.#analysed) await this.#runDirty();
      if (this.#o.signal.aborted) break;
      if (!this.#dirty.size && !this.#reanalyse) {
        await this.#announce();
        await this.#serve();
        this.#daemon?.idle();
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
        this.#wake = undefined;
      }
    }
    clearTimeout(this.#timer);
    await this.#daemon?.close();
    await this.#watcher?.close();
  }

  /** Waiting for changes, none pending: what serve.ts may answer from. */
  get idle(): boolean {
    const quiet = !this.#run && !this.#pending.size && !this.#dirty.size && !this.#reanalyse;
    return this.#wake !== undefined && quiet;
  }

  /** File events so far (every raw one, including those that trigger nothing). */
  get generation(): number {
    return this.#generation;
  }

  get watched(): Analysed | undefined {
    return this.#analysed;
  }

  /** Starts answering other terminals once a project is analysed (once; never when polling). */
  async #serve(): Promise<void> {
    const analysed = this.#analysed;
    if (this.#serving || !this.#o.serve || this.#o.pollMs || !analysed) return;
    this.#serving = true;
    const { stateDir } = analysed.project;
    // Answering is an extra: whatever goes wrong with it must not end the watch.
    this.#daemon = await WatchDaemon.start({
      watch: this,
      stateDir,
      targets: this.#o.targets,
      services: this.#o.services(stateDir),
      signal: this.#o.signal,
      emit: this.#o.emit,
    }).catch((error: Error) => {
      this.#o.emit({
        type: 'warning',
        message: `not answering run/plan from other terminals: ${error.message}`,
      });
      return undefined;
    });
  }

  async #analyse(first: boolean): Promise<void> {
    this.#reanalyse = false;
    const loaded = await loadProject({ file: this.#o.file });
    if (!loaded.ok) {
      this.#o.emit({ type: 'diagnostics', failures: loaded.error });
      // Keep watching what we watched (at least the file itself) so a fix is noticed.
      if (!this.#watcher) await this.#watch([this.#o.file], () => false);
      return;
    }
    const { project, graph } = loaded.value;
    const selection = selectSteps(project, graph, this.#o.targets);
    if (!selection.ok) {
      this.#o.emit({ type: 'diagnostics', failures: selection.error });
      return;
    }
    const lookup = await this.#o.lookupFor(project);
    const inputs = new InputMap({ project, ids: selection.value, lookup });
    this.#analysed = { ...loaded.value, selection: selection.value, inputs, lookup };
    await this.#watch(inputs.roots, (path) => inputs.isIgnored(path));
    if (first) {
      for (const id of selection.value) this.#dirty.add(id);
      return;
    }
    const planned = await planSteps({
      project,
      order: selection.value,
      lookup,
      services: this.#o.services(project.stateDir),
      force: false,
      signal: this.#o.signal,
    });
    for (const p of planned) if (p.action !== 'fresh') this.#dirty.add(p.step);
  }

  async #watch(roots: readonly string[], ignored: (path: string) => boolean): Promise<void> {
    await this.#watcher?.close();
    const poll = this.#o.pollMs;
    const watcher = watch([...roots], {
      ignoreInitial: true,
      ignored,
      atomic: true,
      persistent: true,
      ...(poll ? { usePolling: true, interval: poll, binaryInterval: poll } : {}),
    });
    watcher.on('all', (_event, path) => this.#changed(path));
    // Raw events arrive in the order of the changes, with the cookies' (serve.ts).
    watcher.on('raw', () => {
      this.#generation++;
      this.#daemon?.changed();
    });
    await new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
    this.#watcher = watcher;
  }

  #changed(path: string): void {
    this.#run?.seen.add(path);
    this.#pending.add(path);
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#flush(), this.#o.debounceMs);
  }

  #flush(): void {
    const files = [...this.#pending].sort();
    this.#pending.clear();
    const analysed = this.#analysed;
    const affected = new Set<string>();
    let config = !analysed;
    for (const file of files) {
      if (!analysed || analysed.inputs.isConfig(file)) config = true;
      for (const id of analysed?.inputs.stepsFor(file) ?? []) affected.add(id);
    }
    if (!config && !affected.size) return;
    this.#o.emit({ type: 'watch-change', files });
    if (config) this.#reanalyse = true;
    for (const id of affected) {
      const hot = this.#running.has(id) || this.#writtenDuringLastRun(id, files);
      const count = hot ? (this.#hot.get(id) ?? 0) + 1 : 0;
      if (count >= LOOP_RUNS) {
        this.#hot.set(id, 0);
        this.#o.emit({
          type: 'watch-loop',
          step: id,
          files: files.filter((f) => analysed?.inputs.stepsFor(f).includes(id)),
        });
        continue;
      }
      this.#hot.set(id, count);
      // A step of the current run that has not started yet will see the change anyway.
      if (this.#run?.order.has(id) && !this.#run.started.has(id)) continue;
      this.#dirty.add(id);
    }
    const run = this.#run;
    if (run && this.#o.onChange === 'cancel') {
      const touched = this.#reanalyse || [...this.#dirty].some((id) => this.#running.has(id));
      if (touched) run.abort.abort();
    }
    this.#wake?.();
  }

  /**
   * Were any of the step's changed inputs last written while the step last ran? File mtimes say so
   * whatever the event latency, so a slow machine does not hide a loop.
   */
  #writtenDuringLastRun(id: string, files: readonly string[]): boolean {
    const window = this.#window.get(id);
    if (!window) return false;
    return files.some((file) => {
      if (!this.#analysed?.inputs.stepsFor(file).includes(id)) return false;
      const mtime = statSync(file, { throwIfNoEntry: false })?.mtimeMs;
      return mtime !== undefined && mtime >= window.start - 5 && mtime <= window.end + 5;
    });
  }

  /**
   * The file watcher drops a change that follows another within a few ms (chokidar throttles), so a
   * step that rewrites its own input right away could go unseen. After a run, compare each step's
   * inputs with the stats its fingerprint was taken at and report what moved as a change.
   */
  async #recheckInputs(run: RunState, project: Project, lookup: ExecutorLookup): Promise<void> {
    // Only steps that ran: their records hold the stats of this very run (a fresh step's may be older).
    for (const id of run.done) {
      if (!run.started.has(id)) continue;
      const step = project.steps.get(id);
      const record = readRecord(project.stateDir, id);
      const spec = step ? lookup(step)?.inputs(step, project) : undefined;
      if (!step || !record?.inputStats || !spec) continue;
      for (const file of await listInputs(spec, project.dir)) {
        const key = relative(project.dir, file);
        const st = statSync(file, { throwIfNoEntry: false });
        const was = record.inputStats[key];
        // A change seen during the run counts once: a user's save during a run is no loop.
        if (run.seen.has(file)) continue;
        if (st && (!was || was[3] !== st.mtimeMs || was[2] !== st.size)) this.#changed(file);
      }
    }
  }

  async #runDirty(): Promise<void> {
    const { project, graph, selection, lookup } = this.#analysed as Analysed;
    const chosen = new Set(selection);
    const affected = dependentsOf(
      graph,
      [...this.#dirty].filter((id) => chosen.has(id)),
    );
    const order = topologicalOrder(project, graph).filter((id) => affected.has(id) && chosen.has(id));
    this.#dirty.clear();
    if (!order.length) return;
    const run: RunState = {
      abort: new AbortController(),
      order: new Set(order),
      started: new Set(),
      done: new Set(),
      seen: new Set(),
    };
    const onAbort = () => run.abort.abort();
    this.#o.signal.addEventListener('abort', onAbort, { once: true });
    this.#run = run;
    await runSteps({
      project,
      order,
      lookup,
      services: this.#o.services(project.stateDir),
      emit: (event) => this.#track(event, run),
      jobs: this.#o.jobs,
      keepGoing: this.#o.keepGoing,
      force: false,
      signal: run.abort.signal,
    });
    this.#o.signal.removeEventListener('abort', onAbort);
    this.#run = undefined;
    await this.#recheckInputs(run, project, lookup);
    // Cancelled by a change: whatever did not finish runs again.
    if (run.abort.signal.aborted && !this.#o.signal.aborted) {
      for (const id of order) if (!run.done.has(id)) this.#dirty.add(id);
    }
  }

  #track(event: KiwiboxEvent, run: RunState): void {
    if (event.type === 'step-started') {
      run.started.add(event.step);
      this.#running.add(event.step);
      this.#window.set(event.step, { start: Date.now(), end: Number.POSITIVE_INFINITY });
    }
    if (event.type === 'step-fresh' || event.type === 'step-succeeded') run.done.add(event.step);
    if (event.type === 'step-succeeded' || event.type === 'step-failed') {
      this.#running.delete(event.step);
      const window = this.#window.get(event.step);
      if (window) window.end = Date.now();
    }
    this.#o.emit(event);
  }

  async #announce(): Promise<void> {
    const analysed = this.#analysed;
    if (!analysed) return;
    const specs = analysed.selection.map((id) => {
      const step = analysed.project.steps.get(id);
      return step ? (analysed.lookup(step)?.inputs(step, analysed.project) ?? undefined) : undefined;
    });
    const files = new Set<string>();
    for (const spec of specs)
      if (spec) for (const f of await listInputs(spec, analysed.project.dir)) files.add(f);
    this.#o.emit({ type: 'watch-waiting', files: files.size + 1, steps: analysed.selection.length });
  }
}
