/**
 * A small fixture "official box" for the download tests: a real Kernel.tar.xz (with `*.kernel` and
 * `*.initrd` inside, as OBS publishes them), a stand-in disk image, the published `.sha256` files
 * and a packages file, served by the fixture server under `/repo/`.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Registry } from '../../src/boxes/registry.js';
import { type FixtureServer, sha256 } from './fixture-server.js';

export const TARBALL = 'Test-Box.x86_64-Kernel.tar.xz';
export const DISK = 'Test-Box.x86_64-System.qcow2';
export const PACKAGES = 'Test-Box.x86_64-System.json';
/** Where `obs://Test:Boxes/repo` lands under the server's base URL. */
export const REPO = '/Test:/Boxes/repo/';

/** Kernel tarball bytes holding `<prefix>.kernel` and `<prefix>.initrd` with the given contents. */
export function kernelTarball(kernel: string, initrd: string): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'kiwibox-tar-'));
  try {
    writeFileSync(join(dir, 'Test-Box.x86_64-1.0.kernel'), kernel);
    writeFileSync(join(dir, 'Test-Box.x86_64-1.0.initrd'), initrd);
    execFileSync('tar', [
      '-C',
      dir,
      '-cJf',
      join(dir, 'out.tar.xz'),
      'Test-Box.x86_64-1.0.kernel',
      'Test-Box.x86_64-1.0.initrd',
    ]);
    return readFileSync(join(dir, 'out.tar.xz'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Publishes a file and its `.sha256` (optionally a wrong one). */
export function publish(
  server: FixtureServer,
  name: string,
  body: Buffer | string,
  publishedSha?: string,
): void {
  server.put(`${REPO}${name}`, body);
  server.put(`${REPO}${name}.sha256`, `${publishedSha ?? sha256(body)}  ${name}\n`);
}

export interface FixtureBox {
  disk: Buffer;
  tarball: Buffer;
}

/** Publishes a complete box; returns its bytes. */
export function publishBox(server: FixtureServer, version = '1'): FixtureBox {
  const tarball = kernelTarball(`kernel ${version}`, `initrd ${version}`);
  const disk = randomBytes(2 * 1024 * 1024);
  publish(server, TARBALL, tarball);
  publish(server, DISK, disk);
  server.put(`${REPO}${PACKAGES}`, JSON.stringify({ version, packages: ['kiwi'] }));
  return { disk, tarball };
}

/** A registry with one box `testbox` whose files come from the fixture server (obs:// under base). */
export function fixtureRegistry(): Registry {
  return {
    boxes: [
      {
        name: 'testbox',
        memory: '512M',
        processors: 1,
        console: 'ttyS0',
        arches: [
          {
            name: 'x86_64',
            cmdline: ['root=/dev/vda1', 'rd.plymouth=0'],
            source: 'obs://Test:Boxes/repo',
            packagesFile: PACKAGES,
            boxfiles: [TARBALL, DISK],
            useInitrd: true,
          },
        ],
      },
    ],
  };
}
