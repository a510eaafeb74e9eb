/*
 * Border control in the exit path: what the guarded-module hypercalls, the intercepts a privileged
 * vCPU runs under, and writes to protected module text become (docs/border-control.md).
 *
 * The state machine (guard.c) decides; this file reads the guest (every pointer through the
 * guest's own page tables and gmem_ptr), has module text write-protected and hashed
 * (text_protect.c), posts one event per exit, and applies the result: registers, intercepts, the
 * log. Metadata comes in through gm_load.c; border_report.c prints what happened.
 *
 * The wrappers christoize generates park their own continuation in the caller's return-address
 * slot, so a return address never travels through guest memory while the other side runs: the
 * hypervisor records it at the first hypercall of a crossing and, at the second, performs the
 * wrapper's remaining `pop %rax; ret` itself with the recorded address. Nothing the kernel does
 * to the stack in between can choose where the module resumes.
 */
#include "guard/border_state.h"
#include "guard/border_views.h"
#include "guard/private_mem.h"
#include "core/guest_access.h"
#include "arch/x86_64/cpu.h"
#include "core/gva.h"
#include "core/hypercall.h"
#include "guard/idle.h"
#include "lib/lib.h"
#include "lib/log.h"
#include "guard/wrapper_layout.h"
#include "core/vm.h"

#define IRETQ_FRAME_LEN 40 /* RIP, CS, RFLAGS, RSP, SS */

static struct border
    vm_border; /* the one VM's (~170 KiB, most of it the protected-page table; modules are allocated) */

/* ------------------------------------------------------------------ set-up */

static u64 border_clock(void) { return rdtsc(); }

/* The frame table's secret hash multiplier (guard_config.frame_hash_seed): RDRAND where the CPU has
 * it, else the TSC at boot spread by a multiply (weaker: a guest can estimate the boot TSC). */
static u64 frame_hash_seed(void)
{
    u64 seed;
    if (rdrand64(&seed) && seed)
        return seed;
    return (rdtsc() * 0x9e3779b97f4a7c15ull) ^ 0x2545f4914f6cdd1dull;
}

struct border *border_init(struct vm *vm, struct privilege_registry *privs, const struct boot_info *bi)
{
    struct border *b = &vm_border;
    struct guard_config cfg = {
        .check_callee_saved = true,
        .restore_return_address = true,
        .clock = border_clock, /* log timestamps (the admin shell's log) */
    };
    cfg.frame_hash_seed = frame_hash_seed();

    memset(b, 0, sizeof(*b)); /* once per boot (and per fuzz input) */
    vm->border = b;
    if (bi->guarded_nic_set)
        fmt_snprintf(b->device_priv, sizeof(b->device_priv), "%s", bi->guarded_nic_privilege);
    /* The registry was initialised by hv_main and holds the device components' privileges:
     * bindings below resolve against it. */
    if (privilege_test_register(privs) < 0)
        LOG("guard: cannot register the test privilege");
    if (privilege_idle_register(privs, vm) < 0)
        LOG("guard: cannot register the idle privilege");
    guard_init(&b->guard, privs, &cfg);
    vcpu_set_event_hook(border_before_event); /* every injected event is seen here first */
    if (border_views_init(vm, &b->guard, bi->border_npt, b->text.page, &b->text.n, private_pages, &nprivate))
        LOG("guard: border = npt: module text executes only inside its border, and only there (nested-paging views)");
    else
        LOG("guard: border = wrappers: the wrappers' hypercalls are the border");
    gm_signature_init(b, bi);
    gm_load_configured(b, bi);
    return b;
}

/* ------------------------------------------------------------------ guest access */

static bool read_guest(struct vcpu *v, u64 gva, void *dst, u64 len)
{
    return guest_read_virt(v, gva, dst, len, GVA_READ | GVA_SUPERVISOR | GVA_IMPLICIT);
}

static bool read_guest_u64(struct vcpu *v, u64 gva, u64 *val) { return read_guest(v, gva, val, sizeof(*val)); }

/* An aligned 8-byte store the hypervisor makes for a wrapper it completes (the nested-paging
 * border): to writable guest RAM through the guest's own page tables, never to protected text
 * (the guest chooses RSP). */
