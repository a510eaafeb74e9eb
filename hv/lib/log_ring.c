/* The log's last bytes in memory (log_ring.h). */
#include "lib/log_ring.h"

static char ring[LOG_RING_SIZE];
static u64 written;

void log_ring_put(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ring[(written + i) % LOG_RING_SIZE] = s[i];
    written += n;
}

u64 log_ring_written(void) { return written; }

size_t log_ring_copy(u64 *from, char *out, size_t n)
{
    u64 oldest = written > LOG_RING_SIZE ? written - LOG_RING_SIZE : 0;
    size_t k = 0;

    if (*from < oldest)
        *from = oldest;
    while (k < n && *from < written)
        out[k++] = ring[(*from)++ % LOG_RING_SIZE];
    return k;
}
