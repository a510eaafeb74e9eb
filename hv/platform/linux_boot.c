/*
 * Linux x86 64-bit boot protocol (Documentation/arch/x86/boot.rst and zero-page.rst).
 *
 * We enter the kernel at its 64-bit entry (load address + 0x200) with paging already on, so none
 * of the real-mode setup code runs: the hypervisor plays the boot loader's part and fills the
 * "zero page" (struct boot_params) itself. Every value read from the bzImage is checked against
 * the file size before use; every guest write goes through gmem_ptr().
 */
#include "platform/linux_boot.h"
#include "lib/bytes.h"
#include "platform/e820.h"
#include "core/guest_layout.h"
#include "lib/lib.h"
#include "lib/log.h"

/* Setup header fields: offsets in the bzImage, identical in boot_params (boot.rst, "THE REAL-MODE
 * KERNEL HEADER"). */
#define HDR_SETUP_SECTS      0x1f1 /* u8, 0 means 4 */
#define HDR_SYSSIZE          0x1f4 /* u32, protected-mode code size in 16-byte units */
#define HDR_VID_MODE         0x1fa /* u16 */
#define HDR_BOOT_FLAG        0x1fe /* u16, 0xaa55 */
#define HDR_JUMP_OFFSET      0x201 /* u8: the header ends at 0x202 + this byte */
#define HDR_MAGIC            0x202 /* "HdrS" */
#define HDR_VERSION          0x206 /* u16, major << 8 | minor */
#define HDR_TYPE_OF_LOADER   0x210 /* u8 */
#define HDR_LOADFLAGS        0x211 /* u8 */
#define HDR_CODE32_START     0x214 /* u32 */
#define HDR_RAMDISK_IMAGE    0x218 /* u32 */
#define HDR_RAMDISK_SIZE     0x21c /* u32 */
#define HDR_HEAP_END_PTR     0x224 /* u16 */
#define HDR_CMD_LINE_PTR     0x228 /* u32 */
#define HDR_INITRD_ADDR_MAX  0x22c /* u32, highest byte address the initrd may occupy */
#define HDR_KERNEL_ALIGNMENT 0x230 /* u32 */
#define HDR_RELOCATABLE      0x234 /* u8 */
#define HDR_XLOADFLAGS       0x236 /* u16 */
#define HDR_CMDLINE_SIZE     0x238 /* u32, max length without the NUL */
#define HDR_SETUP_DATA       0x250 /* u64, physical address of the first struct setup_data */
#define HDR_PREF_ADDRESS     0x258 /* u64 */
#define HDR_INIT_SIZE        0x260 /* u32 */
#define HDR_FIELDS_END       0x264 /* every field above lies before this */

/* struct boot_params (zero-page.rst). */
#define BP_ACPI_RSDP_ADDR    0x070 /* u64 */
#define BP_EXT_RAMDISK_IMAGE 0x0c0 /* u32, high half of ramdisk_image */
#define BP_EXT_RAMDISK_SIZE  0x0c4 /* u32, high half of ramdisk_size */
#define BP_EXT_CMD_LINE_PTR  0x0c8 /* u32 */
#define BP_E820_ENTRIES      0x1e8 /* u8 */
#define BP_HDR               0x1f1 /* struct setup_header */
#define BP_HDR_MAX_END       0x290 /* edd_mbr_sig_buffer: the setup header may not run past it */
#define BP_E820_TABLE        0x2d0 /* struct boot_e820_entry[128] */
#define BP_SIZE              0x1000

#define HDRS_MAGIC                 0x53726448u /* "HdrS" little-endian */
#define BOOT_FLAG_MAGIC            0xaa55
#define LOADFLAG_LOADED_HIGH       BIT(0)
#define LOADFLAG_CAN_USE_HEAP      BIT(7)
#define XLF_KERNEL_64              BIT(0)
#define XLF_CAN_BE_LOADED_ABOVE_4G BIT(1)
#define LOADER_TYPE_UNKNOWN        0xff   /* no assigned boot loader ID */
#define HEAP_END_PTR               0xfe00 /* conventional; only the (skipped) real-mode code uses it */
#define VID_MODE_NORMAL            0xffff /* likewise ignored by the 64-bit entry */
#define ENTRY_64_OFFSET            0x200  /* 64-bit entry point relative to the load address */
#define SECTOR_SIZE                512
#define SETUP_E820_EXT             1  /* struct setup_data type: more e820 entries */
#define SETUP_DATA_HDR             16 /* u64 next, u32 type, u32 len */

