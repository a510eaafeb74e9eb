/* FUZZ-SOURCES: hv/exits.c hv/core/vcpu.c hv/core/mce.c hv/guard/border.c hv/guard/gm_load.c hv/guard/text_protect.c hv/guard/park.c hv/guard/border_report.c hv/guard/wrapper_layout.c hv/guard/private_mem.c hv/guard/border_views.c hv/core/npt.c hv/core/event_queue.c hv/core/guest_physmap.c hv/platform/smi_port.c hv/guard/guard.c hv/guard/guard_mem.c hv/guard/privilege.c hv/guard/gmeta.c hv/core/gva.c hv/core/guest_access.c hv/crypto/sha256.c hv/lib/fmt.c hv/crypto/hosted.c -lmbedcrypto */
/*
 * libFuzzer harness for the hypercall decoder: exit_hypercall() (hv/exits.c) and everything it
 * hands guarded-module numbers to in hv/guard/border.c (registration, the four crossings, deinit), on
 * a fake vCPU over fake guest memory. Border control is linked as in the hypervisor and reached
 * through its interface (hv/guard/border.h): border_init() starts it afresh for each input, and
 * border_guard() shows the state machine the invariants are checked against.
 *
 * Fixture: 8 MiB of guest RAM in an exact-size heap buffer (ASan catches any hypervisor access
 * outside it) with 4-level page tables: the module gm's text at 0xffffffffc0a00000 (2 MiB page,
 * guest-physical 0x200000; sites INIT +0x100, DEINIT +0x200, IN_CALL +0x300, OUT_RET +0x310,
 * OUT_CALL +0x400, IN_RET +0x410), a data/stack page at 0xffffffffc0c00000 (0x400000), user
 * memory at 0 (0x600000). gm's metadata (hash-only, unsigned) is loaded by border_init() from a
 * boot_info, with `bind = gm test`.
 *
 * border: the first input byte's top bit set runs the input with border = npt (fetch faults, the
 * module's calls to itself, exit wrappers the hypervisor finishes; christoize's wrapper code sits
 * around the sites: put_wrappers), clear with border = wrappers.
 *
 * Input: 16 bytes per step, at most 512 steps.
 *   b0   op: 0-11 a hypercall (11 with border = npt: an instruction fetch the views forbid,
 *        fetch_step), 12-13 a guest store of 8 bytes (b8..15) into the stack page or
 *        the page tables, 14 a paging-mode change, 15 an administrator's revoke/reinstate
 *   b1   number: one of the ABI's, its neighbours, or a raw 64-bit value (b8..15)
 *   b2   RIP: a site of gm (right kind or not), off by one, elsewhere in its text, kernel, user,
 *        non-canonical, raw
 *   b3   RSP: the stack page (various offsets, the last slot before unmapped memory, misaligned),
 *        user, non-canonical, raw
 *   b4   RBX: the good hash, another hash, a hash crossing into unmapped memory, NULL, user,
 *        non-canonical, raw
 *   b5   CPL (bit 0: 3), the return address written at [RSP+8] (bits 1-3), callee-saved seed
 *   b6,7 low bits of raw values
 *
 * INVARIANTS, after every hypercall (abort() on violation):
 *   - the `test` privilege is held exactly when the state machine says vCPU 0 is INSIDE gm;
 *   - it is gained only at CPL 0, by HC_GUARD_INIT, HC_BORDER_IN_CALL or HC_BORDER_IN_RET made
 *     from gm's site of that kind (a validated border-in), never by anything else;
 *   - an unknown number returns HC_ENOSYS (-1) and changes nothing but RAX; a guarded-module
 *     number from CPL 3 returns HC_EPERM (-2) and changes nothing but RAX;
 *   - HC_TEST_PRIVILEGED answers the truth;
 *   - registers other than RAX, RBX, RCX, RDX, RIP, RSP never change; RCX/RDX only for
 *     HC_STATS_EXITS; RSP only when the hypervisor performed a wrapper's tail (returned false),
 *     which only a border-out ret or border-in ret does, moving RSP up by 16 and RIP to a return
 *     address the guest's stack held at an earlier crossing (never one of its own choosing now);
 *   - with border = npt, a border-in call from inside gm may go straight to the entry's function
 *     (RSP + 8, privilege kept, a return address in gm on top) and a lowering border-out call to
 *     the function its exit wrapper's slot holds (RSP + 8); after a fetch, privilege is gained only
 *     at the entry wrapper's start, the exit wrapper's continuation or a recorded way back, and
 *     only RAX, RIP and RSP change (see fetch_step);
 *   - every guest-memory access stays inside guest RAM (ASan).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guard/border.h"
#include "guard/border_views.h"
#include "guard/gmeta.h"
#include "guard/privilege.h"
#include "guard/sigcheck.h"
#include "core/boot_info.h"
#include "core/guest_access.h"
#include "core/gva.h"
#include "core/hypercall.h"
#include "core/npt.h"
#include "core/vm.h"
#include "apic_trap.h"
#include "console/console.h"
#include "core/cpuid_policy.h"
#include "exits_msr.h"
#include "crypto/sha256.h"
#include "exits.h"
#include "lib/lib.h"
#include "lib/log.h"
#include "lib/page_alloc.h"
#include "lib/timebase.h"

#define CHECK(c)                                                                                                       \
    do {                                                                                                               \
        if (!(c)) {                                                                                                    \
            fprintf(stderr, "fuzz_hypercall: invariant violated: %s (line %d, step %u)\n", #c, __LINE__, step_no);     \
            abort();                                                                                                   \
        }                                                                                                              \
    } while (0)

static unsigned step_no;
static bool npt_mode; /* border = npt for this input: the first byte's top bit */
static bool trace;    /* FUZZ_HYPERCALL_TRACE=1: one line per hypercall on stderr (reproducing a crash) */
#define MAX_STEPS 512

