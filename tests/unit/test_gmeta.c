/* UNIT-SOURCES: hv/guard/gmeta.c hv/lib/fmt.c */
/* The guarded-module metadata format (hv/guard/gmeta.c, docs/gmeta.md): round trip, every malformed
 * input rejected with its message, truncation at every byte, limits, and a fixed-seed fuzz loop.
 * Every buffer handed to the parser is malloc'd at its exact length, so ASan catches any read past
 * `len`. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "guard/gmeta.h"

/* ------------------------------------------------------------------ the reference file */
static const char *const privs[] = { "test", "pci-e1000" };
static const char *const funcs[] = { "gtest_init", "gtest_exit", "gtest_open", "printk", "__kmalloc" };
static const struct gmeta_site sites[] = {
    { 0x0010, 0, GMETA_SITE_INIT },
    { 0x0040, 1, GMETA_SITE_DEINIT },
    { 0x0100, 2, GMETA_SITE_BORDER_IN_CALL },
    { 0x0200, 2, GMETA_SITE_BORDER_IN_CALL },
    { 0x0110, 2, GMETA_SITE_BORDER_OUT_RET },
    { 0x0300, 3, GMETA_SITE_BORDER_OUT_CALL },
    { 0x0320, 4, GMETA_SITE_BORDER_OUT_CALL },
    { 0x0310, 3, GMETA_SITE_BORDER_IN_RET },
};
static const struct gmeta_hole holes[] = {
    { 0x0020, 5, GMETA_HOLE_FENTRY },
    { 0x1000, 8, GMETA_HOLE_ABS64 },
    { 0x2000, 4, GMETA_HOLE_PC32 },
};
#define TEXT_LEN 0x3000u

static struct gmeta_builder ref_builder(void)
{
    struct gmeta_builder b;
    memset(&b, 0, sizeof(b));
    b.name = "gtest_mod";
    b.privs = privs;
    b.priv_count = 2;
    b.text_len = TEXT_LEN;
    for (int i = 0; i < 32; i++)
        b.text_sha256[i] = (u8)(0xa0 + i);
    b.funcs = funcs;
    b.func_count = ARRAY_SIZE(funcs);
    b.sites = sites;
    b.site_count = ARRAY_SIZE(sites);
    b.holes = holes;
    b.hole_count = ARRAY_SIZE(holes);
    return b;
}

/* The reference file and where its sections start. */
static struct {
    u8 *buf;
    u64 len;
    u64 privs, funcs, strtab, sites, holes, trailer;
} F;

static void put16(u8 *p, u16 v) { p[0] = (u8)v, p[1] = (u8)(v >> 8); }
static void put32(u8 *p, u32 v) { p[0] = (u8)v, p[1] = (u8)(v >> 8), p[2] = (u8)(v >> 16), p[3] = (u8)(v >> 24); }

static int setup(void **state)
{
    struct gmeta_builder b = ref_builder();
    struct gmeta m;
    char err[160] = "";
    u64 cap = gmeta_size(&b);

    assert_true(cap > 0);
    F.buf = malloc(cap);
    assert_non_null(F.buf);
    if (gmeta_write(&b, F.buf, cap, &F.len, err, sizeof(err)))
        fail_msg("%s", err);
    assert_int_equal(F.len, cap);
    if (gmeta_parse(F.buf, F.len, &m, err, sizeof(err)))
        fail_msg("%s", err);
    F.privs = GMETA_HEADER_SIZE;
    F.funcs = (u64)(m.func_offsets - F.buf);
    F.strtab = (u64)((const u8 *)m.strtab - F.buf);
    F.sites = (u64)(m.sites - F.buf);
    F.holes = (u64)(m.holes - F.buf);
    F.trailer = m.signed_len;
    /* The layout docs/gmeta.md describes for this content. */
    assert_int_equal(F.funcs, 144 + 2 * 32);
    assert_int_equal(F.strtab, 208 + 24); /* 5 offsets = 20 bytes, padded to 24 */
    assert_int_equal(F.sites, 232 + 56);  /* 50 bytes of names, padded to 56 */
    assert_int_equal(F.holes, 288 + 8 * 8);
    assert_int_equal(F.trailer, 352 + 3 * 8);
    assert_int_equal(F.len, F.trailer + GMETA_TRAILER_SIZE);
    return 0;
}

static int teardown(void **state)
{
    free(F.buf);
    return 0;
}

static u8 *copy_of(const u8 *src, u64 len)
{
    u8 *b = malloc(len ? len : 1);
    assert_non_null(b);
    memcpy(b, src, len);
    return b;
}

/* Parse must fail with a message that starts "gmeta: " and contains `want`; *out stays untouched. */
static void expect_err_at(const u8 *buf, u64 len, const char *want, int line)
{
    struct gmeta m;
    char err[200];

    memset(&m, 0x5a, sizeof(m));
    memset(err, 0x7f, sizeof(err));
    if (gmeta_parse(buf, len, &m, err, sizeof(err)) == 0)
        fail_msg("line %d: accepted, expected \"%s\"", line, want);
    if (!memchr(err, 0, sizeof(err)))
        fail_msg("line %d: message not NUL-terminated", line);
    if (strncmp(err, "gmeta: ", 7) != 0 || !strstr(err, want))
        fail_msg("line %d: got \"%s\", expected \"%s\"", line, err, want);
    for (size_t i = 0; i < sizeof(m); i++)
        if (((u8 *)&m)[i] != 0x5a)
            fail_msg("line %d: output struct written on failure", line);
}
#define expect_err(buf, len, want) expect_err_at(buf, len, want, __LINE__)

