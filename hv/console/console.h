/*
 * The serial line at run time (docs/console.md): the real UART is Postern's; the guest gets an
 * emulated 16550A at COM1 (platform/vuart) whose output is written to the line and whose input
 * comes from it, except while the administrator has the admin shell open (hv/console_mux,
 * hv/shell). Nothing the guest does reaches the real UART directly.
 */
#ifndef POSTERN_CONSOLE_H
#define POSTERN_CONSOLE_H

#include "core/boot_info.h"
#include "core/vcpu.h"
#include "core/guest_physmap.h"

#define GUEST_COM1_PORT 0x3f8
#define GUEST_COM1_IRQ  4

void console_setup(const struct boot_info *bi);
/* Intercept the guest's COM1 ports (and the real UART's, if it sits elsewhere) on this vCPU. */
void console_attach_vcpu(struct vcpu *v);
/* A guest port access: true when it was one of the console's ports (*value read/written). */
bool console_io(struct vcpu *v, u16 port, unsigned size, bool in, u32 *value);
/* Take input from the line, write held guest output, deliver held interrupts. Cheap when idle;
 * the exit loop calls it every few exits. */
void console_poll(void);
/* Physical ranges the guest must not reach because Postern's UART is there: a memory-mapped
 * UART's page (none for an I/O-port UART: its ports are intercepted, console_attach_vcpu), and the
 * framebuffer's pages when the log is drawn there (bi->fb_log: no UART answered). Pure on
 * bi, usable before console_setup: the nested-table builder unmaps them from whatever it maps as
 * device memory. Returns how many (at most max). */
#define CONSOLE_HIDDEN_MAX 2
int console_hidden_ranges(const struct boot_info *bi, struct phys_range *out, int max);
/* console_poll, then all output out of the UART (bounded): the guest is about to sleep. */
void console_before_halt(void);
/* What the HLT wait calls to see input (vcpu_ops->wait_for_event): NULL when a received byte
 * raises an interrupt that wakes the CPU anyway (Postern's UART at the guest's COM1 port, whose
 * IRQ 4 the guest takes: "Waking up" in docs/console.md). */
bool (*console_line_ready_fn(void))(void);
/* The guest has stopped for good: the admin shell keeps the line from now on. Never returns. */
NORETURN void console_serve_forever(void);

/* For the shell. */
void console_close_shell(void);              /* back to the guest's console (the `exit` command) */
bool console_shell_active(void);             /* the shell has the line */
void console_write(const char *s, size_t n); /* shell output: "\n" becomes "\r\n" */
void console_puts(const char *s);
void console_write_raw(const char *s, size_t n); /* bytes as they are (the line editor's echo) */
struct console_stats {
    u64 guest_tx, guest_rx, held_total, held_now, high_water, edges_sent, edges_held, line_bytes;
};
void console_stats(struct console_stats *s);

#endif
