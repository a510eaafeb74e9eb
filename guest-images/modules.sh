#!/usr/bin/env bash
# modules.sh CHRISTOIZE OUTDIR — the guest's test modules, built against Debian's headers for the
# guest kernel (not the host's `uname -r`):
#   gevil.ko            an ordinary module playing the untrusted kernel (attack tests)
#   gtest.ko/.gmeta     the guarded test module, christoized for the `test` privilege
#   gtest-tampered.ko   gtest.ko with one byte of its text changed (registration must fail)
#   e1000.ko/.gmeta     Debian's own e1000 driver (Debian's linux-source), christoized for `nic`
#   absorbed/e1000.ko/.gmeta  the same e1000 with the leaf functions e1000.absorb lists absorbed
#                       (christoize build --absorb: they run inside the border, no crossing)
#   e1000e.ko/.gmeta    Debian's own e1000e driver (82574L etc.), christoized for `nic`
#   8139cp.ko, subpage/8139cp.gmeta   Debian's own RTL8139C+ driver (QEMU's rtl8139 is a C+), christoized for `nic` (its
#                       256-byte MMIO BAR is smaller than a page: the subpage-bar case, which alone puts
#                       the metadata on its ESP)
#   stock/e1000.ko, stock/e1000e.ko   the drivers as the guest kernel's package ships them (not christoized)
#   stock/mii.ko        the kernel's MII library, which 8139cp needs
#   two/e1000e.gmeta    e1000e's metadata asking for `nic2` (the guarded-two-devices case)
#   gnohv.ko            answers the wrappers' hypercalls when no hypervisor runs (DIRECT=1 tests)
#   gpoke.ko            an ordinary module poking the NIC's registers from outside its driver
#   gpeek.ko            an ordinary module reading every RTL8139's small BAR from outside its driver
#   gcpu.ko             an ordinary module running HWCR writes and INVD at CPL 0 (the invd case)
#   gdma.ko/.gmeta      the guarded DMA test module, christoized for `nic` (aims the NIC's DMA
#                       outside guest RAM)
#   gidle.ko/.gmeta     the guarded idle loop, christoized for `idle` (HLT/MWAIT natively while privileged)
#   gidleplain.ko       the same idle loop as an ordinary module (its HLTs exit: the comparison)
#   many/gtestN.ko/.gmeta  gtest's source as modules gtest1 ... gtest11, each christoized for `test`
#                       with a text of its own (the many-modules test)
#   gtest-v0.ko         an older gtest (another text, same module name) for the replay attack
#   gtest.sha256        gtest's text hash in hex (the attack suite's registration claiming it)
#   attacks/            metadata the attack suite (tests/attacks/) puts on the ESP: gtest-v0's, validly
#                       signed (replayed), with its signature forged, truncated; gtwin's, a second module
#                       name signed over gtest's text hash
#   sigtest/            metadata the signature tests put on the ESP (tests/integration/cases/sig-*):
#                       forged, signed with another key, truncated, unsigned, another module's, a copy,
#                       and an admin.pub that is no key
# Every .gmeta here is signed with $SIGN_KEY, the administrator's private key (christoize keygen;
# the top-level Makefile makes one in build/keys/).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
christoize=$1 out=$2
key=${SIGN_KEY:?modules.sh: SIGN_KEY (the administrator key .gmeta files are signed with) is not set}
[ -r "$key" ] || { echo "modules.sh: $key missing (christoize keygen --out $(dirname "$key"))" >&2; exit 1; }
ver=$(cat "$(dirname "$out")/kernel-release") # written by kernel.sh
kdir=/lib/modules/$ver/build
[ -d "$kdir" ] || { echo "modules.sh: $kdir missing (apt-get install linux-headers-$ver)" >&2; exit 1; }
rm -rf "$out" && mkdir -p "$out/src"

# plain NAME: an ordinary out-of-tree module from modules/NAME
plain() {
    cp -r "$here/modules/$1" "$out/src/"
    make -s -C "$kdir" M="$out/src/$1" modules >/dev/null 2> "$out/src/$1.log" ||
        { cat "$out/src/$1.log" >&2; exit 1; }
    cp "$out/src/$1/$1.ko" "$out/"
}
plain gevil
plain gnohv
plain gpoke
plain gpeek
plain gcpu
# gidleplain: gidle's source under another module name (its /proc file is /proc/gidleplain).
mkdir -p "$out/src/gidleplain"
cp "$here/modules/gidle/gidle.c" "$out/src/gidleplain/gidleplain.c"
echo 'obj-m += gidleplain.o' > "$out/src/gidleplain/Kbuild"
make -s -C "$kdir" M="$out/src/gidleplain" modules >/dev/null 2> "$out/src/gidleplain.log" ||
    { cat "$out/src/gidleplain.log" >&2; exit 1; }
