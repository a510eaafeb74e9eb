/* UNIT-SOURCES: hv/platform/linux_boot.c hv/platform/e820.c hv/lib/fmt.c */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "platform/linux_boot.h"
#include "lib/bytes.h"
#include "platform/e820.h"
#include "core/guest_layout.h"
#include "lib/log.h"
#include "guest_kernel.h"

/* The guest kernel make guest copied from Debian's current linux-image-amd64 (guest_kernel.h). */
#define DEBIAN_KERNEL GUEST_KERNEL_IMAGE


static struct guest_mem new_guest(u64 size)
{
    struct guest_mem gm = { .hva = calloc(1, size), .hpa = 0, .size = size };
    assert_non_null(gm.hva);
    return gm;
}

static u8 *read_file(const char *path, u64 *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    u8 *buf = malloc((size_t)n);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *size = (u64)n;
    return buf;
}

/* ---------------------------------------------------------------- a synthetic bzImage */
#define SYN_SETUP_SECTS 7 /* protected-mode part at 0x1000 */
#define SYN_PM_SIZE     0x3000
#define SYN_SIZE        (0x1000 + SYN_PM_SIZE)

static u8 *synthetic(void)
{
    u8 *k = calloc(1, SYN_SIZE);
    assert_non_null(k);
    k[0x1f1] = SYN_SETUP_SECTS;
    wr32(k, 0x1f4, SYN_PM_SIZE / 16);
    wr16(k, 0x1fe, 0xaa55);
    k[0x200] = 0xeb;
    k[0x201] = 0x6a; /* header ends at 0x26c, as in 6.1 */
    memcpy(k + 0x202, "HdrS", 4);
    wr16(k, 0x206, 0x020f);
    k[0x211] = 0x01; /* LOADED_HIGH */
    wr32(k, 0x22c, 0x7fffffff);
    wr32(k, 0x230, 0x200000);
    k[0x234] = 1;
    wr16(k, 0x236, 0x7f);
    wr32(k, 0x238, 0x7ff);
    wr64(k, 0x258, 0x1000000);
    wr32(k, 0x260, 0x800000); /* 8 MiB init_size */
    for (u64 i = 0x1000; i < SYN_SIZE; i++)
        k[i] = (u8)(i * 7);
    return k;
}

static int prep(struct guest_mem *gm, const u8 *k, u64 ksize, const u8 *rd, u64 rdsize, const char *cmdline,
                struct guest_entry *e, struct linux_boot_layout *l, char *err)
{
    return linux_boot_prepare(gm, k, ksize, rd, rdsize, cmdline, 0xabc000, e, l, err, 256);
}

