/*
 * Guarded-module metadata: strict parser, writer and lookups (gmeta.h, docs/gmeta.md).
 * Freestanding: hv/lib/lib.h string functions and hv/lib/fmt.c's formatter only. Every offset computed
 * here is a u64 built from bounded u32 counts, so nothing can wrap.
 */
#include "guard/gmeta.h"
#include "lib/lib.h"
#include "lib/log.h"
#include <stdarg.h>

/* Header field offsets (docs/gmeta.md). */
enum {
    H_MAGIC = 0,
    H_VERSION = 8,
    H_HEADER_SIZE = 10,
    H_TOTAL_SIZE = 12,
    H_FLAGS = 16,
    H_TEXT_LEN = 20,
    H_TEXT_SHA256 = 24,
    H_NAME = 56,
    H_NAME_SIZE = GMETA_NAME_MAX + 1,
    H_PRIV_COUNT = 112,
    H_FUNC_COUNT = 116,
    H_SITE_COUNT = 120,
    H_HOLE_COUNT = 124,
    H_STRTAB_SIZE = 128,
    H_RESERVED = 132,
    H_RESERVED_SIZE = 12,
};
_Static_assert(H_NAME + H_NAME_SIZE == H_PRIV_COUNT, "header layout");
_Static_assert(H_RESERVED + H_RESERVED_SIZE == GMETA_HEADER_SIZE, "header layout");

/* Trailer field offsets, relative to its start. */
enum {
    T_MAGIC = 0,
    T_SIG_ALG = 8,
    T_SIG_FLAGS = 10,
    T_RESERVED = 12,
    T_KEY_ID = 16,
    T_SIG = 32,
};
_Static_assert(T_SIG + GMETA_SIG_LEN == GMETA_TRAILER_SIZE, "trailer layout");

static u16 rd16(const u8 *p) { return (u16)(p[0] | (p[1] << 8)); }
static u32 rd32(const u8 *p) { return (u32)p[0] | ((u32)p[1] << 8) | ((u32)p[2] << 16) | ((u32)p[3] << 24); }
static void wr16(u8 *p, u16 v)
{
    p[0] = (u8)v;
    p[1] = (u8)(v >> 8);
}
static void wr32(u8 *p, u32 v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (u8)(v >> (8 * i));
}
static u64 align8(u64 x) { return (x + 7) & ~7ull; }

