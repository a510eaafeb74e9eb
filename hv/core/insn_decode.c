/*
 * The MMIO instruction decoder (hv/core/insn_decode.h). One pass over at most 15 bytes:
 *
 *   legacy prefixes   66 67 26 2E 36 3E 64 65 accepted; F0 (LOCK), F2/F3 (REP) refused
 *   REX (64-bit mode) 40-4F; honoured only when it is the last byte before the opcode — a
 *                     legacy prefix after it makes the CPU ignore it (SDM vol. 2 §2.2.1), and of
 *                     several REX bytes in a row only the last counts
 *   opcode            88 89 8A 8B C6/0 C7/0 0F B6 0F B7 0F BE 0F BF A0-A3
 *   ModRM/SIB/disp    32/64-bit forms (SIB, disp8, disp32, RIP-relative or absolute disp32 at
 *                     mod=0 rm=5, SIB base=5 with mod=0) and the 16-bit forms (disp16 at mod=0
 *                     rm=6); register-direct mod=3 refused, the access would not touch memory
 *   immediate         C6 imm8; C7 imm16 with a 16-bit operand, else imm32 (sign-extended for
 *                     REX.W)
 *
 * Operand size: 32 by default in 64- and 32-bit mode, 16 in 16-bit mode; 66 toggles 32<->16;
 * REX.W makes it 64 whatever 66 says. Address size: 64 in 64-bit mode (67 → 32), 32 in 32-bit
 * mode (67 → 16), 16 in 16-bit mode (67 → 32); it only decides the ModRM layout and the moffs
 * width, i.e. the length.
 *
 * Segment overrides are accepted and otherwise ignored: the nested page fault already names the
 * guest-physical address, the decoder only has to find length, direction, size and register.
 */
#include "core/insn_decode.h"
#include "lib/lib.h"

#define REX_W 0x8
#define REX_R 0x4
#define REX_X 0x2
#define REX_B 0x1

struct cursor {
    const u8 *bytes;
    size_t avail;
    size_t pos;
    const char *why;
};

/* Make n more bytes available at the cursor, or say why not. */
static bool need(struct cursor *c, size_t n)
{
    if (c->pos + n > INSN_MAX_LEN) {
        c->why = "longer than 15 bytes";
        return false;
    }
    if (c->pos + n > c->avail) {
        c->why = "truncated";
        return false;
    }
    return true;
}

static bool take(struct cursor *c, size_t n, u64 *value)
{
    if (!need(c, n))
        return false;
    u64 v = 0;
    for (size_t i = 0; i < n; i++)
        v |= (u64)c->bytes[c->pos + i] << (8 * i);
    c->pos += n;
    if (value)
        *value = v;
    return true;
}

static u64 size_mask(unsigned size) { return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1; }

/* Skip the ModRM byte's memory operand (SIB, displacement). Returns the ModRM byte's reg field
 * (3 bits, not extended) in *reg_field. */
static bool skip_modrm(struct cursor *c, unsigned addr_size, u8 *reg_field)
{
    u64 modrm;
    if (!take(c, 1, &modrm))
        return false;
    unsigned mod = (modrm >> 6) & 3, rm = modrm & 7;
    *reg_field = (modrm >> 3) & 7;
    if (mod == 3) {
        c->why = "register operand, not a memory access";
        return false;
    }
    size_t disp;
    if (addr_size == 2) {
        /* [bx+si] ... [bx]; mod=0 rm=6 is a bare disp16. No SIB. */
        disp = mod == 1 ? 1 : mod == 2 || rm == 6 ? 2 : 0;
    } else {
        disp = mod == 1 ? 1 : mod == 2 ? 4 : 0;
        if (rm == 4) {
            u64 sib;
            if (!take(c, 1, &sib))
                return false;
            if (mod == 0 && (sib & 7) == 5)
                disp = 4; /* no base, disp32 */
        } else if (mod == 0 && rm == 5) {
            disp = 4; /* RIP-relative in 64-bit mode, absolute disp32 otherwise */
        }
    }
    return take(c, disp, NULL);
}

static int refuse(const char **why, const char *reason)
{
    if (why)
        *why = reason;
    return -1;
}

