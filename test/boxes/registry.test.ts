import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  boxBaseUrl,
  defaultRegistry,
  findBox,
  loadRegistry,
  parseRegistry,
  resolveSource,
} from '../../src/boxes/registry.js';

describe('box registry', () => {
  it('ships the upstream boxes with their static OBS file names', () => {
    const reg = defaultRegistry();
    expect(reg.boxes.map((b) => b.name)).toEqual(['tumbleweed', 'leap', 'fedora', 'ubuntu', 'universal']);
    const leap = findBox(reg, 'leap', 'x86_64');
    expect(leap.ok).toBe(true);
    if (!leap.ok) return;
    expect(leap.value.box).toMatchObject({ memory: '8096M', processors: 4, console: 'hvc0' });
    expect(leap.value.arch).toMatchObject({
      cmdline: ['root=/dev/vda1', 'rd.plymouth=0'],
      source: 'obs://Virtualization:Appliances:SelfContained:leap/images',
      packagesFile: 'Leap-Box.x86_64-System.json',
      boxfiles: ['Leap-Box.x86_64-Kernel.tar.xz', 'Leap-Box.x86_64-System.qcow2'],
      useInitrd: true,
    });
    const tw = findBox(reg, 'tumbleweed', 'aarch64');
    expect(tw.ok && tw.value.arch.boxfiles[0]).toBe('TumbleWeed-Box.aarch64-Kernel.tar.xz');
  });

  it('names what exists when a box or arch is unknown', () => {
    const missing = findBox(defaultRegistry(), 'nosuch', 'x86_64');
    expect(missing.ok).toBe(false);
    if (!missing.ok) expect(missing.error[0]).toMatchObject({ reason: 'unknown-box' });
    const arch = findBox(defaultRegistry(), 'leap', 'aarch64');
    expect(!arch.ok && arch.error[0]?.reason).toBe('box-arch-unavailable');
  });

  it('resolves obs:// sources like kiwi (every : becomes :/) under a configurable base', () => {
    expect(
      resolveSource('obs://Virtualization:Appliances:SelfContained:leap/images', 'http://127.0.0.1:1/repos/'),
    ).toEqual({
      ok: true,
      value: 'http://127.0.0.1:1/repos/Virtualization:/Appliances:/SelfContained:/leap/images/',
    });
    expect(resolveSource('http://127.0.0.1:2/boxes', 'ignored')).toEqual({
      ok: true,
      value: 'http://127.0.0.1:2/boxes/',
    });
    expect(resolveSource('ftp://x/y', 'b').ok).toBe(false);
    expect(boxBaseUrl({ env: { KIWIBOX_BOX_BASE_URL: 'http://127.0.0.1:9' } })).toBe('http://127.0.0.1:9');
    expect(boxBaseUrl({ env: {} })).toMatch(/^https:\/\//);
  });

  it('merges a user registry over the bundled one and validates it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiwibox-reg-'));
    try {
      const file = join(dir, 'kiwi_boxed_plugin.yml');
      writeFileSync(
        file,
        `box:
  - name: leap
    mem_mb: 2048
    console: ttyS0
    arch:
      - name: x86_64
        cmdline: [root=/dev/vda2]
        source: http://127.0.0.1:1/leap
        boxfiles: [L-Kernel.tar.xz, L.qcow2]
  - name: mine
    mem_mb: 1G
    console: hvc0
    arch:
      - name: aarch64
        cmdline: []
        source: obs://A:B/images
        boxfiles: [M-Kernel.tar.xz]
        use_initrd: false
`,
      );
      const reg = loadRegistry({ env: { KIWIBOX_BOX_REGISTRY: file } });
      expect(reg.ok).toBe(true);
      if (!reg.ok) return;
      expect(reg.value.boxes.map((b) => b.name)).toEqual([
        'tumbleweed',
        'fedora',
        'ubuntu',
        'universal',
        'leap',
        'mine',
      ]);
      const leap = findBox(reg.value, 'leap', 'x86_64');
      expect(leap.ok && leap.value.box.memory).toBe('2048M');
      expect(leap.ok && leap.value.box.processors).toBeUndefined();

      writeFileSync(
        file,
        'box:\n  - name: x\n    mem_mb: lots\n    console: 1\n    arch:\n      - name: m68k\n',
      );
      const bad = loadRegistry({ file });
      expect(bad.ok).toBe(false);
      if (!bad.ok) {
        expect(bad.error.every((f) => f.reason === 'bad-box-registry')).toBe(true);
        expect(bad.error.map((f) => f.message).join('\n')).toMatch(
          /mem_mb[\s\S]*console[\s\S]*m68k|mem_mb[\s\S]*arch\[0\]\.name/,
        );
      }
      expect(
        parseRegistry(
          'box:\n  - name: y\n    mem_mb: 1G\n    console: c\n    arch:\n      - name: x86_64\n        cmdline: []\n        source: s\n        boxfiles: [../evil]\n',
          'f',
        ).ok,
      ).toBe(false);
      expect(loadRegistry({ file: join(dir, 'absent.yml') }).ok).toBe(false);
      // Upstream's own locations: $KIWI_BOXED_PLUGIN_CFG, then ~/.config/kiwi/, then /etc.
      const upstream = join(dir, 'upstream.yml');
      writeFileSync(upstream, 'box:\n  - name: up\n    mem_mb: 1G\n    console: hvc0\n    arch: []\n');
      const viaUpstream = loadRegistry({ env: { KIWI_BOXED_PLUGIN_CFG: upstream } });
      expect(viaUpstream.ok && viaUpstream.value.boxes.at(-1)?.name).toBe('up');
      const skipped = loadRegistry({ env: { KIWI_BOXED_PLUGIN_CFG: upstream }, upstream: [] });
      expect(skipped.ok && skipped.value.boxes.at(-1)?.name).toBe('universal');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
