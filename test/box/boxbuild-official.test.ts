/**
 * `kiwibox boxbuild` end to end against an official box served on 127.0.0.1: the test box's kernel
 * and initrd published as an OBS-style Kernel.tar.xz with its .sha256 and packages file, downloaded,
 * verified, booted, built in; the second run is fresh without downloading or booting.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { publish } from '../boxes/fixture-box.js';
import { type FixtureServer, startFixtureServer } from '../boxes/fixture-server.js';
import { stepsWith, TempProject } from '../support/project.js';
import { missingRealTools } from '../support/real-tools.js';
import { buildTestBox, makeDescription } from './testbox.js';

const skip = missingRealTools({ tools: ['qemu-system-x86_64', 'apt-get', 'xz'], root: true });

describe.skipIf(skip !== undefined)('kiwibox boxbuild with an official box', () => {
  const p = new TempProject('kiwibox-boxbuild-');
  let server: FixtureServer | undefined;
  afterAll(async () => {
    await server?.close();
    p.remove();
  });

  it('downloads, boots and builds, then is fresh', async () => {
    const box = await buildTestBox('x86_64');
    server = await startFixtureServer();
    // The OBS layout: Kernel.tar.xz with <name>.kernel and <name>.initrd inside (fast xz for the test).
    const work = mkdtempSync(join(tmpdir(), 'kiwibox-obs-'));
    copyFileSync(box.kernel, join(work, 'Test-Box.x86_64-1.0.kernel'));
    copyFileSync(box.initrd, join(work, 'Test-Box.x86_64-1.0.initrd'));
    execFileSync('tar', [
      '-C',
      work,
      '-cf',
      join(work, 'k.tar'),
      'Test-Box.x86_64-1.0.kernel',
      'Test-Box.x86_64-1.0.initrd',
    ]);
    execFileSync('xz', ['-0', '-T0', join(work, 'k.tar')]);
    publish(server, 'Test-Box.x86_64-Kernel.tar.xz', readFileSync(join(work, 'k.tar.xz')));
    rmSync(work, { recursive: true, force: true });
    server.put(
      '/Test:/Boxes/repo/Test-Box.x86_64-System.json',
      JSON.stringify({ version: '1', packages: ['kiwi'] }),
    );
    const cmdline = box.cmdline
      .split(' ')
      .filter((a) => a && !a.startsWith('console='))
      .join(', ');
    p.write({
      'boxes.yml': [
        'box:',
        '  - name: testbox',
        '    mem_mb: 512M',
        '    processors: 1',
        `    console: ${box.console}`,
        '    arch:',
        '      - name: x86_64',
        `        cmdline: [${cmdline}]`,
        '        source: obs://Test:Boxes/repo',
        '        packages_file: Test-Box.x86_64-System.json',
        '        boxfiles: [Test-Box.x86_64-Kernel.tar.xz]',
        '        use_initrd: true',
      ].join('\n'),
    });
    await makeDescription(p.path('desc'));
    const env = {
      KIWIBOX_BOX_STORE: p.path('store'),
      KIWIBOX_BOX_REGISTRY: p.path('boxes.yml'),
      KIWIBOX_BOX_BASE_URL: server.url,
    };
    const args = [
      '--reporter',
      'ndjson',
      'boxbuild',
      '--box',
      'testbox',
      '--',
      '--description',
      'desc',
      '--target-dir',
      'out',
    ];
    const first = await p.kiwibox(args, env);
    expect(first.exitCode, `${first.stdout.slice(-4000)}\n${first.stderr}`).toBe(0);
    expect(stepsWith(first.stdout, 'step-succeeded')).toEqual(['box', 'build']);
    expect(existsSync(p.path('out/kiwi.result.json'))).toBe(true);
    expect(existsSync(p.path('out/result.code'))).toBe(true);

    const second = await p.kiwibox(args, env);
    expect(second.exitCode).toBe(0);
    expect(stepsWith(second.stdout, 'step-fresh')).toEqual(['box', 'build']);
    expect(stepsWith(second.stdout, 'step-started')).toEqual([]);
    writeFileSync(p.path('desc/more.txt'), 'x\n');
    const third = await p.kiwibox(args, env);
    expect(stepsWith(third.stdout, 'step-started')).toEqual(['build']);
  }, 900_000);
});
