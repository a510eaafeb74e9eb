/* UNIT-SOURCES: hv/platform/vuart.c */
/*
 * The guest's COM1 model (hv/platform/vuart.c): Linux 6.1's 8250 probe and startup replayed
 * register access by register access, the divisor latch, IIR priorities and clearing, the THRE
 * interrupt's rules, the IRQ line, loopback, the receive queue, transmit backpressure and retry,
 * FCR, SCR.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "platform/vuart.h"

/* ------------------------------------------------------------------ a sink with a settable room */

struct sink {
    u8 got[1024];
    u32 n;
    u32 room; /* bytes it still takes */
    u32 calls;
};

static bool sink_put(void *ctx, u8 c)
{
    struct sink *s = ctx;

    s->calls++;
    if (!s->room || s->n >= sizeof(s->got))
        return false;
    s->room--;
    s->got[s->n++] = c;
    return true;
}

static struct sink sk;
static struct vuart vu;

static int setup(void **state)
{
    memset(&sk, 0, sizeof(sk));
    sk.room = 1u << 30;
    vuart_init(&vu, &(struct vuart_sink){ sink_put, &sk });
    return 0;
}

static u8 in(u8 off) { return vuart_read(&vu, off); }
static void out(u8 off, u8 v) { vuart_write(&vu, off, v); }

/* ------------------------------------------------------------------ Linux 6.1, 8250_port.c */

enum {
    PORT_NONE,
    PORT_8250,
    PORT_16550,
    PORT_16550A,
    PORT_16650,
    PORT_NS16550A,
    PORT_16750,
    PORT_XSCALE,
    PORT_U6_16550A
};
#define UART_LCR_CONF_MODE_A 0x80
#define UART_LCR_CONF_MODE_B 0xbf
#define UART_EFR             2
#define UART_IER_UUE         0x40
#define UART_FCR7_64BYTE     0x20
#define UART_BUG_THRE        1
#define UART_BUG_TXEN        2

static void clear_fifos(void)
{
    out(VUART_FCR, VUART_FCR_ENABLE);
    out(VUART_FCR, VUART_FCR_ENABLE | VUART_FCR_CLEAR_RCVR | VUART_FCR_CLEAR_XMIT);
    out(VUART_FCR, 0);
}

static u16 dl_read(void) { return (u16)(in(VUART_DLL) | in(VUART_DLM) << 8); }
static void dl_write(u16 v)
{
    out(VUART_DLL, v & 0xff);
    out(VUART_DLM, v >> 8);
}

static int size_fifo(void)
{
    u8 old_lcr = in(VUART_LCR), old_fcr, old_mcr;
    u16 old_dl;
    int count;

    out(VUART_LCR, 0);
    old_fcr = in(VUART_FCR); /* reads IIR, as Linux does */
    old_mcr = in(VUART_MCR);
    out(VUART_FCR, VUART_FCR_ENABLE | VUART_FCR_CLEAR_RCVR | VUART_FCR_CLEAR_XMIT);
    out(VUART_MCR, VUART_MCR_LOOP);
    out(VUART_LCR, UART_LCR_CONF_MODE_A);
    old_dl = dl_read();
    dl_write(1);
    out(VUART_LCR, 0x03);
    for (count = 0; count < 256; count++)
        out(VUART_THR, (u8)count);
    for (count = 0; (in(VUART_LSR)&VUART_LSR_DR) && count < 256; count++)
        in(VUART_RBR);
    out(VUART_FCR, old_fcr);
    out(VUART_MCR, old_mcr);
    out(VUART_LCR, UART_LCR_CONF_MODE_A);
    dl_write(old_dl);
    out(VUART_LCR, old_lcr);
    return count;
}

