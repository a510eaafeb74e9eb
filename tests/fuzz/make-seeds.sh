#!/bin/sh
# Writes the fuzzers' seed corpora to build/fuzz/seeds/<name>/ (generated, never committed):
#   gmeta   valid .gmeta files produced by gmeta_write() from a few small builders
#   config  a few valid postern.cfg texts
#   guard   byte strings that decode (see tests/fuzz/fuzz_guard.c) into meaningful event sequences
#   insn, acpi_iommu, pci   from tests/fuzz/seedgen.c: Linux's MMIO instruction forms, QEMU-like
#           IVRS and DMAR tables, Linux-like PCI probe sequences through 0xCF8/0xCFC
#   shell   serial-line sessions: commands, history and escape keys, an overlong line, paste blocks
#   hypercall  exit sequences: a module's genuine life (registration, crossings both ways, deinit),
#           the same from CPL 3, unknown numbers, bad pointers, off-site crossings, paging modes
# Also copies tests/fuzz/corpus/<name>/ and tests/fuzz/regressions/<name>/ in when present.
# Usage: tests/fuzz/make-seeds.sh [OUTDIR]   (run from the repository root)
set -eu
OUT=${1:-build/fuzz/seeds}
CC=${CC_SEEDS:-${CC:-cc}}
mkdir -p "$OUT/gmeta" "$OUT/config" "$OUT/guard" "$OUT/insn" "$OUT/acpi_iommu" "$OUT/pci" "$OUT/shell" "$OUT/hypercall" build/fuzz

# ---------------------------------------------------------------- gmeta: a tiny generator, compiled on the fly
GEN=build/fuzz/gmeta-seedgen
cat > build/fuzz/gmeta-seedgen.c <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "guard/gmeta.h"

static void emit(const char *dir, const char *name, const struct gmeta_builder *b)
{
    u64 cap = gmeta_size(b), len = 0;
    char err[160], path[512];
    u8 *buf = malloc(cap ? cap : 1);
    if (!cap || !buf || gmeta_write(b, buf, cap, &len, err, sizeof(err))) {
        fprintf(stderr, "seed %s: %s\n", name, err);
        exit(1);
    }
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(buf, 1, len, f) != len || fclose(f)) { perror(path); exit(1); }
    free(buf);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : ".";
    static const char *const privs[] = { "test", "pci-e1000" };
    static const char *const funcs[] = { "m_init", "m_exit", "m_open", "printk", "__kmalloc" };
    static const struct gmeta_site sites[] = {
        { 0x0010, 0, GMETA_SITE_INIT },           { 0x0040, 1, GMETA_SITE_DEINIT },
        { 0x0100, 2, GMETA_SITE_BORDER_IN_CALL }, { 0x0110, 2, GMETA_SITE_BORDER_OUT_RET },
        { 0x0300, 3, GMETA_SITE_BORDER_OUT_CALL },{ 0x0310, 3, GMETA_SITE_BORDER_IN_RET },
    };
    static const struct gmeta_hole holes[] = {
        { 0x0020, 5, GMETA_HOLE_FENTRY }, { 0x1000, 8, GMETA_HOLE_ABS64 }, { 0x2000, 4, GMETA_HOLE_PC32 },
    };
    struct gmeta_builder b;

    /* 1: minimal: one INIT site, one function, no privileges, no holes */
    memset(&b, 0, sizeof(b));
    b.name = "m";
    b.text_len = 0x100;
    b.text_sha256[0] = 1;
    b.funcs = funcs;
    b.func_count = 1;
    b.sites = sites;
    b.site_count = 1;
    emit(dir, "minimal.gmeta", &b);

    /* 2: every table populated */
    b.name = "gtest_mod";
    b.privs = privs;
    b.priv_count = 2;
    b.text_len = 0x3000;
    for (int i = 0; i < 32; i++)
        b.text_sha256[i] = (u8)(0xa0 + i);
    b.func_count = 5;
    b.site_count = sizeof(sites) / sizeof(sites[0]);
    b.holes = holes;
    b.hole_count = 3;
    emit(dir, "full.gmeta", &b);

    /* 3: the same, "signed" (the parser checks the trailer's shape, not the signature) */
    b.sig_alg = GMETA_SIG_ECDSA_P256;
    for (int i = 0; i < GMETA_KEY_ID_LEN; i++)
        b.key_id[i] = (u8)i;
    for (int i = 0; i < GMETA_SIG_LEN; i++)
        b.signature[i] = (u8)(0x40 + i);
    emit(dir, "signed.gmeta", &b);

    /* 4: many sites of one kind (binary search paths) */
    static struct gmeta_site many[65];
    many[0] = (struct gmeta_site){ 0x8, 0, GMETA_SITE_INIT };
    for (int i = 1; i < 65; i++)
        many[i] = (struct gmeta_site){ (u32)(0x40 + 0x10 * i), 2, GMETA_SITE_BORDER_IN_CALL };
    memset(&b, 0, sizeof(b));
    b.name = "many";
    b.text_len = 0x2000;
    b.text_sha256[31] = 0x5a;
    b.funcs = funcs;
    b.func_count = 5;
    b.sites = many;
    b.site_count = 65;
    emit(dir, "many.gmeta", &b);
    return 0;
}
C
$CC -std=gnu11 -O1 -DHOST_TEST -I. -Ihv -o "$GEN" build/fuzz/gmeta-seedgen.c hv/guard/gmeta.c hv/lib/fmt.c
"$GEN" "$OUT/gmeta"