/* Checks common to every successful preparation. */
static void check_boot_state(const struct guest_mem *gm, const struct guest_entry *e, const struct linux_boot_layout *l,
                             const char *cmdline)
{
    const u8 *bp = gm->hva + GUEST_BOOT_PARAMS_GPA;

    assert_memory_equal(bp + 0x202, "HdrS", 4);
    assert_int_equal(bp[0x210], 0xff);
    assert_int_equal(bp[0x211] & 0x81, 0x81);
    assert_int_equal(rd16(bp, 0x224), 0xfe00);
    assert_int_equal(rd16(bp, 0x1fa), 0xffff);
    assert_int_equal(rd32(bp, 0x228), GUEST_CMDLINE_GPA);
    assert_int_equal(rd32(bp, 0x0c8), 0);
    assert_string_equal((const char *)gm->hva + GUEST_CMDLINE_GPA, cmdline);
    assert_int_equal(rd64(bp, 0x070), 0xabc000);
    assert_int_equal(rd32(bp, 0x214), l->kernel_gpa);
    assert_int_equal(bp[0x1ef], 0); /* sentinel: the kernel would wipe fields if set */

    /* e820 */
    assert_int_equal(bp[0x1e8], 4);
    struct e820_entry ent[4];
    memcpy(ent, bp + 0x2d0, sizeof(ent));
    assert_int_equal(ent[2].addr, 0x100000);
    assert_int_equal(ent[2].type, E820_TYPE_RAM);
    assert_int_equal(ent[3].addr + ent[3].size, gm->size);
    assert_int_equal(ent[3].type, E820_TYPE_NVS);

    /* initrd */
    u64 rd = rd32(bp, 0x218) | (u64)rd32(bp, 0x0c0) << 32;
    u64 rdsz = rd32(bp, 0x21c) | (u64)rd32(bp, 0x0c4) << 32;
    assert_int_equal(rd, l->initrd_gpa);
    assert_int_equal(rdsz, l->initrd_size);
    if (rdsz) {
        assert_true(rd % 4096 == 0);
        assert_true(rd + rdsz <= gm->size - GUEST_ACPI_SIZE);
        assert_true(rd >= l->kernel_gpa + l->init_size);
    }

    /* entry state */
    assert_int_equal(e->rip, l->kernel_gpa + 0x200);
    assert_int_equal(e->rsi, GUEST_BOOT_PARAMS_GPA);
    assert_int_equal(e->rflags, 0x2);
    assert_int_equal(e->cr0, 0x80000031);
    assert_int_equal(e->cr4, 0x20);
    assert_int_equal(e->efer, 0x500);
    assert_int_equal(e->cr3, GUEST_PML4_GPA);
    assert_int_equal(e->gdt_base, GUEST_GDT_GPA);
    assert_int_equal(e->gdt_limit, 31);
    assert_int_equal(e->cs_sel, 0x10);
    assert_int_equal(e->ds_sel, 0x18);

    /* GDT */
    const u8 *gdt = gm->hva + GUEST_GDT_GPA;
    assert_int_equal(rd64(gdt, 0), 0);
    assert_int_equal(rd64(gdt, 8), 0);
    assert_int_equal(rd64(gdt, 0x10), 0x00af9b000000ffffull);
    assert_int_equal(rd64(gdt, 0x18), 0x00cf93000000ffffull);

    /* Page tables: identity map of 4 GiB with 2 MiB pages; walk a few addresses. */
    const u8 *pml4 = gm->hva + GUEST_PML4_GPA;
    assert_int_equal(rd64(pml4, 0), GUEST_PDPT_GPA | 3);
    assert_int_equal(rd64(pml4, 8), 0);
    const u64 probes[] = { 0, l->kernel_gpa, GiB(1) + MiB(6), GiB(4) - MiB(2) };
    for (unsigned i = 0; i < 4; i++) {
        u64 va = probes[i];
        u64 pdpte = rd64(gm->hva + GUEST_PDPT_GPA, ((va >> 30) & 511) * 8);
        assert_int_equal(pdpte & 3, 3);
        u64 pde = rd64(gm->hva + (pdpte & ~0xfffull), ((va >> 21) & 511) * 8);
        assert_int_equal(pde & 0x83, 0x83);
        assert_int_equal(pde & ~0xfffull, va & ~(LARGE_PAGE_SIZE - 1));
    }
    assert_int_equal(rd64(gm->hva + GUEST_PDPT_GPA, 4 * 8), 0);
}