/* The boot GDT: the protocol requires __BOOT_CS = 0x10 (flat 64-bit code, read/execute) and
 * __BOOT_DS = 0x18 (flat data, read/write). */
#define BOOT_CS 0x10
#define BOOT_DS 0x18
static const u64 boot_gdt[] = {
    0, 0, 0x00af9b000000ffffull, /* 0x10: P, DPL0, code exec/read accessed, L=1, G=1 */
    0x00cf93000000ffffull,       /* 0x18: P, DPL0, data read/write accessed, D/B=1, G=1 */
};

#define PTE_P            BIT(0)
#define PTE_RW           BIT(1)
#define PTE_PS           BIT(7)
#define IDENTITY_MAP_END GiB(4) /* what the boot page tables cover */

#define ENTRY_CR0    0x80000031ull /* PE | ET | NE | PG */
#define ENTRY_CR4    0x20ull       /* PAE */
#define ENTRY_EFER   0x500ull      /* LME | LMA; the SVM backend adds SVME */
#define ENTRY_RFLAGS 0x2ull        /* reserved bit 1 only: interrupts off, as the protocol requires */

/* The kernel switches to its own stack within a few instructions of startup_64; until then a
 * valid one costs nothing: the top of the boot area's first page. */
#define ENTRY_RSP_OFF (GUEST_STACK_OFF + PAGE_SIZE)


static u64 max_u64(u64 a, u64 b) { return a > b ? a : b; }

/* What we need from a validated bzImage. */
struct bz {
    u64 hdr_end;   /* file offset where the setup header ends */
    u64 pm_offset; /* protected-mode kernel: file offset and size */
    u64 pm_size;
    u32 initrd_addr_max;
    u32 alignment;
    u32 cmdline_size;
    u32 init_size;
    u64 pref_address;
    bool relocatable;
    bool initrd_above_4g;
};

static int parse_bzimage(const u8 *img, u64 size, struct bz *bz, char *err, size_t errsz)
{
    if (!img || size < HDR_MAGIC + 4) {
        fmt_snprintf(err, errsz, "kernel: image too small (%lu bytes) for a setup header", size);
        return -1;
    }
    if (rd32(img, HDR_MAGIC) != HDRS_MAGIC) {
        fmt_snprintf(err, errsz, "kernel: not a bzImage (no HdrS signature)");
        return -1;
    }
    if (rd16(img, HDR_BOOT_FLAG) != BOOT_FLAG_MAGIC) {
        fmt_snprintf(err, errsz, "kernel: not a bzImage (no 0xaa55 boot flag)");
        return -1;
    }
    u16 version = rd16(img, HDR_VERSION);
    if (version < LINUX_BOOT_MIN_VERSION) {
        fmt_snprintf(err, errsz, "kernel: boot protocol %u.%02u is too old, need 2.12 or later", version >> 8,
                     version & 0xff);
        return -1;
    }
    /* From here on every field we read lies inside [0x1f1, hdr_end), itself inside the file. */
    bz->hdr_end = HDR_MAGIC + (u64)rd8(img, HDR_JUMP_OFFSET);
    if (bz->hdr_end < HDR_FIELDS_END || bz->hdr_end > BP_HDR_MAX_END || bz->hdr_end > size) {
        fmt_snprintf(err, errsz, "kernel: setup header ends at 0x%lx, expected within [0x%x, 0x%x] and the file",
                     bz->hdr_end, HDR_FIELDS_END, BP_HDR_MAX_END);
        return -1;
    }
    if (!(rd16(img, HDR_XLOADFLAGS) & XLF_KERNEL_64)) {
        fmt_snprintf(err, errsz, "kernel: no 64-bit entry point (XLF_KERNEL_64 not set)");
        return -1;
    }
    if (!(rd8(img, HDR_LOADFLAGS) & LOADFLAG_LOADED_HIGH)) {
        fmt_snprintf(err, errsz, "kernel: not a bzImage (LOADED_HIGH not set)");
        return -1;
    }

    u64 setup_sects = rd8(img, HDR_SETUP_SECTS);
    if (setup_sects == 0)
        setup_sects = 4;
    bz->pm_offset = (setup_sects + 1) * SECTOR_SIZE;
    bz->pm_size = (u64)rd32(img, HDR_SYSSIZE) * 16;
    if (bz->pm_offset >= size) {
        fmt_snprintf(err, errsz, "kernel: setup code (%lu sectors) runs past the end of the file (%lu bytes)",
                     setup_sects, size);
        return -1;
    }
    if (bz->pm_size == 0 || bz->pm_size > size - bz->pm_offset) {
        fmt_snprintf(err, errsz, "kernel: truncated (header says %lu bytes of kernel, file has %lu)", bz->pm_size,
                     size - bz->pm_offset);
        return -1;
    }

    bz->alignment = rd32(img, HDR_KERNEL_ALIGNMENT);
    if (bz->alignment == 0 || (bz->alignment & (bz->alignment - 1)) || bz->alignment > HUGE_PAGE_SIZE) {
        fmt_snprintf(err, errsz, "kernel: kernel_alignment 0x%x is not a power of two up to 1 GiB", bz->alignment);
        return -1;
    }
    bz->initrd_addr_max = rd32(img, HDR_INITRD_ADDR_MAX);
    bz->cmdline_size = rd32(img, HDR_CMDLINE_SIZE);
    bz->init_size = rd32(img, HDR_INIT_SIZE);
    bz->pref_address = rd64(img, HDR_PREF_ADDRESS);
    bz->relocatable = rd8(img, HDR_RELOCATABLE) != 0;
    bz->initrd_above_4g = (rd16(img, HDR_XLOADFLAGS) & XLF_CAN_BE_LOADED_ABOVE_4G) != 0;
    return 0;
}