/* A fresh copy of the reference file, modified by the statements, must fail with `want`. */
#define MUT(want, ...)                                                                                                 \
    do {                                                                                                               \
        u8 *b = copy_of(F.buf, F.len);                                                                                 \
        __VA_ARGS__;                                                                                                   \
        expect_err(b, F.len, want);                                                                                    \
        free(b);                                                                                                       \
    } while (0)

#define SITE(i) (b + F.sites + 8 * (i))
#define HOLE(i) (b + F.holes + 8 * (i))
#define TR      (b + F.trailer)

/* Re-encodes a parsed file through the writer. */
static int rebuild(const struct gmeta *m, u8 *out, u64 cap, u64 *len, char *err, size_t errsz)
{
    static struct gmeta_site s[GMETA_MAX_SITES];
    static struct gmeta_hole h[GMETA_MAX_HOLES];
    static const char *fn[GMETA_MAX_FUNCS];
    const char *pv[GMETA_MAX_PRIVS];
    struct gmeta_builder b;

    memset(&b, 0, sizeof(b));
    b.name = m->name;
    for (u32 i = 0; i < m->priv_count; i++)
        pv[i] = m->privs[i];
    b.privs = pv;
    b.priv_count = m->priv_count;
    b.text_len = m->text_len;
    memcpy(b.text_sha256, m->text_sha256, 32);
    for (u32 i = 0; i < m->func_count; i++)
        fn[i] = gmeta_func_name(m, i);
    b.funcs = fn;
    b.func_count = m->func_count;
    for (u32 i = 0; i < m->site_count; i++)
        gmeta_site_at(m, i, &s[i]);
    b.sites = s;
    b.site_count = m->site_count;
    for (u32 i = 0; i < m->hole_count; i++)
        gmeta_hole_at(m, i, &h[i]);
    b.holes = h;
    b.hole_count = m->hole_count;
    b.sig_alg = m->sig_alg;
    memcpy(b.key_id, m->key_id, GMETA_KEY_ID_LEN);
    memcpy(b.signature, m->signature, GMETA_SIG_LEN);
    return gmeta_write(&b, out, cap, len, err, errsz);
}

/* ------------------------------------------------------------------ round trip and lookups */
static void test_round_trip(void **state)
{
    struct gmeta m;
    struct gmeta_site s;
    struct gmeta_hole h;
    char err[160];
    u32 first;
    u8 *b = copy_of(F.buf, F.len);

    assert_int_equal(gmeta_parse(b, F.len, &m, err, sizeof(err)), 0);
    assert_memory_equal(b, "PSTGMETA", 8);
    assert_int_equal(m.version, GMETA_VERSION);
    assert_int_equal(m.total_size, F.len);
    assert_int_equal(m.text_len, TEXT_LEN);
    assert_int_equal(m.text_sha256[0], 0xa0);
    assert_int_equal(m.text_sha256[31], 0xa0 + 31);
    assert_string_equal(m.name, "gtest_mod");
    assert_int_equal(m.priv_count, 2);
    assert_string_equal(m.privs[0], "test");
    assert_string_equal(m.privs[1], "pci-e1000");
    assert_int_equal(m.func_count, 5);
    for (u32 i = 0; i < 5; i++)
        assert_string_equal(gmeta_func_name(&m, i), funcs[i]);
    assert_string_equal(gmeta_func_name(&m, 5), "?");

    assert_int_equal(m.site_count, ARRAY_SIZE(sites));
    for (u32 i = 0; i < m.site_count; i++) {
        gmeta_site_at(&m, i, &s);
        assert_int_equal(s.offset, sites[i].offset);
        assert_int_equal(s.func, sites[i].func);
        assert_int_equal(s.kind, sites[i].kind);
    }
    assert_int_equal(gmeta_init_offset(&m), 0x10);
    assert_true(m.has_deinit);
    assert_int_equal(m.deinit_offset, 0x40);
    assert_int_equal(gmeta_sites_of_kind(&m, GMETA_SITE_BORDER_IN_CALL, &first), 2);
    assert_int_equal(first, 2);
    assert_int_equal(gmeta_sites_of_kind(&m, GMETA_SITE_BORDER_OUT_CALL, &first), 2);
    assert_int_equal(first, 5);
    assert_int_equal(gmeta_sites_of_kind(&m, GMETA_SITE_BORDER_IN_RET, &first), 1);
    assert_int_equal(first, 7);
    assert_int_equal(gmeta_sites_of_kind(&m, 0, &first), 0);
    assert_int_equal(gmeta_sites_of_kind(&m, 7, &first), 0);
    assert_int_equal(gmeta_find_site(&m, GMETA_SITE_BORDER_IN_CALL, 0x200), 3);
    assert_int_equal(gmeta_find_site(&m, GMETA_SITE_BORDER_IN_CALL, 0x100), 2);
    assert_int_equal(gmeta_find_site(&m, GMETA_SITE_BORDER_IN_CALL, 0x110), -1); /* a site, other kind */
    assert_int_equal(gmeta_find_site(&m, GMETA_SITE_BORDER_OUT_RET, 0x110), 4);
    assert_int_equal(gmeta_find_site(&m, GMETA_SITE_INIT, 0x10), 0);
    assert_int_equal(gmeta_find_site(&m, GMETA_SITE_INIT, 0x11), -1);
    assert_int_equal(gmeta_find_site(&m, 9, 0x10), -1);
    assert_string_equal(gmeta_site_kind_name(GMETA_SITE_BORDER_OUT_CALL), "BORDER_OUT_CALL");
    assert_string_equal(gmeta_site_kind_name(0), "?");
    assert_string_equal(gmeta_hole_kind_name(GMETA_HOLE_RETURN_THUNK), "RETURN_THUNK");
    assert_string_equal(gmeta_hole_kind_name(11), "?");

    assert_int_equal(m.hole_count, 3);
    gmeta_hole_at(&m, 1, &h);
    assert_int_equal(h.offset, 0x1000);
    assert_int_equal(h.len, 8);
    assert_int_equal(h.kind, GMETA_HOLE_ABS64);

    assert_int_equal(m.sig_alg, GMETA_SIG_NONE);
    assert_int_equal(m.sig_flags, GMETA_SIGF_UNSIGNED);
    assert_int_equal(m.signed_len, F.len - GMETA_TRAILER_SIZE);

    /* Canonical: re-encoding the parsed content gives the same bytes. */
    u8 *again = malloc(F.len);
    u64 len2;
    assert_int_equal(rebuild(&m, again, F.len, &len2, err, sizeof(err)), 0);
    assert_int_equal(len2, F.len);
    assert_memory_equal(again, F.buf, F.len);
    free(again);

    /* Unaligned buffer: nothing assumes alignment. */
    u8 *odd = malloc(F.len + 1);
    memcpy(odd + 1, F.buf, F.len);
    assert_int_equal(gmeta_parse(odd + 1, F.len, &m, err, sizeof(err)), 0);
    assert_string_equal(gmeta_func_name(&m, 3), "printk");
    free(odd);
    free(b);
}

