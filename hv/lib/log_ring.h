/*
 * The hypervisor's log kept in memory as well as sent (log.c): the last LOG_RING_SIZE bytes of its
 * "postern: " lines, so the admin shell's `hvlog` can show what scrolled past before anyone was on
 * the line (a BMC's serial-over-LAN connected after boot), and so a machine without a UART still
 * has its log somewhere. Pure: no locks (one CPU), no allocation.
 */
#ifndef POSTERN_LOG_RING_H
#define POSTERN_LOG_RING_H

#include "lib/types.h"

#define LOG_RING_SIZE (32 * 1024)

void log_ring_put(const char *s, size_t n);
/* Bytes ever put; the ring holds the last min(this, LOG_RING_SIZE) of them. */
u64 log_ring_written(void);
/* Copy up to n bytes starting at byte offset `from` (clamped to the oldest kept) into out; returns
 * how many, and sets *from to the offset after them. */
size_t log_ring_copy(u64 *from, char *out, size_t n);

#endif
