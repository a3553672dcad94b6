/**
 * Bad boot tests in kiwibox.yaml: each is reported at its place, exit 2, nothing run. The exact text
 * users see is asserted (diagnostics.test.ts style).
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { diagnoseIn } from '../support/diagnose.js';
import { MINIMAL_KIWI, TempProject } from '../support/project.js';

const project = new TempProject();
afterAll(() => project.remove());
afterEach(() => {
  delete process.env.KIWIBOX_OVMF_DIR;
});

const EFI_KIWI = MINIMAL_KIWI.replace(
  '<type image="oem" primary="true"/>',
  '<type image="oem" primary="true" firmware="efi"/>',
);

const BUILDS = [
  'version: 1',
  'builds:',
  '  disk: {description: desc, target-dir: out/disk}',
  '  efi-disk: {description: efi, target-dir: out/efi}',
  '  tarball: {description: desc, target-dir: out/tbz, type: tbz}',
  'tasks:',
  '  smoke: {run: ["true"]}',
  'boot-tests:',
];

function diagnose(lines: string[]): Promise<string> {
  return diagnoseIn({
    project,
    yaml: [...BUILDS, ...lines, ''].join('\n'),
    files: { 'desc/config.xml': MINIMAL_KIWI, 'efi/config.xml': EFI_KIWI },
  });
}

describe('boot-test diagnostics', () => {
  it('accepts a boot test of an oem build, with firmware from its type', async () => {
    expect(
      await diagnose(['  t: {image: disk, expect: [KIWIBOX-BOOT-OK, "/login: *$/"], timeout: 5m}']),
    ).toBe('ok');
    expect(await diagnose(['  t: {image: efi-disk, expect: [x], firmware: bios}'])).toBe('ok');
  });

  it('rejects an image step that makes no bootable file', async () => {
    expect(await diagnose(['  t: {image: tarball, expect: [x]}'])).toMatchInlineSnapshot(`
      "kiwibox.yaml:9:14: error[image-not-bootable]: 'tarball' builds a tbz (type from desc/config.xml), which is not bootable: a boot test needs an oem or iso type
          9 |   t: {image: tarball, expect: [x]}
            |              ^^^^^^^
        kiwibox.yaml:5:3: note: 'tarball' is declared here"
    `);
  });

  it('rejects an image that names a task or no step', async () => {
    expect(
      await diagnose(['  t: {image: smoke, expect: [x]}', '  u: {image: nothing, expect: [x]}']),
    ).toMatchInlineSnapshot(`
      "kiwibox.yaml:9:14: error[wrong-step-kind]: image 'smoke' is a task, not a build or stack
          9 |   t: {image: smoke, expect: [x]}
            |              ^^^^^
        kiwibox.yaml:7:3: note: 'smoke' is declared here
      kiwibox.yaml:10:14: error[unknown-step]: image 'nothing' is not a step in this file
          10 |   u: {image: nothing, expect: [x]}
             |              ^^^^^^^"
    `);
  });

  it('rejects firmware: uefi for a BIOS-only image', async () => {
    expect(
      await diagnose(['  t:', '    image: disk', '    firmware: uefi', '    expect: [x]']),
    ).toMatchInlineSnapshot(`
      "kiwibox.yaml:11:15: error[firmware-mismatch]: firmware: uefi, but 'disk' builds a BIOS-only oem (no firmware attribute in desc/config.xml); set firmware="efi" there or use firmware: bios
          11 |     firmware: uefi
             |               ^^^^"
    `);
  });

  it('names the ovmf package when UEFI firmware is missing, written or from the image type', async () => {
    process.env.KIWIBOX_OVMF_DIR = '/nonexistent/OVMF';
    expect(
      await diagnose([
        '  t: {image: efi-disk, expect: [x]}',
        '  u: {image: efi-disk, expect: [x], firmware: uefi}',
      ]),
    ).toMatchInlineSnapshot(`
      "kiwibox.yaml:9:14: error[ovmf-missing]: booting 'efi-disk' with UEFI needs OVMF firmware, which is not installed (no OVMF_CODE/OVMF_VARS in /nonexistent/OVMF): install the Debian package 'ovmf'
          9 |   t: {image: efi-disk, expect: [x]}
            |              ^^^^^^^^
      kiwibox.yaml:10:47: error[ovmf-missing]: booting 'efi-disk' with UEFI needs OVMF firmware, which is not installed (no OVMF_CODE/OVMF_VARS in /nonexistent/OVMF): install the Debian package 'ovmf'
          10 |   u: {image: efi-disk, expect: [x], firmware: uefi}
             |                                               ^^^^"
    `);
  });

  it('rejects unknown keys, bad timeouts and bad regular expressions', async () => {
    expect(
      await diagnose([
        '  a: {image: disk, expects: [x]}',
        '  b: {image: disk, expect: [x], timeout: -5s}',
        '  c: {image: disk, expect: [x], timeout: -5}',
        '  f: {image: disk, expect: []}',
      ]),
    ).toMatchInlineSnapshot(`
      "kiwibox.yaml:9:3: error[missing-key]: boot-tests.a is missing the required key 'expect'
          9 |   a: {image: disk, expects: [x]}
            |   ^
      kiwibox.yaml:9:20: error[unknown-key]: unknown key 'expects' in boot-tests.a
          9 |   a: {image: disk, expects: [x]}
            |                    ^^^^^^^
      kiwibox.yaml:10:42: error[invalid-value]: boot-tests.b.timeout must be a duration: whole seconds, or a number with s, m or h (300, 90s, 5m)
          10 |   b: {image: disk, expect: [x], timeout: -5s}
             |                                          ^^^
      kiwibox.yaml:11:42: error[invalid-value]: boot-tests.c.timeout must be >= 1
          11 |   c: {image: disk, expect: [x], timeout: -5}
             |                                          ^^
      kiwibox.yaml:12:28: error[invalid-value]: boot-tests.f.expect must NOT have fewer than 1 items
          12 |   f: {image: disk, expect: []}
             |                            ^^"
    `);
  });

  it('rejects a zero timeout and invalid regular expressions (checked after the schema passed)', async () => {
    expect(
      await diagnose([
        '  d: {image: disk, expect: [x], timeout: 0s}',
        '  e: {image: disk, expect: [x, "/(unclosed/"], fail-on: [kaboom, "/[z-a]/"]}',
      ]),
    ).toMatchInlineSnapshot(`
      "kiwibox.yaml:9:42: error[bad-timeout]: timeout must be more than 0 (seconds, or a number with s, m or h: 300s, 5m)
          9 |   d: {image: disk, expect: [x], timeout: 0s}
            |                                          ^^
      kiwibox.yaml:10:32: error[bad-pattern]: invalid regular expression /(unclosed/: Unterminated group
          10 |   e: {image: disk, expect: [x, "/(unclosed/"], fail-on: [kaboom, "/[z-a]/"]}
             |                                ^^^^^^^^^^^^^
      kiwibox.yaml:10:66: error[bad-pattern]: invalid regular expression /[z-a]/: Range out of order in character class
          10 |   e: {image: disk, expect: [x, "/(unclosed/"], fail-on: [kaboom, "/[z-a]/"]}
             |                                                                  ^^^^^^^^^"
    `);
  });
});

describe('the CLI on a bad boot test', () => {
  it('exits 2 at the place, running nothing (not even the image build or a task before it)', async () => {
    process.env.KIWIBOX_OVMF_DIR = '/nonexistent/OVMF';
    project.write({
      'cli/kiwibox.yaml': [
        'version: 1',
        'tasks:',
        '  first: {run: [touch, ran-first]}',
        'builds:',
        '  efi-disk: {description: ../efi, target-dir: out, needs: [first]}',
        'boot-tests:',
        '  t: {image: efi-disk, expect: [x]}',
        '',
      ].join('\n'),
      'efi/config.xml': EFI_KIWI,
    });
    const result = await project.kiwibox(['-C', 'cli', 'run'], { KIWIBOX_OVMF_DIR: '/nonexistent/OVMF' });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toBe(
      [
        "cli/kiwibox.yaml:7:14: error[ovmf-missing]: booting 'efi-disk' with UEFI needs OVMF firmware, which is not installed (no OVMF_CODE/OVMF_VARS in /nonexistent/OVMF): install the Debian package 'ovmf'",
        '    7 |   t: {image: efi-disk, expect: [x]}',
        '      |              ^^^^^^^^',
      ].join('\n'),
    );
    const { existsSync } = await import('node:fs');
    expect(existsSync(project.path('cli/ran-first'))).toBe(false);
    expect(existsSync(project.path('cli/.kiwibox/logs'))).toBe(false);
  });
});