static void test_minimal(void **state)
{
    /* One INIT site, one function, no privileges, no holes, no DEINIT. */
    static const char *const fn[] = { "m_init" };
    static const struct gmeta_site s[] = { { 0, 0, GMETA_SITE_INIT } };
    struct gmeta_builder b;
    struct gmeta m;
    u8 buf[512];
    u64 len;
    char err[160];

    memset(&b, 0, sizeof(b));
    b.name = "m";
    b.text_len = 3;
    b.text_sha256[5] = 1;
    b.funcs = fn;
    b.func_count = 1;
    b.sites = s;
    b.site_count = 1;
    if (gmeta_write(&b, buf, sizeof(buf), &len, err, sizeof(err)))
        fail_msg("%s", err);
    assert_int_equal(len, 144 + 8 + 8 + 8 + 96);
    assert_int_equal(gmeta_parse(buf, len, &m, err, sizeof(err)), 0);
    assert_int_equal(gmeta_init_offset(&m), 0);
    assert_false(m.has_deinit);
    assert_int_equal(m.priv_count, 0);

    /* Longest names allowed. */
    char name[56], priv[32], f[128];
    memset(name, '~', 55), name[55] = 0;
    memset(priv, 'z', 31), priv[31] = 0;
    memset(f, '_', 127), f[127] = 0;
    const char *pv[] = { priv };
    const char *fv[] = { f };
    b.name = name;
    b.privs = pv;
    b.priv_count = 1;
    b.funcs = fv;
    if (gmeta_write(&b, buf, sizeof(buf), &len, err, sizeof(err)))
        fail_msg("%s", err);
    assert_int_equal(gmeta_parse(buf, len, &m, err, sizeof(err)), 0);
    assert_string_equal(m.name, name);
    assert_string_equal(m.privs[0], priv);
    assert_string_equal(gmeta_func_name(&m, 0), f);
}

/* ------------------------------------------------------------------ header */
static void test_header_errors(void **state)
{
    char msg[120];

    expect_err(F.buf, 0, "truncated: 0 bytes, the magic needs 8");
    MUT("bad magic", b[0] = 'X');
    MUT("bad magic", b[7] ^= 0x20);
    MUT("unsupported format version 2 (this build reads version 1)", put16(b + 8, 2));
    MUT("unsupported format version 0", put16(b + 8, 0));
    MUT("unsupported format version 65535", put16(b + 8, 0xffff));
    MUT("header_size 145, version 1 requires 144", put16(b + 10, 145));
    MUT("header_size 0", put16(b + 10, 0));
    MUT("total_size 2097152 exceeds the limit of 1048576 bytes", put32(b + 12, 2u << 20));
    MUT("total_size 4294967295 exceeds", put32(b + 12, 0xffffffffu));
    snprintf(msg, sizeof(msg), "truncated: %llu bytes, header total_size says %llu", (unsigned long long)F.len,
             (unsigned long long)F.len + 8);
    MUT(msg, put32(b + 12, (u32)F.len + 8));
    snprintf(msg, sizeof(msg), "trailing garbage: %llu bytes, header total_size says %llu", (unsigned long long)F.len,
             (unsigned long long)F.len - 8);
    MUT(msg, put32(b + 12, (u32)F.len - 8));
    MUT("header flags 0x1: no flags are defined", b[16] = 1);
    MUT("header flags 0x80000000", b[19] = 0x80);
    MUT("text_len is 0", put32(b + 20, 0));
    MUT("text_len 0x4000001 exceeds the limit of 0x4000000", put32(b + 20, GMETA_MAX_TEXT_LEN + 1));
    MUT("text_len 0xffffffff exceeds", put32(b + 20, 0xffffffffu));
    MUT("text_sha256 is all zero", memset(b + 24, 0, 32));

    /* Trailing garbage: one more byte than total_size. */
    u8 *big = malloc(F.len + 1);
    memcpy(big, F.buf, F.len);
    big[F.len] = 0;
    snprintf(msg, sizeof(msg), "trailing garbage: %llu bytes, header total_size says %llu",
             (unsigned long long)F.len + 1, (unsigned long long)F.len);
    expect_err(big, F.len + 1, msg);
    free(big);
}

static void test_name_errors(void **state)
{
    MUT("module name has byte 0x07 at position 2: allowed are printable ASCII", b[56 + 2] = 7);
    MUT("module name has byte 0x20 at position 0", b[56] = ' ');
    MUT("module name has byte 0x80 at position 1", b[57] = 0x80);
    MUT("module name has byte 0x7f", b[58] = 0x7f);
    MUT("module name is empty", b[56] = 0);
    MUT("module name padding byte 20 is 0x41, must be 0", b[56 + 20] = 'A');
    MUT("module name padding byte 55 is 0x01", b[56 + 55] = 1);
    MUT("module name is not NUL-terminated within its 56-byte field (at most 55 characters)", memset(b + 56, 'a', 56));
}

