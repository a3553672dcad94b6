#!/bin/sh
# Packs a tiny root (the host's static busybox and what kiwi's tbz flow reads) into the tar $1.
set -eu
out=$1
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/etc" "$root/var/lib/dpkg" "$root/usr/share/doc"
cp /bin/busybox "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
: > "$root/var/lib/dpkg/status"
echo 'root:x:0:0:root:/root:/bin/sh' > "$root/etc/passwd"
echo 'root:x:0:' > "$root/etc/group"
tar -C "$root" --owner=0 --group=0 -cf "$out.tmp" .
mv "$out.tmp" "$out"
