/*
 * DMA confinement (issue 4, 16, 17). One IOMMU front end over two back ends: AMD-Vi (ACPI IVRS)
 * and Intel VT-d (ACPI DMAR), with any number of units in any number of PCI segments. Every
 * device the guest can program gets the DMA address space the caller describes as a list of
 * ranges (guest RAM; gpa → hpa), and nothing else: no hypervisor memory, no other device's MMIO.
 * The devices an RMRR (VT-d) or IVMD (AMD-Vi) names also reach that firmware memory at its own
 * address (a unity map), in a domain of their own. A device without an entry is blocked (default
 * deny), never passed through untranslated. The IOMMU's own registers (and, for AMD-Vi, its PCI
 * function) are hidden from the guest by the caller using what iommu_discover reports.
 */
#ifndef POSTERN_IOMMU_H
#define POSTERN_IOMMU_H

#include "lib/types.h"
#include "drivers/pci/pci.h"

enum iommu_kind { IOMMU_NONE, IOMMU_AMD_VI, IOMMU_VTD };

/* Where the table parsers put their arrays: `bytes` of zeroed memory, NULL when out of memory.
 * (The hypervisor's page allocator; plain heap in the host tests.) */
typedef void *(*iommu_mem_fn)(size_t bytes);

struct iommu_unit {
    hpa_t mmio_base; /* register block (hidden from the guest) */
    u64 mmio_size;
    bool has_bdf; /* AMD-Vi: the IOMMU is itself a PCI function (hidden from the guest) */
    u16 bdf;
    u16 segment; /* PCI segment */
};

/* Firmware memory some devices must reach by DMA at its own address (DMA address == host-
 * physical): an RMRR's range for each device scope, an IVMD block for its DeviceIDs (and their
 * aliases). Page-aligned outward. */
struct iommu_unity {
    u64 base, size;
    u32 perms; /* NPT_READ | NPT_WRITE */
    u16 segment;
    u16 first, last;    /* requester IDs, inclusive */
    const char *source; /* "RMRR" or "IVMD", for messages */
};

/* One piece of the DMA address space every device gets: [gpa, gpa + size) → [hpa, hpa + size),
 * 4 KiB aligned, perms NPT_READ | NPT_WRITE. Identity-mapped guest memory passes gpa == hpa. */
struct iommu_range {
    gpa_t gpa;
    hpa_t hpa;
    u64 size;
    u32 perms;
};

struct iommu_info {
    enum iommu_kind kind;
    u32 units;
    struct iommu_unit *unit;
    u32 segments; /* distinct PCI segments among the units */
    u32 unities;
    struct iommu_unity *unity;
    u32 unresolved;  /* RMRR device scopes that could not be followed to a requester ID (logged) */
    bool off;        /* iommu = off: present or not, not used (set by the caller, for `status`) */
    bool enabled;    /* translation on */
    u32 domains;     /* DMA domains built: the shared one, plus one per set of unity maps */
    u64 faults;      /* fault/event records reported so far */
    u64 table_pages; /* pages of DMA tables built */
};

const char *iommu_kind_name(enum iommu_kind k);

/* Look for IVRS (AMD-Vi) or DMAR (VT-d) among the host's ACPI tables (the host RSDP, read through
 * phys_to_virt). cfg (may be NULL) reads segment 0's configuration space, to follow RMRR device
 * scopes through bridges. Arrays come from the hypervisor's page allocator. Returns 0 with
 * out->kind = IOMMU_NONE when neither exists; -1 and a one-line reason in err when a table is
 * there but malformed (out->kind then says which table it was, with no units). */
int iommu_discover(hpa_t host_rsdp, const struct pci_cfg_access *cfg, struct iommu_info *out, char *err, size_t errsz);

/* Build the DMA tables and turn translation on: every requester gets the n ranges; those a unity
 * map names get its memory too. Tables come from the hypervisor's page allocator. Returns 0, or
 * -1 with a reason (the IOMMU is then left disabled). */
int iommu_enable(struct iommu_info *io, const struct iommu_range *ranges, u32 n, char *err, size_t errsz);

/* Does a unity map (RMRR/IVMD) name the device (segment, bdf)? Then why says which, in words. */
bool iommu_unity_names(const struct iommu_info *io, u16 segment, u16 bdf, char *why, size_t whysz);

/* Let devices write the guest page at gpa, or not (read-only): a guarded module's text is
 * write-protected for DMA as for the CPU. No-op (true) when no IOMMU is enabled. Returns false
 * when the page is in no range, the tables could not be changed (out of memory) or the caches
 * not invalidated. */
bool iommu_set_page_writable(gpa_t gpa, bool writable);

/* Report (one LOG line each, "iommu: blocked DMA ...") the fault records logged since the last
 * call, and clear them in the hardware. Returns the number reported. Cheap when there are none. */
u32 iommu_poll_faults(struct iommu_info *io);

#endif
