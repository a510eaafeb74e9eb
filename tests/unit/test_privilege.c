/* UNIT-SOURCES: hv/guard/privilege.c */
/* The privilege registry (hv/guard/privilege.c): registration errors, lookups, O(1) raise/lower by
 * handle and by name, activation counting, and the `test` privilege component. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "guard/privilege.h"

struct fake {
    int inits, deinits;
    int fail_init;
    u32 mask;
    char ops[64];
    unsigned nops;
};

static int fake_init(void *s)
{
    struct fake *f = s;
    f->inits++;
    f->ops[f->nops++] = 'I';
    return f->fail_init ? -1 : 0;
}
static void fake_deinit(void *s)
{
    struct fake *f = s;
    f->deinits++;
    f->ops[f->nops++] = 'D';
}
static void fake_raise(u32 v, void *s)
{
    struct fake *f = s;
    f->mask |= 1u << v;
    f->ops[f->nops++] = (char)('A' + v);
}
static void fake_lower(u32 v, void *s)
{
    struct fake *f = s;
    f->mask &= ~(1u << v);
    f->ops[f->nops++] = (char)('a' + v);
}
static const struct privilege_ops fake_ops = { fake_init, fake_deinit, fake_raise, fake_lower };
static const struct privilege_ops bare_ops = { NULL, NULL, fake_raise, fake_lower };

static void test_register_and_lookup(void **state)
{
    struct privilege_registry r;
    struct fake a = { 0 }, b = { 0 };
    privilege_registry_init(&r);
    assert_int_equal(privilege_register(&r, "nic", &fake_ops, &a), 0);
    assert_int_equal(privilege_register(&r, "test", &fake_ops, &b), 1);
    assert_int_equal(privilege_lookup(&r, "nic"), 0);
    assert_int_equal(privilege_lookup(&r, "test"), 1);
    assert_int_equal(privilege_lookup(&r, "nope"), PRIV_ENOENT);
    assert_int_equal(privilege_lookup(&r, "ni"), PRIV_ENOENT);
    assert_string_equal(privilege_name(&r, 1), "test");
    assert_string_equal(privilege_name(&r, 7), "?");
    /* registration calls no callback */
    assert_int_equal(a.nops, 0);
}

static void test_register_errors(void **state)
{
    struct privilege_registry r;
    struct fake a = { 0 };
    char longname[PRIV_NAME_MAX + 1];
    memset(longname, 'x', sizeof(longname) - 1);
    longname[PRIV_NAME_MAX] = 0;
    privilege_registry_init(&r);
    assert_int_equal(privilege_register(&r, NULL, &fake_ops, &a), PRIV_EINVAL);
    assert_int_equal(privilege_register(&r, "", &fake_ops, &a), PRIV_EINVAL);
    assert_int_equal(privilege_register(&r, longname, &fake_ops, &a), PRIV_EINVAL);
    longname[PRIV_NAME_MAX - 1] = 0; /* 31 characters: the longest allowed */
    assert_int_equal(privilege_register(&r, longname, &fake_ops, &a), 0);
    assert_int_equal(privilege_register(&r, "x", NULL, &a), PRIV_EINVAL);
    struct privilege_ops no_raise = { NULL, NULL, NULL, fake_lower };
    struct privilege_ops no_lower = { NULL, NULL, fake_raise, NULL };
    assert_int_equal(privilege_register(&r, "x", &no_raise, &a), PRIV_EINVAL);
    assert_int_equal(privilege_register(&r, "x", &no_lower, &a), PRIV_EINVAL);
    assert_int_equal(privilege_register(&r, longname, &fake_ops, &a), PRIV_EEXIST);
    for (int i = 1; i < PRIV_MAX; i++) {
        char n[8] = { 'p', (char)('0' + i), 0 };
        assert_int_equal(privilege_register(&r, n, &bare_ops, &a), i);
    }
    assert_int_equal(privilege_register(&r, "one-more", &fake_ops, &a), PRIV_EFULL);
    /* a duplicate on a full table is still reported as a duplicate */
    assert_int_equal(privilege_register(&r, "p1", &fake_ops, &a), PRIV_EEXIST);
    assert_int_equal(r.count, PRIV_MAX);
    assert_string_equal(privilege_strerror(PRIV_EFULL), "privilege table full");
    assert_string_equal(privilege_strerror(PRIV_EEXIST), "privilege name already registered");
    assert_string_equal(privilege_strerror(-99), "unknown error");
}

