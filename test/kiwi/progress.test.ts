/** kiwi-ng's own log lines (kiwi 9.24, a Debian oem build) → step-progress phases. */
import { describe, expect, it } from 'vitest';
import { type KiwiPhase, KiwiProgress } from '../../src/kiwi/progress.js';

const LOG = [
  '[ INFO    ]: 20:28:28 | Preparing new root system',
  '[ INFO    ]: 20:28:29 | Setting up repository http://deb.debian.org/debian',
  '[ INFO    ]: 20:28:29 | Installing bootstrap packages',
  '[ DEBUG   ]: 20:29:15 | bootstrap: I: Retrieving coreutils 9.1-1',
  '[ INFO    ]: 20:34:08 | Installing system (chroot) for build type: oem',
  '[ DEBUG   ]: 20:34:24 | system: 0 upgraded, 3 newly installed, 0 to remove and 0 not upgraded.',
  '[ DEBUG   ]: 20:34:30 | system: Unpacking udev (252.39-1~deb12u1) ...',
  '[ DEBUG   ]: 20:34:37 | system: Setting up libargon2-1:amd64 (0~20171227-0.3+deb12u1) ...',
  '[ DEBUG   ]: 20:34:37 | system: Setting up libjson-c5:amd64 (0.16-2) ...',
  '[ DEBUG   ]: 20:34:38 | system: Setting up udev (252.39-1~deb12u1) ...',
  '[ DEBUG   ]: 20:34:38 | system: Setting up initramfs-tools (0.142) ...',
  '[ INFO    ]: 20:36:50 | Calling config.sh script',
  '[ INFO    ]: 20:36:55 | Creating system image',
  '[ INFO    ]: 20:36:55 | Preparing boot system',
  '[ INFO    ]: 20:37:00 | Creating raw disk image /x/kiwibox-test-oem.x86_64-1.0.0.raw',
  '[ INFO    ]: 20:37:05 | Creating root(ext4) filesystem on /dev/loop0p1',
  '[ INFO    ]: 20:37:05 | Creating generic dracut initrd archive',
  '[ INFO    ]: 20:38:05 | Syncing system to image',
  '[ INFO    ]: 20:38:10 | Creating grub2 bootloader configuration',
  '[ INFO    ]: 20:38:12 | Creating qcow2 Disk Format',
  '[ INFO    ]: 20:38:20 | Result files:',
];

function phases(lines: readonly string[]): KiwiPhase[] {
  const progress = new KiwiProgress();
  return lines.flatMap((line) => progress.feed(line) ?? []);
}

describe('kiwi progress', () => {
  it('names the phases of an oem build and counts apt packages n/m', () => {
    expect(phases(LOG)).toEqual([
      { phase: 'prepare' },
      { phase: 'bootstrap' },
      { phase: 'packages' },
      { phase: 'packages', detail: '0/3' },
      { phase: 'packages', detail: '1/3' },
      { phase: 'packages', detail: '2/3' },
      { phase: 'packages', detail: '3/3' },
      { phase: 'config' },
      { phase: 'image' },
      { phase: 'disk' },
      { phase: 'initrd' },
      { phase: 'disk', detail: 'copying root' },
      { phase: 'disk', detail: 'bootloader' },
      { phase: 'format' },
      { phase: 'results' },
    ]);
  });

  it('never goes back: an INFO line seen again later (stdout and log file) changes nothing', () => {
    const progress = new KiwiProgress();
    for (const line of LOG.slice(0, 16)) progress.feed(line);
    expect(progress.feed('[ INFO    ]: 20:28:29 | Installing bootstrap packages')).toBeUndefined();
    expect(
      progress.feed('[ INFO    ]: 20:34:08 | Installing system (chroot) for build type: oem'),
    ).toBeUndefined();
  });

  it('takes only counts from a second source (the debug log), never phases', () => {
    const progress = new KiwiProgress();
    progress.feed(LOG[4] as string);
    expect(progress.feed(LOG[11] as string, { phases: false })).toBeUndefined();
    expect(progress.feed(LOG[5] as string, { phases: false })).toEqual({ phase: 'packages', detail: '0/3' });
    expect(progress.feed(LOG[7] as string, { phases: false })).toEqual({ phase: 'packages', detail: '1/3' });
  });

  it('reports nothing for lines that are not kiwi phases', () => {
    expect(
      phases(['hello', 'Setting up repository http://x', '[ DEBUG ] system: Setting up a (1) ...']),
    ).toEqual([]);
  });
});
