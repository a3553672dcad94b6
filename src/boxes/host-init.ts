/**
 * /init of the host box initramfs (busybox-static + modules). It speaks the official boxes' guest
 * protocol (their run_kiwi): build arguments in kiwi="…" on the kernel command line, `name=_value_`
 * variables (sharing_backend, custom_mount), `kiwi-no-halt`, mount tags kiwidescription → /description,
 * kiwibundle → /bundle, custompath → $custom_mount, results in /bundle/result.code and result.log.
 *
 * Unlike an official box it has no root disk: it builds a root on tmpfs from the host's /usr (tag
 * `hostusr`, read-only) and /etc (tag `hostetc`, read-only, with a tmpfs overlay so tools can write),
 * and runs the host's own kiwi-ng there with chroot. kiwi builds into /result on that tmpfs (guest
 * RAM), then bundles into /bundle, as run_kiwi does.
 */
import { PARTX_PROBE, PARTX_SHIM, PARTX_SHIM_NAME } from '../kiwi/partx-shim.js';

/**
 * kiwi's `result bundle` renames the results (VERSION becomes VERSION-ID) and writes no
 * kiwi.result.json, so the host could only guess which bundled file is the disk. This writes one for
 * the bundle, through kiwi's own Result object and its bundle naming rule (no `bundle_format`).
 */
const BUNDLE_RESULT_PY = `import json, os
from kiwi.system.result import Result
result = Result.load('/result/kiwi.result')
results = result.get_results()
if 'bundle_format' in results:
    raise SystemExit(1)
name = result.xml_state.xml_data.get_name()
version = result.xml_state.get_image_version()
bundled = {}
for key, item in results.items():
    if not item.use_for_bundle:
        continue
    head, sep, tail = os.path.basename(item.filename).partition(name)
    path = '/bundle/' + head + sep + tail.replace(version, version + '-0')
    if item.compress and not os.path.exists(path):
        path += '.xz'
    if os.path.exists(path):
        bundled[key] = dict(filename=path, use_for_bundle=True, compress=item.compress, shasum=item.shasum)
if not bundled:
    raise SystemExit(1)
with open('/bundle/kiwi.result.json', 'w') as out:
    json.dump(bundled, out, sort_keys=True, indent=4)
`;

