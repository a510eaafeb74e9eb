/* Nested page-table builder: see npt.h. */
#include "core/npt.h"
#include "core/guest_mem.h"
#include "lib/lib.h"

#define ENTRIES 512

static u64 level_size(int level) { return 1ull << (PAGE_SHIFT + 9 * (level - 1)); }
static unsigned level_index(gpa_t gpa, int level) { return (gpa >> (PAGE_SHIFT + 9 * (level - 1))) & 511; }
static u64 *table_of(hpa_t pa) { return phys_to_virt(pa); }

bool npt_init(struct npt *n, const struct npt_format *fmt, hpa_t (*alloc_table)(void))
{
    n->fmt = fmt;
    n->alloc_table = alloc_table;
    n->tables = 0;
    n->root = alloc_table();
    if (n->root)
        n->tables++;
    return n->root != 0;
}

/* Replace the large-page leaf at *entry (level 2 or 3) by a table of next-level leaves that map
 * the same range with the same permissions. */
static bool split_large(struct npt *n, u64 *entry, int level)
{
    hpa_t table = n->alloc_table();
    u64 *t;
    hpa_t base = n->fmt->address(*entry, level);
    u32 perms = n->fmt->perms(*entry);

    if (!table)
        return false;
    n->tables++;
    t = table_of(table);
    for (unsigned i = 0; i < ENTRIES; i++)
        t[i] = n->fmt->leaf_entry(base + i * level_size(level - 1), level - 1, perms);
    *entry = n->fmt->table_entry(table, level);
    return true;
}

/* The table at `level - 1` under *entry, created (or split out of a large page) if needed. */
static u64 *next_table(struct npt *n, u64 *entry, int level)
{
    if (!n->fmt->present(*entry)) {
        hpa_t table = n->alloc_table();
        if (!table)
            return NULL;
        n->tables++;
        *entry = n->fmt->table_entry(table, level);
    } else if (n->fmt->is_leaf(*entry, level)) {
        if (!split_large(n, entry, level))
            return NULL;
    }
    return table_of(n->fmt->address(*entry, level));
}

/* Set (or, with unmap, clear) one leaf of `leaf_level` at gpa. */
static bool set_leaf(struct npt *n, gpa_t gpa, hpa_t hpa, int leaf_level, u32 perms, bool unmap)
{
    u64 *table = table_of(n->root);

    for (int level = n->fmt->levels; level > leaf_level; level--) {
        u64 *e = &table[level_index(gpa, level)];
        if (unmap && !n->fmt->present(*e))
            return true; /* nothing mapped below: already absent */
        table = next_table(n, e, level);
        if (!table)
            return false;
    }
    /* A table sitting where a large leaf goes is replaced; its subtables are leaked (rare: only
     * when remapping an already split range as a whole large page). */
    table[level_index(gpa, leaf_level)] = unmap ? 0 : n->fmt->leaf_entry(hpa, leaf_level, perms);
    return true;
}

static bool walk_range(struct npt *n, gpa_t gpa, hpa_t hpa, u64 size, u32 perms, bool unmap)
{
    if (!IS_ALIGNED(gpa | hpa | size, PAGE_SIZE) || gpa + size < gpa || gpa + size > npt_limit(n))
        return false;
    while (size) {
        int level = 1;
        if (n->fmt->huge_pages && IS_ALIGNED(gpa | hpa, GiB(1)) && size >= GiB(1))
            level = 3;
        else if (n->fmt->large_pages && IS_ALIGNED(gpa, LARGE_PAGE_SIZE) && IS_ALIGNED(hpa, LARGE_PAGE_SIZE) &&
                 size >= LARGE_PAGE_SIZE)
            level = 2;
        if (!set_leaf(n, gpa, hpa, level, perms, unmap))
            return false;
        gpa += level_size(level);
        hpa += level_size(level);
        size -= level_size(level);
    }
    return true;
}

bool npt_map(struct npt *n, gpa_t gpa, hpa_t hpa, u64 size, u32 perms)
{
    return walk_range(n, gpa, hpa, size, perms, false);
}

bool npt_unmap(struct npt *n, gpa_t gpa, u64 size) { return walk_range(n, gpa, gpa, size, 0, true); }

