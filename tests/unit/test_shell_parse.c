/* UNIT-SOURCES: hv/console/shell_parse.c hv/lib/fmt.c */
/* The admin shell's command line (hv/console/shell_parse.c): splitting at blanks, the word limit, exact-name
 * dispatch, every argument-count message, long and unprintable words in messages, small error
 * buffers, and the help text's alignment. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "console/shell_parse.h"

struct calls {
    int n;
    int argc;
    char words[SHELL_MAX_ARGS][64];
    const char *which;
};

static void record(struct calls *c, const char *which, int argc, char **argv)
{
    c->n++;
    c->which = which;
    c->argc = argc;
    for (int i = 0; i < argc && i < SHELL_MAX_ARGS; i++) {
        strncpy(c->words[i], argv[i], sizeof(c->words[i]) - 1);
        c->words[i][sizeof(c->words[i]) - 1] = 0;
    }
}
static void run_status(void *ctx, int argc, char **argv) { record(ctx, "status", argc, argv); }
static void run_bind(void *ctx, int argc, char **argv) { record(ctx, "bind", argc, argv); }
static void run_log(void *ctx, int argc, char **argv) { record(ctx, "log", argc, argv); }
static void run_echo(void *ctx, int argc, char **argv) { record(ctx, "echo", argc, argv); }
static void run_one(void *ctx, int argc, char **argv) { record(ctx, "unbind", argc, argv); }
static void run_statusx(void *ctx, int argc, char **argv) { record(ctx, "statusx", argc, argv); }

static const struct shell_cmd cmds[] = {
    { "status", "", "CPU, virtualization, IOMMU, guest state, uptime", 0, 0, run_status },
    { "bind", "MODULE PRIVILEGE", "let MODULE hold PRIVILEGE", 2, 2, run_bind },
    { "log", "[N]", "the last N suspicious events", 0, 1, run_log },
    { "echo", "WORD...", "print the words", 1, 7, run_echo },
    { "unbind", "MODULE", "take every privilege from MODULE", 1, 1, run_one },
    { "statusx", NULL, "a command whose name extends another's", 0, 0, run_statusx },
};
#define N ARRAY_SIZE(cmds)

static int dispatch(const char *text, struct calls *c, char *err, size_t errsz)
{
    static char line[512];
    strncpy(line, text, sizeof(line) - 1);
    return shell_dispatch(cmds, N, line, c, err, errsz);
}

static void test_split(void **state)
{
    char line[128], *argv[SHELL_MAX_ARGS], err[SHELL_ERR_MAX];
    strcpy(line, "  bind\te1000  nic\t ");
    assert_int_equal(shell_split(line, argv, SHELL_MAX_ARGS, err, sizeof(err)), 3);
    assert_string_equal(argv[0], "bind");
    assert_string_equal(argv[1], "e1000");
    assert_string_equal(argv[2], "nic");
    assert_string_equal(err, "");
    strcpy(line, "");
    assert_int_equal(shell_split(line, argv, SHELL_MAX_ARGS, err, sizeof(err)), 0);
    strcpy(line, " \t  ");
    assert_int_equal(shell_split(line, argv, SHELL_MAX_ARGS, err, sizeof(err)), 0);
    strcpy(line, "x");
    assert_int_equal(shell_split(line, argv, SHELL_MAX_ARGS, err, sizeof(err)), 1);
    assert_string_equal(argv[0], "x");
    /* exactly the maximum, then one more (trailing blanks do not count as a word) */
    strcpy(line, "1 2 3 4 5 6 7 8   ");
    assert_int_equal(shell_split(line, argv, SHELL_MAX_ARGS, err, sizeof(err)), 8);
    assert_string_equal(argv[7], "8");
    strcpy(line, "1 2 3 4 5 6 7 8 9");
    assert_int_equal(shell_split(line, argv, SHELL_MAX_ARGS, err, sizeof(err)), -1);
    assert_string_equal(err, "too many words (at most 8)");
    strcpy(line, "a b c");
    assert_int_equal(shell_split(line, argv, 2, err, sizeof(err)), -1);
    assert_string_equal(err, "too many words (at most 2)");
    /* other control characters are not blanks: they stay in the word */
    strcpy(line, "a\rb c");
    assert_int_equal(shell_split(line, argv, SHELL_MAX_ARGS, NULL, 0), 2);
    assert_string_equal(argv[0], "a\rb");
}

