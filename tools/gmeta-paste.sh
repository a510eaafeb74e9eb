#!/bin/sh
# Prints FILE as a block to paste into Postern's admin shell (docs/admin-shell.md, "Pasting metadata"):
#   paste SIZE SUM
#   <base64, 64 characters a line>
#   end
# SIZE is the file's length in bytes, SUM the first 16 hex digits of its SHA-256. Coreutils only.
# Usage: tools/gmeta-paste.sh FILE     e.g. tools/gmeta-paste.sh out/e1000.gmeta | xclip
set -eu
if [ $# -ne 1 ] || [ "$1" = "-h" ] || [ "$1" = "--help" ]; then
    echo "usage: $0 FILE   (prints 'paste SIZE SUM', the file in base64, 'end')" >&2
    exit 2
fi
f=$1
[ -f "$f" ] && [ -r "$f" ] || { echo "$0: $f: not a readable file" >&2; exit 1; }
size=$(stat -c %s -- "$f")
max=1048576   # PASTE_MAX in hv/console/paste.h
if [ "$size" -eq 0 ] || [ "$size" -gt "$max" ]; then
    echo "$0: $f: $size bytes; the shell takes 1 to $max" >&2
    exit 1
fi
sum=$(sha256sum -- "$f" | cut -c1-16)
echo "paste $size $sum"
base64 -w 64 -- "$f"
echo "end"
