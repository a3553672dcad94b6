/**
 * Which steps a changed path can affect, what to watch, and what never to react to (the steps' own
 * outputs and kiwibox's state), computed from the same InputSpecs that fingerprints hash.
 */
import { dirname, join, relative, resolve, sep } from 'node:path';
import picomatch from 'picomatch';
import type { ExecutorLookup } from '../core/executor.js';
import type { Project, Step } from '../core/model.js';
import { stagingPaths } from '../executors/kiwi/staging.js';

interface StepMatcher {
  readonly id: string;
  readonly dirs: readonly string[];
  readonly files: ReadonlySet<string>;
  readonly globs: ((relativePath: string) => boolean) | undefined;
}

const under = (path: string, dir: string) =>
  path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep);

export class InputMap {
  readonly #project: Project;
  readonly #matchers: StepMatcher[];
  /** Directories and files handed to the file watcher. */
  readonly roots: string[];
  /** Paths (dirs or files) whose changes never trigger anything. */
  readonly #ignored: string[];
  #ignoredSet: Set<string> | undefined;
  /** Files that need the project to be re-analysed (kiwibox.yaml, description configs). */
  readonly #configFiles = new Set<string>();

  constructor(options: { project: Project; ids: readonly string[]; lookup: ExecutorLookup }) {
    const { project } = options;
    this.#project = project;
    this.#matchers = [];
    const roots = new Set<string>([project.file]);
    this.#configFiles.add(project.file);
    for (const id of options.ids) {
      const step = project.steps.get(id) as Step;
      const spec = options.lookup(step)?.inputs(step, project) ?? { dirs: [], files: [], globs: [] };
      const dirs = spec.dirs.map((d) => resolve(project.dir, d));
      const files = new Set(spec.files.map((f) => resolve(project.dir, f)));
      for (const d of dirs) {
        roots.add(d);
        for (const name of ['config.kiwi', 'config.xml']) this.#configFiles.add(join(d, name));
      }
      for (const f of files) roots.add(f);
      // `!pattern` excludes (not the extglob `!(…)`), as list-inputs reads them.
      const exclude = (g: string) => g.startsWith('!') && !g.startsWith('!(');
      const globs = spec.globs.filter((g) => !exclude(g));
      const ignore = spec.globs.filter(exclude).map((g) => g.slice(1));
      for (const g of globs) roots.add(resolve(project.dir, picomatch.scan(g).base || '.'));
      this.#matchers.push({
        id,
        dirs,
        files,
        globs: globs.length
          ? picomatch(globs, { dot: true, ...(ignore.length ? { ignore } : {}) })
          : undefined,
      });
    }
    this.roots = [...roots].sort();
    this.#ignored = [project.stateDir, join(project.dir, 'node_modules'), join(project.dir, '.git')];
    for (const step of project.steps.values()) {
      if (step.kind === 'build' || step.kind === 'stack') {
        const { staging, trash } = stagingPaths(step.targetDir);
        this.#ignored.push(step.targetDir, staging, trash);
      }
      if (step.kind === 'task') {
        for (const output of step.outputs) {
          const scan = picomatch.scan(output);
          this.#ignored.push(resolve(project.dir, scan.isGlob ? scan.base || dirname(output) : output));
        }
      }
    }
  }

  /**
   * True for paths the watcher should not even report (outputs, state). Called for every path the
   * file watcher meets: the path and its parents are looked up, not every ignored path scanned.
   */
  isIgnored(path: string): boolean {
    this.#ignoredSet ??= new Set(
      this.#ignored.map((p) => (p.length > 1 && p.endsWith(sep) ? p.slice(0, -1) : p)),
    );
    const set = this.#ignoredSet;
    for (let p = path; ; ) {
      if (set.has(p)) return true;
      const slash = p.lastIndexOf(sep);
      if (slash <= 0) return slash === 0 && set.has(sep);
      p = p.slice(0, slash);
    }
  }

  /** True when a change to `path` needs re-analysis of the project. */
  isConfig(path: string): boolean {
    return this.#configFiles.has(path);
  }

  /** Step ids whose inputs include `path`. */
  stepsFor(path: string): string[] {
    const rel = relative(this.#project.dir, path);
    return this.#matchers
      .filter((m) => m.files.has(path) || m.dirs.some((d) => under(path, d)) || (m.globs?.(rel) ?? false))
      .map((m) => m.id);
  }
}