/* The leaf entry mapping gpa and its level, or false when nothing maps it (or no map was built
 * yet). With need_exec, also false when an entry on the way withholds execution: a fetch checks
 * the X bit at every level of the walk. */
static bool find_leaf(const struct npt *n, gpa_t gpa, bool need_exec, u64 *leaf, int *level_out)
{
    const u64 *table;

    if (!n->root || !n->fmt || gpa >= npt_limit(n))
        return false;
    table = table_of(n->root);
    for (int level = n->fmt->levels; level >= 1; level--) {
        u64 e = table[level_index(gpa, level)];
        if (!n->fmt->present(e) || (need_exec && n->fmt->with_exec && n->fmt->with_exec(e, true) != e))
            return false;
        if (n->fmt->is_leaf(e, level)) {
            *leaf = e;
            *level_out = level;
            return true;
        }
        table = table_of(n->fmt->address(e, level));
    }
    return false;
}

bool npt_lookup(const struct npt *n, gpa_t gpa, hpa_t *hpa, u32 *perms, int *level_out)
{
    u64 e;
    int level;

    if (!find_leaf(n, gpa, false, &e, &level))
        return false;
    if (hpa)
        *hpa = n->fmt->address(e, level) + (gpa & (level_size(level) - 1));
    if (perms)
        *perms = n->fmt->perms(e);
    if (level_out)
        *level_out = level;
    return true;
}

bool npt_executable(const struct npt *n, gpa_t gpa)
{
    u64 e;
    int level;

    return find_leaf(n, gpa, true, &e, &level);
}

u64 npt_limit(const struct npt *n) { return level_size(n->fmt->levels) * ENTRIES; }

static void count_table(const struct npt *n, const u64 *t, int level, u64 counts[3])
{
    for (unsigned i = 0; i < ENTRIES; i++) {
        if (!n->fmt->present(t[i]))
            continue;
        if (n->fmt->is_leaf(t[i], level)) {
            if (level <= 3)
                counts[level - 1]++;
        } else {
            count_table(n, table_of(n->fmt->address(t[i], level)), level - 1, counts);
        }
    }
}

void npt_count_leaves(const struct npt *n, u64 counts[3])
{
    counts[0] = counts[1] = counts[2] = 0;
    if (n->root)
        count_table(n, table_of(n->root), n->fmt->levels, counts);
}

/* Copy the table under *entry (a table entry at `level`) into a fresh page and point *entry at it. */
static u64 *copy_table(struct npt *dst, u64 *entry, int level)
{
    hpa_t copy = dst->alloc_table();
    if (!copy)
        return NULL;
    dst->tables++;
    memcpy(table_of(copy), table_of(dst->fmt->address(*entry, level)), PAGE_SIZE);
    *entry = dst->fmt->table_entry(copy, level);
    return table_of(copy);
}

/* dst becomes a view of src: its own copy of src's root, every subtree shared. */
static bool copy_root(struct npt *dst, const struct npt *src)
{
    dst->fmt = src->fmt;
    dst->alloc_table = src->alloc_table;
    dst->tables = 0;
    dst->root = dst->alloc_table();
    if (!dst->root)
        return false;
    dst->tables++;
    memcpy(table_of(dst->root), table_of(src->root), PAGE_SIZE);
    return true;
}

bool npt_fork(struct npt *dst, struct npt *src, gpa_t gpa, u64 size)
{
    if (!IS_ALIGNED(gpa | size, PAGE_SIZE) || !size || gpa + size < gpa || gpa + size > npt_limit(src))
        return false;
    /* Split every large page in the range so the copies below reach 4 KiB leaves. */
    for (gpa_t a = gpa; a < gpa + size; a += PAGE_SIZE) {
        hpa_t hpa;
        u32 perms;
        int level;
        if (npt_lookup(src, a, &hpa, &perms, &level) && level > 1 && !set_leaf(src, a, hpa, 1, perms, false))
            return false;
    }
    if (!dst->root && !copy_root(dst, src))
        return false;
    /* Copy the path to each 4 KiB page of the range unless dst already owns it (a table dst owns
     * is one src does not point to at the same place). */
    for (gpa_t a = gpa; a < gpa + size; a += PAGE_SIZE) {
        u64 *dt = table_of(dst->root);
        const u64 *st = table_of(src->root);
        for (int level = dst->fmt->levels; level > 1; level--) {
            unsigned i = level_index(a, level);
            const u64 *next_src = NULL;
            if (!dst->fmt->present(dt[i]) || dst->fmt->is_leaf(dt[i], level))
                break; /* nothing mapped below (or a leaf after all): dst's own entry decides */
            if (st && src->fmt->present(st[i]) && !src->fmt->is_leaf(st[i], level))
                next_src = table_of(src->fmt->address(st[i], level));
            if (next_src && table_of(dst->fmt->address(dt[i], level)) == next_src) {
                dt = copy_table(dst, &dt[i], level); /* shared with src: make it dst's own */
                if (!dt)
                    return false;
            } else {
                dt = table_of(dst->fmt->address(dt[i], level));
            }
            st = next_src;
        }
    }
    return true;
}