static void test_debian_kernel(void **state)
{
    u64 ksize;
    u8 *k = read_file(DEBIAN_KERNEL, &ksize);
    if (!k)
        fail_msg("%s unreadable: make guest copies the guest kernel there", DEBIAN_KERNEL);
    struct guest_mem gm = new_guest(MiB(256));
    u64 rdsize = MiB(5) + 123;
    u8 *rd = malloc(rdsize);
    for (u64 i = 0; i < rdsize; i++)
        rd[i] = (u8)(i ^ (i >> 9));
    struct guest_entry e;
    struct linux_boot_layout l;
    char err[256] = "";
    const char *cmdline = "console=ttyS0,115200 earlyprintk=serial panic=-1";

    assert_int_equal(prep(&gm, k, ksize, rd, rdsize, cmdline, &e, &l, err), 0);
    check_boot_state(&gm, &e, &l, cmdline);

    /* Debian's kernel is relocatable and 2 MiB aligned: it is loaded at its own pref_address
     * (setup header 0x258; 16 MiB in every Debian 6.1 build so far). */
    assert_int_equal(l.kernel_gpa, rd32(k, 0x258) | (u64)rd32(k, 0x25c) << 32);
    u64 setup = ((u64)k[0x1f1] + 1) * 512;
    assert_int_equal(l.kernel_size, (u64)rd32(k, 0x1f4) * 16);
    assert_memory_equal(gm.hva + l.kernel_gpa, k + setup, l.kernel_size);
    /* Highest page-aligned spot below the ACPI area. */
    assert_int_equal(l.initrd_gpa, (MiB(255) - rdsize) & ~0xfffull);
    assert_memory_equal(gm.hva + l.initrd_gpa, rd, rdsize);
    /* The boot_params setup header is the file's, apart from the fields a loader fills. */
    const u8 *bp = gm.hva + GUEST_BOOT_PARAMS_GPA;
    assert_memory_equal(bp + 0x1f1, k + 0x1f1, 0x1fa - 0x1f1);
    assert_memory_equal(bp + 0x230, k + 0x230, 0x202 + k[0x201] - 0x230);

    free(rd);
    free(gm.hva);
    free(k);
}

static void test_debian_kernel_too_little_ram(void **state)
{
    u64 ksize;
    u8 *k = read_file(DEBIAN_KERNEL, &ksize);
    if (!k)
        fail_msg("%s unreadable: make guest copies the guest kernel there", DEBIAN_KERNEL);
    struct guest_mem gm = new_guest(MiB(64));
    struct guest_entry e;
    char err[256] = "";

    assert_int_equal(prep(&gm, k, ksize, NULL, 0, "", &e, NULL, err), -1);
    assert_non_null(strstr(err, "kernel needs "));
    assert_non_null(strstr(err, "MiB of guest RAM, only 64 available"));
    free(gm.hva);
    free(k);
}

static void test_synthetic_ok(void **state)
{
    u8 *k = synthetic();
    struct guest_mem gm = new_guest(MiB(64));
    u8 rd[5000];
    memset(rd, 0x5a, sizeof(rd));
    struct guest_entry e;
    struct linux_boot_layout l;
    char err[256] = "";

    assert_int_equal(prep(&gm, k, SYN_SIZE, rd, sizeof(rd), NULL, &e, &l, err), 0);
    check_boot_state(&gm, &e, &l, "");
    assert_int_equal(l.kernel_gpa, 0x1000000);
    assert_int_equal(l.kernel_size, SYN_PM_SIZE);
    assert_memory_equal(gm.hva + 0x1000000, k + 0x1000, SYN_PM_SIZE);
    assert_int_equal(l.initrd_gpa, MiB(63) - 8192);
    free(gm.hva);
    free(k);
}

static void test_initrd_addr_max(void **state)
{
    u8 *k = synthetic();
    wr16(k, 0x236, 0x01); /* only XLF_KERNEL_64: initrd_addr_max is binding */
    wr32(k, 0x22c, MiB(40) - 1);
    struct guest_mem gm = new_guest(MiB(64));
    u8 rd[4096 * 3];
    struct guest_entry e;
    struct linux_boot_layout l;
    char err[256] = "";

    assert_int_equal(prep(&gm, k, SYN_SIZE, rd, sizeof(rd), "x", &e, &l, err), 0);
    assert_int_equal(l.initrd_gpa, MiB(40) - sizeof(rd));

    /* Below the kernel's end: no room. */
    wr32(k, 0x22c, MiB(20) - 1);
    assert_int_equal(prep(&gm, k, SYN_SIZE, rd, sizeof(rd), "x", &e, &l, err), -1);
    assert_non_null(strstr(err, "initrd"));
    free(gm.hva);
    free(k);
}

