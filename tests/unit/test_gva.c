/* UNIT-SOURCES: hv/core/gva.c */
/* Guest-virtual translation: every paging mode, large pages, faults, permissions, hostile tables. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <cmocka.h>

#include "core/gva.h"
#include "test_guest_ram.h"

/* gva.h's inline helpers name the backend table; nothing here calls them. */
const struct vcpu_ops *vcpu_ops;

#define RAM_SIZE    MiB(64)
#define TABLES_BASE MiB(1)

#define P   BIT(0)
#define RW  BIT(1)
#define US  BIT(2)
#define PS  BIT(7)
#define XD  BIT(63)
#define ALL (P | RW | US)

#define CR0_PE   BIT(0)
#define EFER_LME BIT(8)

#define SR (GVA_READ | GVA_SUPERVISOR)
#define SW (GVA_WRITE | GVA_SUPERVISOR)
#define SX (GVA_FETCH | GVA_SUPERVISOR)
#define UR (GVA_READ | GVA_USER)
#define UW (GVA_WRITE | GVA_USER)
#define UX (GVA_FETCH | GVA_USER)

/* Guest RAM [0, RAM_SIZE), followed by an inaccessible guard page (test_guest_ram.h): a walker
 * that read past the end of guest RAM would crash the test instead of passing quietly. */
static struct test_guest guest;
static u8 *ram;
static u64 next_table;

static int group_setup(void **state)
{
    if (!test_guest_init(&guest, 0, RAM_SIZE))
        return -1;
    ram = guest.map;
    return 0;
}

static int group_teardown(void **state)
{
    test_guest_free(&guest);
    return 0;
}

static int setup(void **state)
{
    next_table = TABLES_BASE;
    return 0;
}

static u64 new_table(void)
{
    u64 t = next_table;
    next_table += PAGE_SIZE;
    memset(ram + t, 0, PAGE_SIZE);
    return t;
}

static u64 *e64(u64 table, u64 index) { return (u64 *)(ram + table) + index; }
static u32 *e32(u64 table, u64 index) { return (u32 *)(ram + table) + index; }

static unsigned idx(u64 gva, int level) { return (gva >> (12 + 9 * (level - 1))) & 511; }

/* 64-bit-entry tables from `root` (top level `levels`): create missing tables (entries ALL)
 * down to leaf_level and write leaf there. Returns the leaf entry. */
static u64 *map64(u64 root, int levels, u64 gva, int leaf_level, u64 leaf)
{
    u64 table = root;
    for (int level = levels; level > leaf_level; level--) {
        u64 *e = e64(table, idx(gva, level));
        if (!(*e & P))
            *e = new_table() | ALL;
        table = *e & 0x000ffffffffff000ull;
    }
    *e64(table, idx(gva, leaf_level)) = leaf;
    return e64(table, idx(gva, leaf_level));
}

/* The entry at `level` on the walk of gva (the tables must exist). */
static u64 *entry64(u64 root, int levels, u64 gva, int level)
{
    u64 table = root;
    for (int l = levels; l > level; l--)
        table = *e64(table, idx(gva, l)) & 0x000ffffffffff000ull;
    return e64(table, idx(gva, level));
}

static struct gva_mode lm4(u64 cr3)
{
    return (struct gva_mode){ .cr0 = GVA_CR0_PG | GVA_CR0_WP | CR0_PE,
                              .cr3 = cr3,
                              .cr4 = GVA_CR4_PAE,
                              .efer = EFER_LME | GVA_EFER_LMA | GVA_EFER_NXE };
}

static struct gva_mode lm5(u64 cr3)
{
    struct gva_mode m = lm4(cr3);
    m.cr4 |= GVA_CR4_LA57;
    return m;
}

static struct gva_mode pae(u64 cr3)
{
    return (struct gva_mode){
        .cr0 = GVA_CR0_PG | GVA_CR0_WP | CR0_PE, .cr3 = cr3, .cr4 = GVA_CR4_PAE, .efer = GVA_EFER_NXE
    };
}

static struct gva_mode legacy32(u64 cr3)
{
    return (struct gva_mode){ .cr0 = GVA_CR0_PG | GVA_CR0_WP | CR0_PE, .cr3 = cr3, .cr4 = GVA_CR4_PSE };
}

/* Translate and return the result; *gpa / *fault through the statics below. */
static u64 out_gpa;
static u32 out_fault;
static int tr(const struct gva_mode *m, u64 gva, u32 access)
{
    out_gpa = 0xdead;
    out_fault = 0xdead;
    return gva_translate(&guest.gm, m, gva, access, &out_gpa, &out_fault);
}

#define KVA 0xffff888000000000ull /* a Linux direct-map address */

/* ------------------------------------------------------------------ paging off */

static void paging_off_is_identity(void **state)
{
    struct gva_mode m = { .cr0 = CR0_PE };
    u64 v;

    assert_int_equal(tr(&m, 0x12345678, SR), GVA_OK);
    assert_int_equal(out_gpa, 0x12345678);
    assert_int_equal(out_fault, 0);
    assert_int_equal(tr(&m, 0xffffffff, UX), GVA_OK);
    assert_int_equal(tr(&m, BIT(32), SR), GVA_ERR_ADDR);
    assert_true(out_fault & GVA_FAULT_ADDR);

    memcpy(ram + 0x5000, "\x11\x22\x33\x44\x55\x66\x77\x88", 8);
    assert_int_equal(gva_read_u64(&guest.gm, &m, 0x5000, &v, SR, NULL), GVA_OK);
    assert_int_equal(v, 0x8877665544332211ull);
    /* identity to an address outside guest RAM: translation succeeds, the read does not */
    assert_int_equal(tr(&m, RAM_SIZE, SR), GVA_OK);
    assert_int_equal(gva_read_u64(&guest.gm, &m, RAM_SIZE - 4, &v, SR, &out_fault), GVA_ERR_GPA);
    assert_true(out_fault & GVA_FAULT_OUTSIDE);
    assert_int_equal(v, 0);
}