static bool write_guest_u64(struct vcpu *v, u64 gva, u64 val)
{
    struct gva_mode mode;
    u64 gpa;
    u64 *p;

    if (gva & 7)
        return false;
    guest_paging_mode(v, &mode);
    if (gva_translate(&v->vm->mem, &mode, gva, GVA_WRITE | GVA_SUPERVISOR | GVA_IMPLICIT, &gpa, NULL) != GVA_OK ||
        text_protect_owner(&v->vm->border->text, gpa) >= 0 || !(p = gmem_ptr(&v->vm->mem, gpa, sizeof(val))))
        return false;
    *p = val;
    return true;
}

/* ------------------------------------------------------------------ events */

/* A module's deinit or revocation: its private memory zeroed and given back, its text writable
 * again. */
static void release_module(struct vcpu *v, int module)
{
    border_views_release(module);
    private_mem_release(v->vm, module);
    text_unprotect(&v->vm->border->text, v, module);
}

static void apply_watch(struct vcpu *v, const struct guard_result *res)
{
    u32 watch = 0;
    if (res->privileged)
        watch |= WATCH_INTERRUPTS | WATCH_EXCEPTIONS;
    /* With the nested-paging border, the return into an interrupted module is a fetch fault: no
     * IRET needs watching. */
    if (res->watch_iret && !border_views_enforced())
        watch |= WATCH_IRET;
    vcpu_ops->set_watch(v, watch);
}

/* The serial line is shared with the guest's console and the admin shell: a guest that keeps
 * crossing into a revoked module must not flood it. The first 16 events of each kind are printed,
 * then every 1024th; the admin shell's `log` keeps the latest 64 of all. */
#define SUSPICIOUS_PRINTED 16
static void log_suspicious(struct border *b)
{
    u32 n = guard_log_count(&b->guard);
    const struct guard_log_entry *e = n ? guard_log_get(&b->guard, n - 1) : NULL;
    u64 seen;
    if (!e)
        return;
    seen = b->guard.stats.suspicious[e->kind];
    if (!log_ratelimit_pass(seen, SUSPICIOUS_PRINTED)) /* counted by the state machine */
        return;
    LOG("guard: SUSPICIOUS %s: module %s, vcpu %u, %s at rip 0x%llx: %s (expected 0x%llx, observed 0x%llx)%s",
        guard_susp_name(e->kind), e->module[0] ? e->module : "-", e->vcpu, guard_event_name(e->event),
        (unsigned long long)e->rip, e->detail ? e->detail : "", (unsigned long long)e->expected,
        (unsigned long long)e->observed,
        seen == SUSPICIOUS_PRINTED ? " [further events of this kind: every 1024th printed; admin shell: log]" : "");
}

static enum guard_verdict post(struct vcpu *v, struct guard_event *ev, struct guard_result *res, u64 t0)
{
    struct border *b = v->vm->border;
    enum guard_verdict verdict;

    ev->vcpu = v->id;
    /* guard_event fills in every field of res (no memset: a byte loop here, ~230 instructions). */
    verdict = guard_event(&b->guard, ev, res);
    if (verdict == GUARD_SUSPICIOUS)
        log_suspicious(b);
    if (res->actions & GUARD_ACT_UNPROTECT_TEXT && res->module >= 0)
        release_module(v, res->module);
    apply_watch(v, res);
    border_view_changed(v, ev->kind != GUARD_EV_INTERRUPT);
    guard_account_cost(&b->guard, ev, res, rdtsc() - t0);
    return verdict;
}

static void fill_callee_saved(const struct vcpu *v, struct guard_event *ev)
{
    static const int regs[GUARD_NCALLEE] = { REG_RBX, REG_RBP, REG_R12, REG_R13, REG_R14, REG_R15 };
    for (int i = 0; i < GUARD_NCALLEE; i++)
        ev->u.call.callee_saved[i] = v->regs[regs[i]];
}

