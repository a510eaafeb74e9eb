/* The serial line shared by the guest's console and the admin shell (console.h, docs/console.md). */
#include "console/console.h"
#include "arch/x86_64/cpu.h"
#include "console/console_mux.h"
#include "drivers/uart/uart16550.h"
#include "platform/vuart.h"
#include "platform/guest_irq.h"
#include "lib/lib.h"
#include "lib/log.h"
#include "console/shell.h"

#define HELD_BYTES       (64 * 1024) /* guest output held while the shell has the line */
#define DRAIN_PER_POLL   256         /* held bytes written per poll: the guest keeps running meanwhile */
#define INPUT_PER_POLL   64
#define SUPERIO_CONFIG_A 0x2e /* index/data pairs at 0x2e/0x2f and 0x4e/0x4f */
#define SUPERIO_CONFIG_B 0x4e

static u8 held_ring[HELD_BYTES];
static struct console_mux mux;
static struct vuart com1;
static bool irq_level; /* the emulated UART's interrupt line as last seen */
static u16 real_port;
static int pending_in = -1; /* a byte from the line the guest's receive queue could not take yet */
static u64 guest_tx, guest_rx, line_bytes;
static bool serving_forever; /* the guest has stopped: the shell keeps the line */

static bool com1_put(void *ctx, u8 c)
{
    (void)ctx;
    switch (mux_guest_output(&mux, c)) {
    case MUX_OUT_DIRECT:
        uart_putc((char)c);
        break;
    case MUX_OUT_HELD:
        break;
    case MUX_OUT_FULL:
        return false; /* the guest's THR stays full until console_poll drains the ring */
    }
    guest_tx++;
    return true;
}

/* The emulated line rose: an edge on ISA IRQ 4, as the guest's I/O APIC routes it. */
static void update_irq(void)
{
    bool level = vuart_irq_line(&com1);
    if (level && !irq_level)
        guest_irq_edge();
    irq_level = level;
}

void console_write(const char *s, size_t n) { uart_write(s, n); }
void console_puts(const char *s) { uart_write(s, strlen(s)); }
void console_write_raw(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        uart_putc(s[i]);
}

static void print_keys(void)
{
    console_puts("\n[postern] keys: Ctrl-] s  admin shell   Ctrl-] c  guest console   "
                 "Ctrl-] Ctrl-]  send Ctrl-] to the guest   Ctrl-] ?  this help\n");
}

bool console_shell_active(void) { return mux.mode == MUX_SHELL; }

void console_close_shell(void)
{
    if (serving_forever) {
        console_puts("[postern] the guest has stopped: the admin shell stays (reset restarts the machine)\n");
        return;
    }
    if (!mux_close_shell(&mux))
        return;
    if (mux_held(&mux)) {
        char line[96];
        int n = fmt_snprintf(line, sizeof(line), "[postern] back to the guest console (%u bytes of its output held)\n",
                             mux_held(&mux));
        console_write(line, (size_t)n);
    } else {
        console_puts("[postern] back to the guest console\n");
    }
}

static void route_input(u8 c)
{
    u8 out;
    switch (mux_input(&mux, c, &out)) {
    case MUX_NONE:
        break;
    case MUX_GUEST_BYTE:
        if (vuart_rx_push(&com1, out))
            guest_rx++;
        else
            pending_in = out;
        break;
    case MUX_SHELL_BYTE:
        shell_input(out);
        break;
    case MUX_OPEN_SHELL:
        shell_open();
        break;
    case MUX_CLOSE_SHELL:
        mux_open_shell(&mux); /* console_close_shell prints the notice and closes */
        console_close_shell();
        break;
    case MUX_KEY_HELP:
        print_keys();
        break;
    }
}

static bool line_ready(void) { return uart_rx_ready(); }

bool (*console_line_ready_fn(void))(void) { return real_port == GUEST_COM1_PORT ? NULL : line_ready; }

void console_before_halt(void)
{
    console_poll();
    uart_flush(); /* the guest sleeps: its last output must not wait in the ring for its wake-up */
}

void console_poll(void)
{
    u8 buf[DRAIN_PER_POLL];
    u32 n;

    uart_tx_poll();

    /* Input: a byte the guest could not take waits for room before more is read from the line
     * (the UART's own FIFO holds the rest). */
    if (pending_in >= 0) {
        if (!vuart_rx_push(&com1, (u8)pending_in))
            goto output;
        guest_rx++;
        pending_in = -1;
    }
    for (int i = 0; i < INPUT_PER_POLL && pending_in < 0; i++) {
        int c = uart_getc();
        if (c < 0)
            break;
        line_bytes++;
        route_input((u8)c);
    }
output:
    n = mux_take_held(&mux, buf, sizeof(buf));
    for (u32 i = 0; i < n; i++)
        uart_putc((char)buf[i]);
    if (n || mux_held(&mux) == 0)
        vuart_tx_retry(&com1);
    update_irq();
    guest_irq_poll();
}