/* autoconfig_16550a(); full = CONFIG_SERIAL_8250_16550A_VARIANTS or UPF_FULL_PROBE. */
static int autoconfig_16550a(bool full)
{
    u8 status1, status2, iersave;
    int type = PORT_16550A;

    if (!full)
        return type;
    out(VUART_LCR, UART_LCR_CONF_MODE_A);
    if (in(UART_EFR) == 0)
        return PORT_16650; /* (or FSL64 / Motorola: all "not a 16550A" here) */
    out(VUART_LCR, UART_LCR_CONF_MODE_B);
    if (in(UART_EFR) == 0)
        return PORT_16650; /* autoconfig_has_efr() */
    out(VUART_LCR, 0);
    status1 = in(VUART_MCR);
    out(VUART_LCR, 0xe0);
    status2 = in(0x02); /* EXCR1 */
    if (!((status2 ^ status1) & VUART_MCR_LOOP)) {
        out(VUART_LCR, 0);
        out(VUART_MCR, status1 ^ VUART_MCR_LOOP);
        out(VUART_LCR, 0xe0);
        status2 = in(0x02);
        out(VUART_LCR, 0);
        out(VUART_MCR, status1);
        if ((status2 ^ status1) & VUART_MCR_LOOP)
            return PORT_NS16550A;
    }
    out(VUART_LCR, 0);
    out(VUART_FCR, VUART_FCR_ENABLE | UART_FCR7_64BYTE);
    status1 = in(VUART_IIR) >> 5;
    out(VUART_FCR, VUART_FCR_ENABLE);
    out(VUART_LCR, UART_LCR_CONF_MODE_A);
    out(VUART_FCR, VUART_FCR_ENABLE | UART_FCR7_64BYTE);
    status2 = in(VUART_IIR) >> 5;
    out(VUART_FCR, VUART_FCR_ENABLE);
    out(VUART_LCR, 0);
    assert_int_equal(status1, 6);
    assert_int_equal(status2, 6);
    if (status1 == 6 && status2 == 7)
        return PORT_16750;
    iersave = in(VUART_IER);
    out(VUART_IER, iersave & ~UART_IER_UUE);
    if (!(in(VUART_IER)&UART_IER_UUE)) {
        out(VUART_IER, iersave | UART_IER_UUE);
        if (in(VUART_IER)&UART_IER_UUE)
            return PORT_XSCALE;
    }
    out(VUART_IER, iersave);
    if (size_fifo() == 64)
        return PORT_U6_16550A;
    return type;
}

static int autoconfig(bool full)
{
    u8 scratch, scratch2, scratch3, save_lcr, save_mcr, status1;
    int type = PORT_NONE;

    scratch = in(VUART_IER);
    out(VUART_IER, 0);
    scratch2 = in(VUART_IER)&0x0f;
    out(VUART_IER, 0x0f);
    scratch3 = in(VUART_IER)&0x0f;
    out(VUART_IER, scratch);
    if (scratch2 != 0 || scratch3 != 0x0f)
        return PORT_NONE;

    save_mcr = in(VUART_MCR);
    save_lcr = in(VUART_LCR);
    out(VUART_MCR, VUART_MCR_LOOP | 0x0a);
    status1 = in(VUART_MSR)&0xf0;
    out(VUART_MCR, save_mcr);
    if (status1 != 0x90)
        return PORT_NONE;

    out(VUART_LCR, UART_LCR_CONF_MODE_B);
    out(UART_EFR, 0);
    out(VUART_LCR, 0);
    out(VUART_FCR, VUART_FCR_ENABLE);
    scratch = in(VUART_IIR);
    switch (scratch >> 6) {
    case 0:
        type = PORT_8250;
        break;
    case 1:
        type = PORT_NONE;
        break;
    case 2:
        type = PORT_16550;
        break;
    case 3:
        type = autoconfig_16550a(full);
        break;
    }
    out(VUART_LCR, save_lcr);
    out(VUART_MCR, save_mcr);
    clear_fifos();
    in(VUART_RBR);
    out(VUART_IER, 0);
    return type;
}

/* serial8250_do_startup() for a port with an IRQ, up to the TXEN test; returns the bugs found. */
static void startup_clear(void)
{
    clear_fifos();
    in(VUART_LSR);
    in(VUART_RBR);
    in(VUART_IIR);
    in(VUART_MSR);
    assert_int_not_equal(in(VUART_LSR), 0xff); /* "LSR safety check" */
}

static int startup_tests(void)
{
    u8 iir1, iir, lsr;
    int bugs = 0;

    for (int i = 0; i < 10000 && !(in(VUART_LSR)&VUART_LSR_THRE); i++) /* wait_for_xmitr */
        ;
    out(VUART_IER, VUART_IER_ETBEI);
    iir1 = in(VUART_IIR);
    out(VUART_IER, 0);
    out(VUART_IER, VUART_IER_ETBEI);
    iir = in(VUART_IIR);
    out(VUART_IER, 0);
    if (!(iir1 & VUART_IIR_NO_INT) && (iir & VUART_IIR_NO_INT))
        bugs |= UART_BUG_THRE;

    out(VUART_LCR, 0x03);
    out(VUART_MCR, VUART_MCR_DTR | VUART_MCR_RTS | VUART_MCR_OUT2); /* set_mctrl with TIOCM_OUT2 */

    out(VUART_IER, VUART_IER_ETBEI);
    lsr = in(VUART_LSR);
    iir = in(VUART_IIR);
    out(VUART_IER, 0);
    if ((lsr & VUART_LSR_TEMT) && (iir & VUART_IIR_NO_INT))
        bugs |= UART_BUG_TXEN;
    return bugs;
}

