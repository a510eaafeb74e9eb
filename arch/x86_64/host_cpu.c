/* See host_cpu.h. */
#include "arch/x86_64/host_cpu.h"
#include "arch/x86_64/cpu.h"
#include "lib/lib.h"
#include "lib/phys.h"

#define PTE_P  BIT(0)
#define PTE_RW BIT(1)
#define PTE_PS BIT(7)

#define CPUID_EXT_PAGE1GB BIT(26) /* CPUID 0x80000001 EDX */

static u8 host_stack[HOST_STACK_SIZE] __attribute__((aligned(4096)));
static u8 host_tss[104] __attribute__((aligned(16)));
static u64 host_gdt[5] __attribute__((aligned(16)));

void host_cpu_run_on_own_stack(void (*fn)(void *), void *arg)
{
    u64 top = (u64)(uintptr_t)(host_stack + sizeof(host_stack)); /* 16-aligned: the call pushes 8 */

    __asm__ volatile("mov %0, %%rsp\n\t"
                     "xor %%ebp, %%ebp\n\t"
                     "call *%1\n\t"
                     "ud2" ::"r"(top),
                     "r"(fn), "D"(arg)
                     : "memory");
    __builtin_unreachable();
}

u64 host_cpu_tss_base(void) { return (u64)(uintptr_t)host_tss; }

void host_cpu_load_gdt(void)
{
    struct PACKED {
        u16 limit;
        u64 base;
    } g = { sizeof(host_gdt) - 1, (u64)(uintptr_t)host_gdt };
    u64 tss = (u64)(uintptr_t)host_tss;

    host_gdt[0] = 0;
    host_gdt[HOST_CS / 8] = 0x00af9b000000ffffull; /* P, DPL0, code exec/read accessed, L=1, G=1 */
    host_gdt[HOST_DS / 8] = 0x00cf93000000ffffull; /* P, DPL0, data read/write accessed, D/B=1, G=1 */
    /* 64-bit available TSS (type 9), present, limit 0x67 (SDM Vol. 3A §8.2.3) */
    host_gdt[HOST_TR / 8] = 0x67 | ((tss & 0xffffff) << 16) | (0x89ull << 40) | (((tss >> 24) & 0xff) << 56);
    host_gdt[HOST_TR / 8 + 1] = tss >> 32;
    __asm__ volatile("lgdt %0\n\t"
                     "pushq %1\n\t"
                     "leaq 1f(%%rip), %%rax\n\t"
                     "pushq %%rax\n\t"
                     "lretq\n"
                     "1:\n\t"
                     "mov %2, %%ds\n\t"
                     "mov %2, %%es\n\t"
                     "mov %2, %%ss\n\t"
                     "mov %2, %%fs\n\t"
                     "mov %2, %%gs\n\t"
                     "ltr %w3" ::"m"(g),
                     "i"((u64)HOST_CS), "r"((u32)HOST_DS), "r"((u32)HOST_TR)
                     : "rax", "memory");
}

u32 host_cpu_phys_bits(void)
{
    if (cpuid(0x80000000, 0).eax < 0x80000008)
        return 36;
    return cpuid(0x80000008, 0).eax & 0xff;
}

bool host_cpu_has_1g_pages(void)
{
    return cpuid(0x80000000, 0).eax >= 0x80000001 && (cpuid(0x80000001, 0).edx & CPUID_EXT_PAGE1GB);
}

u64 host_cpu_own_page_tables(hpa_t (*alloc_page)(void))
{
    u32 bits = host_cpu_phys_bits();
    u64 limit = bits >= 48 ? (1ull << 48) : (1ull << bits), pages = 1;
    bool huge = host_cpu_has_1g_pages();
    hpa_t pml4 = alloc_page();

    if (!pml4)
        return 0;
    for (u64 a = 0; a < limit; a += GiB(512)) {
        hpa_t pdpt = alloc_page();
        if (!pdpt)
            return 0;
        pages++;
        ((u64 *)phys_to_virt(pml4))[a / GiB(512)] = pdpt | PTE_P | PTE_RW;
        for (u64 g = 0; g < 512 && a + g * GiB(1) < limit; g++) {
            u64 base = a + g * GiB(1);
            u64 *e = (u64 *)phys_to_virt(pdpt) + g;
            if (huge) {
                *e = base | PTE_P | PTE_RW | PTE_PS;
                continue;
            }
            hpa_t pd = alloc_page();
            if (!pd)
                return 0;
            pages++;
            for (u64 m = 0; m < 512; m++)
                ((u64 *)phys_to_virt(pd))[m] = (base + m * MiB(2)) | PTE_P | PTE_RW | PTE_PS;
            *e = pd | PTE_P | PTE_RW;
        }
    }
    write_cr3(pml4);
    return pages;
}