/* Make dst's table under *entry (level > 1) its own if it is still src's: a copy whose entries
 * forbid execution when `closed` (exec-only views: only the path being built reopens). */
static u64 *own_table(struct npt *dst, u64 *entry, int level, const u64 *src_table, bool closed)
{
    u64 *t = table_of(dst->fmt->address(*entry, level));
    if (t != src_table)
        return t; /* dst's already */
    t = copy_table(dst, entry, level);
    if (t && closed)
        for (unsigned i = 0; i < ENTRIES; i++)
            if (dst->fmt->present(t[i]))
                t[i] = dst->fmt->with_exec(t[i], false);
    return t;
}

/* dst's path to the 4 KiB leaf of gpa (mapped in src at level 1), made its own, and the leaf's
 * execution allowed or forbidden. */
static bool fork_page(struct npt *dst, const struct npt *src, gpa_t gpa, bool exec_only)
{
    u64 *dt = table_of(dst->root);
    const u64 *st = table_of(src->root);

    for (int l = dst->fmt->levels; l > 1; l--) {
        unsigned i = level_index(gpa, l);
        const u64 *next_src = table_of(src->fmt->address(st[i], l));
        if (exec_only)
            dt[i] = dst->fmt->with_exec(dt[i], true); /* reopen the path */
        dt = own_table(dst, &dt[i], l, next_src, exec_only);
        if (!dt)
            return false;
        st = next_src;
    }
    dt[level_index(gpa, 1)] = dst->fmt->with_exec(dt[level_index(gpa, 1)], exec_only);
    return true;
}

bool npt_fork_exec(struct npt *dst, struct npt *src, const gpa_t *pages, u32 npages, bool exec_only)
{
    if (dst->root || !src->fmt->with_exec)
        return false;
    /* Split large pages over the listed pages in src first, so every copy below is of split
     * tables and every listed page is a level-1 leaf (or unmapped). */
    for (u32 p = 0; p < npages; p++) {
        hpa_t hpa;
        u32 perms;
        int level;
        if (!IS_ALIGNED(pages[p], PAGE_SIZE) || pages[p] >= npt_limit(src))
            return false;
        if (npt_lookup(src, pages[p], &hpa, &perms, &level) && level > 1 &&
            !set_leaf(src, pages[p], hpa, 1, perms, false))
            return false;
    }
    if (!copy_root(dst, src))
        return false;
    if (exec_only)
        for (unsigned i = 0; i < ENTRIES; i++)
            if (dst->fmt->present(table_of(dst->root)[i]))
                table_of(dst->root)[i] = dst->fmt->with_exec(table_of(dst->root)[i], false);
    for (u32 p = 0; p < npages; p++)
        if (npt_lookup(src, pages[p], NULL, NULL, NULL) && !fork_page(dst, src, pages[p], exec_only))
            return false;
    return true;
}

bool npt_view_map(struct npt *dst, const struct npt *src, gpa_t gpa, hpa_t hpa, u32 perms, bool closed)
{
    u64 *dt = table_of(dst->root);
    const u64 *st = table_of(src->root);

    if (!dst->root || !IS_ALIGNED(gpa | hpa, PAGE_SIZE) || gpa >= npt_limit(src))
        return false;
    for (int l = dst->fmt->levels; l > 1; l--) {
        unsigned i = level_index(gpa, l);
        if (!src->fmt->present(st[i]) || src->fmt->is_leaf(st[i], l) || !dst->fmt->present(dt[i]) ||
            dst->fmt->is_leaf(dt[i], l))
            return false; /* src has no 4 KiB table there: the page was never split out of it */
        const u64 *next_src = table_of(src->fmt->address(st[i], l));
        dt = own_table(dst, &dt[i], l, next_src, closed);
        if (!dt)
            return false;
        st = next_src;
    }
    dt[level_index(gpa, 1)] = dst->fmt->leaf_entry(hpa, 1, perms);
    return true;
}

