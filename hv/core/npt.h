/*
 * Nested page tables (guest-physical → host-physical), arch-neutral.
 *
 * One builder for both backends: the 4-level radix walk, large pages where a range is aligned,
 * and splitting a large page into 4 KiB ones when part of it must change (module text
 * protection, BAR stubs). Only the entry encoding differs between SVM's NPT (the x86 page-table
 * format) and VT-x's EPT; a backend provides it as struct npt_format.
 */
#ifndef POSTERN_NPT_H
#define POSTERN_NPT_H

#include "lib/types.h"

#define NPT_READ     BIT(0)
#define NPT_WRITE    BIT(1)
#define NPT_EXEC     BIT(2)
#define NPT_UNCACHED BIT(3) /* device memory */
#define NPT_RWX      (NPT_READ | NPT_WRITE | NPT_EXEC)

/* level: 1 = 4 KiB entry (PT), 2 = 2 MiB (PD), 3 = 1 GiB (PDPT), 4 = PML4. The same builder
 * serves the IOMMUs' DMA page tables (AMD-Vi, VT-d second level) with their own formats. */
struct npt_format {
    const char *name;
    int levels;       /* levels of a full walk: 4 (48-bit), or 3 (39-bit, e.g. VT-d with SAGAW 39) */
    bool large_pages; /* may leaves sit at level 2 (2 MiB)? */
    bool huge_pages;  /* and at level 3 (1 GiB)? */
    /* An entry at `level` (2..levels) pointing to the table of level-1. */
    u64 (*table_entry)(hpa_t next_table, int level);
    u64 (*leaf_entry)(hpa_t pa, int level, u32 perms);
    bool (*present)(u64 entry);
    bool (*is_leaf)(u64 entry, int level); /* a large page at level 2/3, or any level-1 entry */
    hpa_t (*address)(u64 entry, int level);
    u32 (*perms)(u64 entry);
    /* The entry (table or leaf, any level) with execution allowed or forbidden for everything it
     * maps; NULL when the format cannot forbid execution. A fetch needs it allowed at every level. */
    u64 (*with_exec)(u64 entry, bool exec);
};

struct npt {
    hpa_t root;
    const struct npt_format *fmt;
    hpa_t (*alloc_table)(void); /* a zeroed 4 KiB page, 0 when out of memory */
    u64 tables;                 /* tables allocated, for the boot report */
};

/* Returns false (and leaves earlier mappings in place) when a table could not be allocated. */
bool npt_init(struct npt *n, const struct npt_format *fmt, hpa_t (*alloc_table)(void));
/* Map [gpa, gpa+size) → [hpa, hpa+size); all three 4 KiB aligned. Uses 1 GiB and 2 MiB pages where
 * the format has them and both addresses and the remaining length allow, splitting existing large
 * pages where they don't. */
bool npt_map(struct npt *n, gpa_t gpa, hpa_t hpa, u64 size, u32 perms);
/* Remove [gpa, gpa+size) (4 KiB aligned). */
bool npt_unmap(struct npt *n, gpa_t gpa, u64 size);
/* Translate one address; false when not mapped. */
bool npt_lookup(const struct npt *n, gpa_t gpa, hpa_t *hpa, u32 *perms, int *level);
/* Whether a fetch at gpa is allowed: mapped, and execution allowed at every level of the walk. */
bool npt_executable(const struct npt *n, gpa_t gpa);
/* Leaves mapped, by level: counts[0] 4 KiB, [1] 2 MiB, [2] 1 GiB (for the boot report). */
void npt_count_leaves(const struct npt *n, u64 counts[3]);
/* The highest guest-physical address + 1 the format's walk covers. */
u64 npt_limit(const struct npt *n);

/*
 * A second view of the same address space (hv/guard/border_views.c uses them: privileged, unprivileged).
 * dst gets its own root; every table on the path to [gpa, gpa+size) is copied so that range can
 * be mapped differently in dst, and every other subtree is shared with src. Large pages covering
 * the range are split first (in src too, with identical contents). Later changes outside the range
 * must be made in both trees (they may touch a copied upper-level table); changes inside it apply
 * to one. Returns false when out of memory.
 */
bool npt_fork(struct npt *dst, struct npt *src, gpa_t gpa, u64 size);

/*
 * Execute-permission views for border control (hv/guard/border_views.c, docs/border-control.md "The
 * border in the nested page tables"). dst becomes a view of src that differs only in who may
 * execute: with exec_only, nothing but the listed 4 KiB pages (upper-level entries off the
 * pages' paths forbid execution, so a fork copies only the paths); without, everything src allows
 * except the listed pages. dst must have no root (npt_release_view frees one). Large pages over
 * the listed pages are split in src first (same contents). The pages keep src's other permissions.
 */
bool npt_fork_exec(struct npt *dst, struct npt *src, const gpa_t *pages, u32 npages, bool exec_only);
/* In a view dst of src: map the 4 KiB page gpa → hpa with perms in dst alone (the path is made
 * dst's own, copies closed to execution when `closed`, as an exec-only view's are). src must have
 * a 4 KiB table there (the page split out, e.g. unmapped). For private memory (hv/guard/private_mem.h). */
bool npt_view_map(struct npt *dst, const struct npt *src, gpa_t gpa, hpa_t hpa, u32 perms, bool closed);
/* Free every table dst owns (not shared with src) and its root; dst has no root afterwards. */
void npt_release_view(struct npt *dst, const struct npt *src, void (*free_table)(hpa_t));

extern const struct npt_format npt_format_x86;    /* AMD NPT = ordinary x86-64 page tables */
extern const struct npt_format npt_format_x86_1g; /* the same with 1 GiB leaves (CPUID Page1GB) */
/* Whether the x86 format may set NX: only once the host runs with EFER.NXE (else bit 63 is
 * reserved and every walk through it faults). The SVM backend sets both. */
extern bool npt_x86_nx;

#endif
