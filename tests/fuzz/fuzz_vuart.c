/* FUZZ-SOURCES: hv/platform/vuart.c */
/*
 * libFuzzer harness for the guest's COM1 model (hv/platform/vuart.c): arbitrary sequences of
 * guest register accesses, bytes from outside, sink room changes and retries.
 *
 * INPUT: byte 0: bit 0 a NULL sink (bytes discarded), bits 2:1 the sink's initial room (0, 1, 16,
 * unlimited). Then 2 bytes per step, op and val; op bits 7:5 choose:
 *   0, 1  vuart_write(op & 7, val)
 *   2, 3  vuart_read(op & 7)
 *   4     vuart_rx_push of (op & 0x1f) + 1 bytes val, val+1, ... (stops at the first refusal)
 *   5     the sink's room = val (255: unlimited); op bit 0: then vuart_tx_retry
 *   6     vuart_tx_retry
 *   7     an offset past 7 (8 + (op & 0x1f) * 7): op bit 0 write val, else read
 *
 * INVARIANTS (abort() on violation), after every step:
 *   - queue counts and indexes inside their arrays: receive count <= 256, head < 256; transmit
 *     count <= 16 (<= 1 with the FIFOs off), head < 16; vuart_rx_space = 256 - count outside
 *     loopback, 0 in loopback; vuart_tx_pending = the transmit count; IER <= 0x0f, MCR <= 0x1f;
 *   - IIR (read from a copy, so the THRE clear does not disturb the run): bits 7:6 = 11 with the
 *     FIFOs on, 00 off, bits 5:4 = 0, an identification the 16550A has (01, 00, 02, 04, 06, 0c;
 *     0c only with FIFOs on); it is the highest-priority source among those enabled in IER,
 *     recomputed from LSR, MSR and the receive count; THRE reported only with LSR.THRE set;
 *   - the IRQ line = an interrupt identified AND MCR.OUT2 AND not loopback;
 *   - LSR (from a copy): THRE = TEMT = transmitter empty, DR = receive count > 0, PE/FE/BI and
 *     bit 7 never set, OE only after a loopback overrun; MSR bits 7:4 = DCD|DSR|CTS outside
 *     loopback, MCR's mapping in loopback;
 *   - a THR write in loopback lands in the receiver unless it already holds 16 bytes (FIFOs on)
 *     or 1 (off), and then counts an overrun;
 *   - bytes are conserved and ordered: what RBR returns while DR was set is the next byte the
 *     harness put in (pushed, or written in loopback and accepted), never invented; the sink sees
 *     exactly the THR bytes accepted outside loopback, in order; a byte is lost only where the
 *     model says so (FCR clear or FIFO mode switch, a THR write to a full transmitter counted in
 *     stats.tx_dropped, a loopback overrun counted in stats.overruns); a refused push changed
 *     nothing and happens only when the queue is full or in loopback;
 *   - put() is never called by a register read, nor in loopback for a byte written during it.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "platform/vuart.h"

static unsigned step_no;

#define CHECK(c)                                                                                                       \
    do {                                                                                                               \
        if (!(c)) {                                                                                                    \
            fprintf(stderr, "fuzz_vuart: invariant violated: %s (line %d, step %u)\n", #c, __LINE__, step_no);         \
            abort();                                                                                                   \
        }                                                                                                              \
    } while (0)

/* A shadow FIFO of bytes in flight, large enough for anything the model can hold. */
struct ring {
    u8 b[512];
    u32 head, n;
};

static void ring_put(struct ring *r, u8 c)
{
    CHECK(r->n < sizeof(r->b));
    r->b[(r->head + r->n) % sizeof(r->b)] = c;
    r->n++;
}

static u8 ring_get(struct ring *r)
{
    u8 c;

    CHECK(r->n > 0);
    c = r->b[r->head];
    r->head = (r->head + 1) % sizeof(r->b);
    r->n--;
    return c;
}

static struct vuart vu;
static struct ring rx_expect;   /* bytes in the receive queue, oldest first */
static struct ring tx_expect;   /* bytes in the transmitter, oldest first */
static u32 room;                /* 0xffffffff: unlimited */
static bool no_sink, null_sink; /* no_sink: a put() now would be a bug */
static u64 sunk;

static bool sink_put(void *ctx, u8 c)
{
    CHECK(ctx == &vu);
    CHECK(!no_sink);
    CHECK(!(vu.mcr & VUART_MCR_LOOP) || tx_expect.n > 0); /* only bytes written before loopback */
    if (!room)
        return false;
    if (room != 0xffffffffu)
        room--;
    CHECK(ring_get(&tx_expect) == c);
    sunk++;
    return true;
}

