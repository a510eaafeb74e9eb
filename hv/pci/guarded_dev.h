/*
 * A host PCI device with selective privilege (issue 4; tech report §6): the guest sees the
 * device, but its BARs answer only a vCPU that holds the device's privilege (e.g. `nic`, held by
 * the christoized e1000 while it runs).
 *
 *   MMIO BARs   two nested-paging views (struct vm): the normal view maps each BAR page to one
 *               read-only zero page (reads give 0 natively, a write faults and is dropped); the
 *               privileged view maps the real BAR. raise/lower swap the vCPU's view: O(1).
 *               Exception: the pages holding the MSI-X table and PBA (from the MSI-X capability)
 *               map to the device in both views, because the guest kernel's PCI core, not the
 *               driver, programs them (docs/pci.md, "MSI-X").
 *   sub-page    a memory BAR smaller than a page: its page is trapped in every view (trap_page.h);
 *   BARs        privileged accesses to the BAR's bytes are forwarded to the device, unprivileged
 *               ones read zero and writes are dropped, the rest of the page is forwarded.
 *   I/O BARs    always intercepted; forwarded to the real ports only while privileged.
 *   config      virtualized (pci_vdev): the guest may move BARs; the real ones never change, and
 *               the real BAR addresses stay unreachable from the guest wherever it moves them.
 */
#ifndef POSTERN_GUARDED_DEV_H
#define POSTERN_GUARDED_DEV_H

#include "drivers/pci/pci.h"
#include "pci/pci_vdev.h"

struct privilege_registry;

struct vm;
struct vcpu;

struct guarded_dev_stats {
    u64 raises, lowers; /* view switches */
    u64 writes_dropped; /* MMIO writes by unprivileged code */
    u64 io_blocked;     /* port accesses by unprivileged code */
    u64 io_forwarded;   /* port accesses by privileged code */
    u64 bar_moves;      /* guest BAR relocations applied */
    u64 refused;        /* undecodable accesses (#GP injected) */
    u64 mmio_forwarded; /* privileged accesses to a sub-page BAR (trapped page) */
};

/* A run of pages of a memory BAR that both views map to the device: the MSI-X table or PBA. */
struct guarded_open_range {
    int bar;
    u64 off, len; /* page aligned, inside the BAR */
};

#define GUARDED_MAX_OPEN 2 /* the MSI-X table and the PBA */

struct guarded_dev {
    struct pci_dev host;
    struct pci_vdev vdev;
    struct vm *vm;
    struct privilege_registry *privs; /* where its privilege is registered */
    char privilege[32];
    int handle; /* privilege registry handle */
    hpa_t zero_page;
    bool bar_live[PCI_NUM_BARS]; /* the guest-visible mapping of BAR i is installed at live_gpa[i] */
    u64 live_gpa[PCI_NUM_BARS];
    struct guarded_open_range open[GUARDED_MAX_OPEN];
    int open_count;
    struct guarded_dev_stats stats;
    /* Every memory BAR trapped, as a sub-page BAR is (no pages in the privileged view): a device
     * guarded by another privilege than the one the privileged view belongs to. */
    bool trap_all;
};

/* Check the device can be guarded (every BAR virtualizable, an MSI-X table and PBA inside memory
 * BARs), build both views, register the privilege in privs. Returns 0, or -1 with a one-line reason. */
int guarded_dev_init(struct guarded_dev *g, struct vm *vm, struct privilege_registry *privs, const struct pci_dev *dev,
                     const char *privilege, char *err, size_t errsz);
/* The same for a further guarded device (docs/pci.md, "More than one guarded device"). shares_view:
 * its privilege is the one the privileged view belongs to (the first device's, whose raise and
 * lower switch the view): its BARs go in that view and it uses the registered privilege. Otherwise
 * every memory BAR is trapped and each access checks the privilege, registered here unless some
 * component offers it already. */
int guarded_dev_init_more(struct guarded_dev *g, struct vm *vm, struct privilege_registry *privs,
                          const struct pci_dev *dev, const char *privilege, bool shares_view, char *err, size_t errsz);
/* Set up what needs a vCPU (port intercepts). */
void guarded_dev_attach_vcpu(struct guarded_dev *g, struct vcpu *v);
/* A nested page fault at gpa: true when it was this device's BAR (handled). */
bool guarded_dev_nested_fault(struct guarded_dev *g, struct vcpu *v, gpa_t gpa, bool write);
/* A port access: true when the port is this device's (handled; *value in/out). */
bool guarded_dev_io(struct guarded_dev *g, struct vcpu *v, u16 port, u8 size, bool in, u32 *value);
void guarded_dev_report(const struct guarded_dev *g);
/* Log the cost of one privilege change (view switch) against rewriting the BAR entries. */
void guarded_dev_measure(struct guarded_dev *g, struct vcpu *v);

#endif
