/* UNIT-SOURCES: hv/platform/acpi_guest.c hv/platform/acpi_host.c hv/lib/fmt.c */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <cmocka.h>

#include "platform/acpi_guest.h"
#include "lib/bytes.h"
#include "core/guest_layout.h"
#include "lib/log.h"
#include "test_guest_ram.h"


static u64 pa(const void *p) { return (u64)(uintptr_t)p; }

static u8 sum(const u8 *p, u64 n)
{
    u8 s = 0;
    while (n--)
        s += *p++;
    return s;
}

/* ---------------------------------------------------------------- firmware tables in a host buffer */
#define HOST_BUF MiB(4)

struct fw {
    u8 *buf;
    size_t used;
    bool low; /* buffer below 4 GiB (RSDT tests) */
    u8 *rsdp, *root, *fadt, *dsdt, *facs, *madt, *ivrs, *mcfg;
};

static u8 *fw_alloc(struct fw *f, size_t len, size_t align)
{
    f->used = (f->used + align - 1) & ~(align - 1);
    assert_true(f->used + len <= HOST_BUF);
    u8 *p = f->buf + f->used;
    f->used += len;
    return p;
}

static u8 *table(struct fw *f, const char *sig, u32 len)
{
    u8 *t = fw_alloc(f, len, 8);
    memcpy(t, sig, 4);
    wr32(t, 4, len);
    t[8] = 2;
    memcpy(t + 10, "POSTRN", 6);
    memcpy(t + 16, "TESTTABL", 8);
    for (u32 i = 36; i < len; i++)
        t[i] = (u8)(i * 13 + sig[0]);
    return t;
}

static void fix(u8 *t)
{
    t[9] = 0;
    t[9] = (u8)-sum(t, rd32(t, 4));
}

static void fix_rsdp(struct fw *f)
{
    u8 *r = f->rsdp;
    r[8] = 0;
    r[8] = (u8)-sum(r, 20);
    if (r[15] >= 2) {
        r[32] = 0;
        r[32] = (u8)-sum(r, 36);
    }
}

static void madt_entry(u8 *madt, u32 *off, const u8 *e, u8 len)
{
    memcpy(madt + *off, e, len);
    *off += len;
}

/* A 4-CPU MADT: LAPICs with APIC IDs 0, 2, 4, 6 (UIDs 0..3), an I/O APIC, two interrupt source
 * overrides and LAPIC NMI entries for all CPUs, for UID 1 and for UID 3. */
static u8 *make_madt(struct fw *f)
{
    u8 *m = table(f, "APIC", 512);
    u32 off = 44;
    wr32(m, 36, 0xfee00000);
    wr32(m, 40, 1);
    for (u8 i = 0; i < 4; i++) {
        u8 lapic[8] = { 0, 8, i, (u8)(i * 2), 1, 0, 0, 0 };
        madt_entry(m, &off, lapic, 8);
    }
    u8 ioapic[12] = { 1, 12, 0x21, 0, 0, 0, 0xc0, 0xfe, 0, 0, 0, 0 };
    madt_entry(m, &off, ioapic, 12);
    u8 iso0[10] = { 2, 10, 0, 0, 2, 0, 0, 0, 0, 0 };
    u8 iso9[10] = { 2, 10, 0, 9, 9, 0, 0, 0, 0x0d, 0 };
    madt_entry(m, &off, iso0, 10);
    madt_entry(m, &off, iso9, 10);
    u8 nmi_all[6] = { 4, 6, 0xff, 5, 0, 1 };
    u8 nmi_1[6] = { 4, 6, 1, 5, 0, 1 };
    u8 nmi_3[6] = { 4, 6, 3, 5, 0, 1 };
    madt_entry(m, &off, nmi_all, 6);
    madt_entry(m, &off, nmi_1, 6);
    madt_entry(m, &off, nmi_3, 6);
    wr32(m, 4, off);
    fix(m);
    return m;
}

/* RSDP (rev 2) -> XSDT -> FACP (-> DSDT, FACS), APIC, IVRS, MCFG. With low, an ACPI 1.0 layout
 * instead: RSDP rev 0 -> RSDT, a 116-byte FADT with 32-bit pointers. */
static struct fw make_fw(bool low)
{
    struct fw f = { .low = low };

