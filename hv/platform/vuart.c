/*
 * The guest's COM1, a 16550A model (vuart.h). Register behaviour follows the PC16550D data sheet;
 * the choices where a model without a baud clock must differ are these:
 *
 * - Transmit. A THR write goes to the sink at once, so the transmitter empties as soon as it is
 *   written (an infinitely fast line) unless the sink refuses the byte. Refused bytes wait in a
 *   16-byte transmit FIFO (1 byte with the FIFOs off, as the 16450 mode has only THR), THRE and
 *   TEMT read 0 while anything waits, and vuart_tx_retry (or the next THR write) sends them on.
 *   A THR write while that FIFO is full is lost, as on hardware (counted in stats.tx_dropped).
 *   There is no transmit shift register, so TEMT always equals THRE.
 * - Receive. Bytes from outside queue in a 256-byte queue (VUART_RX_QUEUE) in front of RBR, with
 *   the FIFOs on or off: the guest sees bytes arrive exactly as fast as it reads them. The queue
 *   refuses bytes rather than overrunning (the caller keeps them), so the line never produces OE,
 *   PE, FE or BI. In loopback mode the receiver is the hardware's: 16 bytes with the FIFOs on, 1
 *   with them off; one more sets LSR.OE and is dropped, so Linux's size_fifo() counts 16.
 * - Receive interrupt. With the FIFOs on and fewer bytes queued than the trigger level, IIR says
 *   "character timeout" (0x0c) at once, as if the four character times had passed; at or above
 *   the trigger level, and always with the FIFOs off, "data available" (0x04).
 * - Modem lines. Outside loopback the model is a terminal that is connected and ready: CTS, DSR
 *   and DCD on, RI off. In loopback CTS=RTS, DSR=DTR, RI=OUT1, DCD=OUT2. Every change (including
 *   entering and leaving loopback) sets the matching delta bit (TERI on RI going off).
 * - Writes to LSR and MSR (factory test on hardware) are ignored. FCR bits 3 (DMA mode) and 7:6
 *   (trigger) are kept; bit 5 (the 16750's 64-byte mode) is not, so IIR bit 5 is always 0.
 *
 * What Linux 6.1 sees (drivers/tty/serial/8250/8250_port.c; tests/unit/test_vuart.c replays it):
 * - autoconfig(): IER test — IER=0 reads back 0, IER=0x0f reads back 0x0f. Loopback test —
 *   MCR=LOOP|RTS|OUT2 gives MSR & 0xf0 == 0x90 (CTS|DCD). LCR=0xbf and a write of 0 to "EFR",
 *   which on a 16550A is FCR (DLAB does not hide FCR/IIR); LCR=0; FCR=ENABLE_FIFO; IIR bits 7:6
 *   == 3 → autoconfig_16550a(), type 16550A. Debian's kernel has 8250_16550A_VARIANTS off, so
 *   it returns there; with the variants (or UPF_FULL_PROBE) it goes on: "EFR" under LCR=0x80
 *   and 0xbf reads IIR, never 0 (bit 0 is set when nothing is pending, 0xc1 here) → no EFR;
 *   the NatSemi test reads IIR bit 4 under LCR=0xe0 before and after toggling MCR.LOOP → always
 *   0, not NatSemi; the 16750 test looks for IIR bit 5 after FCR=0x21 → never set (status 6, 6);
 *   the XScale test writes IER bit 6 → reads back 0 (only bits 3:0 are writable); size_fifo()
 *   sends 256 bytes in loopback → 16 come back, not 64 → stays 16550A. Then it restores MCR,
 *   clears the FIFOs (FCR 0x01, 0x07, 0), reads RBR and writes IER=0.
 * - serial8250_do_startup(): clears the FIFOs, reads LSR/RBR/IIR/MSR, checks LSR != 0xff
 *   (LSR reads 0x60). THRE test: IER=THRI then IIR reports THRE (0x02) and that read clears
 *   it; IER=0, IER=THRI (a 0→1 change with THR empty) reports THRE again → no UART_BUG_THRE.
 *   TXEN test: IER=THRI, LSR has TEMT, IIR reports THRE → no UART_BUG_TXEN. If the sink is
 *   refusing bytes at that moment THRE and TEMT read 0 and neither bug is set either (both tests
 *   need an interrupt missing while the transmitter is idle).
 * - Running: IER.ETBEI 0→1 in __start_tx raises THRE; the handler reads IIR, then LSR, writes up
 *   to 16 bytes (tx_loadsz) without looking at LSR in between — hence the 16-byte transmit FIFO
 *   under backpressure — and reads RBR while LSR.DR. The console's serial8250_console_write
 *   polls LSR.THRE for up to 10 ms before every byte (with the FIFOs on and a tty open: up to
 *   16 x 10 ms before every 16 bytes), then writes anyway.
 */
