#!/usr/bin/env bash
# x86-selftests.sh OUTDIR: Linux's own tools/testing/selftests/x86, from Debian's linux-source package
# (the source tarball the linux-source meta-package depends on), built static, 64- and 32-bit
# (gcc-multilib), stripped, into OUTDIR/x86-selftests.cpio.xz: an initramfs addition with the
# programs under /selftests/x86/. OUTDIR/initrd-selftests.img is OUTDIR/initrd.img with that addition
# appended (the kernel unpacks concatenated archives), so the normal initrd does not grow. The
# archive also carries the scenario that runs them (scenarios/x86-selftests.sh).
# The guest runs them with scenario x86-selftests (tests/x86-selftests/).
set -euo pipefail
out=$1
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
installed linux-source || { echo "x86-selftests: linux-source is not installed (make deps)" >&2; exit 1; }
pkg=$(dpkg-query -W -f='${Depends}' linux-source | grep -o 'linux-source-[0-9][^ ,]*' | head -n 1)
tarball=/usr/src/$pkg.tar.xz
[ -r "$tarball" ] || { echo "x86-selftests: $tarball missing although $pkg is installed" >&2; exit 1; }
here=$(cd "$(dirname "$0")" && pwd)
scenario=$here/scenarios/x86-selftests.sh
stamp="$pkg $(dpkg-query -W -f='${Version}' "$pkg") $(cat "$0" "$scenario" | sha256sum | cut -c1-16)"
if [ -f "$out/x86-selftests.cpio.xz" ] && [ "$(cat "$out/x86-selftests.stamp" 2>/dev/null)" = "$stamp" ]; then
    :
else
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    src=$pkg/tools/testing/selftests
    tar -C "$work" -xJf "$tarball" "$src/x86" "$src/lib.mk" "$src/kselftest.h" "$pkg/arch/x86/include/asm/desc_defs.h"
    mkdir -p "$work/bin"
    # The Makefile's own probe: a 32-bit build needs gcc-multilib (libc6-dev-i386).
    if ! (cd "$work/$src/x86" && [ "$(./check_cc.sh "gcc -static" trivial_32bit_program.c -m32)" = 1 ]); then
        echo "x86-selftests: gcc -m32 -static cannot link a program (gcc-multilib missing?): no 32-bit tests" >&2
        exit 1
    fi
    make -s -C "$work/$src/x86" OUTPUT="$work/bin" CC="gcc -static" -j2 > "$work/build.log" 2>&1 ||
        { tail -n 20 "$work/build.log" >&2; echo "x86-selftests: build failed" >&2; exit 1; }
    n=0
    for f in "$work"/bin/*; do
        { [ "$(head -c 4 "$f" | tail -c 3)" = ELF ] && ! readelf -l "$f" | grep -q INTERP; } ||
            { echo "x86-selftests: $f is no static ELF program" >&2; exit 1; }
        strip "$f"
        n=$((n + 1))
    done
    root=$work/root
    mkdir -p "$root/selftests/x86"
    install -m 0755 "$work"/bin/* "$root/selftests/x86/"
    mkdir -p "$root/tests" # the scenario too, so an initrd.img built before it still runs it
    install -m 0755 "$scenario" "$root/tests/"
    find "$root" -exec touch -h -d @0 {} +
    (cd "$root" && find . -print0 | LC_ALL=C sort -z | cpio --null --reproducible -R 0:0 -H newc -o --quiet) |
        xz -9 --check=crc32 > "$out/x86-selftests.cpio.xz"
    echo "$stamp" > "$out/x86-selftests.stamp"
    echo "  SELFTEST $n programs from $pkg: $out/x86-selftests.cpio.xz ($(du -k "$out/x86-selftests.cpio.xz" | cut -f1) KiB)"
fi
cat "$out/initrd.img" "$out/x86-selftests.cpio.xz" > "$out/initrd-selftests.img.tmp"
mv "$out/initrd-selftests.img.tmp" "$out/initrd-selftests.img"
