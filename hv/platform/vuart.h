/*
 * The guest's COM1: a 16550A UART model, pure logic (docs/console.md, "The guest's serial port").
 *
 * The exit handler owns the ports (base 0x3f8, offsets 0..7) and calls vuart_read/vuart_write for
 * each one-byte IN/OUT; the console multiplexer feeds received bytes in with vuart_rx_push and
 * takes transmitted bytes through the sink. The model does no I/O, takes no lock and allocates
 * nothing; every function returns at once. After any call that may change it (all of them but
 * vuart_rx_space), the caller samples vuart_irq_line and delivers the guest's IRQ 4 on a rising
 * edge, as the ISA bus does.
 */
#ifndef POSTERN_VUART_H
#define POSTERN_VUART_H

#include "lib/types.h"

/* Register offsets from the base port (PC16550D data sheet, table II). */
#define VUART_RBR      0 /* read, DLAB=0: receiver buffer */
#define VUART_THR      0 /* write, DLAB=0: transmitter holding */
#define VUART_DLL      0 /* DLAB=1: divisor latch, low byte */
#define VUART_IER      1 /* DLAB=0: interrupt enable */
#define VUART_DLM      1 /* DLAB=1: divisor latch, high byte */
#define VUART_IIR      2 /* read: interrupt identification */
#define VUART_FCR      2 /* write: FIFO control */
#define VUART_LCR      3 /* line control; bit 7 = DLAB */
#define VUART_MCR      4 /* modem control */
#define VUART_LSR      5 /* line status */
#define VUART_MSR      6 /* modem status */
#define VUART_SCR      7 /* scratch */
#define VUART_NR_PORTS 8

#define VUART_IER_ERBFI 0x01 /* received data available */
#define VUART_IER_ETBEI 0x02 /* transmitter holding register empty */
#define VUART_IER_ELSI  0x04 /* receiver line status */
#define VUART_IER_EDSSI 0x08 /* modem status */
#define VUART_IER_MASK  0x0f /* bits 7:4 read 0 on a 16550A */

#define VUART_IIR_NO_INT  0x01
#define VUART_IIR_MSI     0x00 /* modem status */
#define VUART_IIR_THRI    0x02 /* transmitter holding register empty */
#define VUART_IIR_RDI     0x04 /* received data available */
#define VUART_IIR_RLSI    0x06 /* receiver line status */
#define VUART_IIR_TIMEOUT 0x0c /* character timeout (FIFO mode) */
#define VUART_IIR_ID_MASK 0x0f
#define VUART_IIR_FIFO_ON 0xc0 /* both bits set when the FIFOs are enabled */

#define VUART_FCR_ENABLE     0x01
#define VUART_FCR_CLEAR_RCVR 0x02
#define VUART_FCR_CLEAR_XMIT 0x04
#define VUART_FCR_DMA_MODE   0x08
#define VUART_FCR_TRIGGER    0xc0 /* receiver trigger level: 1, 4, 8, 14 bytes */

#define VUART_LCR_DLAB 0x80

#define VUART_MCR_DTR  0x01
#define VUART_MCR_RTS  0x02
#define VUART_MCR_OUT1 0x04
#define VUART_MCR_OUT2 0x08 /* on a PC: gates INTR onto the IRQ line */
#define VUART_MCR_LOOP 0x10
#define VUART_MCR_MASK 0x1f /* bits 7:5 read 0 on a 16550A */

#define VUART_LSR_DR     0x01 /* data ready */
#define VUART_LSR_OE     0x02 /* overrun error */
#define VUART_LSR_PE     0x04
#define VUART_LSR_FE     0x08
#define VUART_LSR_BI     0x10
#define VUART_LSR_THRE   0x20 /* transmitter holding register (FIFO) empty */
#define VUART_LSR_TEMT   0x40 /* transmitter empty */
#define VUART_LSR_ERRORS (VUART_LSR_OE | VUART_LSR_PE | VUART_LSR_FE | VUART_LSR_BI)