static void test_setup_sects_zero_means_four(void **state)
{
    u8 *k = synthetic();
    k[0x1f1] = 0; /* protected-mode part at 5 * 512 */
    wr32(k, 0x1f4, (SYN_SIZE - 0xa00) / 16);
    struct guest_mem gm = new_guest(MiB(64));
    struct guest_entry e;
    struct linux_boot_layout l;
    char err[256] = "";

    assert_int_equal(prep(&gm, k, SYN_SIZE, NULL, 0, "", &e, &l, err), 0);
    assert_memory_equal(gm.hva + l.kernel_gpa, k + 0xa00, SYN_SIZE - 0xa00);
    free(gm.hva);
    free(k);
}

static void test_load_address_choice(void **state)
{
    u8 *k = synthetic();
    struct guest_mem gm = new_guest(MiB(128));
    struct guest_entry e;
    struct linux_boot_layout l;
    char err[256] = "";

    wr64(k, 0x258, MiB(32) + 4096); /* misaligned preference: fall back to 16 MiB */
    assert_int_equal(prep(&gm, k, SYN_SIZE, NULL, 0, "", &e, &l, err), 0);
    assert_int_equal(l.kernel_gpa, GUEST_KERNEL_GPA);

    wr64(k, 0x258, MiB(32)); /* aligned preference is honoured */
    assert_int_equal(prep(&gm, k, SYN_SIZE, NULL, 0, "", &e, &l, err), 0);
    assert_int_equal(l.kernel_gpa, MiB(32));
    assert_int_equal(e.rip, MiB(32) + 0x200);

    k[0x234] = 0; /* not relocatable: pref_address or nothing */
    wr64(k, 0x258, MiB(2));
    assert_int_equal(prep(&gm, k, SYN_SIZE, NULL, 0, "", &e, &l, err), 0);
    assert_int_equal(l.kernel_gpa, MiB(2));
    wr64(k, 0x258, 0);
    assert_int_equal(prep(&gm, k, SYN_SIZE, NULL, 0, "", &e, &l, err), -1);
    assert_non_null(strstr(err, "not relocatable"));
    free(gm.hva);
    free(k);
}

/* Each mutation must be refused with a message containing the expected words. */
static void expect_bad(void (*mutate)(u8 *k, u64 *size), const char *words)
{
    u8 *k = synthetic();
    u64 size = SYN_SIZE;
    struct guest_mem gm = new_guest(MiB(64));
    struct guest_entry e;
    char err[256] = "";

    mutate(k, &size);
    assert_int_equal(prep(&gm, k, size, NULL, 0, "", &e, NULL, err), -1);
    if (!strstr(err, words))
        fail_msg("error \"%s\" lacks \"%s\"", err, words);
    free(gm.hva);
    free(k);
}

static void m_no_magic(u8 *k, u64 *s) { k[0x202] = 'X'; }
static void m_tiny(u8 *k, u64 *s) { *s = 0x100; }
static void m_no_bootflag(u8 *k, u64 *s) { wr16(k, 0x1fe, 0); }
static void m_old(u8 *k, u64 *s) { wr16(k, 0x206, 0x020b); }
static void m_short_hdr(u8 *k, u64 *s) { k[0x201] = 0x20; }
static void m_long_hdr(u8 *k, u64 *s) { k[0x201] = 0xff; }
static void m_hdr_past_file(u8 *k, u64 *s) { *s = 0x240; }
static void m_not64(u8 *k, u64 *s) { wr16(k, 0x236, 0x7e); }
static void m_zimage(u8 *k, u64 *s) { k[0x211] = 0; }
static void m_setup_past_end(u8 *k, u64 *s) { k[0x1f1] = 0x40; }
static void m_truncated(u8 *k, u64 *s) { *s -= 16; }
static void m_syssize_zero(u8 *k, u64 *s) { wr32(k, 0x1f4, 0); }
static void m_align(u8 *k, u64 *s) { wr32(k, 0x230, 0x300000); }
static void m_align_zero(u8 *k, u64 *s) { wr32(k, 0x230, 0); }
static void m_huge_init(u8 *k, u64 *s) { wr32(k, 0x260, 0xfff00000); }

