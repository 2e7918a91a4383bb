/* textbuf.c - appending into a fixed buffer (see textbuf.h). */
#include <stdarg.h>
#include <stdio.h>

#include "magics/textbuf.h"

void trl__textbuf_init(trl__textbuf *t, char *buf, size_t size)
{
    t->buf = buf;
    t->size = size;
    t->len = 0;
    if (size)
        buf[0] = '\0';
}

void trl__textbuf_printf(trl__textbuf *t, const char *fmt, ...)
{
    char *at = t->len < t->size ? t->buf + t->len : NULL;
    size_t room = t->len < t->size ? t->size - t->len : 0;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(at, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        t->len += (size_t)n;
}