static int startup(void)
{
    startup_clear();
    return startup_tests();
}

static void test_linux_probe_debian(void **state)
{
    /* Probed from power-on state, then the port opened. */
    assert_int_equal(autoconfig(false), PORT_16550A);
    assert_int_equal(startup(), 0);
    assert_int_equal(sk.n, 0); /* the probe transmitted nothing */
}

static void test_linux_probe_full(void **state)
{
    /* The full 16550A variant probe, from a state a running console leaves (8N1, DTR|RTS|OUT2). */
    out(VUART_LCR, 0x03);
    out(VUART_MCR, VUART_MCR_DTR | VUART_MCR_RTS | VUART_MCR_OUT2);
    out(VUART_SCR, 0x5a);
    assert_int_equal(autoconfig(true), PORT_16550A);
    assert_int_equal(in(VUART_LCR), 0x03);
    assert_int_equal(in(VUART_MCR), VUART_MCR_DTR | VUART_MCR_RTS | VUART_MCR_OUT2);
    out(VUART_LCR, 0x83);
    assert_int_equal(dl_read(), 1); /* size_fifo() restored the divisor */
    out(VUART_LCR, 0x03);
    assert_int_equal(size_fifo(), 16);
    assert_int_equal(startup(), 0);
    assert_int_equal(sk.n, 0); /* loopback bytes never reached the line */
    assert_false(vuart_irq_line(&vu));
}

static void test_linux_startup_backpressured(void **state)
{
    /* The console multiplexer is refusing output while the port is opened: THRE stays 0,
     * neither Linux bug is concluded, and the held byte goes out later. */
    out(VUART_LCR, 0x03);
    sk.room = 0;
    out(VUART_THR, 'w');
    startup_clear(); /* Linux's FIFO clear discards what the transmitter held, as on hardware */
    assert_int_equal(vuart_tx_pending(&vu), 0);
    out(VUART_THR, 'x');
    assert_int_equal(startup_tests(), 0);
    sk.room = 10;
    vuart_tx_retry(&vu);
    assert_int_equal(sk.n, 1);
    assert_int_equal(sk.got[0], 'x');
}

/* ------------------------------------------------------------------ registers */

static void test_divisor_latch(void **state)
{
    out(VUART_IER, 0x05);
    out(VUART_LCR, VUART_LCR_DLAB | 0x03);
    assert_int_equal(in(VUART_DLL), 1); /* power-on divisor: 115200 baud */
    assert_int_equal(in(VUART_DLM), 0);
    out(VUART_DLL, 0x0c);
    out(VUART_DLM, 0x34);
    assert_int_equal(in(VUART_DLL), 0x0c);
    assert_int_equal(in(VUART_DLM), 0x34);
    assert_int_equal(sk.n, 0); /* a DLL write is not a transmitted byte */
    assert_int_equal(in(VUART_LCR), 0x83);
    out(VUART_LCR, 0x03);
    assert_int_equal(in(VUART_IER), 0x05); /* IER untouched by the DLM write */
    out(VUART_THR, 'A');
    assert_int_equal(sk.n, 1);
    assert_int_equal(sk.got[0], 'A');
    assert_true(vuart_rx_push(&vu, 'b'));
    out(VUART_LCR, 0x83);
    assert_int_equal(in(VUART_RBR), 0x0c); /* DLAB: the latch, the byte stays queued */
    assert_int_equal(in(VUART_LSR)&VUART_LSR_DR, VUART_LSR_DR);
    out(VUART_LCR, 0x03);
    assert_int_equal(in(VUART_RBR), 'b');
    assert_int_equal(in(VUART_LCR), 0x03);
}