/* The wrapper's `pop %rax; ret`, done by the hypervisor with the recorded return address. */
static bool finish_wrapper(struct vcpu *v, u64 ret_addr)
{
    u64 rax;
    if (!read_guest_u64(v, v->regs[REG_RSP], &rax))
        return false;
    v->regs[REG_RAX] = rax;
    v->regs[REG_RSP] += 16;
    v->regs[REG_RIP] = ret_addr;
    return true;
}

/* The wrapper layouts (christoize/stubs.c, docs/christoize.md "Wrapper layouts") the nested-paging
 * border completes or starts on the guest's behalf: hv/guard/wrapper_layout.c reads them. */
#define OP_PUSH_RAX 0x50

/* After an exit wrapper's border-out call (`lea .Lcont(%rip),%rax; mov %rax,8(%rsp); pop %rax;
 * jmp *.Lslot(%rip)`): put .Lcont in the return-address slot, pop RAX, and go to the kernel
 * function the slot holds (module data the kernel can change: the jump is unprivileged anyway). */
static bool finish_exit_wrapper(struct vcpu *v)
{
    u64 site = v->regs[REG_RIP], rsp = v->regs[REG_RSP], rax, target, cont, slot;
    u8 b[WL_EXIT_TAIL_LEN];

    if (!read_guest(v, site, b, sizeof(b)) || !wl_exit_tail(b, site, &cont, &slot))
        return false;
    if (!read_guest_u64(v, rsp, &rax) || !read_guest_u64(v, slot, &target) || !write_guest_u64(v, rsp + 8, cont))
        return false;
    v->regs[REG_RAX] = rax;
    v->regs[REG_RSP] = rsp + 8;
    v->regs[REG_RIP] = target;
    return true;
}

/* Does the wrapper code at rip hold `prefix` and then the hypercall of `nr`? */
static bool wrapper_at(struct vcpu *v, u64 rip, const u8 *prefix, u32 plen, u32 nr)
{
    u8 b[16];
    return read_guest(v, rip, b, plen + 8) && wl_hypercall_after(b, prefix, plen, nr);
}

/* The site of kind `kind` at rip + off in module m, if there is one. */
static bool site_at(const struct border *b, int m, u64 rip, u32 off, enum gmeta_site_kind kind)
{
    const struct guard_module *mod = b->guard.mod[m];
    int s = guard_site_lookup(mod, (u32)(rip - mod->text_base) + off);
    return s >= 0 && mod->sites[s].kind == kind;
}


/* With the nested-paging border a border-in call hypercall executed natively by a vCPU privileged
 * inside module m can only come from m's own code — nothing else is executable in its view — calling
 * one of its own entries through a function pointer (the e1000's e1000_clean calls
 * adapter->clean_rx and ->alloc_rx_buf: two nested crossings per poll). Nothing crosses there, so the
 * hypervisor does what the wrapper would without its frame: `pop %rax` and the wrapper's `jmp
 * function`, leaving the caller's return address on top of the stack, so the function returns
 * straight to its caller: one exit instead of two, no nested frame, the depth unchanged. Only for
 * the layout christoize writes after an entry wrapper's hypercall (`lea .Lcont(%rip),%rax; mov
 * %rax,8(%rsp); pop %rax; jmp F`), and only when F and the return address are m's text; anything
 * else is a nested border-in call as before. */
static bool intra_module_call(struct vcpu *v)
{
    struct border *b = v->vm->border;
    int m = b->guard.vcpu[v->id].module;
    u64 rip = v->regs[REG_RIP], rsp = v->regs[REG_RSP], rax, ret, target;
    u8 tail[WL_ENTRY_TAIL_LEN];

    if (!border_views_enforced() || m < 0 || !guard_privileged(&b->guard, v->id) ||
        guard_module_at(&b->guard, rip) != m || !site_at(b, m, rip, 0, GMETA_SITE_BORDER_IN_CALL))
        return false;
    /* the wrapper's continuation follows its jmp, so the longer (rel32) form's bytes are always there */
    if (!read_guest(v, rip, tail, sizeof(tail)) || !wl_entry_tail(tail, sizeof(tail), rip, &target))
        return false;
    if (guard_module_at(&b->guard, target) != m || !read_guest_u64(v, rsp, &rax) || !read_guest_u64(v, rsp + 8, &ret) ||
        guard_module_at(&b->guard, ret) != m)
        return false;
    v->regs[REG_RAX] = rax;
    v->regs[REG_RSP] = rsp + 8;
    v->regs[REG_RIP] = target;
    b->intra_calls++;
    return true;
}

