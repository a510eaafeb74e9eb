/* FUZZ-SOURCES: drivers/iommu/ivrs.c drivers/iommu/dmar.c hv/platform/acpi_host.c hv/lib/fmt.c */
/*
 * libFuzzer harness for the firmware's IOMMU tables: ivrs_parse() (drivers/iommu/ivrs.c, AMD-Vi)
 * and dmar_parse() (drivers/iommu/dmar.c, VT-d) on arbitrary bytes.
 *
 * INPUT: byte 0 selects the parser (bit 0: IVRS / DMAR) and how the rest becomes a table
 * (bits 2:1): 0 = the rest is the whole table, given to both parsers as it is (only a table whose
 * own header and checksum hold gets past the header); 1-3 = a valid 36-byte ACPI header (the
 * signature, a length equal to the table's, a fixed-up checksum) followed by the rest, so most
 * inputs reach the block walk. The table is an exact-size heap buffer: ASan catches any read past
 * its end.
 *
 * ORACLE: an independent walk of the same bytes following the layouts documented in ivrs.h and
 * dmar.h decides whether the table must be accepted and what the parser must report.
 *
 * INVARIANTS (abort() on violation):
 *   - the return value is 0 or -1, and agrees with the oracle's verdict;
 *   - on rejection the message is NUL-terminated, non-empty and starts with "IVRS: " / "DMAR: ";
 *     a 5-byte and a 1-byte error buffer give the same verdict and are not overrun;
 *   - IVRS on acceptance: type is 10h, 11h or 40h and the highest supported IVHD type present;
 *     units >= 1, one per IVHD of that type, in table order, with devid, cap_offset, base, flags,
 *     segment, info, attr, EFR and the device-entry count exactly as in the table; base non-zero,
 *     page-aligned, base + mmio_size not wrapping; mmio_size 16 KiB or 512 KiB by the PCSup /
 *     counter rule; every device entry whole (4 << (type >> 6) bytes, F0h 22 + UID length);
 *     aliases (42h, and 43h closed by a 04h) and special devices (48h) as in the entries; ivinfo
 *     and every IVMD (type, flags, segment, DeviceID range, start, length) as in the table;
 *   - DMAR on acceptance: haw and flags as in the table; units >= 1, one per DRHD in order,
 *     base/size/segment/INCLUDE_PCI_ALL as in the table, base valid as above; scope counts equal to
 *     the scope entries present, the kept ones (at most DMAR_MAX_SCOPES) decoded from them; every
 *     RMRR as in the table (limit >= base) with all its scopes decoded, paths included (at most
 *     DMAR_MAX_PATH hops).
 * The parsers' arrays come from an arena reset before each call.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/bytes.h"
#include "drivers/iommu/dmar.h"
#include "drivers/iommu/ivrs.h"

#define CHECK(c)                                                                                                       \
    do {                                                                                                               \
        if (!(c)) {                                                                                                    \
            fprintf(stderr, "fuzz_acpi_iommu: invariant violated: %s (line %d)\n", #c, __LINE__);                      \
            abort();                                                                                                   \
        }                                                                                                              \
    } while (0)

static u8 sum8(const u8 *p, u32 n)
{
    u8 s = 0;
    while (n--)
        s = (u8)(s + *p++);
    return s;
}

static bool header_ok(const u8 *t, u32 len, const char *sig)
{
    return len >= 48 && memcmp(t, sig, 4) == 0 && rd32(t, 4) == len && sum8(t, len) == 0;
}

static bool base_ok(u64 base, u64 size) { return base != 0 && (base & 0xfff) == 0 && base <= ~0ull - size; }

static void check_err(const char *err, size_t cap, const char *prefix)
{
    CHECK(memchr(err, 0, cap) != NULL);
    CHECK(err[0] != 0);
    CHECK(strncmp(err, prefix, strlen(prefix)) == 0);
}

/* The parsers' memory: a bump arena, reset before each call (nothing is freed). */
static u8 arena[8 << 20] __attribute__((aligned(16)));
static size_t arena_used;
static void *arena_mem(size_t bytes)
{
    bytes = (bytes + 15) & ~(size_t)15;
    if (bytes > sizeof(arena) - arena_used)
        return NULL;
    void *p = arena + arena_used;
    memset(p, 0, bytes);
    arena_used += bytes;
    return p;
}

