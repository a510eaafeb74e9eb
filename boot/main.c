/*
 * postern.efi's entry: the UEFI loader. In order (docs/boot.md):
 *   banner → virt_probe → /postern/postern.cfg → kernel, initrd, gmeta files → ACPI RSDP →
 *   hypervisor pool → the guest's ACPI area → memory-map check → boot_info → framebuffer and font
 *   (boot/gop.c) → ExitBootServices →
 *   hv_main(boot_info).
 * What the hypervisor keeps is allocated as BOOT_EFI_POSTERN_MEMORY, so the final memory map names
 * it; everything else the loader used becomes guest RAM (docs/guest-boot.md "Memory model").
 * Every failure before ExitBootServices prints one "postern: ..." line, gives back what was
 * allocated and returns to the firmware: the loader never hangs and never resets the machine.
 *
 * Debian's GNU-EFI crt0 calls efi_main with the SysV ABI, so it is deliberately not EFIAPI.
 */
#include <efi.h>
#include <efilib.h>

#include "boot/config.h"
#include "boot/console.h"
#include "boot/files.h"
#include "boot/gop.h"
#include "boot/memmap.h"
#include "core/boot_info.h"
#include "guard/gmeta.h"
#include "lib/lib.h"
#include "lib/log.h"
#include "platform/acpi_host.h"
#include "platform/linux_boot.h"
#include "platform/spcr.h"
#include "guard/sigcheck.h"
#include "core/virt.h"

#define EBS_TRIES 8
/* admin_key is read up to this size, more than admin.pub's 81 bytes (BOOT_ADMIN_KEY_MAX is what
 * boot_info keeps), so that a wrong file, such as the PEM private key, is named for what it is. */
#define ADMIN_KEY_READ_MAX 4096
#define GMETA_DIR          "/postern" /* every *.gmeta here is preloaded (docs/boot.md) */

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab);

/* Everything the loader allocated, so every error path can give it back. */
struct loader {
    EFI_HANDLE image;
    EFI_LOADED_IMAGE *li;
    EFI_FILE_HANDLE root;
    struct postern_config cfg;
    struct boot_info *bi;
    struct efi_memmap map;
    u32 serial_source; /* enum boot_serial_source */
    bool serial_pci;   /* the UART is a PCI function: the guest must not see it */
    u16 serial_pci_bdf;
    char serial_note[BOOT_SERIAL_NOTE_MAX]; /* how serial = auto or pci decided */
};

static struct loader L;

static void free_pages(hpa_t addr, u64 bytes)
{
    if (addr)
        uefi_call_wrapper(BS->FreePages, 2, addr, EFI_SIZE_TO_PAGES(bytes));
}

static void cleanup(struct loader *l)
{
    struct boot_info *bi = l->bi;

    memmap_free(&l->map);
    if (bi) {
        boot_file_free(&bi->kernel);
        boot_file_free(&bi->initrd);
        for (u32 i = 0; i < BOOT_MAX_GMETA; i++)
            boot_file_free(&bi->gmeta[i]);
        free_pages(bi->hv_pool_base, bi->hv_pool_size);
        free_pages(bi->guest_acpi_base, BOOT_GUEST_ACPI_SIZE);
        free_pages((hpa_t)(UINTN)bi, sizeof(*bi));
        l->bi = NULL;
    }
    if (l->root)
        uefi_call_wrapper(l->root->Close, 1, l->root);
    l->root = NULL;
}

static EFI_STATUS check_cpu(void)
{
    struct virt_caps caps;
    char why[160];

    why[0] = 0;
    if (!virt_probe(&caps, why, sizeof(why))) {
        say(L"cannot start: %a", why[0] ? why : "this CPU cannot run Postern");
        return EFI_UNSUPPORTED;
    }
    return EFI_SUCCESS;
}

static hpa_t find_rsdp(void);

/* Where the UART is, for the loader's line ("io 0x2f8", "mmio32 0xfedc9000"). */
static void serial_where(const struct postern_config *c, char *out, size_t n)
{
    if (c->serial_space == UART_IO)
        fmt_snprintf(out, n, "io 0x%x at %u baud", c->serial_port, c->serial_baud);
    else
        fmt_snprintf(out, n, "mmio%s 0x%llx at %u baud", c->serial_space == UART_MMIO32 ? "32" : "8",
                     (unsigned long long)c->serial_mmio, c->serial_baud);
}