# ---------------------------------------------------------------- config: valid texts
printf 'kernel = /postern/vmlinuz\nguest_ram = 512M\n' > "$OUT/config/minimal.cfg"
cat > "$OUT/config/full.cfg" <<'CFG'
# /postern/postern.cfg
kernel      = /postern/vmlinuz
initrd      = /postern/initrd.img
cmdline     = console=ttyS0,115200 quiet root=/dev/vda rw a=b
guest_ram   = 1G
hv_memory   = 65536K
serial_port = 0x2f8
serial_baud = 57600
gmeta       = /postern/e1000.gmeta
gmeta       = /postern/gtest.gmeta
bind        = e1000 nic
bind        = gtest_mod test
CFG
printf '\357\273\277kernel=/EFI/postern/bzImage\r\n\t# comment\r\nguest_ram\t=\t536870912\r\nserial_port = 1016\r\nhv_memory = 16M' > "$OUT/config/crlf-bom.cfg"

# ---------------------------------------------------------------- guard: event sequences
# byte 0: config bits (1 = check callee-saved, 2 = stack digest, 4 = restore return address);
# then 8 bytes per step: kind vcpu addr rsp ret seed hash slot (tests/fuzz/fuzz_guard.c).
# Kinds (byte % 13): 0 INIT 1 DEINIT 2 IN_CALL 3 OUT_RET 4 OUT_CALL 5 IN_RET 6 INTERRUPT 7 IRET
#        8 TEXT_WRITE 9 revoke 10 reinstate 11 locate 12 burst of in-call/out-call pairs
# gm sites by index: 0 INIT 1 DEINIT 2 IN_CALL 3 OUT_RET 4 IN_CALL 5 OUT_RET 6 OUT_CALL 7 IN_RET.
# "other" sites: index | 0x40: 0 INIT 1 DEINIT 2 IN_CALL 3 OUT_RET 4 OUT_CALL 5 IN_RET.
seed() { name=$1; shift; printf "$*" > "$OUT/guard/$name"; }
INIT0='\000\000\000\000\000\000\000\000'       # INIT gm on vCPU 0, good hashes
INITO='\000\001\100\000\000\000\000\000'       # INIT other on vCPU 1
IN0='\002\000\002\000\000\000\000\000'         # IN_CALL gm, vCPU 0, RSP0
OUTC0='\004\000\006\001\000\001\000\000'       # OUT_CALL gm, RSP1, ret 0, seed 1
INR1='\005\001\007\001\000\001\000\000'        # IN_RET gm on vCPU 1, RSP1, same ret/seed
OUTR0='\003\000\003\000\000\000\000\000'       # OUT_RET gm
INTR0='\006\000\200\002\040\000\000\000'       # INTERRUPT at an in-text RIP, RSP2, vector 0x20
IRET0='\007\000\200\002\000\000\000\000'       # IRET back to it
DEINIT0='\001\000\001\000\000\000\000\000'     # DEINIT gm
seed basic     "\001$INIT0$IN0$OUTR0$DEINIT0"
seed call      "\001$INIT0$IN0$OUTC0$INR1$OUTR0"
seed interrupt "\005$INIT0$IN0$INTR0$IRET0$OUTR0"
seed two       "\007$INIT0$INITO$IN0\002\001\102\004\000\000\000\000\004\001\104\005\000\002\000\000\005\000\105\005\000\002\000\000"
seed revoke    "\000$INIT0$IN0\010\000\000\000\000\000\001\000\011\000\000\000\000\000\000\000\012\000\000\000\000\000\000\000\013\000\000\000\000\000\000\000$INIT0"
seed burst     "\001$INIT0\014\000\000\000\200\000\000\000\014\001\000\001\377\001\000\000"
seed badhash   "\001\000\000\000\000\000\000\002\000$IN0\013\000\000\000\000\000\000\000"

