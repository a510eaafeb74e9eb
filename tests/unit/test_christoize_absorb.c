/* UNIT-SOURCES: christoize/absorb.c christoize/analysis.c christoize/elfobj.c */
/* UNIT-LIBS: -lelf */
/* christoize's absorption checks (christoize/absorb.c) on fixture objects compiled at test time
 * with plain gcc -c from tests/fixtures/christoize/absorb/ (no kernel headers, well under a second):
 * a clean leaf implementation is accepted; a non-leaf (an undeclared call), a lock and an atomic,
 * per-CPU and undeclared kernel data, its own state plus an indirect call plus cli, and an
 * out-of-line helper are each rejected with the reason; an object without a record is no
 * implementation at all. The candidate table for a fixture module calling a leaf and a non-leaf,
 * and the list file's parser. Run from the top of the tree (run-all.sh does). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "christoize/absorb.h"
#include "christoize/analysis.h"
#include "christoize/elfobj.h"

static char outdir[256];

static const char *obj(const char *name)
{
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof(buf[k]), "%s/%s.o", outdir, name);
    return buf[k];
}

static int setup(void **state)
{
    (void)state;
    const char *tmp = getenv("TMPDIR");
    snprintf(outdir, sizeof(outdir), "%s/christoize-absorb-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(outdir))
        return -1;
    static const char *const names[] = { "leaf", "calls", "locks", "percpu", "state", "helper", "norecord", "module" };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char cmd[1024];
        snprintf(cmd, sizeof(cmd),
                 "gcc -O2 -fno-pie -fno-stack-protector -fcf-protection=none -Ichristoize/absorb "
                 "-c tests/fixtures/christoize/absorb/%s.c -o %s",
                 names[i], obj(names[i]));
        if (system(cmd) != 0) {
            fprintf(stderr, "fixture %s did not compile\n", names[i]);
            return -1;
        }
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", outdir);
    return system(cmd) == 0 ? 0 : -1;
}

static int has_reason(const struct ab_impl *im, const char *needle)
{
    for (size_t i = 0; i < im->nreasons; i++)
        if (strstr(im->reasons[i], needle))
            return 1;
    return 0;
}

static void check(const char *name, struct ab_impl *im)
{
    char err[1024];
    if (ab_check(obj(name), im, err, sizeof(err)))
        fail_msg("ab_check(%s): %s", name, err);
    assert_string_equal(im->func, "fake_put");
}

static void test_leaf_accepted(void **state)
{
    (void)state;
    struct ab_impl im;
    check("leaf", &im);
    assert_int_equal(im.nreasons, 0);
    assert_int_equal(im.ncalls, 1);
    assert_string_equal(im.calls[0], "fake_put"); /* its slow path, declared */
    assert_int_equal(im.ndata, 1);
    assert_string_equal(im.data[0], "fake_boot_constant");
    ab_free(&im);
}

static void test_non_leaf_rejected(void **state)
{
    (void)state;
    struct ab_impl im;
    check("calls", &im);
    assert_int_equal(im.nreasons, 1);
    assert_true(has_reason(&im, "calls fake_alloc, which its record does not declare"));
    ab_free(&im);
}

static void test_lock_and_atomic_rejected(void **state)
{
    (void)state;
    struct ab_impl im;
    check("locks", &im);
    assert_true(has_reason(&im, "takes a lock (calls _raw_spin_lock)"));
    assert_true(has_reason(&im, "declares a lock-taking exit, _raw_spin_lock"));
    assert_true(has_reason(&im, "executes an atomic instruction at christo_absorbed_fake_put+"));
    ab_free(&im);
}

static void test_percpu_and_kernel_data_rejected(void **state)
{
    (void)state;
    struct ab_impl im;
    check("percpu", &im);
    assert_true(has_reason(&im, "touches per-CPU data at christo_absorbed_fake_put+"));
    assert_true(has_reason(&im, "touches kernel data jiffies"));
    ab_free(&im);
}

static void test_state_indirect_cli_rejected(void **state)
{
    (void)state;
    struct ab_impl im;
    check("state", &im);
    assert_true(has_reason(&im, "keeps writable data of its own (.bss"));
    assert_true(has_reason(&im, "calls or jumps indirectly"));
    assert_true(has_reason(&im, "executes cli"));
    ab_free(&im);
}

