/* For unit tests: the hypervisor's LOG() captured in logbuf, one line per call, newline-separated
 * (clear it with logbuf[0] = 0). Include once, in the test's own file. */
#ifndef POSTERN_TEST_LOG_CAPTURE_H
#define POSTERN_TEST_LOG_CAPTURE_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static char logbuf[4096];

void log_printf(const char *fmt, ...)
{
    size_t n = strlen(logbuf);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(logbuf + n, sizeof(logbuf) - n, fmt, ap);
    va_end(ap);
    n = strlen(logbuf);
    if (n + 1 < sizeof(logbuf))
        strcat(logbuf, "\n");
}

#endif
