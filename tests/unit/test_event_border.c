/* UNIT-SOURCES: hv/core/vcpu.c hv/core/event_queue.c hv/lib/fmt.c */
/*
 * Events and the border (docs/events.md, "Held events and their windows"): every event the
 * hypervisor injects runs border control's hook once, including the NMIs it took for the guest
 * (vcpu_next_event, the backends' common step), and an event delivered again after an exit
 * interrupted its delivery does not run it a second time: a re-delivery into a guarded module
 * crosses the border exactly as the first delivery did.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/vcpu.h"
#include "core/vm.h"

#define RIP 0xffffffffc0001000ull

static int hook_calls, nmis_injected, exceptions_injected;
static u8 hook_vector;
static u64 hook_rip;
static unsigned pending; /* NMIs the "hypervisor" took for the guest */

static void hook(struct vcpu *v, u8 vector, u64 rip)
{
    (void)v;
    hook_calls++;
    hook_vector = vector;
    hook_rip = rip;
}

static void fake_inject_nmi(struct vcpu *v) { (void)v, nmis_injected++; }
static void fake_inject_interrupt(struct vcpu *v, u8 vector) { (void)v, (void)vector; }
static void fake_inject_exception(struct vcpu *v, u8 vector, bool has_error, u32 error)
{
    (void)v, (void)vector, (void)has_error, (void)error;
    exceptions_injected++;
}
static void fake_reinject_exception(struct vcpu *v, u8 vector, bool has_error, u32 error, u64 cr2)
{
    (void)cr2;
    fake_inject_exception(v, vector, has_error, error);
}

static const struct vcpu_ops fake_ops = {
    .name = "fake",
    .inject_nmi = fake_inject_nmi,
    .inject_interrupt = fake_inject_interrupt,
    .inject_exception = fake_inject_exception,
    .reinject_exception = fake_reinject_exception,
};
const struct vcpu_ops *vcpu_ops = &fake_ops;

static bool take_nmi(void)
{
    if (!pending)
        return false;
    pending--;
    return true;
}

static struct vm vm;
static struct vcpu vcpu = { .vm = &vm };

static int setup(void **state)
{
    (void)state;
    hook_calls = nmis_injected = exceptions_injected = 0;
    pending = 0;
    memset(&vm, 0, sizeof(vm));
    vcpu_set_event_hook(hook);
    return 0;
}

static struct event_exit at(u8 interrupted_type, u8 vector)
{
    struct event_exit e = { .can_take_interrupt = true, .rip = RIP };
    e.interrupted.type = interrupted_type;
    e.interrupted.vector = vector;
    e.nmi_pending = pending > 0;
    return e;
}

/* A host-mode NMI injected into a guarded module: the hook sees it once, with the RIP its IRET
 * returns to; its delivery interrupted by an exit (a nested fault on the module's stack), it is
 * delivered again without a second border event. */
static void nmi_from_the_count_crosses_once(void **state)
{
    struct event_queue q = { 0 };
    struct event_exit e;
    struct pending_event ev;

    (void)state;
    pending = 1;
    e = at(EVENT_NONE, 0);
    ev = vcpu_next_event(&vcpu, &q, &e, take_nmi, NULL);
    assert_int_equal(ev.type, EVENT_NMI);
    assert_int_equal(hook_calls, 1);
    assert_int_equal(hook_vector, VEC_NMI);
    assert_int_equal(hook_rip, RIP);
    assert_int_equal(nmis_injected, 1);
    assert_int_equal(pending, 0);
    assert_int_equal(vm.nmis_injected, 1);

    e = at(EVENT_NMI, 2); /* the next exit: EXITINTINFO names the NMI */
    ev = vcpu_next_event(&vcpu, &q, &e, take_nmi, NULL);
    assert_int_equal(ev.type, EVENT_NMI);
    assert_int_equal(hook_calls, 1);
    assert_int_equal(vm.nmis_injected, 1);
}

/* An exception the exit path reflects into the module (border control's intercept) runs the hook
 * when the handler injects it; interrupted in delivery, it goes again without the hook. */
static void reflected_exception_crosses_once(void **state)
{
    struct event_queue q = { 0 };
    struct event_exit e;
    struct pending_event ev;

    (void)state;
    vcpu_reinject_exception(&vcpu, VEC_GP, true, 0, 0);
    assert_int_equal(hook_calls, 1);
    e = at(EVENT_NONE, 0);
    e.handler.type = EVENT_EXCEPTION;
    e.handler.vector = VEC_GP;
    e.handler.has_error = true;
    ev = vcpu_next_event(&vcpu, &q, &e, take_nmi, NULL);
    assert_int_equal(ev.type, EVENT_EXCEPTION);
    e = at(EVENT_EXCEPTION, VEC_GP);
    e.interrupted.has_error = true;
    ev = vcpu_next_event(&vcpu, &q, &e, take_nmi, NULL);
    assert_int_equal(ev.type, EVENT_EXCEPTION);
    assert_int_equal(ev.vector, VEC_GP);
    assert_int_equal(hook_calls, 1);
    assert_int_equal(exceptions_injected, 1);
}

/* A pending NMI that waits behind another event runs no hook until it is injected. */
static void waiting_nmi_runs_no_hook(void **state)
{
    struct event_queue q = { 0 };
    struct event_exit e;

    (void)state;
    pending = 1;
    e = at(EVENT_EXTERNAL, 0xec);
    assert_int_equal(vcpu_next_event(&vcpu, &q, &e, take_nmi, NULL).type, EVENT_EXTERNAL);
    assert_int_equal(hook_calls, 0);
    assert_int_equal(pending, 1);
    e = at(EVENT_NONE, 0);
    e.nmi_blocked = true;
    assert_int_equal(vcpu_next_event(&vcpu, &q, &e, take_nmi, NULL).type, EVENT_NONE);
    assert_int_equal(hook_calls, 0);
    e.nmi_blocked = false;
    assert_int_equal(vcpu_next_event(&vcpu, &q, &e, take_nmi, NULL).type, EVENT_NMI);
    assert_int_equal(hook_calls, 1);
    assert_int_equal(pending, 0);
}

static bool one_mce(void)
{
    static int left = 1;
    return left-- > 0;
}

/* A machine check the hypervisor took for the guest goes only at an entry that delivers nothing
 * else, through the hook. */
static void machine_check_for_the_guest(void **state)
{
    struct event_queue q = { 0 };
    struct event_exit e;
    struct pending_event ev;

    (void)state;
    e = at(EVENT_EXTERNAL, 0xec); /* something else goes first: the #MC waits */
    assert_int_equal(vcpu_next_event(&vcpu, &q, &e, take_nmi, one_mce).type, EVENT_EXTERNAL);
    assert_int_equal(hook_calls, 0);
    e = at(EVENT_NONE, 0);
    ev = vcpu_next_event(&vcpu, &q, &e, take_nmi, one_mce);
    assert_int_equal(ev.type, EVENT_EXCEPTION);
    assert_int_equal(ev.vector, VEC_MC);
    assert_int_equal(hook_calls, 1);
    assert_int_equal(hook_vector, VEC_MC);
    assert_int_equal(vcpu_next_event(&vcpu, &q, &e, take_nmi, one_mce).type, EVENT_NONE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(nmi_from_the_count_crosses_once, setup),
        cmocka_unit_test_setup(reflected_exception_crosses_once, setup),
        cmocka_unit_test_setup(waiting_nmi_runs_no_hook, setup),
        cmocka_unit_test_setup(machine_check_for_the_guest, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
