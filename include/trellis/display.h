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

/* A growing text buffer for building tables. After an allocation fails,
 * p is NULL and every later call does nothing and returns TRL_ENOMEM. */
typedef struct trl_strbuf {
    char *p;      /* NUL-terminated, owned (free it) */
    size_t len;
    size_t cap;
} trl_strbuf;

/* Starts b empty (it may then fail on first use). */
void trl_strbuf_init(trl_strbuf *b);
int trl_strbuf_printf(trl_strbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Appends text, HTML-escaped. */
int trl_strbuf_html(trl_strbuf *b, const char *text);

struct trl_frame;
/* A frame as an HTML table / as aligned text: the column types under the
 * names, the first 10 and last 5 rows of a frame past 20, the shape. New
 * strings (free them), NULL when out of memory. */
char *trl_frame_html(const struct trl_frame *f);
char *trl_frame_text(const struct trl_frame *f);

/* The bundle (text/plain and text/html) showing a model comparison, as
 * trl_compare_models returns it (see model.h); NULL when out of memory. */
json_t *trl_display_comparison(const json_t *result);

/* The bundle (text/plain and text/html with an inline SVG) showing a
 * serving benchmark, as trl_bench_run returns it (see bench.h), with its
 * "recorded" number or "not_recorded" reason when the caller added one;
 * NULL when out of memory. */
json_t *trl_display_bench(const json_t *result);
/* The bundle showing a drift result, as trl_drift_run returns it (see
 * guard.h): a row per feature, largest PSI first, flagged rows marked,
 * and REF's and NEW's histograms overlaid for each flagged feature (an
 * SVG inside the HTML). NULL when out of memory. */
json_t *trl_display_drift(const json_t *result);

/* The bundle showing a validation result (trl_validate_check): the
 * verdict, then a row per check with what was observed and expected.
 * NULL when out of memory. */
json_t *trl_display_validation(const json_t *result);

/* The bundle (text/plain and text/html with an inline SVG bar chart,
 * error bars for permutation) showing a feature importance run, as
 * trl_importance_run returns it (see importance.h), with its "recorded"
 * number or "not_recorded" reason when the caller added one: the first
 * top features (0: all), most important first, and with inputs also the
 * table per encoded input. NULL when out of memory. */
json_t *trl_display_importance(const json_t *result, size_t top,
                               int inputs);

/* The bundle showing trl_registry_importance_history's result: a table
 * of the first top features (0: all) by version, and grouped bars. NULL
 * when out of memory. */
json_t *trl_display_importance_history(const json_t *history, size_t top);

/* The bundle showing a promotion attempt, as trl_registry_promote
 * returns it (see gate.h): what was asked, a row per gate with its
 * outcome and the values it compared, the verdict and the audit entry;
 * the result rides along as application/vnd.trellis.promotion+json.
 * NULL when out of memory. */
json_t *trl_display_promotion(const json_t *result);

/* The bundle showing trl_registry_model_history: the stage changes, then
 * every promotion attempt with its gates. NULL when out of memory. */
json_t *trl_display_model_history(const json_t *history);

#endif
