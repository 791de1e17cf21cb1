#!/usr/bin/env bash
# Copies a NativeAOT maas binary and exactly the shared libraries `ldd` lists for it into a root
# file system folder, for images built FROM scratch (no distribution, no shell, no package manager).
#   collect-rootfs.sh BINARY ROOTFS
set -euo pipefail
binary=$1
rootfs=$2
mkdir -p "$rootfs/usr/local/bin" "$rootfs/tmp" "$rootfs/etc"
chmod 1777 "$rootfs/tmp"
cp "$binary" "$rootfs/usr/local/bin/maas"
# Every absolute path ldd prints: the libraries and the dynamic loader itself.
for lib in $(ldd "$binary" | grep -oE '/[^ ]+' | sort -u); do
  mkdir -p "$rootfs$(dirname "$lib")"
  cp -L "$lib" "$rootfs$lib"
done
# A minimal passwd/group so the non-root user has a name in logs and tools.
echo "maas:x:65532:65532:maas:/tmp:/usr/local/bin/maas" > "$rootfs/etc/passwd"
echo "maas:x:65532:" > "$rootfs/etc/group"
