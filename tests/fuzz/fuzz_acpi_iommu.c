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
 *     1 <= units <= IOMMU_MAX_UNITS, one per IVHD of that type, in table order, with devid,
 *     cap_offset, base, flags, info, attr, EFR exactly as in the table; segment 0; base non-zero,
 *     page-aligned, base + mmio_size not wrapping; mmio_size 16 KiB or 512 KiB by the PCSup /
 *     counter rule; ivinfo and the IVMD count as in the table;
 *   - DMAR on acceptance: haw and flags as in the table; 1 <= units <= IOMMU_MAX_UNITS, one per DRHD
 *     in order, base/size/segment 0/INCLUDE_PCI_ALL as in the table, base valid as above; scope
 *     counts equal to the scope entries present, the kept ones (at most DMAR_MAX_SCOPES) decoded
 *     from them; rmrrs equal to the RMRR count, the kept ones (at most DMAR_MAX_RMRR) as in the table.
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

/* ---------------------------------------------------------------- IVRS */
static bool ivhd_type(u8 t) { return t == 0x10 || t == 0x11 || t == 0x40; }

/* The oracle: 0 accept, -1 reject; fills exp on accept. */
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
        if (type >= 0x20 && type <= 0x22)
            exp->ivmd_blocks++;
        off += blen;
    }
    if (!exp->type)
        return -1;
    for (u32 off = 48; off < len; off += rd16(t, off + 2)) {
        if (t[off] != exp->type)
            continue;
        struct ivrs_unit u = { 0 };
        u.type = t[off];
        u.flags = t[off + 1];
        u.devid = rd16(t, off + 4);
        u.cap_offset = rd16(t, off + 6);
        u.base = rd64(t, off + 8);
        u.segment = rd16(t, off + 16);
        u.info = rd16(t, off + 18);
        u.attr = rd32(t, off + 20);
        u.has_efr = u.type != 0x10;
        u.efr = u.has_efr ? rd64(t, off + 24) : 0;
        bool pc = u.has_efr ? (u.efr >> 9) & 1 : ((u.attr >> 13) & 0xf) && ((u.attr >> 17) & 0x3f);
        u.mmio_size = pc ? KiB(512) : KiB(16);
        if (u.segment != 0 || !base_ok(u.base, u.mmio_size) || exp->units == IOMMU_MAX_UNITS)
            return -1;
        exp->unit[exp->units++] = u;
    }
    return 0;
}

static void fuzz_ivrs(const u8 *t, u32 len)
{
    static struct ivrs_info iv, exp;
    char err[200];
    memset(&iv, 0xa5, sizeof(iv));
    memset(err, 'X', sizeof(err));
    int rc = ivrs_parse(t, len, &iv, err, sizeof(err));
    int want = ivrs_oracle(t, len, &exp);
    CHECK(rc == 0 || rc == -1);
    if (rc != want)
        fprintf(stderr, "fuzz_acpi_iommu: IVRS verdict %d, oracle %d (%s)\n", rc, want, rc ? err : "");
    CHECK(rc == want);

    char small[8];
    memset(small, 'X', sizeof(small));
    CHECK(ivrs_parse(t, len, &iv, small, 5) == rc);
    CHECK(small[5] == 'X' && small[6] == 'X' && small[7] == 'X');
    memset(small, 'X', sizeof(small));
    CHECK(ivrs_parse(t, len, &iv, small, 1) == rc);
    CHECK((rc == 0 || small[0] == 0) && small[1] == 'X');

    memset(&iv, 0xa5, sizeof(iv));
    CHECK(ivrs_parse(t, len, &iv, err, sizeof(err)) == rc);
    if (rc) {
        check_err(err, sizeof(err), "IVRS: ");
        return;
    }
    CHECK(iv.type == exp.type && ivhd_type(iv.type));
    CHECK(iv.ivinfo == exp.ivinfo);
    CHECK(iv.ivmd_blocks == exp.ivmd_blocks);
    CHECK(iv.units >= 1 && iv.units <= IOMMU_MAX_UNITS && iv.units == exp.units);
    for (u32 i = 0; i < iv.units; i++) {
        const struct ivrs_unit *u = &iv.unit[i], *e = &exp.unit[i];
        CHECK(u->type == e->type && u->flags == e->flags && u->devid == e->devid);
        CHECK(u->cap_offset == e->cap_offset && u->base == e->base && u->segment == 0);
        CHECK(u->info == e->info && u->attr == e->attr && u->has_efr == e->has_efr);
        if (u->has_efr)
            CHECK(u->efr == e->efr);
        CHECK(u->mmio_size == e->mmio_size);
        CHECK(base_ok(u->base, u->mmio_size));
    }
}