/* A privileged vCPU fetched outside its module's text: the module left without a wrapper (an
 * indirect call or jump to the kernel, or into another module). A border-out like an interrupt's:
 * lowered, and the context recorded so the one way back is where a call returns: the address now
 * on top of the stack, with the stack as it will be then. */
static bool leave_unwrapped(struct vcpu *v, int m)
{
    struct border *b = v->vm->border;
    struct guard_event ev = { .kind = GUARD_EV_INTERRUPT, .rip = v->regs[REG_RIP], .rsp = v->regs[REG_RSP] };
    struct guard_result res;
    u64 ret;

    if (read_guest_u64(v, v->regs[REG_RSP], &ret) && guard_module_at(&b->guard, ret) == m) {
        ev.rip = ret;
        ev.rsp = v->regs[REG_RSP] + 8;
    }
    ev.u.intr.vector = 0;
    post(v, &ev, &res, rdtsc());
    LOG_RATELIMITED(b->leaves_logged, SUSPICIOUS_PRINTED,
                    "guard: module %s left at rip 0x%llx without a wrapper: privilege lowered (comes back only to "
                    "0x%llx)",
                    b->guard.mod[m]->name, (unsigned long long)v->regs[REG_RIP], (unsigned long long)ev.rip);
    return true;
}

/* An unprivileged vCPU fetched from a guarded module's text. One exit per crossing: an entry
 * wrapper's first instruction is its border-in call (the hypervisor does `push %rax; mov $nr,%eax`
 * and the hypercall), an exit wrapper's continuation its border-in ret (`sub $8,%rsp; push %rax;
 * mov`, the hypercall and the `pop %rax; ret` it ends with). Anything else must resume a recorded
 * context, else it is refused and runs unprivileged (the wrappers-only border) until it leaves. */
static bool enter_by_fetch(struct vcpu *v, int m)
{
    struct border *b = v->vm->border;
    static const u8 push[1] = { OP_PUSH_RAX }, sub_push[5] = { 0x48, 0x83, 0xec, 0x08, OP_PUSH_RAX };
    u64 rip = v->regs[REG_RIP], rsp = v->regs[REG_RSP], t0 = rdtsc(), addr;
    struct guard_event ev = { .kind = GUARD_EV_FETCH, .rip = rip, .rsp = rsp };
    struct guard_result res;

    /* An interrupt taken at an entry wrapper's first instruction (a module calling one of its own
     * entries) returns there: that is the interrupted run resuming, not a new entry. */
    if (guard_int_frame_at(&b->guard, rip, rsp)) {
        post(v, &ev, &res, t0);
        return true;
    }
    if (site_at(b, m, rip, 6, GMETA_SITE_BORDER_IN_CALL) && wrapper_at(v, rip, push, 1, HC_BORDER_IN_CALL) &&
        write_guest_u64(v, rsp - 8, v->regs[REG_RAX])) {
        v->regs[REG_RSP] = rsp - 8;
        v->regs[REG_RIP] = rip + 6;
        if (border_hypercall(v, HC_BORDER_IN_CALL))
            v->regs[REG_RIP] += 3;
        return true;
    }
    if (site_at(b, m, rip, 10, GMETA_SITE_BORDER_IN_RET) && wrapper_at(v, rip, sub_push, 5, HC_BORDER_IN_RET)) {
        /* As border_hypercall's border-in ret, with RSP where the hypercall would have it; the
         * saved RAX it pops is the RAX of now, so nothing is written. */
        ev.kind = GUARD_EV_IN_RET;
        ev.rip = rip + 10;
        ev.rsp = rsp - 16;
        ev.u.call.ret_slot = rsp - 8;
        ev.u.call.ret_addr = 0;
        fill_callee_saved(v, &ev);
        post(v, &ev, &res, t0);
        if (unpark(&b->park, rsp - 8, &addr)) {
            v->regs[REG_RIP] = addr;
            return true;
        }
        LOG("guard: no return address held for the crossing at rip 0x%llx (slot 0x%llx)", (unsigned long long)ev.rip,
            (unsigned long long)(rsp - 8));
        return true; /* runs on unprivileged: the wrapper's own code does what the hypercall would */
    }
    post(v, &ev, &res, t0);
    return true;
}

