/* UNIT-SOURCES: drivers/iommu/iommu.c drivers/iommu/dma_domain.c drivers/iommu/domain_tables.c drivers/iommu/ivrs.c drivers/iommu/dmar.c drivers/iommu/amd_vi.c drivers/iommu/vtd.c hv/platform/acpi_host.c hv/core/npt.c hv/lib/page_alloc.c hv/lib/fmt.c */
/*
 * The IOMMU's pure logic: IVRS and DMAR parsing (good tables, truncations, checksums, unsupported
 * segments), discovery through the host ACPI walker, device-table and context entries, and the DMA
 * page-table formats, checked by an independent walk that follows the hardware's rules (and QEMU
 * 7.2's) rather than the builder's own lookup.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/bytes.h"
#include "drivers/iommu/amd_vi.h"
#include "drivers/iommu/dma_domain.h"
#include "drivers/iommu/domain_tables.h"
#include "drivers/iommu/dmar.h"
#include "drivers/iommu/iommu.h"
#include "drivers/iommu/ivrs.h"
#include "drivers/iommu/vtd.h"
#include "lib/log.h"
#include "core/npt.h"
#include "lib/page_alloc.h"

static char logbuf[8192];
static size_t loglen;

void log_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    loglen += fmt_vsnprintf(logbuf + loglen, sizeof(logbuf) - loglen, fmt, ap);
    va_end(ap);
    if (loglen < sizeof(logbuf) - 1)
        logbuf[loglen++] = '\n';
    if (loglen >= sizeof(logbuf))
        loglen = sizeof(logbuf) - 1;
}

static u64 pa(const void *p) { return (u64)(uintptr_t)p; }

/* The parsers' arrays: plain heap here (the hypervisor gives whole pages of its pool). */
static void *heap_blocks[4096];
static u32 heap_count;
static void *heap(size_t bytes)
{
    void *p = calloc(1, bytes);
    assert_true(heap_count < ARRAY_SIZE(heap_blocks));
    return heap_blocks[heap_count++] = p;
}

static u8 sum(const u8 *p, u32 n)
{
    u8 s = 0;
    while (n--)
        s = (u8)(s + *p++);
    return s;
}

/* ---------------------------------------------------------------- table building */
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

static void tb_done(struct tb *t)
{
    wr32(t->buf, 4, t->len);
    t->buf[9] = 0;
    t->buf[9] = (u8)-sum(t->buf, t->len);
}

/* An IVHD: type, flags, DeviceID, base, segment; one 4-byte "all devices" entry after the header. */
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
    h[hl] = 1; /* IVHD device entry type 1: all devices */
    return h;
}

/* QEMU 7.2's IVRS as acpi-build.c writes it: one IVHD 10h, flags 0xd1, the IOMMU at 00:02.0. */
static void qemu_ivrs(struct tb *t)
{
    tb_init(t, "IVRS", 12);
    wr32(t->buf, 36, 40u << 8); /* IVinfo: PAsize 40 */
    u8 *h = ivhd(t, 0x10, 0xd1, 0x0010, 0xfed80000, 0);
    wr32(h, 20, (48u << 30) | (1u << 2) | (1u << 6)); /* feature reporting as QEMU fills it */
}

static void expect_ivrs_error(struct tb *t, const char *words)
{
    struct ivrs_info iv;
    char err[200] = "";
    assert_int_equal(ivrs_parse(t->buf, t->len, &iv, heap, err, sizeof(err)), -1);
    if (!strstr(err, words))
        fail_msg("error \"%s\" lacks \"%s\"", err, words);
}

/* ---------------------------------------------------------------- IVRS */
static void ivrs_qemu_table(void **state)
{
    struct tb t;
    struct ivrs_info iv;
    char err[200];

    qemu_ivrs(&t);
    tb_done(&t);
    assert_int_equal(ivrs_parse(t.buf, t.len, &iv, heap, err, sizeof(err)), 0);
    assert_int_equal(iv.type, 0x10);
    assert_int_equal(iv.units, 1);
    assert_int_equal(iv.unit[0].devid, 0x0010);
    assert_int_equal(iv.unit[0].base, 0xfed80000);
    assert_int_equal(iv.unit[0].mmio_size, KiB(16));
    assert_int_equal(iv.unit[0].flags, 0xd1);
    assert_int_equal(iv.unit[0].cap_offset, 0x40);
    assert_false(iv.unit[0].has_efr);
    assert_int_equal(iv.ivinfo, 40u << 8);
    assert_int_equal(iv.ivmds, 0);
}

/* One IOMMU described as 10h and 11h (for old and new OSes), an IVMD and an unknown block: the
 * 11h description wins, the EFR comes from it, PCSup makes the register block 512 KiB. */
static void ivrs_highest_type_wins(void **state)
{
    struct tb t;
    struct ivrs_info iv;
    char err[200];

    tb_init(&t, "IVRS", 12);
    ivhd(&t, 0x10, 0, 0x0002, 0xfeb80000, 0);
    u8 *h = ivhd(&t, 0x11, 0x3, 0x0002, 0xfeb80000, 0);
    wr64(h, 24, BIT(9) | BIT(6));
    u8 *m = tb_add(&t, 32);
    m[0] = 0x21;
    wr16(m, 2, 32);
    u8 *x = tb_add(&t, 8); /* a block type from a later revision: skipped by its length */
    x[0] = 0x50;
    wr16(x, 2, 8);
    tb_done(&t);
    assert_int_equal(ivrs_parse(t.buf, t.len, &iv, heap, err, sizeof(err)), 0);
    assert_int_equal(iv.type, 0x11);
    assert_int_equal(iv.units, 1);
    assert_true(iv.unit[0].has_efr);
    assert_int_equal(iv.unit[0].efr, BIT(9) | BIT(6));
    assert_int_equal(iv.unit[0].mmio_size, KiB(512));
    assert_int_equal(iv.unit[0].flags, 0x3);
    assert_int_equal(iv.ivmds, 1);
}

static void ivrs_malformed(void **state)
{
    struct tb t;

    qemu_ivrs(&t);
    tb_done(&t);
    t.buf[60] ^= 1; /* anything: the checksum no longer holds */
    expect_ivrs_error(&t, "bad checksum");

    qemu_ivrs(&t);
    tb_done(&t);
    expect_ivrs_error(&(struct tb){ .len = 40 }, "IVRS: malformed table header");

    qemu_ivrs(&t);
    wr16(t.buf, 48 + 2, 200); /* IVHD longer than the table */
    tb_done(&t);
    expect_ivrs_error(&t, "has length 200");

    qemu_ivrs(&t);
    wr16(t.buf, 48 + 2, 20); /* shorter than an IVHD 10h header */
    tb_done(&t);
    expect_ivrs_error(&t, "needs 24");

    qemu_ivrs(&t);
    tb_add(&t, 2); /* two stray bytes after the last block */
    tb_done(&t);
    expect_ivrs_error(&t, "cut off");

    qemu_ivrs(&t);
    tb_done(&t);
    wr32(t.buf, 4, t.len + 8); /* header claims more than we were given */
    expect_ivrs_error(&t, "IVRS: malformed table header");
}

static void ivrs_unsupported(void **state)
{
    struct tb t;

    tb_init(&t, "IVRS", 12);
    u8 *m = tb_add(&t, 32);
    m[0] = 0x20;
    wr16(m, 2, 32);
    tb_done(&t);
    expect_ivrs_error(&t, "no IVHD block");

    tb_init(&t, "IVRS", 12);
    ivhd(&t, 0x10, 0, 0x0010, 0, 0);
    tb_done(&t);
    expect_ivrs_error(&t, "invalid register base 0x0");

    tb_init(&t, "IVRS", 12);
    ivhd(&t, 0x40, 0, 0x0010, 0xfed80800, 0);
    tb_done(&t);
    expect_ivrs_error(&t, "invalid register base");

    /* A device entry of a variable-length type nobody knows: its length cannot be known. */
    tb_init(&t, "IVRS", 12);
    ivhd(&t, 0x10, 0, 0x0010, 0xfed80000, 0)[24] = 0xf1;
    tb_done(&t);
    expect_ivrs_error(&t, "device entry type 0xf1 at +24 is cut off or unknown");

    /* An IVMD whose DeviceID range runs backwards, or whose memory wraps. */
    tb_init(&t, "IVRS", 12);
    ivhd(&t, 0x10, 0, 0x0010, 0xfed80000, 0);
    u8 *b = tb_add(&t, 32);
    b[0] = 0x22;
    b[1] = 1;
    wr16(b, 2, 32);
    wr16(b, 4, 0x100);
    wr16(b, 6, 0x0ff);
    wr64(b, 24, 0x1000);
    tb_done(&t);
    expect_ivrs_error(&t, "IVMD at offset 76: DeviceIDs 0x100-0xff");
    wr16(b, 6, 0x1ff);
    wr64(b, 16, ~0ull & ~0xfffull);
    wr64(b, 24, 0x2000);
    tb_done(&t);
    expect_ivrs_error(&t, "make no range");
}


