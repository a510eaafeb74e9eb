/* UNIT-SOURCES: hv/core/event_queue.c hv/lib/fmt.c */
/*
 * Which event a VM entry delivers (hv/core/event_queue.c, docs/events.md): the event whose delivery
 * an exit interrupted (SVM's EXITINTINFO, VT-x's IDT-vectoring information) comes first, the exit
 * handler's own event is held behind it, never instead of it, and nothing is delivered twice.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/event_queue.h"

#define RIP 0xffffffff81000000ull

static const struct pending_event none = { .type = EVENT_NONE };

static struct pending_event ev(u8 type, u8 vector)
{
    struct pending_event e = { .type = type, .vector = vector };
    return e;
}

static struct pending_event exc(u8 vector, u32 error)
{
    struct pending_event e = { .type = EVENT_EXCEPTION, .vector = vector, .has_error = true, .error = error };
    return e;
}

static struct event_exit at(struct pending_event interrupted, struct pending_event handler)
{
    struct event_exit e = { .interrupted = interrupted, .handler = handler, .can_take_interrupt = true, .rip = RIP };
    return e;
}

static void assert_event(struct pending_event got, u8 type, u8 vector)
{
    assert_int_equal(got.type, type);
    if (type != EVENT_NONE)
        assert_int_equal(got.vector, vector);
}

/* An external interrupt the local APIC had acknowledged: lost before, now delivered again. */
static void interrupted_interrupt_is_delivered_again(void **state)
{
    struct event_queue q = { 0 };
    struct event_exit e = at(ev(EVENT_EXTERNAL, 0xec), none);

    assert_event(event_queue_next(&q, &e), EVENT_EXTERNAL, 0xec);
    assert_int_equal(q.count, 0);
    /* the next entry has nothing left to deliver */
    e = at(none, none);
    assert_event(event_queue_next(&q, &e), EVENT_NONE, 0);
}

/* An NMI interrupted in delivery is delivered exactly once, even when the handler injects one too
 * (VT-x's NMI exit re-injects the NMI it consumed). */
static void interrupted_nmi_is_delivered_once(void **state)
{
    struct event_queue q = { 0 };
    struct event_exit e = at(ev(EVENT_NMI, 2), ev(EVENT_NMI, 2));

    assert_event(event_queue_next(&q, &e), EVENT_NMI, 2);
    assert_int_equal(q.count, 0);
    e = at(none, none);
    assert_event(event_queue_next(&q, &e), EVENT_NONE, 0);
}

/* A #GP with its error code, interrupted (say, a nested fault on the guest's stack): delivered
 * again with the same error code. */
static void exception_keeps_its_error_code(void **state)
{
    struct event_queue q = { 0 };
    struct event_exit e = at(exc(13, 0x18), none);
    struct pending_event got = event_queue_next(&q, &e);

    assert_event(got, EVENT_EXCEPTION, 13);
    assert_true(got.has_error);
    assert_int_equal(got.error, 0x18);
}

/* INTn: VT-x re-injects it with the instruction's length (its return address is past INTn); SVM
 * cannot, and lets the instruction, which RIP still points at, execute again. */
static void soft_interrupt(void **state)
{
    struct event_queue q = { 0 };
    struct pending_event intn = { .type = EVENT_SOFT_INT, .vector = 0x80, .insn_len = 2 };
    struct event_exit e = at(intn, none);
    struct pending_event got;

    e.soft_reinject = true;
    got = event_queue_next(&q, &e);
    assert_event(got, EVENT_SOFT_INT, 0x80);
    assert_int_equal(got.insn_len, 2);

    e.soft_reinject = false;
    assert_event(event_queue_next(&q, &e), EVENT_NONE, 0);
    /* INT3 alike */
    e = at(ev(EVENT_SOFT_EXCEPTION, 3), none);
    assert_event(event_queue_next(&q, &e), EVENT_NONE, 0);
}

/* The handler injects an event of its own while an interrupted one waits: the interrupted one
 * goes first, the handler's is held and delivered at the next entry. */
