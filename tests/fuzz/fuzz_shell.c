/* FUZZ-SOURCES: hv/console/line_edit.c hv/console/shell_parse.c hv/console/paste.c hv/lib/fmt.c */
/*
 * libFuzzer harness for the admin shell's pure-logic parts, wired as hv/console/shell.c wires them: every
 * input byte goes to the line editor (hv/console/line_edit.c); every completed line goes to shell_dispatch()
 * (hv/console/shell_parse.c) over a table of dummy commands, or, while a paste block is open, to the paste
 * decoder (hv/console/paste.c), which the dummy "paste SIZE SUM" command opens.
 *
 * Byte 0 chooses the setup: bits 1:0 the paste buffer's capacity (3, 16, 256, 4096 bytes, an exact-size
 * heap block, so ASan sees any write past it), bit 2 the "SHA-256" (0: all zeros, so the sum
 * 0000000000000000 always matches and the fuzzer can complete blocks; 1: an FNV-1a stand-in that
 * mismatches), bit 3 small error buffers (8 bytes, exact-size heap blocks), bit 4 makes 0x01
 * (Ctrl-A) a console switch, as hv/console/shell.c's multiplexer does on leaving and re-entering the shell:
 * line_edit_reset() and paste_cancel(). The rest are the bytes typed on the serial line.
 *
 * Checked, with abort() on violation:
 *   line editor: after every byte the line is NUL-terminated, at most LINE_EDIT_MAX printable
 *     characters, and a model terminal fed the echo (printable, \b, \r, \n, \a only: no input
 *     control byte or escape sequence is ever echoed) shows exactly the line with the cursor at
 *     its end; READY/TOO_LONG only on CR/LF, but never on the LF right after a CR that ended a
 *     line (CR LF is one line end), CANCELLED only on Ctrl-C; a READY line that is not
 *     blank is what Up recalls next; every 16 bytes, on a copy, Ctrl-C then "ok\r" gives
 *     CANCELLED then READY "ok" (no input wedges the editor);
 *   dispatch: an independent word count and table lookup predict the verdict; a command runs exactly
 *     when predicted, once, with argc within its bounds, argv[0] its name, words non-empty, without
 *     blanks, inside the line; messages are NUL-terminated, printable and fit the buffer;
 *   paste: len <= size <= cap always; MORE keeps the block open, DONE/ABORTED close it, ERROR closes
 *     it only on "end"; DONE happens exactly when an independent decoder accepts the lines fed
 *     (canonical base64 of exactly SIZE bytes, with a matching sum) and the buffer holds its bytes;
 *     no error mid-block while the lines so far are valid base64 of at most SIZE bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console/line_edit.h"
#include "console/paste.h"
#include "console/shell_parse.h"

#define CHECK(c)                                                                                                       \
    do {                                                                                                               \
        if (!(c)) {                                                                                                    \
            fprintf(stderr, "fuzz_shell: invariant violated: %s (line %d)\n", #c, __LINE__);                           \
            abort();                                                                                                   \
        }                                                                                                              \
    } while (0)

/* ------------------------------------------------------------------ a model terminal */
#define TERM_W 1024
struct term {
    char row[TERM_W];
    size_t col, used; /* cursor; columns ever written on this row */
};

static void term_out(void *ctx, const char *s, size_t n)
{
    struct term *t = ctx;
    CHECK(n > 0);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\b') {
            CHECK(t->col > 0); /* never backs over the prompt */
            t->col--;
        } else if (c == '\r') {
            t->col = 0;
        } else if (c == '\n') {
            CHECK(t->col == 0); /* only as "\r\n" */
            t->used = 0;
            memset(t->row, ' ', sizeof(t->row));
        } else if (c == '\a') {
        } else {
            CHECK(c >= 0x20 && c < 0x7f);
            CHECK(t->col < TERM_W);
            t->row[t->col++] = (char)c;
            if (t->col > t->used)
                t->used = t->col;
        }
    }
}

