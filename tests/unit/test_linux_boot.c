/* UNIT-SOURCES: hv/platform/linux_boot.c hv/platform/e820.c hv/core/guest_physmap.c hv/lib/fmt.c */
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
#include "test_guest_ram.h"

/* The guest kernel make guest copied from Debian's current linux-image-amd64 (guest_kernel.h). */
#define DEBIAN_KERNEL GUEST_KERNEL_IMAGE


/* The guest: its physical map from a firmware map, the e820 built from that, and its RAM backed by
 * host memory (test_guest_ram.h: holes and the page after RAM fault). */
static struct guest_physmap pm;
static struct e820_map map;
static struct test_guest guest;
#define GM (&guest.gm)

static void new_guest_fw(const struct boot_mem_region *fw, u32 n)
{
    char err[160];

    test_guest_free(&guest);
    assert_int_equal(physmap_build(fw, n, NULL, 0, 0, &pm, err, sizeof(err)), 0);
    assert_int_equal(e820_build_guest(&pm, &map, err, sizeof(err)), 0);
    assert_true(test_guest_init_ranges(&guest, pm.ram, pm.ram_count));
}

/* A PC's map: low RAM to 0x9f000, the legacy hole reserved, RAM from 1 MiB to size. */
static void new_guest(u64 size)
{
    const struct boot_mem_region fw[] = {
        { 0, 0x9f000, BOOT_MEM_FREE, 7 },
        { 0x9f000, 0x61000, BOOT_MEM_RESERVED, 0 },
        { 0x100000, size - 0x100000, BOOT_MEM_FREE, 7 },
    };
    new_guest_fw(fw, 3);
}

static u8 *hva(gpa_t gpa) { return test_guest_hva(&guest, gpa); }

