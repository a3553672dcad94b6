/**
 * Team cache test fixture: a registry, podman stores, a key pair, and clones of one project (tasks,
 * a stash, a stack that runs kiwi-ng, a task after it) that differ only in where they live, which
 * podman store they use and which cache settings they get. Tasks append to a file outside the
 * project, so a test can tell whether anything ran.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { generateKey } from '../../src/cache/sign.js';
import { fastKiwiConfig, kiwiBusyboxRoot } from '../podman/fixtures.js';
import { createTestStore, type TestStore } from '../support/podman-store.js';
import { events, TempProject } from '../support/project.js';

export interface Key {
  readonly secretText: string;
  readonly publicText: string;
  readonly file: string;
}

export async function makeKey(dir: string, name: string): Promise<Key> {
  const key = generateKey(name);
  const file = join(dir, `${name}.key`);
  await writeFile(file, `${key.secretText}\n`, { mode: 0o600 });
  return { ...key, file };
}

export interface CloneOptions {
  readonly registry: string;
  readonly store: TestStore;
  readonly trusted: readonly string[];
  /** Goes into the task's input: a different value is a different fingerprint. */
  readonly variant?: string;
  readonly sideFile: string;
  readonly fastConfig: string;
  /** Extra lines under `cache:`. */
  readonly cacheLines?: readonly string[];
  readonly repository?: string;
}

export function projectYaml(options: CloneOptions): string {
  const { store } = options;
  return [
    'version: 1',
    'podman:',
    `  root: ${store.settings.root}`,
    `  runroot: ${store.settings.runroot}`,
    `  tmpdir: ${store.settings.tmpdir}`,
    '  storage-driver: overlay',
    `  registries: {"${options.registry}": {tls-verify: false}}`,
    'cache:',
    `  store: ${options.registry}/${options.repository ?? 'team/kiwibox-cache'}`,
    '  trusted-keys:',
    ...options.trusted.map((k) => `    - "${k}"`),
    ...(options.cacheLines ?? []).map((l) => `  ${l}`),
    'tasks:',
    '  gen:',
    `    run: ["sh", "-c", "echo gen >> ${options.sideFile}; mkdir -p gen; cat input.txt > gen/out.txt; head -c 300000 /dev/urandom > gen/blob.bin; echo made gen"]`,
    '    inputs: [input.txt]',
    '    outputs: [gen/out.txt, gen/blob.bin]',
    '  post:',
    `    run: ["sh", "-c", "echo post >> ${options.sideFile}; ls out > post.txt; cat gen/out.txt >> post.txt"]`,
    '    needs: [gen, image]',
    '    inputs: [gen/out.txt]',
    '    outputs: [post.txt]',
    'stashes:',
    '  base:',
    '    root: ./root',
    'stacks:',
    '  image:',
    '    images: [base]',
    '    target-dir: ./out',
    `    kiwi-args: [--config, ${options.fastConfig}]`,
    '',
  ].join('\n');
}

/** A clone of the project in a new dir (empty .kiwibox/). */
export async function makeClone(options: CloneOptions): Promise<TempProject> {
  const clone = new TempProject('kiwibox-cache-clone-');
  clone.write({ 'kiwibox.yaml': projectYaml(options), 'input.txt': `input ${options.variant ?? 'v1'}\n` });
  await kiwiBusyboxRoot(clone.path('root'), 'cachetest', { 'etc/motd': 'cached\n' });
  return clone;
}

export async function run(clone: TempProject, env: Record<string, string> = {}, args: string[] = []) {
  const result = await clone.kiwibox(['--reporter', 'ndjson', ...args, 'run'], env);
  return { ...result, events: events(String(result.stdout)) };
}

/** Step id → its last outcome event type. */
export function outcomes(list: ReturnType<typeof events>): Record<string, string> {
  const ends = ['step-succeeded', 'step-fresh', 'step-failed', 'step-restored', 'step-skipped'];
  return Object.fromEntries(list.filter((e) => ends.includes(e.type)).map((e) => [String(e.step), e.type]));
}

/** relative path → sha256 of every file under `dir` but `.kiwibox`. */
export function treeDigests(dir: string, under = dir): Record<string, string> {
  const found: Record<string, string> = {};
  for (const name of readdirSync(under)) {
    const path = join(under, name);
    if (name === '.kiwibox' || name === 'root') continue;
    const st = statSync(path);
    if (st.isDirectory()) Object.assign(found, treeDigests(dir, path));
    else found[relative(dir, path)] = createHash('sha256').update(readFileSync(path)).digest('hex');
  }
  return found;
}

export function sideLines(file: string): string[] {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
}

export interface CacheFixture {
  work: string;
  fastConfig: string;
  stores: TestStore[];
  newStore(): Promise<TestStore>;
  dispose(): Promise<void>;
}

export async function cacheFixture(): Promise<CacheFixture> {
  const work = await mkdtemp(join(tmpdir(), 'kiwibox-cache-test-'));
  const stores: TestStore[] = [];
  return {
    work,
    fastConfig: await fastKiwiConfig(work),
    stores,
    async newStore() {
      const store = await createTestStore();
      stores.push(store);
      return store;
    },
    async dispose() {
      for (const store of stores) await store.dispose();
      await rm(work, { recursive: true, force: true });
    },
  };
}