/* Ranges placement must keep clear of: the loader's copies of the kernel and initrd (still to be
 * copied from), and what has been placed so far. */
struct avoid {
    struct phys_range r[LINUX_BOOT_MAX_BUSY + 3];
    u32 n;
};

static bool overlaps_avoid(const struct avoid *av, u64 base, u64 end)
{
    for (u32 i = 0; i < av->n; i++)
        if (av->r[i].size && av->r[i].base < end && base < av->r[i].base + av->r[i].size)
            return true;
    return false;
}

static void add_avoid(struct avoid *av, u64 base, u64 size)
{
    if (av->n < ARRAY_SIZE(av->r))
        av->r[av->n++] = (struct phys_range){ ALIGN_DOWN(base, PAGE_SIZE),
                                              ALIGN_UP(base + size, PAGE_SIZE) - ALIGN_DOWN(base, PAGE_SIZE) };
}

/* Is [base, end) inside one usable-RAM entry of the e820 map and clear of av? */
static bool fits(const struct e820_map *map, const struct avoid *av, u64 base, u64 end)
{
    if (end <= base)
        return false;
    for (u32 i = 0; i < map->count; i++) {
        const struct e820_entry *e = &map->entries[i];
        if (e->type == E820_TYPE_RAM && base >= e->addr && end <= e->addr + e->size)
            return !overlaps_avoid(av, base, end);
    }
    return false;
}

/*
 * The lowest (or, with top, highest) align-aligned address a with [a, a+size) inside one
 * usable-RAM entry, inside [lo, hi) and clear of av; 0 when there is none (0 is never a
 * result: GUEST_BOOT_AREA_MIN and the kernel's minimum are above it). Candidates are the
 * entries' edges and the avoided ranges' edges: a free stretch starts or ends at one of them.
 */
static u64 find_spot(const struct e820_map *map, const struct avoid *av, u64 size, u64 align, u64 lo, u64 hi, bool top)
{
    u64 best = 0;

    for (u32 i = 0; i < map->count; i++) {
        const struct e820_entry *e = &map->entries[i];
        u64 ebase = e->addr > lo ? e->addr : lo, eend = e->addr + e->size < hi ? e->addr + e->size : hi;
        if (e->type != E820_TYPE_RAM || eend <= ebase || eend - ebase < size)
            continue;
        for (u32 k = 0; k <= av->n; k++) {
            u64 a;
            if (!top) {
                u64 from = k == av->n ? ebase : av->r[k].base + av->r[k].size;
                if (from < ebase || from >= eend)
                    continue;
                a = ALIGN_UP(from, align);
                if (a < from || a > eend || eend - a < size || !fits(map, av, a, a + size))
                    continue;
                if (!best || a < best)
                    best = a;
            } else {
                u64 to = k == av->n ? eend : av->r[k].base;
                if (to <= ebase || to > eend || to - ebase < size)
                    continue;
                a = ALIGN_DOWN(to - size, align);
                if (a < ebase || !fits(map, av, a, a + size))
                    continue;
                if (a > best)
                    best = a;
            }
        }
    }
    return best;
}

