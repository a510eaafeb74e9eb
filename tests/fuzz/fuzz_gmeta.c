/* FUZZ-SOURCES: hv/guard/gmeta.c hv/lib/fmt.c */
/*
 * libFuzzer harness for the .gmeta parser (hv/guard/gmeta.c): gmeta_parse() on arbitrary bytes.
 *
 * On rejection: the error message must be NUL-terminated and start with "gmeta: ", and *out must
 * be untouched. On acceptance: every runtime lookup is exercised and the documented invariants
 * (hv/guard/gmeta.h, docs/gmeta.md) are asserted; then the parsed file is re-encoded with gmeta_write()
 * from the decoded fields, which must succeed and parse back to the same content.
 * Any violation calls abort(), which libFuzzer reports as a crash.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guard/gmeta.h"

#define CHECK(c)                                                                                                       \
    do {                                                                                                               \
        if (!(c)) {                                                                                                    \
            fprintf(stderr, "fuzz_gmeta: invariant violated: %s (line %d)\n", #c, __LINE__);                           \
            abort();                                                                                                   \
        }                                                                                                              \
    } while (0)

static int cmp_u32(const void *a, const void *b)
{
    u32 x = *(const u32 *)a, y = *(const u32 *)b;
    return x < y ? -1 : x > y;
}

/* Across tables (docs/gmeta.md): sites of any kinds at least 3 bytes apart, no site overlaps a hole. */
static void check_cross(const struct gmeta *m)
{
    static u32 offs[GMETA_MAX_SITES];
    for (u32 i = 0; i < m->site_count; i++) {
        struct gmeta_site s;
        gmeta_site_at(m, i, &s);
        offs[i] = s.offset;
    }
    qsort(offs, m->site_count, sizeof(offs[0]), cmp_u32);
    u32 h = 0;
    for (u32 i = 0; i < m->site_count; i++) {
        if (i > 0)
            CHECK(offs[i] - offs[i - 1] >= GMETA_SITE_INSN_LEN);
        /* holes are sorted and disjoint: skip those ending at or before this site */
        struct gmeta_hole hl;
        while (h < m->hole_count) {
            gmeta_hole_at(m, h, &hl);
            if ((u64)hl.offset + hl.len <= offs[i])
                h++;
            else
                break;
        }
        if (h < m->hole_count) {
            gmeta_hole_at(m, h, &hl);
            CHECK(hl.offset >= (u64)offs[i] + GMETA_SITE_INSN_LEN);
        }
    }
}

static void check_str(const char *s, size_t max)
{
    CHECK(s != NULL);
    CHECK(strnlen(s, max + 1) <= max);
}