static void test_count_errors(void **state)
{
    MUT("priv_count 9 exceeds the limit of 8", put32(b + 112, 9));
    MUT("priv_count 4294967295 exceeds", put32(b + 112, 0xffffffffu));
    /* Counts whose byte size wraps a u32 (0x40000000 * 4, 0x20000000 * 8) are refused by the limits
     * before any size is computed, and sizes are computed in u64 anyway. */
    MUT("func_count 1073741824 exceeds the limit of 65536", put32(b + 116, 0x40000000u));
    MUT("func_count 65537 exceeds", put32(b + 116, 65537));
    MUT("site_count 536870912 exceeds the limit of 65536", put32(b + 120, 0x20000000u));
    MUT("site_count 65537 exceeds", put32(b + 120, 65537));
    MUT("site_count is 0: a guarded module has at least its INIT site", put32(b + 120, 0));
    MUT("hole_count 536870913 exceeds the limit of 65536", put32(b + 124, 0x20000001u));
    MUT("strtab_size 4294967288 exceeds", put32(b + 128, 0xfffffff8u));
    MUT("strtab_size 1048577 exceeds", put32(b + 128, GMETA_MAX_SIZE + 1));
    /* In range, but the sections no longer add up to total_size. */
    char msg[120];
    snprintf(msg, sizeof(msg), "total_size %llu does not match the sections described by the header (%llu bytes)",
             (unsigned long long)F.len, (unsigned long long)F.len + 32);
    MUT(msg, put32(b + 112, 3));
    MUT("does not match the sections", put32(b + 112, 1));
    MUT("does not match the sections", put32(b + 116, 8));
    /* 6 offsets pad to the same 24 bytes as 5: the sixth offset is read from the padding. */
    MUT("function 5 name offset 0, expected 50", put32(b + 116, 6));
    MUT("does not match the sections", put32(b + 120, 9));
    MUT("does not match the sections", put32(b + 124, 0));
    MUT("does not match the sections", put32(b + 128, 50 + 8));
    MUT("does not match the sections", put32(b + 128, 0xfff00));
    for (int i = 0; i < 12; i++) {
        snprintf(msg, sizeof(msg), "header reserved byte %d (file offset %d) is 0x%02x, must be 0", i, 132 + i, i + 1);
        MUT(msg, b[132 + i] = (u8)(i + 1));
    }
}

static void test_priv_errors(void **state)
{
    u64 p = F.privs;
    MUT("privilege 0 has byte 0x54 at position 0: allowed are [a-z0-9_-]", b[p] = 'T');
    MUT("privilege 1 has byte 0x2e at position 3", b[p + 32 + 3] = '.');
    MUT("privilege 1 has byte 0x20", b[p + 32 + 3] = ' ');
    MUT("privilege 0 is empty", b[p] = 0);
    MUT("privilege 1 padding byte 31 is 0x78", b[p + 32 + 31] = 'x');
    MUT("privilege 0 is not NUL-terminated within its 32-byte field (at most 31 characters)", memset(b + p, 'a', 32));
    MUT("privilege 1 \"test\" repeats privilege 0", memset(b + p + 32, 0, 32), memcpy(b + p + 32, "test", 4));

    /* Nine privileges through the writer: refused with the parser's wording. */
    static const char *const nine[] = { "a", "b", "c", "d", "e", "f", "g", "h", "i" };
    struct gmeta_builder bl = ref_builder();
    u8 out[1024];
    u64 len;
    char err[160];
    bl.privs = nine;
    bl.priv_count = 9;
    assert_int_equal(gmeta_write(&bl, out, sizeof(out), &len, err, sizeof(err)), -1);
    assert_string_equal(err, "gmeta: priv_count 9 exceeds the limit of 8");
    assert_int_equal(len, 0);
    bl.priv_count = 8;
    assert_int_equal(gmeta_write(&bl, out, sizeof(out), &len, err, sizeof(err)), 0);
    static const char *const upper[] = { "Test" };
    bl.privs = upper;
    bl.priv_count = 1;
    assert_int_equal(gmeta_write(&bl, out, sizeof(out), &len, err, sizeof(err)), -1);
    assert_string_equal(err, "gmeta: privilege 0 has byte 0x54 at position 0: allowed are [a-z0-9_-]");
    static const char *const longp[] = { "abcdefghijklmnopqrstuvwxyz012345" };
    bl.privs = longp;
    assert_int_equal(gmeta_write(&bl, out, sizeof(out), &len, err, sizeof(err)), -1);
    assert_string_equal(err, "gmeta: privilege 0 is longer than 31 characters");
}

