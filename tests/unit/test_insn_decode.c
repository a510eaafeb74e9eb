/* UNIT-SOURCES: hv/core/insn_decode.c */
/* The MMIO instruction decoder: Linux's MMIO accessors as GCC emits them, every prefix and
 * addressing form, high-byte registers, every refusal, and how reads complete into registers.
 * Every decode reads from a heap buffer of exactly `avail` bytes, so ASan catches any overread. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/insn_decode.h"
#include "core/vcpu.h"

static int decode(enum insn_mode mode, const u8 *bytes, size_t n, struct mmio_insn *out, const char **why)
{
    u8 *buf = malloc(n ? n : 1);
    assert_non_null(buf);
    memcpy(buf, bytes, n);
    memset(out, 0xa5, sizeof(*out));
    *why = NULL;
    int rc = insn_decode_mmio(buf, n, mode, out, why);
    free(buf);
    return rc;
}

static struct mmio_insn ok_(enum insn_mode mode, const u8 *bytes, size_t n)
{
    struct mmio_insn in;
    const char *why;
    int rc = decode(mode, bytes, n, &in, &why);
    if (rc != 0)
        print_error("unexpected refusal: %s\n", why ? why : "(null)");
    assert_int_equal(rc, 0);
    assert_true(in.len <= n);
    return in;
}

static const char *bad_(enum insn_mode mode, const u8 *bytes, size_t n)
{
    struct mmio_insn in;
    const char *why;
    assert_int_equal(decode(mode, bytes, n, &in, &why), -1);
    assert_non_null(why);
    return why;
}

#define BYTES(...) ((const u8[]){ __VA_ARGS__ }), sizeof((const u8[]){ __VA_ARGS__ })
#define OK64(...)  ok_(INSN_MODE_64, BYTES(__VA_ARGS__))
#define OK32(...)  ok_(INSN_MODE_32, BYTES(__VA_ARGS__))
#define OK16(...)  ok_(INSN_MODE_16, BYTES(__VA_ARGS__))
#define BAD64(...) bad_(INSN_MODE_64, BYTES(__VA_ARGS__))
#define BAD32(...) bad_(INSN_MODE_32, BYTES(__VA_ARGS__))

/* A register-operand access: len, size, direction, register, dest_size. */
static void check_reg(struct mmio_insn in, u8 len, u8 size, bool write, u8 reg, u8 dest_size)
{
    assert_int_equal(in.len, len);
    assert_int_equal(in.size, size);
    assert_int_equal(in.write, write);
    assert_false(in.has_imm);
    assert_int_equal(in.reg, reg);
    assert_false(in.high_byte);
    assert_int_equal(in.dest_size, dest_size);
    assert_false(in.sign_extend);
}

static void check_imm(struct mmio_insn in, u8 len, u8 size, u64 imm)
{
    assert_int_equal(in.len, len);
    assert_int_equal(in.size, size);
    assert_true(in.write);
    assert_true(in.has_imm);
    assert_int_equal(in.imm, imm);
    assert_false(in.high_byte);
}

/* ---------------------------------------------------------------- what GCC emits for Linux */

static void linux_readx_writex(void **state)
{
    /* readl: mov (%rdi),%eax */
    check_reg(OK64(0x8b, 0x07), 2, 4, false, REG_RAX, 4);
    /* writel: mov %esi,(%rdi) */
    check_reg(OK64(0x89, 0x37), 2, 4, true, REG_RSI, 0);
    /* writeb: mov %al,(%rdi) */
    check_reg(OK64(0x88, 0x07), 2, 1, true, REG_RAX, 0);
    /* readb: mov (%rdi),%al */
    check_reg(OK64(0x8a, 0x07), 2, 1, false, REG_RAX, 1);
    /* writew: mov %ax,(%rdi) */
    check_reg(OK64(0x66, 0x89, 0x07), 3, 2, true, REG_RAX, 0);
    /* readw: mov (%rdi),%ax */
    check_reg(OK64(0x66, 0x8b, 0x07), 3, 2, false, REG_RAX, 2);
    /* writeq: mov %rax,(%rdi) */
    check_reg(OK64(0x48, 0x89, 0x07), 3, 8, true, REG_RAX, 0);
    /* readq: mov (%rdi),%rax */
    check_reg(OK64(0x48, 0x8b, 0x07), 3, 8, false, REG_RAX, 8);
    /* mov %r13d,0x8(%rbp) */
    check_reg(OK64(0x44, 0x89, 0x6d, 0x08), 4, 4, true, REG_R13, 0);
    /* mov 0x80(%rsp),%eax: SIB + disp32 */
    check_reg(OK64(0x8b, 0x84, 0x24, 0x80, 0x00, 0x00, 0x00), 7, 4, false, REG_RAX, 4);
    /* mov 0x12345678(%rip),%eax */
    check_reg(OK64(0x8b, 0x05, 0x78, 0x56, 0x34, 0x12), 6, 4, false, REG_RAX, 4);
    /* mov 0x4030201(%rip),%r15 */
    check_reg(OK64(0x4c, 0x8b, 0x3d, 0x01, 0x02, 0x03, 0x04), 7, 8, false, REG_R15, 8);
    /* movl $0x0,0x10(%rax) */
    check_imm(OK64(0xc7, 0x40, 0x10, 0x00, 0x00, 0x00, 0x00), 7, 4, 0);
    /* iowrite32 on an offset register: mov %edx,0x44(%rax) */
    check_reg(OK64(0x89, 0x50, 0x44), 3, 4, true, REG_RDX, 0);
    /* trailing bytes after the instruction are not consumed */
    check_reg(OK64(0x8b, 0x07, 0xc3, 0x90, 0x90), 2, 4, false, REG_RAX, 4);

    /* movzbl (%rdi),%eax */
    struct mmio_insn in = OK64(0x0f, 0xb6, 0x07);
    assert_int_equal(in.len, 3);
    assert_int_equal(in.size, 1);
    assert_false(in.write);
    assert_int_equal(in.reg, REG_RAX);
    assert_int_equal(in.dest_size, 4);
    assert_false(in.sign_extend);
    assert_false(in.high_byte);
    /* movzwl (%rdi),%eax */
    in = OK64(0x0f, 0xb7, 0x07);
    assert_int_equal(in.len, 3);
    assert_int_equal(in.size, 2);
    assert_int_equal(in.dest_size, 4);
    assert_false(in.sign_extend);
    /* movzbl (%r12),%r15d */
    in = OK64(0x45, 0x0f, 0xb6, 0x3c, 0x24);
    assert_int_equal(in.len, 5);
    assert_int_equal(in.size, 1);
    assert_int_equal(in.reg, REG_R15);
    assert_int_equal(in.dest_size, 4);
    /* movsbw (%rdi),%ax */
    in = OK64(0x66, 0x0f, 0xbe, 0x07);
    assert_int_equal(in.len, 4);
    assert_int_equal(in.size, 1);
    assert_int_equal(in.dest_size, 2);
    assert_true(in.sign_extend);
    /* movswq (%rdi),%rax */
    in = OK64(0x48, 0x0f, 0xbf, 0x07);
    assert_int_equal(in.len, 4);
    assert_int_equal(in.size, 2);
    assert_int_equal(in.dest_size, 8);
    assert_true(in.sign_extend);
    /* movzbw (%rdi),%cx */
    in = OK64(0x66, 0x0f, 0xb6, 0x0f);
    assert_int_equal(in.size, 1);
    assert_int_equal(in.dest_size, 2);
    assert_int_equal(in.reg, REG_RCX);
}