static void test_raise_lower(void **state)
{
    struct privilege_registry r;
    struct fake a = { 0 };
    privilege_registry_init(&r);
    int h = privilege_register(&r, "nic", &fake_ops, &a);
    assert_int_equal(privilege_raise(&r, h, 1), PRIV_OK);
    assert_int_equal(privilege_raise(&r, h, 1), PRIV_OK); /* idempotent: one callback */
    assert_true(privilege_is_raised(&r, h, 1));
    assert_false(privilege_is_raised(&r, h, 0));
    assert_int_equal(privilege_raise(&r, h, 3), PRIV_OK);
    assert_int_equal(privilege_lower(&r, h, 1), PRIV_OK);
    assert_int_equal(privilege_lower(&r, h, 1), PRIV_OK);
    assert_int_equal(privilege_lower(&r, h, 0), PRIV_OK); /* never raised: no callback */
    assert_int_equal(a.nops, 3);
    assert_memory_equal(a.ops, "BDb", 3);
    assert_int_equal(a.mask, 1u << 3);
    assert_int_equal(r.e[h].raises, 2);
    assert_int_equal(r.e[h].lowers, 1);
    assert_int_equal(privilege_raise(&r, h, PRIV_MAX_VCPUS), PRIV_EVCPU);
    assert_int_equal(privilege_lower(&r, h, 99), PRIV_EVCPU);
    assert_int_equal(privilege_raise(&r, 5, 0), PRIV_EINVAL);
    assert_int_equal(privilege_raise(&r, -1, 0), PRIV_EINVAL);
    assert_false(privilege_is_raised(&r, 5, 0));
    assert_false(privilege_is_raised(&r, h, 99));
    /* by name */
    assert_int_equal(privilege_raise_by_name(&r, "nic", 0), PRIV_OK);
    assert_true(privilege_is_raised(&r, h, 0));
    assert_int_equal(privilege_lower_by_name(&r, "nic", 0), PRIV_OK);
    assert_false(privilege_is_raised(&r, h, 0));
    assert_int_equal(privilege_raise_by_name(&r, "disk", 0), PRIV_ENOENT);
    assert_int_equal(privilege_lower_by_name(&r, "", 0), PRIV_EINVAL);
}

static void test_activation(void **state)
{
    struct privilege_registry r;
    struct fake a = { 0 };
    privilege_registry_init(&r);
    int h = privilege_register(&r, "nic", &fake_ops, &a);
    assert_int_equal(privilege_deactivate(&r, h), PRIV_EINVAL); /* not active */
    assert_int_equal(privilege_activate(&r, h), PRIV_OK);
    assert_int_equal(privilege_activate(&r, h), PRIV_OK); /* second user: no second init */
    assert_int_equal(a.inits, 1);
    privilege_raise(&r, h, 0);
    privilege_raise(&r, h, 2);
    assert_int_equal(privilege_deactivate(&r, h), PRIV_OK); /* one user left: nothing lowered */
    assert_int_equal(a.mask, 0x5);
    assert_int_equal(a.deinits, 0);
    assert_int_equal(privilege_deactivate(&r, h), PRIV_OK); /* last: lower everyone, then deinit */
    assert_int_equal(a.mask, 0);
    assert_int_equal(a.deinits, 1);
    assert_memory_equal(a.ops, "IACacD", 6);
    assert_int_equal(privilege_activate(&r, 9), PRIV_EINVAL);

    a.fail_init = 1;
    assert_int_equal(privilege_activate(&r, h), PRIV_EINIT);
    assert_int_equal(r.e[h].active, 0);
    assert_int_equal(privilege_deactivate(&r, h), PRIV_EINVAL);

    /* components without init/deinit */
    int h2 = privilege_register(&r, "bare", &bare_ops, &a);
    assert_int_equal(privilege_activate(&r, h2), PRIV_OK);
    assert_int_equal(privilege_deactivate(&r, h2), PRIV_OK);
}

