/* IVRS parser: see ivrs.h. */
#include "ivrs.h"
#include "platform/acpi_host.h"
#include "lib/bytes.h"
#include "lib/lib.h"
#include "lib/log.h"

#define IVHD_FLAGS   1
#define IVHD_LENGTH  2
#define IVHD_DEVID   4
#define IVHD_CAP     6
#define IVHD_BASE    8
#define IVHD_SEGMENT 16
#define IVHD_INFO    18
#define IVHD_ATTR    20
#define IVHD_EFR     24

#define IVMD_FIRST 0x20
#define IVMD_LAST  0x22

#define EFR_PC_SUP BIT(9)
/* Type 10h feature reporting: PN banks (16:13) and PN counters (22:17). */
#define ATTR10_PN_BANKS(a)    (((a) >> 13) & 0xf)
#define ATTR10_PN_COUNTERS(a) (((a) >> 17) & 0x3f)

static bool supported_ivhd(u8 type) { return type == IVHD_TYPE_10H || type == IVHD_TYPE_11H || type == IVHD_TYPE_40H; }
static u32 ivhd_min_len(u8 type) { return type == IVHD_TYPE_10H ? IVHD_LEN_10H : IVHD_LEN_11H; }

static u64 mmio_size(const struct ivrs_unit *u)
{
    bool counters =
        u->has_efr ? (u->efr & EFR_PC_SUP) != 0 : ATTR10_PN_BANKS(u->attr) != 0 && ATTR10_PN_COUNTERS(u->attr) != 0;
    return counters ? AMD_VI_MMIO_SIZE_PC : AMD_VI_MMIO_SIZE;
}

/* Walk the blocks once: check every length, note the highest IVHD type we support. */
static int scan_blocks(const u8 *t, u32 len, struct ivrs_info *out, char *err, size_t errsz)
{
    for (u32 off = IVRS_IVDB_OFFSET; off < len;) {
        if (len - off < 4) {
            fmt_snprintf(err, errsz, "IVRS: block at offset %u is cut off by the table's end (%u bytes)", off, len);
            return -1;
        }
        u8 type = rd8(t, off);
        u16 blen = rd16(t, off + IVHD_LENGTH);
        u32 need = supported_ivhd(type) ? ivhd_min_len(type) : (type >= IVMD_FIRST && type <= IVMD_LAST) ? IVMD_LEN : 4;
        if (blen < need || blen > len - off) {
            fmt_snprintf(err, errsz, "IVRS: block type 0x%x at offset %u has length %u (needs %u, %u left)", type, off,
                         blen, need, len - off);
            return -1;
        }
        if (supported_ivhd(type) && type > out->type)
            out->type = type;
        if (type >= IVMD_FIRST && type <= IVMD_LAST)
            out->ivmd_blocks++;
        off += blen;
    }
    return 0;
}

static int take_unit(const u8 *h, u32 off, struct ivrs_info *out, char *err, size_t errsz)
{
    struct ivrs_unit u = {
        .type = rd8(h, 0),
        .flags = rd8(h, IVHD_FLAGS),
        .devid = rd16(h, IVHD_DEVID),
        .cap_offset = rd16(h, IVHD_CAP),
        .base = rd64(h, IVHD_BASE),
        .segment = rd16(h, IVHD_SEGMENT),
        .info = rd16(h, IVHD_INFO),
        .attr = rd32(h, IVHD_ATTR),
    };

    if (u.type != IVHD_TYPE_10H) {
        u.has_efr = true;
        u.efr = rd64(h, IVHD_EFR);
    }
    u.mmio_size = mmio_size(&u);
    if (u.segment != 0) {
        fmt_snprintf(err, errsz, "IVRS: IOMMU %02x:%02x.%u is in PCI segment %u; only segment 0 is supported",
                     u.devid >> 8, (u.devid >> 3) & 0x1f, u.devid & 7, u.segment);
        return -1;
    }
    if (u.base == 0 || !IS_ALIGNED(u.base, PAGE_SIZE) || u.base > ~0ull - u.mmio_size) {
        fmt_snprintf(err, errsz, "IVRS: IVHD at offset %u has an invalid register base 0x%lx", off, u.base);
        return -1;
    }
    if (out->units == IOMMU_MAX_UNITS) {
        fmt_snprintf(err, errsz, "IVRS: more than %u IOMMUs (type 0x%x IVHDs); not supported", IOMMU_MAX_UNITS, u.type);
        return -1;
    }
    out->unit[out->units++] = u;
    return 0;
}

int ivrs_parse(const u8 *t, u32 len, struct ivrs_info *out, char *err, size_t errsz)
{
    memset(out, 0, sizeof(*out));
    if (acpi_table_check(t, len, "IVRS", IVRS_IVDB_OFFSET, err, errsz))
        return -1;
    out->ivinfo = rd32(t, 36);
    if (scan_blocks(t, len, out, err, errsz))
        return -1;
    if (!out->type) {
        fmt_snprintf(err, errsz, "IVRS: no IVHD block of type 10h, 11h or 40h");
        return -1;
    }
    for (u32 off = IVRS_IVDB_OFFSET; off < len; off += rd16(t, off + IVHD_LENGTH))
        if (rd8(t, off) == out->type && take_unit(t + off, off, out, err, errsz))
            return -1;
    return 0;
}