static void use_serial(struct postern_config *c)
{
    if (c->serial_space == UART_IO)
        console_set_serial(c->serial_port, c->serial_baud);
    else
        console_set_serial_at(c->serial_space, c->serial_mmio, c->serial_baud);
}

/* A PCI UART whose BAR 0 is memory: byte registers (mmio8), memory decoding turned on. Returns
 * the address, or 0 with the reason in why. */
static u64 serial_pci_mmio(u16 bdf, u32 bar0, char *why, size_t whysz)
{
    u32 bar1 = pci_host.read(pci_host.ctx, bdf, PCI_BAR0 + 4, 4);
    u64 addr = spcr_pci_bar_mmio(bar0, bar1, why, whysz);
    if (addr) {
        u32 cmd = pci_host.read(pci_host.ctx, bdf, PCI_COMMAND, 2);
        if (!(cmd & PCI_CMD_MEM))
            pci_host.write(pci_host.ctx, bdf, PCI_COMMAND, 2, cmd | PCI_CMD_MEM);
    }
    return addr;
}

/* serial = pci BB:DD.F: that function's BAR 0, an I/O BAR (with I/O decoding turned on, in case
 * the firmware left it off) or a memory BAR (byte registers, memory decoding on); otherwise COM1,
 * said like serial = auto's fallback. The function is hidden from the guest
 * (boot_info.serial_pci), so it cannot move the BAR. */
static void resolve_serial_pci(struct loader *l)
{
    struct postern_config *c = &l->cfg;
    u16 bdf = c->serial_pci_bdf;
    char name[8], why[BOOT_SERIAL_NOTE_MAX];
    u32 id, bar0 = 0;
    u16 port = 0;
    u64 mmio = 0;

    pci_bdf_str(bdf, name);
    pci_host_init(0, 0, 0); /* configuration ports: buses 0-255 of segment 0 */
    id = pci_host.read(pci_host.ctx, bdf, PCI_VENDOR_ID, 4);
    if ((id & 0xffff) == 0xffff) {
        fmt_snprintf(why, sizeof(why), "no PCI function there");
    } else {
        bar0 = pci_host.read(pci_host.ctx, bdf, PCI_BAR0, 4);
        port = spcr_pci_bar_port(bar0, why, sizeof(why));
        if (!port && !(bar0 & PCI_BAR_IO_BIT))
            mmio = serial_pci_mmio(bdf, bar0, why, sizeof(why));
    }
    if (mmio) {
        c->serial_space = UART_MMIO8;
        c->serial_mmio = mmio;
        l->serial_source = BOOT_SERIAL_PCI;
        l->serial_pci = true;
        l->serial_pci_bdf = bdf;
        fmt_snprintf(l->serial_note, sizeof(l->serial_note),
                     "%s %04x:%04x, BAR 0: memory at 0x%llx, byte registers; the function is hidden", name, id & 0xffff,
                     id >> 16, (unsigned long long)mmio);
    } else if (port) {
        u32 cmd = pci_host.read(pci_host.ctx, bdf, PCI_COMMAND, 2);
        if (!(cmd & PCI_CMD_IO))
            pci_host.write(pci_host.ctx, bdf, PCI_COMMAND, 2, cmd | PCI_CMD_IO);
        c->serial_port = port;
        l->serial_source = BOOT_SERIAL_PCI;
        l->serial_pci = true;
        l->serial_pci_bdf = bdf;
        fmt_snprintf(l->serial_note, sizeof(l->serial_note),
                     "%s %04x:%04x, BAR 0: I/O port 0x%x; the function is hidden", name, id & 0xffff, id >> 16, port);
    } else {
        c->serial_port = CONFIG_SERIAL_PORT_DEFAULT;
        l->serial_source = BOOT_SERIAL_PCI_NONE;
        fmt_snprintf(l->serial_note, sizeof(l->serial_note), "%s: %s: COM1", name, why);
    }
    use_serial(c);
    serial_where(c, why, sizeof(why));
    say(L"serial = pci: %a (%a)", why, l->serial_note);
}

/* serial = auto: the UART ACPI's SPCR table names (the BMC's serial-over-LAN port on a server), its
 * speed unless serial_baud says otherwise; without a usable SPCR, COM1. Never an error: the
 * decision is said on the screen and the chosen line, and hv_main logs it again. */