/* ---------------------------------------------------------------- REX */

static void rex_bits(void **state)
{
    /* REX.B: mov %eax,(%r12) (SIB forced by rm=4 even with REX.B) */
    check_reg(OK64(0x41, 0x89, 0x04, 0x24), 4, 4, true, REG_RAX, 0);
    /* REX.B: mov %eax,0x0(%r13) (rm=5 with REX.B still needs mod=1 for no RIP-relative) */
    check_reg(OK64(0x41, 0x89, 0x45, 0x00), 4, 4, true, REG_RAX, 0);
    /* REX.B with mod=0 rm=5: still RIP-relative, disp32 */
    check_reg(OK64(0x41, 0x8b, 0x05, 1, 2, 3, 4), 7, 4, false, REG_RAX, 4);
    /* REX.X: mov (%rax,%r12,4),%eax */
    check_reg(OK64(0x42, 0x8b, 0x04, 0xa0), 4, 4, false, REG_RAX, 4);
    /* REX.R|REX.X: mov %r13d,(%rax,%r13,4) */
    check_reg(OK64(0x46, 0x89, 0x2c, 0xa8), 4, 4, true, REG_R13, 0);
    /* REX.W|R|X|B: mov %r13,(%r12,%r13,4) */
    check_reg(OK64(0x4f, 0x89, 0x2c, 0xac), 4, 8, true, REG_R13, 0);
    /* REX.R for every register: mov %rN,(%rdi) for N = 8..15 */
    for (u8 r = 0; r < 8; r++) {
        check_reg(ok_(INSN_MODE_64, BYTES(0x4c, 0x89, (u8)(0x07 | r << 3))), 3, 8, true, (u8)(8 + r), 0);
        check_reg(ok_(INSN_MODE_64, BYTES(0x48, 0x89, (u8)(0x07 | r << 3))), 3, 8, true, r, 0);
    }
    /* REX.W beats 66 */
    check_reg(OK64(0x66, 0x48, 0x89, 0x07), 4, 8, true, REG_RAX, 0);
    /* a bare REX (40) changes nothing for a 32-bit move */
    check_reg(OK64(0x40, 0x89, 0x07), 3, 4, true, REG_RAX, 0);
}

static void rex_before_a_prefix_is_ignored(void **state)
{
    /* 48 66 89 07: the REX.W is not last, so this is mov %ax,(%rdi) */
    check_reg(OK64(0x48, 0x66, 0x89, 0x07), 4, 2, true, REG_RAX, 0);
    /* 44 66 89 07: REX.R ignored, register stays ax */
    check_reg(OK64(0x44, 0x66, 0x89, 0x07), 4, 2, true, REG_RAX, 0);
    /* 4c 2e 89 07: REX.W|R ignored after a segment override */
    check_reg(OK64(0x4c, 0x2e, 0x89, 0x07), 4, 4, true, REG_RAX, 0);
    /* 44 3e 88 27: with the REX ignored there is no REX at all, so 4 = AH */
    struct mmio_insn in = OK64(0x44, 0x3e, 0x88, 0x27);
    assert_int_equal(in.len, 4);
    assert_int_equal(in.reg, REG_RAX);
    assert_true(in.high_byte);
    /* several REX bytes: only the last, the one before the opcode, counts */
    check_reg(OK64(0x48, 0x40, 0x89, 0x07), 4, 4, true, REG_RAX, 0);
    check_reg(OK64(0x40, 0x48, 0x89, 0x07), 4, 8, true, REG_RAX, 0);
    check_reg(OK64(0x41, 0x44, 0x89, 0x07), 4, 4, true, REG_R8, 0);
    /* a REX before the 0F escape is immediately before the opcode */
    in = OK64(0x44, 0x0f, 0xb6, 0x07);
    assert_int_equal(in.reg, REG_R8);
    assert_int_equal(in.len, 4);
}