/* ------------------------------------------------------------------ the dummy commands */
struct harness {
    const char *line; /* the line being dispatched (heap, exact size) */
    size_t line_len;
    int runs;
    const char *ran; /* name of the command run */
    struct paste paste;
    u8 *pbuf;
    size_t cap;
    paste_sha256_fn hash;
    size_t errsz;
    bool draining; /* the open block failed: its lines are swallowed up to "end"/"abort" */
    /* the base64 lines of the open block, blanks removed (for the independent decoder) */
    char b64[8192];
    size_t b64_len;
    bool b64_overflow;
};
static struct harness H;
static int trace = -1; /* FUZZ_SHELL_TRACE=1: print every line and verdict (to read a crash input) */
#define TRACE(...)                                                                                                     \
    do {                                                                                                               \
        if (trace)                                                                                                     \
            fprintf(stderr, __VA_ARGS__);                                                                              \
    } while (0)

static void check_msg(const char *err, size_t errsz)
{
    size_t n = strnlen(err, errsz);
    CHECK(n < errsz);
    for (size_t i = 0; i < n; i++)
        CHECK(err[i] >= 0x20 && err[i] < 0x7f);
}

static char *alloc_err(void) { return malloc(H.errsz); }

static void check_argv(const char *name, int argc, char **argv, int min, int max)
{
    CHECK(argc >= 1 && argc <= SHELL_MAX_ARGS);
    CHECK(argc - 1 >= min && argc - 1 <= max);
    CHECK(strcmp(argv[0], name) == 0);
    for (int i = 0; i < argc; i++) {
        CHECK(argv[i] >= H.line && argv[i] < H.line + H.line_len);
        size_t l = strlen(argv[i]);
        CHECK(l >= 1 && argv[i] + l < H.line + H.line_len + 1);
        CHECK(!strchr(argv[i], ' ') && !strchr(argv[i], '\t'));
    }
    H.runs++;
    H.ran = name;
}

static void run_status(void *ctx, int argc, char **argv) { check_argv("status", argc, argv, 0, 0); }
static void run_bind(void *ctx, int argc, char **argv) { check_argv("bind", argc, argv, 2, 2); }
static void run_log(void *ctx, int argc, char **argv) { check_argv("log", argc, argv, 0, 1); }
static void run_echo(void *ctx, int argc, char **argv) { check_argv("echo", argc, argv, 1, 7); }
static void run_help(void *ctx, int argc, char **argv);
static void run_paste(void *ctx, int argc, char **argv);

static const struct shell_cmd cmds[] = {
    { "status", "", "what runs", 0, 0, run_status },
    { "bind", "MODULE PRIVILEGE", "let MODULE hold PRIVILEGE", 2, 2, run_bind },
    { "log", "[N]", "the last N events", 0, 1, run_log },
    { "echo", "WORD...", "print the words", 1, 7, run_echo },
    { "help", "[COMMAND]", "this text", 0, 1, run_help },
    { "paste", "SIZE SUM", "metadata as base64", 2, 2, run_paste },
};

static void help_out(void *ctx, const char *s, size_t n)
{
    CHECK(n > 0);
    for (size_t i = 0; i < n; i++)
        CHECK((s[i] >= 0x20 && s[i] < 0x7f) || s[i] == '\n');
}

static void run_help(void *ctx, int argc, char **argv)
{
    check_argv("help", argc, argv, 0, 1);
    if (argc == 1) {
        shell_help(cmds, ARRAY_SIZE(cmds), help_out, NULL);
        return;
    }
    char *err = alloc_err();
    int rc = shell_help_one(cmds, ARRAY_SIZE(cmds), argv[1], help_out, NULL, err, H.errsz);
    bool known = false;
    for (size_t i = 0; i < ARRAY_SIZE(cmds); i++)
        known |= strcmp(cmds[i].name, argv[1]) == 0;
    CHECK(rc == (known ? 0 : -1));
    if (rc)
        check_msg(err, H.errsz);
    free(err);
}

static void run_paste(void *ctx, int argc, char **argv)
{
    check_argv("paste", argc, argv, 2, 2);
    char *err = alloc_err();
    int rc = paste_begin(&H.paste, argv[1], argv[2], H.pbuf, H.cap, H.hash, err, H.errsz);
    CHECK(rc == 0 || rc == -1);
    CHECK(paste_active(&H.paste) == (rc == 0));
    TRACE("  paste %s %s: %s\n", argv[1], argv[2], rc ? err : "begun");
    if (rc == 0) {
        CHECK(H.paste.size >= 1 && H.paste.size <= H.cap && H.paste.len == 0);
        /* the independent view of SIZE */
        unsigned long long v = strtoull(argv[1], NULL, 10);
        CHECK(v == H.paste.size);
        CHECK(strlen(argv[2]) == PASTE_SUM_DIGITS);
        H.b64_len = 0;
        H.b64_overflow = false;
        H.draining = false;
    } else {
        check_msg(err, H.errsz);
    }
    free(err);
}