static void test_register_masks_and_scr(void **state)
{
    out(VUART_IER, 0xff);
    assert_int_equal(in(VUART_IER), 0x0f);
    out(VUART_MCR, 0xff & ~VUART_MCR_LOOP);
    assert_int_equal(in(VUART_MCR), 0x0f);
    out(VUART_LCR, 0x5b);
    assert_int_equal(in(VUART_LCR), 0x5b);
    for (int v = 0; v < 256; v++) {
        out(VUART_SCR, (u8)v);
        assert_int_equal(in(VUART_SCR), v);
    }
    out(VUART_LCR, 0x80);
    out(VUART_SCR, 0x77); /* DLAB does not hide SCR */
    assert_int_equal(in(VUART_SCR), 0x77);
    /* Power-on values: IIR 01, LSR 60, MSR connected terminal with no deltas. */
    setup(state);
    assert_int_equal(in(VUART_IIR), 0x01);
    assert_int_equal(in(VUART_LSR), 0x60);
    assert_int_equal(in(VUART_MSR), 0xb0);
    assert_int_equal(in(VUART_RBR), 0);
    /* Writes to LSR/MSR change nothing; offsets past 7 read 0xff and drop writes. */
    out(VUART_LSR, 0xff);
    out(VUART_MSR, 0xff);
    assert_int_equal(in(VUART_LSR), 0x60);
    assert_int_equal(in(VUART_MSR), 0xb0);
    struct vuart before;
    memcpy(&before, &vu, sizeof(vu));
    out(8, 0x12);
    out(0xff, 0x12);
    assert_int_equal(in(8), 0xff);
    assert_int_equal(in(0xff), 0xff);
    assert_memory_equal(&before, &vu, sizeof(vu));
}

static void test_iir_priorities(void **state)
{
    /* Create all four sources at once: an overrun (loopback, 16450 mode: the second byte
     * overruns), data, THRE, modem status deltas. */
    out(VUART_MCR, VUART_MCR_LOOP);
    out(VUART_THR, 1);
    out(VUART_THR, 2);
    out(VUART_MCR, VUART_MCR_OUT2 | VUART_MCR_RTS); /* leave loopback: deltas */
    assert_int_equal(vu.stats.overruns, 1);
    out(VUART_IER, 0x0f);

    assert_int_equal(in(VUART_IIR), VUART_IIR_RLSI);
    assert_true(vuart_irq_line(&vu));
    assert_int_equal(in(VUART_LSR), VUART_LSR_DR | VUART_LSR_OE | VUART_LSR_THRE | VUART_LSR_TEMT);
    assert_int_equal(in(VUART_LSR), VUART_LSR_DR | VUART_LSR_THRE | VUART_LSR_TEMT); /* OE cleared */
    assert_int_equal(in(VUART_IIR), VUART_IIR_RDI);
    assert_int_equal(in(VUART_IIR), VUART_IIR_RDI); /* reading IIR does not clear data */
    assert_int_equal(in(VUART_RBR), 1);
    assert_int_equal(in(VUART_IIR), VUART_IIR_THRI);
    assert_int_equal(in(VUART_IIR), VUART_IIR_MSI); /* that read cleared THRE */
    u8 msr = in(VUART_MSR);
    assert_int_equal(msr & 0xf0, 0xb0);
    /* entering loopback dropped CTS, DSR and DCD, leaving it raised them */
    assert_int_equal(msr & VUART_MSR_DELTAS, VUART_MSR_DCTS | VUART_MSR_DDSR | VUART_MSR_DDCD);
    assert_int_equal(in(VUART_MSR), 0xb0);
    assert_int_equal(in(VUART_IIR), VUART_IIR_NO_INT);
    assert_false(vuart_irq_line(&vu));
}

static void test_iir_masked_sources(void **state)
{
    /* Each source counts only when its IER bit is set; a lower one shows when a higher is masked. */
    assert_true(vuart_rx_push(&vu, 'a'));
    out(VUART_IER, VUART_IER_ETBEI);
    assert_int_equal(in(VUART_IIR), VUART_IIR_THRI);
    out(VUART_IER, VUART_IER_ETBEI | VUART_IER_ERBFI);
    assert_int_equal(in(VUART_IIR), VUART_IIR_RDI);
    out(VUART_IER, VUART_IER_EDSSI);
    assert_int_equal(in(VUART_IIR), VUART_IIR_NO_INT);
}

static void test_rx_timeout_and_trigger(void **state)
{
    out(VUART_FCR, VUART_FCR_ENABLE | 0x80); /* trigger 8 */
    out(VUART_IER, VUART_IER_ERBFI);
    assert_int_equal(in(VUART_IIR), 0xc1);
    for (int i = 0; i < 7; i++)
        assert_true(vuart_rx_push(&vu, (u8)i));
    assert_int_equal(in(VUART_IIR), 0xc0 | VUART_IIR_TIMEOUT);
    assert_true(vuart_rx_push(&vu, 7));
    assert_int_equal(in(VUART_IIR), 0xc0 | VUART_IIR_RDI);
    in(VUART_RBR);
    assert_int_equal(in(VUART_IIR), 0xc0 | VUART_IIR_TIMEOUT);
    out(VUART_FCR, 0); /* 16450 mode (queue cleared by the switch) */
    assert_true(vuart_rx_push(&vu, 'z'));
    assert_int_equal(in(VUART_IIR), VUART_IIR_RDI);
}

