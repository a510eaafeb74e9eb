/* The event a VM entry delivers: see event_queue.h for the rules and docs/events.md for why. */
#include "core/event_queue.h"
#include "lib/log.h"

#define VEC_DF 8
#define VEC_PF 14

/* Contributory exceptions (AMD APM Vol. 2 §8.2.9, Intel SDM Vol. 3A Table 6-4): #DE, #TS, #NP,
 * #SS, #GP. */
static bool contributory(u8 vector) { return vector == 0 || (vector >= 10 && vector <= 13); }

static bool is_soft(u8 type) { return type == EVENT_SOFT_INT || type == EVENT_SOFT_EXCEPTION; }

static bool same(const struct pending_event *a, const struct pending_event *b)
{
    return a->type == b->type && a->vector == b->vector;
}

static void drop_at(struct event_queue *q, unsigned i)
{
    for (; i + 1 < q->count; i++) {
        q->held[i] = q->held[i + 1];
        q->held_rip[i] = q->held_rip[i + 1];
    }
    q->count--;
}

/* Hold ev behind what this entry delivers (now), unless it is the same event. */
static void hold(struct event_queue *q, const struct pending_event *ev, const struct pending_event *now, u64 rip)
{
    if (ev->type == EVENT_NONE || same(ev, now))
        return;
    for (unsigned i = 0; i < q->count; i++)
        if (same(&q->held[i], ev))
            return;
    if (q->count == EVENT_QUEUE_HELD) { /* never seen: at most one event per exit is added */
        drop_at(q, 0);
        q->dropped++;
    }
    q->held[q->count] = *ev;
    q->held_rip[q->count] = rip;
    q->count++;
}

/* The first held event this entry can deliver, removed from q; held exceptions whose instruction
 * the guest has left are dropped on the way. */
static struct pending_event take_held(struct event_queue *q, const struct event_exit *e)
{
    struct pending_event none = { .type = EVENT_NONE };

    for (unsigned i = 0; i < q->count;) {
        struct pending_event ev = q->held[i];
        bool exception = ev.type == EVENT_EXCEPTION || is_soft(ev.type);

        if (exception && q->held_rip[i] != e->rip) {
            drop_at(q, i);
            q->dropped++;
            continue;
        }
        if ((ev.type == EVENT_EXTERNAL && !e->can_take_interrupt) || (ev.type == EVENT_NMI && e->nmi_blocked)) {
            i++;
            continue;
        }
        drop_at(q, i);
        return ev;
    }
    return none;
}

/* The handler's exception was raised by the delivery of the interrupted event. */
static struct pending_event merge_reflected(struct event_queue *q, const struct event_exit *e)
{
    const struct pending_event *first = &e->interrupted, *second = &e->handler;
    struct pending_event df = { .type = EVENT_EXCEPTION, .vector = VEC_DF, .has_error = true, .error = 0 };
    struct pending_event triple = { .type = EVENT_TRIPLE_FAULT };

    if (first->type == EVENT_EXCEPTION) {
        bool second_bad = contributory(second->vector) || second->vector == VEC_PF;
        if (first->vector == VEC_DF && second_bad)
            return triple;
        if ((contributory(first->vector) && contributory(second->vector)) || (first->vector == VEC_PF && second_bad))
            return df;
        return *second; /* benign first: its instruction re-executes and raises it again */
    }
    /* An interrupt or NMI cannot be raised again: it waits behind the exception. A software
     * event re-executes (RIP still points at its instruction). */
    if (first->type == EVENT_EXTERNAL || first->type == EVENT_NMI)
        hold(q, first, second, e->rip);
    return *second;
}

/* The exits what is still waiting after this entry needs (EVENT_WANT_*). */
static u8 wants(const struct event_queue *q, const struct event_exit *e)
{
    u8 want = 0;

    if (e->nmi_pending && !q->took_nmi)
        want |= EVENT_WANT_NMI_WINDOW;
    for (unsigned i = 0; i < q->count; i++) {
        if (q->held[i].type == EVENT_EXTERNAL)
            want |= EVENT_WANT_IRQ_WINDOW;
        else if (q->held[i].type == EVENT_NMI)
            want |= EVENT_WANT_NMI_WINDOW;
    }
    return want;
}

static struct pending_event decide(struct event_queue *q, const struct event_exit *e)
{
    struct pending_event interrupted = e->interrupted, now;

    if (is_soft(interrupted.type) && !e->soft_reinject)
        interrupted.type = EVENT_NONE;

    if (interrupted.type != EVENT_NONE && e->handler.type == EVENT_EXCEPTION && e->reflected)
        return merge_reflected(q, e);

    if (interrupted.type != EVENT_NONE) {
        now = interrupted;
    } else {
        now = take_held(q, e);
        if (now.type == EVENT_NONE && e->handler.type != EVENT_NONE)
            return e->handler; /* a pending NMI waits for the next window */
        if (now.type == EVENT_NONE && e->nmi_pending && !e->nmi_blocked) {
            now.type = EVENT_NMI;
            now.vector = 2;
            q->took_nmi = true;
        }
        if (now.type == EVENT_NONE)
            return now;
    }
    /* The handler's event goes behind (the same NMI is delivered once). */
    hold(q, &e->handler, &now, e->rip);
    return now;
}

struct pending_event event_queue_next(struct event_queue *q, const struct event_exit *e)
{
    struct pending_event ev;

    q->took_nmi = false;
    ev = decide(q, e);
    q->want = wants(q, e);
    return ev;
}

void nmi_track_delivered(struct nmi_track *t)
{
    t->masked = true;
    t->iret_seen = false;
}

void nmi_track_iret(struct nmi_track *t, u64 rip)
{
    if (!t->masked || t->iret_seen)
        return;
    t->iret_seen = true;
    t->iret_rip = rip;
}

void nmi_track_exit(struct nmi_track *t, u64 rip)
{
    if (t->masked && t->iret_seen && rip != t->iret_rip)
        t->masked = t->iret_seen = false;
}

u8 nmi_track_intercepts(const struct nmi_track *t, u8 want)
{
    u8 need = 0;

    if (t->masked && !t->iret_seen)
        need |= NMI_TRACK_IRET; /* always while masked: the IRET must not slip by */
    if (want & EVENT_WANT_IRQ_WINDOW)
        need |= NMI_TRACK_IRQ_WINDOW;
    /* An NMI waits: behind the IRET that is about to run, or behind another event this entry. */
    if ((want & EVENT_WANT_NMI_WINDOW) && (!t->masked || t->iret_seen))
        need |= NMI_TRACK_IRQ_WINDOW;
    return need;
}

const char *event_describe(const struct pending_event *ev, char *buf, size_t size)
{
    switch (ev->type) {
    case EVENT_EXTERNAL:
        fmt_snprintf(buf, size, "external 0x%x", ev->vector);
        break;
    case EVENT_NMI:
        fmt_snprintf(buf, size, "NMI");
        break;
    case EVENT_EXCEPTION:
        if (ev->has_error)
            fmt_snprintf(buf, size, "exception %u (error 0x%x)", ev->vector, ev->error);
        else
            fmt_snprintf(buf, size, "exception %u", ev->vector);
        break;
    case EVENT_SOFT_INT:
        fmt_snprintf(buf, size, "INT 0x%x", ev->vector);
        break;
    case EVENT_SOFT_EXCEPTION:
        fmt_snprintf(buf, size, "software exception %u", ev->vector);
        break;
    case EVENT_TRIPLE_FAULT:
        fmt_snprintf(buf, size, "triple fault");
        break;
    default:
        fmt_snprintf(buf, size, "none");
        break;
    }
    return buf;
}