static void inconsistent_modes_are_rejected(void **state)
{
    struct gva_mode m = { .cr0 = CR0_PE, .efer = GVA_EFER_LMA }; /* LMA without paging */
    assert_int_equal(tr(&m, 0x1000, SR), GVA_ERR_INVAL);
    m = (struct gva_mode){ .cr0 = GVA_CR0_PG, .efer = GVA_EFER_LMA }; /* LMA without PAE */
    assert_int_equal(tr(&m, 0x1000, SR), GVA_ERR_INVAL);
    assert_true(out_fault & GVA_FAULT_INVAL);
}

static void bad_arguments_are_rejected(void **state)
{
    struct gva_mode m = { .cr0 = CR0_PE };
    u64 gpa;
    u32 bad[] = { 0,
                  GVA_READ,
                  GVA_SUPERVISOR,
                  GVA_READ | GVA_WRITE | GVA_SUPERVISOR,
                  GVA_READ | GVA_USER | GVA_SUPERVISOR,
                  GVA_READ | GVA_USER | GVA_IMPLICIT,
                  SR | BIT(7),
                  SR | BIT(31) };
    for (unsigned i = 0; i < ARRAY_SIZE(bad); i++)
        assert_int_equal(tr(&m, 0x1000, bad[i]), GVA_ERR_INVAL);
    assert_int_equal(gva_translate(&guest.gm, &m, 0, SR, NULL, NULL), GVA_ERR_INVAL);
    assert_int_equal(gva_translate(&guest.gm, NULL, 0, SR, &gpa, NULL), GVA_ERR_INVAL);
    assert_int_equal(gva_translate(NULL, &m, 0, SR, &gpa, NULL), GVA_ERR_INVAL);
    assert_int_equal(gva_read_u64(&guest.gm, &m, 0, NULL, SR, NULL), GVA_ERR_INVAL);
    /* the valid combinations */
    assert_int_equal(tr(&m, 0x1000, SR | GVA_AC), GVA_OK);
    assert_int_equal(tr(&m, 0x1000, SR | GVA_IMPLICIT), GVA_OK);
    assert_int_equal(tr(&m, 0x1000, UW | GVA_AC), GVA_OK);
}

/* ------------------------------------------------------------------ 4-level long mode */

static void long4_page_sizes(void **state)
{
    u64 root = new_table();
    struct gva_mode m = lm4(root);
    u64 v;

    map64(root, 4, KVA + 0x1000, 1, 0x300000 | ALL);
    map64(root, 4, KVA + MiB(2), 2, 0x1600000 | ALL | PS); /* 2 MiB */
    map64(root, 4, KVA + GiB(1), 3, GiB(3) | ALL | PS);    /* 1 GiB */
    map64(root, 4, 0x7ffffffff000ull, 1, 0x301000 | ALL);  /* top of the user half */

    assert_int_equal(tr(&m, KVA + 0x1abc, SR), GVA_OK);
    assert_int_equal(out_gpa, 0x300abc);
    assert_int_equal(out_fault, 0);
    assert_int_equal(tr(&m, KVA + MiB(2) + 0x12345, SR), GVA_OK);
    assert_int_equal(out_gpa, 0x1612345);
    assert_int_equal(tr(&m, KVA + GiB(1) + 0x2345678, SW), GVA_OK);
    assert_int_equal(out_gpa, GiB(3) + 0x2345678);
    assert_int_equal(tr(&m, 0x7ffffffffff8ull, UR), GVA_OK);
    assert_int_equal(out_gpa, 0x301ff8);

    u64 data = 0x1122334455667788ull;
    memcpy(ram + 0x300abc, &data, 8);
    assert_int_equal(gva_read_u64(&guest.gm, &m, KVA + 0x1abc, &v, SR, NULL), GVA_OK);
    assert_int_equal(v, 0x1122334455667788ull);
    /* the 1 GiB page's data is beyond guest RAM: translation fine, read refused */
    assert_int_equal(gva_read_u64(&guest.gm, &m, KVA + GiB(1), &v, SR, &out_fault), GVA_ERR_GPA);
}

static void long4_large_page_reserved_bits(void **state)
{
    u64 root = new_table();
    struct gva_mode m = lm4(root);
    u64 *pde = map64(root, 4, KVA, 2, 0x200000 | ALL | PS);
    u64 *pdpte = map64(root, 4, KVA + GiB(1), 3, GiB(1) | ALL | PS);

    /* bit 12 is PAT in a large page: fine */
    *pde |= BIT(12);
    assert_int_equal(tr(&m, KVA, SR), GVA_OK);
    assert_int_equal(out_gpa, 0x200000);
    for (int b = 13; b <= 20; b++) {
        *pde = 0x200000 | ALL | PS | BIT(b);
        assert_int_equal(tr(&m, KVA, SR), GVA_ERR_PF);
        assert_int_equal(out_fault, GVA_PF_P | GVA_PF_RSVD);
    }
    for (int b = 13; b <= 29; b++) {
        *pdpte = GiB(1) | ALL | PS | BIT(b);
        assert_int_equal(tr(&m, KVA + GiB(1), UW), GVA_ERR_PF);
        assert_int_equal(out_fault, GVA_PF_P | GVA_PF_RSVD | GVA_PF_W | GVA_PF_U);
    }
    /* PS in a PML4 entry is reserved */
    *entry64(root, 4, KVA, 4) |= PS;
    assert_int_equal(tr(&m, KVA, SR), GVA_ERR_PF);
    assert_int_equal(out_fault, GVA_PF_P | GVA_PF_RSVD);
}

