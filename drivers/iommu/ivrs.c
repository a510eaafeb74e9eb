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

#define IVMD_FLAGS   1
#define IVMD_DEVID   4
#define IVMD_AUX     6
#define IVMD_SEGMENT 8
#define IVMD_START   16
#define IVMD_SIZE    24
#define IVMD_FIRST   0x20
#define IVMD_LAST    0x22

#define DEV_DEVID     1
#define DEV_ALIAS     5
#define DEV_HANDLE    4
#define DEV_SP_DEVID  5
#define DEV_VARIETY   7
#define DEV_HID_UIDLN 21
#define DEV_HID_LEN   22

#define EFR_PC_SUP BIT(9)
/* Type 10h feature reporting: PN banks (16:13) and PN counters (22:17). */
#define ATTR10_PN_BANKS(a)    (((a) >> 13) & 0xf)
#define ATTR10_PN_COUNTERS(a) (((a) >> 17) & 0x3f)

static bool supported_ivhd(u8 type) { return type == IVHD_TYPE_10H || type == IVHD_TYPE_11H || type == IVHD_TYPE_40H; }
static bool is_ivmd(u8 type) { return type >= IVMD_FIRST && type <= IVMD_LAST; }
static u32 ivhd_min_len(u8 type) { return type == IVHD_TYPE_10H ? IVHD_LEN_10H : IVHD_LEN_11H; }

static u64 mmio_size(const struct ivrs_unit *u)
{
    bool counters =
        u->has_efr ? (u->efr & EFR_PC_SUP) != 0 : ATTR10_PN_BANKS(u->attr) != 0 && ATTR10_PN_COUNTERS(u->attr) != 0;
    return counters ? AMD_VI_MMIO_SIZE_PC : AMD_VI_MMIO_SIZE;
}

/* The length of the device entry at off in an IVHD of hlen bytes, 0 when it is cut off or of a
 * variable-length type we do not know (as Linux's ivhd_entry_length). */
static u32 dev_entry_len(const u8 *h, u32 off, u32 hlen)
{
    u8 type = rd8(h, off);
    u32 n;

    if (type < 0x80)
        n = 4u << (type >> 6);
    else if (type == IVHD_DEV_ACPI_HID)
        n = hlen - off > DEV_HID_UIDLN ? DEV_HID_LEN + rd8(h, off + DEV_HID_UIDLN) : DEV_HID_LEN;
    else
        return 0;
    return n <= hlen - off ? n : 0;
}

/* Counts, or (when out->alias etc. are set) fills, the device entries of one IVHD. */
static int walk_dev_entries(const u8 *h, u32 boff, struct ivrs_info *out, u32 *entries, bool fill, char *err,
                            size_t errsz)
{
    u32 hlen = rd16(h, IVHD_LENGTH), alias_from = 0;
    u16 seg = rd16(h, IVHD_SEGMENT), alias_to = 0;
    bool alias_range = false;

    *entries = 0;
    for (u32 off = ivhd_min_len(rd8(h, 0)); off < hlen;) {
        u32 n = dev_entry_len(h, off, hlen);
        u8 type = rd8(h, off);
        if (!n) {
            fmt_snprintf(err, errsz, "IVRS: IVHD at offset %u: device entry type 0x%x at +%u is cut off or unknown",
                         boff, type, off);
            return -1;
        }
        (*entries)++;
        if (type == IVHD_DEV_ALIAS) {
            u16 d = rd16(h, off + DEV_DEVID);
            if (fill)
                out->alias[out->aliases] =
                    (struct ivrs_alias){ .segment = seg, .first = d, .last = d, .alias = rd16(h, off + DEV_ALIAS) };
            out->aliases++;
        } else if (type == IVHD_DEV_ALIAS_RANGE) {
            alias_range = true; /* up to the next range-end entry */
            alias_from = rd16(h, off + DEV_DEVID);
            alias_to = rd16(h, off + DEV_ALIAS);
        } else if (type == IVHD_DEV_RANGE_END && alias_range) {
            u16 last = rd16(h, off + DEV_DEVID);
            if (last >= alias_from) {
                if (fill)
                    out->alias[out->aliases] = (struct ivrs_alias){
                        .segment = seg, .first = (u16)alias_from, .last = last, .alias = alias_to
                    };
                out->aliases++;
            }
            alias_range = false;
        } else if (type == IVHD_DEV_RANGE_START || type == IVHD_DEV_EXT_RANGE) {
            alias_range = false; /* a plain range: its end is not an alias range's */
        } else if (type == IVHD_DEV_SPECIAL) {
            if (fill)
                out->special[out->specials] = (struct ivrs_special){
                    .segment = seg,
                    .variety = rd8(h, off + DEV_VARIETY),
                    .handle = rd8(h, off + DEV_HANDLE),
                    .devid = rd16(h, off + DEV_SP_DEVID),
                };
            out->specials++;
        }
        off += n;
    }
    return 0;
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
        u32 need = supported_ivhd(type) ? ivhd_min_len(type) : is_ivmd(type) ? IVMD_LEN : 4;
        if (blen < need || blen > len - off) {
            fmt_snprintf(err, errsz, "IVRS: block type 0x%x at offset %u has length %u (needs %u, %u left)", type, off,
                         blen, need, len - off);
            return -1;
        }
        if (supported_ivhd(type) && type > out->type)
            out->type = type;
        if (is_ivmd(type))
            out->ivmds++;
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
    if (u.base == 0 || !IS_ALIGNED(u.base, PAGE_SIZE) || u.base > ~0ull - u.mmio_size) {
        fmt_snprintf(err, errsz, "IVRS: IVHD at offset %u has an invalid register base 0x%lx", off, u.base);
        return -1;
    }
    if (walk_dev_entries(h, off, out, &u.dev_entries, true, err, errsz))
        return -1;
    bool new_segment = true;
    for (u32 i = 0; i < out->units; i++)
        new_segment = new_segment && out->unit[i].segment != u.segment;
    out->segments += new_segment;
    out->unit[out->units++] = u;
    return 0;
}

