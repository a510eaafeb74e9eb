/*
 * Decoder for a file pasted as base64 into the admin shell (paste.h, docs/admin-shell.md). Strict:
 * a byte sequence has exactly one accepted encoding (canonical padding, nothing after it), and the
 * length and the checksum are checked before PASTE_DONE. Bytes are stored only while
 * len + 3 <= size would hold after the group, and size <= cap, so the buffer can't be overrun.
 */
#include "console/paste.h"
#include "console/shell_parse.h"
#include "lib/lib.h"
#include "lib/log.h"

enum {
    ST_IDLE,     /* no block */
    ST_DECODING, /* base64 lines */
    ST_PADDED,   /* a group with '=' was completed: only "end"/"abort" may follow */
    ST_DRAINING, /* the block failed: lines are swallowed up to "end"/"abort" */
};

#define BAD 0xff

static enum paste_status fail(char *err, size_t errsz, const char *fmt, ...) PRINTF_LIKE(3, 4);
static enum paste_status fail(char *err, size_t errsz, const char *fmt, ...)
{
    va_list ap;
    if (err && errsz) {
        va_start(ap, fmt);
        fmt_vsnprintf(err, errsz, fmt, ap);
        va_end(ap);
    }
    return PASTE_ERROR;
}

static void clear_err(char *err, size_t errsz)
{
    if (err && errsz)
        err[0] = 0;
}


static u8 hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return (u8)(c - '0');
    if (c >= 'a' && c <= 'f')
        return (u8)(c - 'a' + 10);
    if (c >= 'A' && c <= 'F')
        return (u8)(c - 'A' + 10);
    return BAD;
}

static u8 b64_value(u8 c)
{
    if (c >= 'A' && c <= 'Z')
        return (u8)(c - 'A');
    if (c >= 'a' && c <= 'z')
        return (u8)(c - 'a' + 26);
    if (c >= '0' && c <= '9')
        return (u8)(c - '0' + 52);
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return BAD;
}

static void hex16(char out[PASTE_SUM_DIGITS + 1], const u8 *b)
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < PASTE_SUM_DIGITS / 2; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[PASTE_SUM_DIGITS] = 0;
}

int paste_begin(struct paste *p, const char *size_arg, const char *sum_arg, u8 *buf, size_t cap, paste_sha256_fn sha256,
                char *err, size_t errsz)
{
    size_t limit = buf ? (cap < PASTE_MAX ? cap : PASTE_MAX) : 0;
    size_t size = 0, i;
    bool too_large = false;

    memset(p, 0, sizeof(*p));
    clear_err(err, errsz);
    if (!size_arg)
        size_arg = "";
    if (!sum_arg)
        sum_arg = "";
    if (!size_arg[0]) {
        fail(err, errsz, "size '' is not a decimal number");
        return -1;
    }
    for (i = 0; size_arg[i]; i++) {
        if (size_arg[i] < '0' || size_arg[i] > '9') {
            fail(err, errsz, "size '%s' is not a decimal number", shell_show_word(size_arg).s);
            return -1;
        }
        if (!too_large) {
            size = size * 10 + (size_t)(size_arg[i] - '0');
            too_large = size > limit;
        }
    }
    if (too_large) {
        fail(err, errsz, "size %s is too large (at most %zu bytes)", shell_show_word(size_arg).s, limit);
        return -1;
    }
    if (size == 0) {
        fail(err, errsz, "size must be at least 1");
        return -1;
    }
    for (i = 0; i < PASTE_SUM_DIGITS && hex_value(sum_arg[i]) != BAD; i++)
        ;
    if (i != PASTE_SUM_DIGITS || sum_arg[i]) {
        fail(err, errsz, "checksum '%s' is not %d hex digits (the start of the file's SHA-256)",
             shell_show_word(sum_arg).s, PASTE_SUM_DIGITS);
        return -1;
    }
    if (!sha256) {
        fail(err, errsz, "no SHA-256 function");
        return -1;
    }
    for (i = 0; i < PASTE_SUM_DIGITS / 2; i++)
        p->sum[i] = (u8)(hex_value(sum_arg[2 * i]) << 4 | hex_value(sum_arg[2 * i + 1]));
    p->buf = buf;
    p->cap = cap;
    p->size = size;
    p->sha256 = sha256;
    p->state = ST_DECODING;
    return 0;
}

bool paste_active(const struct paste *p) { return p->state != ST_IDLE; }

void paste_cancel(struct paste *p) { p->state = ST_IDLE; }

