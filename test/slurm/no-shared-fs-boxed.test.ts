/**
 * A boxed build as a Slurm job without a shared filesystem: the node resolves the box itself, boots
 * it (QEMU, TCG) on its own working copy, uploads the build to the team cache (a real registry),
 * and the submitting side restores the same files; the second run is fresh without a job.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKey } from '../../src/cache/sign.js';
import { leftoverProcesses, writeTestBoxProject } from '../box/testbox.js';
import { stepsWith, TempProject } from '../support/project.js';
import { missingRealTools } from '../support/real-tools.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { SLURM_TOOLS, startSlurm, type TestSlurm } from '../support/slurm.js';

const missing = missingRealTools({
  tools: [...SLURM_TOOLS, 'qemu-system-x86_64', 'apt-get', 'docker-registry'],
  root: true,
});

/** relative path → sha256 of every file under `dir`. */
function digests(dir: string, under = ''): Record<string, string> {
  const found: Record<string, string> = {};
  for (const entry of readdirSync(join(dir, under), { withFileTypes: true })) {
    const rel = join(under, entry.name);
    if (entry.isDirectory()) Object.assign(found, digests(dir, rel));
    else
      found[rel] = createHash('sha256')
        .update(readFileSync(join(dir, rel)))
        .digest('hex');
  }
  return found;
}

describe.skipIf(missing !== undefined)('a boxed build as a Slurm job without a shared filesystem', () => {
  let slurm: TestSlurm;
  let registry: TestRegistry;
  const here = new TempProject('kiwibox-nofs-boxed-');
  const node = new TempProject('kiwibox-nofs-boxed-node-');
  const keys = new TempProject('kiwibox-nofs-boxed-keys-');
  beforeAll(async () => {
    [slurm, registry] = await Promise.all([startSlurm(), startRegistry()]);
  });
  afterAll(async () => {
    for (const p of [here, node, keys]) p.remove();
    await Promise.all([slurm?.stop(), registry?.stop()]);
  });

  it('builds in the box on the node copy, the result comes back through the cache, then is fresh', async () => {
    const key = generateKey('nodes-1');
    const keyFile = keys.path('nodes-1.key');
    writeFileSync(keyFile, `${key.secretText}\n`, { mode: 0o600 });
    // The same project in both working copies: here, and the node's disk.
    for (const project of [here, node]) {
      await writeTestBoxProject({
        project,
        descriptions: ['one'],
        head: [
          `podman: {registries: {"${registry.host}": {tls-verify: false}}}`,
          `cache: {store: ${registry.host}/team/boxed, trusted-keys: ["${key.publicText}"]}`,
          // No `kinds`: every step but the box goes to Slurm (a box is resolved where it is used).
          `slurm: {time-limit: 20m, shared-filesystem: false, node-project-dir: ${node.dir}}`,
        ],
        builds: ['  one: {box: tiny, description: one, target-dir: out/one, timeout: 600}'],
      });
    }
    const env = { ...slurm.env, KIWIBOX_CACHE_KEY_FILE: keyFile };
    const before = slurm.finishedJobs().length;
    const first = await here.kiwibox(['--reporter', 'ndjson', 'run'], env);
    expect(first.exitCode, first.stdout.slice(-3000)).toBe(0);
    expect(stepsWith(first.stdout, 'step-succeeded').sort()).toEqual(['one', 'tiny']);
    expect(slurm.finishedJobs().slice(before)).toHaveLength(1);
    // Built on the node's copy; its recorded outputs are here too, restored from the cache.
    const built = digests(node.path('out/one'));
    const recorded = (p: TempProject) =>
      JSON.parse(readFileSync(p.path('.kiwibox/steps/one/record.json'), 'utf8')) as {
        hash: string;
        outputs: { files: { path: string; sha256: string }[] };
      };
    expect(recorded(here).hash).toBe(recorded(node).hash);
    const files = recorded(here).outputs.files;
    expect(files.map((f) => f.path)).toContain('out/one/kiwi.result.json');
    for (const file of files) {
      expect(built[file.path.slice('out/one/'.length)]).toBe(file.sha256);
      expect(digests(here.path('out/one'))[file.path.slice('out/one/'.length)]).toBe(file.sha256);
    }
    expect(await leftoverProcesses(node.dir)).toEqual([]);

    const second = await here.kiwibox(['--reporter', 'ndjson', 'run'], env);
    expect(stepsWith(second.stdout, 'step-fresh').sort()).toEqual(['one', 'tiny']);
    expect(slurm.finishedJobs()).toHaveLength(before + 1);
  }, 900_000);
});
