// SPDX-License-Identifier: GPL-2.0
/*
 * gevil: an ordinary (unguarded) module playing the untrusted kernel in the attack tests.
 *   echo 1 > /sys/module/gevil/parameters/raise     a border-in hypercall from a site no metadata lists
 *   echo ADDR > /sys/module/gevil/parameters/write  write to a guarded module's text with CR0.WP
 *                                cleared, so only the hypervisor's nested page tables stand in the way
 *   gevil_tamper()               called by gtest through its exit wrapper: redirects its own
 *                                return into gevil_landing, which looks at the privilege there
 * Every result is printed as "gevil: ..." for the test scripts to read.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/uaccess.h>
#include <asm/asm.h>

#define HC_TEST_PRIVILEGED 0x50530010ul
#define HC_BORDER_IN_CALL  0x50530102ul


static long hypercall(unsigned long nr, unsigned long *rbx)
{
    unsigned long rax = nr, b = 0;
    asm volatile("vmmcall" : "+a"(rax), "+b"(b) : : "rcx", "rdx", "memory");
    if (rbx)
        *rbx = b;
    return (long)rax;
}

static long privileged(void)
{
    unsigned long p = 0;
    return hypercall(HC_TEST_PRIVILEGED, &p) == 0 ? (long)p : -1;
}

/* gevil_tamper's genuine return address, kept while the landing pad looks around. */
unsigned long genuine_return; /* global: the landing pad's asm names it */
long gevil_landing_seen = -2;

void gevil_landing(void);
asm(".pushsection .text\n"
    ".globl gevil_landing\n"
    "gevil_landing:\n"
    "  push %rax\n"
    "  push %rdi\n"
    "  call gevil_look\n"
    "  pop %rdi\n"
    "  pop %rax\n"
    "  jmp *genuine_return(%rip)\n"
    ".popsection\n");

void gevil_look(void);
void gevil_look(void)
{
    gevil_landing_seen = privileged();
    printk(KERN_INFO "gevil: tampered return landed with privilege %ld\n", gevil_landing_seen);
}

/* Called by the guarded module (through its exit wrapper): the return address on the stack is
 * the wrapper's continuation. Redirect it to gevil_landing, which then goes on to it. */
noinline int gevil_tamper(int x)
{
    unsigned long *slot = __builtin_frame_address(0) + sizeof(void *);
    genuine_return = *slot;
    *slot = (unsigned long)gevil_landing;
    printk(KERN_INFO "gevil: return address redirected, privilege now %ld\n", privileged());
    return x + 1;
}
EXPORT_SYMBOL_GPL(gevil_tamper);

static int set_raise(const char *val, const struct kernel_param *kp)
{
    long r = hypercall(HC_BORDER_IN_CALL, NULL);
    printk(KERN_INFO "gevil: unlisted border-in hypercall returned %ld, privilege now %ld\n", r, privileged());
    return 0;
}

/* One byte store whose fault (the hypervisor's #GP) is caught by an exception-table fixup. */
static int write_byte_nofault(unsigned char *p, unsigned char v)
{
    int err = 0;
    asm volatile("1: movb %2, %1\n"
                 "2:\n" _ASM_EXTABLE_TYPE_REG(1b, 2b, EX_TYPE_EFAULT_REG, %0)
                 : "+r"(err), "=m"(*p)
                 : "q"(v));
    return err;
}

static int set_write(const char *val, const struct kernel_param *kp)
{
    unsigned long addr, cr0, flags;
    unsigned char before, after, flipped;
    long rc;

    if (kstrtoul(val, 0, &addr))
        return -EINVAL;
    if (copy_from_kernel_nofault(&before, (void *)addr, 1))
        return -EFAULT;
    flipped = before ^ 0xff;
    local_irq_save(flags);
    asm volatile("mov %%cr0, %0" : "=r"(cr0));
    asm volatile("mov %0, %%cr0" ::"r"(cr0 & ~(1ul << 16)) : "memory"); /* WP off */
    rc = write_byte_nofault((unsigned char *)addr, flipped);
    asm volatile("mov %0, %%cr0" ::"r"(cr0) : "memory");
    local_irq_restore(flags);
    copy_from_kernel_nofault(&after, (void *)addr, 1);
    printk(KERN_INFO "gevil: write to guarded text at 0x%lx: rc %ld, byte %s\n", addr, rc,
           after == before ? "unchanged" : "CHANGED");
    return 0;
}

static const struct kernel_param_ops raise_ops = {.set = set_raise};
static const struct kernel_param_ops write_ops = {.set = set_write};
module_param_cb(raise, &raise_ops, NULL, 0200);
module_param_cb(write, &write_ops, NULL, 0200);

static int __init gevil_init(void)
{
    printk(KERN_INFO "gevil: loaded, privilege here %ld\n", privileged());
    return 0;
}

static void __exit gevil_exit(void) {}

module_init(gevil_init);
module_exit(gevil_exit);
MODULE_LICENSE("GPL");
