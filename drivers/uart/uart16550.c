/* 16550 UART, polled, with its FIFOs (uart16550.h). Register names from the PC16550D data sheet. */
#include "drivers/uart/uart16550.h"
#include "arch/x86_64/cpu.h"
#include "lib/phys.h"

#define UART_RBR       0 /* receive buffer (DLAB=0) */
#define UART_THR       0 /* transmit holding (DLAB=0) */
#define UART_DLL       0 /* divisor latch low (DLAB=1) */
#define UART_IER       1
#define UART_DLM       1
#define UART_IIR       2 /* read */
#define UART_FCR       2 /* write */
#define UART_LCR       3
#define UART_MCR       4
#define UART_LSR       5
#define UART_SCR       7
#define LCR_8N1        0x03
#define LCR_DLAB       0x80
#define LSR_DR         0x01
#define LSR_THRE       0x20 /* with the FIFOs on: the transmit FIFO is empty */
#define LSR_TEMT       0x40 /* and the shift register too */
#define IER_ERBFI      0x01
#define MCR_OUT2       0x08
#define IIR_FIFOS_ON   0xc0
#define UART_CLOCK_DIV 115200u
#define TX_FIFO        16     /* a 16550A's; later parts have more, 16 is safe on all */
#define WAIT_READS     100000 /* LSR reads a wait for the transmitter gives up after (~100 ms on LPC) */

static enum uart_space space;
static u64 base;
static bool present;
static u32 fifo_room; /* bytes the transmit FIFO takes before LSR must be read again */
static u32 fifo_size;
static u8 ring[UART_TX_RING];
static u32 head, tail; /* free-running: head - tail bytes wait */

static u8 reg_read(unsigned r)
{
    switch (space) {
    case UART_MMIO8:
        return *(volatile u8 *)phys_to_virt(base + r);
    case UART_MMIO32:
        return (u8) * (volatile u32 *)phys_to_virt(base + 4ull * r);
    default:
        return inb((u16)(base + r));
    }
}

static void reg_write(unsigned r, u8 v)
{
    switch (space) {
    case UART_MMIO8:
        *(volatile u8 *)phys_to_virt(base + r) = v;
        break;
    case UART_MMIO32:
        *(volatile u32 *)phys_to_virt(base + 4ull * r) = v;
        break;
    default:
        outb((u16)(base + r), v);
        break;
    }
}

void uart_tx_poll(void)
{
    if (!present)
        return;
    while (head != tail) {
        if (!fifo_room) {
            if (!(reg_read(UART_LSR) & LSR_THRE))
                return;
            fifo_room = fifo_size;
        }
        reg_write(UART_THR, ring[tail++ % UART_TX_RING]);
        fifo_room--;
    }
}

u32 uart_tx_pending(void) { return head - tail; }

/* Until the ring has drained to `keep` bytes, or the transmitter stops taking bytes for WAIT_READS
 * reads: a UART that never empties (or vanished) must not hang the hypervisor. */
static void drain_to(u32 keep)
{
    u32 stalled = 0;
    while (present && head - tail > keep) {
        u32 before = tail;
        uart_tx_poll();
        if (tail != before) {
            stalled = 0;
        } else if (++stalled >= WAIT_READS) {
            tail = head - keep; /* give up on the oldest bytes */
            return;
        } else {
            cpu_relax();
        }
    }
}

void uart_flush(void)
{
    drain_to(0);
    for (int i = 0; present && i < WAIT_READS && !(reg_read(UART_LSR) & LSR_TEMT); i++)
        cpu_relax();
}

bool uart_init_at(enum uart_space s, u64 b, u32 baud)
{
    u32 div = baud ? UART_CLOCK_DIV / baud : 1;

    uart_flush(); /* the previous UART's (the loader's) output first */
    present = false;
    head = tail = 0;
    space = s;
    base = b;
    /* The scratch register keeps what is written to it on any 16550; an empty bus reads 0xff.
     * Without a UART every later write is skipped rather than spun on. */
    reg_write(UART_SCR, 0x5a);
    if (reg_read(UART_SCR) != 0x5a)
        return false;
    reg_write(UART_IER, 0);
    reg_write(UART_LCR, LCR_DLAB);
    reg_write(UART_DLL, div & 0xff);
    reg_write(UART_DLM, (div >> 8) & 0xff);
    reg_write(UART_LCR, LCR_8N1);
    reg_write(UART_FCR, 0x07); /* enable and clear FIFOs */
    reg_write(UART_MCR, 0x03); /* DTR, RTS; OUT2 off: no interrupts */
    /* A 16450 (no FIFO) takes one byte per THRE. */
    fifo_size = (reg_read(UART_IIR) & IIR_FIFOS_ON) == IIR_FIFOS_ON ? TX_FIFO : 1;
    fifo_room = 0;
    present = true;
    return true;
}

void uart_putc(char c)
{
    if (!present)
        return;
    if (head - tail >= UART_TX_RING)
        drain_to(UART_TX_RING / 2); /* full: the line is the limit now */
    ring[head++ % UART_TX_RING] = (u8)c;
    uart_tx_poll();
}

void uart_write(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\n')
            uart_putc('\r');
        uart_putc(s[i]);
    }
}

int uart_getc(void)
{
    if (!present || !(reg_read(UART_LSR) & LSR_DR))
        return -1;
    return reg_read(UART_RBR);
}

bool uart_rx_ready(void) { return present && (reg_read(UART_LSR) & LSR_DR); }

void uart_rx_interrupt(bool on)
{
    if (!present)
        return;
    reg_write(UART_IER, on ? IER_ERBFI : 0);
    reg_write(UART_MCR, on ? 0x03 | MCR_OUT2 : 0x03);
}