bool console_io(struct vcpu *v, u16 port, unsigned size, bool in, u32 *value)
{
    (void)v;
    if (port >= GUEST_COM1_PORT && port < GUEST_COM1_PORT + 8) {
        /* Byte registers; a wider access touches the next ones, as on an ISA bus. */
        u32 r = 0xffffffffu; /* bytes past COM1's last register: nothing answers */
        for (unsigned i = 0; i < size && port + i < GUEST_COM1_PORT + 8; i++) {
            u8 off = (u8)(port + i - GUEST_COM1_PORT);
            if (in)
                r = (r & ~(0xffu << (8 * i))) | (u32)vuart_read(&com1, off) << (8 * i);
            else
                vuart_write(&com1, off, (u8)(*value >> (8 * i)));
        }
        if (in)
            *value = r;
        console_poll();
        return true;
    }
    if ((port & ~1u) == SUPERIO_CONFIG_A || (port & ~1u) == SUPERIO_CONFIG_B) {
        /* A Super I/O chip's configuration ports: the chip that usually holds Postern's UART.
         * Linux's 8250 driver knocks on them (fintek_8250_probe writes the 0x87 0x87 entry key)
         * and could move or switch off the real UART. The guest finds no chip there. */
        if (in)
            *value = 0xffffffffu;
        return true;
    }
    if (real_port && real_port != GUEST_COM1_PORT && port >= real_port && port < real_port + 8) {
        /* Postern's own UART elsewhere: an empty bus to the guest. */
        if (in)
            *value = 0xffffffffu;
        return true;
    }
    return false;
}

void console_attach_vcpu(struct vcpu *v)
{
    for (u16 p = 0; p < 2; p++) {
        vcpu_ops->set_io_intercept(v, SUPERIO_CONFIG_A + p, true);
        vcpu_ops->set_io_intercept(v, SUPERIO_CONFIG_B + p, true);
    }
    for (u16 p = 0; p < 8; p++) {
        vcpu_ops->set_io_intercept(v, GUEST_COM1_PORT + p, true);
        if (real_port && real_port != GUEST_COM1_PORT)
            vcpu_ops->set_io_intercept(v, real_port + p, true);
    }
}

void console_setup(const struct boot_info *bi)
{
    static const struct vuart_sink sink = { com1_put, NULL };
    char err[120];

    real_port = bi->serial_space == UART_IO ? bi->serial_port : 0; /* an MMIO UART: console_hidden_ranges */
    mux_init(&mux, held_ring, sizeof(held_ring));
    vuart_init(&com1, &sink);
    if (guest_irq_init(bi->acpi_rsdp, GUEST_COM1_IRQ, err, sizeof(err)) != 0) {
        LOG("console: the guest's COM1 gets no interrupts (%s): its driver must poll", err);
        com1.no_irq = true;
    }
    /* A byte arriving on the line raises IRQ 4, which the guest's own COM1 handler takes: its
     * register reads are the exits that bring the byte in (otherwise the line is read every few
     * exits). Only when the real UART is the guest's COM1 port, so the IRQ is the one it expects. */
    if (real_port == GUEST_COM1_PORT)
        uart_rx_interrupt(true);
    shell_init(bi);
    LOG("console: the guest's COM1 (0x%x, IRQ %u) is emulated; Ctrl-] s opens the admin shell, Ctrl-] c returns",
        GUEST_COM1_PORT, GUEST_COM1_IRQ);
}

void console_stats(struct console_stats *s)
{
    memset(s, 0, sizeof(*s));
    s->guest_tx = guest_tx;
    s->guest_rx = guest_rx;
    s->held_total = mux.held_total;
    s->held_now = mux_held(&mux);
    s->high_water = mux.high_water;
    s->line_bytes = line_bytes;
    guest_irq_counts(&s->edges_sent, &s->edges_held);
}

NORETURN void console_serve_forever(void)
{
    u8 buf[DRAIN_PER_POLL];
    u32 n;

    serving_forever = true;
    uart_rx_interrupt(false);
    /* The guest's last words first: whatever it printed while the shell had the line. */
    mux_close_shell(&mux);
    while ((n = mux_take_held(&mux, buf, sizeof(buf))) != 0)
        for (u32 i = 0; i < n; i++)
            uart_putc((char)buf[i]);
    mux_open_shell(&mux);
    shell_open();
    for (;;) {
        console_poll();
        for (int i = 0; i < 2000; i++)
            cpu_relax();
    }
}
