/* display.c - building MIME bundles and making text safe for them. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trellis/display.h"
#include "trellis/error.h"

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    unsigned min;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF)
        len = 3, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4)
        len = 4, min = 0x10000;
    else
        return 0;
    if (len > n)
        return 0;
    unsigned cp = c & (0x3F >> (len - 1));
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

char *trl_utf8_sanitize(const char *text, size_t len, size_t *len_out)
{
    /* worst case: every byte becomes the 3-byte U+FFFD */
    if (len > (SIZE_MAX - 1) / 3)
        return NULL;
    char *out = malloc(len * 3 + 1);
    if (!out)
        return NULL;
    const unsigned char *s = (const unsigned char *)text;
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        size_t k = s[i] ? utf8_seq(s + i, len - i) : 0;
        if (k) {
            memcpy(out + o, s + i, k);
            o += k;
            i += k;
        } else if (s[i] == 0) {
            /* NUL cannot cross jansson's C-string API: show it as U+2400 */
            memcpy(out + o, "\xE2\x90\x80", 3);
            o += 3;
            i++;
        } else {
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        }
    }
    out[o] = '\0';
    if (len_out)
        *len_out = o;
    return out;
}

json_t *trl_display_text(const char *text, size_t len)
{
    json_t *b = json_object();
    if (b && trl_display_add(b, "text/plain", text, len) != 0) {
        json_decref(b);
        return NULL;
    }
    return b;
}

int trl_display_add(json_t *bundle, const char *mime, const char *content,
                    size_t len)
{
    size_t clean_len;
    char *clean = trl_utf8_sanitize(content, len, &clean_len);
    if (!clean)
        return TRL_ENOMEM;
    json_t *s = json_stringn_nocheck(clean, clean_len);
    free(clean);
    if (!s || json_object_set_new(bundle, mime, s) != 0)
        return TRL_ENOMEM;
    return 0;
}

char *trl_html_escape(const char *text, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        switch (text[i]) {
        case '&': n += 5; break;
        case '<': case '>': n += 4; break;
        case '"': case '\'': n += 6; break;
        default: n++;
        }
    }
    char *out = malloc(n + 1), *o = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        const char *rep = NULL;
        switch (text[i]) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&#x27;"; break;
        }
        if (rep) {
            memcpy(o, rep, strlen(rep));
            o += strlen(rep);
        } else {
            *o++ = text[i];
        }
    }
    *o = '\0';
    return out;
}

/* ---- text buffers ------------------------------------------------------------ */

void trl_strbuf_init(trl_strbuf *b)
{
    b->cap = 1024;
    b->len = 0;
    if ((b->p = malloc(b->cap)))
        b->p[0] = '\0';
}

int trl_strbuf_printf(trl_strbuf *b, const char *fmt, ...)
{
    for (;;) {
        if (!b->p)
            return TRL_ENOMEM;
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0)
            return TRL_ENOMEM;
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return 0;
        }
        size_t cap = b->cap * 2 + (size_t)n;
        char *bigger = realloc(b->p, cap);
        if (!bigger) {
            free(b->p);
            b->p = NULL;
            return TRL_ENOMEM;
        }
        b->p = bigger;
        b->cap = cap;
    }
}

int trl_strbuf_html(trl_strbuf *b, const char *text)
{
    char *esc = trl_html_escape(text, strlen(text));
    int rc = esc ? trl_strbuf_printf(b, "%s", esc) : TRL_ENOMEM;
    free(esc);
    return rc;
}
