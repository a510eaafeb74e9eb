/*
 * Border control for guarded modules (tech report NU-EECS-13-04 §4.3; docs/border-control.md).
 *
 * Pure, arch-neutral logic: no SVM, no guest memory access. The exit handler decodes what happened
 * (a crossing hypercall at a site, an event about to be injected while privileged, an IRET, a write
 * to protected text), reads whatever guest memory is needed (return-address slot, claimed hash,
 * text hash, optional stack digest) and posts one `struct guard_event`; guard_event() validates it,
 * drives the privilege registry (raise/lower per vCPU), logs suspicious activity and tells the
 * caller what to do with intercepts and text protection (`struct guard_result`).
 *
 * State is kept in two places (why: docs/border-control.md "Threads, not vCPUs"):
 *   per vCPU   whether it is executing a guarded module with privilege (INSIDE, module, depth of
 *              nested border-in calls in this run, RSP at the start of the run) or not (OUTSIDE);
 *   per VM     the outstanding border-out frames (border-out call, border-out int), keyed by the
 *              guest stack pointer, because the guest thread that left the module may sleep in the
 *              kernel and come back on another vCPU, after other threads entered and left.
 *
 * Memory: `struct guard` itself is fixed-size (the caller places it in static storage); each module's
 * state is allocated when its metadata is added (guard_mem_alloc: the hypervisor's page allocator,
 * calloc in host tests), sized by its own site count, and the table of modules and the text-page
 * hash grow then too: any number of modules, memory permitting, and never an allocation on an
 * event. guard_event() is O(1) in the number of modules (the text-page hash finds the module at
 * an address) and in the number of sites (hash set per module, bounded probe), and expected O(1)
 * in the outstanding frames: they are chained in a hash table keyed by RSP (and the
 * interrupt frames in a second one keyed by the interrupted RIP), free frames on a free list. A
 * guest that picks colliding stack pointers can lengthen one chain to GUARD_MAX_FRAMES at most, the
 * linear scan this replaced. Nothing on the event path clears or copies a whole structure (the
 * EFI image's memset/memcpy are byte loops): tests/bench/guard.sh counts the instructions.
 */
#ifndef POSTERN_GUARD_H
#define POSTERN_GUARD_H

#include "lib/types.h"
#include "guard/gmeta.h"
#include "guard/privilege.h"

#define GUARD_MAX_VCPUS     PRIV_MAX_VCPUS
#define GUARD_MAX_SITES     2048                  /* hypercall sites per module (u16 site slots) */
#define GUARD_MAX_PRIVS     4                     /* privileges bound to one module */
#define GUARD_MAX_FRAMES    128                   /* outstanding border-out frames per VM (< GUARD_FRAME_NIL) */
#define GUARD_FRAME_BUCKETS 256                   /* frame hash chains (load <= 1/2), a power of two */
#define GUARD_FRAME_NIL     0xff                  /* end of a frame chain */
#define GUARD_LOG_SIZE      64                    /* suspicious-activity ring */
#define GUARD_NAME_MAX      56                    /* module name, including the NUL (as in .gmeta) */
#define GUARD_HASH_LEN      32                    /* SHA-256 */
#define GUARD_MAX_TEXT      MiB(16)               /* module text length limit */
#define GUARD_HYPERCALL_LEN 3                     /* VMMCALL / VMCALL: 0f 01 d9 / 0f 01 c1 */
#define GUARD_KERNEL_BASE   0xffff800000000000ull /* lowest canonical high-half address */
#define GUARD_NCALLEE       6                     /* rbx rbp r12 r13 r14 r15 */

/* Kinds of hypercall site: the metadata's own (enum gmeta_site_kind, GMETA_SITE_KIND_MIN..MAX), one
 * enum from the .gmeta file to the state machine. Tables indexed by kind have GUARD_SITE_KINDS
 * entries, [0] unused. */
#define GUARD_SITE_KINDS (GMETA_SITE_KIND_MAX + 1)
static inline bool guard_site_kind_valid(unsigned k) { return k >= GMETA_SITE_KIND_MIN && k <= GMETA_SITE_KIND_MAX; }

