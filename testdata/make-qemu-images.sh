#!/usr/bin/env bash
# Makes a few small VHD images with qemu-img and qemu-io, as a worked example of
# how the interop test images are made (the tests make their own in temporary
# folders; nothing made here is committed).
#
#   testdata/make-qemu-images.sh OUT_DIR
#
# qemu-img's "vpc" format is VHD. Without force_size=on, qemu rounds the size
# up to a whole CHS geometry (like Virtual PC did), so a "64M" disk reports a
# little more than 64 MiB; with force_size=on the size is exactly what you ask.
# qemu-img cannot make differencing VHDs (it refuses a backing file for vpc).
set -euo pipefail

if [[ $# -ne 1 ]]; then
    echo "usage: $0 OUT_DIR" >&2
    exit 64
fi
out=$1
mkdir -p "$out"

for tool in qemu-img qemu-io; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "$0: $tool not found; run scripts/install-test-tools (Debian package qemu-utils)" >&2
        exit 1
    fi
done

# Quiet wrappers: only failures should be seen.
new_vhd() { qemu-img create -q -f vpc "$@"; }
fill() { qemu-io -f vpc -c "$2" "$1" >/dev/null; }

# 1. Empty dynamic disk: footer copy, dynamic header, BAT of unallocated
#    entries, footer; no data blocks.
new_vhd -o subformat=dynamic "$out/dynamic-empty.vhd" 64M

# 2. Dynamic disk with data in three blocks (qemu's block size is 2 MiB):
#    1 MiB of 0xab at 0, 4 KiB of 0xcd at 10 MiB, 512 bytes of 0xef in the
#    last sector that a 64M request surely has.
new_vhd -o subformat=dynamic "$out/dynamic-data.vhd" 64M
fill "$out/dynamic-data.vhd" 'write -P 0xab 0 1M'
fill "$out/dynamic-data.vhd" 'write -P 0xcd 10M 4k'
fill "$out/dynamic-data.vhd" 'write -P 0xef 67108352 512'

# 3. Dynamic disk of exactly 10 MiB (no CHS rounding), with a write that
#    crosses a block boundary (2 MiB - 4 KiB .. 2 MiB + 4 KiB).
new_vhd -o subformat=dynamic,force_size=on "$out/dynamic-forcesize.vhd" 10M
fill "$out/dynamic-forcesize.vhd" 'write -P 0x5a 2093056 8k'

# 4. Fixed disk: raw data followed by a 512-byte footer.
new_vhd -o subformat=fixed "$out/fixed.vhd" 16M
fill "$out/fixed.vhd" 'write -P 0x11 0 64k'

# Show what was made: each image with its virtual size.
for image in "$out"/*.vhd; do
    printf '%-28s %s\n' "$(basename "$image")" \
        "$(qemu-img info -f vpc "$image" | sed -n 's/^virtual size: //p')"
done
