/* See trap_page.h; the design is in docs/pci.md ("Sub-page BARs"). */
#include "pci/trap_page.h"
#include "lib/lib.h"
#include "lib/log.h"
#include "lib/phys.h"
#include "core/mmio_emul.h"
#include "core/vcpu.h"
#include "core/vm.h"

/* Two per guarded sub-page BAR at most (its real page and the page the guest put it on): 128
 * such BARs. A full table refuses the BAR with the reason (guarded_dev_init or the guest's move). */
#define TRAP_PAGES_MAX 256

static struct trap_page traps[TRAP_PAGES_MAX];
static u64 forwarded, refused;

#ifdef HOST_TEST
u64 host_test_mmio_read(hpa_t hpa, u8 size);
void host_test_mmio_write(hpa_t hpa, u8 size, u64 value);
u64 trap_mmio_read(hpa_t hpa, u8 size) { return host_test_mmio_read(hpa, size); }
void trap_mmio_write(hpa_t hpa, u8 size, u64 value) { host_test_mmio_write(hpa, size, value); }
#else
u64 trap_mmio_read(hpa_t hpa, u8 size)
{
    volatile void *p = phys_to_virt(hpa);
    switch (size) {
    case 1:
        return *(volatile u8 *)p;
    case 2:
        return *(volatile u16 *)p;
    case 4:
        return *(volatile u32 *)p;
    default:
        return *(volatile u64 *)p;
    }
}

void trap_mmio_write(hpa_t hpa, u8 size, u64 value)
{
    volatile void *p = phys_to_virt(hpa);
    switch (size) {
    case 1:
        *(volatile u8 *)p = (u8)value;
        break;
    case 2:
        *(volatile u16 *)p = (u16)value;
        break;
    case 4:
        *(volatile u32 *)p = (u32)value;
        break;
    default:
        *(volatile u64 *)p = value;
        break;
    }
}
#endif

static struct trap_page *find(gpa_t page)
{
    for (int i = 0; i < TRAP_PAGES_MAX; i++)
        if (traps[i].refs && traps[i].gpa == page)
            return &traps[i];
    return NULL;
}

const struct trap_page *trap_page_find(gpa_t gpa) { return find(ALIGN_DOWN(gpa, PAGE_SIZE)); }

bool trap_page_get(struct vm *vm, gpa_t gpa)
{
    gpa_t page = ALIGN_DOWN(gpa, PAGE_SIZE);
    struct trap_page *t = find(page);
    int level;

    if (t) {
        t->refs++;
        return true;
    }
    for (int i = 0; i < TRAP_PAGES_MAX && !t; i++)
        if (!traps[i].refs)
            t = &traps[i];
    if (!t)
        return false;
    *t = (struct trap_page){ .gpa = page, .refs = 1 };
    t->was_mapped = npt_lookup(&vm->npt, page, &t->hpa, &t->perms, &level);
    if (t->was_mapped)
        t->hpa = ALIGN_DOWN(t->hpa, PAGE_SIZE);
    if (!vm_npt_unmap(vm, page, PAGE_SIZE)) {
        t->refs = 0;
        return false;
    }
    return true;
}

void trap_page_put(struct vm *vm, gpa_t gpa)
{
    struct trap_page *t = find(ALIGN_DOWN(gpa, PAGE_SIZE));

    if (!t || --t->refs)
        return;
    if (t->was_mapped && !vm_npt_map(vm, t->gpa, t->hpa, PAGE_SIZE, t->perms))
        LOG("pci: out of hypervisor memory mapping page 0x%llx back: left unmapped", (unsigned long long)t->gpa);
}

bool trap_page_forward(struct vcpu *v, gpa_t gpa, bool write)
{
    const struct trap_page *t = trap_page_find(gpa);
    struct mmio_insn insn;
    const char *why = "nothing was mapped there";
    u64 off, value = 0;

    if (!t)
        return false;
    off = gpa - t->gpa;
    if (t->was_mapped && (!write || (t->perms & NPT_WRITE)) && mmio_decode(v, write, &insn, &why)) {
        if (off + insn.size <= PAGE_SIZE) {
            if (write)
                trap_mmio_write(t->hpa + off, insn.size, insn_mmio_write_value(&insn, v->regs));
            else
                value = trap_mmio_read(t->hpa + off, insn.size);
            mmio_finish(v, &insn, value);
            forwarded++;
            return true;
        }
        why = "the access runs past the page";
    }
    LOG_RATELIMITED(refused, 8,
                    "pci: %s of 0x%llx (a page shared with a guarded sub-page BAR) at rip 0x%llx refused (%s): #GP "
                    "injected",
                    write ? "write" : "read", (unsigned long long)gpa, (unsigned long long)v->regs[REG_RIP], why);
    vcpu_inject_exception(v, VEC_GP, true, 0);
    return true;
}
