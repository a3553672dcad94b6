/**
 * The texts of kiwibox's partx shim and of the probe that decides whether a kiwi-ng run needs it (see
 * executors/kiwi/partx-shim.ts for the rule): shared by host runs and the host box's guest init.
 */
export const PARTX_SHIM_NAME = 'partx-blkpg-shim';

/** The shim itself; its name on disk is PARTX_SHIM_NAME, `partx` only as a symlink on PATH. */
export const PARTX_SHIM = `#!/bin/sh
# ${PARTX_SHIM_NAME}: written by kiwibox for kiwi-ng runs where parted has already registered the
# partitions (through BLKPG, or the kernel's rescan), so kiwi's partx --add would fail: --update adds
# or keeps them. Everything else goes to the real partx.
if [ "\${1:-}" = "--add" ]; then
  shift
  echo "${PARTX_SHIM_NAME}: partx --update $*" >&2
  exec /usr/bin/partx --update "$@"
fi
exec /usr/bin/partx "$@"
`;

/** The same probe as a shell function for the host box guest: prints `yes` when the shim is needed. */
export const PARTX_PROBE = `partx_probe() {
  f=/tmp/kiwibox-partprobe.img
  rm -f "$f" && truncate -s 4M "$f" || return 0
  d=$(losetup --find --show "$f") || { rm -f "$f"; return 0; }
  n=\${d#/dev/}
  parted -s "$d" mklabel msdos mkpart primary 2048s 100% >/dev/null 2>&1 && [ -e "/sys/block/$n/\${n}p1" ] && echo yes
  losetup --detach "$d"; rm -f "$f"
}`;