/* ---------------------------------------------------------------- byte registers */

static void high_byte_registers(void **state)
{
    static const struct {
        u8 modrm;
        u8 reg;
        bool high;
    } want[8] = {
        { 0x07, REG_RAX, false }, { 0x0f, REG_RCX, false }, { 0x17, REG_RDX, false }, { 0x1f, REG_RBX, false },
        { 0x27, REG_RAX, true },  { 0x2f, REG_RCX, true },  { 0x37, REG_RDX, true },  { 0x3f, REG_RBX, true },
    };
    for (int i = 0; i < 8; i++) {
        for (int op = 0x88; op <= 0x8a; op += 2) {
            /* no REX: AL CL DL BL AH CH DH BH */
            struct mmio_insn in = ok_(INSN_MODE_64, BYTES((u8)op, want[i].modrm));
            assert_int_equal(in.len, 2);
            assert_int_equal(in.size, 1);
            assert_int_equal(in.reg, want[i].reg);
            assert_int_equal(in.high_byte, want[i].high);
            /* any REX (even 40): AL CL DL BL SPL BPL SIL DIL */
            in = ok_(INSN_MODE_64, BYTES(0x40, (u8)op, want[i].modrm));
            assert_int_equal(in.len, 3);
            assert_int_equal(in.reg, i);
            assert_false(in.high_byte);
            /* REX.R: R8B..R15B */
            in = ok_(INSN_MODE_64, BYTES(0x44, (u8)op, want[i].modrm));
            assert_int_equal(in.reg, 8 + i);
            assert_false(in.high_byte);
            /* 32-bit mode has no REX: the same as the first case */
            in = ok_(INSN_MODE_32, BYTES((u8)op, want[i].modrm));
            assert_int_equal(in.reg, want[i].reg);
            assert_int_equal(in.high_byte, want[i].high);
        }
    }
    /* Wider operands and MOVZX destinations never name a high byte. */
    struct mmio_insn in = OK64(0x89, 0x27);
    assert_int_equal(in.reg, REG_RSP);
    assert_false(in.high_byte);
    in = OK64(0x66, 0x8b, 0x3f);
    assert_int_equal(in.reg, REG_RDI);
    assert_false(in.high_byte);
    in = OK64(0x0f, 0xb6, 0x27);
    assert_int_equal(in.reg, REG_RSP);
    assert_false(in.high_byte);
    /* moffs forms use AL, never AH */
    in = OK64(0xa0, 1, 2, 3, 4, 5, 6, 7, 8);
    assert_int_equal(in.reg, REG_RAX);
    assert_false(in.high_byte);
}

/* ---------------------------------------------------------------- addressing forms */

static void addressing_64(void **state)
{
    /* mod 0, 1, 2 with each rm */
    for (u8 rm = 0; rm < 8; rm++) {
        u8 sib_len = rm == 4 ? 1 : 0;
        u8 len0 = (u8)(2 + sib_len + (rm == 5 ? 4 : 0));
        check_reg(ok_(INSN_MODE_64, BYTES(0x8b, (u8)(0x00 | rm), 0x20, 1, 2, 3, 4)), len0, 4, false, REG_RAX, 4);
        check_reg(ok_(INSN_MODE_64, BYTES(0x8b, (u8)(0x40 | rm), 0x20, 1, 2, 3, 4)), (u8)(3 + sib_len), 4, false,
                  REG_RAX, 4);
        check_reg(ok_(INSN_MODE_64, BYTES(0x8b, (u8)(0x80 | rm), 0x20, 1, 2, 3, 4)), (u8)(6 + sib_len), 4, false,
                  REG_RAX, 4);
    }
    /* SIB with base 5: disp32 and no base at mod 0, rbp/r13 + disp at mod 1/2 */
    check_reg(OK64(0x8b, 0x04, 0x25, 1, 2, 3, 4), 7, 4, false, REG_RAX, 4);       /* mov 0x4030201,%eax */
    check_reg(OK64(0x8b, 0x04, 0x8d, 1, 2, 3, 4), 7, 4, false, REG_RAX, 4);       /* (,%rcx,4) + disp32 */
    check_reg(OK64(0x43, 0x8b, 0x04, 0x2d, 1, 2, 3, 4), 8, 4, false, REG_RAX, 4); /* REX.B: still no base */
    check_reg(OK64(0x8b, 0x44, 0x25, 0x08), 4, 4, false, REG_RAX, 4);             /* 0x8(%rbp,%riz) */
    check_reg(OK64(0x8b, 0x84, 0x25, 1, 2, 3, 4), 7, 4, false, REG_RAX, 4);
    /* 67 in 64-bit mode: 32-bit addressing, same layout */
    check_reg(OK64(0x67, 0x8b, 0x07), 3, 4, false, REG_RAX, 4);
    check_reg(OK64(0x67, 0x8b, 0x04, 0x24), 4, 4, false, REG_RAX, 4);
    check_reg(OK64(0x67, 0x8b, 0x05, 1, 2, 3, 4), 7, 4, false, REG_RAX, 4);
    /* segment overrides are accepted */
    check_reg(OK64(0x65, 0x8b, 0x04, 0x25, 1, 2, 3, 4), 8, 4, false, REG_RAX, 4);
    check_reg(OK64(0x64, 0x48, 0x89, 0x07), 4, 8, true, REG_RAX, 0);
    check_reg(OK64(0x26, 0x2e, 0x36, 0x3e, 0x89, 0x07), 6, 4, true, REG_RAX, 0);
}

