/**
 * `kiwibox boxbuild`: the upstream command line maps onto a box step and a boxed build, and bad
 * arguments are reported against the command line with exit code 2.
 */
import { describe, expect, it } from 'vitest';
import { boxbuildProject } from '../../src/cli/commands/boxbuild.js';
import { MINIMAL_KIWI, TempProject } from '../support/project.js';

describe('kiwibox boxbuild', () => {
  it('maps the upstream options onto a box and a boxed build', () => {
    const p = new TempProject();
    try {
      p.write({ 'desc/config.xml': MINIMAL_KIWI });
      const { project, failures } = boxbuildProject({
        opts: {
          box: 'tumbleweed',
          boxMemory: '4G',
          boxSmpCpus: '2',
          virtiofsSharing: true,
          aarch64: true,
          snapshot: false,
          updateCheck: false,
        },
        buildArgs: [
          '--type',
          'oem',
          '--description',
          'desc',
          '--target-dir=out',
          '--profile',
          'Small',
          '--add-package',
          'vim',
        ],
        cwd: p.dir,
        argv: ['kiwibox', 'boxbuild'],
      });
      expect(failures).toEqual([]);
      expect(project.steps.get('box')).toMatchObject({
        kind: 'box',
        source: 'official',
        name: 'tumbleweed',
        memory: '4G',
        cpus: 2,
        arch: 'aarch64',
        raw: { 'update-check': false, snapshot: false },
      });
      expect(project.steps.get('build')).toMatchObject({
        kind: 'build',
        box: 'box',
        description: p.path('desc'),
        targetDir: p.path('out'),
        type: 'oem',
        profiles: ['Small'],
        kiwiArgs: ['--add-package', 'vim'],
        sharing: 'virtiofs',
        deps: ['box'],
      });
    } finally {
      p.remove();
    }
  });

  it('reports bad arguments against the command line and exits 2', async () => {
    const p = new TempProject();
    try {
      p.write({ 'desc/config.xml': MINIMAL_KIWI });
      const result = await p.kiwibox([
        'boxbuild',
        '--box',
        'leap',
        '--',
        '--description',
        'desc',
        '--target-dir',
        'out',
        '--type',
        'iso',
        'a"b',
      ]);
      expect(result.exitCode).toBe(2);
      expect(result.stderr).toContain("<command line>:1:75: error[unknown-type]: type 'iso' is not declared");
      expect(result.stderr).toContain('error[kernel-cmdline]: the box protocol cannot carry a double quote');
      const missing = await p.kiwibox(['boxbuild', '--box', 'leap', '--', '--description', 'desc']);
      expect(missing.exitCode).toBe(2);
      expect(missing.stderr).toContain('error[missing-option]: give exactly one --target-dir after --');
    } finally {
      p.remove();
    }
  });
});