/* ------------------------------------------------------------------ fakes for what border.c and exits.c call */

struct vm vm0;
static struct privilege_registry privs;
struct page_pool hv_pages;
const char hv_canary[16] = "POSTERN-HV-CANAR";

static char log_line[600];
void log_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fmt_vsnprintf(log_line, sizeof(log_line), fmt, ap); /* formatted, so UBSan sees the arguments */
    va_end(ap);
}

/* Metadata copies: a bump allocator over a static arena, reset per input (no leaks to report). */
static _Alignas(4096) u8 arena[256 * 4096];
static u64 arena_used;
hpa_t page_alloc(struct page_pool *p, u64 npages, u64 align_pages)
{
    (void)p, (void)align_pages;
    if (npages > sizeof(arena) / 4096 - arena_used)
        return 0;
    hpa_t pa = (hpa_t)(uintptr_t)(arena + arena_used * 4096);
    memset(arena + arena_used * 4096, 0, npages * 4096);
    arena_used += npages;
    return pa;
}
bool page_free(struct page_pool *p, hpa_t pa, u64 npages)
{
    (void)p, (void)pa, (void)npages;
    return true;
}
u64 page_pool_free_count(const struct page_pool *p)
{
    (void)p;
    return (sizeof(arena) / 4096 - arena_used);
}

bool vm_npt_map(struct vm *vm, gpa_t gpa, hpa_t hpa, u64 size, u32 perms)
{
    (void)vm, (void)gpa, (void)hpa, (void)size, (void)perms;
    return true;
}
bool vm_npt_unmap(struct vm *vm, gpa_t gpa, u64 size)
{
    (void)vm, (void)gpa, (void)size;
    return true;
}
bool iommu_set_page_writable(gpa_t gpa, bool writable)
{
    (void)gpa, (void)writable;
    return true;
}
int privilege_idle_register(struct privilege_registry *r, struct vm *vm)
{
    (void)r, (void)vm;
    return -1;
}
u64 timebase_ms(void) { return 0; }
u64 timebase_tsc_hz(void) { return 0; }
bool console_io(struct vcpu *v, u16 port, unsigned size, bool in, u32 *value)
{
    (void)v, (void)port, (void)size, (void)in, (void)value;
    return false;
}
void console_poll(void) {}
bool pci_policy_io(struct vcpu *v, u16 port, u8 size, bool in, u32 *value)
{
    (void)v, (void)port, (void)size, (void)in, (void)value;
    return false;
}
bool pci_policy_nested_fault(struct vcpu *v, gpa_t gpa, bool write)
{
    (void)v, (void)gpa, (void)write;
    return false;
}
void cpuid_policy_apply(u32 leaf, u32 subleaf, u32 *a, u32 *b, u32 *c, u32 *d)
{
    (void)leaf, (void)subleaf, (void)a, (void)b, (void)c, (void)d;
}
void cpuid_policy_os_bits(u32 leaf, u32 subleaf, u64 guest_cr4, u32 *ecx)
{
    (void)leaf, (void)subleaf, (void)guest_cr4, (void)ecx;
}
void dump_guest_regs(struct vcpu *v) { (void)v; }
/* The exit paths beside the hypercall's (MSRs, the APIC trap, the console's halt): not reached. */
void console_before_halt(void) {}
bool (*console_line_ready_fn(void))(void) { return NULL; }
bool apic_trap_nested_fault(struct vcpu *v, gpa_t gpa, bool write)
{
    (void)v, (void)gpa, (void)write;
    return false;
}
struct cpuid_policy guest_cpuid;
const char *cpuid_policy_cr4_check(const struct cpuid_policy *p, u64 cr4, int *bit)
{
    (void)p, (void)cr4, (void)bit;
    return NULL;
}
const char *cpuid_policy_xcr0_check(const struct cpuid_policy *p, u32 index, u64 value)
{
    (void)p, (void)index, (void)value;
    return NULL;
}
void cpuid_policy_offer_kvm_leaves(bool on) { (void)on; }
bool cpuid_policy_wants_kvm_leaves(u64 apic_base, bool x2apic_locked)
{
    (void)apic_base, (void)x2apic_locked;
    return false;
}
bool exits_msr(struct vcpu *v, bool write)
{
    (void)v, (void)write;
    return false;
}
bool msr_read_safe(u32 msr, u64 *value)
{
    (void)msr;
    *value = 0;
    return false;
}
/* hash-only with no key: the signature functions are never reached */
void sigcheck_key_id_hex(const u8 id[GMETA_KEY_ID_LEN], char out[2 * GMETA_KEY_ID_LEN + 1])
{
    (void)id;
    out[0] = 0;
}
int sigcheck_load_key(const u8 *buf, u64 len, struct sigcheck_key *k, char *err, size_t errsz)
{
    (void)buf, (void)len, (void)k, (void)err, (void)errsz;
    abort();
}
enum sigcheck_result sigcheck_gmeta(const struct sigcheck_key *k, const u8 *buf, const struct gmeta *m, char *err,
                                    size_t errsz)
{
    (void)k, (void)buf, (void)m, (void)err, (void)errsz;
    abort();
}

