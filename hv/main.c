/*
 * hv_main: from the loader's hand-over to a running guest. The steps, in order:
 * console → traps → page allocator → virtualization on → guest RAM (ACPI copy, Linux boot
 * protocol) → nested page tables → vCPU → run until the guest stops. The hypervisor then stays
 * up, reports, and halts; it never resets the machine on the guest's behalf.
 */
#include <stdarg.h>
#include "core/boot_info.h"
#include "platform/acpi_guest.h"
#include "platform/legacy_platform.h"
#include "guard/border.h"
#include "guard/border_views.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/traps.h"
#include "drivers/uart/uart16550.h"
#include "console/console.h"
#include "lib/timebase.h"
#include "exits.h"
#include "core/guest_layout.h"
#include "core/guest_mem.h"
#include "core/guest_physmap.h"
#include "core/hypercall.h"
#include "guard/idle.h"
#include "guard/privilege.h"
#include "lib/lib.h"
#include "platform/linux_boot.h"
#include "lib/log.h"
#include "core/npt.h"
#include "lib/page_alloc.h"
#include "pci/pci_policy.h"
#include "core/panic.h"
#include "crypto/sha256.h"
#include "core/vcpu.h"
#include "core/vm.h"
#include "core/cpuid_policy.h"

/* A page of hypervisor memory with a known string, for the isolation test (HC_TEST_CANARY). */
const char hv_canary[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE))) = HV_CANARY_STRING;

const struct vcpu_ops *vcpu_ops;
static struct vcpu vcpu0;
struct vm vm0;
/* The privileges the VM's components offer (the guarded device's, test, idle): border control
 * binds guarded modules to them. */
static struct privilege_registry privs;

static hpa_t alloc_table_page(void) { return page_alloc(&hv_pages, 1, 1); }

/* rep stosq: guest RAM is hundreds of MiB and byte loops are slow under emulation. */
static void zero_memory(void *p, u64 bytes)
{
    u64 count = bytes / 8;
    __asm__ volatile("rep stosq" : "+D"(p), "+c"(count) : "a"(0ull) : "memory");
}

/* The hypervisor's own measurement of what it is about to run (the same SHA-256 that verifies
 * guarded modules), so the log says exactly which kernel the guest is. */
static void log_kernel_hash(const struct boot_file *f)
{
    u8 h[SHA256_LEN];
    char hex[2 * SHA256_LEN + 1];

    sha256(phys_to_virt(f->addr), f->size, h);
    for (int i = 0; i < SHA256_LEN; i++)
        fmt_snprintf(hex + 2 * i, 3, "%02x", h[i]);
    LOG("guest kernel %s sha256 %s", f->path, hex);
}

static u32 bsp_apic_id(void) { return cpuid(1, 0).ebx >> 24; }

static struct cpuid_out host_cpuid(u32 leaf, u32 subleaf)
{
    struct cpuid_regs r = cpuid(leaf, subleaf);
    return (struct cpuid_out){ r.eax, r.ebx, r.ecx, r.edx };
}

/* The CPUID the guest is shown, from this CPU's own leaves; its CR4 and XCR0 are checked against it. */
static void guest_cpuid_init(void)
{
    const struct cpuid_policy *p = &guest_cpuid;
    cpuid_policy_init(&guest_cpuid, host_cpuid);
    LOG("cpuid: guest CPUID from this CPU's own leaves (family 0x%x model 0x%x): 1:ECX 0x%x EDX 0x%x, 7:EBX 0x%x "
        "ECX 0x%x EDX 0x%x, 8000_0001:ECX 0x%x EDX 0x%x; XCR0 may hold 0x%llx; CR4 may hold 0x%llx",
        cpuid_family(p->leaf1_eax), cpuid_model(p->leaf1_eax), p->leaf1_ecx, p->leaf1_edx, p->leaf7_ebx, p->leaf7_ecx,
        p->leaf7_edx, p->ext1_ecx, p->ext1_edx, (unsigned long long)p->xcr0_supported,
        (unsigned long long)~cpuid_policy_cr4_reserved(p));
}

static void build_nested_map(const struct boot_info *bi, const struct guest_mem *gm)
{
    struct phys_range win[PHYSMAP_MAX_WINDOWS];
    int n;

    if (!npt_init(&vm0.npt, vcpu_ops->nested_format(), alloc_table_page))
        panic("out of hypervisor memory for the nested page tables");
    if (!npt_map(&vm0.npt, 0, gm->hpa, gm->size, NPT_RWX))
        panic("out of hypervisor memory mapping guest RAM");
    n = physmap_device_windows(bi->mem, bi->mem_count, gm->size, win, PHYSMAP_MAX_WINDOWS);
    if (n < 0)
        panic("the host memory map has more than %d device windows below 4 GiB", PHYSMAP_MAX_WINDOWS);
    for (int i = 0; i < n; i++) {
        LOG("device window 0x%llx-0x%llx passed through", (unsigned long long)win[i].base,
            (unsigned long long)(win[i].base + win[i].size - 1));
        if (!npt_map(&vm0.npt, win[i].base, win[i].base, win[i].size, NPT_READ | NPT_WRITE | NPT_UNCACHED))
            panic("out of hypervisor memory mapping device windows");
    }
    /* No ECAM window is mapped: the guest reaches configuration space only through the emulated
     * ports 0xCF8/0xCFC (hv/pci/pci_policy.c), and its ACPI copy has no MCFG. */
    LOG("nested page tables: guest RAM 0x0-0x%llx -> host 0x%llx, %llu table pages", (unsigned long long)(gm->size - 1),
        (unsigned long long)gm->hpa, (unsigned long long)vm0.npt.tables);
}

