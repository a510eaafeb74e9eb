// SPDX-License-Identifier: GPL-2.0
/*
 * gidle: the guarded idle loop of the ICAC 2014 paper, as a test module. christoize turns it into
 * a guarded module bound to the `idle` privilege: while it holds it, its HLT (and MONITOR/MWAIT)
 * run natively instead of exiting to the hypervisor (docs/idle.md). The same source built as an
 * ordinary module (gidleplain, guest-images/modules.sh) is the same idling done by ordinary
 * guest code, whose HLTs exit as usual.
 *
 * /proc/NAME (NAME = the module's name):
 *   write "hlt N"    execute HLT with interrupts enabled N times (each wakes at the next interrupt)
 *   write "mwait N"  MONITOR a line of our own, then MWAIT (hints 0, no extensions) N times
 *   read             what the last write did: "op=hlt n=N cycles=C"
 * Every HLT/MWAIT is inline here: an indirect call to the kernel's safe_halt would leave the module.
 */
#include <linux/module.h>
#include <linux/proc_fs.h>
#include <linux/uaccess.h>

static const char *last_op = "none";
static unsigned int last_n;
static unsigned long long last_cycles;
static unsigned long monitored __attribute__((aligned(64)));

static inline unsigned long long tsc(void)
{
    unsigned int lo, hi;
    asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((unsigned long long)hi << 32) | lo;
}

static void idle_hlt(unsigned int n)
{
    /* STI;HLT: interrupts are on in a write callback anyway; the STI's shadow makes the pair
     * atomic as the kernel's own safe_halt does. */
    for (unsigned int i = 0; i < n; i++)
        asm volatile("sti; hlt" ::: "memory");
}

static void idle_mwait(unsigned int n)
{
    for (unsigned int i = 0; i < n; i++) {
        /* MONITOR rax=address, ecx=extensions, edx=hints; MWAIT eax=hints, ecx=extensions. */
        asm volatile(".byte 0x0f, 0x01, 0xc8" ::"a"(&monitored), "c"(0), "d"(0));
        asm volatile("sti; .byte 0x0f, 0x01, 0xc9" ::"a"(0), "c"(0) : "memory");
    }
}

static ssize_t gidle_write(struct file *f, const char __user *buf, size_t len, loff_t *pos)
{
    char cmd[32] = { 0 };
    unsigned int n;
    unsigned long long t0;

    if (copy_from_user(cmd, buf, min(len, sizeof(cmd) - 1)))
        return -EFAULT;
    if (sscanf(cmd, "hlt %u", &n) == 1) {
        t0 = tsc();
        idle_hlt(n);
        last_op = "hlt";
    } else if (sscanf(cmd, "mwait %u", &n) == 1) {
        if (!boot_cpu_has(X86_FEATURE_MWAIT))
            return -EOPNOTSUPP;
        t0 = tsc();
        idle_mwait(n);
        last_op = "mwait";
    } else {
        return -EINVAL;
    }
    last_cycles = tsc() - t0;
    last_n = n;
    return len;
}

static ssize_t gidle_read(struct file *f, char __user *buf, size_t len, loff_t *pos)
{
    char out[96];
    int n = scnprintf(out, sizeof(out), "op=%s n=%u cycles=%llu\n", last_op, last_n, last_cycles);
    return simple_read_from_buffer(buf, len, pos, out, n);
}

static const struct proc_ops gidle_ops = {
    .proc_read = gidle_read,
    .proc_write = gidle_write,
};

static int __init gidle_init(void)
{
    if (!proc_create(KBUILD_MODNAME, 0666, NULL, &gidle_ops))
        return -ENOMEM;
    printk(KERN_INFO "%s: loaded\n", KBUILD_MODNAME);
    return 0;
}

static void __exit gidle_exit(void) { remove_proc_entry(KBUILD_MODNAME, NULL); }

module_init(gidle_init);
module_exit(gidle_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Postern guarded idle loop (test module)");