static void immediates(void **state)
{
    check_imm(OK64(0xc6, 0x07, 0xab), 3, 1, 0xab);
    check_imm(OK64(0xc6, 0x47, 0x08, 0xff), 4, 1, 0xff);
    check_imm(OK64(0x66, 0xc7, 0x07, 0x34, 0x12), 5, 2, 0x1234);
    check_imm(OK64(0xc7, 0x07, 0x78, 0x56, 0x34, 0x12), 6, 4, 0x12345678);
    check_imm(OK64(0xc7, 0x07, 0x00, 0x00, 0x00, 0x80), 6, 4, 0x80000000);
    /* REX.W: imm32 sign-extended to 64 */
    check_imm(OK64(0x48, 0xc7, 0x07, 0x00, 0x00, 0x00, 0x80), 7, 8, 0xffffffff80000000ull);
    check_imm(OK64(0x48, 0xc7, 0x07, 0xff, 0xff, 0xff, 0x7f), 7, 8, 0x7fffffffull);
    check_imm(OK64(0x49, 0xc7, 0x44, 0x24, 0x10, 0xff, 0xff, 0xff, 0xff), 9, 8, ~0ull);
    /* RIP-relative with an immediate: disp32 then imm32 */
    check_imm(OK64(0xc7, 0x05, 1, 2, 3, 4, 5, 6, 7, 8), 10, 4, 0x08070605);
    /* movb $0x5,0x4030201 (SIB, no base) */
    check_imm(OK64(0xc6, 0x04, 0x25, 1, 2, 3, 4, 5), 8, 1, 5);
    /* SIB + disp32 + imm32, padded with prefixes to exactly 15 bytes */
    check_imm(OK64(0x3e, 0x3e, 0x3e, 0x48, 0xc7, 0x84, 0x88, 1, 2, 3, 4, 5, 6, 7, 8), 15, 8, 0x08070605);
}

static void moffs_forms(void **state)
{
    /* 64-bit mode: 8-byte address */
    struct mmio_insn in = OK64(0xa1, 1, 2, 3, 4, 5, 6, 7, 8);
    check_reg(in, 9, 4, false, REG_RAX, 4);
    check_reg(OK64(0xa0, 1, 2, 3, 4, 5, 6, 7, 8), 9, 1, false, REG_RAX, 1);
    check_reg(OK64(0xa2, 1, 2, 3, 4, 5, 6, 7, 8), 9, 1, true, REG_RAX, 0);
    check_reg(OK64(0x48, 0xa3, 1, 2, 3, 4, 5, 6, 7, 8), 10, 8, true, REG_RAX, 0);
    check_reg(OK64(0x66, 0xa1, 1, 2, 3, 4, 5, 6, 7, 8), 10, 2, false, REG_RAX, 2);
    /* 67: 4-byte address */
    check_reg(OK64(0x67, 0xa1, 1, 2, 3, 4), 6, 4, false, REG_RAX, 4);
    /* 32-bit mode: 4 bytes, 2 with 67 */
    check_reg(OK32(0xa3, 1, 2, 3, 4), 5, 4, true, REG_RAX, 0);
    check_reg(OK32(0x67, 0xa3, 1, 2), 4, 4, true, REG_RAX, 0);
    /* 16-bit mode: 2 bytes, 4 with 67 */
    check_reg(OK16(0xa1, 1, 2), 3, 2, false, REG_RAX, 2);
    check_reg(OK16(0x67, 0x66, 0xa1, 1, 2, 3, 4), 7, 4, false, REG_RAX, 4);
}

static void mode_32(void **state)
{
    check_reg(OK32(0x8b, 0x07), 2, 4, false, REG_RAX, 4);
    check_reg(OK32(0x66, 0x89, 0x07), 3, 2, true, REG_RAX, 0);
    /* mod 0 rm 5: absolute disp32 (no RIP-relative outside 64-bit mode), same length */
    check_reg(OK32(0x89, 0x05, 1, 2, 3, 4), 6, 4, true, REG_RAX, 0);
    check_reg(OK32(0x8b, 0x84, 0x24, 0x80, 0, 0, 0), 7, 4, false, REG_RAX, 4);
    check_imm(OK32(0x66, 0xc7, 0x07, 0x34, 0x12), 5, 2, 0x1234);
    check_imm(OK32(0xc7, 0x07, 1, 2, 3, 4), 6, 4, 0x04030201);
    /* 67: 16-bit addressing forms */
    check_reg(OK32(0x67, 0x8b, 0x07), 3, 4, false, REG_RAX, 4);             /* [bx] */
    check_reg(OK32(0x67, 0x8b, 0x04), 3, 4, false, REG_RAX, 4);             /* [si]: no SIB */
    check_reg(OK32(0x67, 0x8b, 0x05), 3, 4, false, REG_RAX, 4);             /* [di]: no disp */
    check_reg(OK32(0x67, 0x8b, 0x06, 0x34, 0x12), 5, 4, false, REG_RAX, 4); /* [disp16] */
    check_reg(OK32(0x67, 0x8b, 0x46, 0x10), 4, 4, false, REG_RAX, 4);       /* [bp+disp8] */
    check_reg(OK32(0x67, 0x8b, 0x87, 0x34, 0x12), 5, 4, false, REG_RAX, 4); /* [bx+disp16] */
    check_imm(OK32(0x67, 0xc7, 0x06, 0x34, 0x12, 1, 2, 3, 4), 9, 4, 0x04030201);
    /* 40-4F are INC/DEC here, not REX */
    assert_string_equal(BAD32(0x48, 0x89, 0x07), "unknown opcode");
    assert_string_equal(BAD32(0x40, 0x8b, 0x07), "unknown opcode");
}

