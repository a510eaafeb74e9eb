/* The one virtual machine Postern runs: its memory, its nested page tables, its vCPUs. */
#ifndef POSTERN_VM_H
#define POSTERN_VM_H

#include "core/guest_mem.h"
#include "core/npt.h"

#define VM_MAX_VCPUS 4

struct vcpu;
struct iommu_info;
struct border;

/*
 * Nested-paging views (docs/pci.md): `npt` is what every vCPU runs on by default; `npt_priv`
 * exists when a guarded device is configured and differs from it only where that device's BARs
 * are (reachable in npt_priv, a zero page in npt). The rest of the tree is shared, but a change
 * outside the BARs must go to both roots: use vm_npt_map/vm_npt_unmap.
 */
enum vm_view {
    VIEW_NORMAL = 0,
    VIEW_PRIVILEGED = 1,
    VIEW_VM_COUNT = 2, /* the views numbered from here on are border control's (hv/guard/border_views.h) */
};

struct guest_physmap;

struct vm {
    struct guest_mem mem;
    const struct guest_physmap *physmap; /* the machine's memory map as the guest has it */
    struct npt npt;
    struct npt npt_priv; /* root 0 when there is no privileged view */
    struct vcpu *vcpu[VM_MAX_VCPUS];
    u32 vcpu_count;
    struct border *border;          /* border control, hv/guard's object (border_init): opaque here */
    const struct iommu_info *iommu; /* what confines device DMA (for the admin shell's status) */
    u64 npt_generation;             /* bumped by every change to the ordinary map (vm_npt_changed) */
    u64 exits;                      /* VM exits so far, all vCPUs */
    u64 hlt_exits;                  /* of which HLT (HC_STATS_EXITS) */
    /* NMIs the hypervisor took for the guest (host mode or an NMI exit), injected into it, and
     * claimed as its own (arch/x86_64/traps.c; the backends copy them after each exit) */
    u64 nmis_taken, nmis_injected, nmis_own;
    u64 mwait_exits; /* of which MWAIT (MONITOR not counted here) */
};

extern struct vm vm0;

/* Change the guest-physical map in every view (false when out of table memory). */
bool vm_npt_map(struct vm *vm, gpa_t gpa, hpa_t hpa, u64 size, u32 perms);
bool vm_npt_unmap(struct vm *vm, gpa_t gpa, u64 size);
/* Something edited vm->npt or npt_priv directly: views derived from them must be rebuilt. */
static inline void vm_npt_changed(struct vm *vm) { vm->npt_generation++; }
/* The vCPU with this id, or NULL. */
struct vcpu *vm_vcpu(struct vm *vm, u32 id);
/* Does v have its physical CPU to itself: pinned to one, and no other vCPU pinned there? (Postern
 * runs one vCPU per physical CPU and schedules nothing else on it; this is where that is checked
 * rather than assumed, for privileges that hand the core to the guest: hv/guard/idle.c.) */
bool vm_vcpu_owns_core(const struct vm *vm, const struct vcpu *v);

#endif
