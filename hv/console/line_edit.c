/*
 * The admin shell's line editor (line_edit.h has the keys). A byte-at-a-time state machine: the
 * only states that outlive a byte are the line, the escape-sequence position and the history
 * cursor, and every one of them is left by Enter or Ctrl-C, so no input can wedge it.
 */
#include "console/line_edit.h"
#include "lib/lib.h"

_Static_assert(LINE_EDIT_MAX < 0xffff, "len is a u16");
_Static_assert(LINE_EDIT_HISTORY >= 1 && LINE_EDIT_HISTORY < 127, "hist_pos is an s8");
_Static_assert(LINE_EDIT_ESC_MAX >= 3 && LINE_EDIT_ESC_MAX < 255, "esc_len is a u8");

enum {
    ESC_NONE,  /* not in a sequence */
    ESC_START, /* after ESC */
    ESC_CSI,   /* after ESC [ : parameters 0x30-0x3f, intermediates 0x20-0x2f, final 0x40-0x7e */
    ESC_SS3,   /* after ESC O : one final byte */
};

#define KEY_CTRL_C 0x03
#define KEY_BS     0x08
#define KEY_CTRL_U 0x15
#define KEY_ESC    0x1b
#define KEY_DEL    0x7f

static void emit(line_out_fn out, void *ctx, const char *s, size_t n)
{
    if (out && n)
        out(ctx, s, n);
}

/* n copies of c, in chunks (c is '\b' or ' '). */
static void emit_rep(line_out_fn out, void *ctx, char c, size_t n)
{
    static const char bs[16] = "\b\b\b\b\b\b\b\b\b\b\b\b\b\b\b\b";
    static const char sp[16] = "                ";
    const char *s = c == '\b' ? bs : sp;
    while (n) {
        size_t k = n < sizeof(bs) ? n : sizeof(bs);
        emit(out, ctx, s, k);
        n -= k;
    }
}

static void bell(line_out_fn out, void *ctx) { emit(out, ctx, "\a", 1); }

static void clear_line(struct line_edit *le)
{
    le->len = 0;
    le->buf[0] = 0;
    le->overflow = false;
    le->hist_pos = -1;
}

void line_edit_init(struct line_edit *le)
{
    memset(le, 0, sizeof(*le));
    le->hist_pos = -1;
}

void line_edit_reset(struct line_edit *le)
{
    clear_line(le);
    le->done = false;
    le->after_cr = false;
    le->esc = ESC_NONE;
}

const char *line_edit_line(const struct line_edit *le) { return le->buf; }

/* History entry k steps back from the newest (k < hist_count). */
static const char *hist_entry(const struct line_edit *le, int k)
{
    return le->hist[(le->hist_next + LINE_EDIT_HISTORY - 1 - k) % LINE_EDIT_HISTORY];
}

/* Replaces the line on screen and in the buffer by text[0..n). */
static void show(struct line_edit *le, const char *text, size_t n, bool overflow, line_out_fn out, void *ctx)
{
    size_t old = le->len;
    emit_rep(out, ctx, '\b', old);
    emit(out, ctx, text, n);
    if (old > n) { /* blank what is left of the longer old line */
        emit_rep(out, ctx, ' ', old - n);
        emit_rep(out, ctx, '\b', old - n);
    }
    memmove(le->buf, text, n);
    le->buf[n] = 0;
    le->len = (u16)n;
    le->overflow = overflow;
}

static void history_up(struct line_edit *le, line_out_fn out, void *ctx)
{
    const char *e;
    if (le->hist_pos + 1 >= le->hist_count) {
        bell(out, ctx);
        return;
    }
    if (le->hist_pos < 0) {
        memcpy(le->saved, le->buf, le->len + 1u);
        le->saved_len = le->len;
        le->saved_overflow = le->overflow;
    }
    le->hist_pos++;
    e = hist_entry(le, le->hist_pos);
    show(le, e, strnlen(e, LINE_EDIT_MAX), false, out, ctx);
}

static void history_down(struct line_edit *le, line_out_fn out, void *ctx)
{
    const char *e;
    if (le->hist_pos < 0) {
        bell(out, ctx);
        return;
    }
    le->hist_pos--;
    if (le->hist_pos < 0) {
        show(le, le->saved, le->saved_len, le->saved_overflow, out, ctx);
        return;
    }
    e = hist_entry(le, le->hist_pos);
    show(le, e, strnlen(e, LINE_EDIT_MAX), false, out, ctx);
}