static void test_helper_rejected(void **state)
{
    (void)state;
    struct ab_impl im;
    check("helper", &im);
    assert_true(has_reason(&im, "defines another function, twice"));
    ab_free(&im);
}

static void test_no_record(void **state)
{
    (void)state;
    struct ab_impl im;
    char err[1024];
    assert_int_equal(ab_check(obj("norecord"), &im, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "no CHRISTO_ABSORB record"));
    assert_int_equal(ab_check(obj("missing"), &im, err, sizeof(err)), -1);
}

/* The table for a module calling fake_put (a leaf with an implementation), fake_alloc (none) and
 * _raw_spin_lock: absorbed when listed, absorbable when not, and the others say why. */
static void test_candidate_table(void **state)
{
    (void)state;
    char err[1024];
    struct co_object o;
    struct ca_result r;
    assert_int_equal(co_open(obj("module"), &o, err, sizeof(err)), CO_OK);
    assert_int_equal(ca_analyze(&o, &r, err, sizeof(err)), 0);
    assert_int_equal(r.nexits, 3);
    struct ab_impl im[2];
    check("leaf", &im[0]);
    check("calls", &im[1]);
    char *listed[] = { "fake_put" };
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ab_report(f, &r, im, 1, listed, 1);
    fclose(f);
    assert_non_null(strstr(buf, "fake_put                             2  absorbed; slow path calls fake_put; reads "
                                "fake_boot_constant\n"));
    assert_non_null(strstr(buf, "fake_alloc                           1  no implementation\n"));
    assert_non_null(strstr(buf, "_raw_spin_lock                       1  no implementation\n"));
    free(buf);
    f = open_memstream(&buf, &len);
    ab_report(f, &r, im + 1, 1, NULL, 0); /* the non-leaf implementation, not listed */
    fclose(f);
    assert_non_null(strstr(buf, "fake_put                             2  rejected: calls fake_alloc"));
    free(buf);
    f = open_memstream(&buf, &len);
    ab_report(f, &r, im, 1, NULL, 0);
    fclose(f);
    assert_non_null(strstr(buf, "absorbable (not in the list)"));
    free(buf);
    ab_free(&im[0]);
    ab_free(&im[1]);
    ca_free(&r);
    co_close(&o);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_list_file(void **state)
{
    (void)state;
    char path[600], err[1024], **names;
    size_t n;
    snprintf(path, sizeof(path), "%s/list", outdir);
    write_file(path, "# chosen\nskb_put\n\n  eth_type_trans   # the common case\n");
    assert_int_equal(ab_read_list(path, &names, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 2);
    assert_string_equal(names[0], "skb_put");
    assert_string_equal(names[1], "eth_type_trans");
    ab_free_list(names, n);
    write_file(path, "skb_put\nskb_put\n");
    assert_int_equal(ab_read_list(path, &names, &n, err, sizeof(err)), -1);
    assert_non_null(strstr(err, ":2: skb_put listed twice"));
    write_file(path, "skb_put eth_type_trans\n");
    assert_int_equal(ab_read_list(path, &names, &n, err, sizeof(err)), -1);
    assert_non_null(strstr(err, ":1: expected one kernel function name per line"));
    write_file(path, "skb-put\n");
    assert_int_equal(ab_read_list(path, &names, &n, err, sizeof(err)), -1);
}

static void test_lock_names(void **state)
{
    (void)state;
    assert_true(ab_is_lock_function("_raw_spin_lock_irqsave"));
    assert_true(ab_is_lock_function("mutex_lock"));
    assert_true(ab_is_lock_function("down_read"));
    assert_true(ab_is_lock_function("up"));
    assert_false(ab_is_lock_function("skb_put"));
    assert_false(ab_is_lock_function("update_stats")); /* "up" only as a whole name or up_ */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_leaf_accepted),
        cmocka_unit_test(test_non_leaf_rejected),
        cmocka_unit_test(test_lock_and_atomic_rejected),
        cmocka_unit_test(test_percpu_and_kernel_data_rejected),
        cmocka_unit_test(test_state_indirect_cli_rejected),
        cmocka_unit_test(test_helper_rejected),
        cmocka_unit_test(test_no_record),
        cmocka_unit_test(test_candidate_table),
        cmocka_unit_test(test_list_file),
        cmocka_unit_test(test_lock_names),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