/* ---------------------------------------------------------------- server-shaped tables */
/* A 2-socket EPYC's IVRS: four IOMMUs per socket (one per root complex, root buses 0x00, 0x20,
 * 0x40, 0x60), each described twice (IVHD 11h for older OSes, 40h for newer), socket 1 in PCI
 * segment 1 (as firmware with more than 256 buses publishes it). Each IVHD's device entries: the
 * IOMMU function itself, a range of the root complex's devices, a device behind a PCIe-to-PCI
 * bridge (alias 42h), a range of functions that share one requester ID (alias range 43h..04h),
 * pad entries, and on each socket's first unit the I/O APIC and HPET (special 48h) and an ACPI
 * device (F0h). Then three IVMDs. */
static u8 *ivhd_epyc(struct tb *t, u8 type, u16 seg, u8 bus, bool first)
{
    u32 hl = type == 0x10 ? 24 : 40, n = hl;
    u8 *h = t->buf + t->len;
    u8 e[160];
    memset(e, 0, sizeof(e));
    u32 k = 0;
#define ENT4(ty, dev)                                                                                                  \
    do {                                                                                                               \
        e[k] = ty;                                                                                                     \
        wr16(e, k + 1, dev);                                                                                           \
        k += 4;                                                                                                        \
    } while (0)
    ENT4(0x02, (u16)(bus << 8 | 0x02)); /* select: the IOMMU */
    ENT4(0x03, (u16)(bus << 8 | 0x08)); /* range start */
    ENT4(0x04, (u16)(bus << 8 | 0xff)); /* range end */
    e[k] = 0x42;                        /* alias: bus+0x0a:00.0 sends as bus+0x09:00.0 */
    wr16(e, k + 1, (u16)((bus + 0x0a) << 8));
    wr16(e, k + 5, (u16)((bus + 0x09) << 8));
    k += 8;
    e[k] = 0x43; /* alias range: (bus+1):01.0-01.7 send as (bus+1):00.0 */
    wr16(e, k + 1, (u16)((bus + 1) << 8 | 0x08));
    wr16(e, k + 5, (u16)((bus + 1) << 8));
    k += 8;
    ENT4(0x04, (u16)((bus + 1) << 8 | 0x0f));
    ENT4(0x00, 0); /* pad */
    e[k] = 0x40;   /* 8-byte pad */
    k += 8;
    if (first) {
        e[k] = 0x48; /* special: I/O APIC 0x21 at 00:14.0... as the requester of its interrupts */
        e[k + 4] = (u8)(0x21 + seg);
        wr16(e, k + 5, 0x00a0);
        e[k + 7] = 1;
        k += 8;
        e[k] = 0x48; /* HPET 0 */
        wr16(e, k + 5, 0x00a0);
        e[k + 7] = 2;
        k += 8;
        e[k] = 0xf0; /* ACPI device AMDI0020 (a UART), UID "0" */
        wr16(e, k + 1, 0x00a5);
        memcpy(e + k + 4, "AMDI0020", 8);
        e[k + 20] = 1;
        e[k + 21] = 2;
        memcpy(e + k + 22, "0\0", 2);
        k += 24;
    }
#undef ENT4
    n += k;
    u8 *p = tb_add(t, n);
    assert_ptr_equal(p, h);
    h[0] = type;
    h[1] = 0xb0;
    wr16(h, 2, (u16)n);
    wr16(h, 4, (u16)(bus << 8 | 0x02));
    wr16(h, 6, 0x40);
    wr64(h, 8, 0xf0000000ull + ((u64)seg << 24) + ((u64)bus << 16));
    wr16(h, 16, seg);
    if (type != 0x10)
        wr64(h, 24, BIT(6) | BIT(9)); /* EFR: IASup, PCSup */
    memcpy(h + hl, e, k);
    return h;
}

static u8 *ivmd(struct tb *t, u8 type, u8 flags, u16 dev, u16 aux, u16 seg, u64 start, u64 len)
{
    u8 *m = tb_add(t, 32);
    m[0] = type;
    m[1] = flags;
    wr16(m, 2, 32);
    wr16(m, 4, dev);
    wr16(m, 6, aux);
    wr16(m, 8, seg);
    wr64(m, 16, start);
    wr64(m, 24, len);
    return m;
}

static void epyc_2s_ivrs(struct tb *t)
{
    tb_init(t, "IVRS", 12);
    wr32(t->buf, 36, (48u << 8) | 1); /* PAsize 48, EFRSup */
    for (int type = 0; type < 2; type++)
        for (u16 seg = 0; seg < 2; seg++)
            for (u8 rc = 0; rc < 4; rc++)
                ivhd_epyc(t, type ? 0x40 : 0x11, seg, (u8)(rc * 0x20), rc == 0);
    ivmd(t, 0x21, 0x7, 0x0a00, 0, 0, 0xa8000000, 0x10000);    /* one device, r/w unity */
    ivmd(t, 0x22, 0x3, 0x4100, 0x41ff, 0, 0xa9000000, 0x800); /* a range, read-only, sub-page */
    ivmd(t, 0x20, 0x8, 0, 0, 1, 0xfd00000000ull, 0x200000);   /* every device of segment 1: exclusion */
}

static void ivrs_two_socket_epyc(void **state)
{
    struct tb t;
    struct ivrs_info iv;
    char err[200] = "";

    epyc_2s_ivrs(&t);
    tb_done(&t);
    assert_true(t.len < sizeof(t.buf));
    if (ivrs_parse(t.buf, t.len, &iv, heap, err, sizeof(err)))
        fail_msg("%s", err);
    assert_int_equal(iv.type, 0x40);
    assert_int_equal(iv.units, 8);
    assert_int_equal(iv.segments, 2);
    for (u32 i = 0; i < 8; i++) {
        u8 bus = (u8)((i % 4) * 0x20);
        assert_int_equal(iv.unit[i].segment, i / 4);
        assert_int_equal(iv.unit[i].devid, bus << 8 | 2);
        assert_int_equal(iv.unit[i].base, 0xf0000000ull + ((u64)(i / 4) << 24) + ((u64)bus << 16));
        assert_int_equal(iv.unit[i].mmio_size, KiB(512));
        assert_int_equal(iv.unit[i].dev_entries, i % 4 == 0 ? 11 : 8);
    }
    assert_int_equal(iv.aliases, 16);
    assert_int_equal(iv.alias[0].first, 0x0a00);
    assert_int_equal(iv.alias[0].alias, 0x0900);
    assert_int_equal(iv.alias[1].first, 0x0108);
    assert_int_equal(iv.alias[1].last, 0x010f);
    assert_int_equal(iv.alias[1].alias, 0x0100);
    assert_int_equal(iv.alias[15].segment, 1);
    assert_int_equal(iv.specials, 4);
    assert_int_equal(iv.special[0].variety, IVHD_SPECIAL_IOAPIC);
    assert_int_equal(iv.special[0].handle, 0x21);
    assert_int_equal(iv.special[1].variety, IVHD_SPECIAL_HPET);
    assert_int_equal(iv.special[2].segment, 1);
    assert_int_equal(iv.ivmds, 3);
    assert_int_equal(iv.ivmd[0].first, 0x0a00);
    assert_int_equal(iv.ivmd[0].last, 0x0a00);
    assert_int_equal(iv.ivmd[1].first, 0x4100);
    assert_int_equal(iv.ivmd[1].last, 0x41ff);
    assert_int_equal(iv.ivmd[2].first, 0);
    assert_int_equal(iv.ivmd[2].last, 0xffff);
    assert_int_equal(iv.ivmd[2].segment, 1);

    /* Cutting the last IVHD short: valid only where an entry ends (its last three entries are
     * 8, 4 and 4 bytes long); anywhere else the cut entry is reported, never read past. */
    u32 last = 48;
    for (u32 off = 48; off < t.len; off += rd16(t.buf, off + 2))
        last = off;
    assert_int_equal(t.buf[last], 0x20); /* the IVMDs come last: move the cut to the last IVHD */
    for (u32 off = 48; off < t.len; off += rd16(t.buf, off + 2))
        if (t.buf[off] == 0x40)
            last = off;
    for (u32 cut = 1; cut < 24; cut++) {
        static struct tb u;
        u = t;
        u8 *h = u.buf + last;
        u16 hl = rd16(h, 2);
        wr16(h, 2, (u16)(hl - cut));
        memmove(h + hl - cut, h + hl, u.len - (last + hl));
        u.len -= cut;
        tb_done(&u);
        bool whole = cut == 8 || cut == 12 || cut == 16;
        assert_int_equal(ivrs_parse(u.buf, u.len, &iv, heap, err, sizeof(err)), whole ? 0 : -1);
        if (!whole)
            assert_non_null(strstr(err, "is cut off or unknown"));
    }
}

