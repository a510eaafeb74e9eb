/* See vm.h. */
#include "core/vm.h"
#include "core/vcpu.h"

bool vm_npt_map(struct vm *vm, gpa_t gpa, hpa_t hpa, u64 size, u32 perms)
{
    /* Shared subtrees make the second call find the work done; copied tables get it too. */
    vm_npt_changed(vm);
    if (!npt_map(&vm->npt, gpa, hpa, size, perms))
        return false;
    return !vm->npt_priv.root || npt_map(&vm->npt_priv, gpa, hpa, size, perms);
}

bool vm_npt_unmap(struct vm *vm, gpa_t gpa, u64 size)
{
    vm_npt_changed(vm);
    if (!npt_unmap(&vm->npt, gpa, size))
        return false;
    return !vm->npt_priv.root || npt_unmap(&vm->npt_priv, gpa, size);
}

struct vcpu *vm_vcpu(struct vm *vm, u32 id) { return id < vm->vcpu_count ? vm->vcpu[id] : NULL; }

bool vm_vcpu_owns_core(const struct vm *vm, const struct vcpu *v)
{
    bool listed = false;

    if (!v || !v->pinned)
        return false;
    for (u32 i = 0; i < vm->vcpu_count; i++) {
        const struct vcpu *o = vm->vcpu[i];
        if (o == v)
            listed = true;
        else if (o && (!o->pinned || o->pcpu == v->pcpu))
            return false; /* an unpinned vCPU may run anywhere, v's core included */
    }
    return listed;
}
