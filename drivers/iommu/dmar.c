/* DMAR parser: see dmar.h. */
#include "dmar.h"
#include "platform/acpi_host.h"
#include "lib/bytes.h"
#include "lib/lib.h"
#include "lib/log.h"

#define DMAR_HAW      36
#define DMAR_FLAGS    37
#define DRHD_FLAGS    4
#define DRHD_SIZE     5
#define DRHD_SEGMENT  6
#define DRHD_BASE     8
#define RMRR_SEGMENT  6
#define RMRR_BASE     8
#define RMRR_LIMIT    16
#define SCOPE_TYPE    0
#define SCOPE_LEN     1
#define SCOPE_ENUM_ID 4
#define SCOPE_BUS     5
#define SCOPE_PATH    6

/* Check the device scopes in [off, end) of structure s; keep up to max of them in keep. A path
 * deeper than DMAR_MAX_PATH is an error when strict (an RMRR's, which must be resolved). */
static int parse_scopes(const u8 *s, u32 off, u32 end, const char *what, u32 *count, struct dmar_scope *keep, u32 max,
                        bool strict, char *err, size_t errsz)
{
    *count = 0;
    while (off < end) {
        u8 slen = end - off >= 2 ? rd8(s, off + SCOPE_LEN) : 0;
        if (slen < DMAR_SCOPE_MIN_LEN || slen > end - off || (slen - SCOPE_PATH) % 2 != 0) {
            fmt_snprintf(err, errsz, "DMAR: %s device scope at offset %u has length %u", what, off, slen);
            return -1;
        }
        u32 path_len = (u32)(slen - SCOPE_PATH) / 2;
        if (strict && path_len > DMAR_MAX_PATH) {
            fmt_snprintf(err, errsz, "DMAR: %s device scope at offset %u is %u bridges deep (at most %u supported)",
                         what, off, path_len, DMAR_MAX_PATH);
            return -1;
        }
        if (keep && *count < max) {
            struct dmar_scope *d = &keep[*count];
            d->type = rd8(s, off + SCOPE_TYPE);
            d->enum_id = rd8(s, off + SCOPE_ENUM_ID);
            d->start_bus = rd8(s, off + SCOPE_BUS);
            d->path_len = (u8)path_len;
            d->bdf = (u16)(d->start_bus << 8);
            if (d->path_len)
                d->bdf |= (u16)(((rd8(s, off + SCOPE_PATH) & 0x1f) << 3) | (rd8(s, off + SCOPE_PATH + 1) & 7));
            for (u32 i = 0; i < path_len && i < DMAR_MAX_PATH; i++) {
                d->path[i][0] = rd8(s, off + SCOPE_PATH + 2 * i);
                d->path[i][1] = rd8(s, off + SCOPE_PATH + 2 * i + 1);
            }
        }
        (*count)++;
        off += slen;
    }
    return 0;
}

static int parse_drhd(const u8 *s, u32 slen, u32 off, struct dmar_info *out, char *err, size_t errsz)
{
    struct dmar_drhd d = {
        .base = rd64(s, DRHD_BASE),
        .mmio_size = PAGE_SIZE << (rd8(s, DRHD_SIZE) & 0xf),
        .segment = rd16(s, DRHD_SEGMENT),
        .include_all = (rd8(s, DRHD_FLAGS) & DMAR_DRHD_INCLUDE_PCI_ALL) != 0,
    };

    if (d.base == 0 || !IS_ALIGNED(d.base, PAGE_SIZE) || d.base > ~0ull - d.mmio_size) {
        fmt_snprintf(err, errsz, "DMAR: DRHD at offset %u has an invalid register base 0x%lx", off, d.base);
        return -1;
    }
    if (parse_scopes(s, DMAR_DRHD_LEN, slen, "DRHD", &d.scopes, d.scope, DMAR_MAX_SCOPES, false, err, errsz))
        return -1;
    if (out->drhd) {
        bool new_segment = true;
        for (u32 i = 0; i < out->units; i++)
            new_segment = new_segment && out->drhd[i].segment != d.segment;
        out->segments += new_segment;
        out->drhd[out->units] = d;
    }
    out->units++;
    return 0;
}