#define VUART_MSR_DCTS   0x01
#define VUART_MSR_DDSR   0x02
#define VUART_MSR_TERI   0x04 /* RI went from on to off */
#define VUART_MSR_DDCD   0x08
#define VUART_MSR_CTS    0x10
#define VUART_MSR_DSR    0x20
#define VUART_MSR_RI     0x40
#define VUART_MSR_DCD    0x80
#define VUART_MSR_DELTAS 0x0f

/* The 16550A's FIFOs (and its receiver in loopback mode) hold 16 bytes. */
#define VUART_FIFO_SIZE 16
/* Bytes from outside waiting for the guest: a pasted line or a burst of typing is not lost while
 * the guest is slow to drain it (Linux reads up to 256 per interrupt). */
#define VUART_RX_QUEUE 256

/* Where transmitted bytes go. put() returns false when it has no room: the byte stays in the
 * transmitter (LSR.THRE and TEMT read 0) until vuart_tx_retry(). put() must not call back into
 * the vuart. A NULL sink or NULL put discards every byte (a port with nothing attached). */
struct vuart_sink {
    bool (*put)(void *ctx, u8 c);
    void *ctx;
};

struct vuart_stats {
    u64 tx;         /* bytes the sink took */
    u64 rx;         /* bytes vuart_rx_push accepted */
    u64 tx_dropped; /* THR writes while the transmit FIFO was full (lost, as on hardware) */
    u64 overruns;   /* loopback bytes lost to a full receiver (LSR.OE) */
};

struct vuart {
    struct vuart_sink sink;
    u8 ier, lcr, mcr, fcr, scr, dll, dlm;
    u8 lsr_errors;     /* sticky LSR error bits, cleared by reading LSR */
    u8 msr_deltas;     /* MSR bits 3:0, cleared by reading MSR */
    u8 rbr;            /* the last byte the guest read: what RBR returns when nothing is waiting */
    bool thre_pending; /* the THRE interrupt's latch (cleared by IIR reporting it or a THR write) */
    /* No interrupt can reach the guest (no ACPI to say where IRQ 4 goes). The UART then behaves
     * like one that does not re-assert THRE on a second ETBEI 0->1 while idle with no THR write
     * in between, which Linux's 8250 startup test detects (UART_BUG_THRE) and answers by driving
     * the transmitter from a timer instead of the interrupt. Set after vuart_init. */
    bool no_irq;
    bool thre_quiet; /* no_irq: THRE already raised by an ETBEI 0->1 since the last THR write */
    u16 rx_head, rx_count;
    u8 rx[VUART_RX_QUEUE];
    u8 tx_head, tx_count;
    u8 tx[VUART_FIFO_SIZE];
    struct vuart_stats stats;
};

/* Power-on state (data sheet table IV; the divisor, undefined there, is 1: 115200 baud) with the
 * given sink, copied. Also the guest's reset: call it again, queued bytes are discarded. */
void vuart_init(struct vuart *u, const struct vuart_sink *sink);

/* A guest IN/OUT of one byte at base + offset. An offset >= 8 reads 0xff and ignores writes. */
u8 vuart_read(struct vuart *u, u8 offset);
void vuart_write(struct vuart *u, u8 offset, u8 value);

/* The level of the IRQ line as a PC wires the UART: an interrupt is identified in IIR and
 * MCR.OUT2 is set (OUT2 enables the board's IRQ driver) and loopback is off (the data sheet
 * forces the modem outputs, OUT2 among them, inactive in loopback). */
bool vuart_irq_line(const struct vuart *u);

/* A byte from outside for the guest. False when the receive queue is full or the guest has the
 * port in loopback mode (its receiver is then cut off from the line): the caller keeps the byte
 * and offers it again later; nothing is lost. */
bool vuart_rx_push(struct vuart *u, u8 c);
/* How many vuart_rx_push calls would succeed now (0 in loopback mode). */
u32 vuart_rx_space(const struct vuart *u);

/* The sink has room again: bytes held in the transmitter go out, in order, until put() refuses
 * one or none is left; when the transmitter empties, THRE/TEMT rise and the THRE interrupt is
 * raised. Harmless at any time. */
void vuart_tx_retry(struct vuart *u);

/* Bytes held in the transmitter because the sink refused them (0..16). */
u32 vuart_tx_pending(const struct vuart *u);

#endif