static bool blank(const char *s)
{
    for (; *s; s++)
        if (*s != ' ')
            return false;
    return true;
}

static enum line_status submit(struct line_edit *le, line_out_fn out, void *ctx)
{
    emit(out, ctx, "\r\n", 2);
    le->done = true;
    le->hist_pos = -1;
    if (le->overflow)
        return LINE_TOO_LONG;
    if (!blank(le->buf) && (le->hist_count == 0 || strcmp(hist_entry(le, 0), le->buf) != 0)) {
        memcpy(le->hist[le->hist_next], le->buf, le->len + 1u);
        le->hist_next = (u8)((le->hist_next + 1) % LINE_EDIT_HISTORY);
        if (le->hist_count < LINE_EDIT_HISTORY)
            le->hist_count++;
    }
    return LINE_READY;
}

/* One byte 0x20-0x7e inside an escape sequence. */
static void escape_byte(struct line_edit *le, u8 b, line_out_fn out, void *ctx)
{
    le->esc_len++;
    switch (le->esc) {
    case ESC_START:
        if (b == '[') {
            le->esc = ESC_CSI;
            le->esc_params = false;
        } else if (b == 'O') {
            le->esc = ESC_SS3;
        } else {
            le->esc = ESC_NONE; /* ESC x (Alt-x): swallowed */
        }
        return;
    case ESC_CSI:
        if (b < 0x40) { /* parameter or intermediate byte */
            le->esc_params = true;
            return;
        }
        le->esc = ESC_NONE;
        if (!le->esc_params && b == 'A')
            history_up(le, out, ctx);
        else if (!le->esc_params && b == 'B')
            history_down(le, out, ctx);
        return;
    case ESC_SS3:
        le->esc = ESC_NONE;
        if (b == 'A')
            history_up(le, out, ctx);
        else if (b == 'B')
            history_down(le, out, ctx);
        return;
    default:
        le->esc = ESC_NONE;
        return;
    }
}

enum line_status line_edit_feed(struct line_edit *le, u8 b, line_out_fn out, void *ctx)
{
    bool after_cr = le->after_cr;

    le->after_cr = false;
    if (le->done) { /* the previous byte ended a line: this one starts the next */
        le->done = false;
        clear_line(le);
    }
    if (after_cr && b == '\n')
        return LINE_NONE; /* CR LF is one line end */

    if (le->esc != ESC_NONE) {
        if (b >= 0x80) { /* not part of any sequence we know: drop both */
            le->esc = ESC_NONE;
            return LINE_NONE;
        }
        if (b >= 0x20 && b < KEY_DEL && le->esc_len < LINE_EDIT_ESC_MAX) {
            escape_byte(le, b, out, ctx);
            return LINE_NONE;
        }
        /* a control byte, or a sequence grown too long: it ends here and b acts as itself */
        le->esc = ESC_NONE;
    }

    switch (b) {
    case '\r':
        le->after_cr = true;
        return submit(le, out, ctx);
    case '\n':
        return submit(le, out, ctx);
    case KEY_CTRL_C:
        emit(out, ctx, "^C\r\n", 4);
        clear_line(le);
        le->done = true;
        return LINE_CANCELLED;
    case KEY_CTRL_U:
        show(le, "", 0, false, out, ctx);
        return LINE_NONE;
    case KEY_BS:
    case KEY_DEL:
        if (!le->len) {
            bell(out, ctx);
            return LINE_NONE;
        }
        le->buf[--le->len] = 0;
        emit(out, ctx, "\b \b", 3);
        return LINE_NONE;
    case KEY_ESC:
        le->esc = ESC_START;
        le->esc_len = 1;
        return LINE_NONE;
    default:
        break;
    }
    if (b < 0x20 || b >= KEY_DEL)
        return LINE_NONE; /* other control bytes and 0x80-0xff */
    if (le->len >= LINE_EDIT_MAX) {
        le->overflow = true;
        bell(out, ctx);
        return LINE_NONE;
    }
    le->buf[le->len++] = (char)b;
    le->buf[le->len] = 0;
    emit(out, ctx, (const char *)&b, 1);
    return LINE_NONE;
}
