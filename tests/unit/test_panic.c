/* UNIT-SOURCES: hv/core/panic.c hv/core/exit_trace.c hv/lib/fmt.c */
/* The panic report: reason, guest registers, backend state, the last exits, then the halt. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "arch/x86_64/traps.h"
#include "core/exit_trace.h"
#include "lib/log.h"
#include "core/panic.h"
#include "core/vcpu.h"

static char out[16384];
static size_t out_len;
static jmp_buf halted;

void log_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    out_len += fmt_vsnprintf(out + out_len, sizeof(out) - out_len, fmt, ap);
    va_end(ap);
    if (out_len < sizeof(out) - 1)
        out[out_len++] = '\n';
}

void host_test_halt(void) { longjmp(halted, 1); }
void uart_flush(void) {} /* the log above is captured, not sent */

static void fake_dump(struct vcpu *v) { log_printf("  vmcb: exitcode 0x7f (fake backend)"); }
static const struct vcpu_ops fake_ops = { .name = "fake", .dump = fake_dump };
const struct vcpu_ops *vcpu_ops = &fake_ops;

static int reset(void **state)
{
    out_len = 0;
    out[0] = 0;
    return 0;
}

static void panic_reports_reason_registers_and_last_exits(void **state)
{
    static struct vcpu v = { .id = 0 };
    for (int i = 0; i < VCPU_NREGS; i++)
        v.regs[i] = 0x1111111111111111ull * (u64)(i % 15 + 1);
    v.regs[REG_RIP] = 0xffffffff81000200ull;
    for (u32 i = 0; i < 20; i++)
        exit_trace_record(0x72, "cpuid", 0x1000 + i, i, 0);
    exit_trace_record(0x400, "npf", 0xdead, 0x6, 0xfee00000);
    panic_set_vcpu(&v);

    if (!setjmp(halted))
        panic("nested page tables: %s (%d)", "out of memory", 7);

    assert_non_null(strstr(out, "PANIC: nested page tables: out of memory (7)"));
    assert_non_null(strstr(out, "rip    ffffffff81000200"));
    assert_non_null(strstr(out, "rax    1111111111111111"));
    assert_non_null(strstr(out, "vmcb: exitcode 0x7f (fake backend)"));
    assert_non_null(strstr(out, "last 16 of 21 exits"));
    assert_non_null(strstr(out, "npf        code 0x400 rip 0xdead info1 0x6 info2 0xfee00000"));
    assert_null(strstr(out, "rip 0x1000 ")); /* the oldest exits fell out of the ring */
    assert_non_null(strstr(out, "PANIC: hypervisor halted"));
    /* the reason comes first, the halt line last */
    assert_true(strstr(out, "PANIC: nested") < strstr(out, "guest registers"));
}

static void trap_in_the_hypervisor_reports_the_frame(void **state)
{
    struct trap_frame f = { .vector = 14, .error = 2, .rip = 0x3de50123, .rsp = 0x3d000f00, .rax = 0xabc };
    panic_set_vcpu(NULL);
    if (!setjmp(halted))
        panic_trap("#PF page fault", &f);
    assert_non_null(strstr(out, "PANIC: #PF page fault in the hypervisor (vector 14, error 0x2) at rip 0x3de50123"));
    assert_non_null(strstr(out, "cr2 0xc2c2"));
    assert_non_null(strstr(out, "rax 0xabc"));
    assert_null(strstr(out, "guest registers")); /* no vCPU yet: no guest registers to show */
    assert_non_null(strstr(out, "PANIC: hypervisor halted"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(panic_reports_reason_registers_and_last_exits, reset),
        cmocka_unit_test_setup(trap_in_the_hypervisor_reports_the_frame, reset),
    };
    return cmocka_run_group_tests_name("panic", tests, NULL, NULL);
}
