/* See guest_physmap.h. */
#include "core/guest_physmap.h"
#include "core/npt.h"
#include "lib/lib.h"
#include "lib/log.h"

/* Overlap priority: the higher wins (the more restrictive). */
static int priority(u32 kind)
{
    switch (kind) {
    case PHYS_HV:
        return 9;
    case PHYS_UNUSABLE:
        return 8;
    case PHYS_MMIO:
        return 7;
    case PHYS_FIRMWARE:
        return 6;
    case PHYS_NVS:
        return 5;
    case PHYS_ACPI:
        return 4;
    case PHYS_PMEM:
        return 3;
    case PHYS_RAM:
        return 2;
    default:
        return 0;
    }
}

static u32 kind_of_boot_type(u32 type)
{
    switch (type) {
    case BOOT_MEM_FREE:
        return PHYS_RAM;
    case BOOT_MEM_ACPI:
        return PHYS_ACPI;
    case BOOT_MEM_NVS:
        return PHYS_NVS;
    case BOOT_MEM_PMEM:
        return PHYS_PMEM;
    case BOOT_MEM_MMIO:
        return PHYS_MMIO;
    case BOOT_MEM_UNUSABLE:
        return PHYS_UNUSABLE;
    case BOOT_MEM_HV:
        return PHYS_HV;
    case BOOT_MEM_FIRMWARE:
    case BOOT_MEM_RESERVED:
    default:
        return PHYS_FIRMWARE;
    }
}

/* One input range, already page-rounded. */
struct input {
    u64 base, end;
    u32 kind;
};

/* Page rounding: RAM the guest may use shrinks to whole pages (a partial page is never given);
 * everything else grows (a partial page of firmware data is never handed out as RAM). */
static bool round_input(u64 base, u64 size, u32 kind, struct input *in)
{
    u64 end = base + size;

    if (!size)
        return false;
    if (end < base)
        end = ~0ull & ~(u64)(PAGE_SIZE - 1);
    if (kind == PHYS_RAM) {
        if (base > ~0ull - (PAGE_SIZE - 1))
            return false; /* starts in the last page: rounding up would wrap to 0 */
        base = ALIGN_UP(base, PAGE_SIZE);
        end = ALIGN_DOWN(end, PAGE_SIZE);
    } else {
        base = ALIGN_DOWN(base, PAGE_SIZE);
        end = end > ~0ull - PAGE_SIZE ? ALIGN_DOWN(end, PAGE_SIZE) : ALIGN_UP(end, PAGE_SIZE);
    }
    if (end <= base)
        return false;
    *in = (struct input){ base, end, kind };
    return true;
}

static void sort_u64(u64 *a, u32 n)
{
    for (u32 i = 1; i < n; i++) {
        u64 v = a[i];
        u32 j = i;
        while (j > 0 && a[j - 1] > v) {
            a[j] = a[j - 1];
            j--;
        }
        a[j] = v;
    }
}

static bool push(struct guest_physmap *out, u64 base, u64 end, u32 kind)
{
    struct physmap_region *last = out->count ? &out->r[out->count - 1] : NULL;

    if (last && last->kind == kind && last->base + last->size == base) {
        last->size += end - base;
        return true;
    }
    if (out->count == PHYSMAP_MAX_REGIONS)
        return false;
    out->r[out->count++] = (struct physmap_region){ base, end - base, kind };
    return true;
}

/* The lowest cap bytes of RAM stay the guest's; the rest becomes PHYS_CAPPED (a region is split
 * where the cap falls, at a page boundary). */
static bool apply_cap(struct guest_physmap *out, u64 cap)
{
    u64 seen = 0;

    for (u32 i = 0; i < out->count; i++) {
        struct physmap_region *r = &out->r[i];
        if (r->kind != PHYS_RAM)
            continue;
        if (seen >= cap) {
            r->kind = PHYS_CAPPED;
        } else if (r->size > cap - seen) {
            u64 keep = ALIGN_DOWN(cap - seen, PAGE_SIZE);
            if (out->count == PHYSMAP_MAX_REGIONS)
                return false;
            for (u32 j = out->count; j > i + 1; j--)
                out->r[j] = out->r[j - 1];
            out->count++;
            out->r[i + 1] = (struct physmap_region){ r->base + keep, r->size - keep, PHYS_CAPPED };
            r->size = keep;
            seen = cap;
        } else {
            seen += r->size;
        }
    }
    /* A zero-sized region can appear when the cap falls on a region's start: drop it. */
    u32 k = 0;
    for (u32 i = 0; i < out->count; i++)
        if (out->r[i].size)
            out->r[k++] = out->r[i];
    out->count = k;
    return true;
}

int physmap_build(const struct boot_mem_region *fw, u32 nfw, const struct phys_range *hv, u32 nhv, u64 cap,
                  struct guest_physmap *out, char *err, size_t errsz)
{
    static struct input in[BOOT_MAX_MEM_REGIONS + PHYSMAP_MAX_HV];
    static u64 edge[2 * (BOOT_MAX_MEM_REGIONS + PHYSMAP_MAX_HV)];
    u32 n = 0, ne = 0;