static void resolve_serial(struct loader *l)
{
    struct postern_config *c = &l->cfg;
    struct spcr_uart u = { 0 };
    const u8 *t = NULL;
    char why[BOOT_SERIAL_NOTE_MAX];
    u32 len = 0;
    u8 space = UART_IO;
    u64 base = 0;
    bool found = false;
    int r;

    if (c->serial_pci) {
        resolve_serial_pci(l);
        return;
    }
    if (!c->serial_auto)
        return;
    why[0] = 0;
    r = acpi_host_find(find_rsdp(), "SPCR", &t, &len, why, sizeof(why));
    if (r == 0)
        fmt_snprintf(why, sizeof(why), "no SPCR table");
    else if (r == 1 && spcr_parse(t, len, &u, why, sizeof(why)) == 0)
        found = spcr_pick(&u, &space, &base, why, sizeof(why));
    if (found) {
        char at[40];
        c->serial_space = space;
        if (space == UART_IO) {
            c->serial_port = (u16)base;
            fmt_snprintf(at, sizeof(at), "I/O port 0x%x", c->serial_port);
        } else {
            c->serial_mmio = base;
            fmt_snprintf(at, sizeof(at), "memory 0x%llx, %s-bit registers", (unsigned long long)base,
                         space == UART_MMIO32 ? "32" : "8");
        }
        if (!c->serial_baud_set && u.baud)
            c->serial_baud = u.baud;
        l->serial_source = BOOT_SERIAL_SPCR;
        fmt_snprintf(l->serial_note, sizeof(l->serial_note), "ACPI SPCR: %s, %s%s%s", at,
                     u.baud ? "its speed" : "speed \"as is\": serial_baud",
                     c->serial_baud_set && u.baud ? " overridden by serial_baud" : "",
                     u.pci && u.pci_segment == 0 ? "; a PCI function, hidden" : "");
        /* A PCI UART's BAR is the guest's to move unless the function is hidden (segment 0 only:
         * the hypervisor's PCI policy sees no other). */
        l->serial_pci = u.pci && u.pci_segment == 0;
        l->serial_pci_bdf = u.pci_bdf;
    } else {
        c->serial_port = CONFIG_SERIAL_PORT_DEFAULT;
        l->serial_source = BOOT_SERIAL_SPCR_NONE;
        fmt_snprintf(l->serial_note, sizeof(l->serial_note), "%s: COM1", why);
    }
    use_serial(c);
    serial_where(c, why, sizeof(why));
    say(L"serial = auto: %a (%a)", why, l->serial_note);
}

static EFI_STATUS read_config(struct loader *l)
{
    struct boot_file f;
    char err[CONFIG_ERR_MAX];
    EFI_STATUS st;
    int r;

    st = esp_read(l->root, CONFIG_PATH, CONFIG_FILE_MAX, EfiLoaderData, &f);
    if (EFI_ERROR(st))
        return st;
    r = config_parse((const char *)(UINTN)f.addr, f.size, &l->cfg, err, sizeof(err));
    boot_file_free(&f);
    if (r != 0) {
        say(L"%a", err);
        return EFI_LOAD_ERROR;
    }
    use_serial(&l->cfg);
    resolve_serial(l);
    return EFI_SUCCESS;
}

static EFI_STATUS alloc_boot_info(struct loader *l)
{
    EFI_PHYSICAL_ADDRESS addr = 0;
    EFI_STATUS st;

    st = uefi_call_wrapper(BS->AllocatePages, 4, AllocateAnyPages, BOOT_EFI_POSTERN_MEMORY,
                           EFI_SIZE_TO_PAGES(sizeof(*l->bi)), &addr);
    if (EFI_ERROR(st)) {
        say(L"no memory for the boot information: %r", st);
        return st;
    }
    l->bi = (struct boot_info *)(UINTN)addr;
    memset(l->bi, 0, sizeof(*l->bi));
    l->bi->magic = BOOT_INFO_MAGIC;
    l->bi->version = BOOT_INFO_VERSION;
    return EFI_SUCCESS;
}

static char lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c; }

/* FAT names compare without regard to case. */
static bool same_path(const char *a, const char *b)
{
    while (*a && lower(*a) == lower(*b))
        a++, b++;
    return lower(*a) == lower(*b);
}

static bool has_gmeta_suffix(const char *name)
{
    size_t n = strlen(name);
    return n > 6 && same_path(name + n - 6, ".gmeta");
}

