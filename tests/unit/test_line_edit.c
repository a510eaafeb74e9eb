/* UNIT-SOURCES: hv/console/line_edit.c */
/* The admin shell's line editor (hv/console/line_edit.c): echo, erase, kill, cancel, the three line ends,
 * history recall and its redraw, escape sequences (also split across feeds, overlong, interrupted),
 * ignored bytes and overlong lines. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "console/line_edit.h"

struct term {
    char out[8192];
    size_t n;
};

static void term_out(void *ctx, const char *s, size_t n)
{
    struct term *t = ctx;
    assert_true(t->n + n < sizeof(t->out));
    memcpy(t->out + t->n, s, n);
    t->n += n;
    t->out[t->n] = 0;
}

struct fixture {
    struct line_edit le;
    struct term t;
    int ready, cancelled, too_long;
};

/* Feeds s (len bytes); counts the statuses and returns the last non-NONE one (LINE_NONE if none). */
static enum line_status feed_n(struct fixture *f, const char *s, size_t len)
{
    enum line_status last = LINE_NONE;
    for (size_t i = 0; i < len; i++) {
        enum line_status st = line_edit_feed(&f->le, (u8)s[i], term_out, &f->t);
        f->ready += st == LINE_READY;
        f->cancelled += st == LINE_CANCELLED;
        f->too_long += st == LINE_TOO_LONG;
        if (st != LINE_NONE)
            last = st;
        assert_true(strlen(line_edit_line(&f->le)) <= LINE_EDIT_MAX);
    }
    return last;
}

static enum line_status feed(struct fixture *f, const char *s) { return feed_n(f, s, strlen(s)); }

static void reset_term(struct fixture *f)
{
    f->t.n = 0;
    f->t.out[0] = 0;
}

static struct fixture *fresh(void)
{
    static struct fixture f;
    memset(&f, 0, sizeof(f));
    line_edit_init(&f.le);
    return &f;
}

static void test_echo_and_submit(void **state)
{
    struct fixture *f = fresh();
    assert_int_equal(feed(f, "status"), LINE_NONE);
    assert_string_equal(f->t.out, "status");
    assert_string_equal(line_edit_line(&f->le), "status");
    assert_int_equal(feed(f, "\r"), LINE_READY);
    assert_string_equal(f->t.out, "status\r\n");
    assert_string_equal(line_edit_line(&f->le), "status");
    /* the next byte starts a new line */
    feed(f, "x");
    assert_string_equal(line_edit_line(&f->le), "x");
}

static void test_line_ends(void **state)
{
    struct fixture *f = fresh();
    /* CR LF is one line, LF alone is one, CR alone is one, LF CR is two */
    feed(f, "a\r\nb\nc\rd\n\r");
    assert_int_equal(f->ready, 5);
    f = fresh();
    feed(f, "a\r\n\r\n");
    assert_int_equal(f->ready, 2);
    /* only the LF right after the CR is swallowed */
    f = fresh();
    feed(f, "a\r\n\n");
    assert_int_equal(f->ready, 2);
    /* an empty line is still a line (the shell just prints the prompt again) */
    f = fresh();
    assert_int_equal(feed(f, "\r"), LINE_READY);
    assert_string_equal(line_edit_line(&f->le), "");
    /* CR, then a character: the character is kept */
    f = fresh();
    feed(f, "a\rb");
    assert_string_equal(line_edit_line(&f->le), "b");
    /* the LF after a CR that follows Ctrl-C is still swallowed, and a CR split from its LF by feeds */
    f = fresh();
    feed(f, "ab\r");
    assert_int_equal(feed(f, "\n"), LINE_NONE);
    assert_int_equal(f->ready, 1);
}