/* ---------------------------------------------------------------- DMAR */
/* Scopes in [off, end) of structure s: the count, or -1 when malformed; keeps up to max. */
static int scopes_oracle(const u8 *s, u32 off, u32 end, struct dmar_scope *keep, u32 max)
{
    int n = 0;
    while (off < end) {
        if (end - off < 2)
            return -1;
        u32 sl = s[off + 1];
        if (sl < 6 || sl > end - off || (sl & 1))
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
        }
        n++;
        off += sl;
    }
    return n;
}

static int dmar_oracle(const u8 *t, u32 len, struct dmar_info *exp)
{
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
            if (d.segment != 0 || !base_ok(d.base, d.mmio_size))
                return -1;
            int n = scopes_oracle(s, 16, slen, d.scope, DMAR_MAX_SCOPES);
            if (n < 0 || exp->units == IOMMU_MAX_UNITS)
                return -1;
            d.scopes = (u32)n;
            exp->drhd[exp->units++] = d;
        } else if (type == 1) {
            struct dmar_scope dummy[1];
            int n = scopes_oracle(s, 24, slen, dummy, 0);
            if (n < 0)
                return -1;
            if (exp->rmrrs < DMAR_MAX_RMRR)
                exp->rmrr[exp->rmrrs] = (struct dmar_rmrr){ rd64(s, 8), rd64(s, 16), rd16(s, 6), (u32)n };
            exp->rmrrs++;
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
    int rc = dmar_parse(t, len, &dm, err, sizeof(err));
    int want = dmar_oracle(t, len, &exp);
    CHECK(rc == 0 || rc == -1);
    if (rc != want)
        fprintf(stderr, "fuzz_acpi_iommu: DMAR verdict %d, oracle %d (%s)\n", rc, want, rc ? err : "");
    CHECK(rc == want);

    char small[8];
    memset(small, 'X', sizeof(small));
    CHECK(dmar_parse(t, len, &dm, small, 5) == rc);
    CHECK(small[5] == 'X' && small[6] == 'X' && small[7] == 'X');
    memset(small, 'X', sizeof(small));
    CHECK(dmar_parse(t, len, &dm, small, 1) == rc);
    CHECK((rc == 0 || small[0] == 0) && small[1] == 'X');

    memset(&dm, 0xa5, sizeof(dm));
    CHECK(dmar_parse(t, len, &dm, err, sizeof(err)) == rc);
    if (rc) {
        check_err(err, sizeof(err), "DMAR: ");
        return;
    }
    CHECK(dm.haw == exp.haw && dm.flags == exp.flags);
    CHECK(dm.units >= 1 && dm.units <= IOMMU_MAX_UNITS && dm.units == exp.units);
    for (u32 i = 0; i < dm.units; i++) {
        const struct dmar_drhd *d = &dm.drhd[i], *e = &exp.drhd[i];
        CHECK(d->base == e->base && d->mmio_size == e->mmio_size && d->segment == 0);
        CHECK(d->include_all == e->include_all);
        CHECK(d->mmio_size >= KiB(4) && d->mmio_size <= KiB(4) << 15);
        CHECK(base_ok(d->base, d->mmio_size));
        CHECK(d->scopes == e->scopes);
        for (u32 j = 0; j < d->scopes && j < DMAR_MAX_SCOPES; j++) {
            const struct dmar_scope *a = &d->scope[j], *b = &e->scope[j];
            CHECK(a->type == b->type && a->enum_id == b->enum_id && a->start_bus == b->start_bus);
            CHECK(a->path_len == b->path_len && a->bdf == b->bdf);
        }
    }
    CHECK(dm.rmrrs == exp.rmrrs);
    for (u32 j = 0; j < dm.rmrrs && j < DMAR_MAX_RMRR; j++) {
        const struct dmar_rmrr *r = &dm.rmrr[j], *e = &exp.rmrr[j];
        CHECK(r->base == e->base && r->limit == e->limit && r->segment == e->segment && r->scopes == e->scopes);
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