cp "$out/src/gidleplain/gidleplain.ko" "$out/"

# gtest calls gevil_tamper (weakly): modpost needs gevil's symbol CRC for the kernel's modversions check.
KBUILD_EXTRA_SYMBOLS="$out/src/gevil/Module.symvers" "$christoize" build --module-dir "$here/modules/gtest" --name gtest --privilege test --kdir "$kdir" \
    --out "$out/gtest-build" > "$out/gtest-build.log" 2>&1 || { cat "$out/gtest-build.log" >&2; exit 1; }
cp "$out/gtest-build/gtest.ko" "$out/gtest-build/gtest.gmeta" "$out/"

# gtest1 ... gtest11 (the many-modules test: twelve guarded modules in one boot): gtest's source
# under other module names, GTEST_ID=N making each text (and hash) distinct, each christoized and
# signed like the others. Two at a time (christoize takes a few seconds each); under many/, so that
# only the case that wants them puts their metadata on the ESP (every /postern/*.gmeta is preloaded).
MANY_GTESTS=${MANY_GTESTS:-11}
many_gtest() {
    local n=gtest$1 src=$out/src/gtest$1
    mkdir -p "$src"
    cp "$here/modules/gtest/gtest.c" "$src/$n.c"
    printf 'obj-m += %s.o\nccflags-y += -DGTEST_ID=%s\n' "$n" "$1" > "$src/Kbuild"
    KBUILD_EXTRA_SYMBOLS="$out/src/gevil/Module.symvers" "$christoize" build --module-dir "$src" --name "$n" \
        --privilege test --kdir "$kdir" --sign "$key" --out "$out/$n-build" > "$out/$n-build.log" 2>&1 ||
        { cat "$out/$n-build.log" >&2; return 1; }
    # without debug information (the .text the hash covers is unchanged): 11 copies of gtest's
    # ~270 KiB would otherwise grow the initramfs every test boots
    objcopy --strip-debug "$out/$n-build/$n.ko" "$out/many/$n.ko"
    cp "$out/$n-build/$n.gmeta" "$out/many/"
}
mkdir -p "$out/many"
many_start=$(date +%s)
for i in $(seq 1 2 "$MANY_GTESTS"); do
    many_gtest "$i" & a=$!
    b=
    if [ "$i" -lt "$MANY_GTESTS" ]; then many_gtest $((i + 1)) & b=$!; fi
    wait "$a" || exit 1
    [ -z "$b" ] || wait "$b" || exit 1
