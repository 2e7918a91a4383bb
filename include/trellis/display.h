/* display.h - MIME bundles: the one way any output reaches the notebook. */
#ifndef TRELLIS_DISPLAY_H
#define TRELLIS_DISPLAY_H

#include <stddef.h>
#include <jansson.h>

/* Returns a new bundle {"text/plain": text}, or NULL when out of memory or
 * when text is not valid UTF-8 (invalid bytes are replaced first, so only
 * memory can fail). */
json_t *trl_display_text(const char *text, size_t len);

/* Adds (or replaces) mime -> content in bundle. Returns 0 or TRL_ENOMEM. */
int trl_display_add(json_t *bundle, const char *mime, const char *content,
                    size_t len);

/* Returns a malloc'd copy of text with & < > " ' escaped for HTML, or NULL
 * when out of memory. */
char *trl_html_escape(const char *text, size_t len);

/* Returns a malloc'd copy of text where invalid UTF-8 sequences are replaced
 * by U+FFFD, so that JSON encoders accept it; NULL when out of memory. */
char *trl_utf8_sanitize(const char *text, size_t len, size_t *len_out);

#endif