/* ---------------------------------------------------------------- DMAR */
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

/* QEMU 7.2's DMAR (acpi-build.c): HAW 39, one DRHD at 0xfed90000 without INCLUDE_PCI_ALL, scopes
 * for the I/O APIC and the devices; plus an RMRR a real firmware would add. */
static void qemu_dmar(struct tb *t)
{
    tb_init(t, "DMAR", 12);
    t->buf[36] = 38;
    t->buf[37] = 1;
    u8 *d = dmar_struct(t, 0, 16 + 8 + 8);
    wr64(d, 8, 0xfed90000);
    scope(d + 16, 3, 0, 0xff, 0, 0); /* I/O APIC 0 at ff:00.0 */
    scope(d + 24, 1, 0, 0, 0x1f, 2); /* AHCI 00:1f.2 */
    u8 *r = dmar_struct(t, 1, 24 + 8);
    wr64(r, 8, 0x7f000000);
    wr64(r, 16, 0x7f0fffff);
    scope(r + 24, 1, 0, 0, 0x14, 0);
}

static void expect_dmar_error(struct tb *t, const char *words)
{
    struct dmar_info dm;
    char err[200] = "";
    assert_int_equal(dmar_parse(t->buf, t->len, &dm, heap, err, sizeof(err)), -1);
    if (!strstr(err, words))
        fail_msg("error \"%s\" lacks \"%s\"", err, words);
}

static void dmar_qemu_table(void **state)
{
    struct tb t;
    struct dmar_info dm;
    char err[200];

    qemu_dmar(&t);
    tb_done(&t);
    assert_int_equal(dmar_parse(t.buf, t.len, &dm, heap, err, sizeof(err)), 0);
    assert_int_equal(dm.haw, 39);
    assert_int_equal(dm.flags, DMAR_FLAG_INTR_REMAP);
    assert_int_equal(dm.units, 1);
    assert_int_equal(dm.drhd[0].base, 0xfed90000);
    assert_int_equal(dm.drhd[0].mmio_size, KiB(4));
    assert_false(dm.drhd[0].include_all);
    assert_int_equal(dm.drhd[0].scopes, 2);
    assert_int_equal(dm.drhd[0].scope[0].type, DMAR_SCOPE_IOAPIC);
    assert_int_equal(dm.drhd[0].scope[0].bdf, 0xff00);
    assert_int_equal(dm.drhd[0].scope[1].type, DMAR_SCOPE_PCI_ENDPOINT);
    assert_int_equal(dm.drhd[0].scope[1].bdf, 0x00fa);
    assert_int_equal(dm.drhd[0].scope[1].path_len, 1);
    assert_int_equal(dm.rmrrs, 1);
    assert_int_equal(dm.rmrr[0].base, 0x7f000000);
    assert_int_equal(dm.rmrr[0].limit, 0x7f0fffff);
    assert_int_equal(dm.rmrr[0].scopes, 1);
}

/* Two units, the catch-all one with a 2-page register set, and an ATSR that is skipped. */
static void dmar_two_units(void **state)
{
    struct tb t;
    struct dmar_info dm;
    char err[200];

    tb_init(&t, "DMAR", 12);
    t.buf[36] = 45;
    u8 *a = dmar_struct(&t, 0, 16 + 8);
    wr64(a, 8, 0xfed91000);
    scope(a + 16, 1, 0, 0, 2, 0);
    u8 *b = dmar_struct(&t, 0, 16);
    b[4] = DMAR_DRHD_INCLUDE_PCI_ALL;
    b[5] = 1;
    wr64(b, 8, 0xfed90000);
    dmar_struct(&t, 2, 8);
    tb_done(&t);
    assert_int_equal(dmar_parse(t.buf, t.len, &dm, heap, err, sizeof(err)), 0);
    assert_int_equal(dm.haw, 46);
    assert_int_equal(dm.units, 2);
    assert_true(dm.drhd[1].include_all);
    assert_int_equal(dm.drhd[1].mmio_size, KiB(8));
    assert_int_equal(dm.drhd[0].scope[0].bdf, 0x0010);
}

static void dmar_malformed(void **state)
{
    struct tb t;

    qemu_dmar(&t);
    tb_done(&t);
    t.buf[50] ^= 0x40;
    expect_dmar_error(&t, "bad checksum");

    qemu_dmar(&t);
    wr16(t.buf, 48 + 2, 500); /* DRHD past the end */
    tb_done(&t);
    expect_dmar_error(&t, "has length 500");

    qemu_dmar(&t);
    wr16(t.buf, 48 + 2, 12); /* shorter than a DRHD */
    tb_done(&t);
    expect_dmar_error(&t, "needs 16");

    qemu_dmar(&t);
    t.buf[48 + 16 + 1] = 7; /* odd scope length */
    tb_done(&t);
    expect_dmar_error(&t, "DRHD device scope at offset 16 has length 7");

    qemu_dmar(&t);
    t.buf[48 + 24 + 1] = 10; /* second scope runs past its DRHD */
    tb_done(&t);
    expect_dmar_error(&t, "has length 10");

    qemu_dmar(&t);
    t.buf[48 + 32 + 24 + 1] = 4; /* RMRR scope shorter than a scope header */
    tb_done(&t);
    expect_dmar_error(&t, "RMRR device scope");

    qemu_dmar(&t);
    tb_add(&t, 3);
    tb_done(&t);
    expect_dmar_error(&t, "structure type");
}

static void dmar_unsupported(void **state)
{
    struct tb t;

    qemu_dmar(&t);
    wr64(t.buf, 48 + 32 + 16, 0x7effffff); /* RMRR limit below its base */
    tb_done(&t);
    expect_dmar_error(&t, "limit 0x7effffff lies below base 0x7f000000");

    tb_init(&t, "DMAR", 12);
    dmar_struct(&t, 1, 24);
    tb_done(&t);
    expect_dmar_error(&t, "no remapping hardware unit");

    tb_init(&t, "DMAR", 12);
    u8 *d = dmar_struct(&t, 0, 16);
    wr64(d, 8, 0xfed90010);
    tb_done(&t);
    expect_dmar_error(&t, "invalid register base 0xfed90010");
}


/* A 2-socket, 4-stack Xeon Scalable's DMAR: one DRHD per IIO stack (root buses 0x00, 0x17, 0x3a,
 * 0x5d), socket 1 in segment 1, each stack's root ports as subhierarchy scopes and its I/O APIC;
 * the PCH stack (bus 0) is the INCLUDE_PCI_ALL unit, listed last in its segment, with the HPET and
 * an ACPI namespace device. RMRRs: the xHCI and EHCI controllers' USB legacy buffer (an unaligned
 * base), a BMC VGA function behind root port 00:1c.0 (a two-hop path), a device in segment 1, and
 * everything behind root port 00:1c.4 (a subhierarchy scope). An ATSR and an RHSA per socket are
 * skipped. */
static void scope_path(u8 *at, u8 type, u8 bus, const u8 (*path)[2], u8 hops)
{
    at[0] = type;
    at[1] = (u8)(6 + 2 * hops);
    at[5] = bus;
    for (u8 i = 0; i < hops; i++) {
        at[6 + 2 * i] = path[i][0];
        at[7 + 2 * i] = path[i][1];
    }
}

