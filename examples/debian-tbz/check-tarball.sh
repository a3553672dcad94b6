#!/bin/sh
# Checks the built tarball: it must list a Debian root with our overlay file, then records a summary.
set -eu
dir=$1
tarball=$(ls "$dir"/*.tar.xz)
tar -tJf "$tarball" > "$dir/../contents.txt"
grep -qx 'etc/debian_version' "$dir/../contents.txt"
grep -qx 'etc/motd' "$dir/../contents.txt"
tar -xJOf "$tarball" etc/motd | grep -q kiwibox
echo "$(basename "$tarball"): $(wc -l < "$dir/../contents.txt") entries, Debian $(tar -xJOf "$tarball" etc/debian_version)" > "$dir/../check.txt"
cat "$dir/../check.txt"