export const HOST_INIT = `#!/bin/busybox sh
export PATH=/bin HOME=/root TERM=dumb
mount -t devtmpfs devtmpfs /dev
exec 0</dev/console 1>/dev/console 2>&1   # the archive has no /dev/console (built as non-root)
stty -onlcr 2>/dev/null
mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t tmpfs tmpfs /tmp
say() { echo "hostbox: $*"; }
R=/newroot
no_halt=
finish() {
  sync
  for m in $(tac /proc/mounts 2>/dev/null | cut -d' ' -f2 | grep "^$R"); do umount -l "$m" 2>/dev/null; done
  if [ -n "$no_halt" ]; then say "kiwi-no-halt: not powering off"; exec sh; fi
  poweroff -f
}

while read -r m; do insmod "/lib/modules/$m.ko" || say "insmod $m failed"; done < /lib/modules/load-order

cmdline=$(cat /proc/cmdline)
args=
case "$cmdline" in *'"'*'"'*) args=\${cmdline#*\\"}; args=\${args%%\\"*} ;; esac
set -f
for tok in $cmdline; do
  case "$tok" in
    kiwi-no-halt) no_halt=1 ;;
    *=_*_) n=\${tok%%=_*}; v=\${tok#*=_}; v=\${v%_}
           case "$n" in ''|*[!A-Za-z0-9_]*) ;; *) export "$n=$v" ;; esac ;;
  esac
done
set +f

mnt() {  # TAG DIR [ro [9p-cache-mode]]
  mkdir -p "$2"
  case "\${sharing_backend:-9p}" in
    9p) mount -t 9p -o "trans=virtio,version=9p2000.L,msize=512000\${3:+,ro}\${4:+,cache=$4}" "$1" "$2" ;;
    virtiofs) mount -t virtiofs \${3:+-o ro} "$1" "$2" ;;
    *) say "sharing backend \${sharing_backend} is not supported by the host box"; return 1 ;;
  esac
}

mkdir -p $R && mount -t tmpfs -o mode=0755 tmpfs $R || { say "cannot mount the root tmpfs"; finish; }
mnt hostusr $R/usr ro loose || { say "cannot mount the host /usr (tag hostusr)"; finish; }
for d in bin sbin lib lib32 lib64 libx32; do [ -e $R/usr/$d ] && ln -s usr/$d $R/$d; done
mkdir -p /hostetc /etc-rw && mnt hostetc /hostetc ro loose || { say "cannot mount the host /etc (tag hostetc)"; finish; }
mount -t tmpfs tmpfs /etc-rw && mkdir -p /etc-rw/upper /etc-rw/work $R/etc
mount -t overlay overlay -o lowerdir=/hostetc,upperdir=/etc-rw/upper,workdir=/etc-rw/work $R/etc \\
  || { say "no overlay on /etc: read-only"; mount --bind /hostetc $R/etc; }
for d in proc sys dev tmp run var/tmp var/cache var/lib root result; do mkdir -p $R/$d; done
mount -t proc proc $R/proc; mount -t sysfs sysfs $R/sys; mount -t devtmpfs devtmpfs $R/dev
mkdir -p $R/dev/pts $R/dev/shm && mount -t devpts devpts $R/dev/pts; mount -t tmpfs tmpfs $R/dev/shm
mount -t tmpfs tmpfs $R/tmp; mount -t tmpfs tmpfs $R/run; chmod 1777 $R/tmp $R/var/tmp
if ip link set eth0 up 2>/dev/null; then   # user networking (slirp) defaults, when the box has a NIC
  ip link set lo up; ip addr add 10.0.2.15/24 dev eth0; ip route add default via 10.0.2.2
  rm -f $R/etc/resolv.conf; echo "nameserver 10.0.2.3" > $R/etc/resolv.conf 2>/dev/null
fi

mnt kiwidescription $R/description || { say "cannot mount kiwidescription"; finish; }
mnt kiwibundle $R/bundle || { say "cannot mount kiwibundle"; finish; }
if [ -n "\${custom_mount:-}" ]; then mnt custompath "$R$custom_mount" || { say "cannot mount custompath"; finish; }; fi

shim_path=
run() { chroot $R /usr/bin/env -i PATH=\${shim_path}/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin HOME=/root LANG=C.UTF-8 "$@" </dev/null; }
# kiwi's partx --add fails where parted has registered the partitions already: probe as partx-shim.ts does
cat > $R/run/kiwibox-partprobe.sh <<'PROBE'
${PARTX_PROBE}
partx_probe
PROBE
if [ "$(run sh /run/kiwibox-partprobe.sh 2>/dev/null)" = yes ]; then
  mkdir -p $R/run/kiwibox-shims/bin
  cat > $R/run/kiwibox-shims/${PARTX_SHIM_NAME} <<'SHIM'
${PARTX_SHIM}SHIM
  chmod 755 $R/run/kiwibox-shims/${PARTX_SHIM_NAME}
  ln -s ../${PARTX_SHIM_NAME} $R/run/kiwibox-shims/bin/partx
  shim_path=/run/kiwibox-shims/bin:
  say "parted registers partitions here, so partx --add would fail: ${PARTX_SHIM_NAME} is first on PATH"
fi
echo 1 > $R/bundle/result.code
: > $R/bundle/result.log
say "kiwi-ng $args (uptime $(cut -d" " -f1 /proc/uptime) s)"
set -f
# shellcheck disable=SC2086 # the build arguments are split on spaces, as run_kiwi does
run kiwi-ng --logfile /bundle/result.log $args --description /description --target-dir /result
rc=$?
set +f
echo "$rc" > $R/bundle/result.code
if [ "$rc" = 0 ]; then
  run kiwi-ng result bundle --id 0 --target-dir /result --bundle-dir /bundle
  echo "$?" > $R/bundle/result.code
  cat > $R/run/kiwibox-bundle-result.py <<'PY'
${BUNDLE_RESULT_PY}PY
  run python3 /run/kiwibox-bundle-result.py || say "wrote no kiwi.result.json for the bundle"
fi
say "result.code=$(cat $R/bundle/result.code) (uptime $(cut -d" " -f1 /proc/uptime) s)"
finish
`;
