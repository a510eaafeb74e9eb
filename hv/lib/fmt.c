/* A small snprintf for the freestanding hypervisor (see log.h for what it supports). Beyond the
 * documented set it also takes the '+', ' ' and '#' flags, integer precision and the j/t modifiers:
 * the compiler's format check accepts them, and a conversion left unparsed would shift every later
 * argument. */
#include "lib/log.h"

/* Widths and precisions beyond this are clamped: keeps the arithmetic clear of int overflow. */
#define FIELD_MAX 100000

enum { F_LEFT = 1, F_ZERO = 2, F_PLUS = 4, F_SPACE = 8, F_ALT = 16 };

struct out {
    char *buf;
    size_t size, len; /* len counts every character, written or not */
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

static void put_str(struct out *o, const char *s)
{
    while (*s)
        put(o, *s++);
}

static int read_field(const char **p)
{
    int n = 0;
    while (**p >= '0' && **p <= '9') {
        n = n * 10 + (*(*p)++ - '0');
        if (n > FIELD_MAX)
            n = FIELD_MAX;
    }
    return n;
}

/* prefix: "-", "+", " ", "0x" or "". prec < 0: none given. */
static void put_number(struct out *o, unsigned long long v, const char *prefix, unsigned base, bool upper, int width,
                       int prec, int flags)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char tmp[24];
    int n = 0, zeros, len;

    if (v || prec != 0) /* libc: precision 0 prints the value 0 as no digits at all */
        do {
            tmp[n++] = digits[v % base];
            v /= base;
        } while (v);
    zeros = prec > n ? prec - n : 0;
    len = 0;
    while (prefix[len])
        len++;
    len += zeros + n;
    /* '0' pads between prefix and digits, unless '-' or a precision overrides it */
    if ((flags & F_ZERO) && !(flags & F_LEFT) && prec < 0 && width > len) {
        zeros += width - len;
        len = width;
    }
    if (!(flags & F_LEFT))
        pad(o, ' ', width - len);
    put_str(o, prefix);
    pad(o, '0', zeros);
    while (n)
        put(o, tmp[--n]);
    if (flags & F_LEFT)
        pad(o, ' ', width - len);
}

int fmt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    struct out o = { buf, size, 0 };

    for (const char *p = fmt; *p; p++) {
        const char *start = p;
        int flags = 0, width = 0, prec = -1, lng = 0, shrt = 0;

        if (*p != '%') {
            put(&o, *p);
            continue;
        }
        for (p++;; p++) {
            if (*p == '-')
                flags |= F_LEFT;
            else if (*p == '0')
                flags |= F_ZERO;
            else if (*p == '+')
                flags |= F_PLUS;
            else if (*p == ' ')
                flags |= F_SPACE;
            else if (*p == '#')
                flags |= F_ALT;
            else
                break;
        }
        if (*p == '*') {
            width = va_arg(ap, int);
            p++;
            if (width < 0) /* a negative '*' width means '-' */
                flags |= F_LEFT, width = width < -FIELD_MAX ? FIELD_MAX : -width;
            else if (width > FIELD_MAX)
                width = FIELD_MAX;
        } else {
            width = read_field(&p);
        }
        if (*p == '.') {
            p++;
            if (*p == '*') {
                prec = va_arg(ap, int); /* negative: as if no precision */
                p++;
                if (prec > FIELD_MAX)
                    prec = FIELD_MAX;
            } else {
                prec = read_field(&p);
            }
        }
        for (;; p++) {
            if (*p == 'l')
                lng++;
            else if (*p == 'z' || *p == 'j' || *p == 't') /* all 64-bit on x86_64 */
                lng = 2;
            else if (*p == 'h')
                shrt++;
            else
                break;
        }
        switch (*p) {
        case 'd':
        case 'i': {
            long long v = lng >= 2 ? va_arg(ap, long long) : lng == 1 ? va_arg(ap, long) : va_arg(ap, int);
            const char *sign;
            if (!lng && shrt)
                v = shrt == 1 ? (short)v : (signed char)v;
            sign = v < 0 ? "-" : flags & F_PLUS ? "+" : flags & F_SPACE ? " " : "";
            put_number(&o, v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v, sign, 10, false, width, prec,
                       flags);
            break;
        }
        case 'u':
        case 'x':
        case 'X': {
            unsigned long long v = lng >= 2   ? va_arg(ap, unsigned long long)
                                   : lng == 1 ? va_arg(ap, unsigned long)
                                              : va_arg(ap, unsigned int);
            const char *prefix = "";
            if (!lng && shrt)
                v = shrt == 1 ? (unsigned short)v : (unsigned char)v;
            if ((flags & F_ALT) && v && *p != 'u')
                prefix = *p == 'X' ? "0X" : "0x";
            put_number(&o, v, prefix, *p == 'u' ? 10 : 16, *p == 'X', width, prec, flags);
            break;
        }
        case 'p': /* always the full 64 bits, so addresses line up in the log */
            put_number(&o, (uintptr_t)va_arg(ap, void *), "0x", 16, false, width, 16, flags & F_LEFT);
            break;
        case 'c':
            if (!(flags & F_LEFT))
                pad(&o, ' ', width - 1);
            put(&o, (char)va_arg(ap, int));
            if (flags & F_LEFT)
                pad(&o, ' ', width - 1);
            break;
        case 's': {
            const char *s = va_arg(ap, const char *);
            int len = 0;
            if (!s)
                s = "(null)";
            while ((prec < 0 || len < prec) && s[len])
                len++;
            if (!(flags & F_LEFT))
                pad(&o, ' ', width - len);
            for (int i = 0; i < len; i++)
                put(&o, s[i]);
            if (flags & F_LEFT)
                pad(&o, ' ', width - len);
            break;
        }
        case '%':
            put(&o, '%');
            break;
        default: /* unknown conversion (or '%' at the very end): print it as written */
            for (const char *q = start; q <= p && *q; q++)
                put(&o, *q);
            if (!*p)
                p--; /* let the loop's p++ land on the terminating NUL */
            break;
        }
    }
    if (size)
        buf[o.len < size ? o.len : size - 1] = '\0';
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
