/* textbuf.h - private: text appended piece by piece into a caller's fixed
 * buffer, snprintf-style. Magics build usage lines and IPython's timing
 * strings this way, where the whole length is needed even when it does
 * not fit. */
#ifndef TRELLIS_MAGICS_TEXTBUF_H
#define TRELLIS_MAGICS_TEXTBUF_H

#include <stddef.h>

typedef struct trl__textbuf {
    char *buf;
    size_t size;
    size_t len;   /* length of the whole text so far, written or not */
} trl__textbuf;

/* Starts an empty text in buf (size bytes, may be 0). */
void trl__textbuf_init(trl__textbuf *t, char *buf, size_t size);

/* Appends, cutting at the buffer's end (always NUL-terminated when size
 * > 0); len grows by the full length either way. */
__attribute__((format(printf, 2, 3)))
void trl__textbuf_printf(trl__textbuf *t, const char *fmt, ...);

#endif