#include "platform/vuart.h"
#include "lib/lib.h"

static bool fifo_on(const struct vuart *u) { return u->fcr & VUART_FCR_ENABLE; }

static bool loopback(const struct vuart *u) { return u->mcr & VUART_MCR_LOOP; }

static u8 tx_capacity(const struct vuart *u) { return fifo_on(u) ? VUART_FIFO_SIZE : 1; }

static u8 rx_trigger(const struct vuart *u)
{
    static const u8 level[4] = { 1, 4, 8, 14 };

    return level[(u->fcr & VUART_FCR_TRIGGER) >> 6];
}

/* The modem status inputs (MSR bits 7:4) as the line or, in loopback, MCR drives them. */
static u8 modem_inputs(const struct vuart *u)
{
    u8 m = 0;

    if (!loopback(u))
        return VUART_MSR_DCD | VUART_MSR_DSR | VUART_MSR_CTS;
    if (u->mcr & VUART_MCR_RTS)
        m |= VUART_MSR_CTS;
    if (u->mcr & VUART_MCR_DTR)
        m |= VUART_MSR_DSR;
    if (u->mcr & VUART_MCR_OUT1)
        m |= VUART_MSR_RI;
    if (u->mcr & VUART_MCR_OUT2)
        m |= VUART_MSR_DCD;
    return m;
}

static void rx_clear(struct vuart *u) { u->rx_head = u->rx_count = 0; }

static void rx_put(struct vuart *u, u8 c)
{
    u->rx[(u->rx_head + u->rx_count) % VUART_RX_QUEUE] = c;
    u->rx_count++;
}

/* The transmitter became empty: THRE rises and, with it, the THRE interrupt's latch. */
static void tx_emptied(struct vuart *u) { u->thre_pending = true; }

static void tx_clear(struct vuart *u)
{
    bool had = u->tx_count;

    u->tx_head = u->tx_count = 0;
    if (had)
        tx_emptied(u);
}

/* Hand waiting bytes to the sink, oldest first, until it refuses one. */
static void tx_drain(struct vuart *u)
{
    bool had = u->tx_count;

    while (u->tx_count) {
        u8 c = u->tx[u->tx_head];

        if (u->sink.put && !u->sink.put(u->sink.ctx, c))
            return;
        if (u->sink.put)
            u->stats.tx++;
        u->tx_head = (u8)((u->tx_head + 1) % VUART_FIFO_SIZE);
        u->tx_count--;
    }
    if (had)
        tx_emptied(u);
}

/* The highest-priority pending interrupt's IIR bits 3:0 (data sheet table IV). */
static u8 iir_id(const struct vuart *u)
{
    if ((u->ier & VUART_IER_ELSI) && (u->lsr_errors & VUART_LSR_ERRORS))
        return VUART_IIR_RLSI;
    if ((u->ier & VUART_IER_ERBFI) && u->rx_count)
        return fifo_on(u) && u->rx_count < rx_trigger(u) ? VUART_IIR_TIMEOUT : VUART_IIR_RDI;
    if ((u->ier & VUART_IER_ETBEI) && u->thre_pending)
        return VUART_IIR_THRI;
    if ((u->ier & VUART_IER_EDSSI) && u->msr_deltas)
        return VUART_IIR_MSI;
    return VUART_IIR_NO_INT;
}

static u8 lsr_value(const struct vuart *u)
{
    u8 v = u->lsr_errors;

    if (u->rx_count)
        v |= VUART_LSR_DR;
    if (!u->tx_count)
        v |= VUART_LSR_THRE | VUART_LSR_TEMT;
    return v;
}

void vuart_init(struct vuart *u, const struct vuart_sink *sink)
{
    memset(u, 0, sizeof(*u));
    if (sink)
        u->sink = *sink;
    u->dll = 1;
}

u8 vuart_read(struct vuart *u, u8 offset)
{
    bool dlab = u->lcr & VUART_LCR_DLAB;
    u8 v;

    switch (offset) {
    case VUART_RBR:
        if (dlab)
            return u->dll;
        if (u->rx_count) {
            u->rbr = u->rx[u->rx_head];
            u->rx_head = (u16)((u->rx_head + 1) % VUART_RX_QUEUE);
            u->rx_count--;
        }
        return u->rbr;
    case VUART_IER:
        return dlab ? u->dlm : u->ier;
    case VUART_IIR:
        v = iir_id(u);
        /* Reading IIR while it names THRE is one of the two ways to clear that interrupt. */
        if (v == VUART_IIR_THRI)
            u->thre_pending = false;
        return (u8)(v | (fifo_on(u) ? VUART_IIR_FIFO_ON : 0));
    case VUART_LCR:
        return u->lcr;
    case VUART_MCR:
        return u->mcr;
    case VUART_LSR:
        v = lsr_value(u);
        u->lsr_errors = 0;
        return v;
    case VUART_MSR:
        v = (u8)(modem_inputs(u) | u->msr_deltas);
        u->msr_deltas = 0;
        return v;
    case VUART_SCR:
        return u->scr;
    default:
        return 0xff;
    }
}

