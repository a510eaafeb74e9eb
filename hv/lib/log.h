/* Formatted logging to the hypervisor's serial console. */
#ifndef POSTERN_LOG_H
#define POSTERN_LOG_H

#include "lib/types.h"
#include <stdarg.h>

/* snprintf-like formatter (fmt.c): %d %i %u %x %X %p %s %c %%, with l/ll/z/h/hh modifiers, width,
 * zero padding, '-' and precision for %s. Always NUL-terminates when size > 0; returns the length the
 * full output would have had. Pure logic: unit-tested on the host. */
int fmt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int fmt_snprintf(char *buf, size_t size, const char *fmt, ...) PRINTF_LIKE(3, 4);

/* Every hypervisor line goes out with the "postern: " prefix so the harness can tell it from the
 * guest's own output on the shared UART. */
void log_printf(const char *fmt, ...) PRINTF_LIKE(1, 2);
/* One formatted line on the serial line after prefix (at most 511 characters; a newline is added
 * unless the text ends with one): log_printf's, and the admin shell's with prefix "". */
void log_vline(const char *prefix, const char *fmt, va_list ap);
void log_write(const char *s, size_t n);
/* Also send the log's lines (log_printf's, not the shell's) and log_write's bytes to fn; NULL: stop. */
void log_set_mirror(void (*fn)(const char *s, size_t n));

#define LOG(...) log_printf(__VA_ARGS__)

/* What the guest can repeat forever is logged rate-limited: the first `first` times, then every
 * 1024th, so a loop cannot flood the serial line and the line still shows it goes on. */
#define LOG_EVERY_AFTER 1024
static inline bool log_ratelimit_pass(u64 count, u64 first) { return count <= first || count % LOG_EVERY_AFTER == 0; }
/* Counts one more into `counter` (an lvalue: a static or a statistic) and logs if that passes. */
#define LOG_RATELIMITED(counter, first, ...)                                                                           \
    do {                                                                                                               \
        if (log_ratelimit_pass(++(counter), (first)))                                                                  \
            LOG(__VA_ARGS__);                                                                                          \
    } while (0)

#endif