/* ---------------------------------------------------------------- IVRS */
static bool ivhd_type(u8 t) { return t == 0x10 || t == 0x11 || t == 0x40; }

#define MAXN 20000
static struct ivrs_unit exp_unit[MAXN];
static struct ivrs_alias exp_alias[MAXN];
static struct ivrs_special exp_special[MAXN];
static struct ivrs_ivmd exp_ivmd[MAXN];

/* Device entries of the IVHD at h (blen bytes): -1 when one is cut off or unknown; else counts
 * them and records aliases and specials. */
static int dev_oracle(const u8 *h, u32 blen, u32 hl, u16 seg, u32 *entries, struct ivrs_info *exp)
{
    bool ar = false;
    u16 from = 0, to = 0;
    *entries = 0;
    for (u32 off = hl; off < blen;) {
        u8 ty = h[off];
        u32 n;
        if (ty < 0x80)
            n = 4u << (ty >> 6);
        else if (ty == 0xf0)
            n = blen - off > 21 ? 22u + h[off + 21] : 22u;
        else
            return -1;
        if (n > blen - off)
            return -1;
        if (ty == 0x42) {
            exp_alias[exp->aliases++] =
                (struct ivrs_alias){ seg, rd16(h, off + 1), rd16(h, off + 1), rd16(h, off + 5) };
        } else if (ty == 0x43) {
            ar = true;
            from = rd16(h, off + 1);
            to = rd16(h, off + 5);
        } else if (ty == 0x04 && ar) {
            if (rd16(h, off + 1) >= from)
                exp_alias[exp->aliases++] = (struct ivrs_alias){ seg, from, rd16(h, off + 1), to };
            ar = false;
        } else if (ty == 0x03 || ty == 0x47) {
            ar = false;
        } else if (ty == 0x48) {
            exp_special[exp->specials++] = (struct ivrs_special){ seg, h[off + 7], h[off + 4], rd16(h, off + 5) };
        }
        (*entries)++;
        off += n;
    }
    return 0;
}

/* The oracle: 0 accept, -1 reject; fills exp (and the exp_ arrays) on accept. */
static int ivrs_oracle(const u8 *t, u32 len, struct ivrs_info *exp)
{
    memset(exp, 0, sizeof(*exp));
    if (!header_ok(t, len, "IVRS"))
        return -1;
    exp->ivinfo = rd32(t, 36);
    for (u32 off = 48; off < len;) {
        if (len - off < 4)
            return -1;
        u8 type = t[off];
        u32 blen = rd16(t, off + 2);
        u32 need = ivhd_type(type) ? (type == 0x10 ? 24 : 40) : (type >= 0x20 && type <= 0x22) ? 32 : 4;
        if (blen < need || blen > len - off)
            return -1;
        if (ivhd_type(type) && type > exp->type)
            exp->type = type;
        off += blen;
    }
    if (!exp->type)
        return -1;
    for (u32 off = 48; off < len; off += rd16(t, off + 2)) {
        const u8 *h = t + off;
        if (h[0] >= 0x20 && h[0] <= 0x22) {
            struct ivrs_ivmd m = { h[0], h[1], rd16(h, 8), rd16(h, 4), rd16(h, 4), rd64(h, 16), rd64(h, 24) };
            if (m.type == 0x20)
                m.first = 0, m.last = 0xffff;
            if (m.type == 0x22)
                m.last = rd16(h, 6);
            if (m.last < m.first || (m.length && m.start > ~0ull - (m.length - 1)))
                return -1;
            exp_ivmd[exp->ivmds++] = m;
            continue;
        }
        if (h[0] != exp->type)
            continue;
        struct ivrs_unit u = { 0 };
        u.type = h[0];
        u.flags = h[1];
        u.devid = rd16(h, 4);
        u.cap_offset = rd16(h, 6);
        u.base = rd64(h, 8);
        u.segment = rd16(h, 16);
        u.info = rd16(h, 18);
        u.attr = rd32(h, 20);
        u.has_efr = u.type != 0x10;
        u.efr = u.has_efr ? rd64(h, 24) : 0;
        bool pc = u.has_efr ? (u.efr >> 9) & 1 : ((u.attr >> 13) & 0xf) && ((u.attr >> 17) & 0x3f);
        u.mmio_size = pc ? KiB(512) : KiB(16);
        if (!base_ok(u.base, u.mmio_size))
            return -1;
        if (dev_oracle(h, rd16(h, 2), u.type == 0x10 ? 24 : 40, u.segment, &u.dev_entries, exp))
            return -1;
        exp_unit[exp->units++] = u;
    }
    return 0;
}