static struct iommu_info iommu;

/* The machine or the config cannot give what the config asks for (not a hypervisor bug, so no
 * panic report): say why, once, and stop before any guest code runs. */
static NORETURN PRINTF_LIKE(1, 2) void refuse_to_start(const char *fmt, ...)
{
    char buf[200];
    va_list ap;

    va_start(ap, fmt);
    fmt_vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    LOG("cannot start the guest: %s", buf);
    LOG("hypervisor halted: change postern.cfg (docs/boot.md) or the machine, then restart");
    cpu_halt_forever();
}

/* Find the IOMMU (always: even unused, it must be hidden from the guest) and, unless the config
 * says off, confine every device's DMA to guest RAM. */
static void setup_iommu(const struct boot_info *bi, const struct guest_mem *gm)
{
    char err[160];

    if (!bi->acpi_rsdp)
        iommu.kind = IOMMU_NONE; /* no ACPI tables, so no IVRS or DMAR */
    else if (iommu_discover(bi->acpi_rsdp, &iommu, err, sizeof(err)) != 0)
        refuse_to_start("iommu: %s", err);
    if (iommu.kind == IOMMU_NONE) {
        if (bi->iommu_mode == BOOT_IOMMU_REQUIRED)
            refuse_to_start(
                "iommu = required, but the firmware's ACPI tables describe no IOMMU (no IVRS or DMAR table)");
        LOG("iommu: none found: device DMA is not confined");
        return;
    }
    if (bi->iommu_mode == BOOT_IOMMU_OFF) {
        LOG("iommu: %s present but off by configuration: device DMA is not confined", iommu_kind_name(iommu.kind));
        return;
    }
    if (iommu_enable(&iommu, gm, err, sizeof(err)) != 0)
        refuse_to_start("iommu: %s", err);
    LOG("iommu: %s enabled: device DMA confined to guest RAM (0x0-0x%llx -> host 0x%llx), %llu table pages",
        iommu_kind_name(iommu.kind), (unsigned long long)(gm->size - 1), (unsigned long long)gm->hpa,
        (unsigned long long)iommu.table_pages);
}

static NORETURN void guest_gone(struct vcpu *v)
{
    LOG("%s", v->stop_reason ? v->stop_reason : "guest stopped");
    vcpu_ops->report_exits(v);
    border_report(&vm0);
    privilege_idle_report();
    if (iommu.enabled)
        iommu_poll_faults(&iommu);
    pci_policy_report();
    struct console_stats cs;
    console_stats(&cs);
    LOG("console: the guest's COM1 took %llu interrupts (IRQ %u), %llu held while its pin was masked",
        (unsigned long long)cs.edges_sent, GUEST_COM1_IRQ, (unsigned long long)cs.edges_held);
    LOG("hypervisor alive: guest stopped, machine left running (the admin shell has the serial line: reset restarts)");
    console_serve_forever();
}

