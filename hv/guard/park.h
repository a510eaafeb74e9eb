/*
 * Parked return addresses (hv/guard/border.c's crossings; docs/border-control.md): a return
 * address the hypervisor holds while the other side of a crossing runs. Parked for every crossing
 * hypercall, refused ones included: a module whose registration failed still runs (unprivileged)
 * and its wrappers need their return addresses. The table is bounded: 64 buckets of 4 entries keyed
 * by the slot's address, so a lookup is at most 4 compares whatever the load (it is on every
 * crossing); a full bucket loses its oldest entry. Flooding it can only make a module thread lose
 * its way back, a denial of service the guest kernel has anyway (it schedules the module); never
 * privilege.
 *
 * A slot may hold more than one crossing: when a module tail-calls a kernel function (`jmp
 * __wrap_f` as its last act) the exit wrapper's return-address slot is the entry wrapper's, and
 * the two crossings nest there. So parking never replaces: entries for one slot form a stack,
 * unpark takes the newest. Abandoned entries are evicted oldest first.
 */
#ifndef POSTERN_PARK_H
#define POSTERN_PARK_H

#include "lib/types.h"

#define PARK_BUCKETS 64
#define PARK_WAYS    4

struct parked {
    u64 slot; /* GVA of the return-address slot (the key) */
    u64 addr;
    u64 seq; /* age: eviction, and newest-first for slots holding more than one crossing */
    bool used;
};

struct park {
    struct parked e[PARK_BUCKETS][PARK_WAYS];
    u64 seq; /* the last entry's */
};

/* Hold addr for the crossing whose return-address slot is at GVA slot. */
void park(struct park *p, u64 slot, u64 addr);
/* The newest address held for slot, given up (false: none). */
bool unpark(struct park *p, u64 slot, u64 *addr);

#endif
