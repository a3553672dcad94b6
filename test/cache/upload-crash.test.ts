/**
 * A registry killed in the middle of an upload: the run still succeeds (a warning), and after the
 * registry comes back no entry for the step is visible (blobs go first, the manifest last), so a
 * reader rebuilds instead of restoring half an entry.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, expect, test } from 'vitest';
import { TempProject } from '../support/project.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { cacheFixture, makeKey, outcomes, run } from './fixture.js';

const projects: TempProject[] = [];
let registry: TestRegistry | undefined;
afterAll(async () => {
  for (const p of projects) p.remove();
  await registry?.stop();
});

/** Bytes in the registry's upload spool (an upload in progress). */
function uploading(dir: string): number {
  const repos = join(dir, 'data/docker/registry/v2/repositories/team/big/_uploads');
  if (!existsSync(repos)) return 0;
  let total = 0;
  for (const id of readdirSync(repos)) {
    const data = join(repos, id, 'data');
    if (existsSync(data)) total += statSync(data).size;
  }
  return total;
}

function bigProject(host: string, trusted: string): TempProject {
  const p = new TempProject('kiwibox-cache-crash-');
  projects.push(p);
  p.write({
    'kiwibox.yaml': [
      'version: 1',
      `podman: {registries: {"${host}": {tls-verify: false}}}`,
      `cache: {store: "${host}/team/big", trusted-keys: ["${trusted}"]}`,
      'tasks:',
      '  big:',
      '    run: ["sh", "-c", "head -c 400000000 /dev/zero > big.raw"]',
      '    outputs: [big.raw]',
      '',
    ].join('\n'),
  });
  return p;
}

test('registry killed mid-upload: the run succeeds, no partial entry is visible, a reader rebuilds', async () => {
  const fx = await cacheFixture();
  try {
    registry = await startRegistry();
    const key = await makeKey(fx.work, 'ci-1');
    const writer = bigProject(registry.host, key.publicText);
    const running = run(writer, { KIWIBOX_CACHE_KEY_FILE: key.file });
    let killed = false;
    for (let i = 0; i < 1200 && !killed; i++) {
      if (uploading(registry.dir) > 0) {
        await registry.kill();
        killed = true;
      } else await sleep(25);
    }
    const result = await running;
    expect(killed).toBe(true);
    expect(result.exitCode, String(result.stderr)).toBe(0);
    expect(outcomes(result.events)).toEqual({ big: 'step-succeeded' });
    const warning = result.events.find((e) => e.type === 'warning');
    expect(String(warning?.message)).toContain('not uploaded to the team cache');

    registry = await startRegistry({ dir: registry.dir, host: registry.host });
    const tags = await fetch(`http://${registry.host}/v2/team/big/tags/list`);
    expect(tags.status === 404 || ((await tags.json()) as { tags: unknown[] | null }).tags === null).toBe(
      true,
    );
    const reader = bigProject(registry.host, key.publicText);
    const read = await run(reader);
    expect(outcomes(read.events)).toEqual({ big: 'step-succeeded' });
    expect(String(read.events.find((e) => e.type === 'info')?.message)).toContain('cache miss: no entry');
  } finally {
    await fx.dispose();
  }
}, 300_000);
