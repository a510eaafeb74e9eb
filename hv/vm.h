/* The one virtual machine Postern runs: its memory, its nested page tables, its border control. */
#ifndef POSTERN_VM_H
#define POSTERN_VM_H

#include "guard.h"
#include "guest_mem.h"
#include "npt.h"
#include "privilege.h"

struct vcpu;
struct iommu_info;

/*
 * Nested-paging views (docs/pci.md): `npt` is what every vCPU runs on by default; `npt_priv`
 * exists when a guarded device is configured and differs from it only where that device's BARs
 * are (reachable in npt_priv, a zero page in npt). The rest of the tree is shared, but a change
 * outside the BARs must go to both roots: use vm_npt_map/vm_npt_unmap.
 */
enum vm_view { VIEW_NORMAL = 0, VIEW_PRIVILEGED = 1, VIEW_COUNT };

struct vm {
    struct guest_mem mem;
    struct npt npt;
    struct npt npt_priv; /* root 0 when there is no privileged view */
    struct vcpu *vcpu[PRIV_MAX_VCPUS];
    u32 vcpu_count;
    struct privilege_registry privs;
    struct guard guard; /* ~250 KiB: static storage, never the stack */
    const struct iommu_info *iommu; /* what confines device DMA (for the admin shell's status) */
    u64 exits;          /* VM exits so far, all vCPUs */
};

extern struct vm vm0;

/* Change the guest-physical map in every view (false when out of table memory). */
bool vm_npt_map(struct vm *vm, gpa_t gpa, hpa_t hpa, u64 size, u32 perms);
bool vm_npt_unmap(struct vm *vm, gpa_t gpa, u64 size);
/* The vCPU with this id, or NULL. */
struct vcpu *vm_vcpu(struct vm *vm, u32 id);

#endif