/* ------------------------------------------------------------------ THRE */

/* Without interrupts: serial8250_do_startup's THRE test (IER=THRI, read IIR, IER=0, IER=THRI,
 * read IIR) must see THRE the first time and not the second, so Linux sets UART_BUG_THRE and
 * polls the transmitter from a timer. With interrupts it sees THRE both times. */
static void test_no_irq_makes_linux_poll(void **state)
{
    u8 iir1, iir2;

    vu.no_irq = true;
    out(VUART_THR, 'x'); /* the console printed before the driver started */
    out(VUART_IER, VUART_IER_ETBEI);
    iir1 = in(VUART_IIR);
    out(VUART_IER, 0);
    out(VUART_IER, VUART_IER_ETBEI);
    iir2 = in(VUART_IIR);
    assert_int_equal(iir1, VUART_IIR_THRI);
    assert_int_equal(iir2, VUART_IIR_NO_INT);
    /* a THR write re-arms it: the next 0->1 raises THRE again */
    out(VUART_IER, 0);
    out(VUART_THR, 'y');
    in(VUART_IIR);
    out(VUART_IER, VUART_IER_ETBEI);
    assert_int_equal(in(VUART_IIR), VUART_IIR_THRI);
    /* with interrupts, the same sequence sees THRE twice */
    setup(state);
    out(VUART_THR, 'x');
    out(VUART_IER, VUART_IER_ETBEI);
    assert_int_equal(in(VUART_IIR), VUART_IIR_THRI);
    out(VUART_IER, 0);
    out(VUART_IER, VUART_IER_ETBEI);
    assert_int_equal(in(VUART_IIR), VUART_IIR_THRI);
}

static void test_thre_interrupt_rules(void **state)
{
    out(VUART_MCR, VUART_MCR_OUT2);
    assert_false(vuart_irq_line(&vu));
    /* Power-on: THR empty but no latch until ETBEI goes 0→1. */
    out(VUART_IER, VUART_IER_ETBEI);
    assert_true(vuart_irq_line(&vu));
    assert_int_equal(in(VUART_IIR), VUART_IIR_THRI);
    assert_false(vuart_irq_line(&vu));
    assert_int_equal(in(VUART_IIR), VUART_IIR_NO_INT);
    /* Rewriting ETBEI=1 is no 0→1 change. */
    out(VUART_IER, VUART_IER_ETBEI);
    assert_int_equal(in(VUART_IIR), VUART_IIR_NO_INT);
    /* A THR write that drains raises it again. */
    out(VUART_THR, 'a');
    assert_true(vuart_irq_line(&vu));
    /* A THR write clears it (here it drains and raises it again at once: the line stays up). */
    assert_int_equal(in(VUART_IIR), VUART_IIR_THRI);
    /* Masked while pending, it stays latched and shows again when unmasked (0→1 anyway). */
    out(VUART_THR, 'b');
    out(VUART_IER, 0);
    assert_false(vuart_irq_line(&vu));
    out(VUART_IER, VUART_IER_ETBEI);
    assert_int_equal(in(VUART_IIR), VUART_IIR_THRI);
    /* The latch survives while masked; ETBEI 0→1 with THR full does not set it. */
    sk.room = 0;
    out(VUART_IER, 0);
    out(VUART_THR, 'c');
    out(VUART_IER, VUART_IER_ETBEI);
    assert_int_equal(in(VUART_IIR), VUART_IIR_NO_INT);
    assert_false(vuart_irq_line(&vu));
    sk.room = 10;
    vuart_tx_retry(&vu);
    assert_true(vuart_irq_line(&vu));
    assert_int_equal(in(VUART_IIR), VUART_IIR_THRI);
    assert_memory_equal(sk.got, "abc", 3);
}

static void test_irq_line_out2_and_loopback(void **state)
{
    out(VUART_IER, VUART_IER_ERBFI);
    assert_true(vuart_rx_push(&vu, 'q'));
    assert_int_equal(in(VUART_IIR), VUART_IIR_RDI);
    assert_false(vuart_irq_line(&vu)); /* OUT2 off */
    out(VUART_MCR, VUART_MCR_OUT1 | VUART_MCR_DTR | VUART_MCR_RTS);
    assert_false(vuart_irq_line(&vu));
    out(VUART_MCR, VUART_MCR_OUT2);
    assert_true(vuart_irq_line(&vu));
    out(VUART_MCR, VUART_MCR_OUT2 | VUART_MCR_LOOP); /* loopback: OUT2 forced inactive */
    assert_false(vuart_irq_line(&vu));
    out(VUART_MCR, VUART_MCR_OUT2);
    assert_true(vuart_irq_line(&vu));
    out(VUART_IER, 0);
    assert_false(vuart_irq_line(&vu));
    out(VUART_IER, VUART_IER_ERBFI);
    in(VUART_RBR);
    assert_false(vuart_irq_line(&vu));
}

