// SPDX-License-Identifier: GPL-2.0
/*
 * gcpu: an ordinary (unguarded) module that runs the privileged CPU instructions the event tests
 * need at CPL 0 (hvprobe, in user space, would only get #GP for them):
 *   echo VALUE > /sys/module/gcpu/parameters/hwcr   RDMSR HWCR (C001_0015h), WRMSR VALUE, RDMSR again
 *                                                   (^MASK: write what was read with MASK's bits flipped)
 *   echo "MSR VALUE" > /sys/module/gcpu/parameters/wrmsr   the same for any MSR ("^MASK" flips bits too),
 *                                                   printed "gcpu: msr 0x... before ... wrote ... after ..."
 *   echo 1 > /sys/module/gcpu/parameters/invd       a store, then INVD, then reads the stored value
 *   echo 1 > /sys/module/gcpu/parameters/redeliver  asks the hypervisor (HC_TEST_UNMAP_ONCE) to take
 *                                                   this stack's page(s) out of the nested map, then
 *                                                   waits with IF=1, touching no stack, for the next
 *                                                   timer tick: its delivery pushes the interrupt
 *                                                   frame there, a nested fault interrupts it, and
 *                                                   the tick arrives only if the hypervisor delivers
 *                                                   it again (docs/events.md)
 * Every result is printed as "gcpu: ..." for the test scripts to read (hvprobe hwcr / hvprobe invd
 * drive these files and print the kernel's answer).
 */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/kernel.h>
#include <asm/msr.h>
#include <linux/mm.h>
#include <linux/vmalloc.h>
#include <linux/jiffies.h>
#include <linux/delay.h>
#include <linux/io.h>
#include <asm/apicdef.h>

#define HC_TEST_UNMAP_ONCE 0x50530013ul

#define MSR_HWCR 0xc0010015

static int set_hwcr(const char *val, const struct kernel_param *kp)
{
    u64 want, before = 0, after = 0;
    bool flip = val[0] == '^';
    int werr, rerr;

    if (kstrtoull(val + flip, 0, &want))
        return -EINVAL;
    rerr = rdmsrl_safe(MSR_HWCR, &before);
    if (flip)
        want ^= before;
    werr = wrmsrl_safe(MSR_HWCR, want);
    rerr |= rdmsrl_safe(MSR_HWCR, &after);
    printk(KERN_INFO "gcpu: hwcr before 0x%llx wrote 0x%llx (%s) after 0x%llx (%s)\n", before, want,
           werr ? "#GP" : "ok", after, rerr ? "read #GP" : "read ok");
    return 0;
}

/* "MSR VALUE": RDMSR, WRMSR, RDMSR, each allowed to fault (the MSR policy test, docs/msr.md). */
static int set_wrmsr(const char *val, const struct kernel_param *kp)
{
    char buf[64], *sp;
    unsigned int msr;
    u64 want, before = 0, after = 0;
    bool flip;
    int werr, rerr1, rerr2;

    strscpy(buf, val, sizeof(buf));
    sp = strchr(buf, ' ');
    if (!sp)
        return -EINVAL;
    *sp++ = 0;
    flip = *sp == '^';
    if (kstrtouint(buf, 0, &msr) || kstrtoull(strim(sp + flip), 0, &want))
        return -EINVAL;
    rerr1 = rdmsrl_safe(msr, &before);
    if (flip)
        want ^= before;
    werr = wrmsrl_safe(msr, want);
    rerr2 = rdmsrl_safe(msr, &after);
    printk(KERN_INFO "gcpu: msr 0x%x before 0x%llx (%s) wrote 0x%llx (%s) after 0x%llx (%s)\n", msr, before,
           rerr1 ? "read #GP" : "read ok", want, werr ? "#GP" : "ok", after, rerr2 ? "read #GP" : "read ok");
    return 0;
}

static volatile u64 canary;

static int set_invd(const char *val, const struct kernel_param *kp)
{
    unsigned long flags;
    u64 seen;

    local_irq_save(flags);
    canary = 0x1234abcd5678ef00ull;
    asm volatile("invd" ::: "memory");
    seen = canary;
    local_irq_restore(flags);
    /* INVD done as WBINVD (the hypervisor's) keeps the store; a real INVD may throw it away. */
    printk(KERN_INFO "gcpu: invd done, store %s (0x%llx)\n", seen == 0x1234abcd5678ef00ull ? "kept" : "lost", seen);
    return 0;
}

