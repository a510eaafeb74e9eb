/*
 * Seed inputs for the fuzz targets insn, acpi_iommu and pci (tests/fuzz/make-seeds.sh compiles and
 * runs this; the seeds are generated, never committed). Usage: seedgen OUTDIR (writes
 * OUTDIR/insn/, OUTDIR/acpi_iommu/, OUTDIR/pci/, which must exist).
 *
 *   insn        MMIO accesses as compilers emit them for Linux's readl/writel & co. (x86-64 and
 *               32-bit forms, SIB, RIP-relative, prefixes, immediates, high-byte registers), and a
 *               few refused forms; byte 0..15 instruction, then device value and register bytes
 *   acpi_iommu  QEMU 7.2-like IVRS and DMAR tables built the way tests/unit/test_iommu.c builds
 *               them, each both whole (selector 0) and as a body behind the harness's header
 *               (selector 2/3)
 *   pci         a Linux-like probe of bus 0 and of the virtualized device through 0xCF8/0xCFC
 *               (vendor scan, header, BAR and ROM sizing with decoding off, capability walk,
 *               enable, MSI set-up, a BAR moved), in the harness's 5-bytes-per-access encoding
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>
#include <stdint.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;

static const char *outdir;

static void emit(const char *target, const char *name, const void *buf, size_t len)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s/%s", outdir, target, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(buf, 1, len, f) != len || fclose(f)) {
        perror(path);
        exit(1);
    }
}

static void wr16(u8 *p, u32 off, u16 v) { memcpy(p + off, &v, 2); }
static void wr32(u8 *p, u32 off, u32 v) { memcpy(p + off, &v, 4); }
static void wr64(u8 *p, u32 off, u64 v) { memcpy(p + off, &v, 8); }

/* ---------------------------------------------------------------- insn */
static void insn(const char *name, const char *hex)
{
    u8 b[64];
    size_t n = 0;
    for (const char *p = hex; *p && n < 16;) {
        if (*p == ' ') {
            p++;
            continue;
        }
        unsigned v;
        sscanf(p, "%2x", &v);
        b[n++] = (u8)v;
        p += 2;
    }
    /* pad the instruction to 16 bytes with NOPs, then a device value with its sign bits set */
    while (n < 16)
        b[n++] = 0x90;
    static const u8 tail[8] = { 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff };
    memcpy(b + n, tail, 8);
    n += 8;
    emit("insn", name, b, n);
}

