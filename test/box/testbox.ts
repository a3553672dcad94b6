/**
 * Test support for boxes: builds (or finds cached) the project's test boxes with scripts/testbox/build,
 * makes Box objects, projects, steps and executor contexts, and finds processes a test left behind.
 */
import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type Box, boxToData } from '../../src/boxes/box.js';
import type { ExecutorContext, StepOutputs } from '../../src/core/executor.js';
import type { Arch, BoxStep, BuildStep, Project, Sharing, Step } from '../../src/core/model.js';

const run = promisify(execFile);
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** What scripts/testbox/build prints: the box files and how to boot them. */
export interface TestBoxFiles {
  readonly arch: Arch;
  readonly kernel: string;
  readonly initrd: string;
  readonly cmdline: string;
  readonly console: string;
  readonly key: string;
}

/** Builds the test box for `arch` (cached; the script rebuilds only when an input changed). */
export async function buildTestBox(arch: Arch = 'x86_64'): Promise<TestBoxFiles> {
  const { stdout } = await run(join(repo, 'scripts/testbox/build'), ['--arch', arch], {
    maxBuffer: 16 * 1024 * 1024,
  });
  const last = stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(last) as TestBoxFiles;
}

/** A Box from test box files; `extraCmdline` adds guest variables (testbox_fault=_hang_, …). */
export function testBox(files: TestBoxFiles, options: { extraCmdline?: string; memory?: string } = {}): Box {
  return {
    name: `testbox-${files.arch}`,
    arch: files.arch,
    kernel: files.kernel,
    initrd: files.initrd,
    cmdline: [files.cmdline, options.extraCmdline].filter(Boolean).join(' '),
    memory: options.memory ?? '512M',
    cpus: 1,
    console: files.console,
    digest: files.key,
  };
}

/** A minimal KIWI description (what the stand-in checks) plus optional extra files. */
export async function makeDescription(dir: string, extra: Record<string, string> = {}): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFile(
    join(dir, 'config.xml'),
    '<?xml version="1.0" encoding="utf-8"?>\n<image schemaversion="7.4" name="tiny">\n' +
      '  <preferences><version>1.2.3</version><type image="tbz"/></preferences>\n</image>\n',
  );
  for (const [name, content] of Object.entries(extra)) await writeFile(join(dir, name), content);
  return dir;
}

/**
 * A project for boxed builds through the CLI: the test box (x86_64, TCG, 512M, 1 CPU) as box `tiny`,
 * a tiny description in each of `descriptions`, and kiwibox.yaml with `head` lines (`slurm:`, …)
 * before `boxes:` and `builds` lines (`  one: {box: tiny, …}`) under `builds:`.
 */
export async function writeTestBoxProject(options: {
  readonly project: { path(name: string): string; write(files: Record<string, string>): unknown };
  readonly descriptions: readonly string[];
  readonly head?: readonly string[];
  readonly builds: readonly string[];
}): Promise<void> {
  const box = await buildTestBox('x86_64');
  for (const dir of options.descriptions) await makeDescription(options.project.path(dir));
  options.project.write({
    'kiwibox.yaml': [
      'version: 1',
      ...(options.head ?? []),
      'boxes:',
      '  tiny:',
      `    kernel: ${box.kernel}`,
      `    initrd: ${box.initrd}`,
      `    cmdline: "${box.cmdline}"`,
      `    console: ${box.console}`,
      '    memory: 512M',
      '    cpus: 1',
      '    accel: tcg',
      'builds:',
      ...options.builds,
    ].join('\n'),
  });
}

const here = (file: string) => ({ file, offset: 0, length: 0 });

export interface BoxedProjectOptions {
  readonly dir: string;
  readonly description: string;
  readonly targetDir: string;
  readonly sharing?: Sharing;
  readonly timeout?: number;
  readonly kiwiArgs?: readonly string[];
  readonly type?: string;
  readonly profiles?: readonly string[];
  readonly arch?: Arch;
  readonly id?: string;
}

/** A box step and a build step on it, in a project rooted at `dir`. */
export function boxedProject(options: BoxedProjectOptions): {
  project: Project;
  build: BuildStep;
  boxStep: BoxStep;
} {
  const file = join(options.dir, 'kiwibox.yaml');
  const boxStep: BoxStep = {
    kind: 'box',
    id: 'testbox',
    deps: [],
    location: here(file),
    fields: {},
    source: 'local',
    name: 'testbox',
    memory: '512M',
    cpus: 1,
    arch: options.arch ?? 'x86_64',
    accel: 'tcg',
    raw: {},
  };
  const build: BuildStep = {
    kind: 'build',
    id: options.id ?? 'image',
    deps: ['testbox'],
    location: here(file),
    fields: {},
    description: options.description,
    targetDir: options.targetDir,
    type: options.type,
    profiles: options.profiles ?? [],
    kiwiArgs: options.kiwiArgs ?? [],
    box: 'testbox',
    sharing: options.sharing ?? '9p',
    timeout: options.timeout ?? 300,
  };
  const steps = new Map<string, Step>([
    [boxStep.id, boxStep],
    [build.id, build],
  ]);
  const project: Project = {
    file,
    dir: options.dir,
    stateDir: join(options.dir, '.kiwibox'),
    podman: { registries: {} },
    steps,
  };
  return { project, build, boxStep };
}

/**
 * `boxedProject` for the tiny description (`makeDescription` with `files`) in `<dir>/desc<suffix>`,
 * built into `<dir>/out<suffix>`.
 */
export async function tinyBoxedProject(
  options: Omit<BoxedProjectOptions, 'description' | 'targetDir'> & {
    readonly suffix?: string;
    readonly files?: Record<string, string>;
  },
): Promise<ReturnType<typeof boxedProject> & { description: string; targetDir: string }> {
  const { suffix = '', files, ...rest } = options;
  const description = await makeDescription(join(options.dir, `desc${suffix}`), files);
  const targetDir = join(options.dir, `out${suffix}`);
  return { ...boxedProject({ ...rest, description, targetDir }), description, targetDir };
}

/** An executor context whose output lines are collected in `lines`. */
export function testContext(options: {
  readonly project: Project;
  readonly box: Box;
  readonly signal?: AbortSignal;
}): { ctx: ExecutorContext; lines: string[] } {
  const lines: string[] = [];
  const upstream = new Map<string, StepOutputs>([['testbox', { files: [], data: boxToData(options.box) }]]);
  const ctx: ExecutorContext = {
    project: options.project,
    signal: options.signal ?? new AbortController().signal,
    output: (line) => lines.push(line),
    upstream,
    tmpDir: join(options.project.stateDir, 'tmp'),
  };
  return { ctx, lines };
}

/** Command lines of live qemu/virtiofsd/unshare processes that mention `marker` (a test's own dir). */
export async function leftoverProcesses(marker: string): Promise<string[]> {
  const found: string[] = [];
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    let cmdline: string;
    try {
      cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).replaceAll('\0', ' ');
    } catch {
      continue;
    }
    if (/qemu-system|virtiofsd|unshare/.test(cmdline) && cmdline.includes(marker))
      found.push(`${pid}: ${cmdline}`);
  }
  return found;
}
