/*
 * hv_main: from the loader's hand-over to a running guest. The steps, in order:
 * own stack → console → own GDT, traps → page allocator → own page tables → virtualization on →
 * the guest's memory map (the machine's, identity-mapped) → ACPI copy, Linux boot protocol →
 * nested page tables → vCPU → run until the guest stops. The hypervisor then stays
 * up, reports, and halts; it never resets the machine on the guest's behalf.
 */
#include "arch/x86_64/cpu_report.h"
#include "console/serial_report.h"
#include "core/events_report.h"
#include "core/memmap_report.h"
#include "drivers/iommu/iommu_report.h"
#include "lib/platform_report.h"
#include <stdarg.h>
#include "core/boot_info.h"
#include "platform/acpi_guest.h"
#include "platform/acpi_host.h"
#include "platform/legacy_platform.h"
#include "guard/border.h"
#include "guard/border_views.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/host_cpu.h"
#include "arch/x86_64/traps.h"
#include "drivers/uart/uart16550.h"
#include "drivers/fb/fbcon.h"
#include "console/console.h"
#include "lib/timebase.h"
#include "exits.h"
#include "apic_trap.h"
#include "core/guest_layout.h"
#include "core/guest_mem.h"
#include "core/guest_physmap.h"
#include "core/hypercall.h"
#include "guard/idle.h"
#include "guard/privilege.h"
#include "lib/lib.h"
#include "platform/e820.h"
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

/* The host tick's period (vcpu_ops->set_host_tick; docs/console.md "The host tick"): a 16550's
 * 16-byte receive FIFO fills in 1.4 ms at 115200 baud. */
#define HOST_TICK_MS 1

/* A page of hypervisor memory with a known string, for the isolation test (HC_TEST_CANARY). */
const char hv_canary[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE))) = HV_CANARY_STRING;

const struct vcpu_ops *vcpu_ops;
static struct vcpu vcpu0;
struct vm vm0;
/* The privileges the VM's components offer (the guarded device's, test, idle): border control
 * binds guarded modules to them. */
static struct privilege_registry privs;

/* The guest's physical address space: the machine's memory map with the hypervisor taken out. */
static struct guest_physmap physmap;
static struct e820_map guest_e820;

static hpa_t alloc_table_page(void) { return page_alloc(&hv_pages, 1, 1); }
static NORETURN PRINTF_LIKE(1, 2) void refuse_to_start(const char *fmt, ...);

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

/* Every page that is the hypervisor's: its image (code, data, stack), and what the loader
 * allocated for it (pool, boot_info, metadata files), which the firmware's map already calls
 * BOOT_MEM_HV; listed here as well so that nothing depends on the firmware keeping the type. */
static u32 hv_ranges(const struct boot_info *bi, struct phys_range *r)
{
    u32 n = 0;

    r[n++] = (struct phys_range){ bi->hv_image_base, bi->hv_image_size };
    r[n++] = (struct phys_range){ bi->hv_pool_base, bi->hv_pool_size };
    r[n++] = (struct phys_range){ (u64)(uintptr_t)bi, sizeof(*bi) };
    for (u32 i = 0; i < bi->gmeta_count && n < PHYSMAP_MAX_HV; i++)
        if (bi->gmeta[i].addr)
            r[n++] = (struct phys_range){ bi->gmeta[i].addr, bi->gmeta[i].size ? bi->gmeta[i].size : 1 };
    return n;
}

static void build_guest_map(const struct boot_info *bi, struct guest_mem *gm)
{
    struct phys_range hv[PHYSMAP_MAX_HV];
    char err[160];

    if (physmap_build(bi->mem, bi->mem_count, hv, hv_ranges(bi, hv), bi->guest_ram_cap, &physmap, err, sizeof(err)))
        refuse_to_start("%s", err);
    for (u32 i = 0; i < physmap.count; i++)
        LOG("memory map: 0x%llx-0x%llx %s", (unsigned long long)physmap.r[i].base,
            (unsigned long long)(physmap.r[i].base + physmap.r[i].size - 1), physmap_kind_name(physmap.r[i].kind));
    gm->ranges = physmap.ram;
    gm->count = physmap.ram_count;
    gm->hva_offset = 0; /* identity: phys_to_virt */
    gm->ram_bytes = physmap.ram_bytes;
    vm0.physmap = &physmap;
    LOG("memory: the guest's RAM is the machine's, identity-mapped: %llu MiB usable in %u ranges%s; the "
        "hypervisor's %llu KiB reserved",
        (unsigned long long)(physmap.ram_bytes >> 20), physmap.ram_count,
        physmap.capped_bytes ? " (guest_ram cap: the rest reserved)" : "",
        (unsigned long long)(physmap.hv_bytes >> 10));
    if (e820_build_guest(&physmap, &guest_e820, err, sizeof(err)))
        refuse_to_start("%s", err);
}