static void long4_not_present_at_each_level(void **state)
{
    u64 root = new_table();
    struct gva_mode m = lm4(root);
    u64 gva = 0x00007f0012345000ull;
    map64(root, 4, gva, 1, 0x400000 | ALL);
    assert_int_equal(tr(&m, gva, UR), GVA_OK);

    for (int level = 4; level >= 1; level--) {
        u64 *e = entry64(root, 4, gva, level);
        u64 saved = *e;
        *e &= ~P;
        assert_int_equal(tr(&m, gva, SR), GVA_ERR_PF);
        assert_int_equal(out_fault, 0);
        assert_int_equal(out_gpa, 0);
        assert_int_equal(tr(&m, gva, UW), GVA_ERR_PF);
        assert_int_equal(out_fault, GVA_PF_W | GVA_PF_U);
        assert_int_equal(tr(&m, gva, UX), GVA_ERR_PF);
        assert_int_equal(out_fault, GVA_PF_U | GVA_PF_I);
        /* a not-present entry's other bits are the guest's: no reserved-bit check */
        *e = ~P;
        assert_int_equal(tr(&m, gva, SR), GVA_ERR_PF);
        assert_int_equal(out_fault, 0);
        *e = saved;
    }
    assert_int_equal(tr(&m, gva, UR), GVA_OK);
}

static void long4_reserved_and_ignored_high_bits(void **state)
{
    u64 root = new_table();
    struct gva_mode m = lm4(root);
    u64 *pte = map64(root, 4, KVA, 1, 0x500000 | ALL);

    /* bits 62:52 are ignored (software / protection keys) in long mode */
    *pte = 0x500000 | ALL | (0x7ffull << 52);
    assert_int_equal(tr(&m, KVA, SR), GVA_OK);
    assert_int_equal(out_gpa, 0x500000);
    /* XD without EFER.NXE is reserved, at any level */
    m.efer &= ~GVA_EFER_NXE;
    *pte = 0x500000 | ALL | XD;
    assert_int_equal(tr(&m, KVA, SR), GVA_ERR_PF);
    assert_int_equal(out_fault, GVA_PF_P | GVA_PF_RSVD);
    *pte = 0x500000 | ALL;
    *entry64(root, 4, KVA, 3) |= XD;
    assert_int_equal(tr(&m, KVA, SR), GVA_ERR_PF);
    assert_int_equal(out_fault, GVA_PF_P | GVA_PF_RSVD);
    /* a fetch with NX off and no SMEP: the I/D bit is not defined */
    assert_int_equal(tr(&m, KVA, SX), GVA_ERR_PF);
    assert_int_equal(out_fault, GVA_PF_P | GVA_PF_RSVD);
    /* CR3's low bits (PCID, PWT/PCD) do not move the root */
    *entry64(root, 4, KVA, 3) &= ~XD;
    m.cr3 = root | 0xfff;
    assert_int_equal(tr(&m, KVA, SR), GVA_OK);
}

static void long4_nx(void **state)
{
    u64 root = new_table();
    struct gva_mode m = lm4(root);
    map64(root, 4, KVA, 1, 0x500000 | ALL);

    assert_int_equal(tr(&m, KVA, SX), GVA_OK);
    for (int level = 4; level >= 1; level--) {
        u64 *e = entry64(root, 4, KVA, level);
        *e |= XD;
        assert_int_equal(tr(&m, KVA, SX), GVA_ERR_PF);
        assert_int_equal(out_fault, GVA_PF_P | GVA_PF_I);
        assert_int_equal(tr(&m, KVA, UX), GVA_ERR_PF);
        assert_int_equal(out_fault, GVA_PF_P | GVA_PF_I | GVA_PF_U);
        assert_int_equal(tr(&m, KVA, SR), GVA_OK);
        assert_int_equal(tr(&m, KVA, SW), GVA_OK);
        *e &= ~XD;
    }
}

static void long4_user_supervisor(void **state)
{
    u64 root = new_table();
    struct gva_mode m = lm4(root);
    u64 gva = 0x400000;
    map64(root, 4, gva, 1, 0x600000 | ALL);

    assert_int_equal(tr(&m, gva, UR), GVA_OK);
    for (int level = 4; level >= 1; level--) {
        u64 *e = entry64(root, 4, gva, level);
        *e &= ~US;
        assert_int_equal(tr(&m, gva, UR), GVA_ERR_PF);
        assert_int_equal(out_fault, GVA_PF_P | GVA_PF_U);
        assert_int_equal(tr(&m, gva, UX), GVA_ERR_PF);
        assert_int_equal(out_fault, GVA_PF_P | GVA_PF_U | GVA_PF_I);
        assert_int_equal(tr(&m, gva, SR), GVA_OK);
        assert_int_equal(tr(&m, gva, SX), GVA_OK);
        *e |= US;
    }
}

static void long4_write_protect(void **state)
{
    u64 root = new_table();
    struct gva_mode m = lm4(root);
    u64 gva = 0x400000;
    map64(root, 4, gva, 1, 0x600000 | ALL);

    for (int level = 4; level >= 1; level--) {
        u64 *e = entry64(root, 4, gva, level);
        *e &= ~RW;
        m.cr0 |= GVA_CR0_WP;
        assert_int_equal(tr(&m, gva, SW), GVA_ERR_PF);
        assert_int_equal(out_fault, GVA_PF_P | GVA_PF_W);
        assert_int_equal(tr(&m, gva, UW), GVA_ERR_PF);
        assert_int_equal(out_fault, GVA_PF_P | GVA_PF_W | GVA_PF_U);
        assert_int_equal(tr(&m, gva, SR), GVA_OK);
        assert_int_equal(tr(&m, gva, UR), GVA_OK);
        /* CR0.WP=0: the supervisor may write read-only pages, the user still may not */
        m.cr0 &= ~GVA_CR0_WP;
        assert_int_equal(tr(&m, gva, SW), GVA_OK);
        assert_int_equal(out_gpa, 0x600000);
        assert_int_equal(tr(&m, gva, UW), GVA_ERR_PF);
        assert_int_equal(out_fault, GVA_PF_P | GVA_PF_W | GVA_PF_U);
        *e |= RW;
    }
}