/* The fake vCPU backend: CPL and paging mode from the input; everything else a no-op. */
static struct {
    u8 cpl;
    u64 cr0, cr3, cr4, efer;
} cpu;
static u8 f_cpl(struct vcpu *v)
{
    (void)v;
    return cpu.cpl;
}
static u64 f_cr(struct vcpu *v, int n)
{
    (void)v;
    return n == 0 ? cpu.cr0 : n == 3 ? cpu.cr3 : n == 4 ? cpu.cr4 : 0;
}
static u64 f_efer(struct vcpu *v)
{
    (void)v;
    return cpu.efer;
}
static void f_flush(struct vcpu *v) { (void)v; }
static void f_watch(struct vcpu *v, u32 w) { (void)v, (void)w; }
static void f_inject(struct vcpu *v, u8 vec, bool has, u32 err) { (void)v, (void)vec, (void)has, (void)err; }
static void f_idle(struct vcpu *v, bool on) { (void)v, (void)on; }
static void f_root(struct vcpu *v, hpa_t root, u32 view) { (void)v, (void)root, (void)view; }
/* The handler finishes its instruction through skip_insn: recorded, RIP left for the step below. */
static unsigned skipped;
static void f_skip(struct vcpu *v, unsigned len) { (void)v, skipped = len; }
static const struct vcpu_ops fake_ops = {
    .name = "fake",
    .skip_insn = f_skip,
    .cpl = f_cpl,
    .cr = f_cr,
    .efer = f_efer,
    .flush_nested_tlb = f_flush,
    .set_watch = f_watch,
    .inject_exception = f_inject,
    .set_idle_intercepts = f_idle,
    .set_nested_root = f_root,
};
const struct vcpu_ops *vcpu_ops = &fake_ops;

/* ------------------------------------------------------------------ the fixture */

#define RAM_SIZE  (8ull << 20)
#define TEXT_GVA  0xffffffffc0a00000ull
#define TEXT_GPA  0x200000ull
#define TEXT_LEN  0x1000u
#define DATA_GVA  0xffffffffc0c00000ull /* 2 MiB: stack and hashes */
#define DATA_GPA  0x400000ull
#define USER_GPA  0x600000ull /* user GVA 0 */
#define HASH_OFF  0x100ull    /* the good hash, in the data page */
#define OTHER_OFF 0x200ull    /* another hash */
#define PML4      0x1000ull
#define PDPT_HI   0x2000ull
#define PD_HI     0x3000ull
#define PDPT_LO   0x4000ull
#define PD_LO     0x5000ull

static const struct gmeta_site SITES[] = {
    { 0x100, 0, GMETA_SITE_INIT },
    { 0x200, 1, GMETA_SITE_DEINIT },
    { 0x300, 2, GMETA_SITE_BORDER_IN_CALL },
    { 0x31f, 2, GMETA_SITE_BORDER_OUT_RET },
    { 0x400, 3, GMETA_SITE_BORDER_OUT_CALL },
    { 0x420, 3, GMETA_SITE_BORDER_IN_RET },
};
#define ENTRY_START  (TEXT_GVA + 0x2fa)    /* the entry wrapper's push: its IN_CALL site 6 bytes on */
#define ENTRY_TARGET (TEXT_GVA + 0x800)    /* the function its jmp goes to */
#define EXIT_CONT    (TEXT_GVA + 0x416)    /* the exit wrapper's continuation: its IN_RET site 10 bytes on */
#define SLOT_OFF     0x300ull              /* the exit wrapper's slot, in the data page */
#define KERNEL_FN    0xffffffff81000000ull /* what the slot holds */

/* christoize's wrapper code around the IN_CALL/OUT_RET and OUT_CALL/IN_RET sites (docs/christoize.md
 * "Wrapper layouts"), as the nested-paging border reads it (hv/guard/wrapper_layout.c). */