static bool map_identity(void *ctx, u64 base, u64 size, u32 perms) { return npt_map(ctx, base, base, size, perms); }

/* Identity over the CPU's whole physical address width: RAM write-back, firmware ranges and device
 * space uncached, the hypervisor's pages (and RAM beyond a cap) absent. */
static void build_nested_map(const struct boot_info *bi, const struct acpi_guest_info *acpi)
{
    u64 limit, leaves[3];

    if (!npt_init(&vm0.npt, vcpu_ops->nested_format(), alloc_table_page))
        panic("out of hypervisor memory for the nested page tables");
    limit = host_cpu_phys_bits() >= 48 ? npt_limit(&vm0.npt) : 1ull << host_cpu_phys_bits();
    if (!vm0.npt.fmt->large_pages) {
        /* 4 KiB leaves only (erratum 383 without its workaround): the whole physical width would
         * take gigabytes of tables, so device space ends at 4 GiB or the top of the memory map. */
        u64 top = GiB(4);
        for (u32 i = 0; i < physmap.count; i++)
            if (physmap.r[i].base + physmap.r[i].size > top)
                top = physmap.r[i].base + physmap.r[i].size;
        if (top < limit) {
            limit = top;
            LOG("nested page tables: 4 KiB leaves only: nothing mapped above 0x%llx (a 64-bit BAR there is "
                "unreachable for the guest)",
                (unsigned long long)(limit - 1));
        }
    }
    if (!physmap_for_each_mapping(&physmap, limit, map_identity, &vm0.npt))
        panic("out of hypervisor memory for the nested page tables");
    /* No trapped ECAM window is mapped (pci_policy_init unmaps them in every view too): the
     * guest's accesses there fault and are emulated. The PCI policy says which: a window it could
     * not trap (one on guest RAM) stays RAM. */
    struct pci_trapped_range trap[ACPI_MAX_ECAM];
    int ntrap = pci_policy_trapped_ranges(acpi, trap, ACPI_MAX_ECAM);
    for (int i = 0; i < ntrap; i++)
        if (!npt_unmap(&vm0.npt, trap[i].base, trap[i].size))
            panic("out of hypervisor memory unmapping the %s window", trap[i].what);
    /* What must stay the hypervisor's in device space: a memory-mapped UART's page, the framebuffer
     * the log is drawn on. */
    struct phys_range hide[CONSOLE_HIDDEN_MAX];
    int n = console_hidden_ranges(bi, hide, CONSOLE_HIDDEN_MAX);
    for (int i = 0; i < n; i++) {
        LOG("0x%llx-0x%llx (Postern's console) not mapped for the guest", (unsigned long long)hide[i].base,
            (unsigned long long)(hide[i].base + hide[i].size - 1));
        if (!npt_unmap(&vm0.npt, hide[i].base, hide[i].size))
            panic("out of hypervisor memory unmapping Postern's console");
    }
    npt_count_leaves(&vm0.npt, leaves);
    LOG("nested page tables (%s): identity up to 0x%llx, %llu table pages, leaves: %llu x 1 GiB, %llu x 2 MiB, "
        "%llu x 4 KiB",
        vm0.npt.fmt->name, (unsigned long long)(limit - 1), (unsigned long long)vm0.npt.tables,
        (unsigned long long)leaves[2], (unsigned long long)leaves[1], (unsigned long long)leaves[0]);
}

static struct iommu_info iommu;

/* The machine or the config cannot give what the config asks for (not a hypervisor bug, so no
 * panic report): say why, once, and stop before any guest code runs. */
static NORETURN PRINTF_LIKE(1, 2) void refuse_to_start(const char *fmt, ...)
{
    char buf[400];
    va_list ap;

    va_start(ap, fmt);
    fmt_vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    LOG("cannot start the guest: %s", buf);
    LOG("hypervisor halted: change postern.cfg (docs/boot.md) or the machine, then restart");
    uart_flush();
    cpu_halt_forever();
}