static void long4_smep(void **state)
{
    u64 root = new_table();
    struct gva_mode m = lm4(root);
    u64 user = 0x400000;
    map64(root, 4, user, 1, 0x600000 | ALL);
    map64(root, 4, KVA, 1, 0x601000 | P | RW);

    m.cr4 |= GVA_CR4_SMEP;
    assert_int_equal(tr(&m, user, SX), GVA_ERR_PF);
    assert_int_equal(out_fault, GVA_PF_P | GVA_PF_I);
    assert_int_equal(tr(&m, user, SR), GVA_OK); /* SMEP is about fetches only */
    assert_int_equal(tr(&m, user, UX), GVA_OK); /* and about supervisor mode only */
    assert_int_equal(tr(&m, KVA, SX), GVA_OK);
    /* with NX off the I/D bit is still reported, because SMEP is on */
    m.efer &= ~GVA_EFER_NXE;
    assert_int_equal(tr(&m, user, SX), GVA_ERR_PF);
    assert_int_equal(out_fault, GVA_PF_P | GVA_PF_I);
    m.cr4 &= ~GVA_CR4_SMEP;
    assert_int_equal(tr(&m, user, SX), GVA_OK);
}

static void long4_smap(void **state)
{
    u64 root = new_table();
    struct gva_mode m = lm4(root);
    u64 user = 0x400000;
    map64(root, 4, user, 1, 0x600000 | ALL);
    map64(root, 4, KVA, 1, 0x601000 | P | RW);

    m.cr4 |= GVA_CR4_SMAP;
    assert_int_equal(tr(&m, user, SR), GVA_ERR_PF);
    assert_int_equal(out_fault, GVA_PF_P);
    assert_int_equal(tr(&m, user, SW), GVA_ERR_PF);
    assert_int_equal(out_fault, GVA_PF_P | GVA_PF_W);
    /* stac: explicit accesses pass, implicit ones still do not */
    assert_int_equal(tr(&m, user, SR | GVA_AC), GVA_OK);
    assert_int_equal(tr(&m, user, SW | GVA_AC), GVA_OK);
    assert_int_equal(tr(&m, user, SR | GVA_AC | GVA_IMPLICIT), GVA_ERR_PF);
    assert_int_equal(out_fault, GVA_PF_P);
    /* SMAP does not touch user-mode accesses, supervisor pages or fetches */
    assert_int_equal(tr(&m, user, UR), GVA_OK);
    assert_int_equal(tr(&m, KVA, SR), GVA_OK);
    assert_int_equal(tr(&m, KVA, SR | GVA_IMPLICIT), GVA_OK);
    assert_int_equal(tr(&m, user, SX), GVA_OK);
    /* AC does not lift write protection */
    *entry64(root, 4, user, 1) &= ~RW;
    assert_int_equal(tr(&m, user, SW | GVA_AC), GVA_ERR_PF);
    assert_int_equal(out_fault, GVA_PF_P | GVA_PF_W);
    /* without SMAP the supervisor reads user pages freely */
    m.cr4 &= ~GVA_CR4_SMAP;
    assert_int_equal(tr(&m, user, SR), GVA_OK);
}

static void long4_canonical(void **state)
{
    u64 root = new_table();
    struct gva_mode m = lm4(root);
    u64 bad[] = { BIT(47),
                  0x0000800000000000ull,
                  0xffff7fffffffffffull,
                  0x8000000000000000ull,
                  0x00ff000000000000ull,
                  0x7fffffffffffffffull };
    for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
        assert_int_equal(tr(&m, bad[i], SR), GVA_ERR_ADDR);
        assert_int_equal(out_fault, GVA_FAULT_ADDR);
        assert_int_equal(out_gpa, 0);
    }
    /* canonical but unmapped: a page fault, not an address error */
    assert_int_equal(tr(&m, 0xffff800000000000ull, SR), GVA_ERR_PF);
    assert_int_equal(tr(&m, 0x00007fffffffffffull, UW), GVA_ERR_PF);
    assert_int_equal(out_fault, GVA_PF_W | GVA_PF_U);
}

/* ------------------------------------------------------------------ 5-level */

static void long5_la57(void **state)
{
    u64 root = new_table();
    struct gva_mode m5 = lm5(root);
    u64 hi = 0xff11000000001000ull; /* canonical only with 57 bits */
    u64 lo = 0x00ff000000002000ull;

    map64(root, 5, hi, 1, 0x700000 | ALL);
    map64(root, 5, lo, 1, 0x701000 | ALL);
    map64(root, 5, 0xff00000040000000ull, 3, GiB(2) | ALL | PS);
    map64(root, 5, 0xff00000000200000ull, 2, MiB(6) | ALL | PS);

    assert_int_equal(tr(&m5, hi + 0x10, SR), GVA_OK);
    assert_int_equal(out_gpa, 0x700010);
    assert_int_equal(tr(&m5, lo + 0x18, UR), GVA_OK);
    assert_int_equal(out_gpa, 0x701018);
    assert_int_equal(tr(&m5, 0xff00000040000000ull + 0x123456, SR), GVA_OK);
    assert_int_equal(out_gpa, GiB(2) + 0x123456);
    assert_int_equal(tr(&m5, 0xff00000000200000ull + 0x54321, SR), GVA_OK);
    assert_int_equal(out_gpa, MiB(6) + 0x54321);

    /* 57-bit canonical checks */
    assert_int_equal(tr(&m5, 0x0100000000000000ull, SR), GVA_ERR_ADDR);
    assert_int_equal(tr(&m5, 0xfeffffffffffffffull, SR), GVA_ERR_ADDR);
    assert_int_equal(tr(&m5, 0x0000800000000000ull, SR), GVA_ERR_PF); /* canonical, unmapped */

    /* the same address is non-canonical in 4-level mode */
    struct gva_mode m4 = lm4(root);
    assert_int_equal(tr(&m4, hi, SR), GVA_ERR_ADDR);

    /* PS in a PML5 entry is reserved; not-present PML5 entry */
    u64 *pml5e = entry64(root, 5, hi, 5);
    *pml5e |= PS;
    assert_int_equal(tr(&m5, hi, SR), GVA_ERR_PF);
    assert_int_equal(out_fault, GVA_PF_P | GVA_PF_RSVD);
    *pml5e &= ~(PS | P);
    assert_int_equal(tr(&m5, hi, SR), GVA_ERR_PF);
    assert_int_equal(out_fault, 0);
    /* permissions accumulate over all five levels */
    *pml5e |= P;
    *pml5e &= ~US;
    assert_int_equal(tr(&m5, hi, UR), GVA_ERR_PF);
    assert_int_equal(out_fault, GVA_PF_P | GVA_PF_U);
}