static void xeon_4stack_dmar(struct tb *t)
{
    static const u8 stack_bus[4] = { 0x17, 0x3a, 0x5d, 0x00 };
    tb_init(t, "DMAR", 12);
    t->buf[36] = 45; /* HAW 46 */
    t->buf[37] = 1 | 2;
    for (u16 seg = 0; seg < 2; seg++) {
        for (int s = 0; s < 4; s++) {
            bool pch = stack_bus[s] == 0;
            u8 *d = dmar_struct(t, 0, (u16)(16 + 8 + 8 + 8 + (pch ? 16 : 0)));
            d[4] = pch ? DMAR_DRHD_INCLUDE_PCI_ALL : 0;
            wr16(d, 6, seg);
            wr64(d, 8, 0xc5ffc000ull - (u64)s * 0x01000000 - (u64)seg * 0x40000000);
            scope(d + 16, 2, 0, stack_bus[s], 0, 0); /* root port subhierarchy */
            scope(d + 24, 2, 0, stack_bus[s], 1, 0);
            scope(d + 32, 3, (u8)(8 + s + seg * 4), stack_bus[s], 5, 4); /* I/O APIC */
            if (pch) {
                scope(d + 40, 4, 0, 0, 0x1f, 0); /* HPET */
                scope(d + 48, 5, 1, 0, 0x15, 0); /* ACPI namespace device (I2C) */
            }
        }
    }
    u8 *r = dmar_struct(t, 1, 24 + 16);
    wr64(r, 8, 0x6e6bc800); /* base not page-aligned: mapped from its page */
    wr64(r, 16, 0x6e6defff);
    scope(r + 24, 1, 0, 0, 0x14, 0);
    scope(r + 32, 1, 0, 0, 0x1a, 0);
    static const u8 bmc[2][2] = { { 0x1c, 0 }, { 0, 0 } };
    r = dmar_struct(t, 1, 24 + 10);
    wr64(r, 8, 0x7a000000);
    wr64(r, 16, 0x7a3fffff);
    scope_path(r + 24, 1, 0, bmc, 2);
    r = dmar_struct(t, 1, 24 + 8);
    wr16(r, 6, 1);
    wr64(r, 8, 0x7b000000);
    wr64(r, 16, 0x7b00ffff);
    scope(r + 24, 1, 0, 0x3a, 2, 0);
    r = dmar_struct(t, 1, 24 + 8);
    wr64(r, 8, 0x7c000000);
    wr64(r, 16, 0x7c0fffff);
    scope(r + 24, 2, 0, 0, 0x1c, 4);
    for (int i = 0; i < 2; i++) {
        dmar_struct(t, 2, 8 + 8); /* ATSR */
        dmar_struct(t, 3, 20);    /* RHSA */
    }
}

static void dmar_two_socket_xeon(void **state)
{
    struct tb t;
    struct dmar_info dm;
    char err[200] = "";

    xeon_4stack_dmar(&t);
    tb_done(&t);
    if (dmar_parse(t.buf, t.len, &dm, heap, err, sizeof(err)))
        fail_msg("%s", err);
    assert_int_equal(dm.haw, 46);
    assert_int_equal(dm.units, 8);
    assert_int_equal(dm.segments, 2);
    assert_true(dm.drhd[3].include_all);
    assert_int_equal(dm.drhd[3].scopes, 5);
    assert_int_equal(dm.drhd[3].scope[3].type, DMAR_SCOPE_HPET);
    assert_int_equal(dm.drhd[3].scope[4].type, DMAR_SCOPE_ACPI_NAMESPACE);
    assert_int_equal(dm.drhd[5].segment, 1);
    assert_int_equal(dm.drhd[5].base, 0xc5ffc000ull - 0x01000000 - 0x40000000);
    assert_int_equal(dm.drhd[5].scope[0].bdf, 0x3a00);
    assert_int_equal(dm.rmrrs, 4);
    assert_int_equal(dm.rmrr[0].scopes, 2);
    assert_int_equal(dm.rmrr[0].scope[1].bdf, 0x00d0);
    assert_int_equal(dm.rmrr[1].scope[0].path_len, 2);
    assert_int_equal(dm.rmrr[1].scope[0].path[0][0], 0x1c);
    assert_int_equal(dm.rmrr[2].segment, 1);
    assert_int_equal(dm.rmrr[3].scope[0].type, DMAR_SCOPE_PCI_SUBHIERARCHY);

    /* An RMRR scope deeper than DMAR_MAX_PATH bridges. */
    static const u8 deep[9][2];
    tb_init(&t, "DMAR", 12);
    wr64(dmar_struct(&t, 0, 16), 8, 0xfed90000);
    u8 *r = dmar_struct(&t, 1, 24 + 6 + 18);
    scope_path(r + 24, 1, 0, deep, 9);
    tb_done(&t);
    expect_dmar_error(&t, "is 9 bridges deep");
}

/* ---------------------------------------------------------------- discovery through the ACPI walker */
struct fw {
    u8 rsdp[36] __attribute__((aligned(16)));
    u8 xsdt[36 + 2 * 8];
    struct tb other, iommu;
};

static void fw_make(struct fw *f, struct tb *iommu)
{
    memset(f, 0, sizeof(*f));
    tb_init(&f->other, "SSDT", 20);
    tb_done(&f->other);
    u32 n = 1;
    wr64(f->xsdt, 36, pa(f->other.buf));
    if (iommu) {
        f->iommu = *iommu;
        wr64(f->xsdt, 44, pa(f->iommu.buf));
        n = 2;
    }
    memcpy(f->xsdt, "XSDT", 4);
    wr32(f->xsdt, 4, 36 + n * 8);
    f->xsdt[9] = (u8)-sum(f->xsdt, 36 + n * 8);
    memcpy(f->rsdp, "RSD PTR ", 8);
    f->rsdp[15] = 2;
    wr32(f->rsdp, 20, 36);
    wr64(f->rsdp, 24, pa(f->xsdt));
    f->rsdp[8] = (u8)-sum(f->rsdp, 20);
    f->rsdp[32] = (u8)-sum(f->rsdp, 36);
}

static void discover_amd_vi(void **state)
{
    static struct fw f;
    struct tb t;
    struct iommu_info io;
    char err[200];

    qemu_ivrs(&t);
    tb_done(&t);
    fw_make(&f, &t);
    loglen = 0;
    assert_int_equal(iommu_discover(pa(f.rsdp), NULL, &io, err, sizeof(err)), 0);
    assert_int_equal(io.kind, IOMMU_AMD_VI);
    assert_string_equal(iommu_kind_name(io.kind), "AMD-Vi");
    assert_int_equal(io.units, 1);
    assert_int_equal(io.unit[0].mmio_base, 0xfed80000);
    assert_int_equal(io.unit[0].mmio_size, KiB(16));
    assert_true(io.unit[0].has_bdf);
    assert_int_equal(io.unit[0].bdf, 0x0010);
    assert_false(io.enabled);
    assert_non_null(strstr(logbuf, "iommu: AMD-Vi 00:02.0 registers 0xfed80000+0x4000"));
}

static void discover_vtd_and_none(void **state)
{
    static struct fw f;
    struct tb t;
    struct iommu_info io;
    char err[200];

    qemu_dmar(&t);
    tb_done(&t);
    fw_make(&f, &t);
    assert_int_equal(iommu_discover(pa(f.rsdp), NULL, &io, err, sizeof(err)), 0);
    assert_int_equal(io.kind, IOMMU_VTD);
    assert_string_equal(iommu_kind_name(io.kind), "VT-d");
    assert_int_equal(io.unit[0].mmio_base, 0xfed90000);
    assert_int_equal(io.unit[0].mmio_size, KiB(4));
    assert_false(io.unit[0].has_bdf);

    fw_make(&f, NULL);
    assert_int_equal(iommu_discover(pa(f.rsdp), NULL, &io, err, sizeof(err)), 0);
    assert_int_equal(io.kind, IOMMU_NONE);
    assert_string_equal(iommu_kind_name(io.kind), "none");
    assert_int_equal(io.units, 0);
    assert_int_equal(iommu_poll_faults(&io), 0);
    assert_int_equal(iommu_enable(&io, &(struct iommu_range){ .size = MiB(2) }, 1, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "no IOMMU"));
}

