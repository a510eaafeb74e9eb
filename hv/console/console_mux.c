/* The serial line's two users: routing and held guest output (console_mux.h). */
#include "console/console_mux.h"

void mux_init(struct console_mux *m, u8 *ring, u32 cap)
{
    m->mode = MUX_GUEST;
    m->prefix = false;
    m->ring = ring;
    m->cap = ring ? cap : 0;
    m->head = m->len = 0;
    m->held_total = m->high_water = 0;
}

void mux_open_shell(struct console_mux *m)
{
    m->mode = MUX_SHELL;
    m->prefix = false;
}

bool mux_close_shell(struct console_mux *m)
{
    bool was = m->mode == MUX_SHELL;
    m->mode = MUX_GUEST;
    m->prefix = false;
    return was;
}

enum mux_route mux_input(struct console_mux *m, u8 c, u8 *out)
{
    if (!m->prefix) {
        if (c == MUX_PREFIX_KEY) {
            m->prefix = true;
            return MUX_NONE;
        }
        *out = c;
        return m->mode == MUX_GUEST ? MUX_GUEST_BYTE : MUX_SHELL_BYTE;
    }
    m->prefix = false;
    switch (c) {
    case MUX_PREFIX_KEY:
        if (m->mode != MUX_GUEST)
            return MUX_NONE; /* the shell has no use for it */
        *out = c;
        return MUX_GUEST_BYTE;
    case 's':
    case 'S':
        if (m->mode == MUX_SHELL)
            return MUX_NONE;
        mux_open_shell(m);
        return MUX_OPEN_SHELL;
    case 'c':
    case 'C':
        return mux_close_shell(m) ? MUX_CLOSE_SHELL : MUX_NONE;
    case '?':
    case 'h':
    case 'H':
        return MUX_KEY_HELP;
    default:
        return MUX_NONE;
    }
}

enum mux_out mux_guest_output(struct console_mux *m, u8 c)
{
    if (m->mode == MUX_GUEST && m->len == 0)
        return MUX_OUT_DIRECT;
    if (m->len == m->cap)
        return MUX_OUT_FULL;
    m->ring[(m->head + m->len) % m->cap] = c;
    m->len++;
    m->held_total++;
    if (m->len > m->high_water)
        m->high_water = m->len;
    return MUX_OUT_HELD;
}

u32 mux_take_held(struct console_mux *m, u8 *buf, u32 max)
{
    u32 n = 0;
    if (m->mode != MUX_GUEST)
        return 0;
    while (n < max && m->len) {
        buf[n++] = m->ring[m->head];
        m->head = (m->head + 1) % m->cap;
        m->len--;
    }
    return n;
}