/* An instruction fetch the border's views forbid. False: not the border's (the caller's fault path). */
static bool border_fetch_fault(struct vcpu *v, gpa_t gpa)
{
    struct border *b = v->vm->border;

    b->fetch_faults++;
    int inside = b->guard.vcpu[v->id].module, m = guard_module_at(&b->guard, v->regs[REG_RIP]);

    if (inside >= 0 && m != inside)
        return leave_unwrapped(v, inside);
    if (inside >= 0 && text_protect_owner(&b->text, gpa) != inside) {
        /* The module's own addresses, but not the pages registered (and hashed) behind them: the
         * kernel has remapped its text. Never privileged there: lowered, and the code runs on
         * unprivileged (the out view lets it). */
        LOG_RATELIMITED(b->remap_logged, SUSPICIOUS_PRINTED,
                        "guard: SUSPICIOUS remapped-text: module %s, vcpu %u, fetch at rip 0x%llx from guest-physical "
                        "0x%llx, "
                        "not the registered text: privilege lowered",
                        b->guard.mod[inside]->name, v->id, (unsigned long long)v->regs[REG_RIP],
                        (unsigned long long)gpa);
        return leave_unwrapped(v, inside);
    }
    if (inside < 0 && m >= 0 && text_protect_owner(&b->text, gpa) == m)
        return enter_by_fetch(v, m);
    /* Module text reached through another guest-virtual address, or a page the module's text
     * does not own: the fault path (#GP), as for memory the guest may not execute. */
    return false;
}

static bool hc_init(struct vcpu *v, u64 t0)
{
    struct border *b = v->vm->border;
    struct guard_event ev = { .kind = GUARD_EV_INIT, .rip = v->regs[REG_RIP], .rsp = v->regs[REG_RSP] };
    struct guard_result res;
    int module = -1;
    u64 base = 0, len = 0;
    int rc;

    if (!read_guest(v, v->regs[REG_RBX], ev.u.init.claimed_hash, GUARD_HASH_LEN)) {
        LOG("guard: registration at rip 0x%llx: claimed hash at 0x%llx unreadable", (unsigned long long)ev.rip,
            (unsigned long long)v->regs[REG_RBX]);
        v->regs[REG_RAX] = (u64)(s64)HC_EINVAL;
        return true;
    }
    rc = guard_locate(&b->guard, ev.rip, ev.u.init.claimed_hash, &module, &base, &len);
    /* Its nested-paging views first: with no TLB tag left (SVM's ASIDs) the registration fails
     * here, said in the log, before anything is protected. */
    if (rc == 0) {
        char why[200];
        bool device = b->device_priv[0] && v->vm->npt_priv.root && border_module_asks_for(b, module, b->device_priv);
        if (!border_views_claim(module, device, why, sizeof(why))) {
            LOG("guard: module %s not registered: %s", b->guard.mod[module]->name, why);
            v->regs[REG_RAX] = (u64)(s64)HC_EPERM;
            return true;
        }
    }
    if (rc == 0 &&
        !text_protect_and_hash(&b->text, v, &border_mod(b, module)->meta, module, base, len, ev.u.init.text_hash)) {
        border_views_release(module);
        private_mem_release(v->vm, module);
        LOG("guard: registration of %s: text 0x%llx+0x%llx is not readable guest memory", b->guard.mod[module]->name,
            (unsigned long long)base, (unsigned long long)len);
        v->regs[REG_RAX] = (u64)(s64)HC_EINVAL;
        return true;
    }
    /* A patched jump-label site that could leave the module counts as text that does not match. */
    if (rc == 0 && !text_jump_labels_ok(v, &border_mod(b, module)->meta, base, len))
        memset(ev.u.init.text_hash, 0, sizeof(ev.u.init.text_hash));
    /* A failed locate still goes to the state machine, which logs why. */
    if (post(v, &ev, &res, t0) == GUARD_OK && (res.actions & GUARD_ACT_RAISED)) {
        u64 ret;
        /* The init wrapper (push %rax; push %rbx) lowers with an entry wrapper's tail once init
         * returns: hold the kernel's return address for it, as a border-in call would. */
        if (read_guest_u64(v, v->regs[REG_RSP] + 16, &ret))
            park(&b->park, v->regs[REG_RSP] + 16, ret);
        LOG("guard: module %s registered: text 0x%llx+0x%llx verified and write-protected", b->guard.mod[module]->name,
            (unsigned long long)base, (unsigned long long)len);
        v->regs[REG_RAX] = HC_OK;
    } else {
        if (rc == 0 && !(res.actions & GUARD_ACT_PROTECT_TEXT))
            release_module(v, module);
        v->regs[REG_RAX] = (u64)(s64)HC_EPERM;
    }
    return true;
}