static int take_ivmd(const u8 *m, u32 off, struct ivrs_info *out, char *err, size_t errsz)
{
    struct ivrs_ivmd d = {
        .type = rd8(m, 0),
        .flags = rd8(m, IVMD_FLAGS),
        .segment = rd16(m, IVMD_SEGMENT),
        .first = rd16(m, IVMD_DEVID),
        .last = rd16(m, IVMD_DEVID),
        .start = rd64(m, IVMD_START),
        .length = rd64(m, IVMD_SIZE),
    };

    if (d.type == IVMD_TYPE_ALL) {
        d.first = 0;
        d.last = 0xffff;
    } else if (d.type == IVMD_TYPE_RANGE) {
        d.last = rd16(m, IVMD_AUX);
    }
    if (d.last < d.first || (d.length && d.start > ~0ull - (d.length - 1))) {
        fmt_snprintf(err, errsz, "IVRS: IVMD at offset %u: DeviceIDs 0x%x-0x%x, memory 0x%lx+0x%lx make no range", off,
                     d.first, d.last, d.start, d.length);
        return -1;
    }
    out->ivmd[out->ivmds++] = d;
    return 0;
}

/* Zeroed room for n entries of size bytes, or NULL (and a reason) when mem has none. */
static void *room(iommu_mem_fn mem, u32 n, size_t size, const char *what, char *err, size_t errsz)
{
    void *p = mem((n ? n : 1) * size);
    if (!p)
        fmt_snprintf(err, errsz, "IVRS: out of hypervisor memory for %u %s", n, what);
    return p;
}

int ivrs_parse(const u8 *t, u32 len, struct ivrs_info *out, iommu_mem_fn mem, char *err, size_t errsz)
{
    u32 units = 0, aliases = 0, specials = 0, ivmds, entries;

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
    /* First pass: how many of each, so the arrays can be sized. */
    ivmds = out->ivmds;
    for (u32 off = IVRS_IVDB_OFFSET; off < len; off += rd16(t, off + IVHD_LENGTH)) {
        if (rd8(t, off) != out->type)
            continue;
        units++;
        if (walk_dev_entries(t + off, off, out, &entries, false, err, errsz))
            return -1;
    }
    aliases = out->aliases;
    specials = out->specials;
    out->aliases = out->specials = out->ivmds = 0;
    out->unit = room(mem, units, sizeof(*out->unit), "IOMMU units", err, errsz);
    out->alias = out->unit ? room(mem, aliases, sizeof(*out->alias), "device aliases", err, errsz) : NULL;
    out->special = out->alias ? room(mem, specials, sizeof(*out->special), "special devices", err, errsz) : NULL;
    out->ivmd = out->special ? room(mem, ivmds, sizeof(*out->ivmd), "IVMD blocks", err, errsz) : NULL;
    if (!out->ivmd)
        return -1;
    for (u32 off = IVRS_IVDB_OFFSET; off < len; off += rd16(t, off + IVHD_LENGTH)) {
        u8 type = rd8(t, off);
        if (type == out->type && take_unit(t + off, off, out, err, errsz))
            return -1;
        if (is_ivmd(type) && take_ivmd(t + off, off, out, err, errsz))
            return -1;
    }
    return 0;
}