static void insn_seeds(void)
{
    /* readl / writel and friends (x86-64, what GCC emits for Linux's build_mmio_read/write) */
    insn("readl-rdi", "8b 07");                           /* mov (%rdi),%eax */
    insn("readl-disp8", "8b 47 08");                      /* mov 0x8(%rdi),%eax */
    insn("readl-disp32", "8b 87 00 01 00 00");            /* mov 0x100(%rdi),%eax */
    insn("readl-r12", "41 8b 44 24 08");                  /* mov 0x8(%r12),%eax */
    insn("readl-rip", "8b 05 f0 0f 00 00");               /* mov 0xff0(%rip),%eax */
    insn("readl-sib", "8b 44 8f 10");                     /* mov 0x10(%rdi,%rcx,4),%eax */
    insn("readl-abs", "8b 04 25 00 00 c0 fe");            /* mov 0xfec00000,%eax */
    insn("readl-r9d", "44 8b 8b c0 00 00 00");            /* mov 0xc0(%rbx),%r9d */
    insn("readw", "0f b7 07");                            /* movzwl (%rdi),%eax */
    insn("readb", "0f b6 47 03");                         /* movzbl 0x3(%rdi),%eax */
    insn("readq", "48 8b 07");                            /* mov (%rdi),%rax */
    insn("readb-movsx", "48 0f be 47 01");                /* movsbq 0x1(%rdi),%rax */
    insn("readw-movsx", "0f bf 07");                      /* movswl (%rdi),%eax */
    insn("readb-ah", "8a 67 02");                         /* mov 0x2(%rdi),%ah */
    insn("readw-66", "66 8b 07");                         /* mov (%rdi),%ax */
    insn("writel", "89 37");                              /* mov %esi,(%rdi) */
    insn("writel-disp32", "89 b7 d0 00 00 00");           /* mov %esi,0xd0(%rdi) */
    insn("writel-r13", "41 89 45 00");                    /* mov %eax,0x0(%r13) */
    insn("writel-imm0", "c7 07 00 00 00 00");             /* movl $0x0,(%rdi) */
    insn("writel-imm", "c7 87 d0 00 00 00 ff ff ff ff");  /* movl $0xffffffff,0xd0(%rdi) */
    insn("writew", "66 89 37");                           /* mov %si,(%rdi) */
    insn("writew-imm", "66 c7 47 02 34 12");              /* movw $0x1234,0x2(%rdi) */
    insn("writeb", "40 88 37");                           /* mov %sil,(%rdi) */
    insn("writeb-ah", "88 67 01");                        /* mov %ah,0x1(%rdi) */
    insn("writeb-imm", "c6 47 04 80");                    /* movb $0x80,0x4(%rdi) */
    insn("writeq", "48 89 37");                           /* mov %rsi,(%rdi) */
    insn("writeq-imm", "48 c7 07 ff ff ff ff");           /* movq $-1,(%rdi) */
    insn("writeq-r15", "4d 89 7c 24 18");                 /* mov %r15,0x18(%r12) */
    insn("moffs-read", "a1 00 00 c0 fe 00 00 00 00");     /* movabs 0xfec00000,%eax */
    insn("moffs-write", "48 a3 00 00 c0 fe 00 00 00 00"); /* movabs %rax,0xfec00000 */
    insn("seg-gs", "65 8b 04 25 00 00 c0 fe");            /* mov %gs:0xfec00000,%eax */
    insn("addr32", "67 8b 07");                           /* mov (%edi),%eax */
    insn("rex-then-66", "48 66 8b 07");                   /* REX ignored: a legacy prefix follows */
    /* 32-bit mode forms (the harness decodes every input in every mode) */
    insn("i386-readl", "8b 83 00 01 00 00"); /* mov 0x100(%ebx),%eax */
    insn("i386-bp16", "67 8b 46 08");        /* 16-bit addressing: mov 0x8(%bp),%eax */
    insn("i386-disp16", "67 89 06 00 10");   /* mov %eax,0x1000 (16-bit address) */
    /* refused */
    insn("rep-movs", "f3 a5");
    insn("lock-add", "f0 01 07");
    insn("reg-direct", "8b c7");
    insn("unknown", "0f 0b");
    insn("too-long", "66 66 66 66 66 66 66 66 66 66 66 66 66 66 8b 07");
}

/* ---------------------------------------------------------------- acpi_iommu */
struct tb {
    u8 buf[4096];
    u32 len;
};

static void tb_init(struct tb *t, const char *sig, u32 hdr_extra)
{
    memset(t, 0, sizeof(*t));
    memcpy(t->buf, sig, 4);
    t->buf[8] = 1;
    memcpy(t->buf + 10, "POSTRN", 6);
    t->len = 36 + hdr_extra;
}

static u8 *tb_add(struct tb *t, u32 n)
{
    u8 *p = t->buf + t->len;
    t->len += n;
    return p;
}

static void tb_emit(struct tb *t, const char *name)
{
    u8 s = 0;
    wr32(t->buf, 4, t->len);
    t->buf[9] = 0;
    for (u32 i = 0; i < t->len; i++)
        s = (u8)(s + t->buf[i]);
    t->buf[9] = (u8)-s;

    bool dmar = memcmp(t->buf, "DMAR", 4) == 0;
    static u8 out[4097];
    char n[256];
    out[0] = dmar ? 1 : 0; /* whole table */
    memcpy(out + 1, t->buf, t->len);
    snprintf(n, sizeof(n), "%s-whole", name);
    emit("acpi_iommu", n, out, t->len + 1);
    out[0] = dmar ? 3 : 2; /* body behind the harness's header */
    memcpy(out + 1, t->buf + 36, t->len - 36);
    snprintf(n, sizeof(n), "%s-body", name);
    emit("acpi_iommu", n, out, t->len - 36 + 1);
}