static void handler_event_waits_behind_interrupted(void **state)
{
    struct event_queue q = { 0 };
    struct event_exit e = at(ev(EVENT_EXTERNAL, 0x30), ev(EVENT_EXTERNAL, 0xef));

    assert_event(event_queue_next(&q, &e), EVENT_EXTERNAL, 0x30);
    assert_int_equal(q.count, 1);
    e = at(none, none);
    assert_event(event_queue_next(&q, &e), EVENT_EXTERNAL, 0xef);
    assert_int_equal(q.count, 0);
}

/* A held exception belongs to its instruction: delivered at the next entry if the guest resumes
 * there; dropped if it has moved on (the instruction raises it again if it runs again). */
static void held_exception_only_at_its_instruction(void **state)
{
    struct event_queue q = { 0 };
    struct event_exit e = at(ev(EVENT_EXTERNAL, 0x30), exc(13, 0));

    assert_event(event_queue_next(&q, &e), EVENT_EXTERNAL, 0x30);
    e = at(none, none);
    assert_event(event_queue_next(&q, &e), EVENT_EXCEPTION, 13);

    e = at(ev(EVENT_EXTERNAL, 0x30), exc(13, 0));
    assert_event(event_queue_next(&q, &e), EVENT_EXTERNAL, 0x30);
    e = at(none, none);
    e.rip = RIP + 0x40;
    assert_event(event_queue_next(&q, &e), EVENT_NONE, 0);
    assert_int_equal(q.dropped, 1);
}

/* A held external interrupt waits until the guest can take one (IF = 1, no shadow); an NMI does not wait. */
static void held_interrupt_waits_for_if(void **state)
{
    struct event_queue q = { 0 };
    struct event_exit e = at(ev(EVENT_NMI, 2), ev(EVENT_EXTERNAL, 0x41));

    assert_event(event_queue_next(&q, &e), EVENT_NMI, 2);
    e = at(none, none);
    e.can_take_interrupt = false;
    assert_event(event_queue_next(&q, &e), EVENT_NONE, 0);
    assert_int_equal(q.count, 1);
    e.can_take_interrupt = true;
    assert_event(event_queue_next(&q, &e), EVENT_EXTERNAL, 0x41);
}

/* With something held and a new event from the handler: the older one first. */
static void held_before_new(void **state)
{
    struct event_queue q = { 0 };
    struct event_exit e = at(ev(EVENT_EXTERNAL, 0x30), ev(EVENT_NMI, 2));

    assert_event(event_queue_next(&q, &e), EVENT_EXTERNAL, 0x30);
    e = at(none, ev(EVENT_EXTERNAL, 0x41));
    assert_event(event_queue_next(&q, &e), EVENT_NMI, 2);
    e = at(none, none);
    assert_event(event_queue_next(&q, &e), EVENT_EXTERNAL, 0x41);
    e = at(none, none);
    assert_event(event_queue_next(&q, &e), EVENT_NONE, 0);
}

/* The guest's own exception, intercepted while another event was being delivered: merged as the
 * CPU does (AMD APM Vol. 2 §8.2.9, Intel SDM Vol. 3A Table 6-5). */
static void reflected_exception_merges(void **state)
{
    struct event_queue q = { 0 };
    struct event_exit e;
    struct pending_event got;

    /* #GP while delivering #PF, or #SS while delivering #GP: #DF with error code 0 */
    e = at(exc(14, 2), exc(13, 0));
    e.reflected = true;
    got = event_queue_next(&q, &e);
    assert_event(got, EVENT_EXCEPTION, 8);
    assert_true(got.has_error);
    assert_int_equal(got.error, 0);
    e = at(exc(13, 0), exc(12, 0));
    e.reflected = true;
    assert_event(event_queue_next(&q, &e), EVENT_EXCEPTION, 8);
    /* #PF while delivering #GP: handled serially, the #PF */
    e = at(exc(13, 0), exc(14, 2));
    e.reflected = true;
    assert_event(event_queue_next(&q, &e), EVENT_EXCEPTION, 14);
    /* #GP while delivering #DF: triple fault */
    e = at(exc(8, 0), exc(13, 0));
    e.reflected = true;
    assert_event(event_queue_next(&q, &e), EVENT_TRIPLE_FAULT, 0);
    /* #PF while delivering an external interrupt: the #PF first, the interrupt held behind it */
    e = at(ev(EVENT_EXTERNAL, 0x30), exc(14, 2));
    e.reflected = true;
    assert_event(event_queue_next(&q, &e), EVENT_EXCEPTION, 14);
    e = at(none, none);
    assert_event(event_queue_next(&q, &e), EVENT_EXTERNAL, 0x30);
    /* #NP while delivering #DB (benign): the #NP */
    e = at(ev(EVENT_EXCEPTION, 1), exc(11, 0x10));
    e.reflected = true;
    assert_event(event_queue_next(&q, &e), EVENT_EXCEPTION, 11);
    assert_int_equal(q.count, 0);
}