/* Returns whether the hypercall instruction is done (move RIP past it). */
bool border_hypercall(struct vcpu *v, u64 nr)
{
    struct border *b = v->vm->border;
    u64 t0 = rdtsc();
    struct guard_event ev = { .rip = v->regs[REG_RIP], .rsp = v->regs[REG_RSP] };
    struct guard_result res;
    u64 slot = v->regs[REG_RSP] + 8, addr;

    if (nr == HC_TEST_PRIVILEGED) {
        v->regs[REG_RBX] = privilege_test_is_raised(v->id);
        v->regs[REG_RAX] = HC_OK;
        return true;
    }
    if (vcpu_ops->cpl(v) != 0) {
        LOG("guard: SUSPICIOUS guarded-module hypercall 0x%llx from CPL %u at rip 0x%llx: refused",
            (unsigned long long)nr, vcpu_ops->cpl(v), (unsigned long long)v->regs[REG_RIP]);
        v->regs[REG_RAX] = (u64)(s64)HC_EPERM;
        return true;
    }
    switch (nr) {
    case HC_GUARD_INIT:
        return hc_init(v, t0);
    case HC_GUARD_PRIVATE: {
        /* Only the module itself, privileged, hands over its private memory. */
        int m = b->guard.vcpu[v->id].module;
        if (m < 0 || guard_module_at(&b->guard, v->regs[REG_RIP]) != m) {
            LOG("guard: SUSPICIOUS private-memory request at rip 0x%llx from outside a module's border: refused",
                (unsigned long long)v->regs[REG_RIP]);
            v->regs[REG_RAX] = (u64)(s64)HC_EPERM;
            return true;
        }
        int rc = private_mem_take(v, m, b->guard.mod[m]->name, &b->text, v->regs[REG_RBX], v->regs[REG_RCX]);
        v->regs[REG_RBX] = rc == HC_OK ? v->regs[REG_RCX] : 0;
        v->regs[REG_RAX] = (u64)(s64)rc;
        return true;
    }
    case HC_GUARD_DEINIT:
        /* The cleanup wrapper returns by itself after deinit: drop what its border-in parked. */
        unpark(&b->park, slot, &addr);
        ev.kind = GUARD_EV_DEINIT;
        v->regs[REG_RAX] = post(v, &ev, &res, t0) == GUARD_OK ? HC_OK : (u64)(s64)HC_EPERM;
        return true;
    case HC_BORDER_IN_CALL:
    case HC_BORDER_OUT_CALL:
        if (nr == HC_BORDER_IN_CALL && intra_module_call(v))
            return false; /* RIP and RSP set: at the function, called from its own module */
        /* [rsp] = the wrapper's saved RAX, [rsp+8] = the caller's return address. */
        if (!read_guest_u64(v, slot, &addr)) {
            v->regs[REG_RAX] = (u64)(s64)HC_EINVAL;
            return true;
        }
        ev.kind = nr == HC_BORDER_IN_CALL ? GUARD_EV_IN_CALL : GUARD_EV_OUT_CALL;
        ev.u.call.ret_slot = slot;
        ev.u.call.ret_addr = addr;
        fill_callee_saved(v, &ev);
        post(v, &ev, &res, t0);
        park(&b->park, slot, addr); /* whatever the verdict: the other side must come back to it */
        /* Lowered with the nested-paging border: the wrapper's next instruction is module text
         * this vCPU may no longer execute, so the hypervisor does the rest of it. */
        if (nr == HC_BORDER_OUT_CALL && border_views_enforced() && !res.privileged && finish_exit_wrapper(v))
            return false;
        return true;
    case HC_BORDER_OUT_RET:
    case HC_BORDER_IN_RET:
        ev.kind = nr == HC_BORDER_OUT_RET ? GUARD_EV_OUT_RET : GUARD_EV_IN_RET;
        ev.u.call.ret_slot = slot;
        read_guest_u64(v, slot, &ev.u.call.ret_addr);
        fill_callee_saved(v, &ev);
        post(v, &ev, &res, t0);
        if (unpark(&b->park, slot, &addr) && finish_wrapper(v, addr))
            return false; /* RIP and RSP set: the wrapper's tail is done */
        LOG("guard: no return address held for the crossing at rip 0x%llx (slot 0x%llx)",
            (unsigned long long)v->regs[REG_RIP], (unsigned long long)slot);
        v->regs[REG_RAX] = (u64)(s64)HC_EINVAL;
        return true;
    default:
        return false;
    }
}

