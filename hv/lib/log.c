/* The hypervisor's log: formatted lines on the serial console, each prefixed "postern: ". */
#include "lib/log.h"
#include "lib/lib.h"
#include "drivers/uart/uart16550.h"
#include "lib/log_ring.h"

/* A second place the log's lines go (the framebuffer when no UART answers: hv_main). */
static void (*mirror)(const char *s, size_t n);

void log_set_mirror(void (*fn)(const char *s, size_t n)) { mirror = fn; }

void log_write(const char *s, size_t n)
{
    uart_write(s, n);
    if (mirror)
        mirror(s, n);
}

void log_vline(const char *prefix, const char *fmt, va_list ap)
{
    char buf[512];
    int n = fmt_vsnprintf(buf, sizeof(buf), fmt, ap);

    if (n < 0)
        return;
    if ((size_t)n >= sizeof(buf))
        n = sizeof(buf) - 1;
    uart_write(prefix, strlen(prefix));
    uart_write(buf, (size_t)n);
    if (n == 0 || buf[n - 1] != '\n')
        uart_write("\n", 1);
    if (*prefix) { /* the log's lines, not the shell's */
        log_ring_put(prefix, strlen(prefix));
        log_ring_put(buf, (size_t)n);
        if (n == 0 || buf[n - 1] != '\n')
            log_ring_put("\n", 1);
        if (mirror) {
            mirror(prefix, strlen(prefix));
            mirror(buf, (size_t)n);
            if (n == 0 || buf[n - 1] != '\n')
                mirror("\n", 1);
        }
    }
}

void log_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vline("postern: ", fmt, ap);
    va_end(ap);
}