static void test_func_errors(void **state)
{
    u64 o = F.funcs, s = F.strtab;
    /* Offsets 0, 11, 22, 33, 40; names packed. */
    MUT("function 1 name offset 12, expected 11 (names are packed in index order)", put32(b + o + 4, 12));
    MUT("function 0 name offset 4294967295, expected 0", put32(b + o, 0xffffffffu));
    MUT("padding after the function offset table (file offset 228) is 0x01, must be 0", b[o + 20] = 1);
    MUT("function 2 name has byte 0x2d at position 5: allowed are [A-Za-z0-9_.$], not starting with a digit",
        b[s + 22 + 5] = '-');
    MUT("function 3 name has byte 0x31 at position 0", b[s + 33] = '1');
    MUT("function 0 name has byte 0xff", b[s + 1] = 0xff);
    MUT("function 1 name is empty", b[s + 11] = 0);
    /* Removing a NUL makes two names one: the next offset is then wrong. */
    MUT("function 1 name offset 11, expected 22", b[s + 10] = 'x');
    /* The last name's NUL removed: runs off the end of the table. */
    MUT("function 4 name at strtab offset 40 runs past strtab_size 50 without a NUL", b[s + 49] = 'x');
    MUT("padding after the function names (file offset 282) is 0x02, must be 0", b[s + 50] = 2);

    /* A 128-character name through the writer, and one with a space. */
    char longname[130];
    memset(longname, 'a', 128), longname[128] = 0;
    const char *fv[] = { "gtest_init", longname, "c", "d", "e" };
    struct gmeta_builder bl = ref_builder();
    u8 out[2048];
    u64 len;
    char err[160];
    bl.funcs = fv;
    assert_int_equal(gmeta_write(&bl, out, sizeof(out), &len, err, sizeof(err)), -1);
    assert_string_equal(err, "gmeta: function 1 name is longer than 127 characters");
    fv[1] = "has space";
    assert_int_equal(gmeta_write(&bl, out, sizeof(out), &len, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "function 1 name has byte 0x20 at position 3"));
    fv[1] = "ok.cold$1";
    assert_int_equal(gmeta_write(&bl, out, sizeof(out), &len, err, sizeof(err)), 0);
    /* strtab_size off by one either way keeps the padded layout (49, 50 and 51 all pad to 56): the
     * name walk catches it. */
    MUT("function 4 name at strtab offset 40 runs past strtab_size 49 without a NUL", put32(b + 128, 49));
    MUT("strtab_size 51 but the 5 function names use 50 bytes", put32(b + 128, 51));
}

static void test_site_errors(void **state)
{
    /* Reference sites (index: kind offset func): 0 INIT 0x10 0, 1 DEINIT 0x40 1, 2 BIC 0x100 2,
     * 3 BIC 0x200 2, 4 BOR 0x110 2, 5 BOC 0x300 3, 6 BOC 0x320 4, 7 BIR 0x310 3. */
    MUT("gmeta: site 5 offset 0x4000 beyond text length 0x3000", put32(SITE(5), 0x4000));
    MUT("site 7 offset 0xffffffff beyond text length 0x3000", put32(SITE(7), 0xffffffffu));
    MUT("site 7 offset 0x3000 beyond", put32(SITE(7), 0x3000));
    MUT("site 7 offset 0x2ffe: the 3-byte hypercall instruction runs past text length 0x3000", put32(SITE(7), 0x2ffe));
    MUT("site 0 kind 7 is unknown (1-6)", SITE(0)[6] = 7);
    MUT("site 3 kind 0 is unknown", SITE(3)[6] = 0);
    MUT("site 2 reserved byte is 0x01, must be 0", SITE(2)[7] = 1);
    MUT("site 6 function index 5 beyond func_count 5", put16(SITE(6) + 4, 5));
    MUT("site 6 function index 65535 beyond func_count 5", put16(SITE(6) + 4, 0xffff));
    MUT("site 3 BORDER_IN_CALL offset 0x80 not sorted (follows 0x100)", put32(SITE(3), 0x80));
    MUT("site 3 duplicates the BORDER_IN_CALL site at offset 0x100", put32(SITE(3), 0x100));
    MUT("site 7 kind INIT after BORDER_OUT_CALL: sites must be sorted by kind, then offset", SITE(7)[6] = 1);
    MUT("site 4 kind BORDER_IN_CALL after BORDER_OUT_RET", SITE(3)[6] = 4, SITE(4)[6] = 3);
    MUT("2 INIT sites: exactly one is required", SITE(1)[6] = GMETA_SITE_INIT);
    MUT("0 INIT sites: exactly one is required", SITE(0)[6] = GMETA_SITE_DEINIT, put32(SITE(0), 0x30));
    MUT("2 DEINIT sites: at most one is allowed", SITE(2)[6] = GMETA_SITE_DEINIT);
    /* Across kinds: one instruction cannot have two kinds, and sites cannot overlap. */
    MUT("site 2 (BORDER_IN_CALL) and site 4 (BORDER_OUT_RET) share offset 0x100", put32(SITE(4), 0x100));
    MUT("site 4 (BORDER_OUT_RET at 0x102) overlaps site 2 (BORDER_IN_CALL at 0x100)", put32(SITE(4), 0x102));
    MUT("site 2 (BORDER_IN_CALL at 0x10e) overlaps site 4 (BORDER_OUT_RET at 0x10c)", put32(SITE(2), 0x10e),
        put32(SITE(4), 0x10c));
    /* Sites and holes: the FENTRY hole covers 0x20-0x24. */
    MUT("site 0 (INIT at 0x1e) overlaps hole 0 (FENTRY at 0x20, length 5)", put32(SITE(0), 0x1e));
    MUT("site 0 (INIT at 0x24) overlaps hole 0 (FENTRY at 0x20, length 5)", put32(SITE(0), 0x24));
    MUT("site 7 (BORDER_IN_RET at 0x1ffe) overlaps hole 2 (PC32 at 0x2000, length 4)", put32(SITE(7), 0x1ffe));
    MUT("site 7 (BORDER_IN_RET at 0x1007) overlaps hole 1 (ABS64", put32(SITE(7), 0x1007));

    /* Boundaries that are fine: a site right before and right after a hole, and at the text end. */
    u8 *b = copy_of(F.buf, F.len);
    struct gmeta m;
    char err[160];
    put32(SITE(0), 0x1d);   /* 0x1d-0x1f, hole at 0x20 */
    put32(SITE(7), 0x2ffd); /* last 3 bytes */
    put32(SITE(5), 0x2004); /* right after the PC32 hole, before site 6 at... */
    put32(SITE(6), 0x2007);
    if (gmeta_parse(b, F.len, &m, err, sizeof(err)))
        fail_msg("%s", err);
    free(b);

    /* The writer refuses unsorted input with the same words. */
    struct gmeta_site unsorted[ARRAY_SIZE(sites)];
    memcpy(unsorted, sites, sizeof(sites));
    unsorted[2].offset = 0x300;
    struct gmeta_builder bl = ref_builder();
    u8 out[1024];
    u64 len;
    bl.sites = unsorted;
    assert_int_equal(gmeta_write(&bl, out, sizeof(out), &len, err, sizeof(err)), -1);
    assert_string_equal(err, "gmeta: site 3 BORDER_IN_CALL offset 0x200 not sorted (follows 0x300)");
}