static void put_wrappers(u8 *text)
{
    static const u8 entry[] = {
        0x50, 0xb8, 0x02, 0x01, 0x53, 0x50, 0x0f, 0x01, 0xd9, /* 2fa: push; mov $IN_CALL; vmmcall (300) */
        0x48, 0x8d, 0x05, 0x0b, 0,    0,    0,                /* 303: lea .Lcont(%rip) = 315 */
        0x48, 0x89, 0x44, 0x24, 0x08, 0x58,                   /* 30a: mov %rax,8(%rsp); pop %rax */
        0xe9, 0xeb, 0x04, 0,    0,                            /* 310: jmp 800 */
        0x48, 0x83, 0xec, 0x08, 0x50, 0xb8, 0x03, 0x01, 0x53, 0x50, 0x0f, 0x01, 0xd9, /* 315: .Lcont, OUT_RET (31f) */
        0x58, 0xc3
    };
    u8 exitw[] = { 0x50, 0xb8, 0x04, 0x01, 0x53, 0x50, 0x0f, 0x01, 0xd9, /* 3fa: push; mov $OUT_CALL; vmmcall (400) */
                   0x48, 0x8d, 0x05, 0x0c, 0,    0,    0,                /* 403: lea .Lcont(%rip) = 416 */
                   0x48, 0x89, 0x44, 0x24, 0x08, 0x58,                   /* 40a */
                   0xff, 0x25, 0,    0,    0,    0,                      /* 410: jmp *slot(%rip) */
                   0x48, 0x83, 0xec, 0x08, 0x50, 0xb8, 0x05, 0x01, 0x53,
                   0x50, 0x0f, 0x01, 0xd9, /* 416: .Lcont, IN_RET (420) */
                   0x58, 0xc3 };
    s32 disp = (s32)((DATA_GVA + SLOT_OFF) - (TEXT_GVA + 0x416));
    memcpy(exitw + 24, &disp, 4);
    memcpy(text + 0x2fa, entry, sizeof(entry));
    memcpy(text + 0x3fa, exitw, sizeof(exitw));
    text[0x800] = 0xc3;
}
static u8 *ram; /* exact-size heap buffer */
static const struct gmem_range ram_range = { 0, RAM_SIZE };
static u8 pristine[6 * 4096]; /* page tables + text as built once */
static u8 text_hash[32];
static u8 gmeta_buf[4096];
static u64 gmeta_len;
static struct boot_info bi;
static struct vcpu V;
/* Return addresses the guest's stack held at a crossing: the only places a wrapper tail may go. */
static u64 offered[4096];
static unsigned noffered;
/* border = npt: the contexts a privileged fetch outside gm recorded as its way back (RIP, RSP), and
 * the RSP of the last exit wrapper the hypervisor finished */
static u64 resumes[512], resume_rsp[512];
static unsigned resumes_n;
static u64 last_out_call_rsp;

static void put64(u64 gpa, u64 v) { memcpy(ram + gpa, &v, 8); }

static void build_once(void)
{
    ram = malloc(RAM_SIZE);
    memset(ram, 0, RAM_SIZE);
    /* long mode, 4 levels: PML4[511] → PDPT_HI[511] → PD_HI[5] text, [6] data (2 MiB pages);
     * PML4[0] → PDPT_LO[0] → PD_LO[0] user (2 MiB, U) */
    put64(PML4 + 511 * 8, PDPT_HI | 3);
    put64(PDPT_HI + 511 * 8, PD_HI | 3);
    put64(PD_HI + 5 * 8, TEXT_GPA | 0x83);
    put64(PD_HI + 6 * 8, DATA_GPA | 0x83);
    put64(PML4, PDPT_LO | 7);
    put64(PDPT_LO, PD_LO | 7);
    put64(PD_LO, USER_GPA | 0x87);
    memset(ram + TEXT_GPA, 0xcc, TEXT_LEN);
    for (unsigned i = 0; i < ARRAY_SIZE(SITES); i++)
        memcpy(ram + TEXT_GPA + SITES[i].offset, "\x0f\x01\xd9", 3);
    put_wrappers(ram + TEXT_GPA);
    struct sha256_ctx c;
    sha256_start(&c);
    sha256_update(&c, ram + TEXT_GPA, TEXT_LEN);
    sha256_finish(&c, text_hash);
    memcpy(pristine, ram, 6 * 4096 - 4096);
    memcpy(pristine + 5 * 4096, ram + TEXT_GPA, 4096);

    static const char *const privs[] = { "test" };
    static const char *const funcs[] = { "gm_init", "gm_exit", "gm_read", "printk" };
    struct gmeta_builder b = { .name = "gm",
                               .privs = privs,
                               .priv_count = 1,
                               .text_len = TEXT_LEN,
                               .funcs = funcs,
                               .func_count = 4,
                               .sites = SITES,
                               .site_count = ARRAY_SIZE(SITES),
                               .sig_alg = GMETA_SIG_NONE };
    memcpy(b.text_sha256, text_hash, 32);
    char err[160];
    if (gmeta_write(&b, gmeta_buf, sizeof(gmeta_buf), &gmeta_len, err, sizeof(err))) {
        fprintf(stderr, "fuzz_hypercall: fixture metadata: %s\n", err);
        abort();
    }
    bi.gmeta[0].addr = (hpa_t)(uintptr_t)gmeta_buf;
    bi.gmeta[0].size = gmeta_len;
    strcpy(bi.gmeta[0].path, "/postern/gm.gmeta");
    bi.gmeta_configured[0] = true;
    bi.gmeta_count = 1;
    strcpy(bi.bindings[0].module, "gm");
    strcpy(bi.bindings[0].privilege, "test");
    bi.binding_count = 1;
    bi.sig_policy = BOOT_SIG_HASH_ONLY;
}

