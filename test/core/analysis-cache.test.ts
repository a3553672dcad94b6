/**
 * The analysis cache (.kiwibox/analysis.json) answers only for the very text, variable values and
 * description files it was made from; anything else is analysed again, with the same diagnostics.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { type LoadOptions, loadProject } from '../../src/config/load.js';
import type { TaskStep } from '../../src/core/model.js';
import { normaliseConfig } from '../../src/fingerprint/fingerprint.js';
import { MINIMAL_KIWI, TempProject } from '../support/project.js';

const temp = new TempProject();
afterAll(() => temp.remove());
let n = 0;

/** A fresh project dir (its own .kiwibox) per test. */
function project(yaml: string, files: Record<string, string> = {}) {
  const dir = `p${n++}`;
  temp.write({ [`${dir}/kiwibox.yaml`]: yaml, ...prefixed(dir, files) });
  const file = temp.path(`${dir}/kiwibox.yaml`);
  const cacheFile = temp.path(`${dir}/.kiwibox/analysis.json`);
  return {
    file,
    path: (name: string) => temp.path(`${dir}/${name}`),
    load: (options: Partial<LoadOptions> = {}) => loadProject({ file, cache: true, env: {}, ...options }),
    /** Rewrites the cached run of task `id` (the key stays): a load that returns it was a hit. */
    tamper(id: string) {
      const stored = JSON.parse(readFileSync(cacheFile, 'utf8'));
      for (const step of stored.project.steps) if (step.id === id) step.run = ['from-cache'];
      writeFileSync(cacheFile, JSON.stringify(stored));
    },
    cacheFile,
  };
}

function prefixed(dir: string, files: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(files).map(([k, v]) => [`${dir}/${k}`, v]));
}

async function runOf(loaded: ReturnType<typeof loadProject>, id = 'a') {
  const result = await loaded;
  if (!result.ok) throw new Error(result.error.map((f) => f.message).join('\n'));
  return (result.value.project.steps.get(id) as TaskStep).run;
}

describe('analysis cache', () => {
  it('answers an unchanged file from the cache, and re-analyses an edited one', async () => {
    const p = project('version: 1\ntasks:\n  a: {run: [echo, one]}\n');
    expect(await runOf(p.load())).toEqual(['echo', 'one']);
    p.tamper('a');
    expect(await runOf(p.load())).toEqual(['from-cache']);
    writeFileSync(p.file, 'version: 1\ntasks:\n  a: {run: [echo, two]}\n');
    expect(await runOf(p.load())).toEqual(['echo', 'two']);
  });

  it('re-analyses when a variable the file uses changes, or becomes unset', async () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: kiwibox.yaml syntax.
    const p = project('version: 1\ntasks:\n  a: {run: [echo, "${WHO}"]}\n');
    expect(await runOf(p.load({ env: { WHO: 'me' } }))).toEqual(['echo', 'me']);
    p.tamper('a');
    expect(await runOf(p.load({ env: { WHO: 'me', OTHER: 'x' } }))).toEqual(['from-cache']);
    expect(await runOf(p.load({ env: { WHO: 'you' } }))).toEqual(['echo', 'you']);
    const unset = await p.load({ env: {} });
    expect(unset.ok ? [] : unset.error.map((f) => f.reason)).toEqual(['unset-variable']);
  });

  it('still sees a changed description, with the uncached diagnostics', async () => {
    const yaml = [
      'version: 1',
      'builds:',
      '  base: {description: desc, target-dir: out, profiles: [Small]}',
      'tasks:',
      '  a: {run: [echo], needs: [base]}',
      '',
    ].join('\n');
    const p = project(yaml, { 'desc/config.xml': MINIMAL_KIWI });
    expect((await p.load()).ok).toBe(true);
    p.tamper('a');
    expect(await runOf(p.load())).toEqual(['from-cache']);
    writeFileSync(
      p.path('desc/config.xml'),
      MINIMAL_KIWI.replace('<profile name="Small" description="s"/>', ''),
    );
    const cached = await p.load();
    const uncached = await p.load({ cache: false });
    expect(cached.ok).toBe(false);
    expect(cached).toEqual(uncached);
    expect(uncached.ok ? [] : uncached.error.map((f) => f.reason)).toEqual(['unknown-profile']);
  });

  it('ignores a corrupt or foreign cache file, and never stores a failed analysis', async () => {
    const p = project('version: 1\ntasks:\n  a: {run: [echo, one]}\n');
    await p.load();
    for (const junk of ['{"v":1,', 'null', '[]', '{"v":1,"key":"x","env":{},"project":{"steps":[]}}']) {
      writeFileSync(p.cacheFile, junk);
      expect(await runOf(p.load())).toEqual(['echo', 'one']);
    }
    writeFileSync(p.file, 'version: 1\ntasks:\n  a: {run: [echo, one], bogus: 1}\n');
    const cached = await p.load();
    expect(cached).toEqual(await p.load({ cache: false }));
    expect(cached.ok).toBe(false);
    expect(await p.load()).toEqual(cached);
  });

  it('gives back the same model as an analysis', async () => {
    const yaml = [
      'version: 1',
      'podman: {storage-driver: vfs, registries: {"127.0.0.1:5000": {tls-verify: false}}}',
      'boxes:',
      '  leap: {}',
      '  tiny: {kernel: k, initrd: i, memory: 1G, cpus: 1, arch: x86_64, cmdline: console=ttyS0}',
      'builds:',
      '  base: {description: desc, target-dir: out/base, type: tbz, profiles: [Small], kiwi-args: [--debug]}',
      '  boxed: {box: tiny, description: desc, target-dir: out/boxed, sharing: virtiofs, timeout: 5m}',
      'stashes:',
      '  base-root: {root: base, tag: "1.0", push: {registry: "127.0.0.1:5000", tls-verify: false}}',
      '  dir-root: {root: rootdir}',
      'stacks:',
      '  vm: {images: [base-root, "registry.example.org/app:2"], target-dir: out/vm, keep-dirlinks: true}',
      'tasks:',
      '  smoke: {needs: [base, vm], run: "echo hi", inputs: ["src/**/*.c"], outputs: [out/s], env: {A: b}}',
      '',
    ].join('\n');
    const p = project(yaml, { 'desc/config.xml': MINIMAL_KIWI, k: '', i: '', 'rootdir/x': '' });
    const fresh = await p.load({ cache: false });
    const first = await p.load();
    expect(existsSync(p.cacheFile)).toBe(true);
    const second = await p.load();
    if (!fresh.ok || !first.ok || !second.ok) throw new Error(JSON.stringify(fresh.ok ? second : fresh));
    expect(first.value.project).toEqual(fresh.value.project);
    const { project: a } = fresh.value;
    const { project: b } = second.value;
    expect([...b.steps.keys()]).toEqual([...a.steps.keys()]);
    for (const [id, step] of a.steps) {
      const other = b.steps.get(id);
      if (!other) throw new Error(`missing ${id}`);
      expect(JSON.stringify(normaliseConfig(other, b.dir))).toBe(
        JSON.stringify(normaliseConfig(step, a.dir)),
      );
      expect(other).toEqual(step);
    }
    expect(b.podman).toEqual(a.podman);
    expect(second.value.graph.edges()).toEqual(fresh.value.graph.edges());
  });
});
