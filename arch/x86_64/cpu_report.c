/* See cpu_report.h. */
#include "arch/x86_64/cpu_report.h"
#include "arch/x86_64/cpu.h"
#include "lib/lib.h"
#include "lib/platform_report.h"

#define MSR_APIC_BASE       0x1b
#define APIC_BASE_X2APIC_ON BIT(10)
#define CPUID1_ECX_X2APIC   BIT(21)
#define CPUID1_ECX_HV       BIT(31)

static void cpu_fill(struct report_sink *s, const void *ctx)
{
    struct cpuid_regs r1 = cpuid(1, 0), ext = cpuid(0x80000000u, 0);
    u32 family = (r1.eax >> 8) & 0xf, model = (r1.eax >> 4) & 0xf, stepping = r1.eax & 0xf;
    char vendor[13], brand[49] = "";
    u64 apic_base;

    cpu_vendor(vendor);
    if (family == 0xf)
        family += (r1.eax >> 20) & 0xff;
    if (family >= 6)
        model |= ((r1.eax >> 16) & 0xf) << 4;
    if (ext.eax >= 0x80000004u) {
        for (u32 i = 0; i < 3; i++) {
            struct cpuid_regs b = cpuid(0x80000002u + i, 0);
            memcpy(brand + 16 * i + 0, &b.eax, 4);
            memcpy(brand + 16 * i + 4, &b.ebx, 4);
            memcpy(brand + 16 * i + 8, &b.ecx, 4);
            memcpy(brand + 16 * i + 12, &b.edx, 4);
        }
        brand[48] = 0;
    }
    report_line(s, "%s family 0x%x model 0x%x stepping %u (CPUID 1 EAX 0x%08x)", vendor, family, model, stepping,
                r1.eax);
    if (brand[0])
        report_line(s, "%s", brand);
    apic_base = rdmsr(MSR_APIC_BASE);
    report_line(s, "NX %s; x2APIC %s, %s by the firmware; %s", cpu_has_nx() ? "yes" : "no (no execute-only border)",
                (r1.ecx & CPUID1_ECX_X2APIC) ? "offered" : "not offered",
                (apic_base & APIC_BASE_X2APIC_ON) ? "on" : "left off",
                (r1.ecx & CPUID1_ECX_HV) ? "running under another hypervisor" : "bare metal (no hypervisor bit)");
}

void cpu_report_register(void) { platform_report_add(REPORT_CPU, cpu_fill, NULL); }