/* The firmware setup option that publishes the IOMMU, as the CPU's vendor names it. */
static const char *iommu_firmware_option(void)
{
    struct cpuid_regs r = cpuid(0, 0);
    return r.ebx == 0x68747541 /* "Auth"enticAMD */   ? "AMD IOMMU"
           : r.ebx == 0x756e6547 /* "Genu"ineIntel */ ? "VT-d"
                                                      : "the IOMMU";
}

/* Find the IOMMU (always: even unused, it must be hidden from the guest) and, unless the config
 * says off, confine every device's DMA to guest RAM. Without a usable IOMMU the guest does not
 * start, unless the administrator said iommu = off: then device DMA is not confined, and the log
 * (and the shell's status) say so. */
static void setup_iommu(const struct boot_info *bi, const struct guest_mem *gm)
{
    char err[200];
    int rc = 0;

    iommu.kind = IOMMU_NONE; /* no ACPI tables, so no IVRS or DMAR */
    if (bi->acpi_rsdp)
        rc = iommu_discover(bi->acpi_rsdp, &pci_host, &iommu, err, sizeof(err));
    if (bi->iommu_mode == BOOT_IOMMU_OFF) {
        iommu.off = true;
        if (rc)
            LOG("iommu: the firmware's table cannot be used (%s); iommu = off, so it is not needed", err);
        if (iommu.kind == IOMMU_NONE)
            LOG("iommu: none found, off by configuration: device DMA is not confined, and Postern's guarantees do "
                "not hold (docs/security.md)");
        else
            LOG("iommu: %s present but off by configuration: device DMA is not confined, and Postern's guarantees do "
                "not hold (docs/security.md)",
                iommu_kind_name(iommu.kind));
        return;
    }
    if (rc)
        refuse_to_start("iommu: %s (iommu = off accepts unconfined DMA)", err);
    if (iommu.kind == IOMMU_NONE)
        refuse_to_start("iommu = %s, but the firmware's ACPI tables describe no IOMMU (no IVRS or DMAR table), so "
                        "device DMA cannot be confined: turn on \"%s\" in the firmware setup, or set iommu = off to "
                        "run with DMA unconfined",
                        bi->iommu_mode == BOOT_IOMMU_REQUIRED ? "required" : "auto", iommu_firmware_option());
    /* The guest's RAM ranges, identity-mapped (guest-physical = host-physical). */
    static struct iommu_range ram[PHYSMAP_MAX_REGIONS];
    for (u32 i = 0; i < gm->count; i++)
        ram[i] = (struct iommu_range){ .gpa = gm->ranges[i].base,
                                       .hpa = gm->ranges[i].base,
                                       .size = gm->ranges[i].size,
                                       .perms = NPT_READ | NPT_WRITE };
    if (iommu_enable(&iommu, ram, gm->count, err, sizeof(err)) != 0)
        refuse_to_start("iommu: %s", err);
    LOG("iommu: %s enabled: device DMA confined to guest RAM (%u ranges, identity), %u unit(s) in %u segment(s), "
        "%u domain(s), %llu table pages",
        iommu_kind_name(iommu.kind), gm->count, iommu.units, iommu.segments, iommu.domains,
        (unsigned long long)iommu.table_pages);
}