/* ------------------------------------------------------------------ loopback */

static void test_loopback(void **state)
{
    assert_true(vuart_rx_push(&vu, 'o')); /* queued from the line before loopback */
    out(VUART_MCR, VUART_MCR_LOOP);
    assert_int_equal(in(VUART_MSR), VUART_MSR_DCTS | VUART_MSR_DDSR | VUART_MSR_DDCD); /* all fell */
    assert_false(vuart_rx_push(&vu, 'x'));
    assert_int_equal(vuart_rx_space(&vu), 0);
    assert_int_equal(in(VUART_RBR), 'o');
    out(VUART_THR, 'L');
    assert_int_equal(in(VUART_LSR), VUART_LSR_DR | VUART_LSR_THRE | VUART_LSR_TEMT);
    assert_int_equal(in(VUART_RBR), 'L');
    assert_int_equal(sk.n, 0);

    static const struct {
        u8 mcr, msr;
    } map[] = {
        { VUART_MCR_RTS, VUART_MSR_CTS },
        { VUART_MCR_DTR, VUART_MSR_DSR },
        { VUART_MCR_OUT1, VUART_MSR_RI },
        { VUART_MCR_OUT2, VUART_MSR_DCD },
    };
    for (size_t i = 0; i < ARRAY_SIZE(map); i++) {
        out(VUART_MCR, VUART_MCR_LOOP | map[i].mcr);
        u8 m = in(VUART_MSR);
        assert_int_equal(m & 0xf0, map[i].msr);
        /* rising: CTS/DSR/DCD set their delta, RI sets none (TERI is the trailing edge) */
        assert_int_equal(m & 0x0f, map[i].msr == VUART_MSR_RI ? 0 : map[i].msr >> 4);
        out(VUART_MCR, VUART_MCR_LOOP);
        m = in(VUART_MSR);
        assert_int_equal(m & 0xf0, 0);
        assert_int_equal(m & 0x0f, map[i].msr >> 4); /* falling: TERI for RI */
    }
    /* Modem status interrupt from MCR in loopback. */
    out(VUART_IER, VUART_IER_EDSSI);
    out(VUART_MCR, VUART_MCR_LOOP | VUART_MCR_DTR);
    assert_int_equal(in(VUART_IIR), VUART_IIR_MSI);
    in(VUART_MSR);
    assert_int_equal(in(VUART_IIR), VUART_IIR_NO_INT);

    /* The receiver's hardware size in loopback: 16 with FIFOs, then OE. */
    out(VUART_FCR, VUART_FCR_ENABLE);
    for (int i = 0; i < 20; i++)
        out(VUART_THR, (u8)i);
    assert_int_equal(vu.stats.overruns, 4);
    assert_int_equal(in(VUART_LSR) & (VUART_LSR_OE | VUART_LSR_DR), VUART_LSR_OE | VUART_LSR_DR);
    for (int i = 0; i < 16; i++)
        assert_int_equal(in(VUART_RBR), i);
    assert_int_equal(in(VUART_LSR), VUART_LSR_THRE | VUART_LSR_TEMT);

    /* Leaving loopback: the terminal is back, with deltas; the line feeds the queue again. */
    out(VUART_MCR, 0); /* from LOOP|DTR: DSR was already on */
    assert_int_equal(in(VUART_MSR), 0xb0 | VUART_MSR_DCTS | VUART_MSR_DDCD);
    assert_true(vuart_rx_push(&vu, 'x'));
    out(VUART_THR, 'y');
    assert_int_equal(sk.n, 1);
    assert_int_equal(sk.got[0], 'y');
}

/* ------------------------------------------------------------------ receive queue */

