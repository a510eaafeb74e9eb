// SPDX-License-Identifier: GPL-2.0
/*
 * gtest: the guarded module of the integration tests. Unmodified kernel-module code; christoize
 * turns it into a guarded module. /proc/gtest answers with what the `test` privilege looked like
 * from inside each kind of code path:
 *   read    init, the read callback, after a call out (printk), a nested callback (sort's
 *           compare, called by the kernel while the module is out), after a spin long enough
 *           for timer interrupts to arrive while privileged, and the text address
 *   write   "evilcall" calls gevil_tamper(), an unguarded kernel function that redirects its
 *           own return: the hypervisor must give back privilege only on the genuine return;
 *           "indirect ADDR" calls the kernel function at ADDR through a plain function pointer
 *           (no exit wrapper: christoize wraps only direct calls), as a module bug or a corrupted
 *           pointer would; the attack suite asks whether privilege leaves with it;
 *           "private" takes a page, hands it to the hypervisor as the module's private memory
 *           (HC_GUARD_PRIVATE, from inside the border) and writes a secret into it; the attack
 *           suite then tries to read it from outside
 * Built under other names (modules.sh: gtest1 ... gtest11 for the many-modules test) the /proc file
 * and the log lines take the module's name, and GTEST_ID adds that many NOPs to init so that each
 * copy has a text (and a text hash) of its own.
 * gtest_probe is the target of the attack suite's "jump into the middle of the module": its first
 * instruction carries a marker gevil finds in the text, the rest asks for the privilege.
 */
#include <linux/module.h>
#include <linux/stringify.h>
#include <linux/proc_fs.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/uaccess.h>

#define HC_TEST_PRIVILEGED 0x50530010ul /* docs/hypercalls.md */
#define HC_GUARD_PRIVATE   0x50530106ul
#define GTEST_SECRET       "POSTERN-PRIVATE-SECRET"

/* The private page, kept for the module's lifetime (the hypervisor zeroes and returns it at
 * deinit; it is not freed here: the kernel may not touch it while it is private). */
static char *gtest_private;

static long test_privileged(void)
{
    unsigned long rax = HC_TEST_PRIVILEGED, rbx = 0;
    asm volatile("vmmcall" : "+a"(rax), "+b"(rbx) : : "rcx", "rdx", "memory");
    return rax == 0 ? (long)rbx : -1;
}

/* Never called by gtest itself: the first instruction is a marker ("GTESTMID" as an immediate) for
 * gevil to find; entering after it, the rest returns HC_TEST_PRIVILEGED's RBX (RBX preserved). */
asm(".pushsection .text\n"
    ".type gtest_probe, @function\n"
    "gtest_probe:\n"
    "  movabs $0x44494d5453455447, %rax\n"
    "  mov %rbx, %r11\n"
    "  mov $0x50530010, %eax\n"
    "  xor %ebx, %ebx\n"
    "  vmmcall\n"
    "  xchg %rbx, %r11\n"
    "  mov %r11, %rax\n"
    "  ret\n"
    ".size gtest_probe, . - gtest_probe\n"
    ".popsection\n");

static long at_init, in_cmp = -2;
static int cmp_calls;

static int gtest_cmp(const void *a, const void *b)
{
    in_cmp = test_privileged();
    cmp_calls++;
    return *(const int *)a - *(const int *)b;
}

static inline unsigned long long tsc(void)
{
    unsigned int lo, hi;
    asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((unsigned long long)hi << 32) | lo;
}

/* gevil's, when it is loaded first (weak: gtest also loads without it). */
extern int gevil_tamper(int x) __attribute__((weak));

static ssize_t gtest_read(struct file *f, char __user *buf, size_t len, loff_t *pos)
{
    char *out = kmalloc(512, GFP_KERNEL);
    int values[8] = { 5, 3, 8, 1, 9, 2, 7, 4 };
    long in_read, after_printk, after_spin;
    unsigned long long t0;
    ssize_t n;

    if (!out)
        return -ENOMEM;
    in_read = test_privileged();
    printk(KERN_INFO "gtest: read callback\n");
    after_printk = test_privileged();
    sort(values, 8, sizeof(int), gtest_cmp, NULL);
    /* ~200 M cycles with interrupts on: timer ticks arrive while privileged. */
    t0 = tsc();
    while (tsc() - t0 < 200000000ull)
        cpu_relax();
    after_spin = test_privileged();
    n = scnprintf(out, 512,
                  "init=%ld read=%ld after_printk=%ld nested_cmp=%ld cmp_calls=%d sorted=%d after_spin=%ld text=%px\n",
                  at_init, in_read, after_printk, in_cmp, cmp_calls, values[0] == 1 && values[7] == 9, after_spin,
                  (void *)gtest_read);
    n = simple_read_from_buffer(buf, len, pos, out, n);
    kfree(out);
    return n;
}

static ssize_t gtest_write(struct file *f, const char __user *buf, size_t len, loff_t *pos)
{
    char cmd[40] = { 0 };
    unsigned long target;
    if (copy_from_user(cmd, buf, min(len, sizeof(cmd) - 1)))
        return -EFAULT;
    if (!strncmp(cmd, "indirect ", 9) && !kstrtoul(strim(cmd + 9), 16, &target)) {
        long (*volatile fn)(void) = (long (*)(void))target;
        long r = fn();
        printk(KERN_INFO "gtest: indirect call returned %ld, privileged after it: %ld\n", r, test_privileged());
    }
    if (!strncmp(cmd, "private", 7) && !gtest_private) {
        unsigned long page = __get_free_page(GFP_KERNEL), rax = HC_GUARD_PRIVATE, rbx = page, rcx = 1;
        if (page)
            asm volatile("vmmcall" : "+a"(rax), "+b"(rbx), "+c"(rcx) : : "rdx", "memory");
        char shown[sizeof(GTEST_SECRET)] = "";
        if (page && rax == 0) {
            gtest_private = (char *)page;
            strcpy(gtest_private, GTEST_SECRET);
            /* read back here, inside the border: printk (the kernel) may not touch the page */
            memcpy(shown, gtest_private, sizeof(shown));
        }
        printk(KERN_INFO "gtest: private page at %px: status %ld, reads \"%s\" inside the border\n", (void *)page,
               (long)rax, shown);
    }
    if (!strncmp(cmd, "evilcall", 8) && gevil_tamper) {
        int r = gevil_tamper(41);
        printk(KERN_INFO "gtest: evilcall returned %d, privileged after it: %ld\n", r, test_privileged());
    }
    return len;
}

static const struct proc_ops gtest_ops = {
    .proc_read = gtest_read,
    .proc_write = gtest_write,
};

static int __init gtest_init(void)
{
    at_init = test_privileged();
#ifdef GTEST_ID
    asm volatile(".skip " __stringify(GTEST_ID) ", 0x90");
#endif
#ifdef GTEST_V0
    printk(KERN_INFO "gtest: version 0\n"); /* an older text (modules.sh: the replay attack) */
#endif
    if (!proc_create(KBUILD_MODNAME, 0666, NULL, &gtest_ops))
        return -ENOMEM;
    printk(KERN_INFO KBUILD_MODNAME ": loaded, privileged at init: %ld\n", at_init);
    return 0;
}

static void __exit gtest_exit(void)
{
    remove_proc_entry(KBUILD_MODNAME, NULL);
    printk(KERN_INFO KBUILD_MODNAME ": unloaded, privileged at exit: %ld\n", test_privileged());
}

module_init(gtest_init);
module_exit(gtest_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Postern guarded-module integration test");