/* ------------------------------------------------------------------ PAE */

static void pae_translations(void **state)
{
    u64 page = new_table();
    u64 pdpt = page + 0x40; /* 32-byte aligned, not page aligned */
    struct gva_mode m = pae(pdpt | 0x18 /* PWT/PCD */);
    u64 pd = new_table(), pt = new_table();

    *e64(pdpt, 3) = pd | P; /* 0xc0000000-0xffffffff */
    *e64(pd, 0) = pt | ALL;
    *e64(pt, 5) = 0x800000 | ALL;                     /* 0xc0005000 */
    *e64(pd, 1) = 0xa00000 | ALL | PS;                /* 0xc0200000, 2 MiB */
    *e64(pd, 2) = 0x1234600000ull | P | RW | PS | XD; /* above 4 GiB, supervisor, NX */

    assert_int_equal(tr(&m, 0xc0005123, UW), GVA_OK);
    assert_int_equal(out_gpa, 0x800123);
    assert_int_equal(tr(&m, 0xc0212345, UX), GVA_OK);
    assert_int_equal(out_gpa, 0xa12345);
    assert_int_equal(tr(&m, 0xc0400010, SR), GVA_OK);
    assert_int_equal(out_gpa, 0x1234600010ull);
    assert_int_equal(tr(&m, 0xc0400010, SX), GVA_ERR_PF);
    assert_int_equal(out_fault, GVA_PF_P | GVA_PF_I);
    assert_int_equal(tr(&m, 0xc0400010, UR), GVA_ERR_PF);
    assert_int_equal(out_fault, GVA_PF_P | GVA_PF_U);

    /* linear addresses are 32 bits */
    assert_int_equal(tr(&m, BIT(32) | 0xc0005000, SR), GVA_ERR_ADDR);
    /* not present: PDPTE, PDE, PTE */
    assert_int_equal(tr(&m, 0x00005000, SR), GVA_ERR_PF);
    assert_int_equal(out_fault, 0);
    assert_int_equal(tr(&m, 0xc0600000, UW), GVA_ERR_PF);
    assert_int_equal(out_fault, GVA_PF_W | GVA_PF_U);
    assert_int_equal(tr(&m, 0xc0006000, SR), GVA_ERR_PF);
    assert_int_equal(out_fault, 0);

    /* PDPTE reserved bits: 2:1 (no R/W, U/S there), 8:5, 63:52 */
    u64 reserved_pdpte[] = { BIT(1), BIT(2), BIT(5), BIT(7), BIT(8), BIT(52), XD };
    for (unsigned i = 0; i < ARRAY_SIZE(reserved_pdpte); i++) {
        *e64(pdpt, 3) = pd | P | reserved_pdpte[i];
        assert_int_equal(tr(&m, 0xc0005000, SR), GVA_ERR_PF);
        assert_int_equal(out_fault, GVA_PF_P | GVA_PF_RSVD);
    }
    *e64(pdpt, 3) = pd | P | BIT(3) | BIT(4) | BIT(9); /* PWT, PCD, available: fine */
    assert_int_equal(tr(&m, 0xc0005000, SR), GVA_OK);

    /* PAE PDE/PTE: bits 62:52 are reserved (ignored in long mode) */
    *e64(pt, 5) = 0x800000 | ALL | BIT(62);
    assert_int_equal(tr(&m, 0xc0005000, SR), GVA_ERR_PF);
    assert_int_equal(out_fault, GVA_PF_P | GVA_PF_RSVD);
    *e64(pt, 5) = 0x800000 | ALL | BIT(52);
    assert_int_equal(tr(&m, 0xc0005000, SR), GVA_ERR_PF);
    /* 2 MiB PDE: bits 20:13 reserved */
    *e64(pd, 1) = 0xa00000 | ALL | PS | BIT(13);
    assert_int_equal(tr(&m, 0xc0200000, SR), GVA_ERR_PF);
    assert_int_equal(out_fault, GVA_PF_P | GVA_PF_RSVD);
    /* XD without NXE: reserved */
    m.efer = 0;
    assert_int_equal(tr(&m, 0xc0400010, SR), GVA_ERR_PF);
    assert_int_equal(out_fault, GVA_PF_P | GVA_PF_RSVD);
    /* read-only page and CR0.WP */
    *e64(pt, 5) = 0x800000 | P | US;
    assert_int_equal(tr(&m, 0xc0005000, SW), GVA_ERR_PF);
    assert_int_equal(out_fault, GVA_PF_P | GVA_PF_W);
    m.cr0 &= ~GVA_CR0_WP;
    assert_int_equal(tr(&m, 0xc0005000, SW), GVA_OK);
    /* CR3 above 4 GiB is not a PAE CR3: only bits 31:5 count */
    m.cr3 = BIT(32) | pdpt;
    assert_int_equal(tr(&m, 0xc0005000, SR), GVA_OK);
}