static void test_dispatch(void **state)
{
    struct calls c = { 0 };
    char err[SHELL_ERR_MAX];
    assert_int_equal(dispatch("status", &c, err, sizeof(err)), 0);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.which, "status");
    assert_int_equal(c.argc, 1);
    assert_int_equal(dispatch("  bind  e1000 nic ", &c, err, sizeof(err)), 0);
    assert_string_equal(c.which, "bind");
    assert_int_equal(c.argc, 3);
    assert_string_equal(c.words[1], "e1000");
    assert_string_equal(c.words[2], "nic");
    assert_int_equal(dispatch("log", &c, err, sizeof(err)), 0);
    assert_int_equal(dispatch("log 5", &c, err, sizeof(err)), 0);
    assert_int_equal(c.argc, 2);
    assert_int_equal(dispatch("echo 1 2 3 4 5 6 7", &c, err, sizeof(err)), 0);
    assert_int_equal(c.argc, 8);
    assert_string_equal(c.words[7], "7");
    /* exact names: a longer name is its own command, a prefix is not one */
    assert_int_equal(dispatch("statusx", &c, err, sizeof(err)), 0);
    assert_string_equal(c.which, "statusx");
    assert_int_equal(c.n, 6);
    /* a blank line runs nothing and is no error */
    assert_int_equal(dispatch("   ", &c, err, sizeof(err)), 0);
    assert_int_equal(c.n, 6);
    /* a NULL run is allowed (the table may hold placeholders) */
    static const struct shell_cmd bare[] = { { "nop", "", "nothing", 0, 0, NULL } };
    char l[] = "nop";
    assert_int_equal(shell_dispatch(bare, 1, l, NULL, err, sizeof(err)), 0);
    assert_non_null(shell_find(cmds, N, "bind"));
    assert_null(shell_find(cmds, N, "bin"));
    assert_null(shell_find(cmds, N, "BIND"));
}

#define REFUSED(text, msg)                                                                                             \
    do {                                                                                                               \
        int before = c.n;                                                                                              \
        assert_int_equal(dispatch(text, &c, err, sizeof(err)), -1);                                                    \
        assert_string_equal(err, msg);                                                                                 \
        assert_int_equal(c.n, before);                                                                                 \
    } while (0)

static void test_errors(void **state)
{
    struct calls c = { 0 };
    char err[SHELL_ERR_MAX];
    REFUSED("xyz", "unknown command 'xyz' (type help)");
    REFUSED("stat", "unknown command 'stat' (type help)");
    REFUSED("Status", "unknown command 'Status' (type help)");
    REFUSED("status now", "'status' takes no arguments");
    REFUSED("statusx 1 2", "'statusx' takes no arguments");
    REFUSED("bind", "'bind' needs 2 arguments: bind MODULE PRIVILEGE");
    REFUSED("bind e1000", "'bind' needs 2 arguments: bind MODULE PRIVILEGE");
    REFUSED("bind e1000 nic extra", "'bind' needs 2 arguments: bind MODULE PRIVILEGE");
    REFUSED("unbind", "'unbind' needs 1 argument: unbind MODULE");
    REFUSED("log 1 2", "'log' takes at most 1 argument: log [N]");
    REFUSED("echo", "'echo' needs at least 1 argument: echo WORD...");
    REFUSED("echo 1 2 3 4 5 6 7 8", "too many words (at most 8)");
    REFUSED("nope 1 2 3 4 5 6 7 8", "too many words (at most 8)");
}