static void test_erase(void **state)
{
    struct fixture *f = fresh();
    feed(f, "abc\b");
    assert_string_equal(line_edit_line(&f->le), "ab");
    assert_string_equal(f->t.out, "abc\b \b");
    feed(f, "\x7f");
    assert_string_equal(line_edit_line(&f->le), "a");
    feed(f, "\x7f\x7f");
    assert_string_equal(line_edit_line(&f->le), "");
    /* erase on an empty line rings the bell and changes nothing */
    assert_int_equal(f->t.out[f->t.n - 1], '\a');
    feed(f, "xyz\x15");
    assert_string_equal(line_edit_line(&f->le), "");
    /* Ctrl-U: back over the line, blank it, back again */
    assert_non_null(strstr(f->t.out, "xyz\b\b\b   \b\b\b"));
    feed(f, "q\r");
    assert_string_equal(line_edit_line(&f->le), "q");
}

static void test_cancel(void **state)
{
    struct fixture *f = fresh();
    assert_int_equal(feed(f, "bind x\x03"), LINE_CANCELLED);
    assert_string_equal(f->t.out, "bind x^C\r\n");
    assert_string_equal(line_edit_line(&f->le), "");
    assert_int_equal(feed(f, "ok\r"), LINE_READY);
    assert_string_equal(line_edit_line(&f->le), "ok");
    /* a cancelled line is not in history: Up shows "ok", then bells */
    feed(f, "\x1b[A");
    assert_string_equal(line_edit_line(&f->le), "ok");
    reset_term(f);
    feed(f, "\x1b[A");
    assert_string_equal(f->t.out, "\a");
}

static void test_ignored_bytes(void **state)
{
    struct fixture *f = fresh();
    for (int b = 0; b < 256; b++) {
        if (b == '\r' || b == '\n' || b == 3 || b == 8 || b == 0x15 || b == 0x1b || b == 0x7f ||
            (b >= 0x20 && b < 0x7f))
            continue;
        u8 c = (u8)b;
        assert_int_equal(line_edit_feed(&f->le, c, term_out, &f->t), LINE_NONE);
    }
    assert_string_equal(line_edit_line(&f->le), "");
    assert_int_equal(f->t.n, 0); /* no echo at all, no bell */
    /* NUL, tab, 0x80-0xff between characters are dropped */
    feed_n(f,
           "a\0b\tc\x80\xff"
           "d",
           8);
    assert_string_equal(line_edit_line(&f->le), "abcd");
    /* every printable character is kept */
    f = fresh();
    char all[96];
    for (int i = 0; i < 95; i++)
        all[i] = (char)(0x20 + i);
    all[95] = 0;
    feed(f, all);
    assert_string_equal(line_edit_line(&f->le), all);
    assert_string_equal(f->t.out, all);
    /* NULL output callback: no echo, same behaviour */
    struct line_edit le;
    line_edit_init(&le);
    assert_int_equal(line_edit_feed(&le, 'a', NULL, NULL), LINE_NONE);
    assert_int_equal(line_edit_feed(&le, 0x1b, NULL, NULL), LINE_NONE);
    assert_int_equal(line_edit_feed(&le, '[', NULL, NULL), LINE_NONE);
    assert_int_equal(line_edit_feed(&le, 'A', NULL, NULL), LINE_NONE);
    assert_int_equal(line_edit_feed(&le, '\n', NULL, NULL), LINE_READY);
    assert_string_equal(line_edit_line(&le), "a");
}