/* What the exit handler saw. */
enum guard_event_kind {
    GUARD_EV_INIT,       /* hypercall at a registration site */
    GUARD_EV_DEINIT,     /* hypercall at a deinit site */
    GUARD_EV_IN_CALL,    /* hypercall: border-in call */
    GUARD_EV_OUT_RET,    /* hypercall: border-out ret */
    GUARD_EV_OUT_CALL,   /* hypercall: border-out call */
    GUARD_EV_IN_RET,     /* hypercall: border-in ret */
    GUARD_EV_INTERRUPT,  /* an interrupt/exception/NMI is about to be delivered (border-out int) */
    GUARD_EV_IRET,       /* the guest executes IRET (candidate border-in rti) */
    GUARD_EV_TEXT_WRITE, /* a write to a module's write-protected text */
    GUARD_EV_FETCH,      /* an instruction fetch into a module's text from outside it, not at a
                          * wrapper (the nested-paging border): resumes the interrupted or
                          * called-out context recorded at this RSP and RIP, else refused */
    GUARD_EV_KINDS
};

/* Per-(vCPU, module) state, as reported by guard_vcpu_state(). */
enum guard_state {
    GUARD_ST_UNREGISTERED, /* module known from metadata, not (or no longer) registered */
    GUARD_ST_OUTSIDE,      /* registered; this vCPU unprivileged, nothing outstanding from it */
    GUARD_ST_INSIDE,       /* privileged: executing the module, entered through a valid border-in */
    GUARD_ST_OUT_CALL,     /* unprivileged; the latest frame this vCPU left is a border-out call */
    GUARD_ST_OUT_INT,      /* unprivileged; the latest frame this vCPU left is a border-out int */
    GUARD_ST_DEAD,         /* revoked (text written or administrator): never privileged again */
};

enum guard_verdict {
    GUARD_OK,         /* a valid transition (privilege may have changed: see result) */
    GUARD_IGNORED,    /* not a border crossing (e.g. an IRET that returns elsewhere) */
    GUARD_SUSPICIOUS, /* refused: privilege lowered on this vCPU, one log entry appended */
};

/* Kinds of suspicious activity (log entries). */
enum guard_susp {
    GUARD_SUSP_NONE,
    GUARD_SUSP_UNKNOWN_SITE,     /* crossing hypercall outside every registered module's text */
    GUARD_SUSP_BAD_SITE,         /* inside a module's text but not a site of that kind */
    GUARD_SUSP_UNKNOWN_MODULE,   /* registration with a claimed hash no metadata has */
    GUARD_SUSP_BAD_REGISTRATION, /* user-space / misaligned / overflowing / overlapping text, twice */
    GUARD_SUSP_HASH_MISMATCH,    /* text in guest memory differs from the metadata's hash */
    GUARD_SUSP_TEXT_WRITE,       /* write to a registered module's text: module revoked */
    GUARD_SUSP_STACK_MISMATCH,   /* border-in ret/rti whose stack does not match the border-out */
    GUARD_SUSP_UNMATCHED,        /* crossing with no matching open crossing (ret without call...) */
    GUARD_SUSP_CROSS_MODULE,     /* crossing of module B while the vCPU is privileged in module A */
    GUARD_SUSP_REVOKED,          /* event for a revoked module */
    GUARD_SUSP_NO_SPACE,         /* frame table full: the border-out is recorded as unreturnable */
    GUARD_SUSP_KINDS
};

/* Metadata of one module, as the .gmeta parser hands it over (administrator-chosen files). */
struct guard_site_desc {
    u32 offset; /* of the hypercall instruction, from the start of the module's text */
    enum gmeta_site_kind kind;
};

struct guard_module_desc {
    const char *name;
    const u8 *hash; /* GUARD_HASH_LEN bytes: SHA-256 of the text as it is in guest memory */
    u64 text_len;
    const struct guard_site_desc *sites;
    u32 nsites; /* exactly one INIT, at most one DEINIT */
};

/* One event, filled by the exit handler. `rip` is the guest RIP of the event: the hypercall
 * instruction for hypercalls, the interrupted RIP (the one the IRET frame will hold) for
 * INTERRUPT, the RIP the IRET returns to for IRET. `rsp` likewise (the RSP in the IRET frame for
 * INTERRUPT/IRET). */
struct guard_event {
    enum guard_event_kind kind;
    u32 vcpu;
    u64 rip;
    u64 rsp;
    union {
        struct {                             /* GUARD_EV_INIT */
            u8 claimed_hash[GUARD_HASH_LEN]; /* the hypercall's argument, copied from the guest */
            u8 text_hash[GUARD_HASH_LEN];    /* SHA-256 of [base, base+len) after write-protecting it */
        } init;
        struct {                             /* GUARD_EV_OUT_CALL and GUARD_EV_IN_RET */
            u64 ret_slot;                    /* GVA of the exit wrapper's return-address slot */
            u64 ret_addr;                    /* the value in that slot now */
            u64 callee_saved[GUARD_NCALLEE]; /* rbx rbp r12 r13 r14 r15 now */
            u64 stack_digest;                /* caller's digest of [rsp, stack top), if enabled */
        } call;
        struct { /* GUARD_EV_INTERRUPT */
            u8 vector;
        } intr;
        struct {        /* GUARD_EV_TEXT_WRITE */
            int module; /* the module whose protected page was written */
            u64 addr;   /* the address written (GPA or GVA), for the log */
        } write;
    } u;
};

