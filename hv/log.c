/* The hypervisor's log: formatted lines on the serial console, each prefixed "postern: ". */
#include "log.h"
#include "drivers/uart/uart16550.h"

void log_write(const char *s, size_t n) { uart_write(s, n); }

void log_printf(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = fmt_vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof(buf))
        n = sizeof(buf) - 1;
    uart_write("postern: ", 9);
    uart_write(buf, (size_t)n);
    if (n == 0 || buf[n - 1] != '\n')
        uart_write("\n", 1);
}