bool border_is_hypercall(u64 nr) { return nr == HC_TEST_PRIVILEGED || (nr >= HC_GUARD_INIT && nr <= HC_GUARD_PRIVATE); }

/* ------------------------------------------------------------------ intercepts while privileged */

/* An event is about to be delivered to the guest (by the CPU once the watch is off, or injected by
 * the hypervisor). `rip` is where its IRET frame will return to. */
void border_before_event(struct vcpu *v, u8 vector, u64 rip)
{
    struct border *b = v->vm->border;
    struct guard_event ev = { .kind = GUARD_EV_INTERRUPT, .rip = rip, .rsp = v->regs[REG_RSP] };
    struct guard_result res;
    if (!guard_privileged(&b->guard, v->id))
        return;
    ev.u.intr.vector = vector;
    post(v, &ev, &res, rdtsc());
}


/* Re-arm only what is still needed when a watch exit finds the vCPU unprivileged. */
static void rewatch(struct vcpu *v)
{
    struct border *b = v->vm->border;
    struct guard_result res = { 0 };
    res.privileged = guard_privileged(&b->guard, v->id);
    res.watch_iret = b->guard.int_frames > 0;
    apply_watch(v, &res);
}

void exit_watched_exception(struct vcpu *v, u8 vector, bool has_error, u32 error, u64 cr2)
{
    struct border *b = v->vm->border;
    if (!guard_privileged(&b->guard, v->id))
        rewatch(v);
    vcpu_reinject_exception(v, vector, has_error, error, cr2); /* a privileged vCPU crosses first */
}

/*
 * A privileged vCPU's interrupt exit: the border-out is posted at the current RIP and the
 * interrupt stays pending; with the watch off the CPU delivers it at the next VMRUN. (Taking it in
 * a STI;NOP window and injecting it, tried in ac38060, made QEMU's TCG deliver an MSI-X vector a
 * second time at IF=0 with the e1000e: docs/lab/network-tests.md. The module running on unprivileged
 * that motivated it was the unwatched IRET, fixed by the interrupt window below.)
 */
void exit_watched_interrupt(struct vcpu *v, bool nmi)
{
    struct border *b = v->vm->border;
    if (guard_privileged(&b->guard, v->id))
        border_before_event(v, nmi ? VEC_NMI : 0, v->regs[REG_RIP]);
    else
        rewatch(v); /* this exit only re-arms the IRET watch after an IRET was let through */
}