/* ------------------------------------------------------------------ hashes */
static void zero_hash(const void *data, u64 len, u8 out[32]) { memset(out, 0, 32); }
static void fnv_hash(const void *data, u64 len, u8 out[32])
{
    u64 h = 0xcbf29ce484222325ull;
    for (u64 i = 0; i < len; i++)
        h = (h ^ ((const u8 *)data)[i]) * 0x100000001b3ull;
    memset(out, 0, 32);
    for (int i = 0; i < 8; i++)
        out[i] = (u8)(h >> (56 - 8 * i));
}

/* ------------------------------------------------------------------ the independent decoder */
static int b64v(char c)
{
    const char *a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const char *p = c ? strchr(a, c) : NULL;
    return p ? (int)(p - a) : -1;
}

/* Decodes s[0..n) as canonical base64, at most max bytes out; returns the byte count, -1 if not
 * canonical base64. A string whose length is not a multiple of 4 is checked as a prefix: its full
 * groups must be valid and not padded unless they are last; returns -2 when it could still become
 * valid (no verdict yet). */
static long ref_decode(const char *s, size_t n, u8 *out, size_t max)
{
    size_t full = n / 4 * 4, o = 0;
    for (size_t i = 0; i < full; i += 4) {
        int v[4], pad = 0;
        for (int k = 0; k < 4; k++) {
            if (s[i + k] == '=') {
                if (k < 2)
                    return -1;
                pad++;
                v[k] = 0;
            } else {
                if (pad)
                    return -1;
                v[k] = b64v(s[i + k]);
                if (v[k] < 0)
                    return -1;
            }
        }
        if (pad && i + 4 != n)
            return -1; /* data after padding */
        if ((pad == 2 && (v[1] & 15)) || (pad == 1 && (v[2] & 3)))
            return -1;
        u32 w = (u32)v[0] << 18 | (u32)v[1] << 12 | (u32)v[2] << 6 | (u32)v[3];
        for (int k = 0; k < 3 - pad; k++) {
            if (o >= max)
                return -1; /* more than SIZE */
            out[o++] = (u8)(w >> (16 - 8 * k));
        }
    }
    if (full != n) {
        for (size_t i = full; i < n; i++) {
            if (s[i] == '=') {
                if (i - full < 2)
                    return -1;
            } else if (b64v(s[i]) < 0 || (i > full && s[i - 1] == '=')) {
                return -1;
            }
        }
        return -2;
    }
    return (long)o;
}

static bool is_word(const char *l, const char *w)
{
    while (*l == ' ' || *l == '\t')
        l++;
    size_t n = strlen(w);
    if (strncmp(l, w, n))
        return false;
    for (l += n; *l == ' ' || *l == '\t'; l++)
        ;
    return !*l;
}