/* Where the kernel goes and how far it reaches. A relocatable kernel decompresses at
 * max(ALIGN_UP(load, kernel_alignment), pref_address) (arch/x86/boot/compressed/head_64.S), so
 * its footprint ends at that + init_size, not at load + init_size. */
static u64 kernel_end_at(const struct bz *bz, u64 load)
{
    u64 target = max_u64(ALIGN_UP(load, (u64)bz->alignment), bz->pref_address);
    return ALIGN_UP(max_u64(load + bz->pm_size, target + bz->init_size), PAGE_SIZE);
}

/* At pref_address when the memory map has room there; a relocatable kernel otherwise at the
 * lowest aligned place from max(pref_address, 16 MiB) up that does (it then runs where it is). */
static int place_kernel(const struct bz *bz, const struct e820_map *map, const struct avoid *av, u64 *load, u64 *end,
                        char *err, size_t errsz)
{
    u64 pref = bz->pref_address, span = ALIGN_UP(max_u64(bz->pm_size, bz->init_size), PAGE_SIZE);

    if (pref >= MiB(1) && IS_ALIGNED(pref, bz->alignment) && kernel_end_at(bz, pref) <= IDENTITY_MAP_END &&
        fits(map, av, pref, kernel_end_at(bz, pref))) {
        *load = pref;
        *end = kernel_end_at(bz, pref);
        return 0;
    }
    if (!bz->relocatable) {
        fmt_snprintf(err, errsz, "kernel: not relocatable and its address 0x%lx is not free usable RAM", pref);
        return -1;
    }
    *load = find_spot(map, av, span, bz->alignment, max_u64(pref, GUEST_KERNEL_GPA), IDENTITY_MAP_END, false);
    if (!*load) {
        fmt_snprintf(err, errsz, "kernel: no %lu MiB of usable RAM, %u KiB aligned, below 4 GiB",
                     ALIGN_UP(span, MiB(1)) >> 20, bz->alignment >> 10);
        return -1;
    }
    *end = kernel_end_at(bz, *load);
    return 0;
}

/* Copy into guest RAM, checked. */
static int gput(const struct guest_mem *gm, gpa_t gpa, const void *src, u64 len, const char *what, char *err,
                size_t errsz)
{
    void *dst = gmem_ptr(gm, gpa, len);

    if (!dst) {
        fmt_snprintf(err, errsz, "%s: [0x%lx, +0x%lx) is outside guest RAM", what, gpa, len);
        return -1;
    }
    if (dst != src)
        memmove(dst, src, len);
    return 0;
}

static int build_page_tables(const struct guest_mem *gm, gpa_t area, char *err, size_t errsz)
{
    u64 *pml4 = gmem_ptr(gm, area + GUEST_PML4_OFF, PAGE_SIZE);
    u64 *pdpt = gmem_ptr(gm, area + GUEST_PDPT_OFF, PAGE_SIZE);
    u64 *pd = gmem_ptr(gm, area + GUEST_PD_OFF, 4 * PAGE_SIZE);

    if (!pml4 || !pdpt || !pd) {
        fmt_snprintf(err, errsz, "boot page tables: outside guest RAM");
        return -1;
    }
    memset(pml4, 0, PAGE_SIZE);
    memset(pdpt, 0, PAGE_SIZE);
    pml4[0] = (area + GUEST_PDPT_OFF) | PTE_P | PTE_RW;
    for (u64 i = 0; i < 4; i++)
        pdpt[i] = (area + GUEST_PD_OFF + i * PAGE_SIZE) | PTE_P | PTE_RW;
    for (u64 i = 0; i < IDENTITY_MAP_END / LARGE_PAGE_SIZE; i++)
        pd[i] = (i * LARGE_PAGE_SIZE) | PTE_P | PTE_RW | PTE_PS;
    return 0;
}

int linux_boot_check(const u8 *bzimage, u64 bzsize, char *err, size_t errsz)
{
    struct bz bz;
    return parse_bzimage(bzimage, bzsize, &bz, err, errsz);
}