static void reset(void)
{
    /* guest memory as built, stack page cleared, hashes in place */
    memcpy(ram, pristine, 5 * 4096);
    memcpy(ram + TEXT_GPA, pristine + 5 * 4096, TEXT_LEN);
    memset(ram + DATA_GPA, 0, 2ull << 20);
    memcpy(ram + DATA_GPA + HASH_OFF, text_hash, 32);
    memset(ram + DATA_GPA + OTHER_OFF, 0x5a, 32);
    arena_used = 0;
    /* the VM: memory, registry, border control with gm loaded and bound */
    memset(&vm0, 0, sizeof(vm0));
    vm0.mem.ranges = &ram_range;
    vm0.mem.count = 1;
    vm0.mem.hva_offset = (uintptr_t)ram; /* guest-physical 0 is ram[0] */
    vm0.mem.ram_bytes = RAM_SIZE;
    privilege_registry_init(&privs);
    privilege_test_reset();
    /* border = npt: the nested-paging border's paths (fetch faults, a module's calls to itself,
     * the exit wrapper finished by the hypervisor); the views themselves are test_border_views'. */
    bi.border_npt = npt_mode;
    npt_x86_nx = true;
    vm0.npt.fmt = npt_mode ? &npt_format_x86 : NULL;
    put64(DATA_GPA + SLOT_OFF, KERNEL_FN);
    border_init(&vm0, &privs, &bi);
    CHECK(border_views_enforced() == npt_mode);
    CHECK(guard_module_count(border_guard(vm0.border)) >= 1 &&
          strcmp(border_guard(vm0.border)->mod[0]->name, "gm") == 0);
    memset(&V, 0, sizeof(V));
    V.vm = &vm0;
    vm0.vcpu[0] = &V;
    vm0.vcpu_count = 1;
    cpu.cpl = 0;
    cpu.cr0 = GVA_CR0_PG | GVA_CR0_WP | 1;
    cpu.cr3 = PML4;
    cpu.cr4 = GVA_CR4_PAE;
    cpu.efer = GVA_EFER_LMA | BIT(8) | GVA_EFER_NXE;
    noffered = 0;
    resumes_n = 0;
    last_out_call_rsp = 0;
}

/* ------------------------------------------------------------------ decoding the input */

static u64 raw64(const u8 *b)
{
    u64 v;
    memcpy(&v, b + 8, 8);
    return v;
}

static u64 pick_nr(const u8 *b)
{
    static const u64 nrs[] = {
        HC_VERSION,
        HC_TEST_CANARY,
        HC_TEST_PRIVILEGED,
        HC_STATS_MARK,
        HC_STATS_EXITS,
        HC_TEST_UNMAP_ONCE,
        HC_GUARD_INIT,
        HC_GUARD_DEINIT,
        HC_BORDER_IN_CALL,
        HC_BORDER_OUT_RET,
        HC_BORDER_OUT_CALL,
        HC_BORDER_IN_RET,
        HC_BORDER_IN_RET + 1,
        HC_GUARD_INIT - 1,
        HC_TEST_UNMAP_ONCE + 1,
        HC_PREFIX - 1,
        0,
        ~0ull,
        (1ull << 32) | HC_GUARD_INIT,
        (1ull << 63) | HC_BORDER_IN_CALL,
        0xffffffff00000000ull | HC_BORDER_IN_RET,
    };
    u8 s = b[1];
    if (s < 0xe0)
        return nrs[s % ARRAY_SIZE(nrs)];
    if (s < 0xf0)
        return HC_PREFIX | (u64)(b[6] | (b[7] & 3) << 8); /* the prefix's low 1024 */
    return raw64(b);
}

static u64 pick_rip(const u8 *b)
{
    u8 s = b[2];
    unsigned n = ARRAY_SIZE(SITES);
    switch (s >> 5) {
    case 0:
    case 1:
    case 2:
        return TEXT_GVA + SITES[s % n].offset; /* a site, any kind */
    case 3:
        return TEXT_GVA + SITES[s % n].offset + ((s & 8) ? 1 : (u64)-1); /* next to one */
    case 4:
        return TEXT_GVA + (u64)b[6] * 16 + (b[7] & 15); /* elsewhere in the text */
    case 5:
        return (s & 16) ? 0xffffffff81000000ull + b[6] : TEXT_GVA + TEXT_LEN + b[6]; /* kernel, past the text */
    case 6:
        return (s & 16) ? 0x401000ull : 0x0000800000000000ull + b[6]; /* user, non-canonical */
    default:
        return raw64(b);
    }
}

static u64 pick_rsp(const u8 *b)
{
    u8 s = b[3];
    switch (s >> 5) {
    case 0:
    case 1:
    case 2:
        return DATA_GVA + 0x100000 + (u64)(s & 0x1f) * 0x100; /* the stack */
    case 3:
        return DATA_GVA + (2ull << 20) - 8 - (s & 8); /* [rsp+8] or [rsp] at the edge of mapped memory */
    case 4:
        return DATA_GVA + 0x100000 + (s & 7); /* misaligned */
    case 5:
        return (s & 16) ? 0x1000 + b[6] : 0x0000800000000000ull; /* user, non-canonical */
    default:
        return raw64(b);
    }
}

static u64 pick_rbx(const u8 *b)
{
    u8 s = b[4];
    switch (s >> 5) {
    case 0:
    case 1:
        return DATA_GVA + HASH_OFF;
    case 2:
        return DATA_GVA + OTHER_OFF;
    case 3:
        return DATA_GVA + (2ull << 20) - 1 - (s & 31); /* the hash runs off mapped memory */
    case 4:
        return (s & 16) ? 0 : 0x100; /* NULL, user */
    case 5:
        return (s & 16) ? 0xdead000000000000ull : ~0ull - (s & 15);
    default:
        return raw64(b);
    }
}

/* ------------------------------------------------------------------ one hypercall, checked */

static bool is_known(u64 nr)
{
    return nr == HC_VERSION || nr == HC_TEST_CANARY || nr == HC_STATS_MARK || nr == HC_STATS_EXITS ||
           nr == HC_TEST_UNMAP_ONCE || nr == HC_TEST_FIRMWARE_PEEK || border_is_hypercall(nr);
}

