/*
 * The guest's PCI view, decided once at boot from the config (docs/pci.md): each host function is
 * passed through, hidden (the IOMMU itself, `pci_hide` entries), virtualized (the guarded NIC) or
 * read-only (host bridges and chipset functions: pci_chipset.h). The guest reaches configuration
 * space only through the hypervisor: emulated ports 0xCF8/0xCFC and trapped ECAM windows.
 */
#ifndef POSTERN_PCI_POLICY_H
#define POSTERN_PCI_POLICY_H

#include "core/boot_info.h"
#include "platform/acpi_guest.h"
#include "drivers/iommu/iommu.h"
#include "core/vcpu.h"

/* Enumerate, apply the config, build the guarded device's views and register its privilege in
 * privs (before border_init applies the bindings). Returns 0 or -1 with a reason. */
struct privilege_registry;
int pci_policy_init(const struct boot_info *bi, const struct acpi_guest_info *acpi, const struct iommu_info *io,
                    struct privilege_registry *privs, char *err, size_t errsz);
/* Host-physical ranges the nested page tables must leave unmapped for the guest's PCI view to hold
 * (the ECAM windows of a kept MCFG: each access faults and is emulated). Pure over acpi, so the
 * nested-table builder may call it before pci_policy_init; pci_policy_init unmaps them as well.
 * Returns the count, or -1 when more than max. */
struct pci_trapped_range {
    u64 base, size;
    const char *what;
};
int pci_policy_trapped_ranges(const struct acpi_guest_info *acpi, struct pci_trapped_range *out, int max);
/* Port intercepts for the vCPU (conf1, the guarded device's I/O BARs). */
void pci_policy_attach_vcpu(struct vcpu *v);
/* Exit-path hooks: true when the access was PCI's (handled). */
bool pci_policy_io(struct vcpu *v, u16 port, u8 size, bool in, u32 *value);
bool pci_policy_nested_fault(struct vcpu *v, gpa_t gpa, bool write);
void pci_policy_report(void);
/* Is a NIC guarded (guarded_nic found and set up)? */
bool pci_policy_guarded_nic(void);
/* One line per PCI function: address, IDs, class, how the guest sees it (admin shell `pci`). */
void pci_policy_list(void (*out)(void *ctx, const char *line), void *ctx);

#endif