static u8 modem_expect(u8 mcr)
{
    u8 m = 0;

    if (!(mcr & VUART_MCR_LOOP))
        return 0xb0;
    if (mcr & VUART_MCR_RTS)
        m |= VUART_MSR_CTS;
    if (mcr & VUART_MCR_DTR)
        m |= VUART_MSR_DSR;
    if (mcr & VUART_MCR_OUT1)
        m |= VUART_MSR_RI;
    if (mcr & VUART_MCR_OUT2)
        m |= VUART_MSR_DCD;
    return m;
}

static u8 peek(u8 offset)
{
    struct vuart copy = vu;
    u8 v;

    no_sink = true; /* a read never reaches the sink */
    v = vuart_read(&copy, offset);
    no_sink = false;
    return v;
}

static void check_state(void)
{
    bool fifo = vu.fcr & VUART_FCR_ENABLE, loop = vu.mcr & VUART_MCR_LOOP;
    u8 lsr, msr, iir, id, want;

    CHECK(vu.rx_count <= VUART_RX_QUEUE && vu.rx_head < VUART_RX_QUEUE);
    CHECK(vu.tx_count <= (fifo ? VUART_FIFO_SIZE : 1) && vu.tx_head < VUART_FIFO_SIZE);
    CHECK(vuart_rx_space(&vu) == (loop ? 0 : VUART_RX_QUEUE - vu.rx_count));
    CHECK(vuart_tx_pending(&vu) == vu.tx_count);
    CHECK(vu.ier <= 0x0f && vu.mcr <= 0x1f);
    CHECK(rx_expect.n == vu.rx_count);
    if (!null_sink)
        CHECK(tx_expect.n == vu.tx_count);

    lsr = peek(VUART_LSR);
    CHECK(!!(lsr & VUART_LSR_THRE) == (vu.tx_count == 0));
    CHECK(!!(lsr & VUART_LSR_TEMT) == (vu.tx_count == 0));
    CHECK(!!(lsr & VUART_LSR_DR) == (vu.rx_count > 0));
    CHECK(!(lsr & (VUART_LSR_PE | VUART_LSR_FE | VUART_LSR_BI | 0x80)));
    CHECK(!(lsr & VUART_LSR_OE) || vu.stats.overruns);

    msr = peek(VUART_MSR);
    CHECK((msr & 0xf0) == modem_expect(vu.mcr));

    iir = peek(VUART_IIR);
    CHECK((iir & 0xc0) == (fifo ? 0xc0 : 0));
    CHECK(!(iir & 0x30));
    id = iir & 0x0f;
    CHECK(id == 0x01 || id == 0x00 || id == 0x02 || id == 0x04 || id == 0x06 || (id == 0x0c && fifo));
    if ((vu.ier & VUART_IER_ELSI) && (lsr & VUART_LSR_ERRORS))
        want = VUART_IIR_RLSI;
    else if ((vu.ier & VUART_IER_ERBFI) && (lsr & VUART_LSR_DR))
        want = id == VUART_IIR_TIMEOUT ? VUART_IIR_TIMEOUT : VUART_IIR_RDI;
    else if ((vu.ier & VUART_IER_ETBEI) && id == VUART_IIR_THRI)
        want = VUART_IIR_THRI; /* the latch is internal: only its consistency can be checked */
    else if ((vu.ier & VUART_IER_EDSSI) && (msr & VUART_MSR_DELTAS))
        want = VUART_IIR_MSI;
    else
        want = VUART_IIR_NO_INT;
    CHECK(id == want);
    if (id == VUART_IIR_TIMEOUT || id == VUART_IIR_RDI) {
        static const u8 trig[4] = { 1, 4, 8, 14 };
        bool below = fifo && vu.rx_count < trig[vu.fcr >> 6];
        CHECK((id == VUART_IIR_TIMEOUT) == below);
    }
    if (id == VUART_IIR_THRI)
        CHECK(lsr & VUART_LSR_THRE);
    CHECK(vuart_irq_line(&vu) == (id != VUART_IIR_NO_INT && (vu.mcr & VUART_MCR_OUT2) && !loop));
}