static void fuzz_ivrs(const u8 *t, u32 len)
{
    static struct ivrs_info iv, exp;
    char err[200];
    memset(&iv, 0xa5, sizeof(iv));
    memset(err, 'X', sizeof(err));
    arena_used = 0;
    int rc = ivrs_parse(t, len, &iv, arena_mem, err, sizeof(err));
    int want = ivrs_oracle(t, len, &exp);
    CHECK(rc == 0 || rc == -1);
    if (rc != want)
        fprintf(stderr, "fuzz_acpi_iommu: IVRS verdict %d, oracle %d (%s)\n", rc, want, rc ? err : "");
    CHECK(rc == want);

    char small[8];
    memset(small, 'X', sizeof(small));
    arena_used = 0;
    CHECK(ivrs_parse(t, len, &iv, arena_mem, small, 5) == rc);
    CHECK(small[5] == 'X' && small[6] == 'X' && small[7] == 'X');
    memset(small, 'X', sizeof(small));
    arena_used = 0;
    CHECK(ivrs_parse(t, len, &iv, arena_mem, small, 1) == rc);
    CHECK((rc == 0 || small[0] == 0) && small[1] == 'X');

    memset(&iv, 0xa5, sizeof(iv));
    arena_used = 0;
    CHECK(ivrs_parse(t, len, &iv, arena_mem, err, sizeof(err)) == rc);
    if (rc) {
        check_err(err, sizeof(err), "IVRS: ");
        return;
    }
    CHECK(iv.type == exp.type && ivhd_type(iv.type));
    CHECK(iv.ivinfo == exp.ivinfo);
    CHECK(iv.units >= 1 && iv.units == exp.units);
    CHECK(iv.aliases == exp.aliases && iv.specials == exp.specials && iv.ivmds == exp.ivmds);
    u32 segs = 0;
    for (u32 i = 0; i < iv.units; i++) {
        const struct ivrs_unit *u = &iv.unit[i], *e = &exp_unit[i];
        CHECK(u->type == e->type && u->flags == e->flags && u->devid == e->devid);
        CHECK(u->cap_offset == e->cap_offset && u->base == e->base && u->segment == e->segment);
        CHECK(u->info == e->info && u->attr == e->attr && u->has_efr == e->has_efr);
        if (u->has_efr)
            CHECK(u->efr == e->efr);
        CHECK(u->mmio_size == e->mmio_size && u->dev_entries == e->dev_entries);
        CHECK(base_ok(u->base, u->mmio_size));
        bool seen = false;
        for (u32 j = 0; j < i; j++)
            seen = seen || iv.unit[j].segment == u->segment;
        segs += !seen;
    }
    CHECK(iv.segments == segs);
    for (u32 i = 0; i < iv.aliases; i++)
        CHECK(memcmp(&iv.alias[i], &exp_alias[i], sizeof(exp_alias[i])) == 0);
    for (u32 i = 0; i < iv.specials; i++)
        CHECK(memcmp(&iv.special[i], &exp_special[i], sizeof(exp_special[i])) == 0);
    for (u32 i = 0; i < iv.ivmds; i++) {
        const struct ivrs_ivmd *m = &iv.ivmd[i], *e = &exp_ivmd[i];
        CHECK(m->type == e->type && m->flags == e->flags && m->segment == e->segment);
        CHECK(m->first == e->first && m->last == e->last && m->start == e->start && m->length == e->length);
        CHECK(m->first <= m->last);
    }
}