static void test_hole_errors(void **state)
{
    /* Reference holes: 0 FENTRY 0x20/5, 1 ABS64 0x1000/8, 2 PC32 0x2000/4. */
    MUT("hole 1 kind 11 is unknown (1-10)", HOLE(1)[5] = 11);
    MUT("hole 0 kind 0 is unknown", HOLE(0)[5] = 0);
    MUT("hole 2 reserved bytes are 0x0100, must be 0", HOLE(2)[7] = 1);
    MUT("hole 2 reserved bytes are 0x0001", HOLE(2)[6] = 1);
    MUT("hole 1 length 0 out of range 1-8", HOLE(1)[4] = 0);
    MUT("hole 1 length 9 out of range 1-8", HOLE(1)[4] = 9);
    MUT("hole 1 ABS64 length 4, must be 8", HOLE(1)[4] = 4);
    MUT("hole 2 PC32 length 8, must be 4", HOLE(2)[4] = 8);
    MUT("hole 0 FENTRY length 4, must be 5", HOLE(0)[4] = 4);
    MUT("hole 0 JUMP_LABEL length 3, must be 2 or 5", HOLE(0)[5] = GMETA_HOLE_JUMP_LABEL, HOLE(0)[4] = 3);
    MUT("hole 2 offset 0x3000 beyond text length 0x3000", put32(HOLE(2), 0x3000));
    MUT("hole 2 offset 0xfffffffe beyond text length 0x3000", put32(HOLE(2), 0xfffffffeu));
    MUT("hole 2 offset 0x2ffd length 4 runs past text length 0x3000", put32(HOLE(2), 0x2ffd));
    MUT("hole 2 offset 0x800 not sorted (follows 0x1000)", put32(HOLE(2), 0x800));
    MUT("hole 2 offset 0x1000 not sorted (follows 0x1000)", put32(HOLE(2), 0x1000));
    MUT("hole 2 at 0x1007 overlaps hole 1 (0x1000-0x1007)", put32(HOLE(2), 0x1007));

    /* Adjacent holes are fine; a 2-byte JUMP_LABEL and a 1..8-byte ALTERNATIVE too. */
    u8 *b = copy_of(F.buf, F.len);
    struct gmeta m;
    char err[160];
    put32(HOLE(2), 0x1008);
    HOLE(0)[5] = GMETA_HOLE_JUMP_LABEL, HOLE(0)[4] = 2;
    if (gmeta_parse(b, F.len, &m, err, sizeof(err)))
        fail_msg("%s", err);
    HOLE(0)[5] = GMETA_HOLE_ALTERNATIVE, HOLE(0)[4] = 8;
    if (gmeta_parse(b, F.len, &m, err, sizeof(err)))
        fail_msg("%s", err);
    free(b);
}

static void test_trailer_and_signature(void **state)
{
    u8 key_id[16], sig[64];
    char err[160];
    struct gmeta m;

    MUT("bad trailer magic at file offset 376 (expected \"GMETASIG\")", TR[0] = 'g');
    MUT("trailer reserved field is 0x1000000, must be 0", TR[15] = 1);
    MUT("trailer sig_flags 0x3: only 0x1 (unsigned) is defined", TR[10] = 3);
    MUT("trailer sig_flags 0x8001", TR[11] = 0x80);
    MUT("trailer sig_alg 2 is unknown (0 none, 1 ECDSA P-256)", TR[8] = 2);
    MUT("trailer sig_alg 0 (none) without the unsigned flag", TR[10] = 0);
    MUT("unsigned file has a non-zero key_id", TR[16 + 15] = 1);
    MUT("unsigned file has a non-zero signature field", TR[95] = 1);
    MUT("trailer sig_alg 1 (ECDSA P-256) with the unsigned flag set", TR[8] = 1);

    /* Signing: patch the trailer, the signed region is everything before it. */
    for (int i = 0; i < 16; i++)
        key_id[i] = (u8)(i + 1);
    for (int i = 0; i < 64; i++)
        sig[i] = (u8)(0xc0 ^ i);
    u8 *b = copy_of(F.buf, F.len);
    assert_int_equal(gmeta_set_signature(b, F.len, key_id, sig, err, sizeof(err)), 0);
    assert_memory_equal(b, F.buf, F.trailer); /* signed region unchanged */
    assert_int_equal(gmeta_parse(b, F.len, &m, err, sizeof(err)), 0);
    assert_int_equal(m.sig_alg, GMETA_SIG_ECDSA_P256);
    assert_int_equal(m.sig_flags, 0);
    assert_memory_equal(m.key_id, key_id, 16);
    assert_memory_equal(m.signature, sig, 64);
    assert_int_equal(m.signed_len, F.trailer);
    /* A signed file round-trips through the writer too. */
    u8 *again = malloc(F.len);
    u64 len2;
    assert_int_equal(rebuild(&m, again, F.len, &len2, err, sizeof(err)), 0);
    assert_memory_equal(again, b, F.len);
    free(again);

    u8 *s = copy_of(b, F.len);
    memset(s + F.trailer + 32, 0, 32);
    expect_err(s, F.len, "signature r is zero");
    memcpy(s, b, F.len);
    memset(s + F.trailer + 64, 0, 32);
    expect_err(s, F.len, "signature s is zero");
    memcpy(s, b, F.len);
    memset(s + F.trailer + 16, 0, 16);
    expect_err(s, F.len, "signed file has an all-zero key_id");
    memcpy(s, b, F.len);
    s[F.trailer + 10] = 1;
    expect_err(s, F.len, "trailer sig_alg 1 (ECDSA P-256) with the unsigned flag set");
    free(s);

    /* A zero signature is refused and the file is left as it was. */
    u8 *c = copy_of(F.buf, F.len);
    memset(sig, 0, 32);
    assert_int_equal(gmeta_set_signature(c, F.len, key_id, sig, err, sizeof(err)), -1);
    assert_string_equal(err, "gmeta: signature r is zero");
    assert_memory_equal(c, F.buf, F.len);
    /* set_signature on a broken file says why. */
    c[0] = 'Q';
    assert_int_equal(gmeta_set_signature(c, F.len, key_id, sig, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "bad magic"));
    free(c);
    free(b);
}

