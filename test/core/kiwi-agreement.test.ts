/**
 * kiwibox's description checks against the installed kiwi-ng as the judge: every case is checked by
 * kiwibox's validator (loadProject) and by `kiwi-ng [--profile P] [--type T] [--kiwi-file F] image
 * info --description D`, which loads, upgrades, validates and resolves the description exactly as a
 * build would, without building. Both must say ok, or both must refuse.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { loadProject } from '../../src/config/load.js';
import { stepBuildType } from '../../src/kiwi/build-type.js';
import { formatFailure } from '../../src/reporters/diagnostics.js';
import { expectFailed, expectOk } from '../support/expect-ok.js';
import { ROOT, TempProject } from '../support/project.js';
import { missingRealTools } from '../support/real-tools.js';

const skip = missingRealTools({ tools: ['kiwi-ng', 'xmllint', 'xsltproc'] });
const project = new TempProject('kiwibox-agree-');
afterAll(() => project.remove());

const HEAD = `<description type="system"><author>a</author><contact>a@localhost</contact><specification>s</specification></description>
  <preferences><version>1.0.0</version><packagemanager>apt</packagemanager></preferences>`;
const TAIL = `<repository type="apt-deb"><source path="dir:///nowhere"/></repository>
  <packages type="image"><package name="netbase"/></packages>
  <packages type="bootstrap"><package name="busybox"/></packages>`;

/** A description whose body goes between the common head and tail. */
function xml(body: string, options: { schemaversion?: string; name?: string } = {}): string {
  return `<?xml version="1.0" encoding="utf-8"?>
<image schemaversion="${options.schemaversion ?? '7.5'}" name="${options.name ?? 'agree'}">
  ${HEAD}
  ${body}
  ${TAIL}
</image>
`;
}

interface Case {
  readonly files: Readonly<Record<string, string>>;
  readonly type?: string;
  readonly profiles?: readonly string[];
  readonly kiwiArgs?: readonly string[];
}

let n = 0;

/** kiwibox's verdict: 'ok' or the reasons, with the diagnostics text. */
async function kiwibox(c: Case): Promise<{ reasons: string[]; text: string; dir: string }> {
  const dir = `case${n++}`;
  for (const [name, text] of Object.entries(c.files)) {
    mkdirSync(dirname(project.path(join(dir, 'desc', name))), { recursive: true });
    writeFileSync(project.path(join(dir, 'desc', name)), text);
  }
  const yaml = [
    'version: 1',
    'builds:',
    '  b:',
    '    description: desc',
    '    target-dir: out',
    ...(c.type ? [`    type: ${c.type}`] : []),
    ...(c.profiles ? [`    profiles: [${c.profiles.join(', ')}]`] : []),
    ...(c.kiwiArgs ? [`    kiwi-args: [${c.kiwiArgs.join(', ')}]`] : []),
    '',
  ].join('\n');
  writeFileSync(project.path(join(dir, 'kiwibox.yaml')), yaml);
  const loaded = await loadProject({ file: project.path(join(dir, 'kiwibox.yaml')), env: {} });
  if (loaded.ok) return { reasons: [], text: 'ok', dir };
  const text = loaded.error
    .flatMap((f) => formatFailure(f, { cwd: project.path(dir), color: false }))
    .join('\n');
  return { reasons: loaded.error.map((f) => f.reason), text, dir };
}

/** kiwi-ng's verdict on the same case: ok, or its error line. */
async function judge(c: Case, dir: string): Promise<string> {
  const kiwiFile = c.kiwiArgs?.find((a) => a.startsWith('--kiwi-file='));
  const argv = [
    ...(c.type ? ['--type', c.type] : []),
    ...(c.profiles ?? []).flatMap((p) => ['--profile', p]),
    ...(kiwiFile ? [kiwiFile] : []),
    'image',
    'info',
    '--description',
    project.path(join(dir, 'desc')),
  ];
  const run = await execa('kiwi-ng', argv, { reject: false, all: true, env: { HOME: project.dir } });
  if (run.exitCode === 0) return 'ok';
  return run.all?.split('\n').find((l) => l.includes('ERROR')) ?? `exit ${run.exitCode}`;
}

/** Both verdicts; asserts they agree (both ok, or both refusing). */
async function agree(c: Case): Promise<{ reasons: string[]; text: string; kiwi: string }> {
  const ours = await kiwibox(c);
  const kiwi = await judge(c, ours.dir);
  expect(ours.reasons.length === 0, `kiwibox: ${ours.text}\nkiwi-ng: ${kiwi}`).toBe(kiwi === 'ok');
  return { ...ours, kiwi };
}

const TBZ = xml('<preferences><type image="tbz"/></preferences>');
const ISO = xml('<preferences><type image="iso"/></preferences>');