static void test_test_component(void **state)
{
    struct privilege_registry r;
    struct privilege_test_stats st;
    privilege_registry_init(&r);
    privilege_test_reset();
    int h = privilege_test_register(&r);
    assert_true(h >= 0);
    assert_int_equal(privilege_test_register(&r), PRIV_EEXIST);
    assert_int_equal(privilege_lookup(&r, PRIV_TEST_NAME), h);
    for (u32 v = 0; v < PRIV_MAX_VCPUS + 2; v++)
        assert_false(privilege_test_is_raised(v));
    assert_int_equal(privilege_activate(&r, h), PRIV_OK);
    privilege_raise(&r, h, 2);
    assert_true(privilege_test_is_raised(2));
    assert_false(privilege_test_is_raised(0));
    assert_false(privilege_test_is_raised(PRIV_MAX_VCPUS));
    privilege_test_stats(&st);
    assert_true(st.initialized);
    assert_int_equal(st.raises, 1);
    assert_int_equal(st.raised_mask, 1u << 2);
    assert_int_equal(privilege_deactivate(&r, h), PRIV_OK);
    assert_false(privilege_test_is_raised(2));
    privilege_test_stats(&st);
    assert_false(st.initialized);
    assert_int_equal(st.lowers, 1);
    assert_int_equal(st.inits, 1);
    assert_int_equal(st.deinits, 1);
}

/* The administrator's bind to a name nobody registered: the name and every name offered. */
static void test_unknown_why(void **state)
{
    struct privilege_registry r;
    struct fake a = { 0 };
    char why[PRIV_WHY_MAX], small[40];

    privilege_registry_init(&r);
    privilege_unknown_why(&r, "nicc", why, sizeof(why));
    assert_string_equal(why, "no component offers privilege 'nicc' (offered: none)");
    privilege_unknown_why(NULL, "nicc", why, sizeof(why));
    assert_string_equal(why, "no component offers privilege 'nicc' (offered: none)");
    assert_int_equal(privilege_register(&r, "nic", &fake_ops, &a), 0);
    assert_int_equal(privilege_register(&r, "test", &bare_ops, &a), 1);
    assert_int_equal(privilege_register(&r, "idle", &bare_ops, &a), 2);
    privilege_unknown_why(&r, "nicc", why, sizeof(why));
    assert_string_equal(why, "no component offers privilege 'nicc' (offered: nic, test, idle)");

    /* A long name is cut at PRIV_NAME_MAX - 1; a full table fits PRIV_WHY_MAX. */
    char name[PRIV_NAME_MAX + 1];
    for (u32 i = 3; i < PRIV_MAX; i++) {
        memset(name, 'a' + i, PRIV_NAME_MAX - 1);
        name[PRIV_NAME_MAX - 1] = 0;
        assert_true(privilege_register(&r, name, &bare_ops, &a) >= 0);
    }
    memset(name, 'z', PRIV_NAME_MAX);
    name[PRIV_NAME_MAX] = 0;
    privilege_unknown_why(&r, name, why, sizeof(why));
    assert_int_equal(strlen(why), strlen("no component offers privilege '' (offered: nic, test, idle") +
                                      (PRIV_NAME_MAX - 1) + (PRIV_MAX - 3) * (2 + PRIV_NAME_MAX - 1) + 1);
    assert_int_equal(why[strlen(why) - 1], ')');
    /* A small buffer holds the start, NUL-terminated. */
    memset(small, 'X', sizeof(small));
    privilege_unknown_why(&r, "nicc", small, sizeof(small));
    assert_int_equal(strlen(small), sizeof(small) - 1);
    assert_memory_equal(small, "no component offers privilege 'n", sizeof(small) - 8);
    privilege_unknown_why(&r, "nicc", small, 0); /* nothing written, no crash */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_register_and_lookup), cmocka_unit_test(test_register_errors),
        cmocka_unit_test(test_raise_lower),         cmocka_unit_test(test_activation),
        cmocka_unit_test(test_test_component),      cmocka_unit_test(test_unknown_why),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