int insn_decode_mmio(const u8 *bytes, size_t avail, enum insn_mode mode, struct mmio_insn *out, const char **why)
{
    if (!bytes || !out)
        return refuse(why, "no instruction");
    if (mode != INSN_MODE_64 && mode != INSN_MODE_32 && mode != INSN_MODE_16)
        return refuse(why, "bad mode");

    struct cursor c = { .bytes = bytes, .avail = avail, .pos = 0, .why = NULL };
    bool opsize_prefix = false, addrsize_prefix = false;
    u8 rex = 0;
    bool has_rex = false;

    /* Prefixes. */
    for (;;) {
        if (!need(&c, 1))
            return refuse(why, c.why);
        u8 b = bytes[c.pos];
        if (mode == INSN_MODE_64 && (b & 0xf0) == 0x40) {
            rex = b & 0xf;
            has_rex = true;
            c.pos++;
            continue;
        }
        bool legacy = true;
        switch (b) {
        case 0x66:
            opsize_prefix = true;
            break;
        case 0x67:
            addrsize_prefix = true;
            break;
        case 0x26:
        case 0x2e:
        case 0x36:
        case 0x3e:
        case 0x64:
        case 0x65:
            break;
        case 0xf0:
            return refuse(why, "lock prefix");
        case 0xf2:
        case 0xf3:
            return refuse(why, "rep prefix");
        default:
            legacy = false;
            break;
        }
        if (!legacy)
            break;
        /* A REX not immediately before the opcode is ignored. */
        rex = 0;
        has_rex = false;
        c.pos++;
    }

    unsigned opsize, addrsize;
    if (mode == INSN_MODE_16) {
        opsize = opsize_prefix ? 4 : 2;
        addrsize = addrsize_prefix ? 4 : 2;
    } else {
        opsize = opsize_prefix ? 2 : 4;
        if (mode == INSN_MODE_64)
            addrsize = addrsize_prefix ? 4 : 8;
        else
            addrsize = addrsize_prefix ? 2 : 4;
    }
    if (rex & REX_W)
        opsize = 8;

    struct mmio_insn d = { 0 };
    u64 op;
    if (!take(&c, 1, &op))
        return refuse(why, c.why);
    bool two_byte = false;
    if (op == 0x0f) {
        if (!take(&c, 1, &op))
            return refuse(why, c.why);
        two_byte = true;
    }

    u8 reg_field = 0;
    bool byte_reg = false; /* the register operand is 8 bits (AH..BH possible) */
    if (two_byte) {
        switch (op) {
        case 0xb6:
        case 0xb7:
        case 0xbe:
        case 0xbf:
            d.size = (op & 1) ? 2 : 1;
            d.dest_size = (u8)opsize;
            d.sign_extend = op >= 0xbe;
            break;
        default:
            return refuse(why, "unknown opcode");
        }
        if (!skip_modrm(&c, addrsize, &reg_field))
            return refuse(why, c.why);
        d.reg = reg_field | ((rex & REX_R) ? 8 : 0);
    } else {
        switch (op) {
        case 0x88:
        case 0x89:
        case 0x8a:
        case 0x8b:
            d.size = (op & 1) ? (u8)opsize : 1;
            d.write = op <= 0x89;
            d.dest_size = d.write ? 0 : d.size;
            byte_reg = d.size == 1;
            if (!skip_modrm(&c, addrsize, &reg_field))
                return refuse(why, c.why);
            d.reg = reg_field | ((rex & REX_R) ? 8 : 0);
            break;
        case 0xc6:
        case 0xc7: {
            d.size = (op & 1) ? (u8)opsize : 1;
            d.write = true;
            d.has_imm = true;
            if (!skip_modrm(&c, addrsize, &reg_field))
                return refuse(why, c.why);
            if (reg_field != 0)
                return refuse(why, "unknown opcode");
            size_t imm_len = d.size == 1 ? 1 : d.size == 2 ? 2 : 4;
            u64 imm;
            if (!take(&c, imm_len, &imm))
                return refuse(why, c.why);
            if (d.size == 8)
                imm = (u64)(s64)(s32)(u32)imm;
            d.imm = imm;
            break;
        }
        case 0xa0:
        case 0xa1:
        case 0xa2:
        case 0xa3:
            /* mov al/eAX <-> moffs: no ModRM, an address of the address size. */
            d.size = (op & 1) ? (u8)opsize : 1;
            d.write = op >= 0xa2;
            d.dest_size = d.write ? 0 : d.size;
            d.reg = 0;
            if (!take(&c, addrsize, NULL))
                return refuse(why, c.why);
            break;
        default:
            return refuse(why, "unknown opcode");
        }
    }

    /* Without any REX, byte registers 4-7 are AH, CH, DH, BH; with one, SPL, BPL, SIL, DIL. */
    if (byte_reg && !has_rex && d.reg >= 4 && d.reg < 8) {
        d.high_byte = true;
        d.reg -= 4;
    }
    d.len = (u8)c.pos;
    *out = d;
    return 0;
}

u64 insn_mmio_write_value(const struct mmio_insn *in, const u64 *regs)
{
    if (in->has_imm)
        return in->imm & size_mask(in->size);
    u64 v = regs[in->reg & 15];
    if (in->high_byte)
        v >>= 8;
    return v & size_mask(in->size);
}

void insn_mmio_complete_read(const struct mmio_insn *in, u64 *regs, u64 value)
{
    if (in->write || in->has_imm)
        return;
    u64 v = value & size_mask(in->size);
    if (in->sign_extend && in->size < 8 && (v >> (8 * in->size - 1)) & 1)
        v |= ~size_mask(in->size);
    u64 *r = &regs[in->reg & 15];
    switch (in->dest_size) {
    case 1:
        if (in->high_byte)
            *r = (*r & ~0xff00ull) | ((v & 0xff) << 8);
        else
            *r = (*r & ~0xffull) | (v & 0xff);
        break;
    case 2:
        *r = (*r & ~0xffffull) | (v & 0xffff);
        break;
    case 4:
        *r = v & 0xffffffffull; /* a 32-bit destination clears bits 63:32 */
        break;
    case 8:
        *r = v;
        break;
    default:
        break;
    }
}
