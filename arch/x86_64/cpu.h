/* x86-64 instructions the hypervisor needs, as inline functions. Not SVM/VMX specific. */
#ifndef POSTERN_X86_CPU_H
#define POSTERN_X86_CPU_H

#include "lib/types.h"

#define MSR_EFER            0xc0000080u
#define MSR_VM_CR           0xc0010114u
#define MSR_VM_HSAVE_PA     0xc0010117u
#define MSR_SYSCFG          0xc0010010u
#define MSR_SMM_BASE        0xc0010111u
#define MSR_SMM_ADDR        0xc0010112u
#define MSR_SMM_MASK        0xc0010113u
#define MSR_HWCR            0xc0010015u /* AMD: hardware configuration (INVDWBINVD, SmmLock, ...) */
#define HWCR_INVDWBINVD     BIT(4)      /* INVD writes dirty lines back, like WBINVD */
#define MSR_PAT             0x00000277u
#define MSR_FS_BASE         0xc0000100u
#define MSR_GS_BASE         0xc0000101u
#define MSR_FEATURE_CONTROL 0x0000003au /* Intel: VMX enable and lock */

#define EFER_SCE  BIT(0)
#define EFER_LME  BIT(8)
#define EFER_LMA  BIT(10)
#define EFER_NXE  BIT(11)
#define EFER_SVME BIT(12)

#define CR0_PE    BIT(0)
#define CR0_PG    BIT(31)
#define CR4_PAE   BIT(5)
#define RFLAGS_IF BIT(9)

struct cpuid_regs {
    u32 eax, ebx, ecx, edx;
};

static inline struct cpuid_regs cpuid(u32 leaf, u32 subleaf)
{
    struct cpuid_regs r;
    __asm__ volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx) : "a"(leaf), "c"(subleaf));
    return r;
}

/* Execute-disable (CPUID 8000_0001h EDX bit 20). */
static inline bool cpu_has_nx(void)
{
    return cpuid(0x80000000u, 0).eax >= 0x80000001u && (cpuid(0x80000001u, 0).edx & (1u << 20));
}

/* The 12-character vendor string of CPUID leaf 0 ("AuthenticAMD", "GenuineIntel", ...). */
static inline void cpu_vendor(char out[13])
{
    struct cpuid_regs r;
    __asm__ volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx) : "a"(0), "c"(0));
    __builtin_memcpy(out + 0, &r.ebx, 4);
    __builtin_memcpy(out + 4, &r.edx, 4);
    __builtin_memcpy(out + 8, &r.ecx, 4);
    out[12] = 0;
}

static inline u64 rdmsr(u32 msr)
{
    u32 lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((u64)hi << 32) | lo;
}

static inline void wrmsr(u32 msr, u64 v)
{
    __asm__ volatile("wrmsr" ::"c"(msr), "a"((u32)v), "d"((u32)(v >> 32)) : "memory");
}

/* RDMSR and WRMSR that return false where the CPU raises #GP (no such MSR, a refused value) instead
 * of stopping the hypervisor: for accesses made on the guest's behalf (msr_safe.asm, traps.c). */
bool msr_read_safe(u32 msr, u64 *value);
bool msr_write_safe(u32 msr, u64 value);

static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(port)); }
static inline u8 inb(u16 port)
{
    u8 v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline void outw(u16 port, u16 v) { __asm__ volatile("outw %0, %1" ::"a"(v), "Nd"(port)); }
static inline void outl(u16 port, u32 v) { __asm__ volatile("outl %0, %1" ::"a"(v), "Nd"(port)); }
static inline u16 inw(u16 port)
{
    u16 v;
    __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
static inline u32 inl(u16 port)
{
    u32 v;
    __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

/* A port access of 1, 2 or 4 bytes, as the guest's IN/OUT made it (the value in the low bytes). */
static inline u32 port_in_sized(u16 port, unsigned size)
{
    return size == 1 ? inb(port) : size == 2 ? inw(port) : inl(port);
}

static inline void port_out_sized(u16 port, unsigned size, u32 value)
{
    if (size == 1)
        outb(port, (u8)value);
    else if (size == 2)
        outw(port, (u16)value);
    else
        outl(port, value);
}

static inline u64 read_cr0(void)
{
    u64 v;
    __asm__ volatile("mov %%cr0, %0" : "=r"(v));
    return v;
}
#ifdef HOST_TEST
static inline u64 read_cr2(void) { return 0xc2c2; }
#else
static inline u64 read_cr2(void)
{
    u64 v;
    __asm__ volatile("mov %%cr2, %0" : "=r"(v));
    return v;
}
#endif
static inline u64 read_cr3(void)
{
    u64 v;
    __asm__ volatile("mov %%cr3, %0" : "=r"(v));
    return v;
}
static inline u64 read_cr4(void)
{
    u64 v;
    __asm__ volatile("mov %%cr4, %0" : "=r"(v));
    return v;
}
static inline void write_cr3(u64 v) { __asm__ volatile("mov %0, %%cr3" ::"r"(v) : "memory"); }
static inline void write_cr0(u64 v) { __asm__ volatile("mov %0, %%cr0" ::"r"(v) : "memory"); }
static inline void write_cr4(u64 v) { __asm__ volatile("mov %0, %%cr4" ::"r"(v) : "memory"); }
#ifndef HOST_TEST
/* CR2 is not switched by VT-x: the hardware register is the guest's while the hypervisor runs. */
static inline void write_cr2(u64 v) { __asm__ volatile("mov %0, %%cr2" ::"r"(v) : "memory"); }
#endif
/* Write back and invalidate every cache line (what Postern does for a guest INVD). */
static inline void wbinvd(void) { __asm__ volatile("wbinvd" ::: "memory"); }
static inline u64 read_rflags(void)
{
    u64 v;
    __asm__ volatile("pushfq; popq %0" : "=r"(v));
    return v;
}
static inline u64 rdtsc(void)
{
    u32 lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((u64)hi << 32) | lo;
}

static inline void cpu_relax(void) { __asm__ volatile("pause"); }

/* A random 64-bit value from RDRAND (CPUID.1:ECX bit 30); false when the CPU has none or it did not
 * deliver after a few tries (Intel's guidance: retry up to 10 times). */
static inline bool rdrand64(u64 *out)
{
    if (!(cpuid(1, 0).ecx & (1u << 30)))
        return false;
    for (int i = 0; i < 10; i++) {
        u8 ok;
        __asm__ volatile("rdrand %0; setc %1" : "=r"(*out), "=qm"(ok)::"cc");
        if (ok)
            return true;
    }
    return false;
}

#ifdef HOST_TEST
/* Host-side tests link code that ends in a halt: they catch it instead (e.g. with longjmp). */
NORETURN void host_test_halt(void);
static inline void cli(void) {}
static inline NORETURN void cpu_halt_forever(void) { host_test_halt(); }
#else
static inline void cli(void) { __asm__ volatile("cli" ::: "memory"); }

/* Stop this CPU for good: used after a fatal error and when the guest is gone. */
static inline NORETURN void cpu_halt_forever(void)
{
    for (;;)
        __asm__ volatile("cli; hlt");
}
#endif

#endif