static void discover_rejects(void **state)
{
    static struct fw f;
    struct tb t;
    struct iommu_info io;
    char err[200] = "";

    /* A broken checksum is caught by the ACPI walker before the parser sees the table. */
    qemu_ivrs(&t);
    tb_done(&t);
    fw_make(&f, &t);
    f.iommu.buf[40] ^= 1;
    assert_int_equal(iommu_discover(pa(f.rsdp), NULL, &io, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "table IVRS at 0x"));
    assert_non_null(strstr(err, "bad checksum"));

    /* A table that is well formed as ACPI but names an unaligned register block: the kind is
     * known (the caller says which table), there are no units. */
    tb_init(&t, "IVRS", 12);
    ivhd(&t, 0x10, 0, 0x0010, 0xfed80800, 1);
    tb_done(&t);
    fw_make(&f, &t);
    assert_int_equal(iommu_discover(pa(f.rsdp), NULL, &io, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "invalid register base"));
    assert_int_equal(io.kind, IOMMU_AMD_VI);
    assert_int_equal(io.units, 0);

    /* A truncated DMAR. */
    qemu_dmar(&t);
    wr16(t.buf, 48 + 2, 400);
    tb_done(&t);
    fw_make(&f, &t);
    assert_int_equal(iommu_discover(pa(f.rsdp), NULL, &io, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "DMAR: structure type 0"));

    assert_int_equal(iommu_discover(0, NULL, &io, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "no RSDP"));
}


/* Configuration space for following RMRR paths: root port 00:1c.0 leads to bus 2, root port
 * 00:1c.4 to buses 3-4; nothing else answers. */
static u32 fake_cfg_read(void *ctx, u16 bdf, u16 off, u8 size)
{
    if (bdf == 0x00e0 && off == 0x19)
        return 2;
    if (bdf == 0x00e4 && off == 0x19)
        return 3;
    if (bdf == 0x00e4 && off == 0x1a)
        return 4;
    return size == 1 ? 0xff : 0xffffffffu;
}
static const struct pci_cfg_access fake_cfg = { .read = fake_cfg_read };

static void discover_two_socket_epyc(void **state)
{
    static struct fw f;
    static struct tb t;
    struct iommu_info io;
    char err[200] = "", why[160];

    epyc_2s_ivrs(&t);
    tb_done(&t);
    fw_make(&f, &t);
    loglen = 0;
    if (iommu_discover(pa(f.rsdp), NULL, &io, err, sizeof(err)))
        fail_msg("%s", err);
    assert_int_equal(io.kind, IOMMU_AMD_VI);
    assert_int_equal(io.units, 8);
    assert_int_equal(io.segments, 2);
    for (u32 i = 0; i < 8; i++) {
        assert_true(io.unit[i].has_bdf);
        assert_int_equal(io.unit[i].segment, i / 4);
        assert_int_equal(io.unit[i].mmio_size, KiB(512));
    }
    /* IVMD 1 and the alias its device uses; IVMD 2 and the alias range inside it; IVMD 3 (all of
     * segment 1) and every alias there. */
    assert_int_equal(io.unities, 3 + 1 + 1 + 8);
    assert_int_equal(io.unity[0].base, 0xa8000000);
    assert_int_equal(io.unity[0].size, 0x10000);
    assert_int_equal(io.unity[0].perms, NPT_READ | NPT_WRITE);
    assert_int_equal(io.unity[1].first, 0x0900); /* 0a:00.0's DMA carries 09:00.0 */
    assert_int_equal(io.unity[2].size, 0x1000);  /* 0x800 bytes: one page */
    assert_int_equal(io.unity[2].perms, NPT_READ);
    assert_int_equal(io.unity[3].first, 0x4100);
    assert_int_equal(io.unity[4].segment, 1);
    assert_int_equal(io.unity[4].perms, NPT_READ | NPT_WRITE); /* exclusion range */
    assert_true(iommu_unity_names(&io, 0, 0x0a00, why, sizeof(why)));
    assert_non_null(strstr(why, "IVMD 0xa8000000-0xa800ffff"));
    assert_true(iommu_unity_names(&io, 1, 0x1234, why, sizeof(why)));
    assert_false(iommu_unity_names(&io, 0, 0x1234, why, sizeof(why)));
    assert_non_null(strstr(logbuf, "iommu: AMD-Vi 20:00.2 registers 0xf1200000+0x80000 (IVHD type 0x40, flags 0xb0, "
                                   "segment 1, 8 device entries)"));
}

static void discover_xeon_rmrr_scopes(void **state)
{
    static struct fw f;
    static struct tb t;
    struct iommu_info io;
    char err[200] = "", why[160];

    xeon_4stack_dmar(&t);
    tb_done(&t);
    fw_make(&f, &t);
    if (iommu_discover(pa(f.rsdp), &fake_cfg, &io, err, sizeof(err)))
        fail_msg("%s", err);
    assert_int_equal(io.kind, IOMMU_VTD);
    assert_int_equal(io.units, 8);
    assert_int_equal(io.segments, 2);
    assert_false(io.unit[0].has_bdf);
    assert_int_equal(io.unresolved, 0);
    assert_int_equal(io.unities, 6);
    assert_int_equal(io.unity[0].base, 0x6e6bc000);
    assert_int_equal(io.unity[0].size, 0x6e6df000 - 0x6e6bc000);
    assert_int_equal(io.unity[0].first, 0x00a0);
    assert_int_equal(io.unity[1].first, 0x00d0);
    assert_int_equal(io.unity[2].first, 0x0200); /* behind 00:1c.0: bus 2, device 0 */
    assert_int_equal(io.unity[3].segment, 1);
    assert_int_equal(io.unity[3].first, 0x3a10);
    assert_int_equal(io.unity[4].first, 0x00e4); /* the bridge, then its buses */
    assert_int_equal(io.unity[5].first, 0x0300);
    assert_int_equal(io.unity[5].last, 0x04ff);
    assert_true(iommu_unity_names(&io, 0, 0x0408, why, sizeof(why)));
    assert_non_null(strstr(why, "RMRR 0x7c000000-0x7c0fffff"));

    /* Without configuration space the two-hop path cannot be followed: logged, not mapped. */
    loglen = 0;
    assert_int_equal(iommu_discover(pa(f.rsdp), NULL, &io, err, sizeof(err)), 0);
    assert_int_equal(io.unresolved, 1);
    assert_int_equal(io.unities, 4);
    assert_non_null(
        strstr(logbuf, "iommu: RMRR 0x7a000000-0x7a3fffff: scope type 1 at bus 00 (2 hops) names no device"));
}

/* ---------------------------------------------------------------- DMA domains */
static hpa_t host_page(void);

static u32 lookup_perms(const struct npt *n, u64 a, u64 *out)
{
    u32 perms = 0;
    if (!npt_lookup(n, a, out, &perms, NULL))
        return 0;
    return perms & (NPT_READ | NPT_WRITE);
}