/* ---------------------------------------------------------------- DMAR */
/* Scopes in [off, end) of structure s: the count, or -1 when malformed (or, when strict, a path
 * deeper than DMAR_MAX_PATH); keeps up to max. */
static int scopes_oracle(const u8 *s, u32 off, u32 end, struct dmar_scope *keep, u32 max, bool strict)
{
    int n = 0;
    while (off < end) {
        if (end - off < 2)
            return -1;
        u32 sl = s[off + 1];
        if (sl < 6 || sl > end - off || (sl & 1))
            return -1;
        if (strict && (sl - 6) / 2 > DMAR_MAX_PATH)
            return -1;
        if ((u32)n < max) {
            struct dmar_scope *d = &keep[n];
            memset(d, 0, sizeof(*d));
            d->type = s[off];
            d->enum_id = s[off + 4];
            d->start_bus = s[off + 5];
            d->path_len = (u8)((sl - 6) / 2);
            d->bdf = (u16)(d->start_bus << 8);
            if (d->path_len)
                d->bdf |= (u16)((s[off + 6] & 0x1f) << 3 | (s[off + 7] & 7));
            for (u32 i = 0; i < d->path_len && i < DMAR_MAX_PATH; i++)
                d->path[i][0] = s[off + 6 + 2 * i], d->path[i][1] = s[off + 7 + 2 * i];
        }
        n++;
        off += sl;
    }
    return n;
}

static struct dmar_drhd exp_drhd[MAXN];
static struct dmar_rmrr exp_rmrr[MAXN];
static struct dmar_scope exp_rmrr_scope[MAXN];

static int dmar_oracle(const u8 *t, u32 len, struct dmar_info *exp)
{
    u32 nscopes = 0;
    memset(exp, 0, sizeof(*exp));
    if (!header_ok(t, len, "DMAR"))
        return -1;
    exp->haw = (u8)(t[36] + 1);
    exp->flags = t[37];
    for (u32 off = 48; off < len;) {
        if (len - off < 4)
            return -1;
        u32 type = rd16(t, off), slen = rd16(t, off + 2);
        u32 need = type == 0 ? 16 : type == 1 ? 24 : 4;
        if (slen < need || slen > len - off)
            return -1;
        const u8 *s = t + off;
        if (type == 0) {
            struct dmar_drhd d = { 0 };
            d.base = rd64(s, 8);
            d.mmio_size = 4096ull << (s[5] & 0xf);
            d.segment = rd16(s, 6);
            d.include_all = s[4] & 1;
            if (!base_ok(d.base, d.mmio_size))
                return -1;
            int n = scopes_oracle(s, 16, slen, d.scope, DMAR_MAX_SCOPES, false);
            if (n < 0)
                return -1;
            d.scopes = (u32)n;
            exp_drhd[exp->units++] = d;
        } else if (type == 1) {
            struct dmar_rmrr r = { rd64(s, 8), rd64(s, 16), rd16(s, 6), 0, exp_rmrr_scope + nscopes };
            if (r.limit < r.base)
                return -1;
            int n = scopes_oracle(s, 24, slen, r.scope, MAXN - nscopes, true);
            if (n < 0)
                return -1;
            r.scopes = (u32)n;
            nscopes += (u32)n;
            exp_rmrr[exp->rmrrs++] = r;
        }
        off += slen;
    }
    return exp->units ? 0 : -1;
}

