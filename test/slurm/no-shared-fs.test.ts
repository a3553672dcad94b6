/**
 * Slurm without a shared filesystem, on a real one-node cluster and a real registry as the team
 * cache: the node's disk is a second working copy of the project in another temp dir
 * (`node-project-dir`). Same outputs and records as a local run, data only through the cache (the
 * node's stale file is overwritten from the cache, nothing under the project's .kiwibox/slurm), a
 * second run fresh without a job; a node copy with other inputs is refused and leaves nothing; a
 * dependency the run may not upload fails before any job; no cache configured is exit 2.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKey } from '../../src/cache/sign.js';
import { events, TempProject } from '../support/project.js';
import { missingRealTools } from '../support/real-tools.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { SLURM_TOOLS, startSlurm, type TestSlurm } from '../support/slurm.js';

const missing = missingRealTools({ tools: [...SLURM_TOOLS, 'docker-registry'], root: true });

const TASKS = [
  'tasks:',
  '  gen: {run: [sh, -c, "cat input.txt > gen.txt"], inputs: [input.txt], outputs: [gen.txt]}',
  '  up: {run: [sh, -c, "tr a-z A-Z < gen.txt > up.txt; echo upper-done"], needs: [gen], inputs: [gen.txt], outputs: [up.txt]}',
  '  count: {run: [sh, -c, "wc -c < up.txt > count.txt"], needs: [up], inputs: [up.txt], outputs: [count.txt]}',
  '  rev: {run: [sh, -c, "rev < gen.txt > rev.txt"], needs: [gen], inputs: [gen.txt], outputs: [rev.txt]}',
];

interface RecordFile {
  hash: string;
  outputs: { files: { path: string; size: number; sha256: string }[]; data: Record<string, string> };
}
const record = (p: TempProject, id: string) =>
  JSON.parse(readFileSync(p.path(`.kiwibox/steps/${id}/record.json`), 'utf8')) as RecordFile;
const outputsOf = (r: RecordFile) =>
  r.outputs.files.map(({ path, size, sha256 }) => ({ path, size, sha256 }));
const outcome = (stdout: string, step: string) =>
  events(stdout).find(
    (e) =>
      e.step === step && ['step-succeeded', 'step-fresh', 'step-failed', 'step-restored'].includes(e.type),
  );

describe.skipIf(missing !== undefined)('Slurm without a shared filesystem', () => {
  let slurm: TestSlurm;
  let registry: TestRegistry;
  let work: TempProject;
  let keyFile: string;
  let publicKey: string;
  let secretText: string;
  const projects: TempProject[] = [];
  const project = (files: Record<string, string>) => {
    const p = new TempProject('kiwibox-nofs-test-').write(files);
    projects.push(p);
    return p;
  };
  /** The submitting copy and the node's copy: the same kiwibox.yaml, `input.txt` as given. */
  const pair = (options: { repo: string; slurm: string[]; input: string; nodeInput?: string }) => {
    const node = project({});
    const yaml = [
      'version: 1',
      `podman: {registries: {"${registry.host}": {tls-verify: false}}}`,
      'cache:',
      `  store: ${registry.host}/team/${options.repo}`,
      `  trusted-keys: ["${publicKey}"]`,
      'slurm:',
      '  partition: main',
      '  time-limit: 5m',
      '  shared-filesystem: false',
      `  node-project-dir: ${node.dir}`,
      ...options.slurm.map((l) => `  ${l}`),
      ...TASKS,
      '',
    ].join('\n');
    const here = project({ 'kiwibox.yaml': yaml, 'input.txt': options.input });
    node.write({ 'kiwibox.yaml': yaml, 'input.txt': options.nodeInput ?? options.input });
    return { here, node };
  };
  const kiwibox = (p: TempProject, args: string[] = [], env: Record<string, string> = {}) =>
    p.kiwibox(['--reporter', 'ndjson', ...args], { ...slurm.env, KIWIBOX_CACHE_KEY_FILE: keyFile, ...env });
  /** Cache settings by flags only: the node, which sees the environment but not the flags, gets them too. */
  const byFlags = (p: TempProject) =>
    p.kiwibox(
      ['--reporter', 'ndjson', '--cache-key-file', keyFile, '--cache-namespace', 'flagged'],
      slurm.env,
    );

  const tags = async (repository: string): Promise<string[]> => {
    const response = await fetch(`http://${registry.host}/v2/${repository}/tags/list`);
    if (response.status === 404) return [];
    return ((await response.json()) as { tags: string[] | null }).tags ?? [];
  };

  beforeAll(async () => {
    [slurm, registry] = await Promise.all([startSlurm(), startRegistry()]);
    work = new TempProject('kiwibox-nofs-keys-');
    const key = generateKey('nodes-1');
    keyFile = join(work.dir, 'nodes-1.key');
    writeFileSync(keyFile, `${key.secretText}\n`, { mode: 0o600 });
    publicKey = key.publicText;
    secretText = key.secretText;
  });
  afterAll(async () => {
    for (const p of projects) p.remove();
    work?.remove();
    await Promise.all([slurm?.stop(), registry?.stop()]);
  });

  it('runs steps on the node copy through the cache: the same records as locally, then fresh without a job', async () => {
    const local = project({
      'kiwibox.yaml': ['version: 1', ...TASKS, ''].join('\n'),
      'input.txt': 'hello\n',
    });
    expect((await local.kiwibox([])).exitCode).toBe(0);
    // gen runs here; up and count on the node, whose copy has a stale gen.txt it must not use.
    // up and rev run at once on the same node copy, both restoring gen there (the node's step locks).
    const { here, node } = pair({ repo: 'nofs-a', slurm: ['steps: [up, count, rev]'], input: 'hello\n' });
    node.write({ 'gen.txt': 'stale\n' });
    const before = slurm.finishedJobs().length;
    const ran = await byFlags(here);
    expect(ran.stderr).toBe('');
    expect(ran.exitCode, ran.stdout).toBe(0);
    const jobs = slurm.finishedJobs().slice(before);
    expect(jobs).toHaveLength(3);
    for (const id of ['up', 'count', 'rev']) {
      expect(jobs.some((l) => l.includes(`Name=kiwibox:${id}@`))).toBe(true);
    }
    for (const id of ['gen', 'up', 'count', 'rev']) {
      expect(outcome(ran.stdout, id)?.type).toBe('step-succeeded');
      expect(record(here, id).hash).toBe(record(local, id).hash);
      expect(outputsOf(record(here, id))).toEqual(outputsOf(record(local, id)));
    }
    for (const file of ['gen.txt', 'up.txt', 'count.txt', 'rev.txt']) {
      expect(readFileSync(here.path(file), 'utf8')).toBe(readFileSync(local.path(file), 'utf8'));
    }
    expect(readFileSync(here.path('up.txt'), 'utf8')).toBe('HELLO\n');
    // The node ran them on its own copy, with gen.txt from the cache over its stale one.
    expect(readFileSync(node.path('gen.txt'), 'utf8')).toBe('hello\n');
    expect(readFileSync(node.path('up.txt'), 'utf8')).toBe('HELLO\n');
    expect(record(node, 'up').hash).toBe(record(here, 'up').hash);
    // Nothing went through the submitting project's directory; the node's output streamed back.
    expect(existsSync(here.path('.kiwibox/slurm'))).toBe(false);
    const lines = events(ran.stdout).filter((e) => e.type === 'step-output' && e.step === 'up');
    expect(lines.map((e) => e.line)).toContain('upper-done');
    expect(readFileSync(here.path('.kiwibox/logs/up.log'), 'utf8')).toContain('upper-done');
    expect(ran.stdout).not.toContain('kiwibox-result');
    // The node wrote where the flags said: the namespace, signed with the flag's key.
    expect((await tags('team/nofs-a/flagged')).length).toBe(4);
    expect(await tags('team/nofs-a')).toEqual([]);

    const again = await byFlags(here);
    expect(again.exitCode).toBe(0);
    expect(events(again.stdout).filter((e) => e.type === 'step-fresh')).toHaveLength(4);
    expect(slurm.finishedJobs()).toHaveLength(before + 3);
    expect(slurm.queued()).toEqual([]);
  });

  it('keeps KIWIBOX_CACHE_KEY from tasks, here and on the node, while the node still signs with it', async () => {
    const { here, node } = pair({ repo: 'nofs-env', slurm: ['steps: [up]'], input: 'env\n' });
    const probe = '"env | grep -c ^KIWIBOX_CACHE_KEY= > $0; env | grep ^KIWIBOX_CACHE_KEY= || true"';
    const yaml = readFileSync(here.path('kiwibox.yaml'), 'utf8')
      .replace('"cat input.txt > gen.txt"]', `${probe}, gen-env.txt]`)
      .replace('inputs: [input.txt], outputs: [gen.txt]', 'inputs: [input.txt], outputs: [gen-env.txt]')
      .replace('"tr a-z A-Z < gen.txt > up.txt; echo upper-done"]', `${probe}, up-env.txt]`)
      .replace('inputs: [gen.txt], outputs: [up.txt]', 'inputs: [gen-env.txt], outputs: [up-env.txt]');
    for (const p of [here, node]) p.write({ 'kiwibox.yaml': yaml });
    const ran = await kiwibox(here, ['up'], { KIWIBOX_CACHE_KEY_FILE: '', KIWIBOX_CACHE_KEY: secretText });
    expect(ran.exitCode, ran.stdout + ran.stderr).toBe(0);
    expect(outcome(ran.stdout, 'up')?.type).toBe('step-succeeded');
    expect(readFileSync(here.path('gen-env.txt'), 'utf8').trim()).toBe('0');
    expect(readFileSync(here.path('up-env.txt'), 'utf8').trim()).toBe('0');
    expect(readFileSync(node.path('up-env.txt'), 'utf8').trim()).toBe('0');
    for (const id of ['gen', 'up']) {
      expect(readFileSync(here.path(`.kiwibox/logs/${id}.log`), 'utf8')).not.toContain(secretText);
    }
    expect(ran.stdout).not.toContain(secretText);
  });

  it('uploads a dependency two Slurm steps share once, both waiting for it', async () => {
    const { here } = pair({ repo: 'nofs-shared', slurm: ['steps: [up, rev]'], input: 'shared\n' });
    // gen built here but not uploaded (read-only), so up and rev both need it in the cache at once.
    expect((await kiwibox(here, ['--cache-mode', 'read-only', 'gen'])).exitCode).toBe(0);
    expect(await tags('team/nofs-shared')).toEqual([]);
    const ran = await kiwibox(here, ['up', 'rev']);
    expect(ran.exitCode, ran.stdout).toBe(0);
    for (const id of ['up', 'rev']) expect(outcome(ran.stdout, id)?.type).toBe('step-succeeded');
    expect((await tags('team/nofs-shared')).length).toBe(3);
  });

  it('fails at once, naming the lock owner, when the node copy is the submitting project (no node-project-dir)', async () => {
    const { here } = pair({ repo: 'nofs-same', slurm: ['steps: [gen]'], input: 'same\n' });
    const yaml = readFileSync(here.path('kiwibox.yaml'), 'utf8').replace(/ {2}node-project-dir: .*\n/, '');
    here.write({ 'kiwibox.yaml': yaml.replace('time-limit: 5m', 'time-limit: 2m') });
    const started = Date.now();
    const ran = await kiwibox(here, ['gen']);
    expect(ran.exitCode).toBe(1);
    const failures = outcome(ran.stdout, 'gen')?.failures as { reason: string; message: string }[];
    expect(failures.map((f) => f.reason)).toEqual(['locked']);
    expect(failures[0]?.message).toMatch(/pid \d+\).*node-project-dir is its own project/);
    // Before, the node waited for the submitter's lock until the job's time limit.
    expect(Date.now() - started).toBeLessThan(60_000);
  });

  it('refuses a step whose inputs differ on the node copy, and leaves no output', async () => {
    const { here, node } = pair({ repo: 'nofs-b', slurm: [], input: 'mine\n', nodeInput: 'theirs\n' });
    const before = slurm.finishedJobs().length;
    const ran = await kiwibox(here);
    expect(ran.exitCode).toBe(1);
    const failed = outcome(ran.stdout, 'gen');
    expect(failed?.type).toBe('step-failed');
    const failures = failed?.failures as { reason: string; message: string }[];
    expect(failures.map((f) => f.reason)).toEqual(['slurm-node-inputs-differ']);
    expect(failures[0]?.message).toContain(node.dir);
    expect(failures[0]?.message).toContain('it differs in the input files;');
    expect(slurm.finishedJobs().length).toBe(before + 1);
    for (const p of [here, node]) {
      expect(existsSync(p.path('gen.txt'))).toBe(false);
      expect(existsSync(p.path('.kiwibox/steps/gen/record.json'))).toBe(false);
    }
    expect(outcome(ran.stdout, 'up')).toBeUndefined();
  });

  it('names the dependency whose cache entry differs from the record here (a step that is not reproducible)', async () => {
    const { here, node } = pair({ repo: 'nofs-nonrepro', slurm: ['steps: [up]'], input: 'x\n' });
    const yaml = readFileSync(here.path('kiwibox.yaml'), 'utf8').replace(
      '"cat input.txt > gen.txt"',
      '"cat input.txt /proc/sys/kernel/random/uuid > gen.txt"',
    );
    for (const p of [here, node]) p.write({ 'kiwibox.yaml': yaml });
    // gen into the cache, then built again here (another result, same key) without uploading.
    expect((await kiwibox(here, ['gen'])).exitCode).toBe(0);
    expect((await kiwibox(here, ['--cache-mode', 'read-only', '--force', 'gen'])).exitCode).toBe(0);
    const ran = await kiwibox(here, ['up']);
    expect(ran.exitCode).toBe(1);
    const failures = outcome(ran.stdout, 'up')?.failures as { reason: string; message: string }[];
    expect(failures.map((f) => f.reason)).toEqual(['slurm-node-inputs-differ']);
    // gen.txt is also an input of up, so the input files differ with it.
    expect(failures[0]?.message).toMatch(/dependency 'gen' \(its team-cache entry's outputs differ/);
  });

  it('fails before any job when a dependency built here is not in the cache and the run may not write', async () => {
    const { here } = pair({ repo: 'nofs-c', slurm: ['steps: [up]'], input: 'ro\n' });
    const before = slurm.finishedJobs().length;
    const ran = await kiwibox(here, ['--cache-mode', 'read-only']);
    expect(ran.exitCode).toBe(1);
    expect(outcome(ran.stdout, 'gen')?.type).toBe('step-succeeded');
    const failures = outcome(ran.stdout, 'up')?.failures as { reason: string; message: string }[];
    expect(failures.map((f) => f.reason)).toEqual(['slurm-upstream-not-cached']);
    expect(failures[0]?.message).toMatch(/'gen' is not in the team cache .*read-only/);
    expect(slurm.finishedJobs().length).toBe(before);
    expect(existsSync(here.path('up.txt'))).toBe(false);
    // gen in the cache now, but the node could still not upload up's result: refused before a job.
    expect((await kiwibox(here, ['--force', 'gen'])).exitCode).toBe(0);
    const again = await kiwibox(here, ['--cache-mode', 'read-only']);
    expect(again.exitCode).toBe(1);
    const refused = outcome(again.stdout, 'up')?.failures as { reason: string; message: string }[];
    expect(refused.map((f) => f.reason)).toEqual(['slurm-node-cache']);
    expect(refused[0]?.message).toContain('may not write');
    expect(slurm.finishedJobs().length).toBe(before);
  });

  it('fails a job that completed when its entry is not one this side trusts: never a false success', async () => {
    const { here, node } = pair({ repo: 'nofs-d', slurm: ['steps: [gen]'], input: 'untrusted\n' });
    // The node trusts (and signs with) another key than the submitting side trusts.
    const other = generateKey('other-1');
    const otherFile = join(work.dir, 'other-1.key');
    writeFileSync(otherFile, `${other.secretText}\n`, { mode: 0o600 });
    const yaml = readFileSync(node.path('kiwibox.yaml'), 'utf8');
    node.write({ 'kiwibox.yaml': yaml.replace(publicKey, other.publicText) });
    const before = slurm.finishedJobs().length;
    const ran = await kiwibox(here, [], { KIWIBOX_CACHE_KEY_FILE: otherFile });
    expect(ran.exitCode).toBe(1);
    const jobs = slurm.finishedJobs().slice(before);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toContain('JobState=COMPLETED');
    const failures = outcome(ran.stdout, 'gen')?.failures as { reason: string; message: string }[];
    expect(failures.map((f) => f.reason)).toEqual(['slurm-result-not-in-cache']);
    expect(failures[0]?.message).toContain('not signed by a trusted key');
    expect(existsSync(node.path('gen.txt'))).toBe(true);
    expect(existsSync(here.path('gen.txt'))).toBe(false);
    expect(existsSync(here.path('.kiwibox/steps/gen/record.json'))).toBe(false);
  });

  it('needs a cache: store for shared-filesystem: false (exit 2 at file:line:col, nothing run)', async () => {
    const p = project({
      'kiwibox.yaml': [
        'version: 1',
        'slurm:',
        '  partition: main',
        '  shared-filesystem: false',
        '  node-project-dir: relative/dir',
        'tasks:',
        '  t: {run: [sh, -c, "echo ran > ran.txt"]}',
        '',
      ].join('\n'),
    });
    const ran = await p.kiwibox(['--reporter', 'plain'], slurm.env);
    expect(ran.exitCode).toBe(2);
    expect(ran.stderr).toMatch(/kiwibox\.yaml:4:22: error\[invalid-value\].*needs the team cache/);
    expect(ran.stderr).toMatch(/kiwibox\.yaml:5:21: error\[invalid-value\].*absolute path/);
    expect(ran.stderr).not.toContain('    at ');
    expect(existsSync(p.path('ran.txt'))).toBe(false);
  });

  it('refuses to run with the team cache turned off (exit 2, before any job)', async () => {
    const { here } = pair({ repo: 'nofs-e', slurm: [], input: 'off\n' });
    const before = slurm.finishedJobs().length;
    const ran = await kiwibox(here, ['--cache-mode', 'off']);
    expect(ran.exitCode).toBe(2);
    expect(ran.stderr).toMatch(/error\[bad-cache-setting\].*shared-filesystem: false.*--cache-mode off/);
    expect(slurm.finishedJobs().length).toBe(before);
    expect(existsSync(here.path('gen.txt'))).toBe(false);
  });
});