done
# each its own text hash, none gtest's
hashes=$(for f in "$out/gtest-build/gtest.gmeta" "$out"/many/*.gmeta; do od -An -tx1 -j 24 -N 32 "$f" | tr -d ' \n'; echo; done)
[ "$(sort -u <<< "$hashes" | wc -l)" = $((MANY_GTESTS + 1)) ] ||
    { echo "modules.sh: two of gtest, gtest1 ... gtest$MANY_GTESTS share a text hash" >&2; exit 1; }
echo "  MODULES many/gtest1..gtest$MANY_GTESTS.ko/.gmeta ($(($(date +%s) - many_start)) s)"

# An older gtest: the same source with one more call in init (GTEST_V0), so another text hash under
# the same module name. Its validly signed metadata is what a replay would bring back.
mkdir -p "$out/src/gtest-v0"
cp "$here/modules/gtest/gtest.c" "$out/src/gtest-v0/"
printf 'obj-m += gtest.o\nccflags-y += -DGTEST_V0\n' > "$out/src/gtest-v0/Kbuild"
KBUILD_EXTRA_SYMBOLS="$out/src/gevil/Module.symvers" "$christoize" build --module-dir "$out/src/gtest-v0" --name gtest --privilege test \
    --kdir "$kdir" --sign "$key" --out "$out/gtest-v0-build" > "$out/gtest-v0-build.log" 2>&1 ||
    { cat "$out/gtest-v0-build.log" >&2; exit 1; }
cp "$out/gtest-v0-build/gtest.ko" "$out/gtest-v0.ko"
# gtest's text hash (.gmeta bytes 24..55, docs/gmeta.md), for a registration that claims it
od -An -tx1 -j 24 -N 32 "$out/gtest.gmeta" | tr -d ' \n' > "$out/gtest.sha256"
[ "$(od -An -tx1 -j 24 -N 32 "$out/gtest-v0-build/gtest.gmeta" | tr -d ' \n')" != "$(cat "$out/gtest.sha256")" ] ||
    { echo "modules.sh: gtest-v0 has gtest's text hash" >&2; exit 1; }

# Tamper: one never-executed int3 padding byte of .text becomes a NOP. It is no relocation
# (holes are relocations), so the hash the hypervisor computes must differ.
cp "$out/gtest.ko" "$out/gtest-tampered.ko"
text_off=$(readelf -S -W "$out/gtest.ko" | sed 's/\[ */[/' | awk '$2 == ".text" { print $5; exit }')
pad=$(objdump -d --section=.text "$out/gtest.ko" | awk '$NF == "int3" && !found { sub(":", "", $1); print $1; found = 1 }')
[ -n "$text_off" ] && [ -n "$pad" ] || { echo "modules.sh: no int3 padding in gtest.ko .text" >&2; exit 1; }
printf '\x90' | dd of="$out/gtest-tampered.ko" bs=1 seek=$((0x$text_off + 0x$pad)) conv=notrunc status=none
cmp -s "$out/gtest.ko" "$out/gtest-tampered.ko" && { echo "modules.sh: tampering changed nothing" >&2; exit 1; }
# The real driver, from the kernel source package (the tool downloads nothing itself).
CHRISTOIZE="$christoize" KDIR="$kdir" PRIVILEGE=nic "$here/../tests/fixtures/christoize/christoize-e1000.sh" \
    "$out/e1000-build" > "$out/e1000-build.log" 2>&1 || { cat "$out/e1000-build.log" >&2; exit 1; }
cp "$out/e1000-build/out/e1000.ko" "$out/e1000-build/out/e1000.gmeta" "$out/"
# The same source (already extracted in e1000-build), its leaf functions absorbed.
ABSORB="$here/e1000.absorb" OUT="$out/e1000-build/absorbed" CHRISTOIZE="$christoize" KDIR="$kdir" PRIVILEGE=nic \
    "$here/../tests/fixtures/christoize/christoize-e1000.sh" "$out/e1000-build" > "$out/e1000-absorbed-build.log" 2>&1 ||
    { cat "$out/e1000-absorbed-build.log" >&2; exit 1; }
mkdir -p "$out/absorbed"
cp "$out/e1000-build/absorbed/e1000.ko" "$out/e1000-build/absorbed/e1000.gmeta" "$out/absorbed/"
DRIVER=e1000e CHRISTOIZE="$christoize" KDIR="$kdir" PRIVILEGE=nic "$here/../tests/fixtures/christoize/christoize-e1000.sh" \
    "$out/e1000e-build" > "$out/e1000e-build.log" 2>&1 || { cat "$out/e1000e-build.log" >&2; exit 1; }
cp "$out/e1000e-build/out/e1000e.ko" "$out/e1000e-build/out/e1000e.gmeta" "$out/"
DRIVER=8139cp CHRISTOIZE="$christoize" KDIR="$kdir" PRIVILEGE=nic "$here/../tests/fixtures/christoize/christoize-e1000.sh" \
    "$out/8139cp-build" > "$out/8139cp-build.log" 2>&1 || { cat "$out/8139cp-build.log" >&2; exit 1; }
mkdir -p "$out/subpage"
cp "$out/8139cp-build/out/8139cp.ko" "$out/"
cp "$out/8139cp-build/out/8139cp.gmeta" "$out/subpage/"
"$christoize" build --module-dir "$here/modules/gdma" --name gdma --privilege nic --kdir "$kdir" --sign "$key" \
    --out "$out/gdma-build" > "$out/gdma-build.log" 2>&1 || { cat "$out/gdma-build.log" >&2; exit 1; }
cp "$out/gdma-build/gdma.ko" "$out/gdma-build/gdma.gmeta" "$out/"
"$christoize" build --module-dir "$here/modules/gidle" --name gidle --privilege idle --kdir "$kdir" --sign "$key" \
    --out "$out/gidle-build" > "$out/gidle-build.log" 2>&1 || { cat "$out/gidle-build.log" >&2; exit 1; }
cp "$out/gidle-build/gidle.ko" "$out/gidle-build/gidle.gmeta" "$out/"
# two/e1000e.gmeta: the same e1000e (same text, so the same .ko) asking for `nic2` instead of `nic`,
# for the guarded-two-devices case: the first privilege slot (header 144 bytes, docs/gmeta.md)
# "nic" becomes "nic2", then it is signed like the others. Under two/, so only that case's ESP has it.
mkdir -p "$out/two"
cp "$out/e1000e-build/out/e1000e.gmeta" "$out/two/e1000e.gmeta"
[ "$(dd if="$out/two/e1000e.gmeta" bs=1 skip=144 count=4 status=none | od -An -tx1 | tr -d ' \n')" = 6e696300 ] ||
    { echo "modules.sh: e1000e.gmeta's first privilege is not 'nic'" >&2; exit 1; }
printf 'nic2' | dd of="$out/two/e1000e.gmeta" bs=1 seek=144 conv=notrunc status=none
"$christoize" sign --key "$key" "$out/two/e1000e.gmeta"
# The others are signed after the fact, so their build folders keep the unsigned originals.
"$christoize" sign --key "$key" "$out/gtest.gmeta" "$out/e1000.gmeta" "$out/absorbed/e1000.gmeta" "$out/e1000e.gmeta" \
    "$out/subpage/8139cp.gmeta"

# Metadata for the signature tests, each in its own folder under the name the test's ESP gives it.
st=$out/sigtest
mkdir -p "$st"/{forged,wrongkey,truncated,unsigned,other,duplicate,badkey}
size=$(stat -c %s "$out/gtest.gmeta")
cp "$out/gtest.gmeta" "$st/forged/gtest.gmeta"   # the last byte of s flipped
last=$(od -An -tu1 -j $((size - 1)) -N1 "$st/forged/gtest.gmeta" | tr -d ' ')
printf "\\x$(printf %02x $((last ^ 0x01)))" | dd of="$st/forged/gtest.gmeta" bs=1 seek=$((size - 1)) conv=notrunc status=none
"$christoize" keygen --out "$st/other-key" > /dev/null
cp "$out/gtest-build/gtest.gmeta" "$st/wrongkey/gtest.gmeta"
"$christoize" sign --key "$st/other-key/admin.key" "$st/wrongkey/gtest.gmeta"
head -c $((size - 40)) "$out/gtest.gmeta" > "$st/truncated/gtest.gmeta"
cp "$out/gtest-build/gtest.gmeta" "$st/unsigned/gtest.gmeta"
cp "$out/gdma.gmeta" "$st/other/gtest.gmeta"       # gdma's own, validly signed, named gtest
cp "$out/gtest.gmeta" "$st/duplicate/gtest-copy.gmeta"
head -c 81 "$out/gtest.gmeta" > "$st/badkey/admin.pub" # an admin.pub's size, not one
cmp -s "$out/gtest.gmeta" "$st/forged/gtest.gmeta" && { echo "modules.sh: forging changed nothing" >&2; exit 1; }
# Metadata for the attack suite (tests/attacks/cases/attacks-metadata.case).
at=$out/attacks
mkdir -p "$at"
cp "$out/gtest-v0-build/gtest.gmeta" "$at/gtest-v0.gmeta"            # replayed: valid, older
size=$(stat -c %s "$at/gtest-v0.gmeta")
cp "$at/gtest-v0.gmeta" "$at/gtest-forged.gmeta"                      # the last byte of s flipped
last=$(od -An -tu1 -j $((size - 1)) -N1 "$at/gtest-forged.gmeta" | tr -d ' ')
printf "\\x$(printf %02x $((last ^ 0x01)))" | dd of="$at/gtest-forged.gmeta" bs=1 seek=$((size - 1)) conv=notrunc status=none
head -c $((size - 40)) "$at/gtest-v0.gmeta" > "$at/gtest-truncated.gmeta"
# gtwin: gtest's unsigned metadata with the name field (bytes 56..111) "gtest" → "gtwin", then signed
cp "$out/gtest-build/gtest.gmeta" "$at/gtwin.gmeta"
printf 'gtwin' | dd of="$at/gtwin.gmeta" bs=1 seek=56 conv=notrunc status=none
"$christoize" sign --key "$key" "$at/gtwin.gmeta"
[ "$(od -An -tx1 -j 24 -N 32 "$at/gtwin.gmeta" | tr -d ' \n')" = "$(cat "$out/gtest.sha256")" ] ||
    { echo "modules.sh: gtwin.gmeta lost gtest's text hash" >&2; exit 1; }
# The stock drivers, from the guest kernel's own package (installed with it: kernel.sh checks).
mkdir -p "$out/stock"
# mii: the MII library 8139cp needs (the guest kernel has it as a module)
for path in ethernet/intel/e1000/e1000 ethernet/intel/e1000e/e1000e mii; do
    drv=${path##*/}
    stock=/lib/modules/$ver/kernel/drivers/net/$path.ko
    if [ -r "$stock" ]; then cp "$stock" "$out/stock/$drv.ko"
    elif [ -r "$stock.xz" ]; then xz -dc "$stock.xz" > "$out/stock/$drv.ko"
    else echo "modules.sh: $stock missing (is linux-image-$ver installed?)" >&2; exit 1; fi
done
echo "  MODULES gevil.ko gnohv.ko gpoke.ko gpeek.ko 8139cp.ko subpage/8139cp.gmeta two/e1000e.gmeta gtest.ko gtest.gmeta gtest-tampered.ko e1000.ko e1000.gmeta absorbed/e1000.ko absorbed/e1000.gmeta e1000e.ko e1000e.gmeta gdma.ko gdma.gmeta gidle.ko gidle.gmeta gidleplain.ko gtest-v0.ko gtest.sha256 stock/e1000.ko stock/e1000e.ko stock/mii.ko attacks/ sigtest/ (.gmeta signed with $key)"