/* ------------------------------------------------------------------ truncation, limits, robustness */
static void test_truncated_everywhere(void **state)
{
    char msg[120];
    for (u64 n = 0; n < F.len; n++) {
        u8 *b = copy_of(F.buf, n); /* exactly n bytes: ASan sees any read past them */
        if (n < 8)
            snprintf(msg, sizeof(msg), "truncated: %llu bytes, the magic needs 8", (unsigned long long)n);
        else if (n < 10)
            snprintf(msg, sizeof(msg), "truncated: %llu bytes, the version field ends at 10", (unsigned long long)n);
        else if (n < 144)
            snprintf(msg, sizeof(msg), "truncated: %llu bytes, the version 1 header needs 144", (unsigned long long)n);
        else
            snprintf(msg, sizeof(msg), "truncated: %llu bytes, header total_size says %llu", (unsigned long long)n,
                     (unsigned long long)F.len);
        expect_err(b, n, msg);
        free(b);
    }
}

static void test_limits(void **state)
{
    /* 65536 sites (one INIT, the rest BORDER_IN_CALL every 3 bytes) and 65536 holes do not both fit in
     * 1 MiB; 65536 sites alone do. */
    static struct gmeta_site s[GMETA_MAX_SITES + 1];
    static struct gmeta_hole h[GMETA_MAX_HOLES];
    static const char *const fn[] = { "f" };
    struct gmeta_builder b;
    struct gmeta m;
    u64 cap = 2u << 20, len;
    u8 *buf = malloc(cap);
    char err[160];

    memset(&b, 0, sizeof(b));
    b.name = "big";
    b.text_len = 3 * (GMETA_MAX_SITES + 1);
    b.text_sha256[0] = 1;
    b.funcs = fn;
    b.func_count = 1;
    s[0] = (struct gmeta_site){ 0, 0, GMETA_SITE_INIT };
    for (u32 i = 1; i <= GMETA_MAX_SITES; i++)
        s[i] = (struct gmeta_site){ 3 * i, 0, GMETA_SITE_BORDER_IN_CALL };
    b.sites = s;
    b.site_count = GMETA_MAX_SITES;
    if (gmeta_write(&b, buf, cap, &len, err, sizeof(err)))
        fail_msg("%s", err);
    u8 *exact = copy_of(buf, len);
    assert_int_equal(gmeta_parse(exact, len, &m, err, sizeof(err)), 0);
    assert_int_equal(gmeta_sites_of_kind(&m, GMETA_SITE_BORDER_IN_CALL, NULL), GMETA_MAX_SITES - 1);
    assert_int_equal(gmeta_find_site(&m, GMETA_SITE_BORDER_IN_CALL, 3 * 40000), 40000);
    assert_int_equal(gmeta_find_site(&m, GMETA_SITE_BORDER_IN_CALL, 3 * 40000 + 1), -1);
    free(exact);

    b.site_count = GMETA_MAX_SITES + 1;
    assert_int_equal(gmeta_write(&b, buf, cap, &len, err, sizeof(err)), -1);
    assert_string_equal(err, "gmeta: site_count 65537 exceeds the limit of 65536");

    b.site_count = GMETA_MAX_SITES;
    b.text_len = GMETA_MAX_TEXT_LEN;
    for (u32 i = 0; i < GMETA_MAX_HOLES; i++)
        h[i] = (struct gmeta_hole){ 0x400000 + 8 * i, 8, GMETA_HOLE_ABS64 };
    b.holes = h;
    b.hole_count = GMETA_MAX_HOLES;
    assert_int_equal(gmeta_size(&b), 0);
    assert_int_equal(gmeta_write(&b, buf, cap, &len, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "over the limit of 1048576 (1 MiB)"));

    /* Just under: all the holes, fewer sites. */
    b.site_count = GMETA_MAX_SITES - 200;
    if (gmeta_write(&b, buf, cap, &len, err, sizeof(err)))
        fail_msg("%s", err);
    assert_true(len <= GMETA_MAX_SIZE);

    /* Output buffer too small. */
    assert_int_equal(gmeta_write(&b, buf, len - 1, &len, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "too small"));
    free(buf);
}