static void fuzz_dmar(const u8 *t, u32 len)
{
    static struct dmar_info dm, exp;
    char err[200];
    memset(&dm, 0xa5, sizeof(dm));
    memset(err, 'X', sizeof(err));
    arena_used = 0;
    int rc = dmar_parse(t, len, &dm, arena_mem, err, sizeof(err));
    int want = dmar_oracle(t, len, &exp);
    CHECK(rc == 0 || rc == -1);
    if (rc != want)
        fprintf(stderr, "fuzz_acpi_iommu: DMAR verdict %d, oracle %d (%s)\n", rc, want, rc ? err : "");
    CHECK(rc == want);

    char small[8];
    memset(small, 'X', sizeof(small));
    arena_used = 0;
    CHECK(dmar_parse(t, len, &dm, arena_mem, small, 5) == rc);
    CHECK(small[5] == 'X' && small[6] == 'X' && small[7] == 'X');
    memset(small, 'X', sizeof(small));
    arena_used = 0;
    CHECK(dmar_parse(t, len, &dm, arena_mem, small, 1) == rc);
    CHECK((rc == 0 || small[0] == 0) && small[1] == 'X');

    memset(&dm, 0xa5, sizeof(dm));
    arena_used = 0;
    CHECK(dmar_parse(t, len, &dm, arena_mem, err, sizeof(err)) == rc);
    if (rc) {
        check_err(err, sizeof(err), "DMAR: ");
        return;
    }
    CHECK(dm.haw == exp.haw && dm.flags == exp.flags);
    CHECK(dm.units >= 1 && dm.units == exp.units);
    u32 segs = 0;
    for (u32 i = 0; i < dm.units; i++) {
        const struct dmar_drhd *d = &dm.drhd[i], *e = &exp_drhd[i];
        CHECK(d->base == e->base && d->mmio_size == e->mmio_size && d->segment == e->segment);
        CHECK(d->include_all == e->include_all);
        CHECK(d->mmio_size >= KiB(4) && d->mmio_size <= KiB(4) << 15);
        CHECK(base_ok(d->base, d->mmio_size));
        CHECK(d->scopes == e->scopes);
        for (u32 j = 0; j < d->scopes && j < DMAR_MAX_SCOPES; j++)
            CHECK(memcmp(&d->scope[j], &e->scope[j], sizeof(e->scope[j])) == 0);
        bool seen = false;
        for (u32 j = 0; j < i; j++)
            seen = seen || dm.drhd[j].segment == d->segment;
        segs += !seen;
    }
    CHECK(dm.segments == segs);
    CHECK(dm.rmrrs == exp.rmrrs);
    for (u32 j = 0; j < dm.rmrrs; j++) {
        const struct dmar_rmrr *r = &dm.rmrr[j], *e = &exp_rmrr[j];
        CHECK(r->base == e->base && r->limit == e->limit && r->segment == e->segment && r->scopes == e->scopes);
        CHECK(r->base <= r->limit);
        for (u32 k = 0; k < r->scopes; k++)
            CHECK(memcmp(&r->scope[k], &e->scope[k], sizeof(e->scope[k])) == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 65536)
        return 0;
    u8 sel = data[0];
    bool dmar = sel & 1;
    bool raw = ((sel >> 1) & 3) == 0;
    data++, size--;

    u32 len = raw ? (u32)size : 36 + (u32)size;
    u8 *t = malloc(len ? len : 1);
    CHECK(t != NULL);
    if (raw) {
        memcpy(t, data, size);
    } else {
        memset(t, 0, 36);
        memcpy(t, dmar ? "DMAR" : "IVRS", 4);
        wr32(t, 4, len);
        t[8] = (u8)(sel >> 3); /* revision: whatever, the parsers do not look */
        memcpy(t + 10, "POSTRN", 6);
        memcpy(t + 36, data, size);
        t[9] = (u8)-sum8(t, len);
    }
    if (raw || !dmar)
        fuzz_ivrs(t, len);
    if (raw || dmar)
        fuzz_dmar(t, len);
    free(t);
    return 0;
}
