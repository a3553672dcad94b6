/**
 * kiwi-ng's global options before the command (`kiwi-ng --type iso system boxbuild …` on the upstream
 * plugins page, typed as `kiwibox --type iso boxbuild …`), and the page's `--set-repo` without a type.
 */
import { describe, expect, it } from 'vitest';
import { boxbuildProject } from '../../src/cli/commands/boxbuild.js';
import { takeKiwiGlobals } from '../../src/cli/kiwi-globals.js';
import { MINIMAL_KIWI, TempProject } from '../support/project.js';

const DESCRIPTION = 'kiwi/build-tests/x86/leap/test-image-disk';
/** The upstream page's boxbuild example, with `kiwibox` for `kiwi-ng … system`. */
const PAGE_BOXBUILD = [
  '--type',
  'iso',
  'boxbuild',
  '--box',
  'leap',
  '--',
  '--description',
  DESCRIPTION,
  '--set-repo',
  'obs://openSUSE:Leap:15.3/standard',
  '--target-dir',
  'myimage',
];
const LEAP_KIWI = MINIMAL_KIWI.replace('<type image="tbz"/>', '<type image="iso"/>').replace(
  '<packages type="image">',
  '<repository type="rpm-md"><source path="obs://openSUSE:Leap:15.3/standard"/></repository>\n  <packages type="image">',
);

describe('kiwi-ng global options before the command', () => {
  it('are taken off the front for boxbuild, stash and stackbuild only', () => {
    expect(
      takeKiwiGlobals(['-C', 'dir', '--debug', '--profile=A', '--profile', 'B', 'stash', '--type', 'x']),
    ).toEqual({
      argv: ['-C', 'dir', 'stash', '--type', 'x'],
      globals: { profiles: ['A', 'B'], args: ['--debug'], typed: ['--debug', '--profile=A', '--profile B'] },
    });
    expect(takeKiwiGlobals(['--logfile', 'k.log', '--config=c.yml', 'stackbuild']).globals).toMatchObject({
      logfile: 'k.log',
      args: ['--config=c.yml'],
    });
    // Before kiwibox's own commands they stay, for commander to refuse.
    expect(takeKiwiGlobals(['--type', 'iso', 'run']).argv).toEqual(['--type', 'iso', 'run']);
  });

  it("map the page's boxbuild line onto the build step", () => {
    const p = new TempProject();
    try {
      p.write({ [`${DESCRIPTION}/config.xml`]: LEAP_KIWI });
      const { argv, globals } = takeKiwiGlobals(['--debug', ...PAGE_BOXBUILD]);
      const sep = argv.indexOf('--');
      const { project, failures } = boxbuildProject({
        opts: { box: 'leap', snapshot: true, updateCheck: true },
        buildArgs: argv.slice(sep + 1),
        kiwiGlobals: globals,
        cwd: p.dir,
        argv: ['kiwibox', '--debug', ...PAGE_BOXBUILD],
      });
      expect(failures).toEqual([]);
      expect(project.steps.get('build')).toMatchObject({
        type: 'iso',
        kiwiArgs: ['--debug', '--set-repo', 'obs://openSUSE:Leap:15.3/standard'],
      });
    } finally {
      p.remove();
    }
  });

  it("accepts the page's boxbuild command line as typed (the box download then fails: no network)", async () => {
    const p = new TempProject();
    try {
      p.write({ [`${DESCRIPTION}/config.xml`]: LEAP_KIWI });
      const result = await p.kiwibox(['--reporter', 'plain', ...PAGE_BOXBUILD], {
        KIWIBOX_BOX_STORE: p.path('store'),
        KIWIBOX_BOX_BASE_URL: 'http://127.0.0.1:9/',
      });
      expect(result.stderr).toBe('');
      expect(result.stdout).toMatch(/box: error\[download-failed\]: GET http:\/\/127\.0\.0\.1:9\//);
      expect(result.stdout).toMatch(/skip {2}build dependency box did not succeed/);
      expect(result.exitCode).toBe(1);
    } finally {
      p.remove();
    }
  });

  it('are refused before kiwibox commands, and a type given twice is refused', async () => {
    const p = new TempProject();
    try {
      p.write({ [`${DESCRIPTION}/config.xml`]: LEAP_KIWI });
      const run = await p.kiwibox(['--type', 'iso', 'run']);
      expect(run.stderr).toMatch(/^error: unknown option '--type'/);
      expect(run.exitCode).toBe(2);
      const twice = await p.kiwibox([...PAGE_BOXBUILD, '--type', 'oem']);
      expect(twice.stderr.split('\n')[0]).toBe(
        '<command line>:1:172: error[conflicting-option]: --type iso before boxbuild and --type oem after -- name the type twice: keep one',
      );
      expect(twice.exitCode).toBe(2);
    } finally {
      p.remove();
    }
  });
});