    memset(out, 0, sizeof(*out));
    if (nfw > BOOT_MAX_MEM_REGIONS || nhv > PHYSMAP_MAX_HV) {
        fmt_snprintf(err, errsz, "memory map: %u firmware and %u hypervisor ranges, at most %u and %u", nfw, nhv,
                     BOOT_MAX_MEM_REGIONS, PHYSMAP_MAX_HV);
        return -1;
    }
    for (u32 i = 0; i < nfw; i++)
        if (round_input(fw[i].base, fw[i].size, kind_of_boot_type(fw[i].type), &in[n]))
            n++;
    for (u32 i = 0; i < nhv; i++)
        if (round_input(hv[i].base, hv[i].size, PHYS_HV, &in[n]))
            n++;
    for (u32 i = 0; i < n; i++) {
        edge[ne++] = in[i].base;
        edge[ne++] = in[i].end;
    }
    sort_u64(edge, ne);

    /* Each elementary interval between two edges gets the highest-priority kind covering it. */
    for (u32 e = 0; e + 1 < ne; e++) {
        u64 a = edge[e], b = edge[e + 1];
        u32 kind = 0;
        if (a == b)
            continue;
        for (u32 i = 0; i < n; i++)
            if (in[i].base <= a && b <= in[i].end && priority(in[i].kind) > priority(kind))
                kind = in[i].kind;
        if (kind && !push(out, a, b, kind)) {
            fmt_snprintf(err, errsz, "memory map: more than %u regions", PHYSMAP_MAX_REGIONS);
            return -1;
        }
    }
    if (cap && !apply_cap(out, cap)) {
        fmt_snprintf(err, errsz, "memory map: more than %u regions", PHYSMAP_MAX_REGIONS);
        return -1;
    }
    for (u32 i = 0; i < out->count; i++) {
        const struct physmap_region *r = &out->r[i];
        if (r->kind == PHYS_RAM)
            out->ram_bytes += r->size;
        else if (r->kind == PHYS_CAPPED)
            out->capped_bytes += r->size;
        else if (r->kind == PHYS_HV)
            out->hv_bytes += r->size;
        if (r->kind == PHYS_RAM || r->kind == PHYS_ACPI || r->kind == PHYS_NVS) {
            struct gmem_range *last = out->ram_count ? &out->ram[out->ram_count - 1] : NULL;
            if (last && last->base + last->size == r->base)
                last->size += r->size;
            else
                out->ram[out->ram_count++] = (struct gmem_range){ r->base, r->size };
        }
    }
    if (!out->ram_bytes) {
        fmt_snprintf(err, errsz, "memory map: no RAM left for the guest");
        return -1;
    }
    return 0;
}

u32 physmap_kind_at(const struct guest_physmap *m, u64 addr)
{
    for (u32 i = 0; i < m->count; i++)
        if (addr >= m->r[i].base && addr - m->r[i].base < m->r[i].size)
            return m->r[i].kind;
    return 0;
}

u32 physmap_npt_perms(u32 kind)
{
    switch (kind) {
    case PHYS_RAM:
    case PHYS_ACPI:
    case PHYS_NVS:
    case PHYS_PMEM:
        return NPT_RWX;
    case 0: /* a hole: device space */
    case PHYS_FIRMWARE:
    case PHYS_MMIO:
        return NPT_RWX | NPT_UNCACHED;
    default: /* unusable, capped, the hypervisor's */
        return 0;
    }
}

const char *physmap_kind_name(u32 kind)
{
    static const char *const names[] = { "device space", "RAM",  "ACPI",     "ACPI NVS", "persistent",
                                         "firmware",     "MMIO", "unusable", "capped",   "hypervisor" };
    return kind < ARRAY_SIZE(names) ? names[kind] : "?";
}

bool physmap_for_each_mapping(const struct guest_physmap *m, u64 limit,
                              bool (*fn)(void *ctx, u64 base, u64 size, u32 perms), void *ctx)
{
    u64 a = 0, run_base = 0;
    u32 run_perms = ~0u;

    /* Walk regions and the holes between them, merging neighbours with the same permissions. */
    for (u32 i = 0; i <= m->count && a < limit; i++) {
        u64 next = i < m->count ? m->r[i].base : limit;
        if (next > limit)
            next = limit;
        for (int part = 0; part < 2; part++) {
            u64 base, end;
            u32 perms;
            if (part == 0) { /* the hole before region i */
                base = a, end = next, perms = physmap_npt_perms(0);
            } else {
                if (i == m->count)
                    break;
                base = m->r[i].base, end = m->r[i].base + m->r[i].size, perms = physmap_npt_perms(m->r[i].kind);
                if (end > limit)
                    end = limit;
            }
            if (end <= base)
                continue;
            if (perms != run_perms) {
                if (run_perms != ~0u && run_perms && !fn(ctx, run_base, base - run_base, run_perms))
                    return false;
                run_base = base;
                run_perms = perms;
            }
            a = end;
        }
    }
    if (run_perms != ~0u && run_perms && a > run_base && !fn(ctx, run_base, a - run_base, run_perms))
        return false;
    return true;
}

bool physmap_device_range_ok(const struct guest_physmap *m, u64 base, u64 size)
{
    if (!size || base + size < base || !IS_ALIGNED(base | size, PAGE_SIZE))
        return false;
    for (u32 i = 0; i < m->count; i++) {
        const struct physmap_region *r = &m->r[i];
        if (r->kind == PHYS_MMIO || r->kind == PHYS_FIRMWARE)
            continue;
        if (r->base < base + size && base < r->base + r->size)
            return false;
    }
    return true;
}
