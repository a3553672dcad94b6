/**
 * The boot test's fingerprint follows the firmware it boots with: a UEFI test holds the OVMF files'
 * sha256, so a firmware update boots the image again; a BIOS test does not depend on OVMF at all.
 */
import { writeFileSync } from 'node:fs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { loadProject } from '../../src/config/load.js';
import type { BootTestStep } from '../../src/core/model.js';
import { bootTestExecutor } from '../../src/executors/boot/boot-test.js';
import { MINIMAL_KIWI, TempProject } from '../support/project.js';

const project = new TempProject().write({
  'kiwibox.yaml': [
    'version: 1',
    'builds:',
    '  disk: {description: desc, target-dir: out/disk}',
    'boot-tests:',
    '  efi: {image: disk, expect: [x], firmware: uefi}',
    '  bios: {image: disk, expect: [x], firmware: bios}',
    '',
  ].join('\n'),
  'desc/config.xml': MINIMAL_KIWI.replace(
    '<type image="oem" primary="true"/>',
    '<type image="oem" primary="true" firmware="efi"/>',
  ),
  'ovmf/OVMF_CODE_4M.fd': 'code v1',
  'ovmf/OVMF_VARS_4M.fd': 'vars v1',
});
afterAll(() => project.remove());
afterEach(() => {
  delete process.env.KIWIBOX_OVMF_DIR;
});

async function extraOf(id: string): Promise<Record<string, string>> {
  const loaded = await loadProject({ file: project.path('kiwibox.yaml'), cache: false, env: {} });
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.error));
  const { project: p } = loaded.value;
  const step = p.steps.get(id) as BootTestStep;
  const extra = await bootTestExecutor.extra?.(step, { project: p, signal: new AbortController().signal });
  if (!extra?.ok) throw new Error(JSON.stringify(extra));
  return extra.value;
}

describe('boot-test fingerprint', () => {
  it('holds the OVMF files of a UEFI boot, and changes when the firmware does', async () => {
    process.env.KIWIBOX_OVMF_DIR = project.path('ovmf');
    const before = await extraOf('efi');
    expect(before.firmware).toBe('uefi');
    expect(before['ovmf-code']).toMatch(/^[0-9a-f]{64}$/);
    writeFileSync(project.path('ovmf/OVMF_CODE_4M.fd'), 'code v2');
    const after = await extraOf('efi');
    expect(after['ovmf-code']).not.toBe(before['ovmf-code']);
    expect(after['ovmf-vars']).toBe(before['ovmf-vars']);
  });

  it('leaves OVMF out of a BIOS boot', async () => {
    process.env.KIWIBOX_OVMF_DIR = project.path('ovmf');
    expect(await extraOf('bios')).toEqual({ firmware: 'bios' });
  });
});