describe.skipIf(skip !== undefined)('agreeing with kiwi-ng 9 on which file is the description', () => {
  it('reads config.xml, not config.kiwi, when both exist', async () => {
    expect((await agree({ files: { 'config.xml': TBZ, 'config.kiwi': ISO }, type: 'tbz' })).reasons).toEqual(
      [],
    );
    const wrong = await agree({ files: { 'config.xml': TBZ, 'config.kiwi': ISO }, type: 'iso' });
    expect(wrong.reasons).toEqual(['unknown-type']);
    expect(wrong.text).toContain('desc/config.xml');
  }, 60_000);

  it('finds image/config.xml', async () => {
    expect((await agree({ files: { 'image/config.xml': TBZ }, type: 'tbz' })).reasons).toEqual([]);
  }, 60_000);

  it('takes the first *.kiwi in sorted order when there are several', async () => {
    expect((await agree({ files: { 'b.kiwi': TBZ, 'a.kiwi': ISO }, type: 'iso' })).reasons).toEqual([]);
    expect((await agree({ files: { 'b.kiwi': TBZ, 'a.kiwi': ISO }, type: 'tbz' })).reasons).toEqual([
      'unknown-type',
    ]);
  }, 60_000);

  it('honours --kiwi-file NAME in kiwi-args', async () => {
    const files = { 'config.xml': TBZ, 'other.kiwi': ISO };
    expect((await agree({ files, type: 'iso', kiwiArgs: ['--kiwi-file=other.kiwi'] })).reasons).toEqual([]);
    const missing = await kiwibox({ files, kiwiArgs: ['--kiwi-file', 'nothere.kiwi'] });
    expect(missing.reasons).toEqual(['missing-description']);
    expect(missing.text).toMatch(
      /kiwibox\.yaml:6:\d+: error\[missing-description\]: --kiwi-file nothere\.kiwi/,
    );
  }, 60_000);
});

const PROFILED = (importB = false) =>
  xml(`<profiles><profile name="A" description="a"/><profile name="B" description="b"${importB ? ' import="true"' : ''}/></profiles>
  <preferences profiles="A"><type image="tbz"/></preferences>
  <preferences profiles="B"><type image="oem" filesystem="ext4" firmware="uefi" format="qcow2"/></preferences>`);

describe.skipIf(skip !== undefined)('agreeing with kiwi-ng 9 on types under profiles', () => {
  it('refuses a build without profiles when every type is profiled and none is imported', async () => {
    const verdict = await agree({ files: { 'config.xml': PROFILED() } });
    expect(verdict.kiwi).toContain('No build type defined with applied profiles: []');
    expect(verdict.reasons).toEqual(['no-build-type']);
    expect(verdict.text).toContain('No build type defined with applied profiles: []');
  }, 60_000);

  it('refuses a type that exists only under a profile the step does not select', async () => {
    const verdict = await agree({ files: { 'config.xml': PROFILED() }, type: 'oem', profiles: ['A'] });
    expect(verdict.reasons).toEqual(['unknown-type']);
    expect(verdict.text).toMatch(
      /kiwibox\.yaml:6:11: error\[unknown-type\]: .*declared only under profile\(s\) B/,
    );
    expect(
      (await agree({ files: { 'config.xml': PROFILED() }, type: 'oem', profiles: ['B'] })).reasons,
    ).toEqual([]);
  }, 60_000);

  it('selects import="true" profiles by default, and says which type a step makes', async () => {
    expect((await agree({ files: { 'config.xml': PROFILED(true) } })).reasons).toEqual([]);
    const resolved = expectOk(
      stepBuildType(
        { description: project.path(join(`case${n - 1}`, 'desc')), profiles: [], kiwiArgs: [] },
        { file: project.path('kiwibox.yaml'), offset: 0, length: 0 },
      ),
    );
    expect(resolved.image).toBe('oem');
    expect(resolved.profiles).toEqual(['B']);
    expect(resolved.attributes).toMatchObject({ firmware: 'uefi', format: 'qcow2', filesystem: 'ext4' });
  }, 60_000);
});