/* Re-encode the accepted file from its decoded content; it must round-trip. */
static void roundtrip(const u8 *data, u64 size, const struct gmeta *m)
{
    static const char *privp[GMETA_MAX_PRIVS];
    static const char *funcs[GMETA_MAX_FUNCS];
    static struct gmeta_site sites[GMETA_MAX_SITES];
    static struct gmeta_hole holes[GMETA_MAX_HOLES];
    struct gmeta_builder b;
    memset(&b, 0, sizeof(b));
    b.name = m->name;
    for (u32 i = 0; i < m->priv_count; i++)
        privp[i] = m->privs[i];
    b.privs = privp;
    b.priv_count = m->priv_count;
    b.text_len = m->text_len;
    memcpy(b.text_sha256, m->text_sha256, 32);
    for (u32 i = 0; i < m->func_count; i++)
        funcs[i] = gmeta_func_name(m, i);
    b.funcs = funcs;
    b.func_count = m->func_count;
    for (u32 i = 0; i < m->site_count; i++)
        gmeta_site_at(m, i, &sites[i]);
    b.sites = sites;
    b.site_count = m->site_count;
    for (u32 i = 0; i < m->hole_count; i++)
        gmeta_hole_at(m, i, &holes[i]);
    b.holes = holes;
    b.hole_count = m->hole_count;
    b.sig_alg = m->sig_alg;
    memcpy(b.key_id, m->key_id, GMETA_KEY_ID_LEN);
    memcpy(b.signature, m->signature, GMETA_SIG_LEN);

    u64 cap = gmeta_size(&b);
    CHECK(cap > 0);
    u8 *buf = malloc(cap);
    CHECK(buf != NULL);
    u64 len = 0;
    char err[160];
    err[0] = 0;
    int rc = gmeta_write(&b, buf, cap, &len, err, sizeof(err));
    if (rc != 0)
        fprintf(stderr, "fuzz_gmeta: re-encoding an accepted file failed: %s\n", err);
    CHECK(rc == 0);
    CHECK(len == cap);
    struct gmeta m2;
    CHECK(gmeta_parse(buf, len, &m2, err, sizeof(err)) == 0);
    CHECK(strcmp(m2.name, m->name) == 0);
    CHECK(m2.text_len == m->text_len && m2.site_count == m->site_count && m2.hole_count == m->hole_count);
    CHECK(m2.func_count == m->func_count && m2.priv_count == m->priv_count);
    CHECK(m2.init_offset == m->init_offset && m2.has_deinit == m->has_deinit);
    CHECK(m2.sig_alg == m->sig_alg && m2.sig_flags == m->sig_flags);
    /* docs/gmeta.md: "Canonical. A given content has exactly one valid encoding." The writer's
     * output for the decoded content must therefore be the accepted file, byte for byte. */
    CHECK(len == size);
    CHECK(memcmp(buf, data, len) == 0);
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Copy into an exact-size heap buffer so ASan catches any read past `len`. */
    u8 *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);

    struct gmeta m;
    memset(&m, 0xa5, sizeof(m));
    char err[160];
    memset(err, 'X', sizeof(err));
    int rc = gmeta_parse(buf, size, &m, err, sizeof(err));
    CHECK(rc == 0 || rc == -1);
    if (rc != 0) {
        CHECK(memchr(err, 0, sizeof(err)) != NULL);
        CHECK(strncmp(err, "gmeta: ", 7) == 0);
        static struct gmeta pristine;
        static int init;
        if (!init)
            memset(&pristine, 0xa5, sizeof(pristine)), init = 1;
        CHECK(memcmp(&m, &pristine, sizeof(m)) == 0); /* untouched on failure */
        free(buf);
        return 0;
    }

    /* ---- accepted: header-level invariants */
    CHECK(m.version == GMETA_VERSION);
    CHECK(m.total_size == size);
    CHECK(size <= GMETA_MAX_SIZE);
    CHECK(m.text_len > 0 && m.text_len <= GMETA_MAX_TEXT_LEN);
    check_str(m.name, GMETA_NAME_MAX);
    CHECK(m.name[0] != 0);
    for (const char *p = m.name; *p; p++)
        CHECK(*p >= 0x21 && *p <= 0x7e);
    CHECK(m.priv_count <= GMETA_MAX_PRIVS);
    for (u32 i = 0; i < m.priv_count; i++) {
        check_str(m.privs[i], GMETA_PRIV_NAME_MAX);
        CHECK(m.privs[i][0] != 0);
    }
    CHECK(m.func_count <= GMETA_MAX_FUNCS);
    CHECK(m.site_count <= GMETA_MAX_SITES);
    CHECK(m.hole_count <= GMETA_MAX_HOLES);
    CHECK(m.signed_len + GMETA_TRAILER_SIZE == size);
    CHECK(m.signature >= buf && m.signature + GMETA_SIG_LEN <= buf + size);
    CHECK((m.sig_alg == GMETA_SIG_NONE) == ((m.sig_flags & GMETA_SIGF_UNSIGNED) != 0));
    if (m.strtab_size)
        CHECK(m.strtab >= (const char *)buf && m.strtab + m.strtab_size <= (const char *)buf + size);
    if (m.site_count)
        CHECK(m.sites >= buf && m.sites + (u64)m.site_count * GMETA_SITE_SIZE <= buf + size);
    if (m.hole_count)
        CHECK(m.holes >= buf && m.holes + (u64)m.hole_count * GMETA_HOLE_SIZE <= buf + size);

    /* ---- function names */
    for (u32 i = 0; i < m.func_count; i++) {
        const char *n = gmeta_func_name(&m, i);
        CHECK(n >= m.strtab && n < m.strtab + m.strtab_size);
        size_t room = (size_t)(m.strtab + m.strtab_size - n);
        size_t l = strnlen(n, room);
        CHECK(l < room); /* NUL-terminated inside the table */
        CHECK(l >= 1 && l <= GMETA_FUNC_NAME_MAX);
        CHECK(!(n[0] >= '0' && n[0] <= '9'));
    }
    CHECK(strcmp(gmeta_func_name(&m, m.func_count), "?") == 0);
    CHECK(strcmp(gmeta_func_name(&m, 0xffffffffu), "?") == 0);

    /* ---- sites: in range, sorted by (kind, offset), per-kind tables consistent */
    u32 ninit = 0, ndeinit = 0;
    struct gmeta_site prev = { 0, 0, 0 };
    for (u32 i = 0; i < m.site_count; i++) {
        struct gmeta_site s;
        gmeta_site_at(&m, i, &s);
        CHECK(s.kind >= GMETA_SITE_KIND_MIN && s.kind <= GMETA_SITE_KIND_MAX);
        CHECK(s.offset < m.text_len);
        CHECK((u64)s.offset + GMETA_SITE_INSN_LEN <= m.text_len);
        CHECK(s.func < m.func_count);
        CHECK(strcmp(gmeta_site_kind_name(s.kind), "?") != 0);
        if (i > 0)
            CHECK(prev.kind < s.kind || (prev.kind == s.kind && prev.offset < s.offset));
        prev = s;
        CHECK(gmeta_find_site(&m, s.kind, s.offset) == (s64)i);
        if (s.offset + 1 < m.text_len) {
            s64 j = gmeta_find_site(&m, s.kind, s.offset + 1);
            if (j >= 0) {
                struct gmeta_site t;
                gmeta_site_at(&m, (u32)j, &t);
                CHECK(t.kind == s.kind && t.offset == s.offset + 1);
            }
        }
        if (s.kind == GMETA_SITE_INIT) {
            ninit++;
            CHECK(s.offset == m.init_offset);
        }
        if (s.kind == GMETA_SITE_DEINIT) {
            ndeinit++;
            CHECK(m.has_deinit && s.offset == m.deinit_offset);
        }
    }
    CHECK(ninit == 1);
    CHECK(ndeinit <= 1 && (ndeinit == 1) == m.has_deinit);
    CHECK(gmeta_init_offset(&m) == m.init_offset);
    u32 total = 0;
    for (u32 k = GMETA_SITE_KIND_MIN; k <= GMETA_SITE_KIND_MAX; k++) {
        u32 first = 0xdeadbeef;
        u32 n = gmeta_sites_of_kind(&m, k, &first);
        CHECK(n == m.kind_count[k]);
        if (n) {
            CHECK(first == m.kind_first[k]);
            CHECK((u64)first + n <= m.site_count);
            for (u32 i = first; i < first + n; i++) {
                struct gmeta_site s;
                gmeta_site_at(&m, i, &s);
                CHECK(s.kind == k);
            }
        }
        total += n;
    }
    CHECK(total == m.site_count);
    /* lookups that must miss */
    CHECK(gmeta_find_site(&m, 0, m.init_offset) < 0);
    CHECK(gmeta_find_site(&m, GMETA_SITE_KIND_MAX + 1, m.init_offset) < 0);
    CHECK(gmeta_find_site(&m, GMETA_SITE_INIT, m.text_len) < 0);
    CHECK(gmeta_find_site(&m, GMETA_SITE_INIT, 0xffffffffu) < 0);
    u32 dummy;
    (void)gmeta_sites_of_kind(&m, 0, &dummy);
    (void)gmeta_sites_of_kind(&m, 0xffffffffu, &dummy);

    /* ---- holes: sorted, disjoint, in range, valid kind/len */
    u64 end = 0;
    for (u32 i = 0; i < m.hole_count; i++) {
        struct gmeta_hole h;
        gmeta_hole_at(&m, i, &h);
        CHECK(h.kind >= GMETA_HOLE_KIND_MIN && h.kind <= GMETA_HOLE_KIND_MAX);
        CHECK(h.len >= 1 && h.len <= GMETA_HOLE_MAX_LEN);
        CHECK(h.offset < m.text_len && (u64)h.offset + h.len <= m.text_len);
        if (i > 0)
            CHECK(h.offset >= end);
        end = (u64)h.offset + h.len;
        CHECK(strcmp(gmeta_hole_kind_name(h.kind), "?") != 0);
    }

    check_cross(&m);
    roundtrip(buf, size, &m);
    free(buf);
    return 0;
}