static void test_rx_queue_full(void **state)
{
    assert_int_equal(vuart_rx_space(&vu), VUART_RX_QUEUE);
    for (int round = 0; round < 3; round++) { /* wraps around the ring */
        for (int i = 0; i < VUART_RX_QUEUE; i++)
            assert_true(vuart_rx_push(&vu, (u8)(i + round)));
        assert_int_equal(vuart_rx_space(&vu), 0);
        assert_false(vuart_rx_push(&vu, 0xee));
        assert_int_equal(in(VUART_LSR) & (VUART_LSR_DR | VUART_LSR_OE), VUART_LSR_DR); /* no OE */
        for (int i = 0; i < 100; i++)
            assert_int_equal(in(VUART_RBR), (u8)(i + round));
        assert_int_equal(vuart_rx_space(&vu), 100);
        for (int i = 0; i < 100; i++)
            assert_true(vuart_rx_push(&vu, (u8)(0x80 + i)));
        assert_false(vuart_rx_push(&vu, 0xee));
        for (int i = 100; i < VUART_RX_QUEUE; i++)
            assert_int_equal(in(VUART_RBR), (u8)(i + round));
        for (int i = 0; i < 100; i++)
            assert_int_equal(in(VUART_RBR), (u8)(0x80 + i));
        assert_int_equal(in(VUART_LSR)&VUART_LSR_DR, 0);
        assert_int_equal(in(VUART_RBR), 0x80 + 99); /* empty: RBR keeps the last byte */
    }
    assert_int_equal(vu.stats.rx, 3 * (VUART_RX_QUEUE + 100));
}

/* ------------------------------------------------------------------ transmit backpressure */

static void test_backpressure_and_retry(void **state)
{
    out(VUART_FCR, VUART_FCR_ENABLE);
    out(VUART_MCR, VUART_MCR_OUT2);
    out(VUART_IER, VUART_IER_ETBEI);
    assert_int_equal(in(VUART_IIR), 0xc0 | VUART_IIR_THRI);
    sk.room = 2;
    /* Linux writes 16 bytes per THRE interrupt without looking at LSR. */
    for (int i = 0; i < 16; i++)
        out(VUART_THR, (u8)('a' + i));
    assert_int_equal(sk.n, 2);
    assert_int_equal(vuart_tx_pending(&vu), 14);
    assert_int_equal(in(VUART_LSR) & (VUART_LSR_THRE | VUART_LSR_TEMT), 0);
    assert_int_equal(in(VUART_IIR), 0xc1);
    assert_false(vuart_irq_line(&vu));
    for (int i = 0; i < 4; i++) /* 14 held + 2 more fill the 16-byte FIFO; the rest are lost */
        out(VUART_THR, (u8)('A' + i));
    assert_int_equal(vuart_tx_pending(&vu), 16);
    assert_int_equal(vu.stats.tx_dropped, 2);
    vuart_tx_retry(&vu); /* no room yet: nothing changes */
    assert_int_equal(vuart_tx_pending(&vu), 16);
    sk.room = 5;
    vuart_tx_retry(&vu);
    assert_int_equal(vuart_tx_pending(&vu), 11);
    assert_int_equal(in(VUART_LSR)&VUART_LSR_THRE, 0);
    assert_false(vuart_irq_line(&vu));
    sk.room = 100;
    vuart_tx_retry(&vu);
    assert_int_equal(vuart_tx_pending(&vu), 0);
    assert_int_equal(in(VUART_LSR) & (VUART_LSR_THRE | VUART_LSR_TEMT), VUART_LSR_THRE | VUART_LSR_TEMT);
    assert_true(vuart_irq_line(&vu));
    assert_int_equal(in(VUART_IIR), 0xc0 | VUART_IIR_THRI);
    assert_int_equal(sk.n, 18);
    assert_memory_equal(sk.got, "abcdefghijklmnopAB", 18);
    assert_int_equal(vu.stats.tx, 18);
    vuart_tx_retry(&vu); /* idle retry: no new THRE interrupt */
    assert_int_equal(in(VUART_IIR), 0xc1);
}

static void test_backpressure_16450_mode(void **state)
{
    /* FIFOs off: THR holds one byte. */
    sk.room = 0;
    out(VUART_THR, 'a');
    out(VUART_THR, 'b');
    assert_int_equal(vuart_tx_pending(&vu), 1);
    assert_int_equal(vu.stats.tx_dropped, 1);
    sk.room = 1;
    out(VUART_THR, 'c'); /* a write also tries the sink: 'a' goes, 'c' waits */
    assert_int_equal(sk.n, 1);
    assert_int_equal(sk.got[0], 'a');
    assert_int_equal(vuart_tx_pending(&vu), 1);
    sk.room = 1;
    vuart_tx_retry(&vu);
    assert_int_equal(sk.got[1], 'c');
    assert_int_equal(in(VUART_LSR), 0x60);
}

static void test_null_sink(void **state)
{
    vuart_init(&vu, NULL);
    out(VUART_IER, VUART_IER_ETBEI);
    in(VUART_IIR);
    for (int i = 0; i < 40; i++)
        out(VUART_THR, (u8)i);
    assert_int_equal(in(VUART_LSR), 0x60);
    assert_int_equal(in(VUART_IIR), VUART_IIR_THRI);
    assert_int_equal(vu.stats.tx, 0);
}