static u8 *ivhd(struct tb *t, u8 type, u8 flags, u16 devid, u64 base, u16 seg)
{
    u32 hl = type == 0x10 ? 24 : 40;
    u8 *h = tb_add(t, hl + 4);
    h[0] = type;
    h[1] = flags;
    wr16(h, 2, (u16)(hl + 4));
    wr16(h, 4, devid);
    wr16(h, 6, 0x40);
    wr64(h, 8, base);
    wr16(h, 16, seg);
    h[hl] = 1;
    return h;
}

static u8 *dmar_struct(struct tb *t, u16 type, u16 len)
{
    u8 *s = tb_add(t, len);
    wr16(s, 0, type);
    wr16(s, 2, len);
    return s;
}

static void scope(u8 *at, u8 type, u8 id, u8 bus, u8 dev, u8 fn)
{
    at[0] = type;
    at[1] = 8;
    at[4] = id;
    at[5] = bus;
    at[6] = dev;
    at[7] = fn;
}

static void acpi_seeds(void)
{
    struct tb t;

    /* QEMU 7.2's IVRS: one IVHD 10h, flags 0xd1, the IOMMU at 00:02.0 */
    tb_init(&t, "IVRS", 12);
    wr32(t.buf, 36, 40u << 8);
    u8 *h = ivhd(&t, 0x10, 0xd1, 0x0010, 0xfed80000, 0);
    wr32(h, 20, (48u << 30) | (1u << 2) | (1u << 6));
    tb_emit(&t, "ivrs-qemu");

    /* one IOMMU as 10h and 11h, an IVMD, an unknown block; 11h with PCSup wins */
    tb_init(&t, "IVRS", 12);
    ivhd(&t, 0x10, 0, 0x0002, 0xfeb80000, 0);
    h = ivhd(&t, 0x11, 0x3, 0x0002, 0xfeb80000, 0);
    wr64(h, 24, (1ull << 9) | (1ull << 6));
    u8 *m = tb_add(&t, 32);
    m[0] = 0x21;
    wr16(m, 2, 32);
    u8 *x = tb_add(&t, 8);
    x[0] = 0x50;
    wr16(x, 2, 8);
    tb_emit(&t, "ivrs-10h-11h");

    /* four units of type 40h (the maximum), one with counters */
    tb_init(&t, "IVRS", 12);
    wr32(t.buf, 36, (1u << 0) | (48u << 8) | (64u << 15));
    for (int i = 0; i < 4; i++) {
        h = ivhd(&t, 0x40, 0xb0, (u16)(0x0002 + (i << 8)), 0xfd000000ull + (u64)i * 0x80000, 0);
        if (i == 1)
            wr64(h, 24, 1ull << 9);
    }
    tb_emit(&t, "ivrs-four");

    /* QEMU 7.2's DMAR: HAW 39, one DRHD, I/O APIC and AHCI scopes, plus an RMRR */
    tb_init(&t, "DMAR", 12);
    t.buf[36] = 38;
    t.buf[37] = 1;
    u8 *d = dmar_struct(&t, 0, 16 + 8 + 8);
    wr64(d, 8, 0xfed90000);
    scope(d + 16, 3, 0, 0xff, 0, 0);
    scope(d + 24, 1, 0, 0, 0x1f, 2);
    u8 *r = dmar_struct(&t, 1, 24 + 8);
    wr64(r, 8, 0x7f000000);
    wr64(r, 16, 0x7f0fffff);
    scope(r + 24, 1, 0, 0, 0x14, 0);
    tb_emit(&t, "dmar-qemu");

    /* two units (the catch-all one with 2 pages), an ATSR; a long scope path */
    tb_init(&t, "DMAR", 12);
    t.buf[36] = 45;
    u8 *a = dmar_struct(&t, 0, 16 + 8 + 12);
    wr64(a, 8, 0xfed91000);
    scope(a + 16, 1, 0, 0, 2, 0);
    scope(a + 24, 2, 0, 0, 0x1c, 0);
    a[25] = 12; /* bridge path: 1c.0 -> 00.0 -> 00.0 */
    u8 *b = dmar_struct(&t, 0, 16);
    b[4] = 1;
    b[5] = 1;
    wr64(b, 8, 0xfed90000);
    dmar_struct(&t, 2, 8);
    tb_emit(&t, "dmar-two");

    /* more scopes and RMRRs than are kept */
    tb_init(&t, "DMAR", 12);
    t.buf[36] = 47;
    d = dmar_struct(&t, 0, 16 + 17 * 8);
    wr64(d, 8, 0xfed90000);
    for (int i = 0; i < 17; i++)
        scope(d + 16 + 8 * i, 1, 0, 0, (u8)i, 0);
    for (int i = 0; i < 9; i++) {
        r = dmar_struct(&t, 1, 24);
        wr64(r, 8, 0x7e000000ull + (u64)i * 0x100000);
        wr64(r, 16, 0x7e0fffffull + (u64)i * 0x100000);
    }
    tb_emit(&t, "dmar-many");
}