static void dma_domains_for_unity_maps(void **state)
{
    struct dma_plan p;
    char err[200] = "";
    u64 hpa;
    const struct iommu_range ram = { .gpa = 0, .hpa = GiB(1), .size = MiB(64), .perms = NPT_READ | NPT_WRITE };
    const struct iommu_unity u[] = {
        { .base = 0x7f000000,
          .size = MiB(1),
          .perms = NPT_READ | NPT_WRITE,
          .segment = 0,
          .first = 0xa0,
          .last = 0xa0,
          .source = "RMRR" },
        { .base = 0x7e000000,
          .size = KiB(64),
          .perms = NPT_READ,
          .segment = 0,
          .first = 0xa0,
          .last = 0xaf,
          .source = "IVMD" },
        { .base = 0x7f000000,
          .size = MiB(1),
          .perms = NPT_READ | NPT_WRITE,
          .segment = 1,
          .first = 0x100,
          .last = 0x100,
          .source = "RMRR" },
    };

    if (dma_plan_build(&p, &amd_vi_pt_format, host_page, heap, &ram, 1, u, 3, GiB(2), MiB(16), err, sizeof(err)))
        fail_msg("%s", err);
    assert_int_equal(p.nregions, 2);
    assert_int_equal(p.ndomains, 4); /* everyone; 00:14.0 (both); 00:14.1-15.7 (one); 1:01:00.0 */
    u32 d14 = dma_plan_domain_of(&p, 0, 0xa0), d15 = dma_plan_domain_of(&p, 0, 0xa9),
        ds1 = dma_plan_domain_of(&p, 1, 0x100);
    assert_int_equal(dma_plan_domain_of(&p, 0, 0x9f), 0);
    assert_int_equal(dma_plan_domain_of(&p, 0, 0xb0), 0);
    assert_int_equal(dma_plan_domain_of(&p, 1, 0xa0), 0);
    assert_int_equal(dma_plan_domain_of(&p, 0, 0xaf), d15);
    assert_true(d14 && d15 && ds1 && d14 != d15 && d15 != ds1 && d14 != ds1);
    for (u32 d = 0; d < p.ndomains; d++) {
        assert_int_equal(p.domain[d].id, d + 1);
        assert_int_equal(lookup_perms(&p.domain[d].npt, MiB(3) + 8, &hpa), NPT_READ | NPT_WRITE); /* guest RAM */
        assert_int_equal(hpa, GiB(1) + MiB(3) + 8);
        assert_int_equal(lookup_perms(&p.domain[d].npt, MiB(64), &hpa), 0);
    }
    assert_int_equal(lookup_perms(&p.domain[0].npt, 0x7f000000, &hpa), 0);
    assert_int_equal(lookup_perms(&p.domain[0].npt, 0x7e000000, &hpa), 0);
    assert_int_equal(lookup_perms(&p.domain[d14].npt, 0x7f0ff000, &hpa), NPT_READ | NPT_WRITE);
    assert_int_equal(hpa, 0x7f0ff000); /* at its own address */
    assert_int_equal(lookup_perms(&p.domain[d14].npt, 0x7e00f000, &hpa), NPT_READ);
    assert_int_equal(lookup_perms(&p.domain[d14].npt, 0x7e010000, &hpa), 0);
    assert_int_equal(lookup_perms(&p.domain[d15].npt, 0x7f000000, &hpa), 0);
    assert_int_equal(lookup_perms(&p.domain[d15].npt, 0x7e000000, &hpa), NPT_READ);
    assert_int_equal(lookup_perms(&p.domain[ds1].npt, 0x7f000000, &hpa), NPT_READ | NPT_WRITE);
    assert_int_equal(lookup_perms(&p.domain[ds1].npt, 0x7e000000, &hpa), 0);
    assert_true(dma_plan_bus_special(&p, 0, 0));
    assert_false(dma_plan_bus_special(&p, 0, 1));
    assert_true(dma_plan_bus_special(&p, 1, 1));
    assert_int_equal(dma_plan_top(&p), 0x7f100000);

    /* A guarded module's text page: read-only for every device, whatever its domain. */
    assert_true(dma_plan_set_writable(&p, 0x5000, false));
    for (u32 d = 0; d < p.ndomains; d++)
        assert_int_equal(lookup_perms(&p.domain[d].npt, 0x5000, &hpa), NPT_READ);
    assert_true(dma_plan_set_writable(&p, 0x5000, true));
    assert_int_equal(lookup_perms(&p.domain[d15].npt, 0x5000, &hpa), NPT_READ | NPT_WRITE);
    assert_false(dma_plan_set_writable(&p, MiB(64), false)); /* not guest RAM */
}

static void dma_domains_refuse(void **state)
{
    struct dma_plan p;
    char err[200] = "";
    struct iommu_range ram = { .gpa = 0, .hpa = GiB(1), .size = GiB(3), .perms = NPT_READ | NPT_WRITE };
    struct iommu_unity u = {
        .base = 0x7f000000, .size = MiB(1), .perms = NPT_READ | NPT_WRITE, .first = 0xa0, .last = 0xa0, .source = "RMRR"
    };

    /* Today's layout: the region's address is guest RAM that lives elsewhere. */
    assert_int_equal(dma_plan_build(&p, &amd_vi_pt_format, host_page, heap, &ram, 1, &u, 1, 0, 0, err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "RMRR 0x7f000000-0x7f0fffff for 00:14.0 overlaps guest-physical 0x0-0xbfffffff, "
                                "which is not identity-mapped"));
    u.last = 0xff;
    assert_int_equal(dma_plan_build(&p, &amd_vi_pt_format, host_page, heap, &ram, 1, &u, 1, 0, 0, err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "RMRR 0x7f000000-0x7f0fffff for requester IDs 00a0-00ff overlaps"));
    u.last = 0xa0;
    /* Identity-mapped guest memory: the same region is simply what the range already maps. */
    ram.hpa = 0;
    assert_int_equal(dma_plan_build(&p, &amd_vi_pt_format, host_page, heap, &ram, 1, &u, 1, 0, 0, err, sizeof(err)), 0);
    /* A region over the hypervisor's memory. */
    assert_int_equal(dma_plan_build(&p, &amd_vi_pt_format, host_page, heap, &ram, 0, &u, 1, 0x7f080000, MiB(4), err,
                                    sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "overlaps the hypervisor's memory"));
    /* A range above the walk. */
    ram.gpa = ram.hpa = 1ull << 48;
    assert_int_equal(dma_plan_build(&p, &amd_vi_pt_format, host_page, heap, &ram, 1, NULL, 0, 0, 0, err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "lies above what a 4-level DMA page table covers"));
}

/* ---------------------------------------------------------------- entries */
/* QEMU 7.2's reserved-bit masks (hw/i386/amd_iommu.h, intel_iommu_internal.h): a set bit there
 * makes QEMU refuse the entry. */
#define QEMU_DTE_Q0_RSVD    (0x7cull | BIT(63))
#define QEMU_DTE_Q2_RSVD    (3ull << 52)
#define QEMU_DTE_Q3_RSVD    (0x7fffull | (0x3full << 48))
#define QEMU_CE_RSVD_HI     0xffffffffff000080ull
#define QEMU_CE_RSVD_LO(aw) (0xff0ull | ~((1ull << (aw)) - 1))
#define QEMU_RE_RSVD(aw)    (0xffeull | ~((1ull << (aw)) - 1))

static void amd_vi_device_table_entry(void **state)
{
    u8 dte[32];

    amd_vi_dte(dte, 0x12345000, 4, 1);
    u64 q0 = rd64(dte, 0), q1 = rd64(dte, 8), q2 = rd64(dte, 16), q3 = rd64(dte, 24);
    assert_true(q0 & BIT(0));           /* V */
    assert_true(q0 & BIT(1));           /* TV */
    assert_int_equal((q0 >> 9) & 7, 4); /* Mode: 4 levels */
    assert_int_equal(q0 & 0x000ffffffffff000ull, 0x12345000);
    assert_true(q0 & BIT(61));        /* IR */
    assert_true(q0 & BIT(62));        /* IW */
    assert_int_equal(q1 & 0xffff, 1); /* DomainID */
    assert_int_equal(q1 >> 16, 0);    /* no IOTLB, no suppression, IoCtl and SysMgt blocked */
    assert_int_equal(q2 & 1, 0);      /* IV = 0: interrupts pass untranslated */
    assert_int_equal(q0 & QEMU_DTE_Q0_RSVD, 0);
    assert_int_equal(q2 & QEMU_DTE_Q2_RSVD, 0);
    assert_int_equal(q3 & QEMU_DTE_Q3_RSVD, 0);
}

static void vtd_root_and_context_entries(void **state)
{
    u64 re[2], ce[2];

    vtd_root_entry(re, 0x7654000);
    assert_int_equal(re[0], 0x7654000 | 1);
    assert_int_equal(re[1], 0);
    assert_int_equal(re[0] & QEMU_RE_RSVD(39) & ~1ull, 0);

    vtd_context_entry(ce, 0x1234000, 3, VTD_DOMAIN);
    assert_int_equal(ce[0] & 1, 1);        /* P */
    assert_int_equal(ce[0] & 2, 0);        /* FPD = 0: faults recorded */
    assert_int_equal((ce[0] >> 2) & 3, 0); /* TT = 00b: translate, never pass through */
    assert_int_equal(ce[0] & ~0xfffull, 0x1234000);
    assert_int_equal(ce[1] & 7, 1);             /* AW = 1: 39-bit, 3-level */
    assert_int_equal((ce[1] >> 8) & 0xffff, 1); /* domain 1 */
    assert_int_equal(ce[0] & QEMU_CE_RSVD_LO(39), 0);
    assert_int_equal(ce[1] & QEMU_CE_RSVD_HI, 0);

    vtd_context_entry(ce, 0x1234000, 4, 7);
    assert_int_equal(ce[1] & 7, 2); /* AW = 2: 48-bit, 4-level */
    assert_int_equal((ce[1] >> 8) & 0xffff, 7);

    assert_int_equal(vtd_levels(0x2ull << 8), 3); /* QEMU's default aw-bits=39 */
    assert_int_equal(vtd_levels(0x6ull << 8), 4); /* aw-bits=48 */
    assert_int_equal(vtd_levels(0x8ull << 8), 0); /* 5-level only */
}