/* No interrupted delivery: the handler's event as before. */
static void plain_injection_unchanged(void **state)
{
    struct event_queue q = { 0 };
    struct event_exit e = at(none, exc(6, 0));

    e.handler.has_error = false;
    assert_event(event_queue_next(&q, &e), EVENT_EXCEPTION, 6);
    assert_int_equal(q.count, 0);
}

/* Host-mode NMIs (counted by traps.c) go one per entry, only when nothing else is delivered and the
 * guest does not block NMIs; what waits asks for its window. */
static void pending_nmi_when_nothing_else(void **state)
{
    struct event_queue q = { 0 };
    struct event_exit e = at(none, none);

    e.nmi_pending = true;
    assert_event(event_queue_next(&q, &e), EVENT_NMI, 2);
    assert_true(q.took_nmi);
    assert_int_equal(q.want, 0);
    /* the guest is in its NMI handler: the next one waits for the NMI window */
    e.nmi_blocked = true;
    assert_event(event_queue_next(&q, &e), EVENT_NONE, 0);
    assert_false(q.took_nmi);
    assert_int_equal(q.want, EVENT_WANT_NMI_WINDOW);
    /* none pending: nothing asked */
    e.nmi_pending = false;
    assert_event(event_queue_next(&q, &e), EVENT_NONE, 0);
    assert_int_equal(q.want, 0);
}

static void pending_nmi_behind_other_events(void **state)
{
    struct event_queue q = { 0 };
    struct event_exit e = at(ev(EVENT_EXTERNAL, 0xec), none);

    /* an interrupted delivery goes first, even when the guest would block NMIs */
    e.nmi_pending = true;
    assert_event(event_queue_next(&q, &e), EVENT_EXTERNAL, 0xec);
    assert_false(q.took_nmi);
    assert_int_equal(q.want, EVENT_WANT_NMI_WINDOW);
    /* the handler's own event (halt()'s interrupt, a #GP) too */
    e = at(none, ev(EVENT_EXTERNAL, 0x30));
    e.nmi_pending = true;
    assert_event(event_queue_next(&q, &e), EVENT_EXTERNAL, 0x30);
    assert_false(q.took_nmi);
    assert_int_equal(q.want, EVENT_WANT_NMI_WINDOW);
    /* then the NMI */
    e = at(none, none);
    e.nmi_pending = true;
    assert_event(event_queue_next(&q, &e), EVENT_NMI, 2);
    assert_true(q.took_nmi);
}

/* A held NMI (behind a reflected exception) also waits while the guest blocks NMIs; a held external
 * interrupt asks for the interrupt window. */
static void held_nmi_waits_for_unblocking(void **state)
{
    struct event_queue q = { 0 };
    struct event_exit e = at(ev(EVENT_NMI, 2), exc(13, 0));

    e.reflected = true;
    assert_event(event_queue_next(&q, &e), EVENT_EXCEPTION, 13);
    assert_int_equal(q.count, 1);
    assert_int_equal(q.want, EVENT_WANT_NMI_WINDOW);
    e = at(none, none);
    e.nmi_blocked = true;
    assert_event(event_queue_next(&q, &e), EVENT_NONE, 0);
    assert_int_equal(q.want, EVENT_WANT_NMI_WINDOW);
    e.nmi_blocked = false;
    assert_event(event_queue_next(&q, &e), EVENT_NMI, 2);
    assert_false(q.took_nmi); /* the held one, not a pending one */
    assert_int_equal(q.count, 0);

    e = at(ev(EVENT_EXTERNAL, 0x20), ev(EVENT_EXTERNAL, 0x31));
    assert_event(event_queue_next(&q, &e), EVENT_EXTERNAL, 0x20);
    assert_int_equal(q.want, EVENT_WANT_IRQ_WINDOW);
}

