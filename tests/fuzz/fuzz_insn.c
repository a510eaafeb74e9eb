/* FUZZ-SOURCES: hv/core/insn_decode.c */
/*
 * libFuzzer harness for the MMIO instruction decoder (hv/core/insn_decode.c): insn_decode_mmio() on
 * arbitrary bytes in each of the three modes, then insn_mmio_write_value() and
 * insn_mmio_complete_read() on the result.
 *
 * INPUT: bytes 0..15 (or fewer) are the instruction bytes, given to the decoder in an exact-size
 * heap buffer (ASan catches any read past avail). Bytes 16..23, when present, are the value the
 * device returns for a read; the rest (or a hash of the input) seeds the 16 registers.
 *
 * INVARIANTS (abort() on violation), per mode:
 *   - the return value is 0 or -1; on -1 `why` is one of the decoder's static reasons (non-empty),
 *     *out is untouched, and a NULL why is accepted;
 *   - on success: 1 <= len <= 15 and len <= avail; size in {1,2,4,8} (8 only in 64-bit mode);
 *     reg < 16 (< 8 outside 64-bit mode); has_imm only for writes, imm within size; reads have
 *     dest_size in {1,2,4,8} and >= size, writes dest_size 0; sign_extend only for a widening read;
 *     high_byte only with size 1, reg 0..3, no immediate;
 *   - the result (verdict, reason, every field) equals an independent reference decoder's, written
 *     in the harness from the documented forms (so a wrong length, size or register is caught);
 *   - deterministic: a second decode gives the same result;
 *   - prefix-closed: every shorter avail (0..len-1) fails with "truncated"; more trailing bytes
 *     (any content, avail up to 64) give the same result; a failure other than "truncated" stays
 *     the same failure with more bytes;
 *   - insn_mmio_write_value: never changes a register, returns a value within size, equal to the
 *     immediate or the named register (bits 15:8 for AH..BH);
 *   - insn_mmio_complete_read: a write changes no register; a read changes only the named one, and
 *     that one as the CPU would (8/16-bit destinations merge, 32-bit ones zero-extend to 64, MOVZX
 *     zero-extends, MOVSX sign-extends); the device value's bits above size never leak in.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/insn_decode.h"

#define CHECK(c)                                                                                                       \
    do {                                                                                                               \
        if (!(c)) {                                                                                                    \
            fprintf(stderr, "fuzz_insn: invariant violated: %s (line %d, mode %d)\n", #c, __LINE__, cur_mode);         \
            abort();                                                                                                   \
        }                                                                                                              \
    } while (0)

static int cur_mode;

static const char *const REASONS[] = {
    "truncated",  "longer than 15 bytes", "lock prefix",
    "rep prefix", "unknown opcode",       "register operand, not a memory access",
};

/* ---------------------------------------------------------------- a reference decoder
 * Written separately from hv/core/insn_decode.c, from the forms its header documents (SDM vol. 2
 * chapter 2 tables 2-1/2-2 for the ModRM/SIB lengths), fetching each field whole: a field that would
 * end past byte 15 is "longer than 15 bytes", past avail "truncated". */
struct ref {
    const u8 *b;
    size_t avail, i;
    const char *why;
};

static bool fetch(struct ref *r, size_t n, u64 *v)
{
    if (r->i + n > INSN_MAX_LEN)
        return r->why = "longer than 15 bytes", false;
    if (r->i + n > r->avail)
        return r->why = "truncated", false;
    u64 x = 0;
    for (size_t k = n; k-- > 0;)
        x = x << 8 | r->b[r->i + k];
    r->i += n;
    if (v)
        *v = x;
    return true;
}

/* Displacement bytes after ModRM (and SIB) by [mod][rm], 16-bit and 32/64-bit addressing. */
static const u8 DISP16[3][8] = { { 0, 0, 0, 0, 0, 0, 2, 0 }, { 1, 1, 1, 1, 1, 1, 1, 1 }, { 2, 2, 2, 2, 2, 2, 2, 2 } };
static const u8 DISP32[3][8] = { { 0, 0, 0, 0, 0, 4, 0, 0 }, { 1, 1, 1, 1, 1, 1, 1, 1 }, { 4, 4, 4, 4, 4, 4, 4, 4 } };

