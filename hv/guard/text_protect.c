/* See text_protect.h. */
#include "guard/text_protect.h"
#include "drivers/iommu/iommu.h"
#include "core/guest_access.h"
#include "core/gva.h"
#include "lib/lib.h"
#include "lib/log.h"
#include "core/vm.h"

static bool read_guest(struct vcpu *v, u64 gva, void *dst, u64 len)
{
    return guest_read_virt(v, gva, dst, len, GVA_READ | GVA_SUPERVISOR | GVA_IMPLICIT);
}

static bool map_page(struct vm *vm, gpa_t gpa, u32 perms)
{
    /* Guest RAM is identity-mapped: the same host page, only the permissions change. Splitting a
     * 2 MiB page needs a table page: without one the page is not protected, and the caller must
     * not go on as if it were. Devices lose write access to it too (the IOMMU's DMA tables), or
     * a NIC programmed by anyone who can reach it could rewrite verified text. */
    return vm_npt_map(vm, gpa, gpa, PAGE_SIZE, perms) && iommu_set_page_writable(gpa, (perms & NPT_WRITE) != 0);
}

static bool protect_page(struct text_protect *t, struct vm *vm, gpa_t gpa, int module)
{
    for (u32 i = 0; i < t->n; i++)
        if (t->page[i].gpa == gpa)
            return t->page[i].module == module;
    if (t->n == TEXT_PROTECT_MAX_PAGES || !map_page(vm, gpa, NPT_READ | NPT_EXEC)) {
        LOG("guard: cannot write-protect guest-physical 0x%llx (out of hypervisor memory or pages)",
            (unsigned long long)gpa);
        return false;
    }
    t->page[t->n].gpa = gpa;
    t->page[t->n].module = module;
    t->n++;
    return true;
}

void text_unprotect(struct text_protect *t, struct vcpu *v, int module)
{
    u32 kept = 0;
    for (u32 i = 0; i < t->n; i++) {
        if (t->page[i].module == module)
            map_page(v->vm, t->page[i].gpa, NPT_RWX); /* the split table exists: cannot fail */
        else
            t->page[kept++] = t->page[i];
    }
    t->n = kept;
    vcpu_ops->flush_nested_tlb(v);
}

int text_protect_owner(const struct text_protect *t, gpa_t gpa)
{
    gpa_t page = ALIGN_DOWN(gpa, PAGE_SIZE);
    for (u32 i = 0; i < t->n; i++)
        if (t->page[i].gpa == page)
            return t->page[i].module;
    return -1;
}

bool text_protect_and_hash(struct text_protect *t, struct vcpu *v, const struct gmeta *m, int module, u64 base, u64 len,
                           u8 digest[SHA256_LEN])
{
    u8 *page = t->buf;
    struct gva_mode mode;
    struct sha256_ctx ctx;
    u32 hole = 0;

    guest_paging_mode(v, &mode);
    for (u64 off = 0; off < len; off += PAGE_SIZE) {
        u64 gpa;
        if (gva_translate(&v->vm->mem, &mode, base + off, GVA_READ | GVA_SUPERVISOR | GVA_IMPLICIT, &gpa, NULL) !=
                GVA_OK ||
            !gmem_ptr(&v->vm->mem, gpa, PAGE_SIZE) || !protect_page(t, v->vm, ALIGN_DOWN(gpa, PAGE_SIZE), module)) {
            text_unprotect(t, v, module);
            return false;
        }
    }
    vcpu_ops->flush_nested_tlb(v);

    sha256_start(&ctx);
    for (u64 off = 0; off < len; off += PAGE_SIZE) {
        u64 n = len - off < PAGE_SIZE ? len - off : PAGE_SIZE;
        if (!read_guest(v, base + off, page, n)) {
            text_unprotect(t, v, module);
            return false;
        }
        /* Zero the bytes the kernel rewrites at load time (relocations, LOCK prefixes). */
        for (; hole < m->hole_count; hole++) {
            struct gmeta_hole h;
            gmeta_hole_at(m, hole, &h);
            if (h.offset >= off + n)
                break;
            for (u32 b = 0; b < h.len; b++)
                if (h.offset + b >= off && h.offset + b < off + n)
                    page[h.offset + b - off] = 0;
            if (h.offset + h.len > off + n)
                break; /* continues on the next page */
        }
        sha256_update(&ctx, page, n);
    }
    sha256_finish(&ctx, digest);
    return true;
}

/* Jump-label sites are holes the kernel patches at load: each must hold a NOP or a jump that stays
 * inside the module's own text, never a way out of it (the x86 forms of arch_static_branch). */
bool text_jump_labels_ok(struct vcpu *v, const struct gmeta *m, u64 base, u64 len)
{
    static const u8 nop5[5] = { 0x0f, 0x1f, 0x44, 0x00, 0x00 }, nop2[2] = { 0x66, 0x90 };

    for (u32 i = 0; i < m->hole_count; i++) {
        struct gmeta_hole h;
        u8 b[5];
        s64 target;
        gmeta_hole_at(m, i, &h);
        if (h.kind != GMETA_HOLE_JUMP_LABEL)
            continue;
        if ((h.len != 5 && h.len != 2) || !read_guest(v, base + h.offset, b, h.len))
            return false;
        if ((h.len == 5 && !memcmp(b, nop5, 5)) || (h.len == 2 && !memcmp(b, nop2, 2)))
            continue;
        if (h.len == 5 && b[0] == 0xe9)
            target = (s64)h.offset + 5 + (s32)((u32)b[1] | (u32)b[2] << 8 | (u32)b[3] << 16 | (u32)b[4] << 24);
        else if (h.len == 2 && b[0] == 0xeb)
            target = (s64)h.offset + 2 + (s8)b[1];
        else
            target = -1;
        if (target < 0 || (u64)target >= len) {
            LOG("guard: module %s: jump-label site +0x%x holds %02x %02x..., neither a NOP nor a jump inside the "
                "module",
                m->name, h.offset, b[0], b[1]);
            return false;
        }
    }
    return true;
}
