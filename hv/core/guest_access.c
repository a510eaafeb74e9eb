/* See guest_access.h. */
#include "core/guest_access.h"
#include "core/vm.h"

void guest_paging_mode(struct vcpu *v, struct gva_mode *m)
{
    m->cr0 = vcpu_ops->cr(v, 0);
    m->cr3 = vcpu_ops->cr(v, 3);
    m->cr4 = vcpu_ops->cr(v, 4);
    m->efer = vcpu_ops->efer(v);
}

bool guest_read_virt(struct vcpu *v, u64 gva, void *dst, u64 len, u32 access)
{
    struct gva_mode m;
    guest_paging_mode(v, &m);
    return gva_read(&v->vm->mem, &m, gva, dst, len, access, NULL) == GVA_OK;
}