void exit_watched_iret(struct vcpu *v)
{
    struct border *b = v->vm->border;
    u64 frame[IRETQ_FRAME_LEN / 8];
    u8 insn[2];
    struct guard_event ev = { .kind = GUARD_EV_IRET };
    struct guard_result res;
    u32 watch;

    /* Only IRETQ (48 CF) returns to 64-bit code; anything else cannot resume the module. */
    if (read_guest(v, v->regs[REG_RIP], insn, 2) && insn[0] == 0x48 && insn[1] == 0xcf &&
        read_guest(v, v->regs[REG_RSP], frame, sizeof(frame))) {
        ev.rip = frame[0];
        ev.rsp = frame[3];
        post(v, &ev, &res, rdtsc());
    } else {
        res.privileged = guard_privileged(&b->guard, v->id);
    }
    /* Let this IRET execute (the intercept comes before it, so it must be off for one
     * instruction). If interrupted module contexts are still outstanding, ask for an exit at the
     * first point the guest can take an interrupt: an interrupted module context had IF=1, so the
     * IRET that finally returns to it — possibly this one's successor, run while the watch was
     * off (measured: kernel handlers execute IRETs of their own) — is followed by that exit before
     * the module runs one instruction. exit_irq_window then checks it as the return. */
    watch = WATCH_INTERRUPTS;
    if (res.privileged)
        watch |= WATCH_EXCEPTIONS;
    else if (b->guard.int_frames > 0)
        watch |= WATCH_IRQ_WINDOW;
    vcpu_ops->set_watch(v, watch);
}

void exit_irq_window(struct vcpu *v)
{
    struct border *b = v->vm->border;
    struct guard_event ev = { .kind = GUARD_EV_IRET, .rip = v->regs[REG_RIP], .rsp = v->regs[REG_RSP] };
    struct guard_result res;

    /* In a module, unprivileged, with an interrupted context outstanding: an IRET returned here
     * without an exit. The state machine checks it as that IRET (RIP and RSP of the frame are now
     * the registers) and raises only if it is the interrupted context. Elsewhere: re-arm. */
    if (!guard_privileged(&b->guard, v->id) && b->guard.int_frames > 0 && guard_module_at(&b->guard, ev.rip) >= 0) {
        post(v, &ev, &res, rdtsc());
        return;
    }
    rewatch(v);
}

bool border_nested_fault(struct vcpu *v, gpa_t gpa, bool write, bool fetch)
{
    struct border *b = v->vm->border;
    int module = text_protect_owner(&b->text, gpa);

    if (fetch && border_views_enforced())
        return border_fetch_fault(v, gpa);
    if (private_mem_module(gpa) >= 0) {
        int pm = private_mem_module(gpa);
        LOG_RATELIMITED(b->private_logged, SUSPICIOUS_PRINTED,
                        "guard: SUSPICIOUS private-memory: module %s's private page 0x%llx %s at rip 0x%llx from "
                        "outside its "
                        "border: #GP injected",
                        b->guard.mod[pm]->name, (unsigned long long)ALIGN_DOWN(gpa, PAGE_SIZE),
                        write ? "written" : "read", (unsigned long long)v->regs[REG_RIP]);
        vcpu_inject_exception(v, VEC_GP, true, 0);
        return true;
    }
    struct guard_event ev = { .kind = GUARD_EV_TEXT_WRITE, .rip = v->regs[REG_RIP], .rsp = v->regs[REG_RSP] };
    struct guard_result res;

    if (module < 0 || !write)
        return false;
    if (b->guard.mod[module]->state != GUARD_MOD_ACTIVE) {
        /* Already revoked: the text is no longer anyone's to protect. */
        release_module(v, module);
        return true;
    }
    ev.u.write.module = module;
    ev.u.write.addr = gpa;
    post(v, &ev, &res, rdtsc());
    LOG("guard: write to module %s text (guest-physical 0x%llx) at rip 0x%llx blocked: module revoked",
        b->guard.mod[module]->name, (unsigned long long)gpa, (unsigned long long)v->regs[REG_RIP]);
    vcpu_inject_exception(v, VEC_GP, true, 0);
    return true;
}

struct guard *border_guard(struct border *b) { return &b->guard; }