/* esp_for_each_file callback: one more *.gmeta of /postern/, kept for the admin shell's `load`. */
static void preload_gmeta(void *ctx, const char *name, u64 size)
{
    struct loader *l = ctx;
    struct boot_info *bi = l->bi;
    char path[BOOT_NAME_MAX];
    size_t dl = strlen(GMETA_DIR), nl = strlen(name);

    if (!has_gmeta_suffix(name))
        return;
    if (dl + 1 + nl >= sizeof(path)) {
        say(L"%a/%a not preloaded: the path is longer than %d characters", GMETA_DIR, name, BOOT_NAME_MAX - 1);
        return;
    }
    memcpy(path, GMETA_DIR, dl);
    path[dl] = '/';
    memcpy(path + dl + 1, name, nl + 1);
    for (u32 i = 0; i < bi->gmeta_count; i++)
        if (same_path(bi->gmeta[i].path, path))
            return; /* named in postern.cfg: already loaded */
    if (bi->gmeta_count == BOOT_MAX_GMETA) {
        say(L"%a not preloaded: already %d metadata files, the most the loader keeps", path, BOOT_MAX_GMETA);
        return;
    }
    if (size > GMETA_MAX_SIZE) {
        say(L"%a not preloaded: %ld bytes, more than a .gmeta may have (%d)", path, size, GMETA_MAX_SIZE);
        return;
    }
    /* An unreadable file is said and skipped: nothing asked for it yet. */
    if (!EFI_ERROR(esp_read(l->root, path, GMETA_MAX_SIZE, BOOT_EFI_POSTERN_MEMORY, &bi->gmeta[bi->gmeta_count])))
        bi->gmeta_configured[bi->gmeta_count++] = false;
}

/* admin_key = PATH: its bytes go to boot_info. A key that cannot be read, or is no admin.pub, is
 * said here and then treated as absent: the boot goes on, and under metadata_signatures = required
 * the hypervisor refuses every metadata, saying why (the curve check is the hypervisor's). */
static void load_admin_key(struct loader *l)
{
    struct boot_info *bi = l->bi;
    struct boot_file f;
    u8 point[SIGCHECK_POINT_LEN];
    char why[160];

    /* The path even when the file is refused: the hypervisor's messages then name it. */
    memcpy(bi->admin_key_path, l->cfg.admin_key, sizeof(bi->admin_key_path));
    if (EFI_ERROR(esp_read(l->root, l->cfg.admin_key, ADMIN_KEY_READ_MAX, EfiLoaderData, &f)))
        return; /* esp_read said why */
    if (sigcheck_parse_pubfile(phys_to_virt(f.addr), f.size, point, why, sizeof(why)) != 0) {
        say(L"admin_key %a: %a", l->cfg.admin_key, why);
    } else {
        memcpy(bi->admin_key, phys_to_virt(f.addr), f.size);
        bi->admin_key_len = (u32)f.size;
    }
    boot_file_free(&f);
}

static EFI_STATUS load_files(struct loader *l)
{
    const struct postern_config *c = &l->cfg;
    struct boot_info *bi = l->bi;
    EFI_STATUS st;

    /* Kernel and initrd: loader data, so guest RAM once the hypervisor has placed them. */
    st = esp_read(l->root, c->kernel, ~0ull, EfiLoaderData, &bi->kernel);
    if (!EFI_ERROR(st)) {
        char why[160];
        if (linux_boot_check(phys_to_virt(bi->kernel.addr), bi->kernel.size, why, sizeof(why)) != 0) {
            say(L"%a: %a", c->kernel, why);
            st = EFI_LOAD_ERROR;
        }
    }
    if (!EFI_ERROR(st) && c->initrd[0])
        st = esp_read(l->root, c->initrd, ~0ull, EfiLoaderData, &bi->initrd);
    for (u32 i = 0; !EFI_ERROR(st) && i < c->gmeta_count; i++) {
        st = esp_read(l->root, c->gmeta[i], ~0ull, BOOT_EFI_POSTERN_MEMORY, &bi->gmeta[i]);
        if (!EFI_ERROR(st)) {
            bi->gmeta_configured[i] = true;
            bi->gmeta_count = i + 1;
        }
    }
    if (!EFI_ERROR(st))
        esp_for_each_file(l->root, GMETA_DIR, preload_gmeta, l);
    if (!EFI_ERROR(st) && c->admin_key[0])
        load_admin_key(l);
    return st;
}