/* ------------------------------------------------------------------ FCR */

static void test_fcr(void **state)
{
    assert_int_equal(in(VUART_IIR)&0xc0, 0);
    out(VUART_IER, VUART_IER_ETBEI);
    assert_int_equal(in(VUART_IIR), VUART_IIR_THRI);
    out(VUART_FCR, VUART_FCR_ENABLE); /* changing FCR0 raises the THRE interrupt at once */
    assert_int_equal(in(VUART_IIR), 0xc0 | VUART_IIR_THRI);
    out(VUART_FCR, VUART_FCR_ENABLE); /* no change: nothing */
    assert_int_equal(in(VUART_IIR), 0xc1);
    out(VUART_FCR, 0);
    assert_int_equal(in(VUART_IIR), VUART_IIR_THRI);
    out(VUART_IER, 0);
    out(VUART_FCR, VUART_FCR_ENABLE | 0xc0 | VUART_FCR_DMA_MODE | 0x20);
    assert_int_equal(in(VUART_IIR), 0xc1); /* bit 5 (16750) never set */
    for (int i = 0; i < 10; i++)
        assert_true(vuart_rx_push(&vu, (u8)i));
    sk.room = 0;
    out(VUART_THR, 't');
    out(VUART_THR, 'u');
    /* Clearing the receiver leaves the transmitter alone, and the other way round. */
    out(VUART_FCR, VUART_FCR_ENABLE | VUART_FCR_CLEAR_RCVR);
    assert_int_equal(in(VUART_LSR)&VUART_LSR_DR, 0);
    assert_int_equal(vuart_tx_pending(&vu), 2);
    out(VUART_IER, VUART_IER_ETBEI); /* THR full: no THRE */
    assert_int_equal(in(VUART_IIR), 0xc1);
    out(VUART_FCR, VUART_FCR_ENABLE | VUART_FCR_CLEAR_XMIT);
    assert_int_equal(vuart_tx_pending(&vu), 0);
    assert_int_equal(in(VUART_LSR), 0x60);
    assert_int_equal(in(VUART_IIR), 0xc0 | VUART_IIR_THRI); /* the transmitter emptied */
    sk.room = 100;
    vuart_tx_retry(&vu);
    assert_int_equal(sk.n, 0); /* cleared bytes never go out */

    assert_true(vuart_rx_push(&vu, 1));
    out(VUART_FCR, VUART_FCR_CLEAR_RCVR); /* disables the FIFOs: clears by the switch */
    assert_int_equal(in(VUART_IIR)&0xc0, 0);
    assert_int_equal(in(VUART_LSR)&VUART_LSR_DR, 0);
    assert_true(vuart_rx_push(&vu, 2));
    out(VUART_FCR, VUART_FCR_CLEAR_RCVR); /* already in 16450 mode, enable bit clear: ignored */
    assert_int_equal(in(VUART_LSR)&VUART_LSR_DR, VUART_LSR_DR);
    out(VUART_FCR, VUART_FCR_ENABLE); /* the switch to FIFO mode clears */
    assert_int_equal(in(VUART_LSR)&VUART_LSR_DR, 0);
    assert_true(vuart_rx_push(&vu, 3));
    out(VUART_FCR, VUART_FCR_ENABLE | 0x40); /* staying in FIFO mode: kept */
    assert_int_equal(in(VUART_RBR), 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_linux_probe_debian, setup),
        cmocka_unit_test_setup(test_linux_probe_full, setup),
        cmocka_unit_test_setup(test_linux_startup_backpressured, setup),
        cmocka_unit_test_setup(test_divisor_latch, setup),
        cmocka_unit_test_setup(test_register_masks_and_scr, setup),
        cmocka_unit_test_setup(test_iir_priorities, setup),
        cmocka_unit_test_setup(test_iir_masked_sources, setup),
        cmocka_unit_test_setup(test_rx_timeout_and_trigger, setup),
        cmocka_unit_test_setup(test_thre_interrupt_rules, setup),
        cmocka_unit_test_setup(test_no_irq_makes_linux_poll, setup),
        cmocka_unit_test_setup(test_irq_line_out2_and_loopback, setup),
        cmocka_unit_test_setup(test_loopback, setup),
        cmocka_unit_test_setup(test_rx_queue_full, setup),
        cmocka_unit_test_setup(test_backpressure_and_retry, setup),
        cmocka_unit_test_setup(test_backpressure_16450_mode, setup),
        cmocka_unit_test_setup(test_null_sink, setup),
        cmocka_unit_test_setup(test_fcr, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
