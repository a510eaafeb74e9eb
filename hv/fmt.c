/* A small snprintf for the freestanding hypervisor (see log.h for what it supports). */
#include "log.h"

struct out {
    char *buf;
    size_t size, len;
};

static void put(struct out *o, char c)
{
    if (o->len + 1 < o->size)
        o->buf[o->len] = c;
    o->len++;
}

static void pad(struct out *o, char c, int n)
{
    while (n-- > 0)
        put(o, c);
}

static void put_number(struct out *o, unsigned long long v, bool neg, unsigned base, bool upper, int width, bool zero,
                       bool left)
{
    char tmp[24];
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    int n = 0, len;

    do {
        tmp[n++] = digits[v % base];
        v /= base;
    } while (v);
    len = n + (neg ? 1 : 0);
    if (!left && !zero)
        pad(o, ' ', width - len);
    if (neg)
        put(o, '-');
    if (!left && zero)
        pad(o, '0', width - len);
    while (n)
        put(o, tmp[--n]);
    if (left)
        pad(o, ' ', width - len);
}

int fmt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    struct out o = {buf, size, 0};

    for (const char *p = fmt; *p; p++) {
        bool zero = false, left = false;
        int width = 0, prec = -1, lng = 0;
        const char *start = p;

        if (*p != '%') {
            put(&o, *p);
            continue;
        }
        p++;
        for (;; p++) {
            if (*p == '0')
                zero = true;
            else if (*p == '-')
                left = true;
            else
                break;
        }
        if (*p == '*') {
            width = va_arg(ap, int);
            if (width < 0)
                left = true, width = -width;
            p++;
        }
        while (*p >= '0' && *p <= '9')
            width = width * 10 + (*p++ - '0');
        if (*p == '.') {
            p++;
            prec = 0;
            if (*p == '*') {
                prec = va_arg(ap, int);
                p++;
            }
            while (*p >= '0' && *p <= '9')
                prec = prec * 10 + (*p++ - '0');
        }
        for (;; p++) {
            if (*p == 'l')
                lng++;
            else if (*p == 'z')
                lng = 2;
            else if (*p != 'h')
                break;
        }
        switch (*p) {
        case 'd':
        case 'i': {
            long long v = lng >= 2 ? va_arg(ap, long long) : lng == 1 ? va_arg(ap, long) : va_arg(ap, int);
            unsigned long long mag = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
            put_number(&o, mag, v < 0, 10, false, width, zero, left);
            break;
        }
        case 'u':
        case 'x':
        case 'X': {
            unsigned long long v = lng >= 2 ? va_arg(ap, unsigned long long)
                                 : lng == 1 ? va_arg(ap, unsigned long)
                                            : va_arg(ap, unsigned int);
            put_number(&o, v, false, *p == 'u' ? 10 : 16, *p == 'X', width, zero, left);
            break;
        }
        case 'p':
            put(&o, '0');
            put(&o, 'x');
            put_number(&o, (unsigned long long)(uintptr_t)va_arg(ap, void *), false, 16, false, 16, true, false);
            break;
        case 'c':
            pad(&o, ' ', left ? 0 : width - 1);
            put(&o, (char)va_arg(ap, int));
            pad(&o, ' ', left ? width - 1 : 0);
            break;
        case 's': {
            const char *s = va_arg(ap, const char *);
            int len = 0;
            if (!s)
                s = "(null)";
            while (s[len] && (prec < 0 || len < prec))
                len++;
            pad(&o, ' ', left ? 0 : width - len);
            for (int i = 0; i < len; i++)
                put(&o, s[i]);
            pad(&o, ' ', left ? width - len : 0);
            break;
        }
        case '%':
            put(&o, '%');
            break;
        default: /* unknown conversion: print it as written */
            for (const char *q = start; q <= p && *q; q++)
                put(&o, *q);
            if (!*p)
                p--;
            break;
        }
    }
    if (size)
        buf[o.len < size ? o.len : size - 1] = 0;
    return (int)o.len;
}

int fmt_snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = fmt_vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}