static void mode_16(void **state)
{
    check_reg(OK16(0x8b, 0x07), 2, 2, false, REG_RAX, 2);
    check_reg(OK16(0x66, 0x8b, 0x07), 3, 4, false, REG_RAX, 4);
    check_reg(OK16(0x88, 0x07), 2, 1, true, REG_RAX, 0);
    check_reg(OK16(0x8b, 0x06, 0x34, 0x12), 4, 2, false, REG_RAX, 2);
    check_reg(OK16(0x89, 0x47, 0x10), 3, 2, true, REG_RAX, 0);
    check_reg(OK16(0x89, 0x97, 0x34, 0x12), 4, 2, true, REG_RDX, 0);
    check_reg(OK16(0x89, 0x04), 2, 2, true, REG_RAX, 0); /* [si], rm=4 is no SIB */
    check_imm(OK16(0xc7, 0x06, 0x34, 0x12, 0x78, 0x56), 6, 2, 0x5678);
    check_imm(OK16(0x66, 0xc7, 0x06, 0x34, 0x12, 1, 2, 3, 4), 9, 4, 0x04030201);
    /* 67: 32-bit addressing with SIB */
    check_reg(OK16(0x67, 0x8b, 0x04, 0x24), 4, 2, false, REG_RAX, 2);
    check_reg(OK16(0x67, 0x8b, 0x05, 1, 2, 3, 4), 7, 2, false, REG_RAX, 2);
    /* movzx in 16-bit mode widens to 16, with 66 to 32 */
    struct mmio_insn in = OK16(0x0f, 0xb6, 0x07);
    assert_int_equal(in.dest_size, 2);
    in = OK16(0x66, 0x0f, 0xbe, 0x07);
    assert_int_equal(in.dest_size, 4);
    assert_true(in.sign_extend);
}

/* ---------------------------------------------------------------- refusals */

static void refuses_register_operands(void **state)
{
    assert_string_equal(BAD64(0x89, 0xc0), "register operand, not a memory access");
    assert_string_equal(BAD64(0x8b, 0xc0), "register operand, not a memory access");
    assert_string_equal(BAD64(0x88, 0xe0), "register operand, not a memory access");
    assert_string_equal(BAD64(0x48, 0x8b, 0xc7), "register operand, not a memory access");
    assert_string_equal(BAD64(0xc7, 0xc0, 1, 2, 3, 4), "register operand, not a memory access");
    assert_string_equal(BAD64(0xc6, 0xc0, 1), "register operand, not a memory access");
    assert_string_equal(BAD64(0x0f, 0xb6, 0xc0), "register operand, not a memory access");
    assert_string_equal(BAD64(0x0f, 0xbf, 0xc1), "register operand, not a memory access");
    assert_string_equal(bad_(INSN_MODE_16, BYTES(0x89, 0xc0)), "register operand, not a memory access");
}

static void refuses_lock_and_rep(void **state)
{
    assert_string_equal(BAD64(0xf0, 0x89, 0x07), "lock prefix");
    assert_string_equal(BAD64(0x66, 0xf0, 0x89, 0x07), "lock prefix");
    assert_string_equal(BAD64(0x48, 0xf0, 0x89, 0x07), "lock prefix");
    assert_string_equal(BAD32(0xf0, 0x89, 0x07), "lock prefix");
    assert_string_equal(BAD64(0xf3, 0x89, 0x07), "rep prefix");
    assert_string_equal(BAD64(0xf2, 0x89, 0x07), "rep prefix");
    assert_string_equal(BAD64(0x3e, 0xf3, 0x0f, 0xb6, 0x07), "rep prefix");
    /* string moves are what REP would mean here; they are not decoded either */
    assert_string_equal(BAD64(0xf3, 0xa5), "rep prefix");
}