static void test_api_misuse(void **state)
{
    struct gmeta m;
    char err[160], tiny[4];
    u64 len = 99;
    u8 out[1024];

    assert_int_equal(gmeta_parse(NULL, 10, &m, err, sizeof(err)), -1);
    assert_string_equal(err, "gmeta: no buffer");
    assert_int_equal(gmeta_parse(F.buf, F.len, NULL, err, sizeof(err)), -1);
    /* Error buffers of any size, or none. */
    assert_int_equal(gmeta_parse(F.buf, 3, &m, NULL, 0), -1);
    assert_int_equal(gmeta_parse(F.buf, 3, &m, err, 0), -1);
    memset(tiny, 'x', sizeof(tiny));
    assert_int_equal(gmeta_parse(F.buf, 3, &m, tiny, sizeof(tiny)), -1);
    assert_string_equal(tiny, "gme");
    for (size_t n = 1; n < 40; n++) {
        char *e = malloc(n);
        assert_int_equal(gmeta_parse(F.buf, 3, &m, e, n), -1);
        assert_true(strlen(e) == n - 1 || strlen(e) < n);
        free(e);
    }
    /* Writer: no builder, no name, NULL tables, NULL output. */
    assert_int_equal(gmeta_write(NULL, out, sizeof(out), &len, err, sizeof(err)), -1);
    assert_int_equal(len, 0);
    struct gmeta_builder b = ref_builder();
    b.name = NULL;
    assert_int_equal(gmeta_write(&b, out, sizeof(out), &len, err, sizeof(err)), -1);
    assert_string_equal(err, "gmeta: builder: no module name");
    b = ref_builder();
    b.sites = NULL;
    assert_int_equal(gmeta_write(&b, out, sizeof(out), &len, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "no pointer"));
    b = ref_builder();
    assert_int_equal(gmeta_write(&b, NULL, sizeof(out), &len, err, sizeof(err)), -1);
    assert_int_equal(gmeta_write(&b, out, sizeof(out), NULL, err, sizeof(err)), -1);
    b.name = "this-module-name-is-far-too-long-for-the-fifty-five-char-field";
    assert_int_equal(gmeta_write(&b, out, sizeof(out), &len, err, sizeof(err)), -1);
    assert_string_equal(err, "gmeta: module name is longer than 55 characters");
    b.name = "";
    assert_int_equal(gmeta_write(&b, out, sizeof(out), &len, err, sizeof(err)), -1);
    assert_string_equal(err, "gmeta: module name is empty");
    b.name = "ok";
    b.sig_alg = 1; /* signed, but no key_id or signature given */
    assert_int_equal(gmeta_write(&b, out, sizeof(out), &len, err, sizeof(err)), -1);
    assert_string_equal(err, "gmeta: signed file has an all-zero key_id");
}

/* ------------------------------------------------------------------ fuzz */
static u64 rng_state = 0x9e3779b97f4a7c15ull;
static u64 rng(void)
{
    u64 x = rng_state;
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    return rng_state = x;
}

/* Every accepted input must be canonical: re-encoding its parsed content gives the same bytes. */
static void check_one(const u8 *src, u64 n, u64 *accepted, u8 *scratch, u64 scratch_cap)
{
    struct gmeta m;
    char err[200];
    u8 *b = copy_of(src, n);

    err[0] = 0;
    int r = gmeta_parse(b, n, &m, err, sizeof(err));
    if (r == 0) {
        u64 len2;
        (*accepted)++;
        if (rebuild(&m, scratch, scratch_cap, &len2, err, sizeof(err)))
            fail_msg("accepted input does not re-encode: %s", err);
        assert_int_equal(len2, n);
        assert_memory_equal(scratch, b, n);
    } else {
        assert_int_equal(r, -1);
        assert_true(strncmp(err, "gmeta: ", 7) == 0);
        assert_true(strlen(err) > 7);
    }
    free(b);
}

static void test_fuzz(void **state)
{
    u64 accepted = 0, cap = F.len + 64;
    u8 *mut = malloc(cap), *scratch = malloc(cap);

    /* 20,000 single-byte mutations. */
    for (int i = 0; i < 20000; i++) {
        memcpy(mut, F.buf, F.len);
        u64 pos = rng() % F.len;
        u8 v = (u8)rng();
        switch (rng() % 4) {
        case 0:
            mut[pos] = v;
            break;
        case 1:
            mut[pos] ^= (u8)(1u << (v & 7));
            break;
        case 2:
            mut[pos] = (u8)(mut[pos] + 1);
            break;
        default:
            mut[pos] = (u8)(v & 1 ? 0xff : 0);
            break;
        }
        check_one(mut, F.len, &accepted, scratch, cap);
    }
    u64 single = accepted;
    /* 5,000 multi-byte mutations with random truncation or extension. */
    for (int i = 0; i < 5000; i++) {
        memcpy(mut, F.buf, F.len);
        memset(mut + F.len, 0, cap - F.len);
        int k = 1 + (int)(rng() % 8);
        for (int j = 0; j < k; j++)
            mut[rng() % F.len] = (u8)rng();
        u64 n = F.len;
        if (rng() % 4 == 0)
            n = rng() % cap;
        check_one(mut, n, &accepted, scratch, cap);
    }
    /* Some mutations land in content (hash, names, offsets) and are valid; most are not. */
    print_message("fuzz: %llu of 20000 single-byte mutations accepted, %llu of 5000 multi-byte\n",
                  (unsigned long long)single, (unsigned long long)(accepted - single));
    assert_true(single > 0 && single < 20000);
    free(mut);
    free(scratch);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),           cmocka_unit_test(test_minimal),
        cmocka_unit_test(test_header_errors),        cmocka_unit_test(test_name_errors),
        cmocka_unit_test(test_count_errors),         cmocka_unit_test(test_priv_errors),
        cmocka_unit_test(test_func_errors),          cmocka_unit_test(test_site_errors),
        cmocka_unit_test(test_hole_errors),          cmocka_unit_test(test_trailer_and_signature),
        cmocka_unit_test(test_truncated_everywhere), cmocka_unit_test(test_limits),
        cmocka_unit_test(test_api_misuse),           cmocka_unit_test(test_fuzz),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