# ---------------------------------------------------------------- hypercall: exit sequences
# 16 bytes per step (tests/fuzz/fuzz_hypercall.c): op number rip rsp rbx cpl/ret lo lo raw64.
# Numbers by index: 5 INIT 6 DEINIT 7 IN_CALL 8 OUT_RET 9 OUT_CALL 10 IN_RET (0-4 the any-CPL ones);
# RIP index 0-5: gm's sites INIT DEINIT IN_CALL OUT_RET OUT_CALL IN_RET; RSP 0-31: the stack;
# RBX 0: the good hash; byte 5: bit 0 CPL 3, bits 3:1 the return address at [RSP+8] (1: in gm's text).
mkdir -p "$OUT/hypercall"
hc() { printf '\\%03o\\%03o\\%03o\\%03o\\%03o\\%03o\\000\\000\\000\\000\\000\\000\\000\\000\\000\\000' "$@"; }
hc_seed() { name=$1; shift; printf "$*" > "$OUT/hypercall/$name"; }
GENUINE="$(hc 0 5 0 0 0 0)$(hc 0 7 2 0 0 0)$(hc 0 9 4 1 0 2)$(hc 0 10 5 1 0 2)$(hc 0 8 3 0 0 0)$(hc 0 6 1 0 0 0)"
hc_seed genuine "$GENUINE"
hc_seed cpl3 "$(hc 0 5 0 0 0 1)$(hc 0 7 2 0 0 1)$(hc 0 10 5 1 0 1)$(hc 0 2 0 0 0 1)"
hc_seed unknown "$(hc 0 224 0 0 0 0)$(hc 0 230 3 0 0 0)$(hc 0 13 0 0 0 0)$(hc 0 16 0 0 0 0)$(hc 0 17 0 0 0 0)$(hc 0 18 2 0 0 0)"
hc_seed bad-pointers "$(hc 0 5 0 0 96 0)$(hc 0 5 0 0 128 0)$(hc 0 5 0 0 144 0)$(hc 0 5 0 0 160 0)$(hc 0 5 0 0 64 0)$(hc 0 5 0 96 0 0)$(hc 0 7 2 104 0 0)$(hc 0 10 5 96 0 0)"
hc_seed off-site "$(hc 0 5 0 0 0 0)$(hc 0 7 96 0 0 0)$(hc 0 10 2 1 0 2)$(hc 0 9 128 1 0 2)$(hc 0 5 0 0 0 0)"
hc_seed modes "$(hc 14 0 0 0 0 0)$GENUINE$(hc 14 1 0 0 0 0)$(hc 0 7 2 0 0 0)$(hc 14 2 0 0 0 0)$(hc 0 7 2 0 0 0)$(hc 14 3 128 0 0 0)$(hc 0 2 0 0 0 0)"
hc_seed revoke "$(hc 0 5 0 0 0 0)$(hc 0 7 2 0 0 0)$(hc 15 1 0 0 0 0)$(hc 0 2 0 0 0 0)$(hc 15 0 0 0 0 0)$(hc 0 7 2 0 0 0)"
hc_seed stores "$(hc 0 5 0 0 0 0)$(hc 12 1 0 0 0 0)$(hc 12 0 0 0 0 0)$(hc 0 7 2 0 0 0)$(hc 13 3 255 255 0 0)$(hc 0 8 3 0 0 0)"
# border = npt (the first byte's top bit): op 11 is an instruction fetch the views forbid; its RIP
# index 0 the entry wrapper's start, 64 the exit wrapper's continuation, 96 a recorded way back,
# 160 the kernel; byte 5 picks its RSP: 0 as for a hypercall, 1 where the last exit wrapper's
# function returns to, 2 a recorded way back's. A registration, gm calling its own entry (return
# address in gm: byte 5 = 2), the return, an entry by fetch, a call out the hypervisor finishes, the
# return into the continuation, a store of a gm address on the stack, a fetch outside while
# privileged (its way back: that address), the way back, deinit.
GM800='\014\000\040\000\000\000\000\000\000\010\240\300\377\377\377\377'
hc_seed npt-genuine "$(hc 128 5 0 0 0 0)$(hc 0 7 2 0 0 2)$(hc 0 8 3 0 0 0)$(hc 11 0 0 0 0 0)$(hc 0 9 4 1 0 2)$(hc 11 0 64 0 0 1)$GM800$(hc 11 0 160 1 0 0)$(hc 11 0 96 0 0 2)$(hc 0 6 1 0 0 0)"
hc_seed npt-off-site "$(hc 128 5 0 0 0 0)$(hc 11 0 128 128 0 0)$(hc 0 8 3 0 0 0)$(hc 11 0 128 128 0 0)$(hc 11 0 64 0 0 1)$(hc 11 0 96 64 0 2)$(hc 0 7 2 0 0 4)"