    if (low) {
        f.buf = mmap(NULL, HOST_BUF, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
        assert_true(f.buf != MAP_FAILED);
    } else {
        f.buf = aligned_alloc(4096, HOST_BUF);
        assert_non_null(f.buf);
    }
    memset(f.buf, 0, HOST_BUF);

    f.dsdt = table(&f, "DSDT", 300);
    fix(f.dsdt);
    f.facs = fw_alloc(&f, 64, 64);
    memcpy(f.facs, "FACS", 4);
    wr32(f.facs, 4, 64);
    wr32(f.facs, 8, 0x12345678); /* hardware signature */

    f.fadt = table(&f, "FACP", low ? 116 : 276);
    memset(f.fadt + 36, 0, rd32(f.fadt, 4) - 36);
    wr32(f.fadt, 64, 0x404); /* PM1a_CNT_BLK */
    wr32(f.fadt, 48, 0xb2);  /* SMI_CMD, ACPI_ENABLE, ACPI_DISABLE, S4BIOS_REQ, PSTATE_CNT */
    f.fadt[52] = 0xf1, f.fadt[53] = 0xf0, f.fadt[54] = 0xf2, f.fadt[55] = 0x80;
    if (!low)
        f.fadt[95] = 0x85;      /* CST_CNT (ACPI 2.0) */
    wr32(f.fadt, 112, BIT(10)); /* RESET_REG_SUP */
    if (low) {
        wr32(f.fadt, 36, (u32)pa(f.facs));
        wr32(f.fadt, 40, (u32)pa(f.dsdt));
    } else {
        u8 *rr = f.fadt + 116; /* RESET_REG: I/O 0xcf9, value 6 */
        rr[0] = 1;
        rr[1] = 8;
        rr[3] = 1;
        wr64(rr, 4, 0xcf9);
        f.fadt[128] = 6;
        wr64(f.fadt, 132, pa(f.facs));
        wr64(f.fadt, 140, pa(f.dsdt));
        u8 *x1a = f.fadt + 172; /* X_PM1a_CNT_BLK: I/O 0x1804 overrides the 32-bit field */
        x1a[0] = 1;
        x1a[1] = 16;
        x1a[3] = 2;
        wr64(x1a, 4, 0x1804);
    }
    fix(f.fadt);

    f.madt = make_madt(&f);
    f.ivrs = table(&f, "IVRS", 48);
    fix(f.ivrs);
    /* MCFG with two windows: segment 0 buses 0-255 at 0xb0000000, and buses 0x10-0x1f at
     * 0xe0000000 (reported from bus 0x10 on); 60 bytes would hold only the first. */
    f.mcfg = table(&f, "MCFG", 76);
    memset(f.mcfg + 36, 0, 76 - 36);
    wr64(f.mcfg, 44, 0xb0000000);
    f.mcfg[44 + 11] = 0xff;
    wr64(f.mcfg, 60, 0xe0000000);
    f.mcfg[60 + 10] = 0x10;
    f.mcfg[60 + 11] = 0x1f;
    fix(f.mcfg);

    u8 *tabs[] = { f.fadt, f.madt, f.ivrs, f.mcfg };
    u32 es = low ? 4 : 8;
    f.root = table(&f, low ? "RSDT" : "XSDT", 36 + 4 * es);
    for (int i = 0; i < 4; i++) {
        if (low)
            wr32(f.root, 36 + i * 4, (u32)pa(tabs[i]));
        else
            wr64(f.root, 36 + i * 8, pa(tabs[i]));
    }
    fix(f.root);

    f.rsdp = fw_alloc(&f, 36, 16);
    memcpy(f.rsdp, "RSD PTR ", 8);
    memcpy(f.rsdp + 9, "POSTRN", 6);
    if (low) {
        wr32(f.rsdp, 16, (u32)pa(f.root));
    } else {
        f.rsdp[15] = 2;
        wr32(f.rsdp, 20, 36);
        wr64(f.rsdp, 24, pa(f.root));
    }
    fix_rsdp(&f);
    return f;
}

static void free_fw(struct fw *f)
{
    if (f->low)
        munmap(f->buf, HOST_BUF);
    else
        free(f->buf);
}

/* The guest: RAM ending at GUEST_TOP (test_guest_ram.h), its last MiB the ACPI area, as the
 * loader sets one aside below 4 GiB. */
#define GUEST_TOP 0xa0000000ull /* below the fixture's ECAM window at 0xb0000000 */
static struct test_guest guest;
static gpa_t area;

static const struct guest_mem *new_guest_at(gpa_t base, u64 size, gpa_t area_base)
{
    test_guest_free(&guest);
    assert_true(test_guest_init(&guest, base, size));
    area = area_base;
    return &guest.gm;
}

static const struct guest_mem *new_guest(u64 size)
{
    return new_guest_at(GUEST_TOP - size, size, GUEST_TOP - ACPI_GUEST_AREA_SIZE);
}

static u8 *hva(gpa_t gpa) { return test_guest_hva(&guest, gpa); }

static void free_guest(const struct guest_mem *gm) { test_guest_free(&guest); }

/* ---------------------------------------------------------------- reading the guest's copy */
static const u8 *gtab(const struct guest_mem *gm, u64 gpa)
{
    /* Inside the ACPI area, with a valid checksum. */
    assert_true(gpa >= area);
    assert_true(gpa + 36 <= area + ACPI_GUEST_AREA_SIZE);
    const u8 *t = hva(gpa);
    assert_true(gpa + rd32(t, 4) <= area + ACPI_GUEST_AREA_SIZE);
    assert_int_equal(sum(t, rd32(t, 4)), 0);
    return t;
}

static const u8 *find(const struct guest_mem *gm, const u8 *root, bool x, const char *sig)
{
    u32 n = (rd32(root, 4) - 36) / (x ? 8 : 4);
    const u8 *found = NULL;
    for (u32 i = 0; i < n; i++) {
        u64 gpa = x ? rd64(root, 36 + i * 8) : rd32(root, 36 + i * 4);
        const u8 *t = gtab(gm, gpa);
        if (memcmp(t, sig, 4) == 0) {
            assert_null(found);
            found = t;
        }
    }
    return found;
}

struct madt_counts {
    u32 lapic, x2apic, ioapic, iso, nmi, x2nmi;
    u32 lapic_id, x2apic_id;
    u8 nmi_uids[8];
};

static struct madt_counts count_madt(const u8 *m)
{
    struct madt_counts c = { 0 };
    u32 len = rd32(m, 4);
    for (u32 off = 44; off < len; off += m[off + 1]) {
        assert_true(m[off + 1] >= 2 && off + m[off + 1] <= len);
        switch (m[off]) {
        case 0:
            c.lapic++;
            c.lapic_id = m[off + 3];
            break;
        case 1:
            c.ioapic++;
            break;
        case 2:
            c.iso++;
            break;
        case 4:
            if (c.nmi < 8)
                c.nmi_uids[c.nmi] = m[off + 2];
            c.nmi++;
            break;
        case 9:
            c.x2apic++;
            c.x2apic_id = rd32(m, off + 4);
            break;
        case 0xa:
            c.x2nmi++;
            break;
        }
    }
    return c;
}

static void test_xsdt_copy(void **state)
{
    struct fw f = make_fw(false);
    const struct guest_mem *gm = new_guest(MiB(64));
    struct acpi_guest_info info;
    char err[256] = "";

    assert_int_equal(acpi_guest_build(gm, area, pa(f.rsdp), 2, &info, err, sizeof(err)), 0);

    /* RSDP: both checksums, XSDT in the area */
    assert_true(info.rsdp_gpa >= area && info.rsdp_gpa % 16 == 0);
    const u8 *r = hva(info.rsdp_gpa);
    assert_memory_equal(r, "RSD PTR ", 8);
    assert_int_equal(sum(r, 20), 0);
    assert_int_equal(sum(r, 36), 0);
    assert_int_equal(r[15], 2);
    const u8 *x = gtab(gm, rd64(r, 24));
    assert_memory_equal(x, "XSDT", 4);

    /* IVRS gone, MCFG kept as it is (its windows are trapped, not mapped), the rest there */
    assert_int_equal(info.tables, 3);
    assert_int_equal(rd32(x, 4), 36 + 3 * 8);
    assert_null(find(gm, x, true, "IVRS"));
    assert_non_null(find(gm, x, true, "MCFG"));
    assert_memory_equal(find(gm, x, true, "MCFG"), f.mcfg, 76);
    assert_true(info.mcfg_kept);
    assert_false(info.ecam_truncated);

    /* ... and the hypervisor learns the ECAM windows from the host's MCFG */
    assert_int_equal(info.ecam_count, 2);
    assert_int_equal(info.ecam[0].base, 0xb0000000);
    assert_int_equal(info.ecam[0].size, MiB(256));
    assert_int_equal(info.ecam[0].segment, 0);
    assert_int_equal(info.ecam[0].bus_start, 0);
    assert_int_equal(info.ecam[0].bus_end, 0xff);
    assert_int_equal(info.ecam[1].base, 0xe0000000 + (0x10 << 20));
    assert_int_equal(info.ecam[1].size, MiB(16));
    assert_int_equal(info.ecam[1].bus_start, 0x10);
    assert_int_equal(info.ecam[1].bus_end, 0x1f);

    /* FADT -> copied DSDT and FACS */
    const u8 *fadt = find(gm, x, true, "FACP");
    assert_non_null(fadt);
    u64 dsdt = rd64(fadt, 140), facs = rd64(fadt, 132);
    assert_int_equal(rd32(fadt, 40), dsdt);
    assert_int_equal(rd32(fadt, 36), facs);
    assert_memory_equal(gtab(gm, dsdt), f.dsdt, 300);
    assert_true(facs % 64 == 0 && facs >= area && facs + 64 <= area + ACPI_GUEST_AREA_SIZE);
    assert_memory_equal(hva(facs), f.facs, 64);

    /* MADT: only the BSP (APIC ID 2, UID 1) and everything that is not a CPU */
    const u8 *madt = find(gm, x, true, "APIC");
    assert_non_null(madt);
    assert_memory_equal(madt + 36, f.madt + 36, 8);
    struct madt_counts c = count_madt(madt);
    assert_int_equal(c.lapic, 1);
    assert_int_equal(c.lapic_id, 2);
    assert_int_equal(c.ioapic, 1);
    assert_int_equal(c.iso, 2);
    assert_int_equal(c.nmi, 2);
    assert_int_equal(c.nmi_uids[0], 0xff);
    assert_int_equal(c.nmi_uids[1], 1);
    assert_int_equal(rd32(madt, 4), 44 + 8 + 12 + 20 + 12);

    assert_int_equal(info.cpus_in_madt, 4);
    assert_int_equal(info.cpus_kept, 1);
    assert_int_equal(info.pm1a_cnt_port, 0x1804);
    assert_int_equal(info.pm1b_cnt_port, 0);
    assert_true(info.has_reset_reg);
    assert_int_equal(info.reset_space, ACPI_GAS_SYSTEM_IO);
    assert_int_equal(info.reset_addr, 0xcf9);
    assert_int_equal(info.reset_value, 6);
    assert_int_equal(info.smi_cmd_port, 0xb2); /* the software-SMI policy's inputs (docs/msr.md) */
    assert_int_equal(info.acpi_enable, 0xf1);
    assert_int_equal(info.acpi_disable, 0xf0);
    assert_int_equal(info.s4bios_req, 0xf2);
    assert_int_equal(info.pstate_cnt, 0x80);
    assert_int_equal(info.cst_cnt, 0x85);
    assert_true(info.bytes_used > 0 && info.bytes_used <= ACPI_GUEST_AREA_SIZE);

    /* Nothing outside the area was touched. */
    for (u64 a = GUEST_TOP - MiB(64); a < area; a += 4096)
        assert_int_equal(*hva(a), 0);
    free_guest(gm);
    free_fw(&f);
}

static void test_rsdt_copy(void **state)
{
    struct fw f = make_fw(true);
    const struct guest_mem *gm = new_guest(MiB(16));
    struct acpi_guest_info info;
    char err[256] = "";

    assert_int_equal(acpi_guest_build(gm, area, pa(f.rsdp), 0, &info, err, sizeof(err)), 0);
    const u8 *r = hva(info.rsdp_gpa);
    assert_int_equal(sum(r, 20), 0);
    assert_int_equal(r[15], 0);
    const u8 *rsdt = gtab(gm, rd32(r, 16));
    assert_memory_equal(rsdt, "RSDT", 4);
    assert_int_equal(rd32(rsdt, 4), 36 + 3 * 4);
    assert_null(find(gm, rsdt, false, "IVRS"));
    assert_non_null(find(gm, rsdt, false, "MCFG"));
    assert_int_equal(info.ecam_count, 2);
    const u8 *fadt = find(gm, rsdt, false, "FACP");
    assert_int_equal(rd32(fadt, 4), 116);
    assert_memory_equal(gtab(gm, rd32(fadt, 40)), f.dsdt, 300);
    assert_memory_equal(hva(rd32(fadt, 36)), f.facs, 64);
    struct madt_counts c = count_madt(find(gm, rsdt, false, "APIC"));
    assert_int_equal(c.lapic, 1);
    assert_int_equal(c.lapic_id, 0);
    assert_int_equal(c.nmi, 1); /* only "all": UIDs 1 and 3 are gone */
    assert_int_equal(info.pm1a_cnt_port, 0x404);
    assert_false(info.has_reset_reg); /* a 116-byte FADT has no RESET_REG */
    assert_int_equal(info.smi_cmd_port, 0xb2);
    assert_int_equal(info.cst_cnt, 0); /* ACPI 1.0's FADT has no CST_CNT */
    free_guest(gm);
    free_fw(&f);
}

/* The area at the top of the 32-bit space: the FADT's 32-bit pointers and their 64-bit twins both
 * carry the copies' addresses, and RSDT-only firmware can point there too. */
static void test_area_just_below_4g(void **state)
{
    struct fw f = make_fw(false);
    const struct guest_mem *gm = new_guest_at(GiB(4) - MiB(2), MiB(2), GiB(4) - ACPI_GUEST_AREA_SIZE);
    struct acpi_guest_info info;
    char err[256] = "";

    assert_int_equal(acpi_guest_build(gm, area, pa(f.rsdp), 2, &info, err, sizeof(err)), 0);
    assert_true(info.rsdp_gpa >= GiB(4) - ACPI_GUEST_AREA_SIZE);
    const u8 *r = hva(info.rsdp_gpa);
    const u8 *x = gtab(gm, rd64(r, 24));
    const u8 *fadt = find(gm, x, true, "FACP");
    assert_int_equal(rd32(fadt, 36), rd64(fadt, 132));
    assert_int_equal(rd32(fadt, 40), rd64(fadt, 140));
    assert_memory_equal(gtab(gm, rd64(fadt, 140)), f.dsdt, 300);
    /* the RAM below the area is not touched */
    assert_int_equal(*hva(GiB(4) - MiB(2)), 0);

    struct fw low = make_fw(true);
    gm = new_guest_at(GiB(4) - MiB(2), MiB(2), GiB(4) - ACPI_GUEST_AREA_SIZE);
    assert_int_equal(acpi_guest_build(gm, area, pa(low.rsdp), 0, &info, err, sizeof(err)), 0);
    assert_memory_equal(gtab(gm, rd32(hva(info.rsdp_gpa), 16)), "RSDT", 4);
    free_guest(gm);
    free_fw(&low);
    free_fw(&f);
}

/* The area must be a page-aligned MiB of guest memory below 4 GiB (the loader's ACPI NVS): above
 * it, across it, unaligned, outside guest memory or only partly inside it is refused. */
static void test_area_must_be_guest_memory_below_4g(void **state)
{
    struct fw f = make_fw(false);
    struct acpi_guest_info info;
    char err[256];
    const struct {
        gpa_t ram, ram_size, area;
    } bad[] = {
        { GiB(5), MiB(2), GiB(5) },                           /* above 4 GiB */
        { GiB(4) - MiB(1) / 2, MiB(2), GiB(4) - MiB(1) / 2 }, /* across 4 GiB */
        { MiB(16), MiB(2), MiB(16) + 0x10 },                  /* not page-aligned */
        { MiB(16), MiB(2), MiB(32) },                         /* not guest memory */
        { MiB(16), MiB(1) / 2, MiB(16) },                     /* half of it */
        { MiB(16), MiB(2), MiB(17) + PAGE_SIZE },             /* runs past the end */
    };

    for (u32 i = 0; i < ARRAY_SIZE(bad); i++) {
        const struct guest_mem *gm = new_guest_at(bad[i].ram, bad[i].ram_size, bad[i].area);
        err[0] = 0;
        assert_int_equal(acpi_guest_build(gm, area, pa(f.rsdp), 2, &info, err, sizeof(err)), -1);
        if (!strstr(err, "is not 1024 KiB of page-aligned guest RAM below 4 GiB"))
            fail_msg("case %u: \"%s\"", i, err);
        free_guest(gm);
    }
    free_fw(&f);
}

/* x2APIC-only MADT: the BSP's type 9 entry and the x2APIC NMI entries for it or for all stay. */
static void test_x2apic_madt(void **state)
{
    struct fw f = make_fw(false);
    u8 *m = f.madt;
    u32 off = 44;
    memset(m + 44, 0, 512 - 44);
    for (u32 i = 0; i < 3; i++) {
        u8 x2[16] = { 9, 16 };
        wr32(x2, 4, 0x100 + i);
        wr32(x2, 8, i == 2 ? 0 : 1); /* the third CPU is disabled */
        wr32(x2, 12, 10 + i);
        madt_entry(m, &off, x2, 16);
    }
    const u32 uids[] = { 0xffffffff, 11, 12 };
    for (int i = 0; i < 3; i++) {
        u8 nmi[12] = { 0xa, 12, 5, 0 };
        wr32(nmi, 4, uids[i]);
        nmi[8] = 1;
        madt_entry(m, &off, nmi, 12);
    }
    wr32(m, 4, off);
    fix(m);
    const struct guest_mem *gm = new_guest(MiB(16));
    struct acpi_guest_info info;
    char err[256] = "";

    assert_int_equal(acpi_guest_build(gm, area, pa(f.rsdp), 0x101, &info, err, sizeof(err)), 0);
    const u8 *x = gtab(gm, rd64(hva(info.rsdp_gpa), 24));
    struct madt_counts c = count_madt(find(gm, x, true, "APIC"));
    assert_int_equal(c.x2apic, 1);
    assert_int_equal(c.x2apic_id, 0x101);
    assert_int_equal(c.lapic, 0);
    assert_int_equal(c.x2nmi, 2);
    assert_int_equal(info.cpus_in_madt, 2);
    free_guest(gm);
    free_fw(&f);
}

/* ---------------------------------------------------------------- error paths */
static void expect_fail(struct fw *f, u32 bsp, const char *words)
{
    const struct guest_mem *gm = new_guest(MiB(16));
    struct acpi_guest_info info;
    char err[256] = "";

    int rc = acpi_guest_build(gm, area, pa(f->rsdp), bsp, &info, err, sizeof(err));
    free_guest(gm);
    free_fw(f);
    assert_int_equal(rc, -1);
    if (!strstr(err, words))
        fail_msg("error \"%s\" lacks \"%s\"", err, words);
}

static void test_bad_rsdp(void **state)
{
    struct fw f = make_fw(false);
    f.rsdp[8] ^= 1;
    expect_fail(&f, 2, "RSDP at 0x");

    f = make_fw(false);
    f.rsdp[0] = 'X';
    fix_rsdp(&f);
    expect_fail(&f, 2, "bad signature");

    f = make_fw(false);
    f.rsdp[33] = 7; /* reserved byte: only the extended checksum covers it */
    expect_fail(&f, 2, "bad extended checksum");

    f = make_fw(false);
    wr32(f.rsdp, 20, 1 << 20);
    fix_rsdp(&f);
    expect_fail(&f, 2, "implausible length");

    const struct guest_mem *gm = new_guest(MiB(16));
    struct acpi_guest_info info;
    char err[256];
    assert_int_equal(acpi_guest_build(gm, area, 0, 0, &info, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "no RSDP"));
    free_guest(gm);
}

static void test_bad_tables(void **state)
{
    struct fw f = make_fw(false);
    f.mcfg[40] ^= 0xff;
    expect_fail(&f, 2, "table MCFG at 0x");

    f = make_fw(false);
    f.mcfg[40] ^= 0xff;
    expect_fail(&f, 2, "bad checksum");

    f = make_fw(false);
    wr32(f.mcfg, 4, 20); /* shorter than a header */
    expect_fail(&f, 2, "implausible length 20");

    f = make_fw(false);
    wr32(f.mcfg, 4, 0x7fffffff);
    expect_fail(&f, 2, "implausible length");

    f = make_fw(false);
    wr32(f.root, 4, 30); /* truncated XSDT */
    fix(f.root);
    expect_fail(&f, 2, "XSDT");

    f = make_fw(false);
    f.ivrs[0] = 1; /* unprintable signature */
    fix(f.ivrs);
    expect_fail(&f, 2, "signature '?VRS'");

    f = make_fw(false);
    wr64(f.root, 36, 0xffffffffffffff00ull);
    fix(f.root);
    expect_fail(&f, 2, "invalid table address");

    f = make_fw(false);
    wr64(f.fadt, 140, pa(f.mcfg)); /* X_DSDT leads to the wrong table */
    fix(f.fadt);
    expect_fail(&f, 2, "expected DSDT");

    f = make_fw(false);
    f.facs[0] = 'X';
    expect_fail(&f, 2, "FACS at 0x");

    f = make_fw(false);
    wr32(f.fadt, 4, 100);
    fix(f.fadt);
    expect_fail(&f, 2, "FACP is 100 bytes");
}

static void test_bad_madt(void **state)
{
    struct fw f = make_fw(false);
    expect_fail(&f, 9, "no processor with the BSP's APIC ID 9");

    f = make_fw(false);
    f.madt[44 + 8 + 1] = 0; /* zero-length entry would loop forever */
    fix(f.madt);
    expect_fail(&f, 2, "malformed");

    f = make_fw(false);
    f.madt[44 + 1] = 4; /* LAPIC entry too short for its fields */
    fix(f.madt);
    expect_fail(&f, 2, "malformed");

    f = make_fw(false);
    f.madt[44 + 1] = 0xff; /* entry running past the table */
    fix(f.madt);
    expect_fail(&f, 2, "malformed");
}

static void test_too_large(void **state)
{
    struct fw f = make_fw(false);
    /* Two 600 KiB tables: each plausible, together more than the 1 MiB area. */
    u8 *a = table(&f, "SSDT", 600 * 1024);
    u8 *b = table(&f, "SSDT", 600 * 1024);
    fix(a);
    fix(b);
    u8 *root = table(&f, "XSDT", 36 + 2 * 8);
    wr64(root, 36, pa(a));
    wr64(root, 44, pa(b));
    fix(root);
    wr64(f.rsdp, 24, pa(root));
    fix_rsdp(&f);
    expect_fail(&f, 2, "do not fit");
}

/* An ECAM window on guest RAM could not fault: MCFG is left out, the windows still known. */
static void test_mcfg_inside_guest_ram(void **state)
{
    struct fw f = make_fw(false);
    const struct guest_mem *gm = new_guest(MiB(64));
    struct acpi_guest_info info;
    char err[256] = "";
    u64 ram = GUEST_TOP - MiB(64);

    wr64(f.mcfg, 60, ram - MiB(16)); /* buses 0x10-0x1f at the start of guest RAM */
    fix(f.mcfg);
    assert_int_equal(acpi_guest_build(gm, area, pa(f.rsdp), 2, &info, err, sizeof(err)), 0);
    const u8 *x = gtab(gm, rd64(hva(info.rsdp_gpa), 24));
    assert_null(find(gm, x, true, "MCFG"));
    assert_int_equal(info.tables, 2);
    assert_false(info.mcfg_kept);
    assert_int_equal(info.ecam_count, 2);
    assert_int_equal(info.ecam[1].base, ram);
    free_guest(gm);
    free_fw(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xsdt_copy),          cmocka_unit_test(test_rsdt_copy),
        cmocka_unit_test(test_area_just_below_4g), cmocka_unit_test(test_area_must_be_guest_memory_below_4g),
        cmocka_unit_test(test_x2apic_madt),        cmocka_unit_test(test_bad_rsdp),
        cmocka_unit_test(test_bad_tables),         cmocka_unit_test(test_bad_madt),
        cmocka_unit_test(test_too_large),          cmocka_unit_test(test_mcfg_inside_guest_ram),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