static void refuses_unknown_opcodes(void **state)
{
    static const u8 one_byte[] = {
        0x00, 0x01, 0x03, 0x09, 0x0b, 0x21, 0x23, 0x31, 0x33, 0x39, 0x3b, 0x63, 0x80, 0x81,
        0x83, 0x84, 0x85, 0x86, 0x87, 0x8c, 0x8d, 0x8e, 0x8f, 0x90, 0xa4, 0xa5, 0xa6, 0xa7,
        0xaa, 0xab, 0xac, 0xad, 0xc3, 0xcc, 0xd1, 0xe8, 0xf6, 0xf7, 0xfe, 0xff,
    };
    for (size_t i = 0; i < ARRAY_SIZE(one_byte); i++)
        assert_string_equal(bad_(INSN_MODE_64, BYTES(one_byte[i], 0x07, 1, 2, 3, 4, 5, 6, 7, 8)), "unknown opcode");
    static const u8 two_byte[] = { 0x05, 0x0b, 0x10, 0x11, 0x18, 0x6f, 0x7f, 0xa3, 0xab, 0xb0,
                                   0xb1, 0xb8, 0xb3, 0xbc, 0xbd, 0xc0, 0xc1, 0xc3, 0xc7, 0x0f };
    for (size_t i = 0; i < ARRAY_SIZE(two_byte); i++)
        assert_string_equal(bad_(INSN_MODE_64, BYTES(0x0f, two_byte[i], 0x07, 1, 2, 3, 4)), "unknown opcode");
    /* C6/C7 with a reg field other than 0 */
    for (u8 r = 1; r < 8; r++) {
        assert_string_equal(bad_(INSN_MODE_64, BYTES(0xc6, (u8)(0x07 | r << 3), 1)), "unknown opcode");
        assert_string_equal(bad_(INSN_MODE_64, BYTES(0xc7, (u8)(0x07 | r << 3), 1, 2, 3, 4)), "unknown opcode");
    }
}

/* Every valid encoding, cut short at each byte, is "truncated"; whole, it decodes. */
static void refuses_truncated(void **state)
{
    static const struct {
        enum insn_mode mode;
        u8 len;
        u8 b[15];
    } cases[] = {
        { INSN_MODE_64, 2, { 0x8b, 0x07 } },
        { INSN_MODE_64, 3, { 0x48, 0x89, 0x07 } },
        { INSN_MODE_64, 4, { 0x44, 0x89, 0x6d, 0x08 } },
        { INSN_MODE_64, 7, { 0xc7, 0x40, 0x10, 0, 0, 0, 0 } },
        { INSN_MODE_64, 7, { 0x8b, 0x84, 0x24, 0x80, 0, 0, 0 } },
        { INSN_MODE_64, 6, { 0x8b, 0x05, 1, 2, 3, 4 } },
        { INSN_MODE_64, 3, { 0x0f, 0xb6, 0x07 } },
        { INSN_MODE_64, 10, { 0xc7, 0x05, 1, 2, 3, 4, 5, 6, 7, 8 } },
        { INSN_MODE_64, 8, { 0xc6, 0x04, 0x25, 1, 2, 3, 4, 5 } },
        { INSN_MODE_64, 10, { 0x48, 0xa3, 1, 2, 3, 4, 5, 6, 7, 8 } },
        { INSN_MODE_64, 15, { 0x3e, 0x3e, 0x3e, 0x48, 0xc7, 0x84, 0x88, 1, 2, 3, 4, 5, 6, 7, 8 } },
        { INSN_MODE_32, 9, { 0x67, 0xc7, 0x06, 0x34, 0x12, 1, 2, 3, 4 } },
        { INSN_MODE_16, 9, { 0x66, 0xc7, 0x06, 0x34, 0x12, 1, 2, 3, 4 } },
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        for (size_t n = 0; n < cases[i].len; n++)
            assert_string_equal(bad_(cases[i].mode, cases[i].b, n), "truncated");
        struct mmio_insn in = ok_(cases[i].mode, cases[i].b, cases[i].len);
        assert_int_equal(in.len, cases[i].len);
    }
}

static void refuses_longer_than_15(void **state)
{
    u8 b[32];
    /* k prefixes then 8b 07: fine up to 13 (15 bytes), refused from 14 on, whatever is available */
    for (size_t k = 0; k <= 20; k++) {
        for (size_t i = 0; i < k; i++)
            b[i] = (i & 1) ? 0x3e : 0x66;
        b[k] = 0x8b;
        b[k + 1] = 0x07;
        if (k <= 13) {
            struct mmio_insn in = ok_(INSN_MODE_64, b, k + 2);
            assert_int_equal(in.len, k + 2);
        } else {
            assert_string_equal(bad_(INSN_MODE_64, b, k + 2), "longer than 15 bytes");
            assert_string_equal(bad_(INSN_MODE_64, b, sizeof(b)), "longer than 15 bytes");
        }
    }
    /* 15 prefixes and nothing else, with more bytes available: too long, not truncated */
    memset(b, 0x2e, sizeof(b));
    assert_string_equal(bad_(INSN_MODE_64, b, sizeof(b)), "longer than 15 bytes");
    assert_string_equal(bad_(INSN_MODE_64, b, 15), "longer than 15 bytes");
    /* the 16th byte is the last immediate byte */
    static const u8 sixteen[] = { 0x3e, 0x3e, 0x3e, 0x3e, 0x48, 0xc7, 0x84, 0x88, 1, 2, 3, 4, 5, 6, 7, 8 };
    assert_string_equal(bad_(INSN_MODE_64, sixteen, sizeof(sixteen)), "longer than 15 bytes");
}

static void refuses_bad_arguments(void **state)
{
    struct mmio_insn in;
    const char *why = NULL;
    static const u8 b[] = { 0x8b, 0x07 };
    assert_int_equal(insn_decode_mmio(NULL, 2, INSN_MODE_64, &in, &why), -1);
    assert_non_null(why);
    assert_int_equal(insn_decode_mmio(b, 2, INSN_MODE_64, NULL, &why), -1);
    assert_int_equal(insn_decode_mmio(b, 2, (enum insn_mode)7, &in, &why), -1);
    assert_int_equal(insn_decode_mmio(b, 2, INSN_MODE_64, &in, NULL), 0); /* why is optional */
    assert_int_equal(insn_decode_mmio(b, 1, INSN_MODE_64, &in, NULL), -1);
}

