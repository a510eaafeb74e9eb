/* 16550 UART, polled. Register names from the PC16550D data sheet. */
#include "drivers/uart/uart16550.h"
#include "arch/x86_64/cpu.h"

#define UART_THR       0 /* transmit holding (DLAB=0) */
#define UART_DLL       0 /* divisor latch low (DLAB=1) */
#define UART_IER       1
#define UART_DLM       1
#define UART_FCR       2
#define UART_LCR       3
#define UART_MCR       4
#define UART_LSR       5
#define UART_SCR       7
#define LCR_8N1        0x03
#define LCR_DLAB       0x80
#define LSR_THRE       0x20
#define UART_CLOCK_DIV 115200u

static u16 uart_port;

bool uart_init(u16 port, u32 baud)
{
    u32 div = baud ? UART_CLOCK_DIV / baud : 1;

    /* The scratch register keeps what is written to it on any 16550; an empty bus reads 0xff.
     * Without a UART every later write is skipped rather than spun on. */
    outb(port + UART_SCR, 0x5a);
    if (inb(port + UART_SCR) != 0x5a) {
        uart_port = 0;
        return false;
    }
    uart_port = port;
    outb(port + UART_IER, 0);
    outb(port + UART_LCR, LCR_DLAB);
    outb(port + UART_DLL, div & 0xff);
    outb(port + UART_DLM, (div >> 8) & 0xff);
    outb(port + UART_LCR, LCR_8N1);
    outb(port + UART_FCR, 0x07); /* enable and clear FIFOs */
    outb(port + UART_MCR, 0x03); /* DTR, RTS; OUT2 off: no interrupts */
    return true;
}

void uart_putc(char c)
{
    if (!uart_port)
        return;
    /* Bounded wait: a missing UART must not hang the hypervisor. */
    for (int i = 0; i < 100000 && !(inb(uart_port + UART_LSR) & LSR_THRE); i++)
        cpu_relax();
    outb(uart_port + UART_THR, (u8)c);
}

void uart_write(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\n')
            uart_putc('\r');
        uart_putc(s[i]);
    }
}

#define UART_RBR  0 /* receive buffer (DLAB=0) */
#define LSR_DR    0x01
#define IER_ERBFI 0x01
#define MCR_OUT2  0x08

int uart_getc(void)
{
    if (!uart_port || !(inb(uart_port + UART_LSR) & LSR_DR))
        return -1;
    return inb(uart_port + UART_RBR);
}

bool uart_rx_ready(void) { return uart_port && (inb(uart_port + UART_LSR) & LSR_DR); }

void uart_rx_interrupt(bool on)
{
    if (!uart_port)
        return;
    outb(uart_port + UART_IER, on ? IER_ERBFI : 0);
    outb(uart_port + UART_MCR, on ? 0x03 | MCR_OUT2 : 0x03);
}