/* Bits of guard_result.actions. */
#define GUARD_ACT_RAISED         BIT(0) /* privileges raised on ev->vcpu */
#define GUARD_ACT_LOWERED        BIT(1) /* privileges lowered on ev->vcpu (or, for a revocation, on all) */
#define GUARD_ACT_PROTECT_TEXT   BIT(2) /* keep [text_base, +text_len) write-protected */
#define GUARD_ACT_UNPROTECT_TEXT BIT(3) /* restore the guest's writability of that range */

struct guard_result {
    enum guard_verdict verdict;
    enum guard_susp susp; /* when GUARD_SUSPICIOUS */
    u32 actions;
    int module;              /* the module concerned, -1 if none */
    int site;                /* index in that module's site table, -1 if none */
    u64 text_base, text_len; /* for the text actions */
    u64 ret_addr;            /* IN_RET granted: the recorded (authoritative) return address */
    /* State after the event, for the caller's intercepts: */
    bool privileged; /* ev->vcpu holds module privilege: intercept exceptions, INTR, NMI */
    bool watch_iret; /* some border-out int is outstanding: intercept IRET */
};

struct guard_log_entry {
    u64 seq;  /* 1, 2, 3 ... over the life of the guard (gaps = overwritten) */
    u64 time; /* guard_config.clock() when it was logged (0 without a clock) */
    u32 vcpu;
    enum guard_susp kind;
    enum guard_event_kind event;
    u64 rip;
    char module[GUARD_NAME_MAX]; /* "" when no module is known */
    const char *detail;          /* static string */
    u64 expected, observed;      /* detail-specific values (0 when unused) */
};

struct guard_site {
    u32 offset;
    u8 kind;    /* enum gmeta_site_kind */
    u64 count;  /* valid crossings through this site */
    u64 cycles; /* hypervisor cycles accounted to them (guard_account_cost) */
};

enum guard_module_state { GUARD_MOD_UNREGISTERED, GUARD_MOD_ACTIVE, GUARD_MOD_DEAD };

/* One module's state: one allocation (guard_mem_alloc) holding this header, then its site table
 * (nsites entries) and its site hash (1 << slot_bits slots); `alloc_bytes` is its size. */
struct guard_module {
    bool used; /* always true: a module's state exists from guard_module_add on */
    enum guard_module_state state;
    bool text_known; /* text_base valid: ACTIVE, or DEAD until its deinit */
    char name[GUARD_NAME_MAX];
    u8 hash[GUARD_HASH_LEN];
    u64 text_len;
    u64 text_base;
    u32 init_offset;
    struct guard_site *sites; /* nsites entries, after the header */
    u32 nsites;
    u16 *slots;    /* 1 << slot_bits entries: 0 = empty, else site index + 1 */
    u32 slot_bits; /* log2 of the slots in use (a power of two >= 2 * nsites, >= 16) */
    u32 max_probe; /* longest probe sequence of any stored offset */
    int privs[GUARD_MAX_PRIVS];
    u32 npriv;
    u64 crossings[GUARD_EV_KINDS]; /* valid events by kind */
    u64 registrations;
    u64 alloc_bytes; /* this module's state, header and tables */
    void *owner;     /* the caller's own record of the module (border control's: its metadata) */
};

/* The text-page hash: one entry per page of every module whose text is known, keyed by the page
 * number (page 0 is never kernel text: 0 marks an empty slot). */
struct guard_text_slot {
    u64 page; /* gva >> PAGE_SHIFT, 0 = empty */
    s32 module;
};

enum guard_frame_kind { GUARD_FRAME_FREE, GUARD_FRAME_CALL, GUARD_FRAME_INT };