static bool ref_modrm(struct ref *r, unsigned asz, unsigned *regf)
{
    u64 m, sib;
    if (!fetch(r, 1, &m))
        return false;
    unsigned mod = (unsigned)m >> 6, rm = m & 7;
    *regf = (m >> 3) & 7;
    if (mod == 3)
        return r->why = "register operand, not a memory access", false;
    size_t disp = asz == 2 ? DISP16[mod][rm] : DISP32[mod][rm];
    if (asz != 2 && rm == 4) {
        if (!fetch(r, 1, &sib))
            return false;
        if (mod == 0 && (sib & 7) == 5)
            disp = 4;
    }
    return fetch(r, disp, NULL);
}

static int ref_decode(const u8 *b, size_t avail, enum insn_mode mode, struct mmio_insn *o, const char **why)
{
    struct ref r = { b, avail, 0, NULL };
    int rex = -1; /* the REX byte in force, if any */
    bool p66 = false, p67 = false;
    u64 c;
    memset(o, 0, sizeof(*o));
    for (;;) {
        if (!fetch(&r, 1, &c))
            return *why = r.why, -1;
        if (mode == INSN_MODE_64 && (c & 0xf0) == 0x40) {
            rex = (int)(c & 0xf);
            continue;
        }
        if (c == 0xf0)
            return *why = "lock prefix", -1;
        if (c == 0xf2 || c == 0xf3)
            return *why = "rep prefix", -1;
        if (c == 0x66)
            p66 = true;
        else if (c == 0x67)
            p67 = true;
        else if (!(c == 0x26 || c == 0x2e || c == 0x36 || c == 0x3e || c == 0x64 || c == 0x65))
            break;
        rex = -1; /* a legacy prefix after REX: REX ignored */
    }
    unsigned osz = (mode == INSN_MODE_16) != p66 ? 2 : 4;
    unsigned asz = mode == INSN_MODE_64 ? (p67 ? 4 : 8) : mode == INSN_MODE_32 ? (p67 ? 2 : 4) : (p67 ? 4 : 2);
    bool w = rex >= 0 && (rex & 8), rr = rex >= 0 && (rex & 4);
    if (w)
        osz = 8;
    unsigned regf;
    if (c == 0x0f) {
        if (!fetch(&r, 1, &c))
            return *why = r.why, -1;
        if (c != 0xb6 && c != 0xb7 && c != 0xbe && c != 0xbf)
            return *why = "unknown opcode", -1;
        if (!ref_modrm(&r, asz, &regf))
            return *why = r.why, -1;
        o->size = (c == 0xb7 || c == 0xbf) ? 2 : 1;
        o->dest_size = (u8)osz;
        o->sign_extend = c >= 0xbe;
        o->reg = (u8)(regf + (rr ? 8 : 0));
    } else if (c >= 0x88 && c <= 0x8b) {
        if (!ref_modrm(&r, asz, &regf))
            return *why = r.why, -1;
        o->size = (c & 1) ? (u8)osz : 1;
        o->write = c < 0x8a;
        o->dest_size = o->write ? 0 : o->size;
        o->reg = (u8)(regf + (rr ? 8 : 0));
        if (o->size == 1 && rex < 0 && o->reg >= 4 && o->reg <= 7)
            o->high_byte = true, o->reg -= 4;
    } else if (c == 0xc6 || c == 0xc7) {
        if (!ref_modrm(&r, asz, &regf))
            return *why = r.why, -1;
        if (regf != 0)
            return *why = "unknown opcode", -1;
        o->size = c == 0xc6 ? 1 : (u8)osz;
        o->write = o->has_imm = true;
        if (!fetch(&r, o->size == 8 ? 4 : o->size, &o->imm))
            return *why = r.why, -1;
        if (o->size == 8 && (o->imm & 0x80000000u))
            o->imm |= 0xffffffff00000000ull;
    } else if (c >= 0xa0 && c <= 0xa3) {
        if (!fetch(&r, asz, NULL))
            return *why = r.why, -1;
        o->size = (c & 1) ? (u8)osz : 1;
        o->write = c >= 0xa2;
        o->dest_size = o->write ? 0 : o->size;
    } else {
        return *why = "unknown opcode", -1;
    }
    o->len = (u8)r.i;
    return 0;
}

static bool same(const struct mmio_insn *a, const struct mmio_insn *b)
{
    return a->len == b->len && a->size == b->size && a->write == b->write && a->has_imm == b->has_imm &&
           a->imm == b->imm && a->reg == b->reg && a->high_byte == b->high_byte && a->dest_size == b->dest_size &&
           a->sign_extend == b->sign_extend;
}

