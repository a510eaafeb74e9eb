/* UNIT-SOURCES: drivers/iommu/iommu.c drivers/iommu/ivrs.c drivers/iommu/dmar.c drivers/iommu/amd_vi.c drivers/iommu/vtd.c hv/platform/acpi_host.c hv/core/npt.c hv/lib/page_alloc.c hv/lib/fmt.c */
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
    assert_int_equal(ivrs_parse(t->buf, t->len, &iv, err, sizeof(err)), -1);
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
    assert_int_equal(ivrs_parse(t.buf, t.len, &iv, err, sizeof(err)), 0);
    assert_int_equal(iv.type, 0x10);
    assert_int_equal(iv.units, 1);
    assert_int_equal(iv.unit[0].devid, 0x0010);
    assert_int_equal(iv.unit[0].base, 0xfed80000);
    assert_int_equal(iv.unit[0].mmio_size, KiB(16));
    assert_int_equal(iv.unit[0].flags, 0xd1);
    assert_int_equal(iv.unit[0].cap_offset, 0x40);
    assert_false(iv.unit[0].has_efr);
    assert_int_equal(iv.ivinfo, 40u << 8);
    assert_int_equal(iv.ivmd_blocks, 0);
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
    assert_int_equal(ivrs_parse(t.buf, t.len, &iv, err, sizeof(err)), 0);
    assert_int_equal(iv.type, 0x11);
    assert_int_equal(iv.units, 1);
    assert_true(iv.unit[0].has_efr);
    assert_int_equal(iv.unit[0].efr, BIT(9) | BIT(6));
    assert_int_equal(iv.unit[0].mmio_size, KiB(512));
    assert_int_equal(iv.unit[0].flags, 0x3);
    assert_int_equal(iv.ivmd_blocks, 1);
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
    ivhd(&t, 0x10, 0, 0x0010, 0xfed80000, 1);
    tb_done(&t);
    expect_ivrs_error(&t, "PCI segment 1; only segment 0 is supported");

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

    tb_init(&t, "IVRS", 12);
    for (int i = 0; i < 5; i++)
        ivhd(&t, 0x10, 0, (u16)(0x10 + i), 0xfed80000 + i * 0x80000, 0);
    tb_done(&t);
    expect_ivrs_error(&t, "more than 4 IOMMUs");
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
    assert_int_equal(dmar_parse(t->buf, t->len, &dm, err, sizeof(err)), -1);
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
    assert_int_equal(dmar_parse(t.buf, t.len, &dm, err, sizeof(err)), 0);
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
    assert_int_equal(dmar_parse(t.buf, t.len, &dm, err, sizeof(err)), 0);
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
    wr16(t.buf, 48 + 6, 2);
    tb_done(&t);
    expect_dmar_error(&t, "PCI segment 2; only segment 0 is supported");

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
    assert_int_equal(iommu_discover(pa(f.rsdp), &io, err, sizeof(err)), 0);
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
    assert_int_equal(iommu_discover(pa(f.rsdp), &io, err, sizeof(err)), 0);
    assert_int_equal(io.kind, IOMMU_VTD);
    assert_string_equal(iommu_kind_name(io.kind), "VT-d");
    assert_int_equal(io.unit[0].mmio_base, 0xfed90000);
    assert_int_equal(io.unit[0].mmio_size, KiB(4));
    assert_false(io.unit[0].has_bdf);

    fw_make(&f, NULL);
    assert_int_equal(iommu_discover(pa(f.rsdp), &io, err, sizeof(err)), 0);
    assert_int_equal(io.kind, IOMMU_NONE);
    assert_string_equal(iommu_kind_name(io.kind), "none");
    assert_int_equal(io.units, 0);
    assert_int_equal(iommu_poll_faults(&io), 0);
    assert_int_equal(iommu_enable(&io, &(struct guest_mem){ .ranges = &(struct gmem_range){ 0, MiB(2) }, .count = 1 },
                                  err, sizeof(err)),
                     -1);
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
    assert_int_equal(iommu_discover(pa(f.rsdp), &io, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "table IVRS at 0x"));
    assert_non_null(strstr(err, "bad checksum"));

    /* A table that is well formed as ACPI but names segment 1. */
    tb_init(&t, "IVRS", 12);
    ivhd(&t, 0x10, 0, 0x0010, 0xfed80000, 1);
    tb_done(&t);
    fw_make(&f, &t);
    assert_int_equal(iommu_discover(pa(f.rsdp), &io, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "only segment 0"));
    assert_int_equal(io.kind, IOMMU_NONE);

    /* A truncated DMAR. */
    qemu_dmar(&t);
    wr16(t.buf, 48 + 2, 400);
    tb_done(&t);
    fw_make(&f, &t);
    assert_int_equal(iommu_discover(pa(f.rsdp), &io, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "DMAR: structure type 0"));

    assert_int_equal(iommu_discover(0, &io, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "no RSDP"));
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ivrs_qemu_table),
        cmocka_unit_test(ivrs_highest_type_wins),
        cmocka_unit_test(ivrs_malformed),
        cmocka_unit_test(ivrs_unsupported),
        cmocka_unit_test(dmar_qemu_table),
        cmocka_unit_test(dmar_two_units),
        cmocka_unit_test(dmar_malformed),
        cmocka_unit_test(dmar_unsupported),
        cmocka_unit_test(discover_amd_vi),
        cmocka_unit_test(discover_vtd_and_none),
        cmocka_unit_test(discover_rejects),
        cmocka_unit_test(amd_vi_device_table_entry),
        cmocka_unit_test(vtd_root_and_context_entries),
        cmocka_unit_test_teardown(amd_vi_tables_map_guest_ram_only, free_pages),
        cmocka_unit_test_teardown(vtd_tables_map_guest_ram_only, free_pages),
        cmocka_unit_test(no_perms_means_absent),
        cmocka_unit_test_teardown(amd_vi_device_table, free_pages),
        cmocka_unit_test_teardown(vtd_root_and_context_tables, free_pages),
        cmocka_unit_test(out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