/* 1,000 NMIs taken in host mode reach the guest 1,000 times, one per handler run: the SVM tracking
 * (no NMI window there) masks at each delivery and opens after the IRET has run. */
static void nmi_storm_through_svm_tracking(void **state)
{
    struct event_queue q = { 0 };
    struct nmi_track t = { 0 };
    unsigned pending = 1000, delivered = 0, exits = 0;
    u64 rip = RIP;

    while (pending && exits < 10000) {
        struct event_exit e = at(none, none);
        struct pending_event got;

        exits++;
        nmi_track_exit(&t, rip);
        e.rip = rip;
        e.nmi_pending = pending > 0;
        e.nmi_blocked = t.masked;
        got = event_queue_next(&q, &e);
        if (q.took_nmi)
            pending--;
        if (got.type == EVENT_NMI) {
            delivered++;
            nmi_track_delivered(&t);
            /* the guest runs its handler (IRET intercepted while masked) */
            assert_int_equal(nmi_track_intercepts(&t, q.want), NMI_TRACK_IRET);
            rip = RIP + 0x100;
            nmi_track_iret(&t, rip); /* the IRET exit: the next entry resumes at the IRET */
            continue;
        }
        /* the IRET exit itself: blocked still, window asked, the IRET not intercepted again */
        assert_true(t.masked);
        assert_int_equal(nmi_track_intercepts(&t, q.want), NMI_TRACK_IRQ_WINDOW);
        rip = RIP; /* the IRET ran; the window's exit is at the interrupted code */
    }
    assert_int_equal(delivered, 1000);
    assert_int_equal(exits, 1999); /* one to deliver each, one after each IRET but the last */
}

static void nmi_track_rules(void **state)
{
    struct nmi_track t = { 0 };

    assert_int_equal(nmi_track_intercepts(&t, 0), 0);
    assert_int_equal(nmi_track_intercepts(&t, EVENT_WANT_NMI_WINDOW), NMI_TRACK_IRQ_WINDOW);
    nmi_track_iret(&t, RIP); /* an IRET while not masked changes nothing */
    assert_false(t.iret_seen);
    nmi_track_delivered(&t);
    assert_int_equal(nmi_track_intercepts(&t, EVENT_WANT_NMI_WINDOW), NMI_TRACK_IRET);
    nmi_track_exit(&t, RIP + 4); /* any exit before the IRET: still masked */
    assert_true(t.masked);
    nmi_track_iret(&t, RIP + 8);
    nmi_track_exit(&t, RIP + 8); /* the IRET exit itself: it has not run yet */
    assert_true(t.masked);
    assert_int_equal(nmi_track_intercepts(&t, 0), 0);
    nmi_track_exit(&t, RIP + 12);
    assert_false(t.masked);
}

static void describe(void **state)
{
    char buf[40];
    struct pending_event gp = exc(13, 0x18), intn = { .type = EVENT_SOFT_INT, .vector = 0x80 };

    assert_string_equal(event_describe(&gp, buf, sizeof(buf)), "exception 13 (error 0x18)");
    assert_string_equal(event_describe(&intn, buf, sizeof(buf)), "INT 0x80");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(interrupted_interrupt_is_delivered_again),
        cmocka_unit_test(interrupted_nmi_is_delivered_once),
        cmocka_unit_test(exception_keeps_its_error_code),
        cmocka_unit_test(soft_interrupt),
        cmocka_unit_test(handler_event_waits_behind_interrupted),
        cmocka_unit_test(held_exception_only_at_its_instruction),
        cmocka_unit_test(held_interrupt_waits_for_if),
        cmocka_unit_test(held_before_new),
        cmocka_unit_test(reflected_exception_merges),
        cmocka_unit_test(plain_injection_unchanged),
        cmocka_unit_test(pending_nmi_when_nothing_else),
        cmocka_unit_test(pending_nmi_behind_other_events),
        cmocka_unit_test(held_nmi_waits_for_unblocking),
        cmocka_unit_test(nmi_storm_through_svm_tracking),
        cmocka_unit_test(nmi_track_rules),
        cmocka_unit_test(describe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