/* ---------------------------------------------------------------- DMA page tables */
static void *pages[70000];
static int npages;

static hpa_t host_pages(u64 n)
{
    void *p = aligned_alloc(4096, n * 4096);
    assert_non_null(p);
    memset(p, 0, n * 4096);
    pages[npages++] = p;
    return pa(p);
}
static hpa_t host_page(void) { return host_pages(1); }

static int free_pages(void **state)
{
    while (npages)
        free(pages[--npages]);
    return 0;
}

/* The AMD-Vi walk as the IOMMU (and QEMU 7.2's amdvi_page_walk) does it: the DTE's Mode gives
 * the first level, every entry on the way needs PR and the access's IR/IW, NextLevel names the
 * level of the table it points to, NextLevel 0 is a page sized by the level it sits in. Addresses
 * above what Mode covers fault (48882 §2.2.3); QEMU 7.2 does not check this and wraps them onto
 * the same table, which still reaches only guest RAM (docs/iommu.md). */
static bool amd_walk(const u8 *dte, u64 dva, bool write, u64 *out)
{
    u64 e = rd64(dte, 0);
    u64 need = write ? BIT(62) : BIT(61);
    int level = (int)((e >> 9) & 7);

    if (!(e & 1) || !(e & 2) || (dva >> (12 + 9 * level)) != 0)
        return false;
    while (level > 0) {
        if (!(e & 1) || !(e & need))
            return false;
        const u64 *t = (const u64 *)(uintptr_t)(e & 0x000ffffffffff000ull);
        int shift = 12 + 9 * (level - 1);
        u64 next = t[(dva >> shift) & 511];
        int nl = (int)((next >> 9) & 7);
        if (nl == 0) {
            if (!(next & 1) || !(next & need))
                return false;
            u64 size = 1ull << shift;
            *out = (next & 0x000ffffffffff000ull & ~(size - 1)) | (dva & (size - 1));
            return true;
        }
        assert_int_equal(nl, level - 1); /* the builder never skips levels */
        e = next;
        level = nl;
    }
    return false;
}

/* The VT-d second-level walk (§3.7, QEMU's vtd_iova_to_slpte): levels from the context entry's
 * AW, R/W checked at every level, PS ends the walk early, addresses above the AGAW fault. */
static bool vtd_walk(const u64 ce[2], u64 iova, bool write, u64 *out)
{
    int level = (int)(ce[1] & 7) + 2;
    u64 need = write ? 2 : 1;
    const u64 *t = (const u64 *)(uintptr_t)(ce[0] & ~0xfffull);

    if (iova >> (12 + 9 * level))
        return false;
    for (;;) {
        int shift = 12 + 9 * (level - 1);
        u64 e = t[(iova >> shift) & 511];
        if (!(e & need))
            return false;
        if (level == 1 || (e & BIT(7))) {
            assert_true(level <= 2);        /* we only make 2 MiB large pages */
            assert_int_equal(e & 0x800, 0); /* SNP: reserved in QEMU without snoop-control */
            u64 size = 1ull << shift;
            assert_int_equal(e & (size - 1) & ~0xfffull, 0); /* large-page address bits 20:12 zero */
            *out = (e & 0x000ffffffffff000ull & ~(size - 1)) | (iova & (size - 1));
            return true;
        }
        assert_int_equal(e & 0x880, 0);
        t = (const u64 *)(uintptr_t)(e & 0x000ffffffffff000ull);
        level--;
    }
}

/* Guest RAM of `size` at host `hpa`: every page maps, reads and writes, to hpa + gpa; the pages
 * around it and far above it do not. checker walks one address like the hardware. */
static void check_guest_ram(const struct npt *n, u64 size, u64 hpa, bool (*walk)(const void *ctx, u64, bool, u64 *),
                            const void *ctx)
{
    u64 out;
    for (u64 g = 0; g < size; g += 4096) {
        u64 probe = g + ((g / 4096) % 4096); /* a different offset in each page */
        assert_true(walk(ctx, probe, true, &out));
        assert_int_equal(out, hpa + probe);
        assert_true(walk(ctx, probe, false, &out));
        u32 perms;
        assert_true(npt_lookup(n, probe, &out, &perms, NULL));
        assert_int_equal(perms & (NPT_READ | NPT_WRITE), NPT_READ | NPT_WRITE);
    }
    const u64 outside[] = { size,
                            size + 4095,
                            size + MiB(2),
                            GiB(1),
                            GiB(4),
                            npt_limit(n) - 4096,
                            npt_limit(n),
                            npt_limit(n) + size / 2,
                            ~0ull & ~0xfffull };
    for (size_t i = 0; i < ARRAY_SIZE(outside); i++) {
        assert_false(walk(ctx, outside[i], true, &out));
        assert_false(walk(ctx, outside[i], false, &out));
    }
}

static bool amd_walk_ctx(const void *ctx, u64 a, bool w, u64 *o) { return amd_walk(ctx, a, w, o); }
static bool vtd_walk_ctx(const void *ctx, u64 a, bool w, u64 *o) { return vtd_walk(ctx, a, w, o); }

static void amd_vi_tables_map_guest_ram_only(void **state)
{
    const u64 sizes[] = { MiB(6), MiB(6) + 0x3000 };
    for (size_t s = 0; s < ARRAY_SIZE(sizes); s++) {
        struct npt n;
        u8 dte[32];
        u64 hpa = s == 0 ? GiB(3) : GiB(3) + 0x5000; /* 2 MiB aligned (large pages) or not */
        assert_true(npt_init(&n, &amd_vi_pt_format, host_page));
        assert_true(npt_map(&n, 0, hpa, sizes[s], NPT_READ | NPT_WRITE));
        amd_vi_dte(dte, n.root, amd_vi_pt_format.levels, AMD_VI_DOMAIN);
        check_guest_ram(&n, sizes[s], hpa, amd_walk_ctx, dte);
        int level;
        assert_true(npt_lookup(&n, MiB(2), NULL, NULL, &level));
        assert_int_equal(level, s == 0 ? 2 : 1);
    }
}

static void vtd_tables_map_guest_ram_only(void **state)
{
    for (int levels = 3; levels <= 4; levels++)
        for (int large = 0; large <= 1; large++) {
            struct npt n;
            u64 ce[2], hpa = GiB(2) + (large ? 0 : 0x7000);
            assert_true(npt_init(&n, vtd_pt_format(levels, large), host_page));
            assert_int_equal(npt_limit(&n), levels == 3 ? GiB(512) : GiB(512) * 512);
            assert_true(npt_map(&n, 0, hpa, MiB(6), NPT_READ | NPT_WRITE));
            vtd_context_entry(ce, n.root, levels, VTD_DOMAIN);
            check_guest_ram(&n, MiB(6), hpa, vtd_walk_ctx, ce);
            int level;
            assert_true(npt_lookup(&n, MiB(4) + 1, NULL, NULL, &level));
            assert_int_equal(level, large ? 2 : 1);
        }
    assert_null(vtd_pt_format(5, false));
}

/* A permission-less leaf is no leaf at all in both formats (nothing is "present but blocked"). */
static void no_perms_means_absent(void **state)
{
    assert_int_equal(amd_vi_pt_format.leaf_entry(0x1000, 1, 0), 0);
    assert_int_equal(vtd_pt_format(3, true)->leaf_entry(0x1000, 1, 0), 0);
    u64 ro = amd_vi_pt_format.leaf_entry(0x1000, 1, NPT_READ);
    assert_int_equal(amd_vi_pt_format.perms(ro), NPT_READ);
    assert_false(ro & BIT(62));
    u64 wo = vtd_pt_format(4, false)->leaf_entry(0x200000, 2, NPT_WRITE);
    assert_int_equal(vtd_pt_format(4, false)->perms(wo), NPT_WRITE);
    assert_true(wo & BIT(7));
}

