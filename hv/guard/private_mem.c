/* See private_mem.h. */
#include "guard/private_mem.h"
#include "guard/text_protect.h"
#include "drivers/iommu/iommu.h"
#include "core/guest_access.h"
#include "core/gva.h"
#include "core/hypercall.h"
#include "lib/lib.h"
#include "lib/log.h"
#include "core/vm.h"

struct border_text_page private_pages[PRIVATE_MAX_PAGES];
u32 nprivate;

int private_mem_module(gpa_t gpa)
{
    gpa_t page = ALIGN_DOWN(gpa, PAGE_SIZE);
    for (u32 i = 0; i < nprivate; i++)
        if (private_pages[i].gpa == page)
            return private_pages[i].module;
    return -1;
}

int private_mem_take(struct vcpu *v, int module, const char *name, const struct text_protect *text, u64 gva, u64 n)
{
    struct vm *vm = v->vm;
    struct gva_mode mode;
    gpa_t gpa[PRIVATE_MAX_PER_CALL];

    if (!border_views_enforced()) {
        LOG("guard: module %s asked for private memory: refused, it needs border = npt", name);
        return HC_EPERM;
    }
    if (!IS_ALIGNED(gva, PAGE_SIZE) || n == 0 || n > PRIVATE_MAX_PER_CALL || nprivate + n > PRIVATE_MAX_PAGES ||
        gva < GUARD_KERNEL_BASE || gva + n * PAGE_SIZE < gva) {
        LOG("guard: module %s asked for private memory 0x%llx, %llu pages: refused (page-aligned kernel memory, "
            "1 to %u pages, %u in all)",
            name, (unsigned long long)gva, (unsigned long long)n, PRIVATE_MAX_PER_CALL, PRIVATE_MAX_PAGES);
        return HC_EINVAL;
    }
    /* Check every page before changing any. */
    guest_paging_mode(v, &mode);
    for (u64 i = 0; i < n; i++) {
        u64 a;
        if (gva_translate(&vm->mem, &mode, gva + i * PAGE_SIZE, GVA_WRITE | GVA_SUPERVISOR | GVA_IMPLICIT, &a, NULL) !=
                GVA_OK ||
            !gmem_ptr(&vm->mem, ALIGN_DOWN(a, PAGE_SIZE), PAGE_SIZE) || private_mem_module(a) >= 0 ||
            text_protect_owner(text, a) >= 0) {
            LOG("guard: module %s asked for private memory: page 0x%llx is not writable guest RAM of its own "
                "(unmapped, module text, or private already): refused",
                name, (unsigned long long)(gva + i * PAGE_SIZE));
            return HC_EINVAL;
        }
        gpa[i] = ALIGN_DOWN(a, PAGE_SIZE);
        for (u64 j = 0; j < i; j++)
            if (gpa[j] == gpa[i])
                return HC_EINVAL; /* one page twice (aliases) */
    }
    for (u64 i = 0; i < n; i++) {
        /* Gone from the ordinary view and every view forked from it; border_views maps it back in
         * the module's in views. Splitting a large page may need a table: on failure nothing of
         * this page is private (it stays mapped), and the call fails. */
        if (!vm_npt_unmap(vm, gpa[i], PAGE_SIZE)) {
            LOG("guard: out of hypervisor memory making private memory for module %s", name);
            return HC_EINVAL;
        }
        iommu_set_page_writable(gpa[i], false);
        private_pages[nprivate].gpa = gpa[i];
        private_pages[nprivate].module = module;
        nprivate++;
    }
    LOG("guard: module %s: %llu private pages at 0x%llx (guest-physical 0x%llx...): reachable inside its border only",
        name, (unsigned long long)n, (unsigned long long)gva, (unsigned long long)gpa[0]);
    return HC_OK;
}

void private_mem_release(struct vm *vm, int module)
{
    u32 kept = 0;
    for (u32 i = 0; i < nprivate; i++) {
        if (private_pages[i].module != module) {
            private_pages[kept++] = private_pages[i];
            continue;
        }
        memset(gmem_ptr(&vm->mem, private_pages[i].gpa, PAGE_SIZE), 0, PAGE_SIZE); /* its secrets stay its own */
        vm_npt_map(vm, private_pages[i].gpa, private_pages[i].gpa, PAGE_SIZE, NPT_RWX);
        iommu_set_page_writable(private_pages[i].gpa, true);
    }
    nprivate = kept;
}
