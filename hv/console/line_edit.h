/*
 * The admin shell's line editor (docs/admin-shell.md): turns the bytes typed on the serial line into
 * whole lines, echoing what it keeps. Pure logic: no UART, no allocation, all state inside
 * struct line_edit; the caller feeds one byte at a time and gets echo and redraw bytes through a
 * callback. Freestanding (hv/lib/lib.h only) and host-tested (tests/unit/test_line_edit.c,
 * tests/fuzz/fuzz_shell.c).
 *
 * Keys:
 *   0x20-0x7e              appended and echoed; past LINE_EDIT_MAX characters dropped with a bell
 *   Backspace 0x08, DEL    erase the last character ("\b \b"); bell on an empty line
 *   Ctrl-U 0x15            erase the whole line
 *   Ctrl-C 0x03            "^C\r\n", the line is dropped: LINE_CANCELLED
 *   CR, LF, CR LF          "\r\n", the line is done: LINE_READY (an LF right after a CR is swallowed,
 *                          so CR LF is one line); LINE_TOO_LONG if characters were dropped
 *   ESC [ A, ESC O A       previous history entry (the line is redrawn)
 *   ESC [ B, ESC O B       next history entry, and past the newest the line being typed
 *                          (a recalled entry may be edited and submitted; the edit is dropped
 *                          if Up/Down moves on first). History keeps the last LINE_EDIT_HISTORY
 *                          submitted lines that are not blank, not overlong and not a repeat of
 *                          the newest entry.
 * Every other escape sequence (ESC x, CSI with parameters such as ESC [ 1 ; 5 C, SS3 other than
 * A/B) is swallowed without echo. A control byte inside a sequence ends it and then acts as
 * itself (so Enter and Ctrl-C always work); a sequence longer than LINE_EDIT_ESC_MAX bytes is
 * dropped and the bytes after it are ordinary input. Other control bytes (tab included) and bytes
 * 0x80-0xff are ignored.
 *
 * Redraws use only backspace and space (no cursor-addressing sequences and no knowledge of the
 * prompt), so they work on any terminal as long as the line fits on one row.
 */
#ifndef POSTERN_LINE_EDIT_H
#define POSTERN_LINE_EDIT_H

#include "lib/types.h"

#define LINE_EDIT_MAX     200 /* characters in a line */
#define LINE_EDIT_HISTORY 8   /* lines remembered */
#define LINE_EDIT_ESC_MAX 16  /* bytes of an escape sequence, ESC included, before it is dropped */

/* Receives echo and redraw bytes (not NUL-terminated); may be NULL for no echo. */
typedef void (*line_out_fn)(void *ctx, const char *s, size_t n);

enum line_status {
    LINE_NONE,      /* keep feeding */
    LINE_READY,     /* a line was submitted: line_edit_line() */
    LINE_CANCELLED, /* Ctrl-C: the line was dropped */
    LINE_TOO_LONG,  /* submitted, but characters past LINE_EDIT_MAX were dropped: refuse the line
                       ("error: line too long (at most LINE_EDIT_MAX characters)"); line_edit_line()
                       gives the first LINE_EDIT_MAX; not entered into history */
};

struct line_edit {
    char buf[LINE_EDIT_MAX + 1]; /* the line, always NUL-terminated */
    u16 len;
    bool overflow;   /* characters were dropped since the line began */
    bool done;       /* the last byte ended a line: the next byte starts a new one */
    bool after_cr;   /* the last byte was a CR that ended a line */
    u8 esc;          /* enum in line_edit.c: where in an escape sequence we are */
    u8 esc_len;      /* bytes of it so far, ESC included */
    bool esc_params; /* the CSI has parameter or intermediate bytes */
    /* history: a ring of hist_count entries; the newest is hist[(hist_next + H - 1) % H] */
    char hist[LINE_EDIT_HISTORY][LINE_EDIT_MAX + 1];
    u8 hist_count, hist_next;
    s8 hist_pos;                   /* -1: the line being typed; k: the entry k steps back from the newest */
    char saved[LINE_EDIT_MAX + 1]; /* the line being typed while history is shown */
    u16 saved_len;
    bool saved_overflow;
};

void line_edit_init(struct line_edit *le);
/* Feeds one byte; echo and redraws go to out(ctx, ...). */
enum line_status line_edit_feed(struct line_edit *le, u8 byte, line_out_fn out, void *ctx);
/* The current line, NUL-terminated, at most LINE_EDIT_MAX characters, printable ASCII only. After
 * LINE_READY / LINE_TOO_LONG it is the submitted line, valid until the next line_edit_feed(). */
const char *line_edit_line(const struct line_edit *le);
/* Drops the line being typed (no output), as after Ctrl-C; history is kept. */
void line_edit_reset(struct line_edit *le);

#endif
