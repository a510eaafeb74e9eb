// SPDX-License-Identifier: GPL-2.0
/*
 * gevil: an ordinary (unguarded) module playing the untrusted kernel in the attack tests.
 *   echo 1 > /sys/module/gevil/parameters/raise     a border-in hypercall from a site no metadata lists
 *   echo ADDR > /sys/module/gevil/parameters/write  write to a guarded module's text with CR0.WP
 *                                cleared, so only the hypervisor's nested page tables stand in the way
 *   gevil_tamper()               called by gtest through its exit wrapper: redirects its own
 *                                return into gevil_landing, which looks at the privilege there
 * and for the attack suite (tests/attacks/, docs/security.md):
 *   gevil_indirect_target()      a kernel function gtest calls through a plain function pointer
 *                                (no exit wrapper): it reports the privilege it runs with
 *   echo ADDR > .../jump         ADDR is any address in a guarded module (gtest): call into the
 *                                middle of its marked probe function, skipping its first instruction
 *                                (from a kernel thread: a faulting fetch kills only that thread)
 *   echo ADDR > .../jumpsite     jump straight onto the module's border-in-ret hypercall (an exit
 *                                wrapper's second half) without the border-out that goes before it
 *   echo HEX > .../claim         a registration hypercall from gevil claiming HEX (gtest's text hash)
 *   echo 1 > .../badcalls        every invalid hypercall number and bad pointers, from CPL 0
 *   echo 1|0 > .../irqpoke       start/stop a 1 ms timer whose handler touches the NIC's BAR0 and
 *                                counts the interrupts that arrived while gdma (holding `nic`) ran
 *   echo ADDR|0 > .../remap      point the guest page tables' mapping of gtest's text page at a
 *                                modified copy (0: back to the original)
 * Every result is printed as "gevil: ..." for the test scripts to read.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/uaccess.h>
#include <linux/hrtimer.h>
#include <linux/kallsyms.h>
#include <linux/kthread.h>
#include <linux/completion.h>
#include <asm/pgtable.h>
#include <asm/tlbflush.h>
#include <linux/io.h>
#include <linux/pci.h>
#include <linux/vmalloc.h>
#include <asm/asm.h>
#include <asm/irq_regs.h>

#define HC_TEST_PRIVILEGED 0x50530010ul
#define HC_GUARD_INIT      0x50530100ul
#define HC_BORDER_IN_CALL  0x50530102ul
#define HC_BORDER_IN_RET   0x50530105ul


static long hypercall(unsigned long nr, unsigned long *rbx)
{
    unsigned long rax = nr, b = 0;
    asm volatile("vmmcall" : "+a"(rax), "+b"(b) : : "rcx", "rdx", "memory");
    if (rbx)
        *rbx = b;
    return (long)rax;
}

/* RAX = nr, RBX = b: everything else preserved. */
static long hypercall_b(unsigned long nr, unsigned long b)
{
    unsigned long rax = nr;
    asm volatile("vmmcall" : "+a"(rax), "+b"(b) : : "rcx", "rdx", "memory");
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
    /* %0 is an asm operand inside the macro's text, not a remainder: clang-format would split it */
    /* clang-format off */
    asm volatile("1: movb %2, %1\n"
                 "2:\n" _ASM_EXTABLE_TYPE_REG(1b, 2b, EX_TYPE_EFAULT_REG, %0)
                 : "+r"(err), "=m"(*p)
                 : "q"(v));
    /* clang-format on */
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

/* ---------------------------------------------------------------- the attack suite's additions */

/* Called by gtest through a function pointer it was handed: no exit wrapper on the way out. */
noinline long gevil_indirect_target(void)
{
    long p = privileged();
    printk(KERN_INFO "gevil: indirect call from the module ran with privilege %ld\n", p);
    return p;
}

/* Linux 6.1 exports no module lookup by address but kallsyms': "func+0x1/0x2 [gtest]". */
static bool in_module(unsigned long addr, const char *name)
{
    char sym[KSYM_SYMBOL_LEN], want[MODULE_NAME_LEN + 2];
    sprint_symbol(sym, addr);
    snprintf(want, sizeof(want), "[%s]", name);
    return strstr(sym, want) != NULL;
}

/* The first copy of pat in the pages around addr (a small module's whole text) that lies in gtest. */
static const u8 *find_near(unsigned long addr, const u8 *pat, unsigned long n)
{
    static u8 buf[6 * PAGE_SIZE];
    unsigned long start = (addr & PAGE_MASK) - 2 * PAGE_SIZE, i;
    for (i = 0; i < 6; i++)
        if (copy_from_kernel_nofault(buf + i * PAGE_SIZE, (void *)(start + i * PAGE_SIZE), PAGE_SIZE))
            memset(buf + i * PAGE_SIZE, 0, PAGE_SIZE);
    for (i = 0; i + n <= sizeof(buf); i++)
        if (!memcmp(buf + i, pat, n) && in_module(start + i, "gtest"))
            return (const u8 *)(start + i);
    return NULL;
}

/* The jump runs in a kernel thread of its own: should the hypervisor stop the fetch with an
 * exception (a hardware-enforced border may), the oops takes that thread, not the sysfs writer
 * holding gevil's parameter lock, and the other attacks go on. */
static DECLARE_COMPLETION(jump_done);
static long jump_seen;

static int jump_thread(void *mid)
{
    jump_seen = ((long (*)(void))mid)();
    complete(&jump_done);
    return 0;
}

/* gtest's probe begins with `movabs $"GTESTMID", %rax` (10 bytes); its middle is right after. */
static int set_jump(const char *val, const struct kernel_param *kp)
{
    static const u8 marker[10] = { 0x48, 0xb8, 'G', 'T', 'E', 'S', 'T', 'M', 'I', 'D' };
    struct task_struct *t;
    unsigned long addr;
    const u8 *at;
    void *mid;

    if (kstrtoul(val, 0, &addr))
        return -EINVAL;
    at = find_near(addr, marker, sizeof(marker));
    if (!at) {
        printk(KERN_INFO "gevil: jump: no probe marker in the module's text\n");
        return -ENOENT;
    }
    mid = (void *)(at + sizeof(marker));
    reinit_completion(&jump_done);
    t = kthread_run(jump_thread, mid, "gevil-jump");
    if (IS_ERR(t))
        return PTR_ERR(t);
    if (wait_for_completion_timeout(&jump_done, 5 * HZ))
        printk(KERN_INFO "gevil: jump into the middle of the module at %px ran with privilege %ld\n", mid, jump_seen);
    else
        printk(KERN_INFO "gevil: jump into the middle of the module at %px did not return (the fetch faulted)\n", mid);
    return 0;
}

/* An exit wrapper's second half: `mov $HC_BORDER_IN_RET, %eax; vmmcall; pop %rax; ret`, entered
 * with the wrapper's stack (the saved RAX over a return address) but no border-out before it. */
static int set_jumpsite(const char *val, const struct kernel_param *kp)
{
    static const u8 in_ret[8] = { 0xb8, 0x05, 0x01, 0x53, 0x50, 0x0f, 0x01, 0xd9 };
    unsigned long addr, flags;
    const u8 *at;

    if (kstrtoul(val, 0, &addr))
        return -EINVAL;
    at = find_near(addr, in_ret, sizeof(in_ret));
    if (!at) {
        printk(KERN_INFO "gevil: jumpsite: no border-in-ret site in the module's text\n");
        return -ENOENT;
    }
    local_irq_save(flags);
    asm volatile("lea 1f(%%rip), %%r11\n\t"
                 "push %%r11\n\t"
                 "push %%rax\n\t"
                 "jmp *%0\n"
                 "1:"
                 :
                 : "r"(at), "a"(0ul)
                 : "r11", "memory", "cc");
    local_irq_restore(flags);
    printk(KERN_INFO "gevil: jump onto the border-in-ret site at %px: privilege now %ld\n", at, privileged());
    return 0;
}

static int set_claim(const char *val, const struct kernel_param *kp)
{
    u8 hash[32];
    long r;

    if (strlen(val) < 64 || hex2bin(hash, val, 32))
        return -EINVAL;
    r = hypercall_b(HC_GUARD_INIT, (unsigned long)hash);
    printk(KERN_INFO "gevil: registration claiming the hash %*phN returned %ld, privilege now %ld\n", 8, hash, r,
           privileged());
    return 0;
}

static bool answered_number(unsigned long nr)
{
    /* the numbers every caller may use (docs/hypercalls.md): they succeed by design */
    return nr == 0x50530000 || nr == 0x50530001 || nr == 0x50530010 || nr == 0x50530011 || nr == 0x50530012 ||
           nr == 0x50530013;
}

static int set_badcalls(const char *val, const struct kernel_param *kp)
{
    static const unsigned long odd[] = { 0,          1,          0x5053,      0x5052ffff,         0x50540000,
                                         0x5053ffff, 0xffffffff, 0x150530100, 0x8000000050530102, ~0ul,
                                         0x50530106, 0x505301ff, 0x50530200 };
    unsigned long bad_ptrs[8];
    unsigned long nr, calls = 0, refused = 0, granted = 0, crossings = 0;
    u8 *page = vmalloc(PAGE_SIZE);
    long r;
    int i;

    /* every number of the prefix's low 512 and a few outside it */
    for (nr = 0x50530000; nr < 0x50530200; nr++) {
        if (answered_number(nr) || (nr >= 0x50530100 && nr <= 0x50530105))
            continue;
        r = hypercall_b(nr, 0);
        calls++, refused += r < 0, granted += privileged() != 0;
    }
    for (i = 0; i < ARRAY_SIZE(odd); i++) {
        r = hypercall_b(odd[i], 0);
        calls++, refused += r < 0, granted += privileged() != 0;
    }
    /* registration with pointers that are no 32-byte hash in guest memory: NULL, user, non-canonical,
     * wrapping, unmapped kernel, and one whose 32 bytes cross into vmalloc's unmapped guard page */
    bad_ptrs[0] = 0;
    bad_ptrs[1] = 0x1000;
    bad_ptrs[2] = 0xdead000000000000ul;
    bad_ptrs[3] = ~0ul - 7;
    bad_ptrs[4] = 0xffffffffff600000ul - 0x1000000;
    bad_ptrs[5] = page ? (unsigned long)page + PAGE_SIZE - 16 : 0;
    bad_ptrs[6] = 0x7ffffffff000ul;
    bad_ptrs[7] = (unsigned long)&calls; /* readable, but no module's hash */
    for (i = 0; i < ARRAY_SIZE(bad_ptrs); i++) {
        r = hypercall_b(HC_GUARD_INIT, bad_ptrs[i]);
        calls++, refused += r < 0, granted += privileged() != 0;
    }
    /* each crossing number from a site no metadata lists, with the stack a wrapper would have:
     * [rsp] = RAX, [rsp+8] = the return address (here: label 1). Border-in/out calls return no
     * status (the wrapper pops RAX); whatever the hypervisor does, execution goes on at 1. */
    for (nr = 0x50530101; nr <= 0x50530105; nr++) {
        unsigned long flags, rax = nr;
        local_irq_save(flags);
        asm volatile("lea 1f(%%rip), %%r11\n\t"
                     "push %%r11\n\t"
                     "push %%rax\n\t"
                     "vmmcall\n\t"
                     "add $16, %%rsp\n"
                     "1:"
                     : "+a"(rax)
                     :
                     : "r11", "memory", "cc");
        local_irq_restore(flags);
        calls++, crossings++, granted += privileged() != 0;
    }
    vfree(page);
    printk(KERN_INFO "gevil: badcalls %lu invalid hypercalls: %lu refused with an error, %lu crossings from no "
                     "site (no status by design), %lu succeeded, %lu left a privilege\n",
           calls, refused, crossings, calls - refused - crossings, granted);
    return 0;
}

/* Remapping a registered module's text in the guest's own page tables: the hypervisor protected
 * and hashed the guest-physical pages behind the text's addresses at registration; the kernel
 * points those addresses at a copy (one byte of gtest's probe marker changed, so it is no longer
 * the verified text) and the module's next border-in runs from it. echo 0 puts the page back. */
static pte_t *remap_pte;
static pte_t remap_old;
static struct page *remap_copy;
static unsigned long remap_va;

static int set_remap(const char *val, const struct kernel_param *kp)
{
    static const u8 marker[10] = { 0x48, 0xb8, 'G', 'T', 'E', 'S', 'T', 'M', 'I', 'D' };
    unsigned long addr, off;
    unsigned int level;
    const u8 *at;
    u8 *copy;

    if (kstrtoul(val, 0, &addr))
        return -EINVAL;
    if (!addr) {
        if (remap_pte) {
            native_set_pte(remap_pte, remap_old);
            asm volatile("invlpg (%0)" ::"r"(remap_va) : "memory");
            __free_page(remap_copy);
            remap_pte = NULL;
            printk(KERN_INFO "gevil: remap undone\n");
        }
        return 0;
    }
    if (remap_pte)
        return -EBUSY;
    at = find_near(addr, marker, sizeof(marker));
    if (!at)
        return -ENOENT;
    remap_va = (unsigned long)at & PAGE_MASK;
    remap_pte = lookup_address(remap_va, &level);
    if (!remap_pte || level != PG_LEVEL_4K) {
        remap_pte = NULL;
        return -EINVAL;
    }
    remap_copy = alloc_page(GFP_KERNEL);
    if (!remap_copy) {
        remap_pte = NULL;
        return -ENOMEM;
    }
    copy = page_address(remap_copy);
    memcpy(copy, (void *)remap_va, PAGE_SIZE);
    off = (unsigned long)at - remap_va;
    copy[off + 2] = 'g'; /* "gTESTMID": the copy is no longer the text the metadata signs */
    remap_old = *remap_pte;
    native_set_pte(remap_pte, pfn_pte(page_to_pfn(remap_copy), pte_pgprot(remap_old)));
    asm volatile("invlpg (%0)" ::"r"(remap_va) : "memory");
    printk(KERN_INFO "gevil: remapped module text page 0x%lx from pfn 0x%lx to a copy at pfn 0x%lx, marker now %.8s\n",
           remap_va, pte_pfn(remap_old), page_to_pfn(remap_copy), (const char *)at + 2);
    return 0;
}

/* The NIC poke from an interrupt handler: a 1 ms hrtimer. */
static struct hrtimer poke_timer;
static void __iomem *nic_bar;
static unsigned long poke_inside, poke_inside_nonzero, poke_outside, poke_writes;
static bool poking;

static enum hrtimer_restart poke_tick(struct hrtimer *t)
{
    struct pt_regs *regs = get_irq_regs();
    u32 status, ral;

    if (regs && !user_mode(regs) && in_module(regs->ip, "gdma")) {
        status = readl(nic_bar + 0x0008);
        ral = readl(nic_bar + 0x5400);
        poke_inside++;
        poke_inside_nonzero += status || ral;
        if (poke_writes < 2) { /* IMC: mask every interrupt (gdma masks them anyway) */
            writel(~0u, nic_bar + 0x00d8);
            poke_writes++;
        }
    } else {
        poke_outside++;
    }
    hrtimer_forward_now(t, ms_to_ktime(1));
    return HRTIMER_RESTART;
}

static int set_irqpoke(const char *val, const struct kernel_param *kp)
{
    bool on;
    struct pci_dev *pdev;

    if (kstrtobool(val, &on))
        return -EINVAL;
    if (on && !poking) {
        pdev = pci_get_device(0x8086, 0x100e, NULL);
        if (!pdev)
            return -ENODEV;
        nic_bar = ioremap(pci_resource_start(pdev, 0), 0x6000);
        pci_dev_put(pdev);
        if (!nic_bar)
            return -ENOMEM;
        poke_inside = poke_inside_nonzero = poke_outside = poke_writes = 0;
        hrtimer_init(&poke_timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL_HARD);
        poke_timer.function = poke_tick;
        hrtimer_start(&poke_timer, ms_to_ktime(1), HRTIMER_MODE_REL_HARD);
        poking = true;
        printk(KERN_INFO "gevil: irqpoke started\n");
    } else if (!on && poking) {
        hrtimer_cancel(&poke_timer);
        iounmap(nic_bar);
        poking = false;
        printk(KERN_INFO "gevil: irqpoke: %lu interrupts inside gdma, %lu of them saw the device, %lu writes tried, "
                         "%lu interrupts elsewhere\n",
               poke_inside, poke_inside_nonzero, poke_writes, poke_outside);
    }
    return 0;
}

/* Read a guarded module's private memory from outside its border (the attack suite's
 * "private-memory"): in a kernel thread of its own, so a fault kills that thread only. */
static DECLARE_COMPLETION(peek_done);
static char peek_seen[24];

static int peek_thread(void *addr)
{
    memcpy(peek_seen, addr, sizeof(peek_seen) - 1);
    complete(&peek_done);
    return 0;
}

static int set_peek(const char *val, const struct kernel_param *kp)
{
    struct task_struct *t;
    unsigned long addr;

    if (kstrtoul(val, 16, &addr))
        return -EINVAL;
    memset(peek_seen, 0, sizeof(peek_seen));
    reinit_completion(&peek_done);
    t = kthread_run(peek_thread, (void *)addr, "gevil-peek");
    if (IS_ERR(t))
        return PTR_ERR(t);
    if (wait_for_completion_timeout(&peek_done, 5 * HZ))
        printk(KERN_INFO "gevil: peek at %lx read \"%s\"\n", addr, peek_seen);
    else
        printk(KERN_INFO "gevil: peek at %lx did not return (the read faulted)\n", addr);
    return 0;
}

static const struct kernel_param_ops raise_ops = { .set = set_raise };
static const struct kernel_param_ops peek_ops = { .set = set_peek };
static const struct kernel_param_ops write_ops = { .set = set_write };
static const struct kernel_param_ops jump_ops = { .set = set_jump };
static const struct kernel_param_ops jumpsite_ops = { .set = set_jumpsite };
static const struct kernel_param_ops claim_ops = { .set = set_claim };
static const struct kernel_param_ops badcalls_ops = { .set = set_badcalls };
static const struct kernel_param_ops irqpoke_ops = { .set = set_irqpoke };
static const struct kernel_param_ops remap_ops = { .set = set_remap };
module_param_cb(raise, &raise_ops, NULL, 0200);
module_param_cb(peek, &peek_ops, NULL, 0200);
module_param_cb(write, &write_ops, NULL, 0200);
module_param_cb(jump, &jump_ops, NULL, 0200);
module_param_cb(jumpsite, &jumpsite_ops, NULL, 0200);
module_param_cb(claim, &claim_ops, NULL, 0200);
module_param_cb(badcalls, &badcalls_ops, NULL, 0200);
module_param_cb(irqpoke, &irqpoke_ops, NULL, 0200);
module_param_cb(remap, &remap_ops, NULL, 0200);

static int __init gevil_init(void)
{
    printk(KERN_INFO "gevil: loaded, privilege here %ld, indirect target at %px\n", privileged(),
           gevil_indirect_target);
    return 0;
}

static void __exit gevil_exit(void)
{
    if (poking) {
        hrtimer_cancel(&poke_timer);
        iounmap(nic_bar);
    }
    set_remap("0", NULL);
}

module_init(gevil_init);
module_exit(gevil_exit);
MODULE_LICENSE("GPL");