static void test_bad_images(void **state)
{
    expect_bad(m_no_magic, "not a bzImage (no HdrS signature)");
    expect_bad(m_tiny, "too small");
    expect_bad(m_no_bootflag, "boot flag");
    expect_bad(m_old, "boot protocol 2.11 is too old");
    expect_bad(m_short_hdr, "setup header ends");
    expect_bad(m_long_hdr, "setup header ends");
    expect_bad(m_hdr_past_file, "setup header ends");
    expect_bad(m_not64, "XLF_KERNEL_64");
    expect_bad(m_zimage, "LOADED_HIGH");
    expect_bad(m_setup_past_end, "runs past the end");
    expect_bad(m_truncated, "truncated");
    expect_bad(m_syssize_zero, "truncated");
    expect_bad(m_align, "kernel_alignment");
    expect_bad(m_align_zero, "kernel_alignment");
    expect_bad(m_huge_init, "beyond the 4 GiB");
}

static void test_null_image(void **state)
{
    struct guest_mem gm = new_guest(MiB(64));
    struct guest_entry e;
    char err[256] = "";

    assert_int_equal(prep(&gm, NULL, 0, NULL, 0, "", &e, NULL, err), -1);
    assert_non_null(strstr(err, "too small"));
    free(gm.hva);
}

static void test_cmdline_limits(void **state)
{
    u8 *k = synthetic();
    struct guest_mem gm = new_guest(MiB(64));
    struct guest_entry e;
    char err[256] = "";
    char line[GUEST_CMDLINE_MAX + 10];

    wr32(k, 0x238, 10); /* the kernel's own limit */
    assert_int_equal(prep(&gm, k, SYN_SIZE, NULL, 0, "0123456789", &e, NULL, err), 0);
    assert_int_equal(prep(&gm, k, SYN_SIZE, NULL, 0, "0123456789a", &e, NULL, err), -1);
    assert_non_null(strstr(err, "cmdline: too long"));

    wr32(k, 0x238, 0xffffffff); /* ours */
    memset(line, 'a', sizeof(line));
    line[GUEST_CMDLINE_MAX - 1] = 0;
    assert_int_equal(prep(&gm, k, SYN_SIZE, NULL, 0, line, &e, NULL, err), 0);
    line[GUEST_CMDLINE_MAX - 1] = 'a';
    line[sizeof(line) - 1] = 0;
    assert_int_equal(prep(&gm, k, SYN_SIZE, NULL, 0, line, &e, NULL, err), -1);
    free(gm.hva);
    free(k);
}

static void test_ram_too_small(void **state)
{
    u8 *k = synthetic();
    struct guest_mem gm = new_guest(MiB(18));
    struct guest_entry e;
    char err[256] = "";
    u8 rd[4096];

    /* 16 MiB load + 8 MiB init_size + 1 page of initrd + 1 MiB ACPI = 26 MiB. */
    assert_int_equal(prep(&gm, k, SYN_SIZE, rd, sizeof(rd), "", &e, NULL, err), -1);
    assert_string_equal(err, "kernel needs 26 MiB of guest RAM, only 18 available");
    free(gm.hva);
    free(k);
}

static void test_initrd_without_data(void **state)
{
    u8 *k = synthetic();
    struct guest_mem gm = new_guest(MiB(64));
    struct guest_entry e;
    char err[256] = "";

    assert_int_equal(prep(&gm, k, SYN_SIZE, NULL, 10, "", &e, NULL, err), -1);
    assert_non_null(strstr(err, "initrd"));
    free(gm.hva);
    free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_debian_kernel),
        cmocka_unit_test(test_debian_kernel_too_little_ram),
        cmocka_unit_test(test_synthetic_ok),
        cmocka_unit_test(test_initrd_addr_max),
        cmocka_unit_test(test_setup_sects_zero_means_four),
        cmocka_unit_test(test_load_address_choice),
        cmocka_unit_test(test_bad_images),
        cmocka_unit_test(test_null_image),
        cmocka_unit_test(test_cmdline_limits),
        cmocka_unit_test(test_ram_too_small),
        cmocka_unit_test(test_initrd_without_data),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