/* ------------------------------------------------------------------ 32-bit */

static void legacy32_translations(void **state)
{
    u64 pd = new_table(), pt = new_table();
    struct gva_mode m = legacy32(pd);

    *e32(pd, 0x300) = (u32)pt | ALL;                       /* 0xc0000000 */
    *e32(pt, 1) = 0x900000 | ALL;                          /* 0xc0001000 */
    *e32(pt, 2) = 0x901000 | P | US;                       /* read-only user */
    *e32(pd, 0x301) = 0x01000000 | ALL | PS;               /* 0xc0400000, 4 MiB */
    *e32(pd, 0x302) = 0x01400000 | P | PS | (0x12u << 13); /* PSE-36: gpa 0x12_0140_0000 */
    *e32(pd, 0x303) = 0x01800000 | ALL | PS | BIT(21);     /* reserved bit */

    assert_int_equal(tr(&m, 0xc0001abc, UW), GVA_OK);
    assert_int_equal(out_gpa, 0x900abc);
    assert_int_equal(tr(&m, 0xc0512345, UR), GVA_OK);
    assert_int_equal(out_gpa, 0x1112345);
    assert_int_equal(tr(&m, 0xc0800008, SR), GVA_OK);
    assert_int_equal(out_gpa, 0x1201400008ull);
    assert_int_equal(tr(&m, 0xc0800008, UR), GVA_ERR_PF);
    assert_int_equal(out_fault, GVA_PF_P | GVA_PF_U);
    assert_int_equal(tr(&m, 0xc0c00000, SR), GVA_ERR_PF);
    assert_int_equal(out_fault, GVA_PF_P | GVA_PF_RSVD);
    assert_int_equal(tr(&m, 0xc0002000, UW), GVA_ERR_PF);
    assert_int_equal(out_fault, GVA_PF_P | GVA_PF_W | GVA_PF_U);
    assert_int_equal(tr(&m, 0xc0002000, SW), GVA_ERR_PF);
    assert_int_equal(out_fault, GVA_PF_P | GVA_PF_W);
    /* not present at both levels */
    assert_int_equal(tr(&m, 0x00001000, SR), GVA_ERR_PF);
    assert_int_equal(out_fault, 0);
    assert_int_equal(tr(&m, 0xc0003000, UR), GVA_ERR_PF);
    assert_int_equal(out_fault, GVA_PF_U);
    /* no NX in 32-bit paging: fetches are allowed, and the I/D bit needs SMEP */
    m.efer = GVA_EFER_NXE;
    assert_int_equal(tr(&m, 0xc0001000, UX), GVA_OK);
    assert_int_equal(tr(&m, 0x00001000, UX), GVA_ERR_PF);
    assert_int_equal(out_fault, GVA_PF_U);
    m.cr4 |= GVA_CR4_SMEP;
    assert_int_equal(tr(&m, 0xc0001000, SX), GVA_ERR_PF);
    assert_int_equal(out_fault, GVA_PF_P | GVA_PF_I);
    m.cr4 &= ~GVA_CR4_SMEP;
    /* SMAP applies in 32-bit paging too */
    m.cr4 |= GVA_CR4_SMAP;
    assert_int_equal(tr(&m, 0xc0001000, SR), GVA_ERR_PF);
    assert_int_equal(tr(&m, 0xc0001000, SR | GVA_AC), GVA_OK);
    m.cr4 &= ~GVA_CR4_SMAP;
    /* 32-bit addresses only */
    assert_int_equal(tr(&m, BIT(32) | 0xc0001000, SR), GVA_ERR_ADDR);

    /* CR4.PSE off: PS is ignored and the PDE points to a page table */
    u64 pt2 = new_table();
    *e32(pd, 0x304) = (u32)pt2 | ALL | PS;
    *e32(pt2, 0) = 0xb00000 | ALL;
    /* with PSE: a 4 MiB page, pt2's address bits 20:13 read as physical-address bits 39:32 */
    assert_int_equal(tr(&m, 0xc1000000, SR), GVA_OK);
    assert_int_equal(out_gpa, (pt2 & 0xffc00000) | (((pt2 >> 13) & 0xff) << 32));
    m.cr4 &= ~GVA_CR4_PSE;
    assert_int_equal(tr(&m, 0xc1000000, SR), GVA_OK);
    assert_int_equal(out_gpa, 0xb00000);
}

/* ------------------------------------------------------------------ hostile tables */