int linux_boot_prepare(const struct guest_mem *gm, const struct e820_map *map, const struct linux_boot_input *in,
                       struct guest_entry *entry, struct linux_boot_layout *layout, char *err, size_t errsz)
{
    struct bz bz;
    struct avoid av = { .n = 0 };
    u64 area, load, kernel_end, initrd_gpa = 0;
    const char *cmdline = in->cmdline ? in->cmdline : "";
    bool initrd_in_place = false;

    if (parse_bzimage(in->bzimage, in->bzsize, &bz, err, errsz))
        return -1;
    u64 cmdlen = strnlen(cmdline, GUEST_CMDLINE_MAX);
    if (cmdlen >= GUEST_CMDLINE_MAX || cmdlen > bz.cmdline_size) {
        fmt_snprintf(err, errsz, "cmdline: too long (%lu bytes; kernel takes %u, the buffer %u)", cmdlen,
                     bz.cmdline_size, GUEST_CMDLINE_MAX - 1);
        return -1;
    }
    if (in->initrd_size && !in->initrd) {
        fmt_snprintf(err, errsz, "initrd: size %lu but no data", in->initrd_size);
        return -1;
    }
    if (in->nbusy > LINUX_BOOT_MAX_BUSY) {
        fmt_snprintf(err, errsz, "boot: %u busy ranges, at most %u", in->nbusy, LINUX_BOOT_MAX_BUSY);
        return -1;
    }
    for (u32 i = 0; i < in->nbusy; i++)
        add_avoid(&av, in->busy[i].base, in->busy[i].size);

    /* Boot area low, kernel at its address, initrd where it already is or as high as it may go. */
    area = find_spot(map, &av, GUEST_BOOT_AREA_SIZE, PAGE_SIZE, GUEST_BOOT_AREA_MIN, IDENTITY_MAP_END, false);
    if (!area) {
        fmt_snprintf(err, errsz, "boot: no %llu KiB of usable RAM below 4 GiB for boot_params and the boot page tables",
                     (unsigned long long)(GUEST_BOOT_AREA_SIZE >> 10));
        return -1;
    }
    add_avoid(&av, area, GUEST_BOOT_AREA_SIZE);
    if (place_kernel(&bz, map, &av, &load, &kernel_end, err, errsz))
        return -1;
    add_avoid(&av, load, kernel_end - load);
    if (in->initrd_size) {
        u64 limit = bz.initrd_above_4g ? ~0ull : (u64)bz.initrd_addr_max + 1;
        u64 span = ALIGN_UP(in->initrd_size, PAGE_SIZE);
        struct avoid placed = av;
        /* Where the loader read it may already do: usable RAM clear of the kernel and the boot area
         * (its own busy entry is dropped for that check). */
        placed.n = 0;
        add_avoid(&placed, area, GUEST_BOOT_AREA_SIZE);
        add_avoid(&placed, load, kernel_end - load);
        if (in->initrd_gpa && IS_ALIGNED(in->initrd_gpa, PAGE_SIZE) && in->initrd_gpa + span <= limit &&
            fits(map, &placed, in->initrd_gpa, in->initrd_gpa + span)) {
            initrd_gpa = in->initrd_gpa;
            initrd_in_place = true;
        } else {
            initrd_gpa = find_spot(map, &av, span, PAGE_SIZE, MiB(1), limit, true);
            if (!initrd_gpa) {
                fmt_snprintf(err, errsz, "initrd: no %lu MiB of usable RAM below 0x%lx clear of the kernel",
                             ALIGN_UP(in->initrd_size, MiB(1)) >> 20, limit);
                return -1;
            }
        }
    }

    /* boot_params: zeroed (sentinel 0, no screen_info), then the kernel's own setup header. */
    u8 *bp = gmem_ptr(gm, area + GUEST_BOOT_PARAMS_OFF, BP_SIZE);
    if (!bp) {
        fmt_snprintf(err, errsz, "boot_params: outside guest RAM");
        return -1;
    }
    memset(bp, 0, BP_SIZE);
    memcpy(bp + BP_HDR, in->bzimage + HDR_SETUP_SECTS, bz.hdr_end - HDR_SETUP_SECTS);