static void release_table(const struct npt *dst, u64 *t, const u64 *st, int level, void (*free_table)(hpa_t))
{
    for (unsigned i = 0; i < ENTRIES && level > 1; i++) {
        const u64 *next_src = NULL;
        u64 *next;
        if (!dst->fmt->present(t[i]) || dst->fmt->is_leaf(t[i], level))
            continue;
        next = table_of(dst->fmt->address(t[i], level));
        if (st && dst->fmt->present(st[i]) && !dst->fmt->is_leaf(st[i], level))
            next_src = table_of(dst->fmt->address(st[i], level));
        if (next == next_src)
            continue; /* src's */
        release_table(dst, next, next_src, level - 1, free_table);
        free_table((hpa_t)virt_to_phys(next));
    }
}

void npt_release_view(struct npt *dst, const struct npt *src, void (*free_table)(hpa_t))
{
    if (!dst->root)
        return;
    release_table(dst, table_of(dst->root), table_of(src->root), dst->fmt->levels, free_table);
    free_table(dst->root);
    dst->root = 0;
    dst->tables = 0;
}

/* ---- x86-64 page-table format, used by AMD's nested paging (APM Vol. 2 §15.25) ---- */
#define X86_P         BIT(0)
#define X86_RW        BIT(1)
#define X86_US        BIT(2) /* nested walks are user accesses: every NPT entry must allow user */
#define X86_PWT       BIT(3)
#define X86_PCD       BIT(4)
#define X86_PS        BIT(7)
#define X86_NX        BIT(63)
#define X86_ADDR_MASK 0x000ffffffffff000ull

static u64 x86_table_entry(hpa_t next, int level) { return (next & X86_ADDR_MASK) | X86_P | X86_RW | X86_US; }

static u64 x86_leaf_entry(hpa_t pa, int level, u32 perms)
{
    u64 e = (pa & X86_ADDR_MASK) | X86_US;
    if (perms & (NPT_READ | NPT_WRITE | NPT_EXEC))
        e |= X86_P;
    if (perms & NPT_WRITE)
        e |= X86_RW;
    if (perms & NPT_UNCACHED)
        e |= X86_PCD | X86_PWT;
    if (level > 1)
        e |= X86_PS;
    if (!(perms & NPT_EXEC) && npt_x86_nx)
        e |= X86_NX;
    return e;
}

bool npt_x86_nx;

static u64 x86_with_exec(u64 e, bool exec)
{
    if (exec || !npt_x86_nx)
        return e & ~X86_NX;
    return e | X86_NX;
}

static bool x86_present(u64 e) { return e & X86_P; }
static bool x86_is_leaf(u64 e, int level) { return level == 1 || (e & X86_PS); }
static hpa_t x86_address(u64 e, int level)
{
    u64 mask = X86_ADDR_MASK;
    if (level > 1 && (e & X86_PS))
        mask &= ~(level_size(level) - 1);
    return e & mask;
}
static u32 x86_perms(u64 e)
{
    u32 p = 0;
    if (e & X86_P)
        p |= NPT_READ | ((e & X86_NX) ? 0 : NPT_EXEC);
    if (e & X86_RW)
        p |= NPT_WRITE;
    if (e & X86_PCD)
        p |= NPT_UNCACHED;
    return p;
}

#define X86_FORMAT(label, huge)                                                                                        \
    {                                                                                                                  \
        .name = label, .levels = 4, .large_pages = true, .huge_pages = huge, .table_entry = x86_table_entry,           \
        .leaf_entry = x86_leaf_entry, .present = x86_present, .is_leaf = x86_is_leaf, .address = x86_address,          \
        .perms = x86_perms, .with_exec = x86_with_exec,                                                                \
    }

const struct npt_format npt_format_x86 = X86_FORMAT("x86-64 (AMD NPT)", false);
const struct npt_format npt_format_x86_1g = X86_FORMAT("x86-64 (AMD NPT, 1 GiB pages)", true);
