/* UNIT-SOURCES: hv/console/paste.c hv/console/shell_parse.c hv/lib/fmt.c */
/* UNIT-LIBS: -lmbedcrypto */
/* The paste decoder (hv/console/paste.c): argument checks, RFC 4648 vectors, 1/2/3-byte tails, groups split
 * across lines, blanks, padding rules, size and checksum checks, every error message, the swallowing
 * of a failed block up to its "end", and a round trip of random files in the form
 * tools/gmeta-paste.sh writes. SHA-256 is the host's mbedTLS. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <mbedtls/sha256.h>

#include "console/paste.h"

static void host_sha256(const void *data, u64 len, u8 out[32])
{
    assert_int_equal(mbedtls_sha256_ret(data, (size_t)len, out, 0), 0);
}

/* First 16 hex digits of the SHA-256 of data. */
static void sum_of(const void *data, size_t len, char out[17])
{
    u8 d[32];
    host_sha256(data, len, d);
    for (int i = 0; i < 8; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}

static size_t b64(const u8 *in, size_t n, char *out)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        u32 v = (u32)in[i] << 16 | (i + 1 < n ? (u32)in[i + 1] << 8 : 0) | (i + 2 < n ? in[i + 2] : 0);
        out[o++] = a[v >> 18 & 63];
        out[o++] = a[v >> 12 & 63];
        out[o++] = i + 1 < n ? a[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? a[v & 63] : '=';
    }
    out[o] = 0;
    return o;
}

static u8 buf[4096];
static char err[PASTE_ERR_MAX];

/* Starts a block for `text` (its size and sum, unless given). */
static void begin_for(struct paste *p, const char *data, size_t len)
{
    char sum[17], size[24];
    sum_of(data, len, sum);
    snprintf(size, sizeof(size), "%zu", len);
    assert_int_equal(paste_begin(p, size, sum, buf, sizeof(buf), host_sha256, err, sizeof(err)), 0);
    assert_string_equal(err, "");
    assert_true(paste_active(p));
}

static enum paste_status line(struct paste *p, const char *l) { return paste_line(p, l, err, sizeof(err)); }

static void test_sha256_is_sha256(void **state)
{
    char s[17];
    sum_of("abc", 3, s);
    assert_string_equal(s, "ba7816bf8f01cfea");
}