    wr16(bp, HDR_VID_MODE, VID_MODE_NORMAL);
    wr8(bp, HDR_TYPE_OF_LOADER, LOADER_TYPE_UNKNOWN);
    wr8(bp, HDR_LOADFLAGS, rd8(bp, HDR_LOADFLAGS) | LOADFLAG_CAN_USE_HEAP);
    wr16(bp, HDR_HEAP_END_PTR, HEAP_END_PTR);
    wr32(bp, HDR_CODE32_START, (u32)load);
    wr32(bp, HDR_CMD_LINE_PTR, (u32)(area + GUEST_CMDLINE_OFF));
    wr32(bp, BP_EXT_CMD_LINE_PTR, 0);
    wr32(bp, HDR_RAMDISK_IMAGE, (u32)initrd_gpa);
    wr32(bp, BP_EXT_RAMDISK_IMAGE, (u32)(initrd_gpa >> 32));
    wr32(bp, HDR_RAMDISK_SIZE, (u32)in->initrd_size);
    wr32(bp, BP_EXT_RAMDISK_SIZE, (u32)(in->initrd_size >> 32));
    wr64(bp, BP_ACPI_RSDP_ADDR, in->acpi_rsdp);
    u32 zp = map->count < E820_MAX_ZEROPAGE ? map->count : E820_MAX_ZEROPAGE;
    wr8(bp, BP_E820_ENTRIES, (u8)zp);
    memcpy(bp + BP_E820_TABLE, map->entries, zp * sizeof(map->entries[0]));
    if (map->count > zp) {
        /* The rest in one SETUP_E820_EXT block (boot.rst "setup_data"; Linux's decompressor
         * keeps clear of setup_data, and the kernel appends these entries to the zero page's). */
        u32 len = (map->count - zp) * (u32)sizeof(map->entries[0]);
        u8 *sd = gmem_ptr(gm, area + GUEST_SETUP_DATA_OFF, GUEST_SETUP_DATA_SIZE);
        if (!sd || SETUP_DATA_HDR + len > GUEST_SETUP_DATA_SIZE) {
            fmt_snprintf(err, errsz, "e820: %u entries do not fit the boot area's setup_data", map->count);
            return -1;
        }
        memset(sd, 0, SETUP_DATA_HDR);
        wr32(sd, 8, SETUP_E820_EXT);
        wr32(sd, 12, len);
        memcpy(sd + SETUP_DATA_HDR, map->entries + zp, len);
        wr64(bp, HDR_SETUP_DATA, area + GUEST_SETUP_DATA_OFF);
    }

    if (gput(gm, area + GUEST_CMDLINE_OFF, cmdline, cmdlen + 1, "cmdline", err, errsz) ||
        gput(gm, load, in->bzimage + bz.pm_offset, bz.pm_size, "kernel", err, errsz) ||
        (in->initrd_size && !initrd_in_place &&
         gput(gm, initrd_gpa, in->initrd, in->initrd_size, "initrd", err, errsz)))
        return -1;

    u8 *gdt = gmem_ptr(gm, area + GUEST_GDT_OFF, PAGE_SIZE);
    if (!gdt) {
        fmt_snprintf(err, errsz, "boot GDT: outside guest RAM");
        return -1;
    }
    memset(gdt, 0, PAGE_SIZE);
    memcpy(gdt, boot_gdt, sizeof(boot_gdt));
    if (build_page_tables(gm, area, err, errsz))
        return -1;

    memset(entry, 0, sizeof(*entry));
    entry->rip = load + ENTRY_64_OFFSET;
    entry->rsi = area + GUEST_BOOT_PARAMS_OFF;
    entry->rsp = area + ENTRY_RSP_OFF;
    entry->rflags = ENTRY_RFLAGS;
    entry->cr0 = ENTRY_CR0;
    entry->cr3 = area + GUEST_PML4_OFF;
    entry->cr4 = ENTRY_CR4;
    entry->efer = ENTRY_EFER;
    entry->gdt_base = area + GUEST_GDT_OFF;
    entry->gdt_limit = sizeof(boot_gdt) - 1;
    entry->cs_sel = BOOT_CS;
    entry->ds_sel = BOOT_DS;

    if (layout) {
        layout->boot_area = area;
        layout->kernel_gpa = load;
        layout->kernel_size = bz.pm_size;
        layout->init_size = bz.init_size;
        layout->initrd_gpa = initrd_gpa;
        layout->initrd_size = in->initrd_size;
        layout->initrd_in_place = initrd_in_place;
    }
    return 0;
}