static u64 mask_of(unsigned size) { return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1; }

static u64 splitmix(u64 *s)
{
    u64 z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Decode bytes[0..avail) (copied to an exact-size heap buffer). */
static int decode(const u8 *bytes, size_t avail, enum insn_mode mode, struct mmio_insn *out, const char **why)
{
    u8 *buf = malloc(avail ? avail : 1);
    CHECK(buf != NULL);
    memcpy(buf, bytes, avail);
    struct mmio_insn sentinel;
    memset(out, 0x5a, sizeof(*out));
    memcpy(&sentinel, out, sizeof(sentinel));
    *why = NULL;
    int rc = insn_decode_mmio(avail ? buf : buf + 1, avail, mode, out, why); /* avail 0: a pointer it may not read */
    free(buf);
    CHECK(rc == 0 || rc == -1);
    if (rc != 0) {
        CHECK(*why != NULL && (*why)[0] != 0);
        bool known = false;
        for (size_t i = 0; i < sizeof(REASONS) / sizeof(REASONS[0]); i++)
            known |= *why == REASONS[i] || strcmp(*why, REASONS[i]) == 0;
        if (!known)
            fprintf(stderr, "fuzz_insn: undocumented reason \"%s\"\n", *why);
        CHECK(known);
        CHECK(memcmp(out, &sentinel, sizeof(sentinel)) == 0); /* untouched on failure */
    }
    return rc;
}

static void check_fields(const struct mmio_insn *in, size_t avail, enum insn_mode mode)
{
    CHECK(in->len >= 1 && in->len <= INSN_MAX_LEN && in->len <= avail);
    CHECK(in->size == 1 || in->size == 2 || in->size == 4 || in->size == 8);
    CHECK(in->reg < 16);
    if (mode != INSN_MODE_64) {
        CHECK(in->size <= 4);
        CHECK(in->reg < 8);
        CHECK(in->dest_size <= 4);
    }
    if (in->has_imm) {
        CHECK(in->write);
        if (in->size < 8)
            CHECK((in->imm & ~mask_of(in->size)) == 0);
        else
            CHECK(in->imm == (u64)(s64)(s32)(u32)in->imm); /* imm32 sign-extended */
        CHECK(!in->high_byte);
    }
    if (in->write) {
        CHECK(in->dest_size == 0);
        CHECK(!in->sign_extend);
    } else {
        CHECK(!in->has_imm);
        CHECK(in->dest_size == 1 || in->dest_size == 2 || in->dest_size == 4 || in->dest_size == 8);
        CHECK(in->dest_size >= in->size);
        if (in->sign_extend)
            CHECK(in->size < 8 && in->size <= 2);
    }
    if (in->high_byte)
        CHECK(in->size == 1 && in->reg < 4 && (in->write || in->dest_size == 1));
}

static void check_semantics(const struct mmio_insn *in, const u64 regs0[16], u64 value)
{
    u64 regs[16];

    /* write value: never touches a register, within size */
    memcpy(regs, regs0, sizeof(regs));
    u64 w = insn_mmio_write_value(in, regs);
    CHECK(memcmp(regs, regs0, sizeof(regs)) == 0);
    CHECK((w & ~mask_of(in->size)) == 0);
    if (in->has_imm)
        CHECK(w == (in->imm & mask_of(in->size)));
    else
        CHECK(w == ((regs0[in->reg] >> (in->high_byte ? 8 : 0)) & mask_of(in->size)));

    /* complete read */
    memcpy(regs, regs0, sizeof(regs));
    insn_mmio_complete_read(in, regs, value);
    if (in->write) {
        CHECK(memcmp(regs, regs0, sizeof(regs)) == 0);
        return;
    }
    for (unsigned r = 0; r < 16; r++)
        if (r != in->reg)
            CHECK(regs[r] == regs0[r]);
    u64 v = value & mask_of(in->size);
    if (in->sign_extend && (v >> (8 * in->size - 1)) & 1)
        v |= ~mask_of(in->size);
    u64 old = regs0[in->reg], now = regs[in->reg];
    switch (in->dest_size) {
    case 1:
        if (in->high_byte)
            CHECK(now == ((old & ~0xff00ull) | ((v & 0xff) << 8)));
        else
            CHECK(now == ((old & ~0xffull) | (v & 0xff)));
        break;
    case 2:
        CHECK(now == ((old & ~0xffffull) | (v & 0xffff)));
        break;
    case 4:
        CHECK(now == (v & 0xffffffffull));
        break;
    default:
        CHECK(now == v);
        break;
    }
    /* the device value's bits above size never matter */
    u64 regs2[16];
    memcpy(regs2, regs0, sizeof(regs2));
    insn_mmio_complete_read(in, regs2, value & mask_of(in->size));
    CHECK(memcmp(regs, regs2, sizeof(regs)) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t n = size < 16 ? size : 16;
    u64 value = 0, regs[16], seed = 0xcbf29ce484222325ull;

    for (size_t i = 0; i < size; i++)
        seed = (seed ^ data[i]) * 0x100000001b3ull;
    if (size > 16)
        memcpy(&value, data + 16, size - 16 < 8 ? size - 16 : 8);
    else
        value = splitmix(&seed);
    for (int r = 0; r < 16; r++)
        regs[r] = splitmix(&seed);
    if (size > 24) /* the fuzzer's own register bytes, cyclically */
        for (int r = 0; r < 16; r++)
            for (int k = 0; k < 8; k++)
                ((u8 *)&regs[r])[k] ^= data[24 + (size_t)(r * 8 + k) % (size - 24)];

    u8 longer[64];
    for (size_t i = 0; i < sizeof(longer); i++)
        longer[i] = (u8)splitmix(&seed);

    for (int m = 0; m < 3; m++) {
        enum insn_mode mode = m == 0 ? INSN_MODE_64 : m == 1 ? INSN_MODE_32 : INSN_MODE_16;
        struct mmio_insn in, again;
        const char *why, *why2;
        cur_mode = m;

        int rc = decode(data, n, mode, &in, &why);
        struct mmio_insn ref;
        const char *rwhy = NULL;
        int rrc = ref_decode(data, n, mode, &ref, &rwhy);
        if (rrc != rc || (rc == 0 && !same(&in, &ref)) || (rc != 0 && strcmp(why, rwhy) != 0))
            fprintf(stderr, "fuzz_insn: decoder %d (%s) len %u, reference %d (%s) len %u\n", rc, rc ? why : "ok",
                    rc ? 0 : in.len, rrc, rrc ? rwhy : "ok", rrc ? 0 : ref.len);
        CHECK(rrc == rc);
        if (rc == 0)
            CHECK(same(&in, &ref));
        else
            CHECK(strcmp(why, rwhy) == 0);
        CHECK(decode(data, n, mode, &again, &why2) == rc); /* deterministic */
        if (rc == 0)
            CHECK(same(&in, &again));
        else
            CHECK(why2 == why);
        /* NULL why is fine */
        u8 *b = malloc(n ? n : 1);
        CHECK(b != NULL);
        memcpy(b, data, n);
        CHECK(insn_decode_mmio(b, n, mode, &again, NULL) == rc);
        free(b);

        /* the same bytes followed by more (any content, up to 64 bytes in all) */
        memcpy(longer, data, n);
        for (size_t extra = n + 1; extra <= sizeof(longer); extra += extra < 20 ? 1 : 11) {
            struct mmio_insn l;
            const char *lwhy;
            int lrc = decode(longer, extra, mode, &l, &lwhy);
            if (rc == 0) {
                CHECK(lrc == 0 && same(&l, &in));
            } else if (strcmp(why, "truncated") != 0) {
                CHECK(lrc == -1 && lwhy == why);
            }
        }

        if (rc != 0)
            continue;
        check_fields(&in, n, mode);
        for (size_t k = 0; k < in.len; k++) {
            struct mmio_insn s;
            const char *swhy;
            CHECK(decode(data, k, mode, &s, &swhy) == -1);
            CHECK(strcmp(swhy, "truncated") == 0);
        }
        check_semantics(&in, regs, value);
    }
    /* out-of-range mode and NULL arguments are refused, not crashed on */
    struct mmio_insn x;
    const char *why = NULL;
    CHECK(insn_decode_mmio(data, n, (enum insn_mode)3, &x, &why) == -1 && why && why[0]);
    CHECK(insn_decode_mmio(NULL, n, INSN_MODE_64, &x, &why) == -1 && why && why[0]);
    CHECK(insn_decode_mmio(data, n, INSN_MODE_64, NULL, &why) == -1 && why && why[0]);
    return 0;
}