static bool at_site(u64 rip, u8 kind)
{
    for (unsigned i = 0; i < ARRAY_SIZE(SITES); i++)
        if (SITES[i].kind == kind && rip == TEXT_GVA + SITES[i].offset)
            return true;
    return false;
}

static bool offered_addr(u64 a)
{
    for (unsigned i = 0; i < noffered; i++)
        if (offered[i] == a)
            return true;
    return false;
}

static void hypercall_step(const u8 *b)
{
    static const u64 rets[8] = { 0xffffffff81234567ull,
                                 TEXT_GVA + 0x800,
                                 TEXT_GVA + 0x104,
                                 TEXT_GVA + 0x413,
                                 0x401000,
                                 0xffffffff81000000ull,
                                 TEXT_GVA + 0xffe,
                                 0 };
    u64 nr = pick_nr(b), before[VCPU_NREGS], gpa;
    struct gva_mode m;
    bool had = privilege_test_is_raised(0), done;

    cpu.cpl = (b[5] & 1) ? 3 : 0;
    for (int r = 0; r < VCPU_NREGS; r++)
        V.regs[r] = 0x1111111111111111ull * (u64)(r + 1) + (b[5] >> 4);
    V.regs[REG_RAX] = nr;
    V.regs[REG_RIP] = pick_rip(b);
    V.regs[REG_RSP] = pick_rsp(b);
    V.regs[REG_RBX] = pick_rbx(b);
    /* the stack as a wrapper leaves it: [rsp] = saved RAX, [rsp+8] = a return address */
    guest_paging_mode(&V, &m);
    u64 ret = (b[5] & 0x0e) == 0x0e ? raw64(b) : rets[(b[5] >> 1) & 7];
    if (gva_translate(&vm0.mem, &m, V.regs[REG_RSP] + 8, GVA_READ | GVA_SUPERVISOR, &gpa, NULL) == GVA_OK &&
        gpa >= DATA_GPA && gpa + 8 <= DATA_GPA + (2ull << 20))
        put64(gpa, ret);
    /* what the guest's stack offers as the return address (read as any guest would: through its
     * page tables), at the slots a border-in/out call and a registration take it from */
    u64 slot = V.regs[REG_RSP] + (nr == HC_GUARD_INIT ? 16 : 8), offer;
    if ((nr == HC_GUARD_INIT || nr == HC_BORDER_IN_CALL || nr == HC_BORDER_OUT_CALL) &&
        guest_read_virt(&V, slot, &offer, 8, GVA_READ | GVA_SUPERVISOR | GVA_IMPLICIT) &&
        noffered < ARRAY_SIZE(offered))
        offered[noffered++] = offer;
    memcpy(before, V.regs, sizeof(before));

    skipped = 0;
    exit_hypercall(&V);
    done = skipped != 0;
    CHECK(!done || skipped == 3); /* VMMCALL is 0F 01 D9 */

    bool has = privilege_test_is_raised(0);
    if (trace)
        fprintf(stderr, "step %u: nr 0x%llx rip 0x%llx rsp 0x%llx rbx 0x%llx cpl %u -> %s rax %lld, privileged %d\n",
                step_no, (unsigned long long)nr, (unsigned long long)before[REG_RIP],
                (unsigned long long)before[REG_RSP], (unsigned long long)before[REG_RBX], cpu.cpl,
                done ? "done" : "tail", (long long)V.regs[REG_RAX], has);
    CHECK(has == guard_privileged(border_guard(vm0.border), 0));
    CHECK(has == (border_guard(vm0.border)->vcpu[0].module == 0));
    if (has && !had) { /* gained: only a validated border-in */
        CHECK(before[REG_RAX] == HC_GUARD_INIT || before[REG_RAX] == HC_BORDER_IN_CALL ||
              before[REG_RAX] == HC_BORDER_IN_RET);
        CHECK(cpu.cpl == 0);
        CHECK(at_site(before[REG_RIP], before[REG_RAX] == HC_GUARD_INIT       ? GMETA_SITE_INIT
                                       : before[REG_RAX] == HC_BORDER_IN_CALL ? GMETA_SITE_BORDER_IN_CALL
                                                                              : GMETA_SITE_BORDER_IN_RET));
    }
    for (int r = 0; r < VCPU_NREGS; r++) {
        if (r == REG_RAX || r == REG_RBX || r == REG_RIP || r == REG_RSP)
            continue;
        if ((r == REG_RCX || r == REG_RDX) && nr == HC_STATS_EXITS)
            continue;
        CHECK(V.regs[r] == before[r]);
    }
    if (!is_known(nr)) {
        CHECK(done && V.regs[REG_RAX] == (u64)(s64)HC_ENOSYS && has == had);
        CHECK(V.regs[REG_RBX] == before[REG_RBX] && V.regs[REG_RSP] == before[REG_RSP] &&
              V.regs[REG_RIP] == before[REG_RIP]);
    }
    if (nr >= HC_GUARD_INIT && nr <= HC_BORDER_IN_RET && cpu.cpl != 0) {
        CHECK(done && V.regs[REG_RAX] == (u64)(s64)HC_EPERM && has == had);
        CHECK(V.regs[REG_RBX] == before[REG_RBX] && V.regs[REG_RSP] == before[REG_RSP]);
    }
    if (nr == HC_TEST_PRIVILEGED)
        CHECK(done && V.regs[REG_RAX] == HC_OK && V.regs[REG_RBX] == (u64)has);
    if (done) {
        CHECK(V.regs[REG_RSP] == before[REG_RSP] && V.regs[REG_RIP] == before[REG_RIP]);
    } else if (nr == HC_BORDER_IN_CALL) {
        /* border = npt, privileged inside gm: gm calling its own entry goes straight to the
         * function, its caller's return address (in gm's text) left on top of the stack */
        CHECK(npt_mode && had && has && cpu.cpl == 0 && before[REG_RIP] == TEXT_GVA + 0x300);
        CHECK(V.regs[REG_RSP] == before[REG_RSP] + 8 && V.regs[REG_RIP] == ENTRY_TARGET);
        u64 caller;
        CHECK(guest_read_virt(&V, V.regs[REG_RSP], &caller, 8, GVA_READ | GVA_SUPERVISOR | GVA_IMPLICIT) &&
              caller >= TEXT_GVA && caller < TEXT_GVA + TEXT_LEN);
    } else if (nr == HC_BORDER_OUT_CALL) {
        /* border = npt, lowered: the hypervisor finished the exit wrapper, to the slot's function */
        CHECK(npt_mode && !has && before[REG_RIP] == TEXT_GVA + 0x400);
        CHECK(V.regs[REG_RSP] == before[REG_RSP] + 8 && V.regs[REG_RIP] == KERNEL_FN);
    } else {
        /* the hypervisor performed a wrapper's `pop %rax; ret` */
        CHECK(nr == HC_BORDER_OUT_RET || nr == HC_BORDER_IN_RET);
        CHECK(cpu.cpl == 0);
        CHECK(V.regs[REG_RSP] == before[REG_RSP] + 16);
        CHECK(offered_addr(V.regs[REG_RIP]));
    }
    if (nr == HC_BORDER_OUT_CALL && !done) /* where the kernel function will return: the continuation */
        last_out_call_rsp = before[REG_RSP];
    V.regs[REG_RIP] += done ? 3 : 0;
}

