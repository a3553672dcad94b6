/**
 * The bundled box list, in the upstream `kiwi_boxed_plugin.yml` format (OSInside/kiwi-boxed-plugin,
 * `kiwi_boxed_plugin/config/kiwi_boxed_plugin.yml`, static OBS link names since upstream PR #81).
 * Kept as a string so it ships inside the compiled module (no data file to copy next to dist/).
 *
 * Differences from upstream's copy: the tumbleweed aarch64 entry names the aarch64 files (upstream's
 * lists the x86_64 ones, a copy-paste slip); `staging` is left out (its file names are not known
 * here); and the `container` images of upstream's --container mode are left out (kiwibox only boots
 * VMs, and names no container registry host). A user registry (KIWIBOX_BOX_REGISTRY or the box
 * step's `registry:`) can add or replace boxes.
 */
const PROJECT = 'obs://Virtualization:Appliances:SelfContained';

interface ArchSpec {
  readonly arch: string;
  readonly root: string;
  readonly selinux: boolean;
}

function boxYaml(box: string, prefix: string, arches: readonly ArchSpec[]): string {
  const archYaml = arches
    .map(
      (a) => `      - name: ${a.arch}
        cmdline:
          - root=${a.root}
          - rd.plymouth=0${a.selinux ? '\n          - selinux=0' : ''}
        source: ${PROJECT}:${box}/images
        packages_file: ${prefix}-Box.${a.arch}-System.json
        boxfiles:
          - ${prefix}-Box.${a.arch}-Kernel.tar.xz
          - ${prefix}-Box.${a.arch}-System.qcow2
        use_initrd: true
`,
    )
    .join('');
  return `  - name: ${box}
    mem_mb: 8096M
    processors: 4
    console: hvc0
    arch:
${archYaml}`;
}

/** The default registry text (YAML, upstream format). */
export const DEFAULT_REGISTRY_YAML: string = `box:
${[
  boxYaml('tumbleweed', 'TumbleWeed', [
    { arch: 'x86_64', root: '/dev/vda3', selinux: false },
    { arch: 'aarch64', root: '/dev/vda2', selinux: true },
    { arch: 's390x', root: '/dev/vda1', selinux: true },
  ]),
  boxYaml('leap', 'Leap', [{ arch: 'x86_64', root: '/dev/vda1', selinux: false }]),
  boxYaml('fedora', 'Fedora', [{ arch: 'x86_64', root: '/dev/vda3', selinux: true }]),
  boxYaml('ubuntu', 'Ubuntu', [
    { arch: 'x86_64', root: '/dev/vda3', selinux: true },
    { arch: 'aarch64', root: '/dev/vda2', selinux: true },
  ]),
  boxYaml('universal', 'Universal', [
    { arch: 'x86_64', root: '/dev/vda3', selinux: true },
    { arch: 'aarch64', root: '/dev/vda2', selinux: true },
    { arch: 's390x', root: '/dev/vda1', selinux: true },
    { arch: 'ppc64le', root: '/dev/vda2', selinux: true },
  ]),
].join('')}`;

/**
 * Default download server for `obs://` sources (kiwi's own default, OBS's download host; it serves the
 * box images, not a package mirror kiwibox installs from). Override with KIWIBOX_BOX_BASE_URL.
 */
export const DEFAULT_OBS_BASE_URL = 'https://download.opensuse.org/repositories';