static phys_addr_t stack_phys(unsigned long va)
{
    struct page *p = is_vmalloc_addr((void *)va) ? vmalloc_to_page((void *)va) : virt_to_page((void *)va);
    return page_to_phys(p);
}

static int set_redeliver(const char *val, const struct kernel_param *kp)
{
    unsigned long flags, rsp, lo, hi, j0, j1, rax = HC_TEST_UNMAP_ONCE, rbx, rcx;
    volatile unsigned long *jp = (volatile unsigned long *)&jiffies;

    local_irq_save(flags);
    rsp = current_stack_pointer;
    /* the CPU pushes 40 bytes below RSP (aligned to 16); the pages below and at RSP go */
    lo = (rsp - 128) & PAGE_MASK;
    hi = (rsp - 1) & PAGE_MASK;
    rbx = stack_phys(lo);
    rcx = hi != lo ? stack_phys(hi) : 0;
    j0 = *jp;
    /* From the hypercall to the tick's delivery: registers only, no stack. */
    asm volatile("vmmcall\n\t"
                 "test %%rax, %%rax\n\t"
                 "jnz 2f\n\t"
                 "sti\n\t"
                 "1: cmp (%[jp]), %[j0]\n\t"
                 "je 1b\n\t"
                 "cli\n\t"
                 "2:"
                 : "+a"(rax), "+b"(rbx), "+c"(rcx)
                 : [jp] "r"(jp), [j0] "r"(j0)
                 : "memory", "cc");
    j1 = *jp;
    local_irq_restore(flags);
    printk(KERN_INFO "gcpu: redeliver: hypercall %ld, jiffies %lu -> %lu (%s)\n", (long)rax, j0, j1,
           j1 != j0 ? "the tick arrived" : "no tick");
    return 0;
}

static const struct kernel_param_ops redeliver_ops = { .set = set_redeliver };
module_param_cb(redeliver, &redeliver_ops, NULL, 0200);

/*
 * ipi: "HOW ICR" writes the 64-bit interrupt command ICR (hex) to the local APIC, HOW = xapic (the
 * MMIO page: ICR_HIGH at 310h first, then ICR_LOW at 300h) or x2apic (WRMSR 830h, which faults
 * unless the APIC is in x2APIC mode). The init-refused case sends INIT and SIPI with it.
 */
static int set_ipi(const char *val, const struct kernel_param *kp)
{
    char how[8];
    unsigned long long icr;
    unsigned long flags;
    int err = 0;

    if (sscanf(val, "%7s %llx", how, &icr) != 2)
        return -EINVAL;
    local_irq_save(flags);
    if (!strcmp(how, "xapic")) {
        void __iomem *apic = ioremap(APIC_DEFAULT_PHYS_BASE, PAGE_SIZE);
        if (!apic) {
            err = -ENOMEM;
        } else {
            writel((u32)(icr >> 32), apic + 0x310);
            writel((u32)icr, apic + 0x300);
            iounmap(apic);
        }
    } else if (!strcmp(how, "x2apic")) {
        err = wrmsr_safe(0x830, (u32)icr, (u32)(icr >> 32)) ? -EIO : 0;
    } else {
        err = -EINVAL;
    }
    local_irq_restore(flags);
    printk(KERN_INFO "gcpu: ipi %s 0x%llx: %s\n", how, icr,
           err == -EIO ? "faulted (#GP)"
           : err       ? "not sent"
                       : "written");
    return err == -EIO ? 0 : err;
}

static const struct kernel_param_ops ipi_ops = { .set = set_ipi };
module_param_cb(ipi, &ipi_ops, NULL, 0200);

static const struct kernel_param_ops hwcr_ops = { .set = set_hwcr };
static const struct kernel_param_ops invd_ops = { .set = set_invd };
static const struct kernel_param_ops wrmsr_ops = { .set = set_wrmsr };
module_param_cb(hwcr, &hwcr_ops, NULL, 0200);
module_param_cb(wrmsr, &wrmsr_ops, NULL, 0200);
module_param_cb(invd, &invd_ops, NULL, 0200);

static int __init gcpu_init(void)
{
    printk(KERN_INFO "gcpu: loaded\n");
    return 0;
}

static void __exit gcpu_exit(void) {}

module_init(gcpu_init);
module_exit(gcpu_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Postern event and MSR tests: HWCR and other MSR writes, INVD and IPIs at CPL 0");