static void do_write(u8 off, u8 val)
{
    bool dlab = vu.lcr & VUART_LCR_DLAB, loop = vu.mcr & VUART_MCR_LOOP;
    struct vuart_stats st = vu.stats;
    u32 rx_before = vu.rx_count;

    if (off == VUART_THR && !dlab) {
        if (loop) {
            /* The sink may not see it; the receiver gets it or an overrun is counted. */
            u64 sunk_before = sunk;
            vuart_write(&vu, off, val);
            CHECK(sunk == sunk_before);
            /* the receiver's hardware size: 16 bytes with the FIFOs on, 1 with them off */
            CHECK((vu.stats.overruns == st.overruns) ==
                  (rx_before < ((vu.fcr & VUART_FCR_ENABLE) ? VUART_FIFO_SIZE : 1u)));
            if (vu.stats.overruns == st.overruns) {
                CHECK(vu.rx_count == rx_before + 1);
                ring_put(&rx_expect, val);
            } else {
                CHECK(vu.rx_count == rx_before);
                CHECK(peek(VUART_LSR) & VUART_LSR_OE);
            }
            return;
        }
        if (!null_sink)
            ring_put(&tx_expect, val);
        vuart_write(&vu, off, val);
        if (vu.stats.tx_dropped != st.tx_dropped) {
            CHECK(vu.stats.tx_dropped == st.tx_dropped + 1);
            CHECK(vu.tx_count == ((vu.fcr & VUART_FCR_ENABLE) ? VUART_FIFO_SIZE : 1));
            if (!null_sink) { /* the dropped byte is the newest one: take it back off the shadow */
                CHECK(tx_expect.n > 0);
                tx_expect.n--;
            }
        }
        return;
    }
    if (off == VUART_FCR) {
        u32 tx_before = vu.tx_count;
        u64 sunk_before = sunk;

        vuart_write(&vu, off, val);
        CHECK(sunk == sunk_before);
        /* Either untouched or emptied: never partly. */
        CHECK(vu.rx_count == rx_before || vu.rx_count == 0);
        CHECK(vu.tx_count == tx_before || vu.tx_count == 0);
        if (vu.rx_count == 0)
            rx_expect.n = 0;
        if (vu.tx_count == 0)
            tx_expect.n = 0;
        return;
    }
    vuart_write(&vu, off, val);
    CHECK(vu.rx_count == rx_before);
}

static void do_read(u8 off)
{
    bool dlab = vu.lcr & VUART_LCR_DLAB;
    u32 rx_before = vu.rx_count;
    u8 v = vuart_read(&vu, off);

    if (off == VUART_RBR && !dlab && rx_before) {
        CHECK(vu.rx_count == rx_before - 1);
        CHECK(v == ring_get(&rx_expect));
    } else {
        CHECK(vu.rx_count == rx_before);
    }
    if (off == VUART_IER && !dlab)
        CHECK(v == vu.ier);
}

static void do_push(u8 n, u8 val)
{
    for (u8 i = 0; i < n; i++) {
        u32 before = vu.rx_count;
        bool full = before >= VUART_RX_QUEUE, loop = vu.mcr & VUART_MCR_LOOP;

        if (!vuart_rx_push(&vu, (u8)(val + i))) {
            CHECK(full || loop);
            CHECK(vu.rx_count == before);
            return;
        }
        CHECK(!full && !loop);
        CHECK(vu.rx_count == before + 1);
        ring_put(&rx_expect, (u8)(val + i));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const u32 rooms[4] = { 0, 1, 16, 0xffffffffu };

    if (size < 1)
        return 0;
    memset(&rx_expect, 0, sizeof(rx_expect));
    memset(&tx_expect, 0, sizeof(tx_expect));
    null_sink = data[0] & 1;
    room = rooms[(data[0] >> 1) & 3];
    no_sink = false;
    sunk = 0;
    step_no = 0;
    vuart_init(&vu, null_sink ? NULL : &(struct vuart_sink){ sink_put, &vu });
    check_state();

    for (size_t i = 1; i + 1 < size; i += 2, step_no++) {
        u8 op = data[i], val = data[i + 1];

        switch (op >> 5) {
        case 0:
        case 1:
            do_write(op & 7, val);
            break;
        case 2:
        case 3:
            do_read(op & 7);
            break;
        case 4:
            do_push((u8)((op & 0x1f) + 1), val);
            break;
        case 5:
            room = val == 255 ? 0xffffffffu : val;
            if (op & 1)
                vuart_tx_retry(&vu);
            break;
        case 6:
            vuart_tx_retry(&vu);
            break;
        default: {
            u8 off = (u8)(8 + (op & 0x1f) * 7);
            struct vuart before;

            memcpy(&before, &vu, sizeof(vu));
            if (op & 1)
                vuart_write(&vu, off, val);
            else
                CHECK(vuart_read(&vu, off) == 0xff);
            CHECK(memcmp(&before, &vu, sizeof(vu)) == 0);
            break;
        }
        }
        check_state();
    }
    return 0;
}