struct guard_frame {
    u8 kind; /* enum guard_frame_kind */
    int module;
    u32 vcpu;               /* vCPU that left (informational: it may return elsewhere) */
    u32 depth;              /* nesting depth of the run it suspends */
    u64 rsp;                /* key: the guest stack pointer at the border-out */
    u64 rip;                /* INT: the interrupted RIP */
    u64 ret_slot, ret_addr; /* CALL */
    u64 callee_saved[GUARD_NCALLEE];
    u64 stack_top; /* RSP at the start of the suspended run */
    u64 stack_digest;
    u8 vector;
    u8 next;     /* next frame in its RSP chain (or on the free list), GUARD_FRAME_NIL */
    u8 next_rip; /* INT: next frame in its RIP chain */
    u64 seq;     /* creation order */
};

struct guard_vcpu {
    int module;    /* INSIDE this module, or -1 (OUTSIDE) */
    u32 depth;     /* nested border-in calls in the current run (>= 1 when INSIDE) */
    u64 stack_top; /* RSP at the border-in that started the current run */
};

struct guard_config {
    bool check_callee_saved; /* border-in ret: rbx rbp r12-r15 must be what they were */
    bool check_stack_digest; /* border-in ret: the caller's stack digest must match */
    /* Postern's wrappers park their own continuation in the return-address slot while the kernel
     * runs (so stack arguments keep their places), and the hypervisor writes the recorded return
     * address back from res->ret_addr: the slot's value at border-in ret is then not compared.
     * Tampering with it can only redirect the kernel's own, unprivileged return. */
    bool restore_return_address;
    /* Timestamps for the suspicious-activity log (the hypervisor passes the TSC); may be NULL. */
    u64 (*clock)(void);
    /* A secret, random value for the frame table's hash (the hypervisor draws one at boot), so a
     * guest cannot pick stack pointers that pile its frames on one chain; 0 = a fixed multiplier. */
    u64 frame_hash_seed;
};

struct guard_stats {
    u64 events[GUARD_EV_KINDS]; /* valid events by kind */
    u64 cycles[GUARD_EV_KINDS]; /* accounted cycles by kind */
    u64 suspicious[GUARD_SUSP_KINDS];
    u64 ignored;
    u64 stale_frames; /* frames replaced by a newer border-out at the same RSP */
};

struct guard {
    struct privilege_registry *privs;
    struct guard_config cfg;
    /* The modules, by index (stable: metadata is never removed). Grown by doubling when a module
     * is added; mod[i] for i < nmod always points to a module's state. */
    struct guard_module **mod;
    u32 nmod, mod_cap;
    /* Which module's text holds a page (module_at): open addressing, linear probing, 1 << text_bits
     * slots, at least twice the text pages of every module added (so registration never allocates),
     * hashed with the frame table's secret multiplier (a guest cannot choose text addresses that
     * share a probe sequence without knowing it); text_max_probe bounds a lookup. Rebuilt when a
     * text is forgotten (deinit). */
    struct guard_text_slot *text;
    u32 text_bits, text_max_probe;
    u64 text_pages; /* pages of every module added (the table's sizing) */
    int text_last;  /* the module of the last crossing (checked before the hash), -1 */
    u64 mem_bytes;  /* allocated for modules, their table and the text hash */
    struct guard_vcpu vcpu[GUARD_MAX_VCPUS];
    struct guard_frame frame[GUARD_MAX_FRAMES];
    u8 frame_by_rsp[GUARD_FRAME_BUCKETS]; /* chain heads: every outstanding frame, by its RSP */
    u8 int_by_rip[GUARD_FRAME_BUCKETS];   /* chain heads: the INT frames, by interrupted RIP */
    u64 frame_hash_mult;                  /* odd; from cfg.frame_hash_seed */
    u8 frame_free;                        /* head of the free frames (linked by `next`) */
    u32 int_frames;                       /* outstanding GUARD_FRAME_INT frames */
    u64 frame_seq;
    struct guard_log_entry log[GUARD_LOG_SIZE];
    u64 log_seq; /* entries ever appended */
    struct guard_stats stats;
};

/* Errors of the administrator-side calls (not of events, which have verdicts). */
#define GUARD_OK_RC     0
#define GUARD_EINVAL    (-1) /* malformed descriptor / argument */
#define GUARD_EFULL     (-2) /* out of memory for the module, or privilege binding table full */
#define GUARD_EEXIST    (-3) /* duplicate module name or hash, duplicate binding */
#define GUARD_ENOPRIV   (-4) /* privilege name not registered */
#define GUARD_EBUSY     (-5) /* module is registered: bind/reset before registration only */
#define GUARD_EDUP_SITE (-6) /* two sites at one offset */
#define GUARD_ESITE     (-7) /* site out of the text, bad kind, no INIT or two INIT/DEINIT */
/* guard_locate() failures (the same checks the INIT event repeats): */
#define GUARD_EUNKNOWN  (-8)  /* no module with that claimed hash */
#define GUARD_EUSER     (-9)  /* site or text not in the guest kernel's half */
#define GUARD_EALIGN    (-10) /* text base not page-aligned */
#define GUARD_EOVERFLOW (-11) /* text wraps the address space */
#define GUARD_EOVERLAP  (-12) /* text overlaps another registered module */
#define GUARD_ESTATE    (-13) /* module already registered, or revoked */
#define GUARD_ENOTBOUND (-14) /* unbind: the privilege is not bound to the module */