static void test_error_words(void **state)
{
    struct calls c = { 0 };
    char err[SHELL_ERR_MAX], line[512];
    /* a very long word: its first 32 characters and "..." */
    memset(line, 'w', 300);
    line[300] = 0;
    REFUSED(line, "unknown command 'wwwwwwwwwwwwwwwwwwwwwwwwwwwwwwww...' (type help)");
    /* 32 characters exactly: shown whole */
    line[32] = 0;
    REFUSED(line, "unknown command 'wwwwwwwwwwwwwwwwwwwwwwwwwwwwwwww' (type help)");
    line[33] = 0;
    line[32] = 'w';
    REFUSED(line, "unknown command 'wwwwwwwwwwwwwwwwwwwwwwwwwwwwwwww...' (type help)");
    /* unprintable bytes in the word come out as '?' */
    REFUSED("a\x1b[2Jb\x7f\xff", "unknown command 'a?[2Jb?"
                                 "?' (type help)");
    /* every message fits SHELL_ERR_MAX: the longest word, the longest usage */
    static const struct shell_cmd wide[] = { { "abcdefghijklmnopqrstuvwxyzabcdef",
                                               "ARGUMENT-ONE ARGUMENT-TWO ARGUMENT-THREE ARGUMENT-FOUR", "h", 4, 4,
                                               NULL } };
    char l2[] = "abcdefghijklmnopqrstuvwxyzabcdef";
    assert_int_equal(shell_dispatch(wide, 1, l2, NULL, err, sizeof(err)), -1);
    assert_string_equal(err, "'abcdefghijklmnopqrstuvwxyzabcdef' needs 4 arguments: abcdefghijklmnopqrstuvwxyzabcdef "
                             "ARGUMENT-ONE ARGUMENT-TWO ARGUMENT-THREE ARGUMENT-FOUR");
}

static void test_small_err_buffers(void **state)
{
    struct calls c = { 0 };
    char err[16];
    memset(err, 'Z', sizeof(err));
    assert_int_equal(dispatch("xyz", &c, err, 5), -1);
    assert_string_equal(err, "unkn");
    assert_int_equal(err[5], 'Z');
    assert_int_equal(dispatch("xyz", &c, err, 1), -1);
    assert_string_equal(err, "");
    assert_int_equal(dispatch("xyz", &c, NULL, 0), -1);
    assert_int_equal(dispatch("bind", &c, NULL, 0), -1);
    assert_int_equal(dispatch("1 2 3 4 5 6 7 8 9", &c, NULL, 0), -1);
    /* success leaves an empty message */
    char big[SHELL_ERR_MAX] = "stale";
    assert_int_equal(dispatch("status", &c, big, sizeof(big)), 0);
    assert_string_equal(big, "");
}

struct text {
    char s[2048];
    size_t n;
};
static void text_out(void *ctx, const char *s, size_t n)
{
    struct text *t = ctx;
    assert_true(t->n + n < sizeof(t->s));
    memcpy(t->s + t->n, s, n);
    t->n += n;
    t->s[t->n] = 0;
}

static void test_help(void **state)
{
    struct text t = { .n = 0 };
    shell_help(cmds, N, text_out, &t);
    /* the widest "name ARGS" is "bind MODULE PRIVILEGE" (21): every help text starts at column 23 */
    assert_string_equal(t.s, "status                 CPU, virtualization, IOMMU, guest state, uptime\n"
                             "bind MODULE PRIVILEGE  let MODULE hold PRIVILEGE\n"
                             "log [N]                the last N suspicious events\n"
                             "echo WORD...           print the words\n"
                             "unbind MODULE          take every privilege from MODULE\n"
                             "statusx                a command whose name extends another's\n");
    char err[SHELL_ERR_MAX];
    t.n = 0;
    assert_int_equal(shell_help_one(cmds, N, "bind", text_out, &t, err, sizeof(err)), 0);
    assert_string_equal(t.s, "bind MODULE PRIVILEGE  let MODULE hold PRIVILEGE\n");
    t.n = 0;
    t.s[0] = 0;
    assert_int_equal(shell_help_one(cmds, N, "bin", text_out, &t, err, sizeof(err)), -1);
    assert_string_equal(err, "unknown command 'bin' (type help)");
    assert_int_equal(t.n, 0);
    /* a usage wider than the 40-column cap is not padded and does not widen the others */
    static const struct shell_cmd wide[] = {
        { "a", "", "first", 0, 0, NULL },
        { "b", "AN-ARGUMENT-LIST-MUCH-WIDER-THAN-FORTY-COLUMNS", "second", 0, 0, NULL },
        { "cc", "X", "third", 0, 0, NULL },
    };
    t.n = 0;
    shell_help(wide, 3, text_out, &t);
    assert_string_equal(t.s, "a     first\n"
                             "b AN-ARGUMENT-LIST-MUCH-WIDER-THAN-FORTY-COLUMNS  second\n"
                             "cc X  third\n");
    /* NULL output: nothing happens */
    shell_help(cmds, N, NULL, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split),       cmocka_unit_test(test_dispatch),          cmocka_unit_test(test_errors),
        cmocka_unit_test(test_error_words), cmocka_unit_test(test_small_err_buffers), cmocka_unit_test(test_help),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