# ---------------------------------------------------------------- vuart: guest register sequences
# tests/fuzz/seedgen_vuart.c (tests/fuzz/fuzz_vuart.c's encoding): Linux's 8250 probe (Debian's and
# the full 16550A-variant one), startup and set_termios, a login prompt out and a line in;
# transmit backpressure and retry; a full receive queue; loopback.
mkdir -p "$OUT/vuart"
$CC -std=gnu11 -O1 -o build/fuzz/seedgen_vuart tests/fuzz/seedgen_vuart.c
build/fuzz/seedgen_vuart "$OUT/vuart"
for d in tests/fuzz/corpus/vuart tests/fuzz/regressions/vuart; do
    if [ -d "$d" ]; then find "$d" -type f ! -name '*.md' -exec cp {} "$OUT/vuart/" \; ; fi
done

# ---------------------------------------------------------------- insn, acpi_iommu, pci: a second generator
$CC -std=gnu11 -O1 -o build/fuzz/seedgen tests/fuzz/seedgen.c
build/fuzz/seedgen "$OUT"

# ---------------------------------------------------------------- shell: bytes typed on the serial line
# byte 0 (tests/fuzz/fuzz_shell.c): bits 1:0 paste capacity 3/16/256/4096, bit 2 the FNV stand-in
# instead of the all-zero "SHA-256" (with which the sum 0000000000000000 matches), bit 3 8-byte
# error buffers, bit 4 0x01 as the console switch; then the bytes typed.
sh_seed() { name=$1; shift; printf "$@" > "$OUT/shell/$name"; }
Z=0000000000000000
sh_seed commands '\000status\rbind e1000 nic\r\nhelp\rhelp bind\rhelp nope\rlog\rlog 1 2\rxyz\r\r   \r1 2 3 4 5 6 7 8 9\recho 1 2 3 4 5 6 7\rstatus now\r'
sh_seed keys '\000status\rlog 5\r\033[A\033[A\033[B\r\033OA\033OB\033[1;5C\033[3~\033x\033\033[A\003echo a\025echo b\b\177c\r\033[\r'
sh_seed small-err '\010xyz\rbind x\rstatus 1\r'
sh_seed overlong "\\000%0210d\\rstatus\\r" 0
sh_seed paste-ok "\\002paste 6 $Z\\rZm9v\\r\\r Ym Fy \\rend\\r"
sh_seed paste-tail "\\002paste 4 $Z\\r\\nZm9vYg==\\r\\nend\\r\\npaste 5 $Z\\nZm9vYmE=\\nend\\n"
sh_seed paste-error "\\002paste 6 $Z\\rZm.v\\rZm9v\\rend\\rstatus\\rpaste 1 $Z\\rZh==\\rabort\\r"
sh_seed paste-end-errors "\\001paste 6 $Z\\rZm9v\\rend\\rpaste 3 $Z\\rZm9\\rend\\rpaste 2 $Z\\rZm9v\\rend\\r"
sh_seed paste-mismatch '\006paste 3 0123456789abcdef\rZm9v\rend\r'
sh_seed paste-cancel "\\002paste 6 $Z\\rZm9v\\003status\\r"
sh_seed switch "\\022paste 6 $Z\\rZm9v\\001status\\rab\\001cd\\r\\033[\\001A\\r"
sh_seed paste-args '\013paste x 0\rpaste 0 0000000000000000\rpaste 99999 0000000000000000\rpaste 1 abc\rpaste 1\r'
{ printf '\003paste 3000 %s\r' "$Z"; seq 1 1000 | head -c 3000 | base64 -w 64 | tr '\n' '\r'; printf 'end\r'; } > "$OUT/shell/paste-big"

# ---------------------------------------------------------------- committed corpora and regressions
for n in gmeta config guard insn acpi_iommu pci shell hypercall; do
    for d in tests/fuzz/corpus/$n tests/fuzz/regressions/$n; do
        [ -d "$d" ] && find "$d" -type f ! -name '*.md' -exec cp {} "$OUT/$n/" \;
    done
done
echo "seeds: $(ls "$OUT/gmeta" | wc -l) gmeta, $(ls "$OUT/config" | wc -l) config, $(ls "$OUT/guard" | wc -l) guard," \
     "$(ls "$OUT/insn" | wc -l) insn, $(ls "$OUT/acpi_iommu" | wc -l) acpi_iommu, $(ls "$OUT/pci" | wc -l) pci," \
     "$(ls "$OUT/shell" | wc -l) shell, $(ls "$OUT/hypercall" | wc -l) hypercall in $OUT"