/* The ACPI 2.0+ RSDP if the firmware has one, else the 1.0 one, else 0. */
static hpa_t find_rsdp(void)
{
    static EFI_GUID acpi20 = ACPI_20_TABLE_GUID;
    static EFI_GUID acpi10 = ACPI_TABLE_GUID;
    hpa_t v1 = 0;

    for (UINTN i = 0; i < ST->NumberOfTableEntries; i++) {
        EFI_CONFIGURATION_TABLE *t = &ST->ConfigurationTable[i];
        if (CompareGuid(&t->VendorGuid, &acpi20) == 0)
            return (hpa_t)(UINTN)t->VendorTable;
        if (CompareGuid(&t->VendorGuid, &acpi10) == 0)
            v1 = (hpa_t)(UINTN)t->VendorTable;
    }
    return v1;
}

static EFI_STATUS alloc_pool(struct loader *l)
{
    EFI_PHYSICAL_ADDRESS addr = 0;
    u64 size = l->cfg.hv_memory;
    EFI_STATUS st;

    st = uefi_call_wrapper(BS->AllocatePages, 4, AllocateAnyPages, BOOT_EFI_POSTERN_MEMORY, EFI_SIZE_TO_PAGES(size),
                           &addr);
    if (EFI_ERROR(st)) {
        say(L"cannot allocate hv_memory %ldM: %r", size >> 20, st);
        return st;
    }
    l->bi->hv_pool_base = addr;
    l->bi->hv_pool_size = size;
    return EFI_SUCCESS;
}

/* The guest's ACPI area: ACPI NVS (so the firmware's map, and the guest's e820, already say so)
 * below 4 GiB (the RSDT and FADT hold 32-bit pointers into it). Then a check that the final
 * memory map, translated after ExitBootServices when nothing can be said any more, will fit. */
static EFI_STATUS alloc_guest_acpi(struct loader *l)
{
    struct boot_info *bi = l->bi;
    EFI_PHYSICAL_ADDRESS addr = 0xffffffffull;
    bool overflow;
    u32 n;
    EFI_STATUS st;

    st = uefi_call_wrapper(BS->AllocatePages, 4, AllocateMaxAddress, EfiACPIMemoryNVS,
                           EFI_SIZE_TO_PAGES(BOOT_GUEST_ACPI_SIZE), &addr);
    if (EFI_ERROR(st)) {
        say(L"no memory below 4 GiB for the guest's ACPI tables (%ld KiB): %r", BOOT_GUEST_ACPI_SIZE >> 10, st);
        return st;
    }
    bi->guest_acpi_base = addr;
    st = memmap_fetch(&l->map);
    if (EFI_ERROR(st))
        return st;
    /* bi->mem is scratch space until the final map replaces it; room for the descriptors added since. */
    n = memmap_translate(&l->map, bi->mem, BOOT_MAX_MEM_REGIONS, &overflow);
    if (overflow || n > BOOT_MAX_MEM_REGIONS - 32) {
        say(L"the UEFI memory map has too many regions (%d, at most %d supported)", n, BOOT_MAX_MEM_REGIONS - 32);
        return EFI_UNSUPPORTED;
    }
    return EFI_SUCCESS;
}

static void fill_boot_info(struct loader *l)
{
    struct boot_info *bi = l->bi;
    const struct postern_config *c = &l->cfg;

    memcpy(bi->cmdline, c->cmdline, sizeof(bi->cmdline));
    memcpy(bi->bindings, c->bindings, sizeof(bi->bindings));
    bi->binding_count = c->binding_count;
    bi->guarded_nic_set = c->guarded_nic_set;
    bi->guarded_nic = c->guarded_nic;
    memcpy(bi->guarded_nic_privilege, c->guarded_nic_privilege, sizeof(bi->guarded_nic_privilege));
    memcpy(bi->guarded_more, c->guarded_more, sizeof(bi->guarded_more));
    bi->guarded_more_count = c->guarded_more_count;
    memcpy(bi->pci_hide, c->pci_hide, sizeof(bi->pci_hide));
    bi->pci_hide_count = c->pci_hide_count;
    bi->iommu_mode = c->iommu_mode;
    bi->guest_ram_cap = c->guest_ram;
    bi->sig_policy = c->sig_policy;
    bi->border_npt = c->border_npt;
    bi->acpi_rsdp = find_rsdp();
    bi->hv_image_base = (hpa_t)(UINTN)l->li->ImageBase;
    bi->hv_image_size = l->li->ImageSize;
    bi->serial_port = c->serial_port;
    bi->serial_space = c->serial_space;
    bi->serial_mmio = c->serial_mmio;
    bi->serial_baud = c->serial_baud;
    bi->serial_source = l->serial_source;
    bi->serial_pci = l->serial_pci;
    bi->serial_pci_bdf = l->serial_pci_bdf;
    memcpy(bi->serial_note, l->serial_note, sizeof(bi->serial_note));
}

