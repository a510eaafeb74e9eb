// SPDX-License-Identifier: GPL-2.0
/*
 * gnohv: lets christoized modules run in a guest that has no hypervisor (QEMU booting the guest
 * kernel directly, the integration tests' DIRECT=1 mode). There, the wrappers' VMMCALL is an
 * invalid opcode; this module catches that #UD in kernel mode and answers as a hypervisor that
 * grants nothing and checks nothing would, so the module underneath behaves as it does under
 * Postern (docs/lab/network-tests.md). Never loaded under Postern: the scenarios load it only when
 * the version hypercall from user space fails.
 *
 * What it emulates (docs/hypercalls.md, docs/christoize.md "Wrapper layouts"):
 *   HC_GUARD_INIT, HC_GUARD_DEINIT        RAX = 0 (registered)
 *   HC_BORDER_IN_CALL, HC_BORDER_OUT_CALL when the wrapper then replaces its caller's return
 *                                         address (the next instruction is lea ...(%rip),%rax),
 *                                         keep [RSP+8] by its slot address
 *   HC_BORDER_OUT_RET, HC_BORDER_IN_RET   write the kept value back into [RSP+8] (the wrapper's own
 *                                         pop %rax; ret then returns there)
 *   anything else                         RAX = -1 (HC_ENOSYS)
 * RIP moves past the 3-byte VMMCALL. Counts are in /sys/module/gnohv/parameters/.
 */
#include <linux/kdebug.h>
#include <linux/module.h>
#include <linux/ptrace.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>
#include <asm/traps.h>

#define HC_GUARD_INIT      0x50530100ul
#define HC_GUARD_DEINIT    0x50530101ul
#define HC_BORDER_IN_CALL  0x50530102ul
#define HC_BORDER_OUT_RET  0x50530103ul
#define HC_BORDER_OUT_CALL 0x50530104ul
#define HC_BORDER_IN_RET   0x50530105ul

static unsigned long calls, restored, unmatched;
module_param(calls, ulong, 0444);
MODULE_PARM_DESC(calls, "VMMCALLs answered");
module_param(restored, ulong, 0444);
MODULE_PARM_DESC(restored, "return addresses written back");
module_param(unmatched, ulong, 0444);
MODULE_PARM_DESC(unmatched, "second hypercalls of a crossing with no kept return address");

/*
 * Kept return addresses by slot (a stack address); when all are in use the oldest goes. One slot
 * can hold several at once, taken back newest first: an entry point that tail-calls a kernel
 * function (e1000_set_rx_mode ends in `jmp kfree`) enters the exit wrapper with its own return
 * address, the entry wrapper's continuation, in the very slot where the entry wrapper's caller's
 * return address is kept.
 */
#define SLOTS 256
static struct {
    unsigned long slot, value, seq;
} kept[SLOTS];
static unsigned long seq;
static DEFINE_RAW_SPINLOCK(lock);

static void keep(unsigned long slot, unsigned long value)
{
    unsigned int i, victim = 0;
    for (i = 0; i < SLOTS; i++) {
        if (!kept[i].slot) {
            victim = i;
            break;
        }
        if (kept[i].seq < kept[victim].seq)
            victim = i;
    }
    kept[victim].slot = slot;
    kept[victim].value = value;
    kept[victim].seq = ++seq;
}

static bool take(unsigned long slot, unsigned long *value)
{
    unsigned int i, found = SLOTS;
    for (i = 0; i < SLOTS; i++)
        if (kept[i].slot == slot && (found == SLOTS || kept[i].seq > kept[found].seq))
            found = i;
    if (found == SLOTS)
        return false;
    *value = kept[found].value;
    kept[found].slot = 0;
    return true;
}

static int gnohv_trap(struct notifier_block *nb, unsigned long val, void *data)
{
    struct die_args *args = data;
    struct pt_regs *regs = args->regs;
    static const u8 vmmcall[3] = { 0x0f, 0x01, 0xd9 }, lea_rax_rip[3] = { 0x48, 0x8d, 0x05 };
    u8 insn[6];
    unsigned long nr, slot, value, flags;

    if (val != DIE_TRAP || args->trapnr != X86_TRAP_UD || !regs || user_mode(regs))
        return NOTIFY_DONE;
    if (copy_from_kernel_nofault(insn, (void *)regs->ip, sizeof(insn)) || memcmp(insn, vmmcall, 3))
        return NOTIFY_DONE;
    nr = regs->ax;
    slot = regs->sp + 8;
    raw_spin_lock_irqsave(&lock, flags);
    calls++;
    switch (nr) {
    case HC_GUARD_INIT:
    case HC_GUARD_DEINIT:
        regs->ax = 0;
        break;
    case HC_BORDER_IN_CALL:
    case HC_BORDER_OUT_CALL:
        if (!memcmp(insn + 3, lea_rax_rip, 3) && !copy_from_kernel_nofault(&value, (void *)slot, 8))
            keep(slot, value);
        regs->ax = 0;
        break;
    case HC_BORDER_OUT_RET:
    case HC_BORDER_IN_RET:
        if (take(slot, &value)) {
            *(unsigned long *)slot = value; /* the stack slot the first hypercall read */
            restored++;
        } else {
            unmatched++; /* the init wrapper's last crossing: its return address was never moved */
        }
        regs->ax = 0;
        break;
    default:
        regs->ax = (unsigned long)-1l;
        break;
    }
    raw_spin_unlock_irqrestore(&lock, flags);
    regs->ip += 3;
    return NOTIFY_STOP;
}

static struct notifier_block gnohv_nb = {
    .notifier_call = gnohv_trap, .priority = INT_MAX, /* before anything that would turn the #UD into an oops */
};

static int __init gnohv_init(void)
{
    int rc = register_die_notifier(&gnohv_nb);
    if (!rc)
        printk(KERN_INFO "gnohv: no hypervisor: answering VMMCALL from kernel modules\n");
    return rc;
}

static void __exit gnohv_exit(void)
{
    unregister_die_notifier(&gnohv_nb);
    printk(KERN_INFO "gnohv: unloaded after %lu calls, %lu return addresses restored, %lu unmatched\n", calls, restored,
           unmatched);
}

module_init(gnohv_init);
module_exit(gnohv_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Postern tests: answer guarded-module hypercalls when no hypervisor runs");