static void write_thr(struct vuart *u, u8 c)
{
    /* The sink may have room before the caller's vuart_tx_retry says so. */
    if (!loopback(u) && u->tx_count >= tx_capacity(u))
        tx_drain(u);
    u->thre_pending = false;
    u->thre_quiet = false;
    if (loopback(u)) {
        /* The byte goes round the loop into the receiver, whose hardware size applies. */
        if (u->rx_count < tx_capacity(u)) {
            rx_put(u, c);
        } else {
            u->lsr_errors |= VUART_LSR_OE;
            u->stats.overruns++;
        }
        /* Bytes the sink refused before loopback began still hold THRE at 0. */
        if (!u->tx_count)
            tx_emptied(u);
        return;
    }
    if (u->tx_count >= tx_capacity(u)) {
        u->stats.tx_dropped++;
        return;
    }
    u->tx[(u->tx_head + u->tx_count) % VUART_FIFO_SIZE] = c;
    u->tx_count++;
    tx_drain(u);
}

static void write_ier(struct vuart *u, u8 value)
{
    u8 old = u->ier;

    u->ier = value & VUART_IER_MASK;
    /* Enabling the THRE interrupt while the transmitter is empty raises it at once (without
     * interrupts, only once until the next THR write: vuart.h, no_irq). */
    if (!(old & VUART_IER_ETBEI) && (u->ier & VUART_IER_ETBEI) && !u->tx_count) {
        if (!u->thre_quiet)
            u->thre_pending = true;
        u->thre_quiet = u->no_irq;
    }
}

static void write_fcr(struct vuart *u, u8 value)
{
    bool on = value & VUART_FCR_ENABLE;

    /* Switching between FIFO and 16450 mode empties both FIFOs and raises the THRE interrupt
     * ("the transmitter interrupt after changing FCR0 will be immediate"); the other bits are
     * programmed only together with the enable bit. */
    if (on != fifo_on(u)) {
        rx_clear(u);
        tx_clear(u);
        tx_emptied(u);
    }
    if (!on) {
        u->fcr = 0;
        return;
    }
    if (value & VUART_FCR_CLEAR_RCVR)
        rx_clear(u);
    if (value & VUART_FCR_CLEAR_XMIT)
        tx_clear(u);
    u->fcr = value & (VUART_FCR_ENABLE | VUART_FCR_DMA_MODE | VUART_FCR_TRIGGER);
}

static void write_mcr(struct vuart *u, u8 value)
{
    u8 before = modem_inputs(u), after, changed;

    u->mcr = value & VUART_MCR_MASK;
    after = modem_inputs(u);
    changed = before ^ after;
    if (changed & VUART_MSR_CTS)
        u->msr_deltas |= VUART_MSR_DCTS;
    if (changed & VUART_MSR_DSR)
        u->msr_deltas |= VUART_MSR_DDSR;
    if (changed & VUART_MSR_DCD)
        u->msr_deltas |= VUART_MSR_DDCD;
    if ((before & VUART_MSR_RI) && !(after & VUART_MSR_RI))
        u->msr_deltas |= VUART_MSR_TERI;
}

void vuart_write(struct vuart *u, u8 offset, u8 value)
{
    bool dlab = u->lcr & VUART_LCR_DLAB;

    switch (offset) {
    case VUART_THR:
        if (dlab)
            u->dll = value;
        else
            write_thr(u, value);
        break;
    case VUART_IER:
        if (dlab)
            u->dlm = value;
        else
            write_ier(u, value);
        break;
    case VUART_FCR:
        write_fcr(u, value);
        break;
    case VUART_LCR:
        u->lcr = value;
        break;
    case VUART_MCR:
        write_mcr(u, value);
        break;
    case VUART_SCR:
        u->scr = value;
        break;
    default: /* LSR, MSR: factory test on hardware; offsets >= 8: not ours */
        break;
    }
}

bool vuart_irq_line(const struct vuart *u)
{
    if (!(u->mcr & VUART_MCR_OUT2) || loopback(u))
        return false;
    return iir_id(u) != VUART_IIR_NO_INT;
}

bool vuart_rx_push(struct vuart *u, u8 c)
{
    if (loopback(u) || u->rx_count >= VUART_RX_QUEUE)
        return false;
    rx_put(u, c);
    u->stats.rx++;
    return true;
}

u32 vuart_rx_space(const struct vuart *u) { return loopback(u) ? 0 : VUART_RX_QUEUE - u->rx_count; }

void vuart_tx_retry(struct vuart *u) { tx_drain(u); }

u32 vuart_tx_pending(const struct vuart *u) { return u->tx_count; }