static void test_history(void **state)
{
    struct fixture *f = fresh();
    feed(f, "one\rtwo\r\nthree\n");
    assert_int_equal(f->ready, 3);
    reset_term(f);
    feed(f, "ab");
    feed(f, "\x1b[A"); /* "ab" replaced by "three" */
    assert_string_equal(line_edit_line(&f->le), "three");
    assert_string_equal(f->t.out, "ab\b\bthree");
    reset_term(f);
    feed(f, "\x1bOA"); /* SS3 form: "two", the shorter line blanks the rest */
    assert_string_equal(line_edit_line(&f->le), "two");
    assert_string_equal(f->t.out, "\b\b\b\b\btwo  \b\b");
    feed(f, "\x1b[A");
    assert_string_equal(line_edit_line(&f->le), "one");
    reset_term(f);
    feed(f, "\x1b[A"); /* oldest: bell, unchanged */
    assert_string_equal(line_edit_line(&f->le), "one");
    assert_string_equal(f->t.out, "\a");
    feed(f, "\x1b[B\x1bOB");
    assert_string_equal(line_edit_line(&f->le), "three");
    feed(f, "\x1b[B"); /* past the newest: the line being typed comes back */
    assert_string_equal(line_edit_line(&f->le), "ab");
    reset_term(f);
    feed(f, "\x1b[B");
    assert_string_equal(f->t.out, "\a");
    assert_string_equal(line_edit_line(&f->le), "ab");
    /* a recalled line can be edited and submitted; it becomes the newest */
    feed(f, "\x15\x1b[A\x1b[A\bX\r");
    assert_string_equal(line_edit_line(&f->le), "twX");
    feed(f, "\x1b[A");
    assert_string_equal(line_edit_line(&f->le), "twX");
    feed(f, "\x1b[A");
    assert_string_equal(line_edit_line(&f->le), "three");
}

static void test_history_rules(void **state)
{
    struct fixture *f = fresh();
    /* no repeat of the newest, no empty or blank lines */
    feed(f, "a\ra\r\r   \ra\r");
    feed(f, "\x1b[A");
    assert_string_equal(line_edit_line(&f->le), "a");
    reset_term(f);
    feed(f, "\x1b[A");
    assert_string_equal(f->t.out, "\a");
    /* a repeat of an older one is entered again */
    f = fresh();
    feed(f, "a\rb\ra\r\x1b[A\x1b[A\x1b[A");
    assert_string_equal(line_edit_line(&f->le), "a");
    /* the ring keeps the newest LINE_EDIT_HISTORY lines */
    f = fresh();
    for (int i = 0; i < LINE_EDIT_HISTORY + 3; i++) {
        char l[8] = { 'c', (char)('a' + i), '\r', 0 };
        feed(f, l);
    }
    for (int i = 0; i < LINE_EDIT_HISTORY; i++)
        feed(f, "\x1b[A");
    char oldest[3] = { 'c', (char)('a' + 3), 0 };
    assert_string_equal(line_edit_line(&f->le), oldest);
    reset_term(f);
    feed(f, "\x1b[A");
    assert_string_equal(f->t.out, "\a");
    /* history survives line_edit_reset */
    line_edit_reset(&f->le);
    assert_string_equal(line_edit_line(&f->le), "");
    feed(f, "\x1b[A");
    char newest[3] = { 'c', (char)('a' + LINE_EDIT_HISTORY + 2), 0 };
    assert_string_equal(line_edit_line(&f->le), newest);
}

static void test_escape_sequences(void **state)
{
    struct fixture *f = fresh();
    feed(f, "hist\r");
    reset_term(f);
    /* CSI with parameters, other finals, ESC x, SS3 other than A/B: swallowed without echo */
    feed(f, "a\x1b[1;5C\x1b[1;5A\x1b[3~\x1b[C\x1b[D\x1bx\x1bOP\x1b[?25h\x1b[ q"
            "b");
    assert_string_equal(line_edit_line(&f->le), "ab");
    assert_string_equal(f->t.out, "ab");
    /* a sequence split across feeds, one byte at a time */
    line_edit_reset(&f->le);
    reset_term(f);
    line_edit_feed(&f->le, 0x1b, term_out, &f->t);
    line_edit_feed(&f->le, '[', term_out, &f->t);
    assert_int_equal(f->t.n, 0);
    line_edit_feed(&f->le, 'A', term_out, &f->t);
    assert_string_equal(line_edit_line(&f->le), "hist");
    /* ESC ESC [ A: the second ESC starts the sequence over (ESC then a control byte) */
    line_edit_reset(&f->le);
    feed(f, "\x1b\x1b[A");
    assert_string_equal(line_edit_line(&f->le), "hist");
    /* lone ESC then Enter: the Enter still submits, the ESC leaves no trace */
    line_edit_reset(&f->le);
    assert_int_equal(feed(f, "x\x1b\r"), LINE_READY);
    assert_string_equal(line_edit_line(&f->le), "x");
    /* Ctrl-C in the middle of a CSI cancels */
    assert_int_equal(feed(f, "y\x1b[1;\x03"), LINE_CANCELLED);
    /* DEL inside a sequence ends it and erases */
    feed(f, "yz\x1b[\x7f");
    assert_string_equal(line_edit_line(&f->le), "y");
    /* a byte >= 0x80 ends a sequence and is dropped, as are the bytes of the sequence */
    line_edit_reset(&f->le);
    feed(f, "\x1b[\xc3"
            "A");
    assert_string_equal(line_edit_line(&f->le), "A");
}