static void paste_input(const char *line)
{
    char *err = alloc_err();
    bool is_end = is_word(line, "end"), is_abort = is_word(line, "abort");
    static u8 ref[4096];

    if (!is_end && !is_abort) {
        for (const char *c = line; *c; c++)
            if (*c != ' ' && *c != '\t') {
                if (H.b64_len < sizeof(H.b64))
                    H.b64[H.b64_len++] = *c;
                else
                    H.b64_overflow = true;
            }
    }
    size_t before = H.paste.len;
    enum paste_status st = paste_line(&H.paste, line, err, H.errsz);
    TRACE("  paste line '%s': %s %s\n", line, (const char *[]){ "MORE", "DONE", "ABORTED", "ERROR" }[st < 4 ? st : 3],
          st == PASTE_ERROR ? err : "");
    CHECK(H.paste.len <= H.paste.size && H.paste.size <= H.cap);
    CHECK(H.paste.len >= before);
    switch (st) {
    case PASTE_MORE:
        CHECK(paste_active(&H.paste));
        CHECK(!is_end && !is_abort);
        if (H.draining)
            CHECK(H.paste.len == before); /* a dead block's lines are swallowed, not decoded */
        else if (!H.b64_overflow)
            CHECK(ref_decode(H.b64, H.b64_len, ref, H.paste.size) != -1);
        break;
    case PASTE_DONE: {
        CHECK(!paste_active(&H.paste) && is_end && !H.draining);
        CHECK(H.paste.len == H.paste.size);
        CHECK(!H.b64_overflow);
        long n = ref_decode(H.b64, H.b64_len, ref, H.paste.size);
        CHECK(n == (long)H.paste.size);
        CHECK(memcmp(ref, H.pbuf, (size_t)n) == 0);
        u8 d[32];
        H.hash(H.pbuf, H.paste.len, d);
        CHECK(memcmp(d, H.paste.sum, 8) == 0);
        break;
    }
    case PASTE_ABORTED:
        CHECK(!paste_active(&H.paste) && (is_abort || (is_end && H.draining)));
        break;
    case PASTE_ERROR:
        check_msg(err, H.errsz);
        CHECK(paste_active(&H.paste) == !is_end);
        CHECK(!is_abort && !H.draining);
        H.draining = !is_end;
        if (!H.b64_overflow) {
            long n = ref_decode(H.b64, H.b64_len, ref, H.paste.size);
            if (is_end) {
                /* refused at end: the reference must disagree, or the sum must */
                u8 d[32];
                if (n == (long)H.paste.size) {
                    H.hash(ref, (size_t)n, d);
                    CHECK(memcmp(d, H.paste.sum, 8) != 0);
                }
            } else {
                CHECK(n == -1); /* mid-block: not even a prefix of valid base64 of <= SIZE bytes */
            }
        }
        break;
    default:
        CHECK(0);
    }
    free(err);
}

/* Independent verdict for a line: -1 too many words / unknown / bad count, 0 blank, 1 runs. */
static int predict(const char *line, const char **name)
{
    char words[SHELL_MAX_ARGS + 1][LINE_EDIT_MAX + 1];
    int n = 0;
    size_t i = 0, L = strlen(line);
    while (i < L) {
        while (i < L && (line[i] == ' ' || line[i] == '\t'))
            i++;
        if (i >= L)
            break;
        size_t s = i;
        while (i < L && line[i] != ' ' && line[i] != '\t')
            i++;
        if (n > SHELL_MAX_ARGS)
            return -1;
        if (n <= SHELL_MAX_ARGS) {
            memcpy(words[n], line + s, i - s);
            words[n][i - s] = 0;
        }
        n++;
    }
    if (n > SHELL_MAX_ARGS)
        return -1;
    if (n == 0)
        return 0;
    for (size_t k = 0; k < ARRAY_SIZE(cmds); k++)
        if (strcmp(cmds[k].name, words[0]) == 0) {
            *name = cmds[k].name;
            return n - 1 >= cmds[k].min_args && n - 1 <= cmds[k].max_args ? 1 : -1;
        }
    return -1;
}

static void dispatch(const char *text)
{
    size_t L = strlen(text);
    char *line = malloc(L + 1);
    char *err = alloc_err();
    const char *name = NULL;
    memcpy(line, text, L + 1);
    H.line = line;
    H.line_len = L + 1;
    H.runs = 0;
    H.ran = NULL;
    int want = predict(text, &name);
    int rc = shell_dispatch(cmds, ARRAY_SIZE(cmds), line, &H, err, H.errsz);
    TRACE("  line '%s': %d %s\n", text, rc, rc ? err : H.ran ? H.ran : "(blank)");
    CHECK(rc == 0 || rc == -1);
    if (want == -1) {
        CHECK(rc == -1 && H.runs == 0);
        check_msg(err, H.errsz);
        CHECK(H.errsz < 2 || err[0]); /* a message, unless the buffer can't hold one character */
    } else {
        CHECK(rc == 0);
        CHECK(H.runs == want);
        if (want)
            CHECK(H.ran == name);
    }
    free(line);
    free(err);
}

/* ------------------------------------------------------------------ the serial line */
static void check_editor(const struct line_edit *le, const struct term *t, bool in_line)
{
    const char *l = line_edit_line(le);
    size_t n = strnlen(l, LINE_EDIT_MAX + 1);
    CHECK(n <= LINE_EDIT_MAX && n == le->len);
    for (size_t i = 0; i < n; i++)
        CHECK(l[i] >= 0x20 && l[i] < 0x7f);
    if (in_line) {
        /* the screen shows the line, the cursor at its end, nothing but blanks after it */
        CHECK(t->col == n);
        CHECK(memcmp(t->row, l, n) == 0);
        for (size_t i = n; i < t->used; i++)
            CHECK(t->row[i] == ' ');
    }
}