static NORETURN void guest_gone(struct vcpu *v)
{
    LOG("%s", v->stop_reason ? v->stop_reason : "guest stopped");
    vcpu_ops->report_exits(v);
    LOG("host tick: %llu exits were the tick's", (unsigned long long)v->host_ticks);
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

static void report_to_log(void *ctx, const char *line) { LOG("platform: %s", line); }


static NORETURN void hv_start(void *arg);

/* The loader calls this on the firmware's stack, which is in memory the guest will own. */
void hv_main(struct boot_info *bi)
{
    cli();
    host_cpu_run_on_own_stack(hv_start, bi);
}

static NORETURN void hv_start(void *arg)
{
    struct boot_info *bi = arg;
    char err[160];
    struct guest_mem *gm = &vm0.mem;
    struct acpi_guest_info acpi;
    struct guest_entry entry;
    struct linux_boot_layout layout;
    struct vcpu *v = &vcpu0;

    bool uart_ok = uart_init_at((enum uart_space)bi->serial_space,
                                bi->serial_space == UART_IO ? bi->serial_port : bi->serial_mmio, bi->serial_baud);
    /* No UART: the log is drawn on the framebuffer, which is then Postern's (docs/console.md "No UART"). */
    bi->fb_log = !uart_ok && bi->magic == BOOT_INFO_MAGIC && bi->version == BOOT_INFO_VERSION && fb_log_start(&bi->fb);
    if (bi->fb_log)
        log_set_mirror(fb_log_write);
    LOG("hypervisor starting (image 0x%llx, %llu KiB)", (unsigned long long)bi->hv_image_base,
        (unsigned long long)(bi->hv_image_size >> 10));
    if (bi->magic != BOOT_INFO_MAGIC || bi->version != BOOT_INFO_VERSION)
        panic("boot_info magic/version mismatch: loader and hypervisor are from different builds");
    char where[48];
    if (bi->serial_space == UART_IO)
        fmt_snprintf(where, sizeof(where), "I/O port 0x%x", bi->serial_port);
    else
        fmt_snprintf(where, sizeof(where), "memory 0x%llx (%s-bit registers)", (unsigned long long)bi->serial_mmio,
                     bi->serial_space == UART_MMIO32 ? "32" : "8");
    LOG("serial: this line is the 16550 at %s, %u baud%s%s%s (hidden from the guest, whose COM1 is "
        "emulated)",
        where, bi->serial_baud,
        bi->serial_source == BOOT_SERIAL_CONFIG                                             ? ""
        : bi->serial_source == BOOT_SERIAL_PCI || bi->serial_source == BOOT_SERIAL_PCI_NONE ? " (serial = pci "
                                                                                            : " (serial = auto: ",
        bi->serial_source == BOOT_SERIAL_CONFIG ? "" : bi->serial_note,
        bi->serial_source == BOOT_SERIAL_CONFIG ? "" : ")");
    if (!uart_ok)
        LOG("serial: nothing answers at %s: the log is kept in memory (the shell's hvlog)%s%s", where,
            bi->fb_log ? " and drawn on the framebuffer, hidden from the guest" : "; not on the framebuffer: ",
            bi->fb_log ? "" : (bi->fb.note[0] ? bi->fb.note : "not usable"));
    host_cpu_load_gdt();
    traps_init();
    traps_set_hv_memory(bi->hv_image_base, bi->hv_image_size, bi->hv_pool_base, bi->hv_pool_size);
    {
        bool pm32;
        u16 pm = acpi_host_pm_timer(bi->acpi_rsdp, &pm32);
        timebase_init(pm, pm32);
    }
    page_alloc_init(&hv_pages, bi->hv_pool_base, bi->hv_pool_size);
    u64 host_tables = host_cpu_own_page_tables(alloc_table_page);
    if (!host_tables)
        panic("out of hypervisor memory for its own page tables");
    LOG("memory: hypervisor pool 0x%llx+%llu MiB; own stack, GDT and page tables (%llu pages, %u-bit physical "
        "addresses, %s pages)",
        (unsigned long long)bi->hv_pool_base, (unsigned long long)(bi->hv_pool_size >> 20),
        (unsigned long long)host_tables, host_cpu_phys_bits(), host_cpu_has_1g_pages() ? "1 GiB" : "2 MiB");

    if (!sha256_init_once())
        panic("out of hypervisor memory for SHA-256");
    log_kernel_hash(&bi->kernel);

    cpu_report_register(); /* before the backend's line (platform report) */
    vcpu_ops = virt_backend();
    LOG("virtualization backend: %s", vcpu_ops->name);
    if (!vcpu_ops->enable(err, sizeof(err)))
        panic("%s", err);
    guest_cpuid_init();

    build_guest_map(bi, gm);

    if (!bi->acpi_rsdp) {
        /* Firmware without ACPI (OVMF under Bochs: it takes its tables from QEMU's fw_cfg): the
         * guest boots without ACPI as on a legacy PC, and no IOMMU can be described. */
        memset(&acpi, 0, sizeof(acpi));
        LOG("guest ACPI: none (the firmware published no RSDP): the guest boots without ACPI, "
            "its interrupt wiring in an MP table");
    } else {
        if (acpi_guest_build(gm, bi->guest_acpi_base, bi->acpi_rsdp, bsp_apic_id(), &acpi, err, sizeof(err)) != 0)
            panic("guest ACPI tables: %s", err);
        LOG("guest ACPI: RSDP at 0x%llx, %u of %u CPUs visible, PM1a_CNT port 0x%x", (unsigned long long)acpi.rsdp_gpa,
            acpi.cpus_kept, acpi.cpus_in_madt, acpi.pm1a_cnt_port);
    }

    /* The loader's copies of kernel and initrd are guest RAM too: placement keeps clear of them. */
    struct phys_range busy[] = { { bi->kernel.addr, bi->kernel.size }, { bi->initrd.addr, bi->initrd.size } };
    struct linux_boot_input boot = {
        .bzimage = phys_to_virt(bi->kernel.addr),
        .bzsize = bi->kernel.size,
        .initrd = bi->initrd.addr ? phys_to_virt(bi->initrd.addr) : NULL,
        .initrd_size = bi->initrd.size,
        .initrd_gpa = bi->initrd.addr,
        .cmdline = bi->cmdline,
        .acpi_rsdp = acpi.rsdp_gpa,
        .busy = busy,
        .nbusy = bi->initrd.addr ? 2 : 1,
    };
    if (linux_boot_prepare(gm, &guest_e820, &boot, &entry, &layout, err, sizeof(err)) != 0)
        refuse_to_start("guest kernel %s: %s", bi->kernel.path, err);
    LOG("guest boot area at 0x%llx, kernel at 0x%llx (%llu KiB), initrd at 0x%llx (%llu KiB%s), entry 0x%llx, "
        "%u e820 entries",
        (unsigned long long)layout.boot_area, (unsigned long long)layout.kernel_gpa,
        (unsigned long long)(layout.kernel_size >> 10), (unsigned long long)layout.initrd_gpa,
        (unsigned long long)(layout.initrd_size >> 10), layout.initrd_in_place ? ", where the loader read it" : "",
        (unsigned long long)entry.rip, guest_e820.count);

    build_nested_map(bi, &acpi);
    apic_trap_map(&vm0); /* after the map: the APIC page leaves it (docs/events.md, INIT and SIPI) */
    setup_iommu(bi, gm);
    privilege_registry_init(&privs);
    if (pci_policy_init(bi, &acpi, &iommu, &privs, err, sizeof(err)) != 0)
        refuse_to_start("%s", err);
    /* Without ACPI the guest learns of its I/O APIC from an MP table (after PCI enumeration, whose
     * configuration access it uses; before the console, which takes the COM1 route from it). */
    if (!bi->acpi_rsdp && legacy_platform_setup(&physmap, gm, GUEST_COM1_IRQ, err, sizeof(err)) != 0)
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
    exits_watch_smi_port(v, &acpi);
    exits_cpuid_setup();
    apic_trap_attach_vcpu(v);
    console_attach_vcpu(v);
    pci_policy_attach_vcpu(v);
    panic_set_vcpu(v);

    /* The platform report (hv/lib/platform_report.h): the backend and the PCI policy registered
     * their hooks at init (the CPU's first); one screen now, and the shell's `platform` prints it again. */
    iommu_report_register(&iommu);
    memmap_report_register(&physmap);
    serial_report_register(bi);
    events_report_register();
    platform_report(report_to_log, NULL);
    u64 tick_tsc = timebase_tsc_hz() / 1000 * HOST_TICK_MS, served = rdtsc();
    vcpu_ops->set_host_tick(v, tick_tsc);

    LOG("starting guest: cmdline \"%s\"", bi->cmdline);
    for (u64 n = 1; v->state == VCPU_RUNNING; n++) {
        bool serve;
        vcpu_ops->run_once(v);
        vm0.exits = n;
        /* Every 8th exit, and the host tick's exits (at most one service per tick period: under SVM
         * they can come at every PAUSE), so a guest that never exits still has its line served. */
        serve = (n & 7) == 0;
        if (v->host_tick) {
            v->host_tick = false;
            serve = serve || rdtsc() - served >= tick_tsc;
        }
        if (serve)
            served = rdtsc();
        /* The serial line: the administrator's keys and held guest output (hv/console/console.c). The
         * guest's own COM1 accesses and HLTs poll it too, so an idle or printing guest answers at once. */
        if (serve)
            console_poll();
        /* A blocked DMA is reported soon after it happened, at the cost of one register read every
         * 8 exits. Soon matters: QEMU's VT-d has one fault-recording register, and a second fault
         * before the first is read is lost (measured: polling every 64 exits lost one of three
         * faults a device made within a few hundred exits). */
        if (iommu.enabled && serve)
            iommu_poll_faults(&iommu);
        border_view_after_exit(v); /* last: the view this exit's border events call for */
    }
    guest_gone(v);
}
