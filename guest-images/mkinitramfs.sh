#!/usr/bin/env bash
# A reproducible busybox initramfs: fixed mtimes, sorted entries, gzip without a timestamp.
set -euo pipefail
umask 022 # modes in the archive must not depend on the caller's umask
here=$(cd "$(dirname "$0")" && pwd)
hvprobe=$1 out=$2 modules=${3:-}
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,etc,tests}
[ -x /bin/busybox ] || { echo "mkinitramfs: /bin/busybox missing (apt-get install busybox-static)" >&2; exit 1; }
cp /bin/busybox "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list); do
    [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
done
install -m 0755 "$here/init" "$root/init"
install -m 0755 "$hvprobe" "$root/bin/hvprobe"
install -m 0755 "$here"/scenarios/*.sh "$root/tests/"
mkdir -p "$root/tests/lib"
install -m 0644 "$here"/scenarios/lib/*.sh "$root/tests/lib/"
if [ -n "$modules" ]; then
    mkdir -p "$root/lib/modules/postern"
    install -m 0644 "$modules"/*.ko "$root/lib/modules/postern/"
    # text hashes the attack suite claims (gtest.sha256)
    for f in "$modules"/*.sha256; do [ -e "$f" ] && install -m 0644 "$f" "$root/lib/modules/postern/"; done
    # the stock (not christoized) drivers, the e1000 with its leaf functions absorbed and gtest1 ... gtestN, under
    # their own names
    for sub in stock absorbed many; do
        [ -d "$modules/$sub" ] || continue
        mkdir -p "$root/lib/modules/postern/$sub"
        install -m 0644 "$modules/$sub"/*.ko "$root/lib/modules/postern/$sub/"
    done
fi
find "$root" -exec touch -h -d @0 {} +
(cd "$root" && find . -print0 | LC_ALL=C sort -z | cpio --null --reproducible -R 0:0 -H newc -o --quiet) | gzip -n -9 > "$out"
echo "  INITRD  $out ($(du -k "$out" | cut -f1) KiB)"