void paste_fail(struct paste *p)
{
    if (p->state != ST_IDLE)
        p->state = ST_DRAINING;
}

/* line with leading and trailing blanks removed equals word */
static bool is_word(const char *line, const char *word)
{
    size_t n = strlen(word);
    while (*line == ' ' || *line == '\t')
        line++;
    if (strncmp(line, word, n) != 0)
        return false;
    for (line += n; *line == ' ' || *line == '\t'; line++)
        ;
    return *line == 0;
}

static enum paste_status finish(struct paste *p, char *err, size_t errsz)
{
    u8 digest[32];
    char want[PASTE_SUM_DIGITS + 1], got[PASTE_SUM_DIGITS + 1];

    p->state = ST_IDLE;
    if (p->nquad)
        return fail(err, errsz, "end: incomplete base64 group (%u character%s left over)", (unsigned)p->nquad,
                    p->nquad == 1 ? "" : "s");
    if (p->len < p->size)
        return fail(err, errsz, "end: fewer bytes than SIZE (got %zu of %zu)", p->len, p->size);
    p->sha256(p->buf, p->len, digest);
    if (memcmp(digest, p->sum, sizeof(p->sum)) != 0) {
        hex16(want, p->sum);
        hex16(got, digest);
        return fail(err, errsz, "end: checksum mismatch (expected %s, got %s)", want, got);
    }
    return PASTE_DONE;
}

/* A completed group of 4: store its 1-3 bytes. */
static enum paste_status group(struct paste *p, size_t col, char *err, size_t errsz)
{
    u32 v = (u32)p->quad[0] << 18 | (u32)p->quad[1] << 12 | (u32)p->quad[2] << 6 | p->quad[3];
    size_t n = 3u - p->npad;

    if ((p->npad == 2 && (p->quad[1] & 0x0f)) || (p->npad == 1 && (p->quad[2] & 0x03)))
        return fail(err, errsz, "line %u column %zu: base64 padding with non-zero bits", p->line_no, col);
    if (n > p->size - p->len)
        return fail(err, errsz, "line %u: more bytes than SIZE (%zu)", p->line_no, p->size);
    for (size_t i = 0; i < n; i++)
        p->buf[p->len++] = (u8)(v >> (16 - 8 * i));
    p->nquad = 0;
    if (p->npad)
        p->state = ST_PADDED;
    return PASTE_MORE;
}

static enum paste_status decode(struct paste *p, const char *line, char *err, size_t errsz)
{
    for (size_t i = 0; line[i]; i++) {
        u8 c = (u8)line[i], v;
        size_t col = i + 1;

        if (c == ' ' || c == '\t')
            continue;
        if (p->state == ST_PADDED || (p->npad && c != '='))
            return fail(err, errsz, "line %u column %zu: data after padding", p->line_no, col);
        if (c == '=') {
            if (p->nquad < 2)
                return fail(err, errsz, "line %u column %zu: '=' in the first half of a base64 group", p->line_no, col);
            p->npad++;
            v = 0;
        } else if ((v = b64_value(c)) == BAD) {
            if (c > 0x20 && c < 0x7f && c != '\'')
                return fail(err, errsz, "line %u column %zu: invalid base64 character '%c'", p->line_no, col, c);
            return fail(err, errsz, "line %u column %zu: invalid base64 character '\\x%02x'", p->line_no, col, c);
        }
        p->quad[p->nquad++] = v;
        if (p->nquad == 4 && group(p, col, err, errsz) == PASTE_ERROR)
            return PASTE_ERROR;
    }
    return PASTE_MORE;
}

enum paste_status paste_line(struct paste *p, const char *line, char *err, size_t errsz)
{
    clear_err(err, errsz);
    if (p->state == ST_IDLE)
        return fail(err, errsz, "no paste in progress");
    if (p->line_no < 0xffffffffu)
        p->line_no++;
    if (is_word(line, "abort")) {
        p->state = ST_IDLE;
        return PASTE_ABORTED;
    }
    if (is_word(line, "end")) {
        if (p->state == ST_DRAINING) {
            p->state = ST_IDLE;
            return PASTE_ABORTED;
        }
        return finish(p, err, errsz);
    }
    if (p->state == ST_DRAINING)
        return PASTE_MORE;
    if (decode(p, line, err, errsz) == PASTE_ERROR) {
        p->state = ST_DRAINING;
        return PASTE_ERROR;
    }
    return PASTE_MORE;
}
