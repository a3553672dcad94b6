/**
 * A real Debian bookworm root tree made with real `kiwi-ng system prepare` (about a minute), once per
 * test process and reused by every test in it. The Debian mirror is read from apt's own sources at
 * run time; no host name is written into the repository.
 * Set KIWIBOX_TEST_DEBIAN_ROOT=DIR to keep the prepared root in DIR across runs (local development).
 */
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runKiwiNg } from '../../src/executors/kiwi/kiwi-ng.js';

/** The first `URIs:` of /etc/apt/sources.list.d/*.sources, else the first `deb` line of sources.list. */
export async function debianMirror(): Promise<string> {
  const dir = '/etc/apt/sources.list.d';
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('.sources')).sort();
  for (const name of names) {
    const match = /^URIs:\s*(\S+)/m.exec(await readFile(join(dir, name), 'utf8'));
    if (match?.[1]) return match[1];
  }
  const list = await readFile('/etc/apt/sources.list', 'utf8').catch(() => '');
  const deb = /^deb\s+(?:\[[^\]]*\]\s+)?((?:https?|file):\S+)/m.exec(list);
  if (deb?.[1]) return deb[1];
  throw new Error('no Debian mirror configured in apt sources');
}

/** A minimal bookworm description; `bootstrap: false` for descriptions applied on top of a stack. */
export function debianDescription(options: {
  name: string;
  mirror: string;
  imagePackages: readonly string[];
  bootstrap: boolean;
}): string {
  const packages = options.imagePackages.map((p) => `    <package name="${p}"/>`).join('\n');
  const bootstrap = options.bootstrap
    ? '  <packages type="bootstrap">\n    <package name="ca-certificates"/>\n  </packages>\n'
    : '';
  return `<?xml version="1.0" encoding="utf-8"?>
<image schemaversion="7.5" name="${options.name}">
  <description type="system">
    <author>kiwibox tests</author>
    <contact>tests@localhost</contact>
    <specification>minimal Debian bookworm</specification>
  </description>
  <preferences>
    <version>1.0.0</version>
    <packagemanager>apt</packagemanager>
    <locale>en_US</locale>
    <keytable>us</keytable>
    <timezone>UTC</timezone>
    <rpm-excludedocs>true</rpm-excludedocs>
    <type image="tbz"/>
  </preferences>
  <users>
    <user password="" home="/root" name="root" groups="root"/>
  </users>
  <repository type="apt-deb" alias="bookworm" distribution="bookworm" components="main" repository_gpgcheck="false">
    <source path="${options.mirror}"/>
  </repository>
  <packages type="image" patternType="onlyRequired">
${packages}
  </packages>
${bootstrap}</image>
`;
}

export interface DebianRoot {
  /** The prepared root (with /image/config.xml). Treat as read-only: copy or stash it. */
  readonly root: string;
  readonly mirror: string;
}

let prepared: Promise<DebianRoot> | undefined;
let ownedDir: string | undefined;

async function prepare(): Promise<DebianRoot> {
  const mirror = await debianMirror();
  const keep = process.env.KIWIBOX_TEST_DEBIAN_ROOT;
  const dir = keep ?? (await mkdtemp(join(tmpdir(), 'kiwibox-debian-root-')));
  if (!keep) ownedDir = dir;
  const root = join(dir, 'root');
  const done = join(dir, 'prepared');
  if (
    await stat(done).then(
      () => true,
      () => false,
    )
  )
    return { root, mirror };
  await rm(root, { recursive: true, force: true });
  const description = join(dir, 'description');
  await mkdir(description, { recursive: true });
  await writeFile(
    join(description, 'config.xml'),
    debianDescription({ name: 'kiwibox-debian', mirror, imagePackages: ['netbase'], bootstrap: true }),
  );
  const lines: string[] = [];
  const result = await runKiwiNg({
    command: ['system', 'prepare'],
    globalArgs: ['--logfile', join(dir, 'prepare.log')],
    args: ['--description', description, '--root', root],
    cwd: dir,
    onLine: (line) => {
      lines.push(line);
      if (lines.length > 40) lines.shift();
    },
  });
  if (!result.ok) throw new Error(`kiwi-ng system prepare failed:\n${lines.join('\n')}`);
  // kiwi leaves the downloaded .debs (~35 MB) in the root; they only slow the tests down.
  const archives = join(root, 'var/cache/apt/archives');
  for (const name of await readdir(archives).catch(() => [] as string[])) {
    if (name.endsWith('.deb')) await rm(join(archives, name), { force: true });
  }
  await writeFile(done, new Date().toISOString());
  return { root, mirror };
}

/** The prepared Debian root, made on the first call of this test process. */
export function debianRoot(): Promise<DebianRoot> {
  prepared ??= prepare();
  return prepared;
}

/** Removes the root this process prepared (not a KIWIBOX_TEST_DEBIAN_ROOT one). */
export async function disposeDebianRoot(): Promise<void> {
  if (ownedDir) await rm(ownedDir, { recursive: true, force: true });
  ownedDir = undefined;
  prepared = undefined;
}
