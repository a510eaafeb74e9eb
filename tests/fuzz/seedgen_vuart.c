/*
 * Seeds for tests/fuzz/fuzz_vuart.c, in its input encoding (config byte, then op/val pairs):
 * Linux 6.1's 8250 probe (Debian's, and the full 16550A-variant one with size_fifo()), the
 * port's startup and set_termios, a login prompt out and a line in; transmit backpressure and
 * retry; a full receive queue; loopback. Usage: seedgen_vuart OUTDIR (tests/fuzz/make-seeds.sh).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned char buf[4096];
static size_t len;

static void b2(int op, int val)
{
    if (len + 2 > sizeof(buf))
        exit(1);
    buf[len++] = (unsigned char)op;
    buf[len++] = (unsigned char)val;
}

static void W(int off, int val) { b2(off, val); }
static void R(int off) { b2(0x40 | off, 0); }
static void push(int n, int val) { b2(0x80 | (n - 1), val); }
static void room(int val, int retry) { b2(0xa0 | retry, val); }

static void clear_fifos(void)
{
    W(2, 1);
    W(2, 7);
    W(2, 0);
}

static void size_fifo(void)
{
    R(3);
    W(3, 0);
    R(2);
    R(4);
    W(2, 7);
    W(4, 0x10);
    W(3, 0x80);
    R(0);
    R(1);
    W(0, 1);
    W(1, 0);
    W(3, 3);
    for (int i = 0; i < 20; i++)
        W(0, i);
    for (int i = 0; i < 17; i++) {
        R(5);
        R(0);
    }
    W(2, 0xc1);
    W(4, 0);
    W(3, 0x80);
    W(0, 1);
    W(1, 0);
    W(3, 0);
}

static void autoconfig(int full)
{
    R(1);
    W(1, 0);
    R(1);
    W(1, 0x0f);
    R(1);
    W(1, 0); /* IER test */
    R(4);
    R(3);
    W(4, 0x1a);
    R(6);
    W(4, 0); /* loopback test */
    W(3, 0xbf);
    W(2, 0);
    W(3, 0);
    W(2, 1);
    R(2); /* "EFR" = 0, FIFO on, IIR */
    if (full) {
        W(3, 0x80);
        R(2);
        W(3, 0xbf);
        R(2); /* EFR probes */
        W(3, 0);
        R(4);
        W(3, 0xe0);
        R(2);
        W(3, 0);
        W(4, 0x10); /* NatSemi */
        W(3, 0xe0);
        R(2);
        W(3, 0);
        W(4, 0);
        W(3, 0);
        W(2, 0x21);
        R(2);
        W(2, 1);
        W(3, 0x80);
        W(2, 0x21);
        R(2);
        W(2, 1);
        W(3, 0); /* 16750 */
        R(1);
        W(1, 0);
        R(1);
        W(1, 0x40);
        R(1);
        W(1, 0); /* XScale UUE */
        size_fifo();
    }
    W(3, 0);
    W(4, 0);
    clear_fifos();
    R(0);
    W(1, 0);
}

static void startup(void)
{
    clear_fifos();
    R(5);
    R(0);
    R(2);
    R(6);
    R(5);
    R(5);
    W(1, 2);
    R(2);
    W(1, 0);
    W(1, 2);
    R(2);
    W(1, 0); /* THRE test */
    W(3, 3);
    W(4, 0x0b);
    W(1, 2);
    R(5);
    R(2);
    W(1, 0); /* TXEN test */
    W(3, 0x83);
    W(0, 1);
    W(1, 0);
    W(3, 3);
    W(2, 1);
    W(2, 0x81);
    W(4, 0x0b);
    W(1, 5); /* termios */
}

static void tx(const char *s)
{
    W(1, 7);
    R(2);
    R(5);
    for (; *s; s++)
        W(0, (unsigned char)*s);
    R(2);
    R(5);
    W(1, 5);
}

static void rx(int n, int val)
{
    push(n, val);
    R(2);
    R(5);
    for (int i = 0; i < n; i++)
        R(0);
    R(2);
}

static void emit(const char *dir, const char *name)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "wb");
    if (!f || fwrite(buf, 1, len, f) != len || fclose(f)) {
        perror(path);
        exit(1);
    }
}

static void start(int config)
{
    len = 0;
    buf[len++] = (unsigned char)config;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : ".";

    start(6); /* unlimited sink */
    autoconfig(0);
    startup();
    tx("login: ");
    rx(5, 'a');
    tx("root\r\n");
    emit(dir, "linux-probe");

    start(6);
    W(3, 3);
    W(4, 0x0b);
    autoconfig(1);
    startup();
    rx(20, '0');
    emit(dir, "linux-full-probe");

    start(0); /* a sink with no room */
    W(2, 0xc1);
    W(4, 0x0b);
    W(1, 2);
    R(2);
    tx("0123456789abcdefXYZ");
    room(3, 1);
    R(5);
    room(255, 1);
    R(2);
    R(5);
    emit(dir, "backpressure");

    start(6);
    W(4, 0x0b);
    W(1, 0x0d);
    for (int i = 0; i < 9; i++)
        push(32, i * 32);
    R(5);
    R(2);
    for (int i = 0; i < 40; i++)
        R(0);
    push(32, 0x80);
    emit(dir, "rx-full");

    start(6);
    W(2, 1);
    W(4, 0x1f);
    W(1, 0x0f);
    R(6);
    R(2);
    W(0, 'A');
    W(0, 'B');
    R(5);
    R(0);
    W(4, 0x10);
    R(6);
    W(4, 0);
    R(6);
    R(2);
    emit(dir, "loopback");
    return 0;
}