/* ------------------------------------------------------------------ one instruction fetch the views forbid */

static u64 pick_fetch_rip(const u8 *b)
{
    u8 s = b[2];
    switch (s >> 5) {
    case 0:
    case 1:
        return ENTRY_START;
    case 2:
        return EXIT_CONT;
    case 3:
        return resumes_n ? resumes[b[6] % resumes_n] : ENTRY_TARGET; /* where a leave said it comes back */
    case 4:
        return TEXT_GVA + (u64)b[6] * 16 + (b[7] & 15); /* elsewhere in the text */
    case 5:
        return 0xffffffff81000000ull + b[6]; /* the kernel */
    default:
        return raw64(b);
    }
}

static u64 pick_fetch_rsp(const u8 *b)
{
    switch (b[5] & 3) {
    case 1:
        return last_out_call_rsp ? last_out_call_rsp + 16 : DATA_GVA + 0x100000; /* as the kernel function returned */
    case 2:
        return resumes_n ? resume_rsp[b[6] % resumes_n] : DATA_GVA + 0x100000; /* with its recorded way back */
    default:
        return pick_rsp(b);
    }
}

/* The guest fetched an instruction its current view does not let it execute (border = npt): at
 * gm's wrappers, elsewhere in its text, or outside it. The translation is the guest's own. */
