/*
 * EPT entries for hv/core/npt.c (SDM Vol. 3C §29.3.2). Unlike the x86 page-table format, presence is
 * "any of read/write/execute", a leaf carries its memory type (write-back for RAM, uncached for
 * device windows, with the guest's PAT ignored for device memory so it cannot make a BAR
 * cacheable), and write without read is a misconfiguration, never produced here.
 */
#include "arch/x86_64/vmx/ept.h"

static u64 ept_table_entry(hpa_t next, int level) { return (next & EPT_ADDR_MASK) | EPT_READ | EPT_WRITE | EPT_EXEC; }

static u64 ept_leaf_entry(hpa_t pa, int level, u32 perms)
{
    u64 e = pa & EPT_ADDR_MASK;

    if (perms & (NPT_READ | NPT_WRITE | NPT_EXEC))
        e |= EPT_READ; /* W or X without R: EPT misconfiguration (§29.3.3.1) */
    if (perms & NPT_WRITE)
        e |= EPT_WRITE;
    if (perms & NPT_EXEC)
        e |= EPT_EXEC;
    if (perms & NPT_UNCACHED)
        e |= ((u64)EPT_MEMTYPE_UC << EPT_MEMTYPE_SHIFT) | EPT_IGNORE_PAT;
    else
        e |= (u64)EPT_MEMTYPE_WB << EPT_MEMTYPE_SHIFT;
    if (level > 1)
        e |= EPT_LARGE;
    return e;
}

static bool ept_present(u64 e) { return e & (EPT_READ | EPT_WRITE | EPT_EXEC); }
static bool ept_is_leaf(u64 e, int level) { return level == 1 || (e & EPT_LARGE); }

static hpa_t ept_address(u64 e, int level)
{
    if (level > 1 && (e & EPT_LARGE))
        return e & EPT_ADDR_MASK & ~((1ull << (12 + 9 * (level - 1))) - 1);
    return e & EPT_ADDR_MASK;
}

static u32 ept_perms(u64 e)
{
    u32 p = 0;
    if (e & EPT_READ)
        p |= NPT_READ;
    if (e & EPT_WRITE)
        p |= NPT_WRITE;
    if (e & EPT_EXEC)
        p |= NPT_EXEC;
    if (((e >> EPT_MEMTYPE_SHIFT) & 7) == EPT_MEMTYPE_UC)
        p |= NPT_UNCACHED;
    return p;
}

/* Border views (hv/guard/border_views.h): X is checked at every level of the walk, as NX is in NPT. */
static u64 ept_with_exec(u64 e, bool exec) { return exec ? e | EPT_EXEC : e & ~EPT_EXEC; }

#define EPT_FORMAT(label, large, huge)                                                                                 \
    {                                                                                                                  \
        .name = label, .levels = 4, .large_pages = large, .huge_pages = huge, .table_entry = ept_table_entry,          \
        .leaf_entry = ept_leaf_entry, .present = ept_present, .is_leaf = ept_is_leaf, .address = ept_address,          \
        .perms = ept_perms, .with_exec = ept_with_exec,                                                                \
    }

const struct npt_format npt_format_ept_1g = EPT_FORMAT("Intel EPT (1 GiB pages)", true, true);
const struct npt_format npt_format_ept = EPT_FORMAT("Intel EPT", true, false);
const struct npt_format npt_format_ept_4k = EPT_FORMAT("Intel EPT (4 KiB pages)", false, false);
