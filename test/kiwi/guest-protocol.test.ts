import { describe, expect, it } from 'vitest';
import { boxedKiwiArgs } from '../../src/executors/qemu/boxed-build.js';
import { buildGuestCmdline, checkGuestArgs, KERNEL_CMDLINE_MAX } from '../../src/kiwi/guest-protocol.js';

describe('buildGuestCmdline', () => {
  it('writes the box parameters, kiwi="…", kiwi-no-halt and name=_value_ variables', () => {
    const result = buildGuestCmdline({
      boxCmdline: 'console=hvc0 root=/dev/vda3',
      kiwiArgs: ['--type=oem', 'system', 'build', '--add-package=vim'],
      variables: { custom_mount: '/srv/repo', sharing_backend: '9p' },
      noHalt: true,
    });
    expect(result).toEqual({
      ok: true,
      value:
        'console=hvc0 root=/dev/vda3 kiwi="--type=oem system build --add-package=vim" kiwi-no-halt custom_mount=_/srv/repo_ sharing_backend=_9p_',
    });
  });

  it('rejects a double quote and whitespace in an argument (reason kernel-cmdline), naming each', () => {
    const result = buildGuestCmdline({
      boxCmdline: 'console=ttyS0',
      kiwiArgs: ['system', 'build', '--add-package=a"b', '--set-container-tag=a b'],
      step: 'img',
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.map((f) => [f.reason, f.step])).toEqual([
      ['kernel-cmdline', 'img'],
      ['kernel-cmdline', 'img'],
    ]);
    expect(result.error[0]?.message).toContain('a"b');
    expect(checkGuestArgs({ kiwiArgs: ['system', 'build', '--add-package=vim'] })).toEqual([]);
  });

  it('accepts a command line of exactly 2047 bytes and rejects 2048', () => {
    const base = 'console=ttyS0 kiwi="system build --add-package=" sharing_backend=_9p_';
    const fill = (n: number) => 'x'.repeat(n - base.length);
    const at = (n: number) =>
      buildGuestCmdline({
        boxCmdline: 'console=ttyS0',
        kiwiArgs: ['system', 'build', `--add-package=${fill(n)}`],
        variables: { sharing_backend: '9p' },
      });
    const okResult = at(KERNEL_CMDLINE_MAX);
    expect(okResult.ok && Buffer.byteLength(okResult.value)).toBe(2047);
    const tooLong = at(KERNEL_CMDLINE_MAX + 1);
    expect(tooLong.ok).toBe(false);
    if (!tooLong.ok) expect(tooLong.error[0]?.message).toMatch(/2048 bytes/);
  });

  it('rejects variable values the guest would split or misread', () => {
    const result = buildGuestCmdline({
      boxCmdline: '',
      kiwiArgs: ['system', 'build'],
      variables: { custom_mount: '/a b' },
    });
    expect(result.ok).toBe(false);
  });
});

describe('boxedKiwiArgs', () => {
  it('puts type, profiles and global options before system build, build options after', () => {
    expect(
      boxedKiwiArgs({ type: 'oem', profiles: ['a', 'b'], kiwiArgs: ['--add-package', 'vim', '--debug'] }),
    ).toEqual([
      '--type=oem',
      '--profile=a',
      '--profile=b',
      '--debug',
      'system',
      'build',
      '--add-package=vim',
    ]);
  });
});
