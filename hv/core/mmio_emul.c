/* See mmio_emul.h. */
#include "core/mmio_emul.h"
#include "core/guest_access.h"

bool mmio_decode(struct vcpu *v, bool write, struct mmio_insn *insn, const char **why)
{
    u8 bytes[INSN_MAX_LEN];
    size_t avail = sizeof(bytes);
    u64 rip = v->regs[REG_RIP];
    u32 access = GVA_FETCH | (vcpu_ops->cpl(v) == 3 ? GVA_USER : GVA_SUPERVISOR);
    /* Long mode is decoded as 64-bit code: a compatibility-mode (32-bit) process that maps the BAR
     * gets its access refused if the bytes do not decode (docs/pci.md). */
    enum insn_mode mode = (vcpu_ops->efer(v) & GVA_EFER_LMA) ? INSN_MODE_64 : INSN_MODE_32;

    /* The instruction may end before a page the guest has not mapped: fetch less. */
    while (avail && !guest_read_virt(v, rip, bytes, avail, access))
        avail--;
    if (!avail) {
        *why = "instruction bytes not readable";
        return false;
    }
    if (insn_decode_mmio(bytes, avail, mode, insn, why) != 0)
        return false;
    if (insn->write != write) {
        *why = "instruction direction does not match the fault";
        return false;
    }
    return true;
}

void mmio_finish(struct vcpu *v, const struct mmio_insn *insn, u64 read_value)
{
    if (!insn->write)
        insn_mmio_complete_read(insn, v->regs, read_value);
    v->regs[REG_RIP] += insn->len;
}

bool mmio_complete(struct vcpu *v, bool write, u64 read_value, struct mmio_insn *insn, const char **why)
{
    if (!mmio_decode(v, write, insn, why))
        return false;
    mmio_finish(v, insn, read_value);
    return true;
}