/* Random bytes never make the decoder read past avail or return nonsense. */
static void random_bytes_are_safe(void **state)
{
    u64 x = 0x9e3779b97f4a7c15ull;
    static const u8 interesting[] = { 0x66, 0x67, 0x2e, 0x3e, 0x40, 0x41, 0x44, 0x48, 0x4f, 0x0f, 0x88, 0x89, 0x8a,
                                      0x8b, 0xc6, 0xc7, 0xa0, 0xa3, 0xb6, 0xbf, 0x04, 0x05, 0x24, 0x25, 0x44, 0x84 };
    int accepted = 0;
    for (int iter = 0; iter < 200000; iter++) {
        u8 b[20];
        for (size_t i = 0; i < sizeof(b); i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            b[i] = (x & 0x300) ? interesting[(x >> 16) % sizeof(interesting)] : (u8)(x >> 24);
        }
        size_t avail = (x >> 40) % 21;
        enum insn_mode mode = (enum insn_mode)((x >> 50) % 3);
        struct mmio_insn in;
        const char *why;
        if (decode(mode, b, avail, &in, &why) == 0) {
            accepted++;
            assert_true(in.len >= 2 && in.len <= INSN_MAX_LEN && in.len <= avail);
            assert_true(in.size == 1 || in.size == 2 || in.size == 4 || in.size == 8);
            assert_true(in.reg < 16);
            assert_true(!in.high_byte || (in.size == 1 && in.reg < 4));
            if (!in.write)
                assert_true(in.dest_size >= in.size && in.dest_size <= 8);
        } else {
            assert_non_null(why);
        }
    }
    assert_true(accepted > 1000);
}

/* ---------------------------------------------------------------- values in and out */

static u64 wv(struct mmio_insn in, const u64 *regs) { return insn_mmio_write_value(&in, regs); }

static void write_values(void **state)
{
    u64 regs[VCPU_NREGS];
    for (int i = 0; i < VCPU_NREGS; i++)
        regs[i] = 0x1111111111111111ull * (u64)(i + 1) + 0x0102030405060708ull;
    regs[REG_RAX] = 0x8877665544332211ull;
    regs[REG_RBX] = 0xfedcba9876543210ull;
    regs[REG_R13] = 0xdeadbeefcafef00dull;

    assert_int_equal(wv(OK64(0x89, 0x07), regs), 0x44332211);
    assert_int_equal(wv(OK64(0x88, 0x07), regs), 0x11);
    assert_int_equal(wv(OK64(0x88, 0x27), regs), 0x22); /* ah */
    assert_int_equal(wv(OK64(0x88, 0x3f), regs), 0x32); /* bh */
    assert_int_equal(wv(OK64(0x88, 0x1f), regs), 0x10); /* bl */
    assert_int_equal(wv(OK64(0x66, 0x89, 0x07), regs), 0x2211);
    assert_int_equal(wv(OK64(0x48, 0x89, 0x07), regs), 0x8877665544332211ull);
    assert_int_equal(wv(OK64(0x44, 0x89, 0x6d, 0x08), regs), 0xcafef00d);
    assert_int_equal(wv(OK64(0x4c, 0x89, 0x6d, 0x08), regs), 0xdeadbeefcafef00dull);
    assert_int_equal(wv(OK64(0x40, 0x88, 0x27), regs), regs[REG_RSP] & 0xff); /* spl */
    assert_int_equal(wv(OK64(0x44, 0x88, 0x2f), regs), 0x0d);                 /* r13b */
    assert_int_equal(wv(OK64(0xa2, 1, 2, 3, 4, 5, 6, 7, 8), regs), 0x11);
    /* immediates, masked to the operand size */
    assert_int_equal(wv(OK64(0xc6, 0x07, 0xab), regs), 0xab);
    assert_int_equal(wv(OK64(0x66, 0xc7, 0x07, 0x34, 0x12), regs), 0x1234);
    assert_int_equal(wv(OK64(0xc7, 0x07, 0, 0, 0, 0x80), regs), 0x80000000);
    assert_int_equal(wv(OK64(0x48, 0xc7, 0x07, 0, 0, 0, 0x80), regs), 0xffffffff80000000ull);
    /* a hand-built imm with junk above its size is masked */
    struct mmio_insn in = { .len = 3, .size = 2, .write = true, .has_imm = true, .imm = 0xabcdef };
    assert_int_equal(insn_mmio_write_value(&in, regs), 0xcdef);
}

static u64 after_read(struct mmio_insn in, u64 before, u64 value)
{
    u64 regs[VCPU_NREGS];
    for (int i = 0; i < VCPU_NREGS; i++)
        regs[i] = 0x5a5a5a5a5a5a5a5aull + (u64)i;
    u64 other[VCPU_NREGS];
    unsigned idx = in.reg;
    regs[idx] = before;
    memcpy(other, regs, sizeof(regs));
    insn_mmio_complete_read(&in, regs, value);
    for (int i = 0; i < VCPU_NREGS; i++)
        if ((unsigned)i != idx)
            assert_int_equal(regs[i], other[i]); /* nothing else moves */
    return regs[idx];
}