/* ---------------------------------------------------------------- pci */
static u8 seq[8192];
static size_t seqlen;

static void op(u8 o, u32 v)
{
    seq[seqlen++] = o;
    wr32(seq, (u32)seqlen, v);
    seqlen += 4;
}
#define SZ1 0x00
#define SZ2 0x20
#define SZ4 0x40
#define OUT 0x80
static u32 caddr(u16 bdf, u8 reg) { return 0x80000000u | (u32)bdf << 8 | (reg & 0xfc); }
static void sel(u16 bdf, u8 reg) { op(OUT | SZ4 | 0, caddr(bdf, reg)); }
static void rd(u16 bdf, u8 reg, u8 size)
{
    sel(bdf, reg);
    op((u8)((size == 1 ? SZ1 : size == 2 ? SZ2 : SZ4) | (4 + (reg & 3))), 0);
}
static void wr(u16 bdf, u8 reg, u8 size, u32 v)
{
    sel(bdf, reg);
    op((u8)(OUT | (size == 1 ? SZ1 : size == 2 ? SZ2 : SZ4) | (4 + (reg & 3))), v);
}

#define BDF(b, d, f) ((u16)((b) << 8 | (d) << 3 | (f)))

/* Linux's probe of one function: identity, header, BARs and ROM sized with decoding off,
 * capabilities, then pci_enable_device and MSI. */
static void linux_probe(u16 bdf, const u32 *bars, int nbars, u8 rom_reg, u32 rom, u16 cmd)
{
    rd(bdf, 0x00, 4);
    rd(bdf, 0x08, 4);
    rd(bdf, 0x0e, 1);
    rd(bdf, 0x2c, 4);
    rd(bdf, 0x06, 2);
    rd(bdf, 0x04, 2);
    wr(bdf, 0x04, 2, cmd & ~3u);
    for (int i = 0; i < nbars; i++) {
        u8 reg = (u8)(0x10 + 4 * i);
        rd(bdf, reg, 4);
        wr(bdf, reg, 4, 0xffffffffu);
        rd(bdf, reg, 4);
        wr(bdf, reg, 4, bars[i]);
    }
    rd(bdf, rom_reg, 4);
    wr(bdf, rom_reg, 4, 0xfffff800u);
    rd(bdf, rom_reg, 4);
    wr(bdf, rom_reg, 4, rom);
    wr(bdf, 0x04, 2, cmd);
    rd(bdf, 0x34, 1);
    rd(bdf, 0x40, 4);
    rd(bdf, 0x3c, 1);
    rd(bdf, 0x3d, 1);
    /* pci_enable_device, pci_set_master */
    rd(bdf, 0x04, 2);
    wr(bdf, 0x04, 2, 0x0007);
    /* MSI: address, data, enable */
    wr(bdf, 0x44, 4, 0xfee00000);
    wr(bdf, 0x48, 4, 0x00000000);
    wr(bdf, 0x4c, 2, 0x4021);
    rd(bdf, 0x42, 2);
    wr(bdf, 0x42, 2, 0x0081);
    /* clear status errors (RW1C) */
    wr(bdf, 0x06, 2, 0xf900);
}

static void pci_emit(const char *name, u8 config)
{
    static u8 out[8193];
    out[0] = config;
    memcpy(out + 1, seq, seqlen);
    emit("pci", name, out, seqlen + 1);
    seqlen = 0;
}