static bool all_zero(const u8 *p, u64 n)
{
    for (u64 i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

/* Index of the first non-zero byte in p[0..n), or n. */
static u64 first_nonzero(const u8 *p, u64 n)
{
    u64 i = 0;
    while (i < n && !p[i])
        i++;
    return i;
}

static int fail(char *err, size_t errsz, const char *fmt, ...) PRINTF_LIKE(3, 4);
static int fail(char *err, size_t errsz, const char *fmt, ...)
{
    static const char prefix[] = "gmeta: ";
    const size_t plen = sizeof(prefix) - 1;
    va_list ap;

    if (!err || !errsz)
        return -1;
    if (errsz <= plen) {
        memcpy(err, prefix, errsz - 1);
        err[errsz - 1] = 0;
        return -1;
    }
    memcpy(err, prefix, plen);
    va_start(ap, fmt);
    fmt_vsnprintf(err + plen, errsz - plen, fmt, ap);
    va_end(ap);
    return -1;
}

#define FAIL(...) return fail(err, errsz, __VA_ARGS__)
#define ULL(x)    ((unsigned long long)(x))

/* ------------------------------------------------------------------ names */
static const char *const site_kind_names[] = {
    "?", "INIT", "DEINIT", "BORDER_IN_CALL", "BORDER_OUT_RET", "BORDER_OUT_CALL", "BORDER_IN_RET",
};
static const char *const hole_kind_names[] = {
    "?",          "ABS64",       "ABS32",       "ABS32S",    "PC32",         "FENTRY",
    "JUMP_LABEL", "STATIC_CALL", "ALTERNATIVE", "RETPOLINE", "RETURN_THUNK",
};
_Static_assert(ARRAY_SIZE(site_kind_names) == GMETA_SITE_KIND_MAX + 1, "site kinds");
_Static_assert(ARRAY_SIZE(hole_kind_names) == GMETA_HOLE_KIND_MAX + 1, "hole kinds");

const char *gmeta_site_kind_name(u32 kind)
{
    return kind >= GMETA_SITE_KIND_MIN && kind <= GMETA_SITE_KIND_MAX ? site_kind_names[kind] : "?";
}

const char *gmeta_hole_kind_name(u32 kind)
{
    return kind >= GMETA_HOLE_KIND_MIN && kind <= GMETA_HOLE_KIND_MAX ? hole_kind_names[kind] : "?";
}

/* Required length of a hole kind: 0 = any of 1..8; JUMP_LABEL is 2 or 5 (checked apart). */
static u8 hole_fixed_len(u32 kind)
{
    switch (kind) {
    case GMETA_HOLE_ABS64:
        return 8;
    case GMETA_HOLE_ABS32:
    case GMETA_HOLE_ABS32S:
    case GMETA_HOLE_PC32:
        return 4;
    case GMETA_HOLE_FENTRY:
    case GMETA_HOLE_STATIC_CALL:
    case GMETA_HOLE_RETURN_THUNK:
        return 5;
    default:
        return 0;
    }
}

enum charset { CS_MODULE, CS_PRIV, CS_FUNC };

static bool char_ok(enum charset cs, u8 c, bool first)
{
    switch (cs) {
    case CS_MODULE:
        return c >= 0x21 && c <= 0x7e;
    case CS_PRIV:
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    case CS_FUNC:
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '.' || c == '$' ||
               (!first && c >= '0' && c <= '9');
    }
    return false;
}

static const char *charset_desc(enum charset cs)
{
    switch (cs) {
    case CS_MODULE:
        return "printable ASCII without spaces (0x21-0x7e)";
    case CS_PRIV:
        return "[a-z0-9_-]";
    case CS_FUNC:
        return "[A-Za-z0-9_.$], not starting with a digit";
    }
    return "?";
}

/* A NUL-padded string in a fixed field of `size` bytes: 1..size-1 characters of the charset, then
 * NULs to the end of the field. `what` names the field in messages ("module name", "privilege 3"). */
static int check_padded(const u8 *f, u32 size, enum charset cs, const char *what, char *err, size_t errsz)
{
    u32 n = 0;
    while (n < size && f[n])
        n++;
    if (n == 0)
        FAIL("%s is empty", what);
    if (n == size)
        FAIL("%s is not NUL-terminated within its %u-byte field (at most %u characters)", what, size, size - 1);
    for (u32 i = 0; i < n; i++)
        if (!char_ok(cs, f[i], i == 0))
            FAIL("%s has byte 0x%02x at position %u: allowed are %s", what, f[i], i, charset_desc(cs));
    for (u32 i = n; i < size; i++)
        if (f[i])
            FAIL("%s padding byte %u is 0x%02x, must be 0", what, i, f[i]);
    return 0;
}

/* ------------------------------------------------------------------ parser */
struct layout {
    u64 privs, func_offsets, func_pad, strtab, strtab_pad, sites, holes, trailer, total;
};

static void compute_layout(u32 priv_count, u32 func_count, u32 strtab_size, u32 site_count, u32 hole_count,
                           struct layout *l)
{
    l->privs = GMETA_HEADER_SIZE;
    l->func_offsets = l->privs + (u64)priv_count * GMETA_PRIV_SLOT;
    l->func_pad = l->func_offsets + (u64)func_count * 4;
    l->strtab = align8(l->func_pad);
    l->strtab_pad = l->strtab + strtab_size;
    l->sites = align8(l->strtab_pad);
    l->holes = l->sites + (u64)site_count * GMETA_SITE_SIZE;
    l->trailer = l->holes + (u64)hole_count * GMETA_HOLE_SIZE;
    l->total = l->trailer + GMETA_TRAILER_SIZE;
}

static int parse_header(const u8 *buf, u64 len, struct gmeta *m, struct layout *l, char *err, size_t errsz)
{
    if (len < GMETA_MAGIC_LEN)
        FAIL("truncated: %llu bytes, the magic needs %u", ULL(len), GMETA_MAGIC_LEN);
    if (memcmp(buf + H_MAGIC, GMETA_MAGIC, GMETA_MAGIC_LEN) != 0)
        FAIL("bad magic (not a guarded-module metadata file; expected \"%s\")", GMETA_MAGIC);
    if (len < H_VERSION + 2)
        FAIL("truncated: %llu bytes, the version field ends at %u", ULL(len), H_VERSION + 2);
    m->version = rd16(buf + H_VERSION);
    if (m->version != GMETA_VERSION)
        FAIL("unsupported format version %u (this build reads version %u)", m->version, GMETA_VERSION);
    if (len < GMETA_HEADER_SIZE)
        FAIL("truncated: %llu bytes, the version %u header needs %u", ULL(len), GMETA_VERSION, GMETA_HEADER_SIZE);

    u32 header_size = rd16(buf + H_HEADER_SIZE);
    if (header_size != GMETA_HEADER_SIZE)
        FAIL("header_size %u, version %u requires %u", header_size, GMETA_VERSION, GMETA_HEADER_SIZE);
    m->total_size = rd32(buf + H_TOTAL_SIZE);
    if (m->total_size > GMETA_MAX_SIZE)
        FAIL("total_size %u exceeds the limit of %u bytes (1 MiB)", m->total_size, GMETA_MAX_SIZE);
    if (len < m->total_size)
        FAIL("truncated: %llu bytes, header total_size says %u", ULL(len), m->total_size);
    if (len > m->total_size)
        FAIL("trailing garbage: %llu bytes, header total_size says %u", ULL(len), m->total_size);

    u32 flags = rd32(buf + H_FLAGS);
    if (flags)
        FAIL("header flags 0x%x: no flags are defined in version %u", flags, GMETA_VERSION);

    m->text_len = rd32(buf + H_TEXT_LEN);
    if (m->text_len == 0)
        FAIL("text_len is 0");
    if (m->text_len > GMETA_MAX_TEXT_LEN)
        FAIL("text_len 0x%x exceeds the limit of 0x%x", m->text_len, GMETA_MAX_TEXT_LEN);
    if (all_zero(buf + H_TEXT_SHA256, 32))
        FAIL("text_sha256 is all zero (never filled in)");
    memcpy(m->text_sha256, buf + H_TEXT_SHA256, 32);

    if (check_padded(buf + H_NAME, H_NAME_SIZE, CS_MODULE, "module name", err, errsz))
        return -1;
    memcpy(m->name, buf + H_NAME, H_NAME_SIZE);

    m->priv_count = rd32(buf + H_PRIV_COUNT);
    m->func_count = rd32(buf + H_FUNC_COUNT);
    m->site_count = rd32(buf + H_SITE_COUNT);
    m->hole_count = rd32(buf + H_HOLE_COUNT);
    m->strtab_size = rd32(buf + H_STRTAB_SIZE);
    if (m->priv_count > GMETA_MAX_PRIVS)
        FAIL("priv_count %u exceeds the limit of %u", m->priv_count, GMETA_MAX_PRIVS);
    if (m->func_count > GMETA_MAX_FUNCS)
        FAIL("func_count %u exceeds the limit of %u", m->func_count, GMETA_MAX_FUNCS);
    if (m->site_count == 0)
        FAIL("site_count is 0: a guarded module has at least its INIT site");
    if (m->site_count > GMETA_MAX_SITES)
        FAIL("site_count %u exceeds the limit of %u", m->site_count, GMETA_MAX_SITES);
    if (m->hole_count > GMETA_MAX_HOLES)
        FAIL("hole_count %u exceeds the limit of %u", m->hole_count, GMETA_MAX_HOLES);
    if (m->strtab_size > GMETA_MAX_SIZE)
        FAIL("strtab_size %u exceeds the limit of %u bytes", m->strtab_size, GMETA_MAX_SIZE);
    u64 r = first_nonzero(buf + H_RESERVED, H_RESERVED_SIZE);
    if (r < H_RESERVED_SIZE)
        FAIL("header reserved byte %llu (file offset %llu) is 0x%02x, must be 0", ULL(r), ULL(H_RESERVED + r),
             buf[H_RESERVED + r]);

    compute_layout(m->priv_count, m->func_count, m->strtab_size, m->site_count, m->hole_count, l);
    if (l->total != m->total_size)
        FAIL("total_size %u does not match the sections described by the header (%llu bytes)", m->total_size,
             ULL(l->total));
    return 0;
}

static int parse_privs(const u8 *buf, const struct layout *l, struct gmeta *m, char *err, size_t errsz)
{
    char what[24];
    for (u32 i = 0; i < m->priv_count; i++) {
        const u8 *slot = buf + l->privs + (u64)i * GMETA_PRIV_SLOT;
        fmt_snprintf(what, sizeof(what), "privilege %u", i);
        if (check_padded(slot, GMETA_PRIV_SLOT, CS_PRIV, what, err, errsz))
            return -1;
        for (u32 j = 0; j < i; j++)
            if (memcmp(slot, m->privs[j], GMETA_PRIV_SLOT) == 0)
                FAIL("privilege %u \"%s\" repeats privilege %u", i, m->privs[j], j);
        memcpy(m->privs[i], slot, GMETA_PRIV_SLOT);
    }
    return 0;
}

static int parse_funcs(const u8 *buf, const struct layout *l, struct gmeta *m, char *err, size_t errsz)
{
    m->func_offsets = buf + l->func_offsets;
    m->strtab = (const char *)(buf + l->strtab);
    u64 pad = first_nonzero(buf + l->func_pad, l->strtab - l->func_pad);
    if (pad < l->strtab - l->func_pad)
        FAIL("padding after the function offset table (file offset %llu) is 0x%02x, must be 0", ULL(l->func_pad + pad),
             buf[l->func_pad + pad]);

    const u8 *s = buf + l->strtab;
    u32 pos = 0;
    for (u32 i = 0; i < m->func_count; i++) {
        u32 off = rd32(m->func_offsets + (u64)i * 4);
        if (off != pos)
            FAIL("function %u name offset %u, expected %u (names are packed in index order)", i, off, pos);
        u32 n = 0;
        while (pos + n < m->strtab_size && s[pos + n])
            n++;
        if (pos + n == m->strtab_size)
            FAIL("function %u name at strtab offset %u runs past strtab_size %u without a NUL", i, pos, m->strtab_size);
        if (n == 0)
            FAIL("function %u name is empty", i);
        if (n > GMETA_FUNC_NAME_MAX)
            FAIL("function %u name is %u characters, the limit is %u", i, n, GMETA_FUNC_NAME_MAX);
        for (u32 k = 0; k < n; k++)
            if (!char_ok(CS_FUNC, s[pos + k], k == 0))
                FAIL("function %u name has byte 0x%02x at position %u: allowed are %s", i, s[pos + k], k,
                     charset_desc(CS_FUNC));
        pos += n + 1;
    }
    if (pos != m->strtab_size)
        FAIL("strtab_size %u but the %u function names use %u bytes", m->strtab_size, m->func_count, pos);
    pad = first_nonzero(buf + l->strtab_pad, l->sites - l->strtab_pad);
    if (pad < l->sites - l->strtab_pad)
        FAIL("padding after the function names (file offset %llu) is 0x%02x, must be 0", ULL(l->strtab_pad + pad),
             buf[l->strtab_pad + pad]);
    return 0;
}

static int parse_sites(const u8 *buf, const struct layout *l, struct gmeta *m, char *err, size_t errsz)
{
    u32 prev_kind = 0, prev_off = 0;

    m->sites = buf + l->sites;
    for (u32 i = 0; i < m->site_count; i++) {
        const u8 *e = m->sites + (u64)i * GMETA_SITE_SIZE;
        u32 off = rd32(e);
        u32 func = rd16(e + 4);
        u32 kind = e[6];
        if (kind < GMETA_SITE_KIND_MIN || kind > GMETA_SITE_KIND_MAX)
            FAIL("site %u kind %u is unknown (1-%u)", i, kind, GMETA_SITE_KIND_MAX);
        if (e[7])
            FAIL("site %u reserved byte is 0x%02x, must be 0", i, e[7]);
        if (func >= m->func_count)
            FAIL("site %u function index %u beyond func_count %u", i, func, m->func_count);
        if (off >= m->text_len)
            FAIL("site %u offset 0x%x beyond text length 0x%x", i, off, m->text_len);
        if ((u64)off + GMETA_SITE_INSN_LEN > m->text_len)
            FAIL("site %u offset 0x%x: the %u-byte hypercall instruction runs past text length 0x%x", i, off,
                 GMETA_SITE_INSN_LEN, m->text_len);
        if (i > 0) {
            if (kind < prev_kind)
                FAIL("site %u kind %s after %s: sites must be sorted by kind, then offset", i,
                     gmeta_site_kind_name(kind), gmeta_site_kind_name(prev_kind));
            if (kind == prev_kind && off == prev_off)
                FAIL("site %u duplicates the %s site at offset 0x%x", i, gmeta_site_kind_name(kind), off);
            if (kind == prev_kind && off < prev_off)
                FAIL("site %u %s offset 0x%x not sorted (follows 0x%x)", i, gmeta_site_kind_name(kind), off, prev_off);
        }
        if (m->kind_count[kind]++ == 0)
            m->kind_first[kind] = i;
        prev_kind = kind;
        prev_off = off;
    }
    if (m->kind_count[GMETA_SITE_INIT] != 1)
        FAIL("%u INIT sites: exactly one is required", m->kind_count[GMETA_SITE_INIT]);
    if (m->kind_count[GMETA_SITE_DEINIT] > 1)
        FAIL("%u DEINIT sites: at most one is allowed", m->kind_count[GMETA_SITE_DEINIT]);
    m->init_offset = rd32(m->sites + (u64)m->kind_first[GMETA_SITE_INIT] * GMETA_SITE_SIZE);
    m->has_deinit = m->kind_count[GMETA_SITE_DEINIT] == 1;
    if (m->has_deinit)
        m->deinit_offset = rd32(m->sites + (u64)m->kind_first[GMETA_SITE_DEINIT] * GMETA_SITE_SIZE);
    return 0;
}

static int parse_holes(const u8 *buf, const struct layout *l, struct gmeta *m, char *err, size_t errsz)
{
    u64 prev_end = 0;

    m->holes = buf + l->holes;
    for (u32 i = 0; i < m->hole_count; i++) {
        const u8 *e = m->holes + (u64)i * GMETA_HOLE_SIZE;
        u32 off = rd32(e);
        u32 hlen = e[4], kind = e[5];
        if (kind < GMETA_HOLE_KIND_MIN || kind > GMETA_HOLE_KIND_MAX)
            FAIL("hole %u kind %u is unknown (1-%u)", i, kind, GMETA_HOLE_KIND_MAX);
        if (rd16(e + 6))
            FAIL("hole %u reserved bytes are 0x%04x, must be 0", i, rd16(e + 6));
        if (hlen == 0 || hlen > GMETA_HOLE_MAX_LEN)
            FAIL("hole %u length %u out of range 1-%u", i, hlen, GMETA_HOLE_MAX_LEN);
        u8 want = hole_fixed_len(kind);
        if (want && hlen != want)
            FAIL("hole %u %s length %u, must be %u", i, gmeta_hole_kind_name(kind), hlen, want);
        if (kind == GMETA_HOLE_JUMP_LABEL && hlen != 2 && hlen != 5)
            FAIL("hole %u JUMP_LABEL length %u, must be 2 or 5", i, hlen);
        if (off >= m->text_len)
            FAIL("hole %u offset 0x%x beyond text length 0x%x", i, off, m->text_len);
        if ((u64)off + hlen > m->text_len)
            FAIL("hole %u offset 0x%x length %u runs past text length 0x%x", i, off, hlen, m->text_len);
        if (i > 0 && off < prev_end) {
            u32 prev_off = rd32(e - GMETA_HOLE_SIZE);
            if (off <= prev_off)
                FAIL("hole %u offset 0x%x not sorted (follows 0x%x)", i, off, prev_off);
            FAIL("hole %u at 0x%x overlaps hole %u (0x%x-0x%llx)", i, off, i - 1, prev_off, ULL(prev_end - 1));
        }
        prev_end = (u64)off + hlen;
    }
    return 0;
}

/* Across kinds: every site is one 3-byte instruction, so no two sites of any kinds may overlap, and
 * no site may overlap a hole (the verifier must see the hypercall bytes exactly). A merge of the
 * per-kind sorted runs visits the sites in offset order in O(sites * kinds). */
static int check_cross(struct gmeta *m, char *err, size_t errsz)
{
    u32 cur[GMETA_SITE_KIND_MAX + 1], end[GMETA_SITE_KIND_MAX + 1];
    u32 h = 0;
    bool have_prev = false;
    u32 prev_i = 0, prev_off = 0;

    for (u32 k = GMETA_SITE_KIND_MIN; k <= GMETA_SITE_KIND_MAX; k++) {
        cur[k] = m->kind_first[k];
        end[k] = m->kind_first[k] + m->kind_count[k];
    }
    for (;;) {
        u32 best = 0, best_off = 0;
        for (u32 k = GMETA_SITE_KIND_MIN; k <= GMETA_SITE_KIND_MAX; k++) {
            if (cur[k] == end[k])
                continue;
            u32 off = rd32(m->sites + (u64)cur[k] * GMETA_SITE_SIZE);
            if (!best || off < best_off) {
                best = k;
                best_off = off;
            }
        }
        if (!best)
            break;
        u32 i = cur[best]++;
        if (have_prev && best_off < prev_off + GMETA_SITE_INSN_LEN) {
            u32 pk = m->sites[(u64)prev_i * GMETA_SITE_SIZE + 6];
            if (best_off == prev_off)
                FAIL("site %u (%s) and site %u (%s) share offset 0x%x", prev_i, gmeta_site_kind_name(pk), i,
                     gmeta_site_kind_name(best), best_off);
            FAIL("site %u (%s at 0x%x) overlaps site %u (%s at 0x%x)", i, gmeta_site_kind_name(best), best_off, prev_i,
                 gmeta_site_kind_name(pk), prev_off);
        }
        while (h < m->hole_count) {
            const u8 *e = m->holes + (u64)h * GMETA_HOLE_SIZE;
            if ((u64)rd32(e) + e[4] > best_off)
                break;
            h++;
        }
        if (h < m->hole_count) {
            const u8 *e = m->holes + (u64)h * GMETA_HOLE_SIZE;
            if (rd32(e) < (u64)best_off + GMETA_SITE_INSN_LEN)
                FAIL("site %u (%s at 0x%x) overlaps hole %u (%s at 0x%x, length %u)", i, gmeta_site_kind_name(best),
                     best_off, h, gmeta_hole_kind_name(e[5]), rd32(e), e[4]);
        }
        have_prev = true;
        prev_i = i;
        prev_off = best_off;
    }
    return 0;
}

static int parse_trailer(const u8 *buf, const struct layout *l, struct gmeta *m, char *err, size_t errsz)
{
    const u8 *t = buf + l->trailer;

    if (memcmp(t + T_MAGIC, GMETA_TRAILER_MAGIC, 8) != 0)
        FAIL("bad trailer magic at file offset %llu (expected \"%s\")", ULL(l->trailer), GMETA_TRAILER_MAGIC);
    m->sig_alg = rd16(t + T_SIG_ALG);
    m->sig_flags = rd16(t + T_SIG_FLAGS);
    if (rd32(t + T_RESERVED))
        FAIL("trailer reserved field is 0x%x, must be 0", rd32(t + T_RESERVED));
    if (m->sig_flags & ~GMETA_SIGF_UNSIGNED)
        FAIL("trailer sig_flags 0x%x: only 0x%x (unsigned) is defined", m->sig_flags, GMETA_SIGF_UNSIGNED);
    memcpy(m->key_id, t + T_KEY_ID, GMETA_KEY_ID_LEN);
    m->signature = t + T_SIG;
    m->signed_len = (u32)l->trailer;

    switch (m->sig_alg) {
    case GMETA_SIG_NONE:
        if (!(m->sig_flags & GMETA_SIGF_UNSIGNED))
            FAIL("trailer sig_alg 0 (none) without the unsigned flag");
        if (!all_zero(m->key_id, GMETA_KEY_ID_LEN))
            FAIL("unsigned file has a non-zero key_id");
        if (!all_zero(m->signature, GMETA_SIG_LEN))
            FAIL("unsigned file has a non-zero signature field");
        break;
    case GMETA_SIG_ECDSA_P256:
        if (m->sig_flags & GMETA_SIGF_UNSIGNED)
            FAIL("trailer sig_alg 1 (ECDSA P-256) with the unsigned flag set");
        if (all_zero(m->key_id, GMETA_KEY_ID_LEN))
            FAIL("signed file has an all-zero key_id");
        if (all_zero(m->signature, 32))
            FAIL("signature r is zero");
        if (all_zero(m->signature + 32, 32))
            FAIL("signature s is zero");
        break;
    default:
        FAIL("trailer sig_alg %u is unknown (0 none, 1 ECDSA P-256)", m->sig_alg);
    }
    return 0;
}

int gmeta_parse(const u8 *buf, u64 len, struct gmeta *out, char *err, size_t errsz)
{
    struct gmeta m;
    struct layout l = { 0 };

    if (!buf || !out)
        FAIL("no buffer");
    memset(&m, 0, sizeof(m));
    if (parse_header(buf, len, &m, &l, err, errsz) || parse_privs(buf, &l, &m, err, errsz) ||
        parse_funcs(buf, &l, &m, err, errsz) || parse_sites(buf, &l, &m, err, errsz) ||
        parse_holes(buf, &l, &m, err, errsz) || check_cross(&m, err, errsz) || parse_trailer(buf, &l, &m, err, errsz))
        return -1;
    *out = m;
    return 0;
}

/* ------------------------------------------------------------------ writer */
/* Checks what the encoder itself relies on (counts, string lengths, NULL pointers) and computes the
 * layout; everything else is left to gmeta_parse() on the encoded bytes. */
static int measure(const struct gmeta_builder *b, struct layout *l, char *err, size_t errsz)
{
    u64 strtab = 0;

    if (!b || !b->name)
        FAIL("builder: no module name");
    if (b->priv_count > GMETA_MAX_PRIVS)
        FAIL("priv_count %u exceeds the limit of %u", b->priv_count, GMETA_MAX_PRIVS);
    if (b->func_count > GMETA_MAX_FUNCS)
        FAIL("func_count %u exceeds the limit of %u", b->func_count, GMETA_MAX_FUNCS);
    if (b->site_count > GMETA_MAX_SITES)
        FAIL("site_count %u exceeds the limit of %u", b->site_count, GMETA_MAX_SITES);
    if (b->hole_count > GMETA_MAX_HOLES)
        FAIL("hole_count %u exceeds the limit of %u", b->hole_count, GMETA_MAX_HOLES);
    if ((b->priv_count && !b->privs) || (b->func_count && !b->funcs) || (b->site_count && !b->sites) ||
        (b->hole_count && !b->holes))
        FAIL("builder: a table with a non-zero count has no pointer");
    if (strnlen(b->name, GMETA_NAME_MAX + 1) > GMETA_NAME_MAX)
        FAIL("module name is longer than %u characters", GMETA_NAME_MAX);
    for (u32 i = 0; i < b->priv_count; i++) {
        if (!b->privs[i])
            FAIL("builder: privilege %u is NULL", i);
        if (strnlen(b->privs[i], GMETA_PRIV_SLOT) > GMETA_PRIV_NAME_MAX)
            FAIL("privilege %u is longer than %u characters", i, GMETA_PRIV_NAME_MAX);
    }
    for (u32 i = 0; i < b->func_count; i++) {
        if (!b->funcs[i])
            FAIL("builder: function %u is NULL", i);
        size_t n = strnlen(b->funcs[i], GMETA_FUNC_NAME_MAX + 1);
        if (n > GMETA_FUNC_NAME_MAX)
            FAIL("function %u name is longer than %u characters", i, GMETA_FUNC_NAME_MAX);
        strtab += n + 1;
    }
    compute_layout(b->priv_count, b->func_count, (u32)strtab, b->site_count, b->hole_count, l);
    if (l->total > GMETA_MAX_SIZE)
        FAIL("the file would be %llu bytes, over the limit of %u (1 MiB)", ULL(l->total), GMETA_MAX_SIZE);
    return 0;
}

u64 gmeta_size(const struct gmeta_builder *b)
{
    struct layout l = { 0 };
    return measure(b, &l, NULL, 0) ? 0 : l.total;
}

int gmeta_write(const struct gmeta_builder *b, u8 *buf, u64 cap, u64 *len, char *err, size_t errsz)
{
    struct layout l = { 0 };
    struct gmeta m;

    if (len)
        *len = 0;
    if (!buf || !len)
        FAIL("builder: no output buffer");
    if (measure(b, &l, err, errsz))
        return -1;
    if (cap < l.total)
        FAIL("output buffer of %llu bytes is too small for %llu", ULL(cap), ULL(l.total));

    memset(buf, 0, l.total);
    memcpy(buf + H_MAGIC, GMETA_MAGIC, GMETA_MAGIC_LEN);
    wr16(buf + H_VERSION, GMETA_VERSION);
    wr16(buf + H_HEADER_SIZE, GMETA_HEADER_SIZE);
    wr32(buf + H_TOTAL_SIZE, (u32)l.total);
    wr32(buf + H_TEXT_LEN, b->text_len);
    memcpy(buf + H_TEXT_SHA256, b->text_sha256, 32);
    memcpy(buf + H_NAME, b->name, strlen(b->name));
    wr32(buf + H_PRIV_COUNT, b->priv_count);
    wr32(buf + H_FUNC_COUNT, b->func_count);
    wr32(buf + H_SITE_COUNT, b->site_count);
    wr32(buf + H_HOLE_COUNT, b->hole_count);
    wr32(buf + H_STRTAB_SIZE, (u32)(l.strtab_pad - l.strtab));

    for (u32 i = 0; i < b->priv_count; i++)
        memcpy(buf + l.privs + (u64)i * GMETA_PRIV_SLOT, b->privs[i], strlen(b->privs[i]));
    u32 pos = 0;
    for (u32 i = 0; i < b->func_count; i++) {
        size_t n = strlen(b->funcs[i]);
        wr32(buf + l.func_offsets + (u64)i * 4, pos);
        memcpy(buf + l.strtab + pos, b->funcs[i], n);
        pos += (u32)n + 1;
    }
    for (u32 i = 0; i < b->site_count; i++) {
        u8 *e = buf + l.sites + (u64)i * GMETA_SITE_SIZE;
        wr32(e, b->sites[i].offset);
        wr16(e + 4, b->sites[i].func);
        e[6] = b->sites[i].kind;
    }
    for (u32 i = 0; i < b->hole_count; i++) {
        u8 *e = buf + l.holes + (u64)i * GMETA_HOLE_SIZE;
        wr32(e, b->holes[i].offset);
        e[4] = b->holes[i].len;
        e[5] = b->holes[i].kind;
    }
    u8 *t = buf + l.trailer;
    memcpy(t + T_MAGIC, GMETA_TRAILER_MAGIC, 8);
    wr16(t + T_SIG_ALG, b->sig_alg);
    if (b->sig_alg == GMETA_SIG_NONE) {
        wr16(t + T_SIG_FLAGS, GMETA_SIGF_UNSIGNED);
    } else {
        memcpy(t + T_KEY_ID, b->key_id, GMETA_KEY_ID_LEN);
        memcpy(t + T_SIG, b->signature, GMETA_SIG_LEN);
    }

    if (gmeta_parse(buf, l.total, &m, err, errsz))
        return -1;
    *len = l.total;
    return 0;
}

int gmeta_set_signature(u8 *buf, u64 len, const u8 key_id[GMETA_KEY_ID_LEN], const u8 sig[GMETA_SIG_LEN], char *err,
                        size_t errsz)
{
    struct gmeta m;
    u8 saved[GMETA_TRAILER_SIZE];

    if (!key_id || !sig)
        FAIL("no key_id or signature");
    if (gmeta_parse(buf, len, &m, err, errsz))
        return -1;
    u8 *t = buf + m.signed_len;
    memcpy(saved, t, GMETA_TRAILER_SIZE);
    wr16(t + T_SIG_ALG, GMETA_SIG_ECDSA_P256);
    wr16(t + T_SIG_FLAGS, 0);
    memcpy(t + T_KEY_ID, key_id, GMETA_KEY_ID_LEN);
    memcpy(t + T_SIG, sig, GMETA_SIG_LEN);
    if (gmeta_parse(buf, len, &m, err, errsz)) {
        memcpy(t, saved, GMETA_TRAILER_SIZE);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ lookups */
void gmeta_site_at(const struct gmeta *m, u32 i, struct gmeta_site *out)
{
    const u8 *e = m->sites + (u64)i * GMETA_SITE_SIZE;
    out->offset = rd32(e);
    out->func = rd16(e + 4);
    out->kind = e[6];
}

void gmeta_hole_at(const struct gmeta *m, u32 i, struct gmeta_hole *out)
{
    const u8 *e = m->holes + (u64)i * GMETA_HOLE_SIZE;
    out->offset = rd32(e);
    out->len = e[4];
    out->kind = e[5];
}

u32 gmeta_sites_of_kind(const struct gmeta *m, u32 kind, u32 *first)
{
    if (kind < GMETA_SITE_KIND_MIN || kind > GMETA_SITE_KIND_MAX) {
        if (first)
            *first = 0;
        return 0;
    }
    if (first)
        *first = m->kind_first[kind];
    return m->kind_count[kind];
}

s64 gmeta_find_site(const struct gmeta *m, u32 kind, u32 offset)
{
    u32 first, n = gmeta_sites_of_kind(m, kind, &first);
    u32 lo = first, hi = first + n; /* [lo, hi) */

    while (lo < hi) {
        u32 mid = lo + (hi - lo) / 2;
        u32 off = rd32(m->sites + (u64)mid * GMETA_SITE_SIZE);
        if (off == offset)
            return mid;
        if (off < offset)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

const char *gmeta_func_name(const struct gmeta *m, u32 idx)
{
    if (idx >= m->func_count)
        return "?";
    return m->strtab + rd32(m->func_offsets + (u64)idx * 4);
}