static void test_escape_bound(void **state)
{
    struct fixture *f = fresh();
    /* a CSI that never ends: after LINE_EDIT_ESC_MAX bytes (ESC included) it is dropped and the rest
     * is ordinary input, so the editor is never stuck in it */
    char seq[64];
    size_t n = 0;
    seq[n++] = 0x1b;
    seq[n++] = '[';
    while (n < LINE_EDIT_ESC_MAX)
        seq[n++] = '1';
    feed_n(f, seq, n);
    assert_string_equal(line_edit_line(&f->le), "");
    feed(f, "2345");
    assert_string_equal(line_edit_line(&f->le), "2345");
    /* one byte short of the bound: still a sequence, its final byte ends it silently */
    line_edit_reset(&f->le);
    feed_n(f, seq, LINE_EDIT_ESC_MAX - 1);
    feed(f, "A");
    assert_string_equal(line_edit_line(&f->le), "");
}

static void test_overlong(void **state)
{
    struct fixture *f = fresh();
    char l[LINE_EDIT_MAX + 2];
    memset(l, 'x', LINE_EDIT_MAX);
    l[LINE_EDIT_MAX] = 0;
    /* exactly the maximum is fine */
    feed(f, l);
    assert_int_equal(feed(f, "\r"), LINE_READY);
    assert_int_equal(strlen(line_edit_line(&f->le)), LINE_EDIT_MAX);
    /* one more: not stored, bell, LINE_TOO_LONG at Enter, not in history */
    f = fresh();
    feed(f, "short\r");
    feed(f, l);
    reset_term(f);
    feed(f, "yz");
    assert_string_equal(f->t.out, "\a\a");
    assert_int_equal(strlen(line_edit_line(&f->le)), LINE_EDIT_MAX);
    /* erasing does not make it acceptable: what was dropped is lost */
    feed(f, "\b\b\b");
    assert_int_equal(feed(f, "\r\n"), LINE_TOO_LONG);
    assert_int_equal(f->too_long, 1);
    assert_int_equal(f->ready, 1);
    feed(f, "\x1b[A");
    assert_string_equal(line_edit_line(&f->le), "short");
    /* the next line is fine again */
    line_edit_reset(&f->le);
    assert_int_equal(feed(f, "ok\r"), LINE_READY);
    /* Ctrl-U starts over: the flag goes */
    feed(f, l);
    assert_int_equal(feed(f, "zz\x15"
                             "fine\r"),
                     LINE_READY);
    assert_string_equal(line_edit_line(&f->le), "fine");
    assert_int_equal(f->too_long, 1);
    /* Up from an overlong line and back Down restores it with its flag */
    feed(f, l);
    feed(f, "z\x1b[A\x1b[B\r");
    assert_int_equal(f->too_long, 2);
    /* a recalled entry replaces an overlong line: it submits normally */
    feed(f, l);
    feed(f, "z\x1b[A");
    assert_int_equal(feed(f, "\r"), LINE_READY);
    assert_string_equal(line_edit_line(&f->le), "fine");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_echo_and_submit), cmocka_unit_test(test_line_ends),
        cmocka_unit_test(test_erase),           cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_ignored_bytes),   cmocka_unit_test(test_history),
        cmocka_unit_test(test_history_rules),   cmocka_unit_test(test_escape_sequences),
        cmocka_unit_test(test_escape_bound),    cmocka_unit_test(test_overlong),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