static void tables_outside_guest_ram(void **state)
{
    u64 root = new_table();
    struct gva_mode m = lm4(root);
    u64 far[] = { RAM_SIZE, RAM_SIZE + PAGE_SIZE, GiB(512), BIT(51), 0x000ffffffffff000ull };

    map64(root, 4, KVA, 1, 0x500000 | ALL);
    for (unsigned i = 0; i < ARRAY_SIZE(far); i++) {
        /* the root itself */
        m.cr3 = far[i];
        assert_int_equal(tr(&m, KVA, SR), GVA_ERR_GPA);
        assert_true(out_fault & GVA_FAULT_OUTSIDE);
        assert_int_equal(out_gpa, 0);
        m.cr3 = root;
        /* each intermediate level */
        for (int level = 4; level >= 2; level--) {
            u64 *e = entry64(root, 4, KVA, level);
            u64 saved = *e;
            *e = far[i] | ALL;
            assert_int_equal(tr(&m, KVA, SR), GVA_ERR_GPA);
            assert_int_equal(out_fault, GVA_FAULT_OUTSIDE);
            assert_int_equal(tr(&m, KVA, UW), GVA_ERR_GPA);
            assert_int_equal(out_fault, GVA_FAULT_OUTSIDE | GVA_PF_W | GVA_PF_U);
            *e = saved;
        }
    }
    /* the last page of guest RAM is a fine table: its last entry is read, nothing beyond */
    u64 last = RAM_SIZE - PAGE_SIZE;
    memset(ram + last, 0, PAGE_SIZE);
    *e64(last, 511) = 0x500000 | ALL;
    *entry64(root, 4, KVA, 2) = last | ALL;
    assert_int_equal(tr(&m, KVA + 511 * PAGE_SIZE + 8, SR), GVA_OK);
    assert_int_equal(out_gpa, 0x500008);

    /* PAE and 32-bit roots outside guest RAM */
    struct gva_mode p = pae(0xfffff000u);
    assert_int_equal(tr(&p, 0xc0000000, SR), GVA_ERR_GPA);
    struct gva_mode l = legacy32(0xfffff000u);
    assert_int_equal(tr(&l, 0xc0000000, SR), GVA_ERR_GPA);
    u64 pd = new_table();
    l.cr3 = pd;
    *e32(pd, 0) = (u32)RAM_SIZE | ALL;
    assert_int_equal(tr(&l, 0x1000, SR), GVA_ERR_GPA);
    /* a PAE PDPT whose last entry would straddle the end of guest RAM cannot exist (32-byte
     * alignment), but one right at the end is refused */
    p.cr3 = RAM_SIZE - 0x20;
    memset(ram + RAM_SIZE - 0x20, 0, 0x20);
    assert_int_equal(tr(&p, 0xc0000000, SR), GVA_ERR_PF);
    p.cr3 = RAM_SIZE;
    assert_int_equal(tr(&p, 0, SR), GVA_ERR_GPA);
}

static void self_referencing_tables_terminate(void **state)
{
    u64 t = new_table();
    /* every entry of one table points back at that table */
    for (int i = 0; i < 512; i++)
        *e64(t, i) = t | ALL;

    struct gva_mode m4 = lm4(t), m5 = lm5(t);
    assert_int_equal(tr(&m4, KVA + 0x123, SR), GVA_OK);
    assert_int_equal(out_gpa, t + 0x123); /* the recursive mapping: the table itself */
    assert_int_equal(tr(&m5, 0xff00000000000ff8ull, UW), GVA_OK);
    assert_int_equal(out_gpa, t + 0xff8);

    u64 v;
    assert_int_equal(gva_read_u64(&guest.gm, &m4, KVA, &v, SR, NULL), GVA_OK);
    assert_int_equal(v, t | ALL);

    /* a loop through a table whose PS bit is set at the top is a reserved-bit fault */
    for (int i = 0; i < 512; i++)
        *e64(t, i) = t | ALL | PS;
    assert_int_equal(tr(&m4, KVA, SR), GVA_ERR_PF);
    assert_int_equal(out_fault, GVA_PF_P | GVA_PF_RSVD);

    /* the same in PAE (PD ↔ PT) and 32-bit */
    u64 pdpt = new_table(), pd = new_table();
    for (int i = 0; i < 4; i++)
        *e64(pdpt, i) = pd | P;
    for (int i = 0; i < 512; i++)
        *e64(pd, i) = pd | ALL;
    struct gva_mode p = pae(pdpt);
    assert_int_equal(tr(&p, 0xdeadbeef, SR), GVA_OK);
    assert_int_equal(out_gpa, pd + 0xeef);

    u64 d32 = new_table();
    for (int i = 0; i < 1024; i++)
        *e32(d32, i) = (u32)d32 | ALL;
    struct gva_mode l = legacy32(d32);
    l.cr4 = 0;
    assert_int_equal(tr(&l, 0xdeadbeef, SR), GVA_OK);
    assert_int_equal(out_gpa, d32 + 0xeef);
}

/* ------------------------------------------------------------------ gva_read */

