/*
 * Privilege registry (tech report NU-EECS-13-04 §4.4): selective-privilege components register a
 * privilege *name* with a state pointer and four callbacks {init, deinit, raise, lower}. The border
 * control state machine (hv/guard/guard.c) never knows what a privilege does; it only resolves names to
 * handles when the administrator binds a guarded module to them, and then calls raise/lower per
 * vCPU through the handle (O(1): an array index).
 *
 * Fixed-size tables, no allocation. One registry per VM.
 *
 * Callback contract:
 *   init(state)              selective-privilege behaviour starts (a module bound to this privilege
 *                            registered successfully); may fail (non-zero), then the registration
 *                            fails. Called when the activation count goes 0 -> 1.
 *   deinit(state)            the last module using it deinitialised or was revoked (count 1 -> 0);
 *                            every vCPU has been lowered before.
 *   raise(vcpu_id, state)    grant the privilege to one vCPU; must complete before returning.
 *   lower(vcpu_id, state)    revoke it from one vCPU; must complete before returning.
 * raise/lower are only called on an actual change (the registry tracks who holds the privilege),
 * so a component never sees two raises in a row for one vCPU.
 */
#ifndef POSTERN_PRIVILEGE_H
#define POSTERN_PRIVILEGE_H

#include "lib/types.h"
#include "core/vm.h"

#define PRIV_MAX       8            /* privileges per VM */
#define PRIV_MAX_VCPUS VM_MAX_VCPUS /* raise/lower take 0 .. PRIV_MAX_VCPUS-1 */
#define PRIV_NAME_MAX  32           /* including the NUL */

#define PRIV_OK     0
#define PRIV_EINVAL (-1) /* NULL/empty/too-long name, ops without raise/lower, bad handle */
#define PRIV_EEXIST (-2) /* a privilege with that name is already registered */
#define PRIV_ENOENT (-3) /* no privilege with that name */
#define PRIV_EFULL  (-4) /* the table is full */
#define PRIV_EVCPU  (-5) /* vCPU id out of range */
#define PRIV_EINIT  (-6) /* the component's init callback failed */

struct privilege_ops {
    int (*init)(void *state);                /* optional */
    void (*deinit)(void *state);             /* optional */
    void (*raise)(u32 vcpu_id, void *state); /* required */
    void (*lower)(u32 vcpu_id, void *state); /* required */
};

struct privilege_entry {
    char name[PRIV_NAME_MAX];
    const struct privilege_ops *ops;
    void *state;
    u32 active;      /* activation count (modules registered that are bound to it) */
    u32 raised_mask; /* bit v: vCPU v currently holds the privilege */
    u64 raises, lowers;
};

struct privilege_registry {
    struct privilege_entry e[PRIV_MAX];
    u32 count;
};

void privilege_registry_init(struct privilege_registry *r);

/* Returns the handle (>= 0) or PRIV_EINVAL / PRIV_EEXIST / PRIV_EFULL. */
int privilege_register(struct privilege_registry *r, const char *name, const struct privilege_ops *ops, void *state);
/* Returns the handle (>= 0) or PRIV_ENOENT / PRIV_EINVAL. Not for the hot path: resolve once. */
int privilege_lookup(const struct privilege_registry *r, const char *name);
const char *privilege_name(const struct privilege_registry *r, int handle);

/* Activation (init on 0 -> 1) and deactivation (on 1 -> 0: lower every vCPU still holding it, then
 * deinit). PRIV_EINVAL when deactivating a privilege that is not active. */
int privilege_activate(struct privilege_registry *r, int handle);
int privilege_deactivate(struct privilege_registry *r, int handle);

/* The hot path: O(1), idempotent (callback only on a change). */
int privilege_raise(struct privilege_registry *r, int handle, u32 vcpu);
int privilege_lower(struct privilege_registry *r, int handle, u32 vcpu);

/* The same for a caller that has checked the handle (< r->count) and the vCPU (< PRIV_MAX_VCPUS)
 * once, as border control does when a privilege is bound: every border crossing raises or lowers,
 * and the checks cost as much as the change (tests/bench/guard.sh). */
static inline void privilege_raise_checked(struct privilege_registry *r, int handle, u32 vcpu)
{
    struct privilege_entry *e = &r->e[handle];
    if (!(e->raised_mask & (1u << vcpu))) {
        e->raised_mask |= 1u << vcpu;
        e->raises++;
        e->ops->raise(vcpu, e->state);
    }
}

static inline void privilege_lower_checked(struct privilege_registry *r, int handle, u32 vcpu)
{
    struct privilege_entry *e = &r->e[handle];
    if (e->raised_mask & (1u << vcpu)) {
        e->raised_mask &= ~(1u << vcpu);
        e->lowers++;
        e->ops->lower(vcpu, e->state);
    }
}
bool privilege_is_raised(const struct privilege_registry *r, int handle, u32 vcpu);

/* Convenience by name (a lookup first: administrator and test paths, not border crossings). */
int privilege_raise_by_name(struct privilege_registry *r, const char *name, u32 vcpu);
int privilege_lower_by_name(struct privilege_registry *r, const char *name, u32 vcpu);

const char *privilege_strerror(int err);

/* For a name no component registered: "no component offers privilege 'NAME' (offered: nic, test,
 * idle)" in buf (NUL-terminated, cut short if need be), for the administrator's bind and unbind. */
#define PRIV_WHY_MAX (64 + PRIV_MAX * (PRIV_NAME_MAX + 2))
void privilege_unknown_why(const struct privilege_registry *r, const char *name, char *buf, size_t n);

/*
 * The `test` privilege component: its only effect is a per-vCPU bit that a hypercall (issue 3's
 * integration) reports back to the guest, so tests can see from inside the guest whether a vCPU
 * holds privilege. One instance per hypervisor (one VM).
 */
#define PRIV_TEST_NAME "test"
extern const struct privilege_ops privilege_test_ops;
/* Registers "test" in r with the static test state; returns the handle or an error. */
int privilege_test_register(struct privilege_registry *r);
bool privilege_test_is_raised(u32 vcpu);
/* Counters of the test component (raises/lowers it saw, init/deinit state), for tests and bench. */
struct privilege_test_stats {
    bool initialized;
    u32 raised_mask;
    u64 raises, lowers, inits, deinits;
};
void privilege_test_stats(struct privilege_test_stats *out);
void privilege_test_reset(void);

#endif