static int free_guest(void **state)
{
    test_guest_free(&guest);
    return 0;
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


#define RSDP 0xabc000ull

static int prep_in(struct linux_boot_input *in, struct guest_entry *e, struct linux_boot_layout *l, char *err)
{
    in->acpi_rsdp = RSDP;
    return linux_boot_prepare(GM, &map, in, e, l, err, 256);
}

static int prep(const u8 *k, u64 ksize, const u8 *rd, u64 rdsize, const char *cmdline, struct guest_entry *e,
                struct linux_boot_layout *l, char *err)
{
    struct linux_boot_input in = {
        .bzimage = k, .bzsize = ksize, .initrd = rd, .initrd_size = rdsize, .cmdline = cmdline
    };
    return prep_in(&in, e, l, err);
}

static bool overlap(u64 a, u64 asize, u64 b, u64 bsize) { return a < b + bsize && b < a + asize; }

/* Is [base, base+size) inside one usable-RAM entry of the map? */
static bool in_ram(u64 base, u64 size)
{
    for (u32 i = 0; i < map.count; i++)
        if (map.entries[i].type == E820_TYPE_RAM && base >= map.entries[i].addr &&
            base + size <= map.entries[i].addr + map.entries[i].size)
            return true;
    return false;
}

static u64 kernel_footprint(const struct linux_boot_layout *l)
{
    return l->kernel_size > l->init_size ? l->kernel_size : l->init_size;
}

/* Checks common to every successful preparation. */
static void check_boot_state(const struct guest_entry *e, const struct linux_boot_layout *l, const char *cmdline)
{
    const gpa_t area = l->boot_area;
    const u8 *bp = hva(area + GUEST_BOOT_PARAMS_OFF);

    /* the boot area, kernel and initrd: usable RAM each, none over another */
    assert_true(area >= GUEST_BOOT_AREA_MIN && area % PAGE_SIZE == 0);
    assert_true(in_ram(area, GUEST_BOOT_AREA_SIZE));
    assert_true(in_ram(l->kernel_gpa, kernel_footprint(l)));
    assert_false(overlap(area, GUEST_BOOT_AREA_SIZE, l->kernel_gpa, kernel_footprint(l)));

    assert_memory_equal(bp + 0x202, "HdrS", 4);
    assert_int_equal(bp[0x210], 0xff);
    assert_int_equal(bp[0x211] & 0x81, 0x81);
    assert_int_equal(rd16(bp, 0x224), 0xfe00);
    assert_int_equal(rd16(bp, 0x1fa), 0xffff);
    assert_int_equal(rd32(bp, 0x228), area + GUEST_CMDLINE_OFF);
    assert_int_equal(rd32(bp, 0x0c8), 0);
    assert_string_equal((const char *)hva(area + GUEST_CMDLINE_OFF), cmdline);
    assert_int_equal(rd64(bp, 0x070), RSDP);
    assert_int_equal(rd32(bp, 0x214), l->kernel_gpa);
    assert_int_equal(bp[0x1ef], 0); /* sentinel: the kernel would wipe fields if set */

    /* e820: the map, as it is */
    assert_int_equal(bp[0x1e8], map.count);
    assert_memory_equal(bp + 0x2d0, map.entries, map.count * sizeof(map.entries[0]));

    /* initrd */
    u64 rd = rd32(bp, 0x218) | (u64)rd32(bp, 0x0c0) << 32;
    u64 rdsz = rd32(bp, 0x21c) | (u64)rd32(bp, 0x0c4) << 32;
    assert_int_equal(rd, l->initrd_gpa);
    assert_int_equal(rdsz, l->initrd_size);
    if (rdsz) {
        assert_true(rd % 4096 == 0);
        assert_true(in_ram(rd, rdsz));
        assert_false(overlap(rd, rdsz, l->kernel_gpa, kernel_footprint(l)));
        assert_false(overlap(rd, rdsz, area, GUEST_BOOT_AREA_SIZE));
    }

    /* entry state */
    assert_int_equal(e->rip, l->kernel_gpa + 0x200);
    assert_int_equal(e->rsi, area + GUEST_BOOT_PARAMS_OFF);
    assert_int_equal(e->rsp, area + GUEST_STACK_OFF + PAGE_SIZE);
    assert_int_equal(e->rflags, 0x2);
    assert_int_equal(e->cr0, 0x80000031);
    assert_int_equal(e->cr4, 0x20);
    assert_int_equal(e->efer, 0x500);
    assert_int_equal(e->cr3, area + GUEST_PML4_OFF);
    assert_int_equal(e->gdt_base, area + GUEST_GDT_OFF);
    assert_int_equal(e->gdt_limit, 31);
    assert_int_equal(e->cs_sel, 0x10);
    assert_int_equal(e->ds_sel, 0x18);

    /* GDT */
    const u8 *gdt = hva(area + GUEST_GDT_OFF);
    assert_int_equal(rd64(gdt, 0), 0);
    assert_int_equal(rd64(gdt, 8), 0);
    assert_int_equal(rd64(gdt, 0x10), 0x00af9b000000ffffull);
    assert_int_equal(rd64(gdt, 0x18), 0x00cf93000000ffffull);

    /* Page tables in the area: identity map of 4 GiB with 2 MiB pages; walk a few addresses. */
    const u8 *pml4 = hva(area + GUEST_PML4_OFF);
    assert_int_equal(rd64(pml4, 0), (area + GUEST_PDPT_OFF) | 3);
    assert_int_equal(rd64(pml4, 8), 0);
    const u64 probes[] = { 0, l->kernel_gpa, GiB(1) + MiB(6), GiB(4) - MiB(2) };
    for (unsigned i = 0; i < 4; i++) {
        u64 va = probes[i];
        u64 pdpte = rd64(hva(area + GUEST_PDPT_OFF), ((va >> 30) & 511) * 8);
        assert_int_equal(pdpte, (area + GUEST_PD_OFF + ((va >> 30) & 511) * PAGE_SIZE) | 3);
        u64 pde = rd64(hva(pdpte & ~0xfffull), ((va >> 21) & 511) * 8);
        assert_int_equal(pde & 0x83, 0x83);
        assert_int_equal(pde & ~0xfffull, va & ~(LARGE_PAGE_SIZE - 1));
    }
    assert_int_equal(rd64(hva(area + GUEST_PDPT_OFF), 4 * 8), 0);
}

static void test_debian_kernel(void **state)
{
    u64 ksize;
    u8 *k = read_file(DEBIAN_KERNEL, &ksize);
    if (!k)
        fail_msg("%s unreadable: make guest copies the guest kernel there", DEBIAN_KERNEL);
    new_guest(MiB(256));
    u64 rdsize = MiB(5) + 123;
    u8 *rd = malloc(rdsize);
    for (u64 i = 0; i < rdsize; i++)
        rd[i] = (u8)(i ^ (i >> 9));
    struct guest_entry e;
    struct linux_boot_layout l;
    char err[256] = "";
    const char *cmdline = "console=ttyS0,115200 earlyprintk=serial panic=-1";

    assert_int_equal(prep(k, ksize, rd, rdsize, cmdline, &e, &l, err), 0);
    check_boot_state(&e, &l, cmdline);

    assert_int_equal(l.boot_area, GUEST_BOOT_AREA_MIN); /* the lowest that fits */
    /* Debian's kernel is relocatable and 2 MiB aligned: it is loaded at its own pref_address
     * (setup header 0x258; 16 MiB in every Debian build so far). */
    assert_int_equal(l.kernel_gpa, rd32(k, 0x258) | (u64)rd32(k, 0x25c) << 32);
    u64 setup = ((u64)k[0x1f1] + 1) * 512;
    assert_int_equal(l.kernel_size, (u64)rd32(k, 0x1f4) * 16);
    assert_memory_equal(hva(l.kernel_gpa), k + setup, l.kernel_size);
    /* Copied (it was not in guest RAM) to the highest page-aligned spot: the top of RAM. */
    assert_false(l.initrd_in_place);
    assert_int_equal(l.initrd_gpa, (MiB(256) - rdsize) & ~0xfffull);
    assert_memory_equal(hva(l.initrd_gpa), rd, rdsize);
    /* The boot_params setup header is the file's, apart from the fields a loader fills. */
    const u8 *bp = hva(l.boot_area + GUEST_BOOT_PARAMS_OFF);
    assert_memory_equal(bp + 0x1f1, k + 0x1f1, 0x1fa - 0x1f1);
    assert_memory_equal(bp + 0x230, k + 0x230, 0x202 + k[0x201] - 0x230);

    free(rd);
    free(k);
}

static void test_debian_kernel_too_little_ram(void **state)
{
    u64 ksize;
    u8 *k = read_file(DEBIAN_KERNEL, &ksize);
    if (!k)
        fail_msg("%s unreadable: make guest copies the guest kernel there", DEBIAN_KERNEL);
    new_guest(MiB(64)); /* its init_size is more than 48 MiB: nothing from 16 MiB up fits */
    struct guest_entry e;
    char err[256] = "";

    assert_int_equal(prep(k, ksize, NULL, 0, "", &e, NULL, err), -1);
    assert_non_null(strstr(err, "kernel: no "));
    assert_non_null(strstr(err, "MiB of usable RAM, 2048 KiB aligned, below 4 GiB"));
    free(k);
}

static void test_synthetic_ok(void **state)
{
    u8 *k = synthetic();
    new_guest(MiB(64));
    u8 rd[5000];
    memset(rd, 0x5a, sizeof(rd));
    struct guest_entry e;
    struct linux_boot_layout l;
    char err[256] = "";

    assert_int_equal(prep(k, SYN_SIZE, rd, sizeof(rd), NULL, &e, &l, err), 0);
    check_boot_state(&e, &l, "");
    assert_int_equal(l.boot_area, 0x1000);
    assert_int_equal(l.kernel_gpa, 0x1000000);
    assert_int_equal(l.kernel_size, SYN_PM_SIZE);
    assert_memory_equal(hva(0x1000000), k + 0x1000, SYN_PM_SIZE);
    assert_int_equal(l.initrd_gpa, MiB(64) - 8192);
    assert_memory_equal(hva(l.initrd_gpa), rd, sizeof(rd));
    free(k);
}

/* The boot area goes in the lowest usable RAM that holds it whole, from 4 KiB up, clear of the
 * loader's buffers. */
static void boot_area_is_the_lowest_that_fits(void **state)
{
    static const struct boot_mem_region fw[] = {
        { 0, 0x6000, BOOT_MEM_FREE, 7 }, /* too small below 0x6000 */
        { 0x6000, 0xa000, BOOT_MEM_FIRMWARE, 5 },
        { 0x10000, 0x8f000, BOOT_MEM_FREE, 7 },
        { 0x100000, MiB(63), BOOT_MEM_FREE, 7 },
    };
    u8 *k = synthetic();
    struct guest_entry e;
    struct linux_boot_layout l;
    char err[256] = "";

    new_guest_fw(fw, ARRAY_SIZE(fw));
    assert_int_equal(prep(k, SYN_SIZE, NULL, 0, "x", &e, &l, err), 0);
    check_boot_state(&e, &l, "x");
    assert_int_equal(l.boot_area, 0x10000);

    /* a loader buffer there (a partial page counts whole): the area goes after it */
    struct phys_range busy[] = { { 0x10800, 0x100 } };
    struct linux_boot_input in = { .bzimage = k, .bzsize = SYN_SIZE, .cmdline = "x", .busy = busy, .nbusy = 1 };
    assert_int_equal(prep_in(&in, &e, &l, err), 0);
    assert_int_equal(l.boot_area, 0x11000);
    check_boot_state(&e, &l, "x");

    /* no 60 KiB of RAM below 4 GiB at all */
    static const struct boot_mem_region high[] = {
        { 0x1000, 0x9000, BOOT_MEM_FREE, 7 },
        { GiB(4), MiB(64), BOOT_MEM_FREE, 7 },
    };
    new_guest_fw(high, ARRAY_SIZE(high));
    assert_int_equal(prep(k, SYN_SIZE, NULL, 0, "", &e, &l, err), -1);
    assert_non_null(strstr(err, "boot: no 60 KiB of usable RAM below 4 GiB"));
    free(k);
}

/* A relocatable kernel: at pref_address when that is free usable RAM, else at the lowest
 * kernel_alignment-aligned place above it that is. */
static void kernel_at_pref_address_or_the_lowest_aligned_spot(void **state)
{
    u8 *k = synthetic();
    struct guest_entry e;
    struct linux_boot_layout l;
    char err[256] = "";

    new_guest(MiB(128));
    wr64(k, 0x258, MiB(32)); /* aligned preference, free: honoured */
    assert_int_equal(prep(k, SYN_SIZE, NULL, 0, "", &e, &l, err), 0);
    assert_int_equal(l.kernel_gpa, MiB(32));
    assert_int_equal(e.rip, MiB(32) + 0x200);
    check_boot_state(&e, &l, "");

    /* busy: the next aligned place after the buffer */
    struct phys_range busy[] = { { MiB(32), MiB(1) } };
    struct linux_boot_input in = { .bzimage = k, .bzsize = SYN_SIZE, .busy = busy, .nbusy = 1 };
    assert_int_equal(prep_in(&in, &e, &l, err), 0);
    assert_int_equal(l.kernel_gpa, MiB(34));
    check_boot_state(&e, &l, "");

    /* misaligned preference: the first aligned place above it */
    wr64(k, 0x258, MiB(32) + 4096);
    assert_int_equal(prep(k, SYN_SIZE, NULL, 0, "", &e, &l, err), 0);
    assert_int_equal(l.kernel_gpa, MiB(34));

    /* not RAM there (a hole from 24 to 40 MiB): the first aligned RAM above */
    static const struct boot_mem_region holed[] = {
        { 0, 0x9f000, BOOT_MEM_FREE, 7 },
        { 0x100000, MiB(23), BOOT_MEM_FREE, 7 },
        { MiB(40) + PAGE_SIZE, MiB(88), BOOT_MEM_FREE, 7 }, /* starts just after an aligned address */
    };
    new_guest_fw(holed, ARRAY_SIZE(holed));
    wr64(k, 0x258, MiB(32));
    assert_int_equal(prep(k, SYN_SIZE, NULL, 0, "", &e, &l, err), 0);
    assert_int_equal(l.kernel_gpa, MiB(42));
    check_boot_state(&e, &l, "");

    /* RAM split by a hole under pref_address: [16, 20) cannot hold its 8 MiB, so from 24 */
    static const struct boot_mem_region split[] = {
        { 0x100000, MiB(19), BOOT_MEM_FREE, 7 },
        { MiB(20), MiB(4), BOOT_MEM_RESERVED, 0 },
        { MiB(24), MiB(40), BOOT_MEM_FREE, 7 },
    };
    new_guest_fw(split, ARRAY_SIZE(split));
    wr64(k, 0x258, MiB(16));
    u8 rd[3 * 4096];
    memset(rd, 0x77, sizeof(rd));
    wr16(k, 0x236, 0x01); /* only XLF_KERNEL_64: initrd_addr_max is binding */
    wr32(k, 0x22c, MiB(24) - 1);
    assert_int_equal(prep(k, SYN_SIZE, rd, sizeof(rd), "", &e, &l, err), 0);
    assert_int_equal(l.kernel_gpa, MiB(24));
    check_boot_state(&e, &l, "");
    /* the initrd below 24 MiB: in the RAM before the hole, not across it */
    assert_int_equal(l.initrd_gpa, MiB(20) - sizeof(rd));
    assert_memory_equal(hva(l.initrd_gpa), rd, sizeof(rd));
    free(k);
}

/* A kernel that is not relocatable runs at pref_address or not at all. */
static void a_fixed_kernel_needs_its_own_address_free(void **state)
{
    u8 *k = synthetic();
    struct guest_entry e;
    struct linux_boot_layout l;
    char err[256] = "";

    new_guest(MiB(128));
    k[0x234] = 0;
    wr64(k, 0x258, MiB(2));
    assert_int_equal(prep(k, SYN_SIZE, NULL, 0, "", &e, &l, err), 0);
    assert_int_equal(l.kernel_gpa, MiB(2));
    check_boot_state(&e, &l, "");

    struct phys_range busy[] = { { MiB(9), 1 } }; /* a loader buffer inside its init_size */
    struct linux_boot_input in = { .bzimage = k, .bzsize = SYN_SIZE, .busy = busy, .nbusy = 1 };
    assert_int_equal(prep_in(&in, &e, &l, err), -1);
    assert_non_null(strstr(err, "not relocatable and its address 0x200000 is not free usable RAM"));

    wr64(k, 0x258, 0);
    assert_int_equal(prep(k, SYN_SIZE, NULL, 0, "", &e, &l, err), -1);
    assert_non_null(strstr(err, "not relocatable"));

    wr64(k, 0x258, MiB(126)); /* runs past the end of RAM */
    assert_int_equal(prep(k, SYN_SIZE, NULL, 0, "", &e, &l, err), -1);
    assert_non_null(strstr(err, "not relocatable"));

    static const struct boot_mem_region holed[] = {
        { 0, 0x9f000, BOOT_MEM_FREE, 7 },
        { 0x100000, MiB(1), BOOT_MEM_FREE, 7 },
        { MiB(2), MiB(16), BOOT_MEM_NVS, 10 }, /* memory, but not usable RAM */
        { MiB(18), MiB(64), BOOT_MEM_FREE, 7 },
    };
    new_guest_fw(holed, ARRAY_SIZE(holed));
    wr64(k, 0x258, MiB(2));
    assert_int_equal(prep(k, SYN_SIZE, NULL, 0, "", &e, &l, err), -1);
    assert_non_null(strstr(err, "not relocatable"));
    free(k);
}

/* The loader read the initrd into what is now guest RAM: used where it is when the kernel may
 * reach it there, copied otherwise. */
static void initrd_in_place_or_copied_below_initrd_addr_max(void **state)
{
    u8 *k = synthetic();
    struct guest_entry e;
    struct linux_boot_layout l;
    char err[256] = "";
    const u64 rdsize = 3 * 4096 + 100, at = MiB(40);

    new_guest(MiB(128));
    u8 *rd = hva(at);
    for (u64 i = 0; i < rdsize; i++)
        rd[i] = (u8)(i * 13);
    struct phys_range busy[] = { { at, rdsize } };
    struct linux_boot_input in = {
        .bzimage = k,
        .bzsize = SYN_SIZE,
        .initrd = rd,
        .initrd_size = rdsize,
        .initrd_gpa = at,
        .busy = busy,
        .nbusy = 1,
    };
    assert_int_equal(prep_in(&in, &e, &l, err), 0);
    check_boot_state(&e, &l, "");
    assert_true(l.initrd_in_place);
    assert_int_equal(l.initrd_gpa, at);
    for (u64 i = 0; i < rdsize; i++)
        assert_int_equal(rd[i], (u8)(i * 13));

    /* the kernel may not reach it there: a copy below initrd_addr_max, the original untouched */
    wr16(k, 0x236, 0x01);
    wr32(k, 0x22c, MiB(32) - 1);
    assert_int_equal(prep_in(&in, &e, &l, err), 0);
    check_boot_state(&e, &l, "");
    assert_false(l.initrd_in_place);
    assert_int_equal(l.initrd_gpa, MiB(32) - 4 * 4096);
    assert_memory_equal(hva(l.initrd_gpa), rd, rdsize);
    for (u64 i = 0; i < rdsize; i++)
        assert_int_equal(rd[i], (u8)(i * 13));

    /* not page-aligned where it is: copied too (as high as it may go) */
    wr16(k, 0x236, 0x7f);
    wr32(k, 0x22c, 0x7fffffff);
    rd = hva(at + 0x800);
    memmove(rd, hva(at), rdsize);
    in.initrd = rd, in.initrd_gpa = at + 0x800, busy[0].base = at + 0x800;
    assert_int_equal(prep_in(&in, &e, &l, err), 0);
    check_boot_state(&e, &l, "");
    assert_false(l.initrd_in_place);
    assert_int_equal(l.initrd_gpa, MiB(128) - 4 * 4096);
    assert_memory_equal(hva(l.initrd_gpa), rd, rdsize);

    /* where the kernel's decompression would run over it: copied */
    rd = hva(MiB(20));
    memmove(rd, hva(at + 0x800), rdsize);
    in.initrd = rd, in.initrd_gpa = MiB(20), in.nbusy = 0; /* (not listed busy, so the kernel may go there) */
    assert_int_equal(prep_in(&in, &e, &l, err), 0);
    assert_int_equal(l.kernel_gpa, MiB(16));
    assert_false(l.initrd_in_place);
    assert_int_equal(l.initrd_gpa, MiB(128) - 4 * 4096);
    check_boot_state(&e, &l, "");
    free(k);
}

static void test_initrd_addr_max(void **state)
{
    u8 *k = synthetic();
    wr16(k, 0x236, 0x01); /* only XLF_KERNEL_64: initrd_addr_max is binding */
    wr32(k, 0x22c, MiB(40) - 1);
    new_guest(MiB(64));
    u8 rd[4096 * 3];
    memset(rd, 1, sizeof(rd));
    struct guest_entry e;
    struct linux_boot_layout l;
    char err[256] = "";

    assert_int_equal(prep(k, SYN_SIZE, rd, sizeof(rd), "x", &e, &l, err), 0);
    assert_int_equal(l.initrd_gpa, MiB(40) - sizeof(rd));
    check_boot_state(&e, &l, "x");

    /* below the kernel's end: under the kernel then */
    wr32(k, 0x22c, MiB(20) - 1);
    assert_int_equal(prep(k, SYN_SIZE, rd, sizeof(rd), "x", &e, &l, err), 0);
    assert_int_equal(l.initrd_gpa, MiB(16) - sizeof(rd));
    check_boot_state(&e, &l, "x");

    /* no room at all below it */
    wr32(k, 0x22c, MiB(1) + 0x2000 - 1);
    assert_int_equal(prep(k, SYN_SIZE, rd, sizeof(rd), "x", &e, &l, err), -1);
    assert_non_null(strstr(err, "initrd: no 1 MiB of usable RAM below 0x102000"));
    free(k);
}

/* RAM above 4 GiB: the initrd goes there when the kernel says it may (XLF_CAN_BE_LOADED_ABOVE_4G). */
static void initrd_above_4g_when_the_kernel_allows(void **state)
{
    static const struct boot_mem_region fw[] = {
        { 0, 0x9f000, BOOT_MEM_FREE, 7 },
        { 0x100000, MiB(63), BOOT_MEM_FREE, 7 },
        { GiB(4), MiB(64), BOOT_MEM_FREE, 7 },
    };
    u8 *k = synthetic();
    u8 rd[4096 + 1];
    memset(rd, 0x3c, sizeof(rd));
    struct guest_entry e;
    struct linux_boot_layout l;
    char err[256] = "";

    new_guest_fw(fw, ARRAY_SIZE(fw));
    assert_int_equal(prep(k, SYN_SIZE, rd, sizeof(rd), "", &e, &l, err), 0);
    assert_int_equal(l.initrd_gpa, GiB(4) + MiB(64) - 2 * 4096);
    assert_memory_equal(hva(l.initrd_gpa), rd, sizeof(rd));
    check_boot_state(&e, &l, ""); /* ext_ramdisk_image carries the high half */
    assert_true(l.kernel_gpa + kernel_footprint(&l) <= GiB(4));

    wr16(k, 0x236, 0x01);
    assert_int_equal(prep(k, SYN_SIZE, rd, sizeof(rd), "", &e, &l, err), 0);
    assert_int_equal(l.initrd_gpa, MiB(64) - 2 * 4096);
    check_boot_state(&e, &l, "");
    free(k);
}

/* The loader's buffers are guest RAM too: nothing is placed over the kernel file before it is
 * copied out of it. */
static void busy_ranges_are_respected(void **state)
{
    u8 *k = synthetic();
    struct guest_entry e;
    struct linux_boot_layout l;
    char err[256] = "";

    new_guest(MiB(64));
    u8 *file = hva(MiB(16)); /* where the kernel would go */
    memcpy(file, k, SYN_SIZE);
    struct phys_range busy[] = { { MiB(16), SYN_SIZE }, { 0x1000, 0x2000 } };
    struct linux_boot_input in = { .bzimage = file, .bzsize = SYN_SIZE, .busy = busy, .nbusy = 2 };
    assert_int_equal(prep_in(&in, &e, &l, err), 0);
    check_boot_state(&e, &l, "");
    assert_int_equal(l.kernel_gpa, MiB(18));
    assert_int_equal(l.boot_area, 0x3000);
    assert_memory_equal(file, k, SYN_SIZE); /* the file is intact */
    assert_memory_equal(hva(MiB(18)), k + 0x1000, SYN_PM_SIZE);

    struct phys_range many[LINUX_BOOT_MAX_BUSY + 1] = { { 0 } };
    in.busy = many, in.nbusy = LINUX_BOOT_MAX_BUSY + 1;
    assert_int_equal(prep_in(&in, &e, &l, err), -1);
    assert_non_null(strstr(err, "busy ranges"));
    free(k);
}

static void test_setup_sects_zero_means_four(void **state)
{
    u8 *k = synthetic();
    k[0x1f1] = 0; /* protected-mode part at 5 * 512 */
    wr32(k, 0x1f4, (SYN_SIZE - 0xa00) / 16);
    new_guest(MiB(64));
    struct guest_entry e;
    struct linux_boot_layout l;
    char err[256] = "";

    assert_int_equal(prep(k, SYN_SIZE, NULL, 0, "", &e, &l, err), 0);
    assert_memory_equal(hva(l.kernel_gpa), k + 0xa00, SYN_SIZE - 0xa00);
    free(k);
}

/* Each mutation must be refused with a message containing the expected words. */
static void expect_bad(void (*mutate)(u8 *k, u64 *size), const char *words)
{
    u8 *k = synthetic();
    u64 size = SYN_SIZE;
    struct guest_entry e;
    char err[256] = "";

    new_guest(MiB(64));
    mutate(k, &size);
    assert_int_equal(prep(k, size, NULL, 0, "", &e, NULL, err), -1);
    if (!strstr(err, words))
        fail_msg("error \"%s\" lacks \"%s\"", err, words);
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
    expect_bad(m_huge_init, "kernel: no 4095 MiB of usable RAM");
}

static void test_null_image(void **state)
{
    struct guest_entry e;
    char err[256] = "";

    new_guest(MiB(64));
    assert_int_equal(prep(NULL, 0, NULL, 0, "", &e, NULL, err), -1);
    assert_non_null(strstr(err, "too small"));
}

static void test_cmdline_limits(void **state)
{
    u8 *k = synthetic();
    struct guest_entry e;
    char err[256] = "";
    char line[GUEST_CMDLINE_MAX + 10];

    new_guest(MiB(64));
    wr32(k, 0x238, 10); /* the kernel's own limit */
    assert_int_equal(prep(k, SYN_SIZE, NULL, 0, "0123456789", &e, NULL, err), 0);
    assert_int_equal(prep(k, SYN_SIZE, NULL, 0, "0123456789a", &e, NULL, err), -1);
    assert_non_null(strstr(err, "cmdline: too long"));

    wr32(k, 0x238, 0xffffffff); /* ours */
    memset(line, 'a', sizeof(line));
    line[GUEST_CMDLINE_MAX - 1] = 0;
    assert_int_equal(prep(k, SYN_SIZE, NULL, 0, line, &e, NULL, err), 0);
    line[GUEST_CMDLINE_MAX - 1] = 'a';
    line[sizeof(line) - 1] = 0;
    assert_int_equal(prep(k, SYN_SIZE, NULL, 0, line, &e, NULL, err), -1);
    free(k);
}

static void test_ram_too_small(void **state)
{
    u8 *k = synthetic();
    struct guest_entry e;
    char err[256] = "";

    /* 16 MiB load + 8 MiB init_size: 18 MiB of RAM holds no aligned 8 MiB from 16 MiB up. */
    new_guest(MiB(18));
    assert_int_equal(prep(k, SYN_SIZE, NULL, 0, "", &e, NULL, err), -1);
    assert_string_equal(err, "kernel: no 8 MiB of usable RAM, 2048 KiB aligned, below 4 GiB");
    free(k);
}

static void test_initrd_without_data(void **state)
{
    u8 *k = synthetic();
    struct guest_entry e;
    char err[256] = "";

    new_guest(MiB(64));
    assert_int_equal(prep(k, SYN_SIZE, NULL, 10, "", &e, NULL, err), -1);
    assert_non_null(strstr(err, "initrd"));
    free(k);
}

/* A map of more than 128 e820 entries (a server's fragmented UEFI map): the first 128 in
 * boot_params, the rest in one SETUP_E820_EXT setup_data block in the boot area. */
static void test_e820_beyond_the_zero_page(void **state)
{
    static struct boot_mem_region fw[300];
    u32 n = 0;
    u8 *k = synthetic();
    struct guest_entry e;
    struct linux_boot_layout l;
    char err[256] = "";

    fw[n++] = (struct boot_mem_region){ 0, 0x9f000, BOOT_MEM_FREE, 7 };
    fw[n++] = (struct boot_mem_region){ 0x100000, MiB(63), BOOT_MEM_FREE, 7 };
    for (u32 i = 0; i < 200; i++) /* RAM and NVS pages taking turns above 64 MiB */
        fw[n++] = (struct boot_mem_region){ MiB(64) + (u64)i * PAGE_SIZE, PAGE_SIZE,
                                            i % 2 ? BOOT_MEM_NVS : BOOT_MEM_FREE, 7 };
    new_guest_fw(fw, n);
    assert_true(map.count > E820_MAX_ZEROPAGE);
    assert_int_equal(prep(k, SYN_SIZE, NULL, 0, "x", &e, &l, err), 0);
    const u8 *bp = hva(l.boot_area + GUEST_BOOT_PARAMS_OFF);
    assert_int_equal(bp[0x1e8], E820_MAX_ZEROPAGE);
    u64 sd = rd32(bp, 0x250) | (u64)rd32(bp, 0x254) << 32;
    assert_int_equal(sd, l.boot_area + GUEST_SETUP_DATA_OFF);
    const u8 *d = hva(sd);
    assert_int_equal(rd32(d, 0) | (u64)rd32(d, 4) << 32, 0); /* no next */
    assert_int_equal(rd32(d, 8), 1);                         /* SETUP_E820_EXT */
    assert_int_equal(rd32(d, 12), (map.count - E820_MAX_ZEROPAGE) * 20);
    assert_memory_equal(d + 16, &map.entries[E820_MAX_ZEROPAGE], (map.count - E820_MAX_ZEROPAGE) * 20);
    assert_memory_equal(bp + 0x2d0, map.entries, E820_MAX_ZEROPAGE * 20);

    /* a small map: no setup_data */
    new_guest_fw(fw, 2);
    assert_int_equal(prep(k, SYN_SIZE, NULL, 0, "x", &e, &l, err), 0);
    bp = hva(l.boot_area + GUEST_BOOT_PARAMS_OFF);
    assert_int_equal(rd32(bp, 0x250) | (u64)rd32(bp, 0x254) << 32, 0);
    free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_debian_kernel, free_guest),
        cmocka_unit_test_teardown(test_debian_kernel_too_little_ram, free_guest),
        cmocka_unit_test_teardown(test_synthetic_ok, free_guest),
        cmocka_unit_test_teardown(boot_area_is_the_lowest_that_fits, free_guest),
        cmocka_unit_test_teardown(kernel_at_pref_address_or_the_lowest_aligned_spot, free_guest),
        cmocka_unit_test_teardown(a_fixed_kernel_needs_its_own_address_free, free_guest),
        cmocka_unit_test_teardown(initrd_in_place_or_copied_below_initrd_addr_max, free_guest),
        cmocka_unit_test_teardown(test_initrd_addr_max, free_guest),
        cmocka_unit_test_teardown(initrd_above_4g_when_the_kernel_allows, free_guest),
        cmocka_unit_test_teardown(busy_ranges_are_respected, free_guest),
        cmocka_unit_test_teardown(test_setup_sects_zero_means_four, free_guest),
        cmocka_unit_test_teardown(test_bad_images, free_guest),
        cmocka_unit_test_teardown(test_null_image, free_guest),
        cmocka_unit_test_teardown(test_cmdline_limits, free_guest),
        cmocka_unit_test_teardown(test_ram_too_small, free_guest),
        cmocka_unit_test_teardown(test_initrd_without_data, free_guest),
        cmocka_unit_test_teardown(test_e820_beyond_the_zero_page, free_guest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