/* On a copy: Ctrl-C always cancels, and a fresh line always works. */
static void check_live(const struct line_edit *le)
{
    static struct line_edit c;
    static struct term t;
    memcpy(&c, le, sizeof(c));
    t.col = t.used = 0;
    CHECK(line_edit_feed(&c, 0x03, term_out, &t) == LINE_CANCELLED);
    CHECK(line_edit_feed(&c, 'o', term_out, &t) == LINE_NONE);
    CHECK(line_edit_feed(&c, 'k', term_out, &t) == LINE_NONE);
    CHECK(line_edit_feed(&c, '\r', term_out, &t) == LINE_READY);
    CHECK(strcmp(line_edit_line(&c), "ok") == 0);
}

/* On a copy, right after a READY line: Up recalls it (unless blank: then something else or bell). */
static void check_recall(const struct line_edit *le, const char *submitted)
{
    static struct line_edit c;
    static struct term t;
    bool blank = true;
    for (const char *s = submitted; *s; s++)
        blank &= *s == ' ';
    memcpy(&c, le, sizeof(c));
    memset(t.row, ' ', sizeof(t.row));
    t.col = t.used = 0;
    line_edit_feed(&c, 0x1b, term_out, &t);
    line_edit_feed(&c, '[', term_out, &t);
    line_edit_feed(&c, 'A', term_out, &t);
    if (!blank)
        CHECK(strcmp(line_edit_line(&c), submitted) == 0);
    check_editor(&c, &t, true);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t caps[4] = { 3, 16, 256, 4096 };
    static struct line_edit le;
    static struct term t;
    char submitted[LINE_EDIT_MAX + 1];
    bool cr_ended = false; /* the previous byte was a CR that ended a line */

    if (size < 1 || size > 65536)
        return 0;
    if (trace < 0)
        trace = getenv("FUZZ_SHELL_TRACE") != NULL;
    memset(&H, 0, sizeof(H));
    H.cap = caps[data[0] & 3];
    H.hash = data[0] & 4 ? fnv_hash : zero_hash;
    H.errsz = data[0] & 8 ? 8 : PASTE_ERR_MAX > SHELL_ERR_MAX ? PASTE_ERR_MAX : SHELL_ERR_MAX;
    H.pbuf = malloc(H.cap);
    line_edit_init(&le);
    memset(t.row, ' ', sizeof(t.row));
    t.col = t.used = 0;

    for (size_t i = 1; i < size; i++) {
        u8 b = data[i];
        if (b == 0x01 && (data[0] & 16)) { /* the console switch: a fresh line on a fresh row */
            line_edit_reset(&le);
            paste_cancel(&H.paste);
            memset(t.row, ' ', sizeof(t.row));
            t.col = t.used = 0;
            check_editor(&le, &t, true);
            TRACE("  switch\n");
            cr_ended = false;
            continue;
        }
        enum line_status st = line_edit_feed(&le, b, term_out, &t);
        switch (st) {
        case LINE_NONE:
            check_editor(&le, &t, true);
            break;
        case LINE_READY:
        case LINE_TOO_LONG:
            CHECK(b == '\r' || b == '\n');
            CHECK(!(b == '\n' && cr_ended));
            CHECK(t.col == 0 && t.used == 0); /* "\r\n" ended the row */
            check_editor(&le, &t, false);
            memcpy(submitted, line_edit_line(&le), le.len + 1);
            if (st == LINE_READY)
                check_recall(&le, submitted);
            if (st == LINE_TOO_LONG) {
                TRACE("  line too long\n");
                if (paste_active(&H.paste)) {
                    paste_fail(&H.paste);
                    H.draining = true;
                }
            } else if (paste_active(&H.paste)) {
                paste_input(submitted);
            } else {
                dispatch(submitted);
            }
            break;
        case LINE_CANCELLED:
            CHECK(b == 0x03);
            CHECK(t.col == 0 && t.used == 0);
            CHECK(le.len == 0);
            TRACE("  ^C\n");
            paste_cancel(&H.paste);
            break;
        default:
            CHECK(0);
        }
        cr_ended = b == '\r' && st != LINE_NONE;
        if ((i & 15) == 0)
            check_live(&le);
    }
    check_live(&le);
    free(H.pbuf);
    return 0;
}
