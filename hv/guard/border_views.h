/*
 * The border in the nested page tables (docs/border-control.md, "The border in the nested page
 * tables"): which nested-paging view each vCPU runs on, so that leaving a guarded module without a
 * wrapper, and entering it anywhere but at a wrapper, faults.
 *
 *   out view     (every vCPU not inside a module) the registered modules' text is not executable;
 *   in view m    (a vCPU inside module m) m's text is the only executable guest memory; a second
 *                copy has the guarded device's BARs when the vCPU holds the device's privilege;
 *   loose        (a vCPU executing module code without privilege, the wrappers-only border: a
 *                refused crossing, or a jump into the middle) the ordinary view, until it leaves.
 *
 * Views share every table with the ordinary one except the paths to the module text pages, and
 * are rebuilt (lazily, before the next switch) whenever the protected text or the ordinary map
 * changes: vm_npt_changed(). Each view has its own ASID (struct vm's enum vm_view), so a switch is
 * a field write. Without execute permissions in the nested format (or with `border = wrappers`)
 * nothing here changes the view: the border is the wrappers' hypercalls alone.
 */
#ifndef POSTERN_BORDER_VIEWS_H
#define POSTERN_BORDER_VIEWS_H

#include "core/vcpu.h"
#include "core/vm.h"
#include "guard/guard.h"

/* The border's views, numbered after the VM's own two (struct vm's enum vm_view; each has its own
 * TLB tag: an ASID on SVM): the out view, then the in views. An in view's number is handed out when
 * its module registers (border_views_claim) and given back at its deinit, so the number of modules
 * is not limited by numbering; only by the backend's tags (vcpu_ops->nested_view_tags: SVM's ASIDs)
 * for the modules registered at one time. */
#define VIEW_OUT      VIEW_VM_COUNT
#define VIEW_IN_FIRST (VIEW_OUT + 1)

struct border_text_page {
    gpa_t gpa;
    int module;
};

/* guard: the state machine that says which module each vCPU is inside; pages/npages: the
 * protected text pages (hv/guard/text_protect.h, read at each rebuild); private_pages: the modules' private memory
 * (hv/guard/private_mem.h), mapped in their in views only. wanted: postern.cfg's `border = npt`.
 * Returns whether the border is enforced by the nested page tables. */
bool border_views_init(struct vm *vm, const struct guard *guard, bool wanted, const struct border_text_page *pages,
                       const u32 *npages, const struct border_text_page *private_pages, const u32 *nprivate);
bool border_views_enforced(void);
/* Registration of module m (border.c, before its text is protected): it needs an in view and,
 * when `device` (a vCPU inside it may hold the guarded device's privilege), the copy with the
 * device's BARs, each with a view number the backend can tag. True when they are its (or when the
 * border is not the nested page tables'); false, with why ("no ASID left ..."), when the backend
 * has no tag left: the registration must then fail rather than share a tag silently. */
bool border_views_claim(int m, bool device, char *why, size_t why_size);
/* Module m's deinit (or a failed registration): its views and their numbers are given back. */
void border_views_release(int m);
/* The view number module m's in view (dev: the device's copy) runs under; 0 when it has none. */
u32 border_view_number(int m, bool dev);
/* Put v on the view its state calls for (rebuilding stale views first). Cheap when nothing changed. */
void border_view_apply(struct vcpu *v);
/* The guarded device's privilege was raised or lowered on v (hv/pci/guarded_dev.c). */
void border_view_set_device(struct vcpu *v, bool raised);
/* v's border state changed (border.c, after each event): its view is chosen after the exit, once
 * the handler has set its registers. continues: v goes on at its RIP (false for an interrupt or
 * exception about to be delivered), so module code there runs loose if v is unprivileged. */
void border_view_changed(struct vcpu *v, bool continues);
/* After every exit, before the next entry: applies what changed, and puts a loose vCPU that has
 * left module text back on the out view. */
void border_view_after_exit(struct vcpu *v);
/* Counters for the report and make bench. */
struct border_view_stats {
    u64 rebuilds, switches, loose;
};
const struct border_view_stats *border_view_stats(void);

#endif