static void reads_cross_pages(void **state)
{
    u64 root = new_table();
    struct gva_mode m = lm4(root);
    u8 buf[64];
    u64 v;

    /* two virtually contiguous pages, physically apart and in reverse order */
    map64(root, 4, KVA, 1, 0x2000000 | ALL);
    map64(root, 4, KVA + PAGE_SIZE, 1, 0x1000000 | ALL);
    for (int i = 0; i < 8; i++)
        ram[0x2000000 + PAGE_SIZE - 8 + i] = (u8)(0xa0 + i);
    for (int i = 0; i < 16; i++)
        ram[0x1000000 + i] = (u8)(0xb0 + i);
    assert_int_equal(gva_read(&guest.gm, &m, KVA + PAGE_SIZE - 8, buf, 16, SR, &out_fault), GVA_OK);
    assert_int_equal(out_fault, 0);
    for (int i = 0; i < 8; i++) {
        assert_int_equal(buf[i], 0xa0 + i);
        assert_int_equal(buf[8 + i], 0xb0 + i);
    }
    assert_int_equal(gva_read_u64(&guest.gm, &m, KVA + PAGE_SIZE - 3, &v, SR, NULL), GVA_OK);
    assert_int_equal(v, 0xb4b3b2b1b0a7a6a5ull);

    /* the second page is not present: error, and no partial data */
    memset(buf, 0x5a, sizeof(buf));
    assert_int_equal(gva_read(&guest.gm, &m, KVA + 2 * PAGE_SIZE - 8, buf, 16, UR, &out_fault), GVA_ERR_PF);
    assert_int_equal(out_fault, GVA_PF_U);
    for (unsigned i = 0; i < 16; i++)
        assert_int_equal(buf[i], 0);
    assert_int_equal(buf[16], 0x5a);
    /* the second page denies the access: a protection fault */
    *entry64(root, 4, KVA + PAGE_SIZE, 1) &= ~US;
    assert_int_equal(gva_read_u64(&guest.gm, &m, KVA + PAGE_SIZE - 4, &v, UR, &out_fault), GVA_ERR_PF);
    assert_int_equal(out_fault, GVA_PF_P | GVA_PF_U);
    assert_int_equal(v, 0);
    assert_int_equal(gva_read_u64(&guest.gm, &m, KVA + PAGE_SIZE - 4, &v, SR, &out_fault), GVA_OK);

    /* the second page's data is outside guest RAM */
    *entry64(root, 4, KVA + PAGE_SIZE, 1) = (RAM_SIZE - 0) | ALL;
    assert_int_equal(gva_read_u64(&guest.gm, &m, KVA + PAGE_SIZE - 4, &v, SR, &out_fault), GVA_ERR_GPA);
    assert_true(out_fault & GVA_FAULT_OUTSIDE);
    /* the last bytes of guest RAM are readable */
    *entry64(root, 4, KVA + PAGE_SIZE, 1) = (RAM_SIZE - PAGE_SIZE) | ALL;
    memcpy(ram + RAM_SIZE - 8, "ABCDEFGH", 8);
    assert_int_equal(gva_read(&guest.gm, &m, KVA + 2 * PAGE_SIZE - 8, buf, 8, SR, NULL), GVA_OK);
    assert_memory_equal(buf, "ABCDEFGH", 8);
    /* ... and not one byte more */
    assert_int_equal(gva_read(&guest.gm, &m, KVA + 2 * PAGE_SIZE - 8, buf, 9, SR, &out_fault), GVA_ERR_PF);

    /* a read crossing into the non-canonical hole */
    map64(root, 4, 0x00007ffffffff000ull, 1, 0x1000000 | ALL);
    assert_int_equal(gva_read(&guest.gm, &m, 0x00007ffffffffffcull, buf, 8, UR, &out_fault), GVA_ERR_ADDR);
    assert_true(out_fault & GVA_FAULT_ADDR);
    /* a read wrapping around the top of the address space */
    assert_int_equal(gva_read(&guest.gm, &m, 0xfffffffffffffffcull, buf, 8, SR, &out_fault), GVA_ERR_ADDR);
}

static void read_lengths(void **state)
{
    u64 root = new_table();
    struct gva_mode m = lm4(root);
    u8 *buf = malloc(GVA_READ_MAX + 16);
    u64 start = KVA + 0x800; /* unaligned: 17 pages touched */

    for (u64 i = 0; i <= GVA_READ_MAX / PAGE_SIZE; i++)
        map64(root, 4, KVA + i * PAGE_SIZE, 1, (0x3000000 + (16 - i) * PAGE_SIZE) | ALL);
    for (u64 i = 0; i <= GVA_READ_MAX / PAGE_SIZE; i++)
        memset(ram + 0x3000000 + (16 - i) * PAGE_SIZE, (int)i, PAGE_SIZE);

    assert_int_equal(gva_read(&guest.gm, &m, start, buf, GVA_READ_MAX, SR, &out_fault), GVA_OK);
    for (u64 off = 0; off < GVA_READ_MAX; off += 0x100)
        assert_int_equal(buf[off], (u8)((0x800 + off) / PAGE_SIZE));
    assert_int_equal(buf[GVA_READ_MAX - 1], 16);

    memset(buf, 0x77, GVA_READ_MAX + 16);
    assert_int_equal(gva_read(&guest.gm, &m, start, buf, GVA_READ_MAX + 1, SR, &out_fault), GVA_ERR_INVAL);
    assert_int_equal(out_fault, GVA_FAULT_INVAL);
    assert_int_equal(buf[0], 0x77); /* refused before touching anything */
    assert_int_equal(gva_read(&guest.gm, &m, start, buf, ~0ull, SR, &out_fault), GVA_ERR_INVAL);

    /* len 0: nothing to translate, even at an unmapped or non-canonical address */
    assert_int_equal(gva_read(&guest.gm, &m, 0x0000800000000000ull, NULL, 0, SR, &out_fault), GVA_OK);
    assert_int_equal(gva_read(&guest.gm, &m, start, buf, 0, SR, &out_fault), GVA_OK);
    /* a NULL destination with a length, bad access flags */
    assert_int_equal(gva_read(&guest.gm, &m, start, NULL, 8, SR, &out_fault), GVA_ERR_INVAL);
    assert_int_equal(gva_read(&guest.gm, &m, start, buf, 8, GVA_READ, &out_fault), GVA_ERR_INVAL);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(paging_off_is_identity, setup),
        cmocka_unit_test_setup(inconsistent_modes_are_rejected, setup),
        cmocka_unit_test_setup(bad_arguments_are_rejected, setup),
        cmocka_unit_test_setup(long4_page_sizes, setup),
        cmocka_unit_test_setup(long4_large_page_reserved_bits, setup),
        cmocka_unit_test_setup(long4_not_present_at_each_level, setup),
        cmocka_unit_test_setup(long4_reserved_and_ignored_high_bits, setup),
        cmocka_unit_test_setup(long4_nx, setup),
        cmocka_unit_test_setup(long4_user_supervisor, setup),
        cmocka_unit_test_setup(long4_write_protect, setup),
        cmocka_unit_test_setup(long4_smep, setup),
        cmocka_unit_test_setup(long4_smap, setup),
        cmocka_unit_test_setup(long4_canonical, setup),
        cmocka_unit_test_setup(long5_la57, setup),
        cmocka_unit_test_setup(pae_translations, setup),
        cmocka_unit_test_setup(legacy32_translations, setup),
        cmocka_unit_test_setup(tables_outside_guest_ram, setup),
        cmocka_unit_test_setup(self_referencing_tables_terminate, setup),
        cmocka_unit_test_setup(reads_cross_pages, setup),
        cmocka_unit_test_setup(read_lengths, setup),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
