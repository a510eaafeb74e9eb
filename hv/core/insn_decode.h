/*
 * Decoding the one guest instruction that touched device memory it may not reach (the guarded
 * NIC's BAR while unprivileged, whose reads return zero and whose writes are dropped). Without
 * decode assists (QEMU's TCG has none; VT-x gives no operand for EPT violations) the hypervisor
 * must find the instruction's length, direction, size and register itself. Only the forms
 * compilers emit for MMIO are accepted — MOV to/from memory (88/89/8A/8B, C6/C7 imm), MOVZX
 * (0F B6/B7), MOVSX (0F BE/BF) — with legacy prefixes (66, 67, segment overrides, F2/F3 not
 * allowed), REX, ModRM/SIB/displacement, RIP-relative. Anything else is refused (the caller
 * injects #GP). Pure: unit-tested on the host.
 */
#ifndef POSTERN_INSN_DECODE_H
#define POSTERN_INSN_DECODE_H

#include "lib/types.h"

#define INSN_MAX_LEN 15

struct mmio_insn {
    u8 len;           /* bytes, to advance RIP */
    u8 size;          /* memory operand size: 1, 2, 4 or 8 */
    bool write;       /* memory is the destination */
    bool has_imm;     /* write of an immediate (C6/C7) */
    u64 imm;          /* sign-extended to size for C7 with REX.W */
    u8 reg;           /* register operand (REG_RAX..REG_R15 numbering), when !has_imm */
    bool high_byte;   /* reg names AH/CH/DH/BH (no REX, size 1, reg 4-7 → 0-3 bits 8-15) */
    u8 dest_size;     /* for reads: bytes written to reg (MOVZX/MOVSX widen; 4 zero-extends to 8); 0 for writes */
    bool sign_extend; /* MOVSX: the size-byte value is sign-extended to dest_size */
};

enum insn_mode { INSN_MODE_64, INSN_MODE_32, INSN_MODE_16 };

/* Decode bytes[0..avail). Returns 0 and fills out, or -1 with a short reason in why (static string,
 * why may be NULL): "truncated" when the instruction runs past avail (fetch more and retry),
 * "longer than 15 bytes", "lock prefix", "rep prefix", "unknown opcode",
 * "register operand, not a memory access". Never reads past bytes[avail - 1]. */
int insn_decode_mmio(const u8 *bytes, size_t avail, enum insn_mode mode, struct mmio_insn *out, const char **why);

/* What the register operand holds for a write (masked to size). */
u64 insn_mmio_write_value(const struct mmio_insn *in, const u64 *regs);
/* Complete a read: put value (size bytes from the device) into the register as the CPU would
 * (32-bit destinations zero-extend to 64; 8/16-bit merge; MOVZX/MOVSX widen). */
void insn_mmio_complete_read(const struct mmio_insn *in, u64 *regs, u64 value);

#endif