describe.skipIf(skip !== undefined)('agreeing with kiwi-ng 9 on legacy and newer descriptions', () => {
  const VMX = xml('<preferences><type image="vmx" filesystem="ext4"/></preferences>', {
    schemaversion: '6.8',
  });

  it('upgrades a legacy vmx type to oem: type oem is accepted and is the default', async () => {
    expect((await agree({ files: { 'config.xml': VMX }, type: 'oem' })).reasons).toEqual([]);
    // kiwi-ng 9 also reads `--type vmx` as oem (with a warning).
    expect((await agree({ files: { 'config.xml': VMX }, type: 'vmx' })).reasons).toEqual([]);
    const resolved = expectOk(
      stepBuildType(
        { description: project.path(join(`case${n - 1}`, 'desc')), profiles: [], kiwiArgs: [] },
        { file: project.path('kiwibox.yaml'), offset: 0, length: 0 },
      ),
    );
    expect(resolved.image).toBe('oem');
  }, 60_000);

  it('refuses a newer schemaversion at the attribute', async () => {
    const newer = xml('<preferences><type image="tbz"/></preferences>', { schemaversion: '8.1' });
    const verdict = await agree({ files: { 'config.xml': newer } });
    expect(verdict.reasons).toEqual(['kiwi-schema']);
    expect(verdict.text).toMatch(/desc\/config\.xml:2:23: error\[kiwi-schema\]: schemaversion 8\.1 is newer/);
  }, 60_000);

  it('refuses markup the installed schema does not know, at its line and column', async () => {
    const body = '<preferences><type image="tbz"/></preferences>\n  <oemconfig-not-in-9/>';
    const verdict = await agree({ files: { 'config.xml': xml(body) } });
    expect(verdict.reasons).toEqual(['kiwi-schema']);
    expect(verdict.text).toMatch(
      /desc\/config\.xml:6:3: error\[kiwi-schema\]: kiwi-ng 9\.\S+ \(schema 7\.5\) rejects it/,
    );
  }, 60_000);

  it('accepts an old schemaversion that kiwi upgrades', async () => {
    const old = xml('<preferences><type image="tbz"/></preferences>', { schemaversion: '6.2' });
    expect((await agree({ files: { 'config.xml': old }, type: 'tbz' })).reasons).toEqual([]);
  }, 60_000);

  it('says where an old description fails after the upgrade', async () => {
    const old = xml('<preferences><type image="tbz" bogus="1"/></preferences>', { schemaversion: '6.2' });
    const verdict = await agree({ files: { 'config.xml': old } });
    expect(verdict.reasons).toEqual(['kiwi-schema']);
    expect(verdict.text).toMatch(/upgrading schemaversion 6\.2 to 7\.5: Invalid attribute bogus/);
  }, 60_000);
});

describe('stepBuildType without a description', () => {
  it('says there is none', () => {
    const failures = expectFailed(
      stepBuildType({ profiles: [], kiwiArgs: [] }, { file: '/x/kiwibox.yaml', offset: 0, length: 0 }),
    );
    expect(failures.map((f) => f.reason)).toEqual(['missing-description']);
  });
});

/** A description from kiwi's own build tests (test/data/kiwi-build-tests). */
const buildTest = (name: string) =>
  readFileSync(join(ROOT, 'test', 'data', 'kiwi-build-tests', name, 'appliance.kiwi'), 'utf8');

describe.skipIf(skip !== undefined)("agreeing with kiwi-ng 9 on kiwi's own build tests", () => {
  it('test-image-pxe: no profile selects a type; profile Flat does', async () => {
    const files = { 'appliance.kiwi': buildTest('pxe') };
    expect((await agree({ files })).reasons).toEqual(['no-build-type']);
    expect((await agree({ files, profiles: ['Flat'] })).reasons).toEqual([]);
  }, 60_000);

  it('test-image-nitro-enclave: markup newer than the installed schema is refused', async () => {
    const verdict = await agree({ files: { 'appliance.kiwi': buildTest('nitro-enclave') } });
    expect(verdict.reasons).toEqual(['kiwi-schema']);
    expect(verdict.text).toMatch(
      /appliance\.kiwi:31:22: error\[kiwi-schema\]: .* does not know the image type 'enclave'/,
    );
  }, 60_000);
});

describe.skipIf(skip !== undefined)('through bin/, as users run it', () => {
  it('a description the installed kiwi-ng rejects: exit 2, file:line:col, nothing run', async () => {
    const p = new TempProject('kiwibox-agree-bin-');
    try {
      p.write({
        'desc/config.xml': xml('<preferences><type image="tbz"/></preferences>', { schemaversion: '8.0' }),
        'kiwibox.yaml': 'version: 1\nbuilds:\n  b: {description: desc, target-dir: out}\n',
      });
      const run = await p.kiwibox(['run']);
      expect(run.exitCode, run.stderr).toBe(2);
      expect(run.stderr).toMatch(
        /^desc\/config\.xml:2:23: error\[kiwi-schema\]: schemaversion 8\.0 is newer/m,
      );
      expect(run.stderr).not.toMatch(/\n\s+at /);
      expect(readdirSync(p.dir).sort()).toEqual(['desc', 'kiwibox.yaml']);
    } finally {
      p.remove();
    }
  }, 60_000);
});