static int parse_rmrr(const u8 *s, u32 slen, u32 off, struct dmar_info *out, iommu_mem_fn mem, char *err, size_t errsz)
{
    struct dmar_rmrr r = {
        .base = rd64(s, RMRR_BASE),
        .limit = rd64(s, RMRR_LIMIT),
        .segment = rd16(s, RMRR_SEGMENT),
    };

    if (r.limit < r.base) {
        fmt_snprintf(err, errsz, "DMAR: RMRR at offset %u: limit 0x%lx lies below base 0x%lx", off, r.limit, r.base);
        return -1;
    }
    if (parse_scopes(s, DMAR_RMRR_LEN, slen, "RMRR", &r.scopes, NULL, 0, true, err, errsz))
        return -1;
    if (out->rmrr) {
        r.scope = mem((r.scopes ? r.scopes : 1) * sizeof(*r.scope));
        if (!r.scope) {
            fmt_snprintf(err, errsz, "DMAR: out of hypervisor memory for the scopes of an RMRR");
            return -1;
        }
        parse_scopes(s, DMAR_RMRR_LEN, slen, "RMRR", &r.scopes, r.scope, r.scopes, true, err, errsz);
        out->rmrr[out->rmrrs] = r;
    }
    out->rmrrs++;
    return 0;
}

/* One pass over the structures: counting (out->drhd and out->rmrr NULL) or filling. */
static int walk(const u8 *t, u32 len, struct dmar_info *out, iommu_mem_fn mem, char *err, size_t errsz)
{
    out->units = out->rmrrs = 0;
    for (u32 off = DMAR_STRUCT_OFFSET; off < len;) {
        u16 type = len - off >= 4 ? rd16(t, off) : 0xffff;
        u16 slen = len - off >= 4 ? rd16(t, off + 2) : 0;
        u32 need = type == DMAR_TYPE_DRHD ? DMAR_DRHD_LEN : type == DMAR_TYPE_RMRR ? DMAR_RMRR_LEN : 4;
        if (slen < need || slen > len - off) {
            fmt_snprintf(err, errsz, "DMAR: structure type %u at offset %u has length %u (needs %u, %u left)", type,
                         off, slen, need, len - off);
            return -1;
        }
        if (type == DMAR_TYPE_DRHD && parse_drhd(t + off, slen, off, out, err, errsz))
            return -1;
        if (type == DMAR_TYPE_RMRR && parse_rmrr(t + off, slen, off, out, mem, err, errsz))
            return -1;
        off += slen;
    }
    return 0;
}

int dmar_parse(const u8 *t, u32 len, struct dmar_info *out, iommu_mem_fn mem, char *err, size_t errsz)
{
    memset(out, 0, sizeof(*out));
    if (acpi_table_check(t, len, "DMAR", DMAR_STRUCT_OFFSET, err, errsz))
        return -1;
    out->haw = (u8)(rd8(t, DMAR_HAW) + 1);
    out->flags = rd8(t, DMAR_FLAGS);
    if (walk(t, len, out, mem, err, errsz))
        return -1;
    if (out->units == 0) {
        fmt_snprintf(err, errsz, "DMAR: no remapping hardware unit (DRHD)");
        return -1;
    }
    u32 units = out->units, rmrrs = out->rmrrs;
    out->drhd = mem(units * sizeof(*out->drhd));
    out->rmrr = out->drhd ? mem((rmrrs ? rmrrs : 1) * sizeof(*out->rmrr)) : NULL;
    if (!out->rmrr) {
        fmt_snprintf(err, errsz, "DMAR: out of hypervisor memory for %u units and %u RMRRs", units, rmrrs);
        return -1;
    }
    return walk(t, len, out, mem, err, errsz);
}