static void pci_seeds(void)
{
    static const u16 scan[] = { BDF(0, 0, 0), BDF(0, 1, 0), BDF(0, 3, 0), BDF(0, 5, 0), BDF(0, 6, 0), BDF(0, 9, 0) };
    const u16 nic = BDF(0, 3, 0);

    /* layout 0 (e1000-like): bus scan, probe, then the BAR moved with decoding off and back on */
    for (size_t i = 0; i < sizeof(scan) / sizeof(scan[0]); i++)
        rd(scan[i], 0x00, 4);
    static const u32 e1000[6] = { 0xfebc0000, 0xc001, 0x0000000c, 0x1, 0, 0xfebe0000 };
    linux_probe(nic, e1000, 6, 0x30, 0xfeb80000, 0x0007);
    wr(nic, 0x04, 2, 0x0004);
    wr(nic, 0x10, 4, 0xd0000000);
    wr(nic, 0x18, 4, 0xe000000c);
    wr(nic, 0x1c, 4, 0x00000002);
    wr(nic, 0x04, 2, 0x0007);
    rd(nic, 0x10, 4);
    pci_emit("linux-probe-e1000", 0);

    /* layout 0, decoding on while sizing (not Linux, but legal), byte-wise BAR access */
    wr(nic, 0x10, 4, 0xffffffffu);
    rd(nic, 0x10, 4);
    wr(nic, 0x10, 4, 0xfebc0000);
    for (u8 k = 0; k < 4; k++)
        op((u8)(OUT | SZ1 | (4 + k)), 0xff);
    for (u8 k = 0; k < 4; k++)
        op((u8)(SZ1 | (4 + k)), 0);
    wr(nic, 0x13, 1, 0xfe);
    wr(nic, 0x12, 2, 0xfebc);
    pci_emit("bar-bytewise", 0);

    /* layout 1: an 8 GiB 64-bit BAR */
    static const u32 big[6] = { 0x0000000c, 0x4, 0, 0xf0000000, 0, 0x4 };
    linux_probe(nic, big, 6, 0x30, 0xfea00001, 0x0006);
    pci_emit("linux-probe-64bit", 1);

    /* layout 2: a bridge */
    static const u32 br[2] = { 0xfe100000, 0xe001 };
    rd(nic, 0x18, 4);
    linux_probe(nic, br, 2, 0x38, 0xfe200000, 0x0007);
    wr(nic, 0x18, 4, 0x00020100);
    pci_emit("linux-probe-bridge", 2);

    /* layout 6 (e1000e), decoding off at start */
    static const u32 e1000e[6] = { 0xfeb80000, 0xfeba0000, 0xc081, 0xfebd0000, 0, 0 };
    linux_probe(nic, e1000e, 6, 0x30, 0xfe800000, 0x0003);
    pci_emit("linux-probe-e1000e", 6 | 8);

    /* the hidden function, the function without a vdev, AMD's extended register bits, disabled */
    rd(BDF(0, 5, 0), 0x00, 4);
    wr(BDF(0, 5, 0), 0x04, 2, 0);
    wr(BDF(0, 5, 0), 0x10, 4, 0xffffffffu);
    rd(BDF(0, 6, 0), 0x00, 4);
    wr(BDF(0, 6, 0), 0x10, 4, 0xffffffffu);
    op(OUT | SZ4 | 0, caddr(nic, 0x10) | 0x01000000);
    op(OUT | SZ4 | 4, 0xffffffffu);
    op(OUT | SZ4 | 0, caddr(nic, 0x10) & 0x7fffffffu);
    op(OUT | SZ4 | 4, 0);
    op(SZ4 | 0, 0);
    op(SZ2 | 5, 0); /* misaligned */
    op(SZ4 | 6, 0); /* straddling */
    op(SZ1 | 1, 0); /* 0xCF9: not config space */
    pci_emit("hidden-and-odd", 0x10);
}

int main(int argc, char **argv)
{
    outdir = argc > 1 ? argv[1] : ".";
    insn_seeds();
    acpi_seeds();
    pci_seeds();
    return 0;
}
