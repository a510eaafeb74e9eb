/*
 * One serial line, two users: the guest's console (default) and Postern's admin shell.
 * Pure logic (host-tested): which input byte goes where, and the guest output held back while the
 * shell has the line. The hardware side (real UART, the guest's emulated COM1) is hv/console/console.c.
 *
 * Keys (docs/console.md), in the manner of QEMU's Ctrl-A prefix but with Ctrl-] (0x1d), because
 * Ctrl-A belongs to screen, minicom and QEMU itself — the tools an administrator reaches a serial
 * console with:
 *   Ctrl-] s        open the admin shell
 *   Ctrl-] c        back to the guest's console (also the shell's `exit`)
 *   Ctrl-] Ctrl-]   send one Ctrl-] to the guest
 *   Ctrl-] ?        print these keys
 * Any other key after the prefix is dropped. In the shell, every byte but the prefix goes to the
 * line editor.
 *
 * Guest output produced while the shell is open (or while earlier held output is still being
 * written) goes into a ring and is written, in order, once the guest has the line again. When the
 * ring is full the guest's transmitter is paused (its THR stays full: hv/vuart), so nothing is lost;
 * Linux's tty layer waits, and its printk console waits up to 10 ms per character before giving up
 * on a busy port (dropped_by_guest counts what it may have given up on: nothing in our tests).
 */
#ifndef POSTERN_CONSOLE_MUX_H
#define POSTERN_CONSOLE_MUX_H

#include "lib/types.h"

#define MUX_PREFIX_KEY 0x1d /* Ctrl-] */

enum mux_mode { MUX_GUEST, MUX_SHELL };

enum mux_route {
    MUX_NONE,        /* consumed (the prefix, or an unknown key after it) */
    MUX_GUEST_BYTE,  /* *out goes to the guest's receive queue */
    MUX_SHELL_BYTE,  /* *out goes to the shell's line editor */
    MUX_OPEN_SHELL,  /* switch to the shell (the caller prints its banner and prompt) */
    MUX_CLOSE_SHELL, /* switch back to the guest (the caller flushes held output) */
    MUX_KEY_HELP,    /* the caller prints the keys */
};

struct console_mux {
    enum mux_mode mode;
    bool prefix; /* the previous byte was the prefix key */
    u8 *ring;
    u32 cap, head, len;
    u64 held_total; /* bytes that ever went through the ring */
    u64 high_water;
};

void mux_init(struct console_mux *m, u8 *ring, u32 cap);
/* One byte from the serial line. */
enum mux_route mux_input(struct console_mux *m, u8 c, u8 *out);
/* Leave the shell (the `exit` command); returns false if the guest already had the line. */
bool mux_close_shell(struct console_mux *m);
void mux_open_shell(struct console_mux *m);

/* One byte the guest transmitted. Returns MUX_OUT_DIRECT (write it to the line now), MUX_OUT_HELD
 * (queued) or MUX_OUT_FULL (not taken: pause the guest's transmitter and offer it again later). */
enum mux_out { MUX_OUT_DIRECT, MUX_OUT_HELD, MUX_OUT_FULL };
enum mux_out mux_guest_output(struct console_mux *m, u8 c);
/* While the guest has the line: up to max held bytes, oldest first, into buf; returns how many. */
u32 mux_take_held(struct console_mux *m, u8 *buf, u32 max);
static inline u32 mux_held(const struct console_mux *m) { return m->len; }

#endif