static void read_completion(void **state)
{
    const u64 old = 0xfedcba9876543210ull;
    /* mov (%rdi),%eax: the 32-bit destination zero-extends to 64 */
    assert_int_equal(after_read(OK64(0x8b, 0x07), old, 0xcafef00d), 0xcafef00dull);
    assert_int_equal(after_read(OK64(0x8b, 0x07), old, 0xffffffffffffffffull), 0xffffffffull);
    /* mov (%rdi),%rax */
    assert_int_equal(after_read(OK64(0x48, 0x8b, 0x07), old, 0x0123456789abcdefull), 0x0123456789abcdefull);
    /* mov (%rdi),%r15d */
    assert_int_equal(after_read(OK64(0x44, 0x8b, 0x3f), old, 0x80000000), 0x80000000ull);
    /* mov (%rdi),%ax: merges 16 bits */
    assert_int_equal(after_read(OK64(0x66, 0x8b, 0x07), old, 0xbeef), 0xfedcba987654beefull);
    assert_int_equal(after_read(OK64(0x66, 0x8b, 0x07), old, 0x1234beef), 0xfedcba987654beefull);
    /* mov (%rdi),%al / %ah / %bh / %sil / %r9b: merge 8 bits */
    assert_int_equal(after_read(OK64(0x8a, 0x07), old, 0xab), 0xfedcba98765432abull);
    assert_int_equal(after_read(OK64(0x8a, 0x27), old, 0xab), 0xfedcba987654ab10ull);
    assert_int_equal(after_read(OK64(0x8a, 0x3f), old, 0x1ab), 0xfedcba987654ab10ull);
    assert_int_equal(after_read(OK64(0x40, 0x8a, 0x37), old, 0xab), 0xfedcba98765432abull);
    assert_int_equal(after_read(OK64(0x44, 0x8a, 0x0f), old, 0xab), 0xfedcba98765432abull);
    /* moffs reads */
    assert_int_equal(after_read(OK64(0xa0, 1, 2, 3, 4, 5, 6, 7, 8), old, 0x77), 0xfedcba9876543277ull);
    assert_int_equal(after_read(OK64(0xa1, 1, 2, 3, 4, 5, 6, 7, 8), old, 0x77), 0x77ull);
    /* movzbl: zero-extends to 32, then to 64 */
    assert_int_equal(after_read(OK64(0x0f, 0xb6, 0x07), old, 0xff), 0xffull);
    assert_int_equal(after_read(OK64(0x0f, 0xb6, 0x07), old, 0x1ff), 0xffull);
    /* movzwl, movzwq */
    assert_int_equal(after_read(OK64(0x0f, 0xb7, 0x07), old, 0x8001), 0x8001ull);
    assert_int_equal(after_read(OK64(0x48, 0x0f, 0xb7, 0x07), old, 0x8001), 0x8001ull);
    /* movzbw: merges 16 bits */
    assert_int_equal(after_read(OK64(0x66, 0x0f, 0xb6, 0x07), old, 0x80), 0xfedcba9876540080ull);
    /* movsbl: sign-extends to 32, zero-extends to 64 */
    assert_int_equal(after_read(OK64(0x0f, 0xbe, 0x07), old, 0x80), 0xffffff80ull);
    assert_int_equal(after_read(OK64(0x0f, 0xbe, 0x07), old, 0x7f), 0x7full);
    /* movsbq, movswq, movswl */
    assert_int_equal(after_read(OK64(0x48, 0x0f, 0xbe, 0x07), old, 0x80), 0xffffffffffffff80ull);
    assert_int_equal(after_read(OK64(0x48, 0x0f, 0xbf, 0x07), old, 0x8000), 0xffffffffffff8000ull);
    assert_int_equal(after_read(OK64(0x48, 0x0f, 0xbf, 0x07), old, 0x7fff), 0x7fffull);
    assert_int_equal(after_read(OK64(0x0f, 0xbf, 0x07), old, 0xffff), 0xffffffffull);
    /* movsbw: sign-extends to 16 and merges */
    assert_int_equal(after_read(OK64(0x66, 0x0f, 0xbe, 0x07), old, 0x80), 0xfedcba987654ff80ull);
    /* movsx with junk above the memory size: only size bytes count */
    assert_int_equal(after_read(OK64(0x0f, 0xbe, 0x07), old, 0xff7f), 0x7full);
    /* 16-bit mode: mov (%bx),%ax merges, 66 prefix zero-extends */
    assert_int_equal(after_read(OK16(0x8b, 0x07), old, 0xbeef), 0xfedcba987654beefull);
    assert_int_equal(after_read(OK16(0x66, 0x8b, 0x07), old, 0xcafef00d), 0xcafef00dull);
    /* writes leave registers alone */
    assert_int_equal(after_read(OK64(0x89, 0x07), old, 0x1234), old);
    assert_int_equal(after_read(OK64(0xc7, 0x07, 1, 2, 3, 4), old, 0x1234), old);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(linux_readx_writex),
        cmocka_unit_test(rex_bits),
        cmocka_unit_test(rex_before_a_prefix_is_ignored),
        cmocka_unit_test(high_byte_registers),
        cmocka_unit_test(addressing_64),
        cmocka_unit_test(immediates),
        cmocka_unit_test(moffs_forms),
        cmocka_unit_test(mode_32),
        cmocka_unit_test(mode_16),
        cmocka_unit_test(refuses_register_operands),
        cmocka_unit_test(refuses_lock_and_rep),
        cmocka_unit_test(refuses_unknown_opcodes),
        cmocka_unit_test(refuses_truncated),
        cmocka_unit_test(refuses_longer_than_15),
        cmocka_unit_test(refuses_bad_arguments),
        cmocka_unit_test(random_bytes_are_safe),
        cmocka_unit_test(write_values),
        cmocka_unit_test(read_completion),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