void hv_main(struct boot_info *bi)
{
    char err[160];
    struct guest_mem *gm = &vm0.mem;
    struct acpi_guest_info acpi;
    struct guest_entry entry;
    struct linux_boot_layout layout;
    struct vcpu *v = &vcpu0;

    cli();
    uart_init(bi->serial_port, bi->serial_baud);
    LOG("hypervisor starting (image 0x%llx, %llu KiB)", (unsigned long long)bi->hv_image_base,
        (unsigned long long)(bi->hv_image_size >> 10));
    if (bi->magic != BOOT_INFO_MAGIC || bi->version != BOOT_INFO_VERSION)
        panic("boot_info magic/version mismatch: loader and hypervisor are from different builds");
    LOG("serial: this line is the 16550 at I/O port 0x%x, %u baud%s%s%s (hidden from the guest, whose COM1 is "
        "emulated)",
        bi->serial_port, bi->serial_baud,
        bi->serial_source == BOOT_SERIAL_CONFIG                                             ? ""
        : bi->serial_source == BOOT_SERIAL_PCI || bi->serial_source == BOOT_SERIAL_PCI_NONE ? " (serial = pci "
                                                                                            : " (serial = auto: ",
        bi->serial_source == BOOT_SERIAL_CONFIG ? "" : bi->serial_note,
        bi->serial_source == BOOT_SERIAL_CONFIG ? "" : ")");
    traps_init();
    timebase_init();
    page_alloc_init(&hv_pages, bi->hv_pool_base, bi->hv_pool_size);
    LOG("memory: hypervisor pool 0x%llx+%llu MiB, guest RAM 0x%llx+%llu MiB", (unsigned long long)bi->hv_pool_base,
        (unsigned long long)(bi->hv_pool_size >> 20), (unsigned long long)bi->guest_ram_base,
        (unsigned long long)(bi->guest_ram_size >> 20));

    if (!sha256_init_once())
        panic("out of hypervisor memory for SHA-256");
    log_kernel_hash(&bi->kernel);

    vcpu_ops = virt_backend();
    LOG("virtualization backend: %s", vcpu_ops->name);
    if (!vcpu_ops->enable(err, sizeof(err)))
        panic("%s", err);
    guest_cpuid_init();

    gm->hpa = bi->guest_ram_base;
    gm->hva = phys_to_virt(bi->guest_ram_base);
    gm->size = bi->guest_ram_size;
    zero_memory(gm->hva, gm->size);

    if (!bi->acpi_rsdp) {
        /* Firmware without ACPI (OVMF under Bochs: it takes its tables from QEMU's fw_cfg): the
         * guest boots without ACPI as on a legacy PC, and no IOMMU can be described. */
        memset(&acpi, 0, sizeof(acpi));
        LOG("guest ACPI: none (the firmware published no RSDP): the guest boots without ACPI, "
            "its interrupt wiring in an MP table");
    } else {
        if (acpi_guest_build(gm, bi->acpi_rsdp, bsp_apic_id(), &acpi, err, sizeof(err)) != 0)
            panic("guest ACPI tables: %s", err);
        LOG("guest ACPI: RSDP at 0x%llx, %u of %u CPUs visible, PM1a_CNT port 0x%x", (unsigned long long)acpi.rsdp_gpa,
            acpi.cpus_kept, acpi.cpus_in_madt, acpi.pm1a_cnt_port);
    }

    if (linux_boot_prepare(gm, phys_to_virt(bi->kernel.addr), bi->kernel.size,
                           bi->initrd.addr ? phys_to_virt(bi->initrd.addr) : NULL, bi->initrd.size, bi->cmdline,
                           acpi.rsdp_gpa, &entry, &layout, err, sizeof(err)) != 0)
        panic("guest kernel %s: %s", bi->kernel.path, err);
    LOG("guest kernel at 0x%llx (%llu KiB), initrd at 0x%llx (%llu KiB), entry 0x%llx",
        (unsigned long long)layout.kernel_gpa, (unsigned long long)(layout.kernel_size >> 10),
        (unsigned long long)layout.initrd_gpa, (unsigned long long)(layout.initrd_size >> 10),
        (unsigned long long)entry.rip);

    build_nested_map(bi, gm);
    setup_iommu(bi, gm);
    privilege_registry_init(&privs);
    if (pci_policy_init(bi, &acpi, &iommu, &privs, err, sizeof(err)) != 0)
        refuse_to_start("%s", err);
    /* Without ACPI the guest learns of its I/O APIC from an MP table (after PCI enumeration, whose
     * configuration access it uses; before the console, which takes the COM1 route from it). */
    if (!bi->acpi_rsdp && legacy_platform_setup(bi, gm, GUEST_COM1_IRQ, err, sizeof(err)) != 0)
        LOG("guest MP table: none (%s): the guest runs on the 8259 PIC alone", err);
    border_init(&vm0, &privs, bi);
    vm0.iommu = &iommu;
    console_setup(bi);

    v->vm = &vm0;
    /* The vCPU runs on this CPU, the only one Postern uses, and nothing else is scheduled here. */
    v->pinned = true;
    v->pcpu = bsp_apic_id();
    vm0.vcpu[0] = v;
    vm0.vcpu_count = 1;
    if (!vcpu_ops->create(v, &entry, vm0.npt.root, err, sizeof(err)))
        panic("%s", err);
    exits_watch_ports(v, acpi.pm1a_cnt_port, acpi.pm1b_cnt_port);
    console_attach_vcpu(v);
    pci_policy_attach_vcpu(v);
    panic_set_vcpu(v);

    LOG("starting guest: cmdline \"%s\"", bi->cmdline);
    for (u64 n = 1; v->state == VCPU_RUNNING; n++) {
        vcpu_ops->run_once(v);
        vm0.exits = n;
        /* The serial line: the administrator's keys and held guest output (hv/console/console.c). The
         * guest's own COM1 accesses and HLTs poll it too, so an idle or printing guest answers at once. */
        if ((n & 7) == 0)
            console_poll();
        /* A blocked DMA is reported soon after it happened, at the cost of one register read every
         * 8 exits. Soon matters: QEMU's VT-d has one fault-recording register, and a second fault
         * before the first is read is lost (measured: polling every 64 exits lost one of three
         * faults a device made within a few hundred exits). */
        if (iommu.enabled && (n & 7) == 0)
            iommu_poll_faults(&iommu);
        border_view_after_exit(v); /* last: the view this exit's border events call for */
    }
    guest_gone(v);
}