static void test_vectors(void **state)
{
    /* RFC 4648 section 10: every tail length */
    static const char *const vec[][2] = {
        { "f", "Zg==" },        { "fo", "Zm8=" },        { "foo", "Zm9v" },
        { "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(vec); i++) {
        struct paste p;
        size_t n = strlen(vec[i][0]);
        begin_for(&p, vec[i][0], n);
        memset(buf, 0xee, sizeof(buf));
        assert_int_equal(line(&p, vec[i][1]), PASTE_MORE);
        assert_int_equal(line(&p, "end"), PASTE_DONE);
        assert_false(paste_active(&p));
        assert_int_equal(p.len, n);
        assert_memory_equal(buf, vec[i][0], n);
        assert_int_equal(buf[n], 0xee); /* nothing past SIZE written */
    }
}

static void test_lines_and_blanks(void **state)
{
    struct paste p;
    /* a group split across lines, blank lines, blanks inside and around, "end" with blanks */
    begin_for(&p, "foobar", 6);
    assert_int_equal(line(&p, "Zm"), PASTE_MORE);
    assert_int_equal(line(&p, ""), PASTE_MORE);
    assert_int_equal(line(&p, " 9v\tY"), PASTE_MORE);
    assert_int_equal(line(&p, "   "), PASTE_MORE);
    assert_int_equal(line(&p, "mF y  "), PASTE_MORE);
    assert_int_equal(line(&p, "  end\t"), PASTE_DONE);
    assert_memory_equal(buf, "foobar", 6);
    /* "end" must be the whole line */
    begin_for(&p, "foo", 3);
    assert_int_equal(line(&p, "Zm9v"), PASTE_MORE);
    assert_int_equal(line(&p, "end."), PASTE_ERROR);
    assert_string_equal(err, "line 2 column 4: invalid base64 character '.'");
    /* every byte value survives */
    u8 all[256];
    char enc[400];
    for (int i = 0; i < 256; i++)
        all[i] = (u8)i;
    b64(all, 256, enc);
    begin_for(&p, (const char *)all, 256);
    assert_int_equal(line(&p, enc), PASTE_MORE);
    assert_int_equal(line(&p, "end"), PASTE_DONE);
    assert_memory_equal(buf, all, 256);
}

static void test_round_trip(void **state)
{
    /* random files of every small length and a few large ones, 64 characters a line (base64 -w 64) */
    srand(5);
    for (size_t n = 1; n < 4096; n = n < 70 ? n + 1 : n * 3 / 2) {
        static u8 data[4096];
        static char enc[6000];
        struct paste p;
        for (size_t i = 0; i < n; i++)
            data[i] = (u8)rand();
        size_t el = b64(data, n, enc);
        begin_for(&p, (const char *)data, n);
        for (size_t o = 0; o < el; o += 64) {
            char l[65];
            size_t k = el - o < 64 ? el - o : 64;
            memcpy(l, enc + o, k);
            l[k] = 0;
            assert_int_equal(line(&p, l), PASTE_MORE);
        }
        assert_int_equal(line(&p, "end"), PASTE_DONE);
        assert_int_equal(p.len, n);
        assert_memory_equal(buf, data, n);
    }
}

#define BEGIN_FAILS(size, sum, cap, msg)                                                                               \
    do {                                                                                                               \
        struct paste q;                                                                                                \
        assert_int_equal(paste_begin(&q, size, sum, buf, cap, host_sha256, err, sizeof(err)), -1);                     \
        assert_string_equal(err, msg);                                                                                 \
        assert_false(paste_active(&q));                                                                                \
        assert_int_equal(paste_line(&q, "Zg==", err, sizeof(err)), PASTE_ERROR);                                       \
        assert_string_equal(err, "no paste in progress");                                                              \
    } while (0)

static void test_begin_errors(void **state)
{
    const char *s = "0123456789abcdef";
    BEGIN_FAILS("abc", s, 100, "size 'abc' is not a decimal number");
    BEGIN_FAILS("12k", s, 100, "size '12k' is not a decimal number");
    BEGIN_FAILS("-1", s, 100, "size '-1' is not a decimal number");
    BEGIN_FAILS("+1", s, 100, "size '+1' is not a decimal number");
    BEGIN_FAILS("", s, 100, "size '' is not a decimal number");
    BEGIN_FAILS(NULL, s, 100, "size '' is not a decimal number");
    BEGIN_FAILS("0", s, 100, "size must be at least 1");
    BEGIN_FAILS("000", s, 100, "size must be at least 1");
    BEGIN_FAILS("101", s, 100, "size 101 is too large (at most 100 bytes)");
    BEGIN_FAILS("99999999999999999999999999999", s, 100,
                "size 99999999999999999999999999999 is too large (at most 100 bytes)");
    BEGIN_FAILS("9999999999999999999999999999999999999999", s, 100,
                "size 99999999999999999999999999999999... is too large (at most 100 bytes)");
    BEGIN_FAILS("1x", "0123456789abcdeX", 100, "size '1x' is not a decimal number");
    BEGIN_FAILS("1", "0123456789abcde", 100,
                "checksum '0123456789abcde' is not 16 hex digits (the start of the file's SHA-256)");
    BEGIN_FAILS("1", "0123456789abcdef0", 100,
                "checksum '0123456789abcdef0' is not 16 hex digits (the start of the file's SHA-256)");
    BEGIN_FAILS("1", "0123456789abcdeg", 100,
                "checksum '0123456789abcdeg' is not 16 hex digits (the start of the file's SHA-256)");
    BEGIN_FAILS("1", "", 100, "checksum '' is not 16 hex digits (the start of the file's SHA-256)");
    BEGIN_FAILS("1", NULL, 100, "checksum '' is not 16 hex digits (the start of the file's SHA-256)");
    BEGIN_FAILS("1", "\x1b[2J", 100, "checksum '?[2J' is not 16 hex digits (the start of the file's SHA-256)");
    /* the limit is PASTE_MAX even with a bigger buffer (cap is not touched beyond its size here) */
    char big[24];
    snprintf(big, sizeof(big), "%u", PASTE_MAX + 1);
    struct paste q;
    assert_int_equal(paste_begin(&q, big, s, buf, (size_t)PASTE_MAX * 4, host_sha256, err, sizeof(err)), -1);
    assert_string_equal(err, "size 1048577 is too large (at most 1048576 bytes)");
    /* upper-case hex, leading zeros, the exact capacity */
    assert_int_equal(paste_begin(&q, "0100", "0123456789ABCDEF", buf, 100, host_sha256, err, sizeof(err)), 0);
    assert_int_equal(q.size, 100);
    assert_int_equal(q.sum[7], 0xef);
    /* no SHA-256 function, no buffer */
    assert_int_equal(paste_begin(&q, "1", s, buf, 100, NULL, err, sizeof(err)), -1);
    assert_string_equal(err, "no SHA-256 function");
    assert_int_equal(paste_begin(&q, "1", s, NULL, 100, host_sha256, err, sizeof(err)), -1);
    assert_string_equal(err, "size 1 is too large (at most 0 bytes)");
}

/* Feeds lines (the last one must fail with msg); the block then swallows until "end". */
static void fails_with(struct paste *p, const char *const *lines, size_t n, const char *msg)
{
    for (size_t i = 0; i + 1 < n; i++)
        assert_int_equal(line(p, lines[i]), PASTE_MORE);
    assert_int_equal(line(p, lines[n - 1]), PASTE_ERROR);
    assert_string_equal(err, msg);
    assert_true(paste_active(p));
    /* the rest of the block, valid or not, is swallowed without a message */
    assert_int_equal(line(p, "Zm9v"), PASTE_MORE);
    assert_string_equal(err, "");
    assert_int_equal(line(p, "!!!!"), PASTE_MORE);
    assert_int_equal(line(p, "status"), PASTE_MORE);
    assert_int_equal(line(p, "end"), PASTE_ABORTED);
    assert_false(paste_active(p));
}
#define FAILS(data, msg, ...)                                                                                          \
    do {                                                                                                               \
        struct paste p;                                                                                                \
        static const char *const l[] = { __VA_ARGS__ };                                                                \
        begin_for(&p, data, strlen(data));                                                                             \
        fails_with(&p, l, ARRAY_SIZE(l), msg);                                                                         \
    } while (0)

static void test_line_errors(void **state)
{
    FAILS("foobar", "line 1 column 3: invalid base64 character '.'", "Zm.v");
    FAILS("foobar", "line 2 column 1: invalid base64 character '-'", "Zm9v", "-_");
    FAILS("foobar", "line 1 column 1: invalid base64 character '\\x27'", "'");
    FAILS("foobar", "line 1 column 2: invalid base64 character '\\x01'", "Z\x01");
    FAILS("foobar", "line 1 column 5: invalid base64 character '\\xc3'", "Zm9v\xc3\xa9");
    FAILS("foobar", "line 1 column 5: invalid base64 character '\\x0d'", "Zm9v\r");
    FAILS("f", "line 1 column 1: '=' in the first half of a base64 group", "=");
    FAILS("f", "line 1 column 2: '=' in the first half of a base64 group", "Z=g=");
    FAILS("foo", "line 3 column 1: '=' in the first half of a base64 group", "Zm9v", "", "====");
    FAILS("f", "line 1 column 4: data after padding", "Zg=g");
    FAILS("f", "line 1 column 5: data after padding", "Zg==Zg==");
    FAILS("f", "line 2 column 1: data after padding", "Zg==", "=");
    FAILS("fo", "line 2 column 2: data after padding", "Zm8=", " A");
    FAILS("f", "line 1 column 4: base64 padding with non-zero bits", "Zh==");
    FAILS("fo", "line 1 column 4: base64 padding with non-zero bits", "Zm9=");
    FAILS("fo", "line 1: more bytes than SIZE (2)", "Zm9v");
    FAILS("foo", "line 2: more bytes than SIZE (3)", "Zm9v", "Zg==");
    FAILS("f", "line 1: more bytes than SIZE (1)", "Zm8=");
}

static void test_x00(void **state)
{
    /* a NUL ends the line (the caller's lines are C strings), so "Z\0" is just "Z" */
    struct paste p;
    begin_for(&p, "f", 1);
    assert_int_equal(line(&p, "Z\0g=="), PASTE_MORE);
    assert_int_equal(line(&p, "end"), PASTE_ERROR);
    assert_string_equal(err, "end: incomplete base64 group (1 character left over)");
}

static void test_end_errors(void **state)
{
    struct paste p;
    begin_for(&p, "foobar", 6);
    assert_int_equal(line(&p, "Zm9vYm"), PASTE_MORE);
    assert_int_equal(line(&p, "end"), PASTE_ERROR);
    assert_string_equal(err, "end: incomplete base64 group (2 characters left over)");
    assert_false(paste_active(&p)); /* an "end:" error ends the block */
    begin_for(&p, "foobar", 6);
    assert_int_equal(line(&p, "Zm9v"), PASTE_MORE);
    assert_int_equal(line(&p, "end"), PASTE_ERROR);
    assert_string_equal(err, "end: fewer bytes than SIZE (got 3 of 6)");
    assert_false(paste_active(&p));
    begin_for(&p, "foobar", 6);
    assert_int_equal(line(&p, "end"), PASTE_ERROR);
    assert_string_equal(err, "end: fewer bytes than SIZE (got 0 of 6)");
    /* right length, other bytes */
    begin_for(&p, "foobar", 6);
    assert_int_equal(line(&p, "Zm9vYmFz"), PASTE_MORE); /* "foobas" */
    assert_int_equal(line(&p, "end"), PASTE_ERROR);
    char want[17], got[17], msg[128];
    sum_of("foobar", 6, want);
    sum_of("foobas", 6, got);
    snprintf(msg, sizeof(msg), "end: checksum mismatch (expected %s, got %s)", want, got);
    assert_string_equal(err, msg);
    assert_false(paste_active(&p));
    /* the checksum as typed in upper case is shown in lower case */
    struct paste q;
    assert_int_equal(paste_begin(&q, "1", "ABCDEF0123456789", buf, 100, host_sha256, err, sizeof(err)), 0);
    assert_int_equal(paste_line(&q, "Zg==", err, sizeof(err)), PASTE_MORE);
    assert_int_equal(paste_line(&q, "end", err, sizeof(err)), PASTE_ERROR);
    sum_of("f", 1, got);
    snprintf(msg, sizeof(msg), "end: checksum mismatch (expected abcdef0123456789, got %s)", got);
    assert_string_equal(err, msg);
    /* after the block: no paste in progress */
    assert_int_equal(paste_line(&q, "end", err, sizeof(err)), PASTE_ERROR);
    assert_string_equal(err, "no paste in progress");
}

static void test_abort_cancel_fail(void **state)
{
    struct paste p;
    begin_for(&p, "foobar", 6);
    assert_int_equal(line(&p, "Zm9v"), PASTE_MORE);
    assert_int_equal(line(&p, " abort "), PASTE_ABORTED);
    assert_false(paste_active(&p));
    /* abort also closes a failed block */
    begin_for(&p, "foobar", 6);
    assert_int_equal(line(&p, "#"), PASTE_ERROR);
    assert_int_equal(line(&p, "abort"), PASTE_ABORTED);
    assert_false(paste_active(&p));
    /* after padding only "end"/"abort" */
    begin_for(&p, "f", 1);
    assert_int_equal(line(&p, "Zg=="), PASTE_MORE);
    assert_int_equal(line(&p, "abort"), PASTE_ABORTED);
    /* paste_cancel: at once */
    begin_for(&p, "f", 1);
    paste_cancel(&p);
    assert_false(paste_active(&p));
    assert_int_equal(line(&p, "end"), PASTE_ERROR);
    assert_string_equal(err, "no paste in progress");
    /* paste_fail: swallows up to "end", which then aborts */
    begin_for(&p, "f", 1);
    paste_fail(&p);
    assert_true(paste_active(&p));
    assert_int_equal(line(&p, "Zg=="), PASTE_MORE);
    assert_int_equal(line(&p, "end"), PASTE_ABORTED);
    assert_false(paste_active(&p));
    paste_fail(&p); /* no effect on an idle decoder */
    assert_false(paste_active(&p));
}

static void test_small_err_buffers(void **state)
{
    struct paste p;
    char small[8];
    memset(small, 'Z', sizeof(small));
    assert_int_equal(paste_begin(&p, "x", "0123456789abcdef", buf, 100, host_sha256, small, 4), -1);
    assert_string_equal(small, "siz");
    assert_int_equal(small[4], 'Z');
    assert_int_equal(paste_begin(&p, "x", "0123456789abcdef", buf, 100, host_sha256, NULL, 0), -1);
    begin_for(&p, "f", 1);
    assert_int_equal(paste_line(&p, "#", NULL, 0), PASTE_ERROR);
    assert_int_equal(paste_line(&p, "end", small, 1), PASTE_ABORTED);
    assert_string_equal(small, "");
    /* the longest message fits PASTE_ERR_MAX */
    begin_for(&p, "f", 1);
    assert_int_equal(line(&p, "Zg=="), PASTE_MORE);
    p.sum[0] ^= 1;
    assert_int_equal(line(&p, "end"), PASTE_ERROR);
    assert_true(strlen(err) < PASTE_ERR_MAX - 1);
}

/* tools/gmeta-paste.sh's block for a random file decodes to the file (run from the repository root,
 * as tests/run-all.sh does). */
static void test_script_block(void **state)
{
    static u8 data[3000];
    char path[] = "/tmp/test_paste.XXXXXX", cmd[128], l[256], size[32], sum[32];
    struct paste p;
    int fd = mkstemp(path), lines = 0;
    FILE *f;

    assert_true(fd >= 0);
    srand(7);
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (u8)rand();
    assert_int_equal(write(fd, data, sizeof(data)), (ssize_t)sizeof(data));
    close(fd);
    snprintf(cmd, sizeof(cmd), "tools/gmeta-paste.sh %s", path);
    f = popen(cmd, "r");
    assert_non_null(f);
    assert_non_null(fgets(l, sizeof(l), f));
    assert_int_equal(sscanf(l, "paste %31s %31s", size, sum), 2);
    assert_string_equal(size, "3000");
    assert_int_equal(paste_begin(&p, size, sum, buf, sizeof(buf), host_sha256, err, sizeof(err)), 0);
    enum paste_status st = PASTE_MORE;
    while (st == PASTE_MORE && fgets(l, sizeof(l), f)) {
        l[strcspn(l, "\n")] = 0;
        assert_true(strlen(l) <= 64);
        st = line(&p, l);
        lines++;
    }
    assert_int_equal(pclose(f), 0);
    unlink(path);
    assert_int_equal(st, PASTE_DONE);
    assert_int_equal(lines, 4000 / 64 + 1 + 1); /* 63 lines of base64, "end" */
    assert_memory_equal(buf, data, sizeof(data));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_is_sha256),
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_lines_and_blanks),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_begin_errors),
        cmocka_unit_test(test_line_errors),
        cmocka_unit_test(test_x00),
        cmocka_unit_test(test_end_errors),
        cmocka_unit_test(test_abort_cancel_fail),
        cmocka_unit_test(test_small_err_buffers),
        cmocka_unit_test(test_script_block),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