static void fetch_step(const u8 *b)
{
    u64 before[VCPU_NREGS], gpa, top = 0;
    struct gva_mode m;
    bool had = privilege_test_is_raised(0), handled;

    /* the registers as the last step left them (a border-in ret by fetch compares the callee-saved
     * ones with its call's), but for CPL 0 and the fetch's RIP and RSP */
    cpu.cpl = 0;
    V.regs[REG_RIP] = pick_fetch_rip(b);
    V.regs[REG_RSP] = pick_fetch_rsp(b);
    guest_paging_mode(&V, &m);
    if (gva_translate(&vm0.mem, &m, V.regs[REG_RIP], GVA_FETCH | GVA_SUPERVISOR, &gpa, NULL) != GVA_OK)
        gpa = raw64(b) & (RAM_SIZE - 1);
    /* at an entry wrapper's start the hypervisor's border-in call takes the caller's return address
     * from [RSP] (after its push, [RSP+8]): one the guest's stack offered, as at a hypercall */
    if (guest_read_virt(&V, V.regs[REG_RSP], &top, 8, GVA_READ | GVA_SUPERVISOR | GVA_IMPLICIT) &&
        V.regs[REG_RIP] == ENTRY_START && noffered < ARRAY_SIZE(offered))
        offered[noffered++] = top;
    memcpy(before, V.regs, sizeof(before));

    handled = border_nested_fault(&V, gpa, false, true);

    bool has = privilege_test_is_raised(0);
    if (trace)
        fprintf(stderr, "step %u: fetch rip 0x%llx rsp 0x%llx gpa 0x%llx -> %s, privileged %d\n", step_no,
                (unsigned long long)before[REG_RIP], (unsigned long long)before[REG_RSP], (unsigned long long)gpa,
                handled ? "handled" : "fault", has);
    CHECK(has == guard_privileged(border_guard(vm0.border), 0));
    CHECK(has == (border_guard(vm0.border)->vcpu[0].module == 0));
    for (int r = 0; r < VCPU_NREGS; r++)
        if (r != REG_RAX && r != REG_RIP && r != REG_RSP)
            CHECK(V.regs[r] == before[r]);
    if (had && !has && resumes_n < ARRAY_SIZE(resumes)) {
        /* left the module: the way back is the return address on top of the stack, or here */
        resumes[resumes_n] = top, resume_rsp[resumes_n++] = before[REG_RSP] + 8;
        if (resumes_n < ARRAY_SIZE(resumes))
            resumes[resumes_n] = before[REG_RIP], resume_rsp[resumes_n++] = before[REG_RSP];
    }
    if (has && !had) {
        /* gained by a fetch: an entry wrapper's start (the hypervisor's push and border-in call),
         * an exit wrapper's continuation (the border-in ret), or a context a leave recorded */
        bool entry = before[REG_RIP] == ENTRY_START && V.regs[REG_RSP] == before[REG_RSP] - 8 &&
                     V.regs[REG_RIP] == TEXT_GVA + 0x303;
        bool cont = before[REG_RIP] == EXIT_CONT && V.regs[REG_RSP] == before[REG_RSP] && offered_addr(V.regs[REG_RIP]);
        bool resumed = V.regs[REG_RSP] == before[REG_RSP] && V.regs[REG_RIP] == before[REG_RIP];
        CHECK(entry || cont || resumed);
        if (resumed) {
            bool known = false;
            for (unsigned i = 0; i < resumes_n; i++)
                known |= resumes[i] == before[REG_RIP] && resume_rsp[i] == before[REG_RSP];
            CHECK(known);
        }
    }
    /* RSP moves only for an entry wrapper's push, RIP only to the wrapper's next instruction or
     * to a return address the guest's stack offered at a border-out call */
    CHECK(V.regs[REG_RSP] == before[REG_RSP] ||
          (before[REG_RIP] == ENTRY_START && V.regs[REG_RSP] == before[REG_RSP] - 8));
    CHECK(V.regs[REG_RIP] == before[REG_RIP] || V.regs[REG_RIP] == ENTRY_START + 6 ||
          V.regs[REG_RIP] == TEXT_GVA + 0x303 || offered_addr(V.regs[REG_RIP]));
}

static void store_step(const u8 *b)
{
    /* the guest writes its own memory: the stack page or its page tables (never the text: the
     * nested page tables stop that, which this harness does not model) */
    u64 gpa = (b[1] & 1) ? PML4 + ((u64)(b[2] & 0x3f) << 6) + (b[3] & 0x3f) * 0 + (u64)(b[1] >> 1) * 0x1000 % 0x5000
                         : DATA_GPA + 0x100000 + (u64)b[2] * 8 + ((u64)(b[3] & 0x7f) << 11);
    if (gpa + 8 <= RAM_SIZE && !(gpa >= TEXT_GPA && gpa < TEXT_GPA + TEXT_LEN))
        put64(gpa, raw64(b));
}

static void mode_step(const u8 *b)
{
    switch (b[1] & 3) {
    case 0:
        cpu.cr0 = 1;
        cpu.efer = 0;
        cpu.cr4 = 0;
        break; /* paging off */
    case 1:
        cpu.cr0 = GVA_CR0_PG | 1;
        cpu.cr4 = GVA_CR4_PAE;
        cpu.efer = 0;
        break; /* PAE, 32-bit */
    case 2:
        cpu.cr4 = GVA_CR4_PAE | GVA_CR4_LA57;
        cpu.efer = GVA_EFER_LMA | BIT(8);
        cpu.cr0 = GVA_CR0_PG | 1;
        break;
    default:
        cpu.cr0 = GVA_CR0_PG | GVA_CR0_WP | 1;
        cpu.cr4 = GVA_CR4_PAE;
        cpu.efer = GVA_EFER_LMA | BIT(8) | GVA_EFER_NXE;
        break;
    }
    cpu.cr3 = (b[2] & 0x80) ? raw64(b) : PML4;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ram) {
        build_once();
        trace = getenv("FUZZ_HYPERCALL_TRACE") != NULL;
    }
    npt_mode = size > 0 && (data[0] & 0x80);
    reset();
    step_no = 0;
    if (size > MAX_STEPS * 16) /* longer inputs add time, not states: the tables hold 256 crossings */
        size = MAX_STEPS * 16;
    for (; size >= 16; data += 16, size -= 16, step_no++) {
        const u8 *b = data;
        unsigned op = b[0] & 15;
        bool had = privilege_test_is_raised(0);
        if (op == 11 && npt_mode) {
            fetch_step(b);
        } else if (op < 12) {
            hypercall_step(b);
        } else if (op < 14) {
            store_step(b);
            CHECK(privilege_test_is_raised(0) == had);
        } else if (op == 14) {
            mode_step(b);
            CHECK(privilege_test_is_raised(0) == had);
        } else {
            if (b[1] & 1)
                guard_revoke(border_guard(vm0.border), 0);
            else
                guard_reinstate(border_guard(vm0.border), 0);
            /* an administrator's call only ever takes privilege away */
            CHECK(!privilege_test_is_raised(0) || had);
            CHECK(privilege_test_is_raised(0) == guard_privileged(border_guard(vm0.border), 0));
        }
    }
    return 0;
}