/*
 * GetMemoryMap + ExitBootServices, retried while the map changes under us. Between the last
 * GetMemoryMap and ExitBootServices nothing allocates or prints; after a failed ExitBootServices
 * only GetMemoryMap may be called (UEFI 2.10 §7.4), so the retry reuses the buffer. On failure
 * it has said why (on the UART once boot services may be partly gone).
 */
static EFI_STATUS exit_boot_services(struct loader *l)
{
    EFI_STATUS st = EFI_SUCCESS;
    int tries;

    for (tries = 0; tries < EBS_TRIES; tries++) {
        st = memmap_refetch(&l->map);
        if (EFI_ERROR(st))
            break;
        st = uefi_call_wrapper(BS->ExitBootServices, 2, l->image, l->map.key);
        if (st != EFI_INVALID_PARAMETER)
            break;
    }
    if (!EFI_ERROR(st))
        return st;
    if (tries == 0) { /* no ExitBootServices call yet: the console still works */
        say(L"cannot read the UEFI memory map: %r", st);
        cleanup(l);
        return st;
    }
    say_serial_only("ExitBootServices failed: the firmware's memory map kept changing or could not be read");
    return st;
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
    struct loader *l = &L;
    struct boot_info *bi;
    bool overflow;
    EFI_STATUS st;

    InitializeLib(image, systab);
    console_init();
    say(L"loader starting");

    memset(l, 0, sizeof(*l));
    l->image = image;
    st = check_cpu();
    if (EFI_ERROR(st))
        return st;

    st = uefi_call_wrapper(BS->HandleProtocol, 3, image, &LoadedImageProtocol, (void **)&l->li);
    if (EFI_ERROR(st)) {
        say(L"cannot find postern.efi's own loaded image: %r", st);
        return st;
    }
    st = esp_open_root(l->li, &l->root);
    if (!EFI_ERROR(st))
        st = read_config(l);
    if (!EFI_ERROR(st))
        st = alloc_boot_info(l);
    if (!EFI_ERROR(st))
        st = load_files(l);
    if (!EFI_ERROR(st))
        st = alloc_pool(l);
    if (!EFI_ERROR(st))
        st = alloc_guest_acpi(l);
    if (EFI_ERROR(st)) {
        cleanup(l);
        return st;
    }
    fill_boot_info(l);
    bi = l->bi;
    gop_probe(&bi->fb); /* the framebuffer and the font, for a log without a UART */
    say(L"kernel %a (%ld KiB), initrd %a (%ld KiB), %d gmeta (%d named in postern.cfg)", bi->kernel.path,
        bi->kernel.size >> 10, bi->initrd.addr ? bi->initrd.path : "none", bi->initrd.size >> 10, bi->gmeta_count,
        l->cfg.gmeta_count);
    say(L"hypervisor pool 0x%lx+%ld MiB, guest ACPI area 0x%lx, RSDP 0x%lx; exiting boot services", bi->hv_pool_base,
        bi->hv_pool_size >> 20, bi->guest_acpi_base, bi->acpi_rsdp);
    uefi_call_wrapper(l->root->Close, 1, l->root);
    l->root = NULL;

    st = exit_boot_services(l);
    if (EFI_ERROR(st))
        return st; /* after a failed EBS nothing is freed: boot services may be partly shut down */

    /* Boot services are gone: from here on, pure computation, then the hypervisor. */
    bi->mem_count = memmap_translate(&l->map, bi->mem, BOOT_MAX_MEM_REGIONS, &overflow);
    if (overflow)
        say_serial_only("warning: memory map truncated to the lowest 512 regions");
    hv_main(bi);
}