void guard_init(struct guard *g, struct privilege_registry *privs, const struct guard_config *cfg);
/* Frees every module's state (unit tests and fuzzers; the hypervisor keeps its guard for the boot). */
void guard_destroy(struct guard *g);

/* Where module state comes from: zeroed memory, NULL when there is none. Not part of guard.c, so
 * that it stays pure: hv/guard/guard_mem.c (the hypervisor's page allocator) or
 * tests/unit/guard_mem_host.c (calloc) is linked beside it. */
void *guard_mem_alloc(u64 bytes);
void guard_mem_free(void *p, u64 bytes);

/* The modules added so far (indices 0 .. count-1), and one of them (NULL when out of range). */
static inline u32 guard_module_count(const struct guard *g) { return g->nmod; }
static inline const struct guard_module *guard_module(const struct guard *g, int m)
{
    return m >= 0 && (u32)m < g->nmod ? g->mod[m] : NULL;
}

/* Administrator: add a module's metadata (returns its index) and bind privilege names to it.
 * Binding works before registration and while the module is registered (a vCPU inside it holds
 * the new privilege at once); a revoked module gets GUARD_ESTATE. Unbinding lowers the privilege
 * at once on every vCPU inside the module; its other privileges stay. */
int guard_module_add(struct guard *g, const struct guard_module_desc *d);
int guard_bind_privilege(struct guard *g, int module, const char *priv_name);
int guard_unbind_privilege(struct guard *g, int module, const char *priv_name);
/* Administrator: revoke a module now (as a text write would), or allow a revoked module to register
 * again (it must be UNREGISTERED or DEAD without known text). */
int guard_revoke(struct guard *g, int module);
int guard_reinstate(struct guard *g, int module);

/* Registration, step 1: which module claims this hash, and where its text would be if `site` is
 * its INIT hypercall. Pure checks, no state change. The caller then write-protects the range,
 * hashes it from guest memory and posts GUARD_EV_INIT with the digest. */
int guard_locate(const struct guard *g, u64 site, const u8 claimed_hash[GUARD_HASH_LEN], int *module, u64 *text_base,
                 u64 *text_len);

/* The state machine. `res` may be NULL; otherwise every field of it is written (the caller need
 * not clear it). */
enum guard_verdict guard_event(struct guard *g, const struct guard_event *ev, struct guard_result *res);

/* O(1) site lookup: index in the module's site table of `offset`, or -1. */
int guard_site_lookup(const struct guard_module *m, u32 offset);
/* The registered module whose text holds gva (ACTIVE or DEAD with known text), or -1. */
int guard_module_at(const struct guard *g, u64 gva);
/* Is a border-out int outstanding that returns to (rip, rsp)? (A fetch there resumes it, even at
 * an entry wrapper's first instruction, where the interrupt may have come.) */
bool guard_int_frame_at(struct guard *g, u64 rip, u64 rsp);

/* Stack ranges for the optional stack digest: [rsp, top). For a border-out call the top of the
 * vCPU's current run; for a border-in ret the top recorded in the frame with that RSP. */
bool guard_stack_top(const struct guard *g, u32 vcpu, u64 *top);
bool guard_pending_stack_top(const struct guard *g, u64 rsp, u64 *top);

enum guard_state guard_vcpu_state(const struct guard *g, u32 vcpu, int module);
bool guard_privileged(const struct guard *g, u32 vcpu);

/* Counters: the caller measures the cycles an event cost (exit to resume) and accounts them. */
void guard_account_cost(struct guard *g, const struct guard_event *ev, const struct guard_result *res, u64 cycles);

/* The suspicious-activity ring, oldest first. */
u32 guard_log_count(const struct guard *g);
const struct guard_log_entry *guard_log_get(const struct guard *g, u32 i);

const char *guard_susp_name(enum guard_susp k);
const char *guard_event_name(enum guard_event_kind k);
const char *guard_state_name(enum guard_state s);
const char *guard_site_kind_name(enum gmeta_site_kind k);

#endif
