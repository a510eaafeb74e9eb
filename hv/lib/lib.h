/* Freestanding string and memory helpers. In the EFI image memcpy/memset come from GNU-EFI's
 * libefi (byte loops, no SSE: the guest's vector state is live while the hypervisor runs);
 * the rest is hv/lib/string.c. Host-side tests get all of them from libc. */
#ifndef POSTERN_LIB_H
#define POSTERN_LIB_H

#include "lib/types.h"

void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);

#endif
