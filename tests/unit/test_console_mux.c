/* UNIT-SOURCES: hv/console/console_mux.c */
/* The serial line's routing between the guest console and the admin shell, and held guest output. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "console/console_mux.h"

static struct console_mux M;
static u8 ring[8];

static int setup(void **state)
{
    mux_init(&M, ring, sizeof(ring));
    return 0;
}

static enum mux_route in(u8 c, u8 *out) { return mux_input(&M, c, out); }

static void test_guest_gets_everything_but_the_prefix(void **state)
{
    u8 o = 0;
    for (int c = 0; c < 256; c++) {
        if (c == MUX_PREFIX_KEY)
            continue;
        assert_int_equal(in((u8)c, &o), MUX_GUEST_BYTE);
        assert_int_equal(o, c);
    }
    assert_int_equal(in(MUX_PREFIX_KEY, &o), MUX_NONE);
    assert_int_equal(in(MUX_PREFIX_KEY, &o), MUX_GUEST_BYTE); /* Ctrl-] Ctrl-] sends one */
    assert_int_equal(o, MUX_PREFIX_KEY);
    assert_int_equal(in('x', &o), MUX_GUEST_BYTE); /* the prefix state was left */
}

static void test_keys(void **state)
{
    u8 o;
    in(MUX_PREFIX_KEY, &o);
    assert_int_equal(in('?', &o), MUX_KEY_HELP);
    assert_int_equal(M.mode, MUX_GUEST);
    in(MUX_PREFIX_KEY, &o);
    assert_int_equal(in('z', &o), MUX_NONE); /* unknown: dropped */
    assert_int_equal(in('z', &o), MUX_GUEST_BYTE);
    in(MUX_PREFIX_KEY, &o);
    assert_int_equal(in('c', &o), MUX_NONE); /* already the guest's */
    in(MUX_PREFIX_KEY, &o);
    assert_int_equal(in('s', &o), MUX_OPEN_SHELL);
    assert_int_equal(M.mode, MUX_SHELL);
    assert_int_equal(in('a', &o), MUX_SHELL_BYTE);
    assert_int_equal(o, 'a');
    in(MUX_PREFIX_KEY, &o);
    assert_int_equal(in(MUX_PREFIX_KEY, &o), MUX_NONE); /* the shell has no use for it */
    in(MUX_PREFIX_KEY, &o);
    assert_int_equal(in('S', &o), MUX_NONE); /* already open */
    in(MUX_PREFIX_KEY, &o);
    assert_int_equal(in('C', &o), MUX_CLOSE_SHELL);
    assert_int_equal(M.mode, MUX_GUEST);
    mux_open_shell(&M);
    assert_true(mux_close_shell(&M));
    assert_false(mux_close_shell(&M));
}

static void test_output_direct_held_full_in_order(void **state)
{
    u8 o, buf[16];
    assert_int_equal(mux_guest_output(&M, 'a'), MUX_OUT_DIRECT);
    in(MUX_PREFIX_KEY, &o);
    in('s', &o);
    for (int i = 0; i < 8; i++)
        assert_int_equal(mux_guest_output(&M, (u8)('0' + i)), MUX_OUT_HELD);
    assert_int_equal(mux_guest_output(&M, 'X'), MUX_OUT_FULL); /* paused, not lost */
    assert_int_equal(mux_held(&M), 8);
    assert_int_equal(mux_take_held(&M, buf, sizeof(buf)), 0); /* not while the shell has the line */
    mux_close_shell(&M);
    /* Held output drains first; new output queues behind it until the ring is empty. */
    assert_int_equal(mux_take_held(&M, buf, 3), 3);
    assert_memory_equal(buf, "012", 3);
    assert_int_equal(mux_guest_output(&M, 'X'), MUX_OUT_HELD);
    assert_int_equal(mux_take_held(&M, buf, sizeof(buf)), 6);
    assert_memory_equal(buf, "34567X", 6);
    assert_int_equal(mux_guest_output(&M, 'b'), MUX_OUT_DIRECT);
    assert_int_equal(M.held_total, 9);
    assert_int_equal(M.high_water, 8);
}

static void test_no_ring(void **state)
{
    struct console_mux m;
    mux_init(&m, NULL, 100);
    mux_open_shell(&m);
    assert_int_equal(mux_guest_output(&m, 'a'), MUX_OUT_FULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_guest_gets_everything_but_the_prefix, setup),
        cmocka_unit_test_setup(test_keys, setup),
        cmocka_unit_test_setup(test_output_direct_held_full_in_order, setup),
        cmocka_unit_test_setup(test_no_ring, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
