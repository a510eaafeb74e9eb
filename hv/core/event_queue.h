/*
 * Which event a VM entry delivers (docs/events.md). An exit can interrupt the delivery of an event
 * through the guest's IDT (AMD APM Vol. 2 §15.7.2, EXITINTINFO; Intel SDM Vol. 3C §28.2.4,
 * IDT-vectoring information), and the exit handler may inject an event of its own. The hardware
 * takes one event per entry, so one of them waits: that decision is here, pure and arch-neutral,
 * and both backends call it after every exit handler (arch/x86_64/svm/svm_exit.c,
 * arch/x86_64/vmx/vmx_exit.c) with what their hardware reported.
 *
 * The rules:
 * - The interrupted event is delivered first. The handler's own event goes behind it: held, and
 *   delivered at the next entry, never instead of it.
 * - Except when the handler's event is the guest's own exception, intercepted while the interrupted
 *   event was being delivered (`reflected`): the delivery raised it, so it is merged as the CPU
 *   would have (AMD APM Vol. 2 §8.2.9, Intel SDM Vol. 3A Table 6-5): two contributory exceptions
 *   or a page fault and a contributory one or another page fault become #DF; an exception during
 *   #DF's delivery is a triple fault; otherwise the new exception goes first and an interrupted
 *   external interrupt or NMI is held behind it (an interrupted exception is raised again when its
 *   instruction re-executes).
 * - Software interrupts and software exceptions (INTn, INT3, INTO) are re-injected only where the
 *   backend can give the instruction's length (VT-x); elsewhere (SVM) they are dropped and the
 *   instruction, which RIP still points at, executes again.
 * - A held external interrupt waits for an entry at which the guest can take one (RFLAGS.IF set,
 *   no interrupt shadow). A held exception belongs to its instruction: it is delivered only at an
 *   entry that resumes at the same RIP; if the guest has moved on, it is dropped (the instruction
 *   raises it again if it runs again). A held NMI goes at the next entry.
 * - The same event is never delivered twice: an NMI interrupted in delivery and injected again by
 *   the handler is delivered once, and an event already held is not held again.
 * - NMIs the hypervisor took for the guest (host mode, or a VT-x NMI exit; counted by
 *   arch/x86_64/traps.c) come after everything above, one per entry, and only while the guest is
 *   not blocking NMIs (in its NMI handler, until its IRET). A held NMI also waits for that.
 * - What still waits asks for the exit that lets it through (`want`): a held external interrupt
 *   the interrupt window, an NMI the NMI window (VT-x's NMI-window exiting; on SVM, which has
 *   none, the guest's IRET and then the interrupt window: arch/x86_64/svm/svm_exit.c).
 */
#ifndef POSTERN_EVENT_QUEUE_H
#define POSTERN_EVENT_QUEUE_H

#include "lib/types.h"

enum event_type {
    EVENT_NONE,
    EVENT_EXTERNAL,       /* external interrupt (vector 32-255) */
    EVENT_NMI,            /* vector 2 */
    EVENT_EXCEPTION,      /* hardware exception, with or without an error code */
    EVENT_SOFT_INT,       /* INTn */
    EVENT_SOFT_EXCEPTION, /* INT3 (#BP), INTO (#OF) */
    EVENT_TRIPLE_FAULT,   /* only as event_queue_next's answer: the guest shuts down */
};

struct pending_event {
    u8 type; /* enum event_type */
    u8 vector;
    bool has_error;
    u32 error;
    u8 insn_len; /* software events: the length of the instruction that raised it */
};

#define EVENT_QUEUE_HELD 4

struct event_queue {
    struct pending_event held[EVENT_QUEUE_HELD];
    u64 held_rip[EVENT_QUEUE_HELD]; /* an exception's instruction */
    unsigned count;
    u64 dropped; /* held events thrown away: exceptions whose instruction the guest left, overflow */
    /* What the last event_queue_next decided besides its answer: */
    bool took_nmi; /* the answer is one of the hypervisor's pending NMIs: take it off the count */
    u8 want;       /* EVENT_WANT_*: the exits still needed for what waits */
};

#define EVENT_WANT_IRQ_WINDOW BIT(0) /* a held external interrupt: exit once the guest has IF = 1 */
#define EVENT_WANT_NMI_WINDOW BIT(1) /* an NMI waits: exit once the guest can take an NMI */

/* What one exit reported and what its handler did. */
struct event_exit {
    struct pending_event interrupted; /* EXITINTINFO / IDT-vectoring info; EVENT_NONE if invalid */
    struct pending_event handler;     /* what the exit handler injected; EVENT_NONE if nothing */
    bool reflected;          /* handler is the guest's exception this exit intercepted, delivered as the CPU would */
    bool soft_reinject;      /* the backend can re-inject software events (VT-x: with their length) */
    bool can_take_interrupt; /* at this entry: RFLAGS.IF = 1 and no interrupt shadow */
    u64 rip;                 /* the guest RIP this entry resumes at */
    bool nmi_pending;        /* the hypervisor holds at least one NMI for the guest (traps.c) */
    bool nmi_blocked;        /* the guest blocks NMIs: its NMI handler runs (until its IRET) */
};

/* The one event this entry delivers (type EVENT_NONE: none; EVENT_TRIPLE_FAULT: stop the guest);
 * the others are held in q. */
struct pending_event event_queue_next(struct event_queue *q, const struct event_exit *e);

/*
 * SVM has no NMI window and no NMI-blocking field (APM Vol. 2 §15.20: EVENTINJ ignores blocking),
 * so the backend tracks it as KVM does: the guest blocks NMIs from an injected NMI until its IRET
 * has executed. The IRET intercept comes before the IRET; NMIs are open again at the first exit
 * at another RIP, and the interrupt window makes one soon (the IRET of an NMI handler restores
 * the interrupted IF, and Linux keeps IF clear only briefly).
 */
struct nmi_track {
    bool masked;    /* an NMI was delivered and its handler has not returned */
    bool iret_seen; /* its IRET was intercepted at iret_rip and is about to run */
    u64 iret_rip;
};

#define NMI_TRACK_IRET       BIT(0) /* intercept IRET */
#define NMI_TRACK_IRQ_WINDOW BIT(1) /* ask for the interrupt window */

/* This entry delivers an NMI. */
void nmi_track_delivered(struct nmi_track *t);
/* An IRET intercept (before the IRET runs). */
void nmi_track_iret(struct nmi_track *t, u64 rip);
/* After every exit, before the event decision: the guest resumes at rip. */
void nmi_track_exit(struct nmi_track *t, u64 rip);
/* The intercepts this entry needs, given event_queue_next's want. */
u8 nmi_track_intercepts(const struct nmi_track *t, u8 want);

/* "external 0x20", "#GP(0x0)", ... for logs; buf must hold 32 bytes. */
const char *event_describe(const struct pending_event *ev, char *buf, size_t size);

#endif
