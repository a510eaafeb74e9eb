/*
 * DMA confinement (issue 4). One IOMMU front end over two back ends: AMD-Vi (ACPI IVRS) and
 * Intel VT-d (ACPI DMAR). Every device the guest can program gets the same DMA address space:
 * the guest's RAM ranges, identity-mapped (guest-physical = host-physical), nothing else (no
 * hypervisor memory, no other device's MMIO). A device without an entry is blocked (default deny), never passed
 * through untranslated. The IOMMU's own registers (and, for AMD-Vi, its PCI function) are hidden
 * from the guest by the caller using what iommu_discover reports.
 */
#ifndef POSTERN_IOMMU_H
#define POSTERN_IOMMU_H

#include "lib/types.h"
#include "core/guest_mem.h"

#define IOMMU_MAX_UNITS 4

enum iommu_kind { IOMMU_NONE, IOMMU_AMD_VI, IOMMU_VTD };

struct iommu_unit {
    hpa_t mmio_base; /* register block (hidden from the guest) */
    u64 mmio_size;
    bool has_bdf; /* AMD-Vi: the IOMMU is itself a PCI function (hidden from the guest) */
    u16 bdf;
    u8 segment; /* PCI segment; only segment 0 is supported */
};

struct iommu_info {
    enum iommu_kind kind;
    u32 units;
    struct iommu_unit unit[IOMMU_MAX_UNITS];
    bool enabled;    /* translation on, guest RAM mapped */
    u64 faults;      /* fault/event records reported so far */
    u64 table_pages; /* pages of DMA tables built */
};

const char *iommu_kind_name(enum iommu_kind k);

/* Look for IVRS (AMD-Vi) or DMAR (VT-d) among the host's ACPI tables (the host RSDP, read through
 * phys_to_virt). Returns 0 with out->kind = IOMMU_NONE when neither exists; -1 and a one-line
 * reason in err when a table is there but malformed or names something unsupported. */
int iommu_discover(hpa_t host_rsdp, struct iommu_info *out, char *err, size_t errsz);

/* Build the DMA tables for guest RAM (gm's ranges; gm must outlive the IOMMU's use) and turn
 * translation on. Tables come from the hypervisor's page allocator. Returns 0, or -1 with a reason (the IOMMU is then left disabled). */
int iommu_enable(struct iommu_info *io, const struct guest_mem *gm, char *err, size_t errsz);

/* Let devices write the guest page at gpa, or not (read-only): a guarded module's text is
 * write-protected for DMA as for the CPU. No-op (true) when no IOMMU is enabled. Returns false
 * when the tables could not be changed (out of memory) or the caches not invalidated. */
bool iommu_set_page_writable(gpa_t gpa, bool writable);

/* Report (one LOG line each, "iommu: blocked DMA ...") the fault records logged since the last
 * call, and clear them in the hardware. Returns the number reported. Cheap when there are none. */
u32 iommu_poll_faults(struct iommu_info *io);

#endif