static void amd_vi_device_table(void **state)
{
    u8 dte[32];
    hpa_t t = amd_vi_build_devtab(0xabcd000, 4, AMD_VI_DOMAIN, host_pages);

    assert_true(t && t % 4096 == 0);
    amd_vi_dte(dte, 0xabcd000, 4, AMD_VI_DOMAIN);
    for (u32 i = 0; i < AMD_VI_DEVICE_IDS; i++)
        assert_memory_equal((u8 *)(uintptr_t)t + i * 32, dte, 32); /* no DTE with V = 0 */
}

static void vtd_root_and_context_tables(void **state)
{
    u64 ce[2];
    hpa_t root = vtd_build_tables(0x5555000, 3, VTD_DOMAIN, host_pages);

    assert_true(root);
    vtd_context_entry(ce, 0x5555000, 3, VTD_DOMAIN);
    const u64 *r = (const u64 *)(uintptr_t)root;
    for (int bus = 0; bus < 256; bus++) {
        assert_true(r[bus * 2] & 1);
        assert_int_equal(r[bus * 2 + 1], 0);
        const u64 *c = (const u64 *)(uintptr_t)(r[bus * 2] & ~0xfffull);
        for (int devfn = 0; devfn < 256; devfn++) {
            assert_int_equal(c[devfn * 2], ce[0]);
            assert_int_equal(c[devfn * 2 + 1], ce[1]);
        }
    }
}

/* Out of memory: the table builders say so instead of writing through a null page. */
static hpa_t no_pages(u64 n) { return 0; }

static void out_of_memory(void **state)
{
    assert_int_equal(amd_vi_build_devtab(0x1000, 4, 1, no_pages), 0);
    assert_int_equal(vtd_build_tables(0x1000, 3, 1, no_pages), 0);
}

/* The tables that point requesters at their domains: walked as the hardware walks them, the named
 * device reaches its region at its own address and guest RAM; its neighbour, another bus and the
 * other segment's devices reach guest RAM only. */
static void domain_tables_point_requesters_at_domains(void **state)
{
    struct dma_plan p;
    char err[200] = "";
    u64 out, pages = 0;
    const struct iommu_range ram = { .gpa = 0, .hpa = GiB(1), .size = MiB(64), .perms = NPT_READ | NPT_WRITE };
    const struct iommu_unity u[] = {
        { .base = 0x7f000000,
          .size = MiB(1),
          .perms = NPT_READ | NPT_WRITE,
          .first = 0xa0,
          .last = 0xa0,
          .source = "RMRR" },
        { .base = 0x7e000000,
          .size = MiB(1),
          .perms = NPT_READ | NPT_WRITE,
          .segment = 1,
          .first = 0x300,
          .last = 0x3ff,
          .source = "IVMD" },
    };

    assert_int_equal(dma_plan_build(&p, &amd_vi_pt_format, host_page, heap, &ram, 1, u, 2, 0, 0, err, sizeof(err)), 0);
    const u8 *t0 = (const u8 *)(uintptr_t)domain_amd_vi_devtab(&p, 0, host_pages);
    const u8 *t1 = (const u8 *)(uintptr_t)domain_amd_vi_devtab(&p, 1, host_pages);
    assert_non_null(t0);
    assert_non_null(t1);
    assert_true(amd_walk(t0 + 0xa0 * 32, 0x7f000010, true, &out));
    assert_int_equal(out, 0x7f000010);
    assert_int_equal(rd64(t0 + 0xa0 * 32, 8) & 0xffff, p.domain[dma_plan_domain_of(&p, 0, 0xa0)].id);
    assert_true(amd_walk(t0 + 0xa0 * 32, 0x1000, false, &out));
    assert_int_equal(out, GiB(1) + 0x1000);
    assert_false(amd_walk(t0 + 0xa1 * 32, 0x7f000010, true, &out));
    assert_false(amd_walk(t0 + 0x380 * 32, 0x7e000000, false, &out)); /* segment 0's 03:10.0 */
    assert_true(amd_walk(t1 + 0x380 * 32, 0x7e000000, false, &out));
    assert_false(amd_walk(t1 + 0xa0 * 32, 0x7f000010, false, &out)); /* segment 1's 00:14.0 */
    assert_true(amd_walk(t1 + 0xffff * 32, 0x2000, true, &out));

    assert_int_equal(dma_plan_build(&p, vtd_pt_format(3, true), host_page, heap, &ram, 1, u, 2, 0, 0, err, sizeof(err)),
                     0);
    const u64 *r0 = (const u64 *)(uintptr_t)domain_vtd_root(&p, 0, 3, host_pages, &pages);
    const u64 *r1 = (const u64 *)(uintptr_t)domain_vtd_root(&p, 1, 3, host_pages, &pages);
    assert_non_null(r0);
    assert_non_null(r1);
    assert_int_equal(pages, 2 + 1 + 2 + 1); /* root + shared context each, bus 0 / bus 3 private */
    const u64 *c00 = (const u64 *)(uintptr_t)(r0[0] & ~0xfffull), *c01 = (const u64 *)(uintptr_t)(r0[2] & ~0xfffull);
    assert_ptr_not_equal(c00, c01);
    assert_ptr_equal(c01, (const u64 *)(uintptr_t)(r0[2 * 0xff] & ~0xfffull)); /* the shared one */
    assert_true(vtd_walk(c00 + 2 * 0xa0, 0x7f0ff000, true, &out));
    assert_int_equal(out, 0x7f0ff000);
    assert_int_equal((c00[2 * 0xa0 + 1] >> 8) & 0xffff, p.domain[dma_plan_domain_of(&p, 0, 0xa0)].id);
    assert_false(vtd_walk(c00 + 2 * 0xa1, 0x7f0ff000, true, &out));
    assert_true(vtd_walk(c00 + 2 * 0xa1, 0x3000, true, &out));
    assert_int_equal((c00[2 * 0xa1 + 1] >> 8) & 0xffff, 1);
    const u64 *c13 = (const u64 *)(uintptr_t)(r1[2 * 3] & ~0xfffull);
    assert_true(vtd_walk(c13 + 2 * 0x80, 0x7e000000, false, &out));
    assert_false(vtd_walk((const u64 *)(uintptr_t)(r1[0] & ~0xfffull) + 2 * 0xa0, 0x7f000000, false, &out));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ivrs_qemu_table),
        cmocka_unit_test(ivrs_highest_type_wins),
        cmocka_unit_test(ivrs_malformed),
        cmocka_unit_test(ivrs_unsupported),
        cmocka_unit_test(ivrs_two_socket_epyc),
        cmocka_unit_test(dmar_qemu_table),
        cmocka_unit_test(dmar_two_units),
        cmocka_unit_test(dmar_malformed),
        cmocka_unit_test(dmar_unsupported),
        cmocka_unit_test(dmar_two_socket_xeon),
        cmocka_unit_test(discover_amd_vi),
        cmocka_unit_test(discover_vtd_and_none),
        cmocka_unit_test(discover_rejects),
        cmocka_unit_test(discover_two_socket_epyc),
        cmocka_unit_test(discover_xeon_rmrr_scopes),
        cmocka_unit_test_teardown(dma_domains_for_unity_maps, free_pages),
        cmocka_unit_test_teardown(dma_domains_refuse, free_pages),
        cmocka_unit_test(amd_vi_device_table_entry),
        cmocka_unit_test(vtd_root_and_context_entries),
        cmocka_unit_test_teardown(amd_vi_tables_map_guest_ram_only, free_pages),
        cmocka_unit_test_teardown(vtd_tables_map_guest_ram_only, free_pages),
        cmocka_unit_test(no_perms_means_absent),
        cmocka_unit_test_teardown(amd_vi_device_table, free_pages),
        cmocka_unit_test_teardown(vtd_root_and_context_tables, free_pages),
        cmocka_unit_test(out_of_memory),
        cmocka_unit_test_teardown(domain_tables_point_requesters_at_domains, free_pages),
    };
    /* Discovery takes its arrays from the hypervisor's page pool. */
    static u8 pool[MiB(8)] __attribute__((aligned(4096)));
    page_alloc_init(&hv_pages, pa(pool), sizeof(pool));
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    while (heap_count)
        free(heap_blocks[--heap_count]);
    return failed;
}
