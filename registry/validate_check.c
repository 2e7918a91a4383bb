/* validate_check.c - a frame checked against expectations: one check per
 * expectation (row count, presence, type, missing share, range,
 * categories, uniqueness, the column set), each with what was observed
 * and what was expected, in words for the table and in numbers for code
 * that asserts on them. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry/guard_int.h"

/* Unseen categories a check names in words, and in its list. */
#define SHOW_UNSEEN 5
#define LIST_UNSEEN 20

typedef struct checks {
    json_t *all;      /* array of check objects */
    size_t failed;
    int oom;
} checks;

/* Appends a check (extra, stolen, may be NULL, adds its numbers). */
static void add(checks *k, const char *column, const char *check, int ok,
                const char *observed, const char *expected, json_t *extra)
{
    json_t *c = json_pack("{s:s?, s:s, s:b, s:s, s:s}", "column", column,
                          "check", check, "ok", ok, "observed", observed,
                          "expected", expected);
    if (c && extra)
        json_object_update(c, extra);
    json_decref(extra);
    if (!c || json_array_append_new(k->all, c) != 0)
        k->oom = 1;
    k->failed += !ok;
}

/* "5.2%" with up to three significant digits. */
static void percent(char *out, size_t size, double share)
{
    snprintf(out, size, "%.3g%%", 100 * share);
}

static size_t missing_rows(const trl_column *c)
{
    size_t m = 0;
    for (size_t i = 0; i < c->len; i++)
        m += trl_column_is_missing(c, i) != 0;
    return m;
}

static void check_missing(checks *k, const char *name, const trl_column *c,
                          double limit)
{
    size_t m = missing_rows(c);
    double rate = (double)m / (double)c->len;
    char obs[96], exp[64], a[32], b[32];
    percent(a, sizeof a, rate);
    percent(b, sizeof b, limit);
    snprintf(obs, sizeof obs, "%s (%zu of %zu rows)", a, m, c->len);
    snprintf(exp, sizeof exp, "at most %s", b);
    /* a share equal to the limit passes, whatever the rounding */
    add(k, name, "missing", rate <= limit + 1e-12, obs, exp,
        json_pack("{s:f, s:I, s:f}", "rate", rate, "count", (json_int_t)m,
                  "max_missing", limit));
}

static int numeric_type(trl_dtype t)
{
    return t == TRL_F64 || t == TRL_I64;
}

static void check_range(checks *k, const char *name, const trl_column *c,
                        const json_t *lo_j, const json_t *hi_j)
{
    double lo = lo_j ? json_number_value(lo_j) : -INFINITY;
    double hi = hi_j ? json_number_value(hi_j) : INFINITY;
    char obs[160], exp[96];
    if (lo_j && hi_j)
        snprintf(exp, sizeof exp, "within [%.6g, %.6g]", lo, hi);
    else if (lo_j)
        snprintf(exp, sizeof exp, "at least %.6g", lo);
    else
        snprintf(exp, sizeof exp, "at most %.6g", hi);
    if (!numeric_type(c->type)) {
        snprintf(obs, sizeof obs, "%s values", trl_dtype_name(c->type));
        add(k, name, "range", 0, obs, exp, NULL);
        return;
    }
    double mn = INFINITY, mx = -INFINITY;
    size_t outside = 0, present = 0;
    for (size_t i = 0; i < c->len; i++) {
        if (trl_column_is_missing(c, i))
            continue;
        double x = trl_column_get_f64(c, i);
        present++;
        mn = fmin(mn, x);
        mx = fmax(mx, x);
        outside += !(x >= lo && x <= hi);
    }
    if (!present) {
        add(k, name, "range", 1, "no values", exp, NULL);
        return;
    }
    int n = snprintf(obs, sizeof obs, "[%.6g, %.6g]", mn, mx);
    if (outside && n > 0)
        snprintf(obs + n, sizeof obs - (size_t)n, ", %zu row%s outside",
                 outside, outside == 1 ? "" : "s");
    add(k, name, "range", outside == 0, obs, exp,
        json_pack("{s:f, s:f, s:I}", "min", mn, "max", mx, "outside",
                  (json_int_t)outside));
}

static void check_categories(checks *k, const char *name,
                             const trl_column *c, const json_t *allowed)
{
    size_t na = json_is_array(allowed) ? json_array_size(allowed) : 0;
    char exp[200];
    int n = snprintf(exp, sizeof exp, "one of %zu categor%s", na,
                     na == 1 ? "y" : "ies");
    for (size_t i = 0; i < na && i < 4 && n > 0 && (size_t)n < sizeof exp;
         i++)
        n += snprintf(exp + n, sizeof exp - (size_t)n, "%s%s",
                      i ? ", " : ": ",
                      json_string_value(json_array_get(allowed, i)));
    if (na > 4 && n > 0 && (size_t)n < sizeof exp)
        snprintf(exp + n, sizeof exp - (size_t)n, ", ...");
    if (c->type != TRL_STR) {
        char obs[64];
        snprintf(obs, sizeof obs, "%s values", trl_dtype_name(c->type));
        add(k, name, "categories", 0, obs, exp, NULL);
        return;
    }
    size_t nd = c->dict ? c->dict->n : 0;
    size_t *count = calloc(nd ? nd : 1, sizeof *count);
    trl_strdict *ok = trl_strdict_new();
    json_t *unseen = json_array();
    if (!count || !ok || !unseen) {
        free(count);
        trl_strdict_decref(ok);
        json_decref(unseen);
        k->oom = 1;
        return;
    }
    for (size_t i = 0; i < na; i++) {
        const char *s = json_string_value(json_array_get(allowed, i));
        if (trl_strdict_intern(ok, s, strlen(s)) < 0)
            k->oom = 1;
    }
    for (size_t i = 0; i < c->len; i++)
        if (c->v.codes[i] >= 0)
            count[c->v.codes[i]]++;
    size_t rows = 0, kinds = 0;
    char obs[400];
    int m = snprintf(obs, sizeof obs, "all allowed");
    for (size_t code = 0; code < nd; code++) {
        if (!count[code] ||
            trl_strdict_find(ok, c->dict->strs[code], c->dict->lens[code])
                >= 0)
            continue;
        if (kinds == 0)
            m = 0;
        if (kinds < SHOW_UNSEEN && m >= 0 && (size_t)m < sizeof obs)
            m += snprintf(obs + m, sizeof obs - (size_t)m, "%s'%.40s' (%zu)",
                          kinds ? ", " : "unseen: ", c->dict->strs[code],
                          count[code]);
        if (kinds < LIST_UNSEEN)
            json_array_append_new(unseen, json_string(c->dict->strs[code]));
        kinds++;
        rows += count[code];
    }
    if (kinds > SHOW_UNSEEN && m >= 0 && (size_t)m < sizeof obs)
        snprintf(obs + m, sizeof obs - (size_t)m, " and %zu more",
                 kinds - SHOW_UNSEEN);
    add(k, name, "categories", kinds == 0, obs, exp,
        json_pack("{s:o, s:I}", "unseen", unseen, "outside",
                  (json_int_t)rows));
    free(count);
    trl_strdict_decref(ok);
}

/* Present rows whose value an earlier row already had. */
static int duplicates(const trl_column *c, size_t *out)
{
    size_t dup = 0;
    if (c->type == TRL_STR || c->type == TRL_BOOL) {
        size_t nd = c->type == TRL_STR ? (c->dict ? c->dict->n : 0) : 2;
        uint8_t *seen = calloc(nd ? nd : 1, 1);
        if (!seen)
            return TRL_ENOMEM;
        for (size_t i = 0; i < c->len; i++) {
            int64_t v = c->type == TRL_STR ? c->v.codes[i]
                        : c->v.b[i] <= 1 ? c->v.b[i] : -1;
            if (v >= 0 && seen[v]++)
                dup++;
        }
        free(seen);
    } else {
        size_t n = 0, missing;
        trl__sortbuf b = {0};
        double *v = trl__sorted_values(c, &b, &n, &missing);
        for (size_t i = 1; v && i < n; i++)
            dup += v[i] == v[i - 1];
        trl__sortbuf_free(&b);
        if (!v)
            return TRL_ENOMEM;
    }
    *out = dup;
    return 0;
}

static void check_unique(checks *k, const char *name, const trl_column *c)
{
    size_t dup = 0;
    if (duplicates(c, &dup) != 0) {
        k->oom = 1;
        return;
    }
    char obs[64];
    if (dup)
        snprintf(obs, sizeof obs, "%zu duplicate row%s", dup,
                 dup == 1 ? "" : "s");
    else
        snprintf(obs, sizeof obs, "all distinct");
    add(k, name, "unique", dup == 0, obs, "every value once",
        json_pack("{s:I}", "duplicates", (json_int_t)dup));
}

/* Every check of one column present in the frame. */
static void check_column(checks *k, const char *name, const trl_column *c,
                         const json_t *e)
{
    const char *want = json_string_value(json_object_get(e, "type"));
    const char *got = trl_dtype_name(c->type);
    int type_ok = 1;
    if (want) {
        /* integers are numbers: an i64 column meets an f64 expectation */
        type_ok = strcmp(want, got) == 0 ||
                  (strcmp(want, "f64") == 0 && c->type == TRL_I64);
        add(k, name, "type", type_ok, got, want, NULL);
    }
    if (c->len == 0)
        return;  /* no rows: the row check has said so */
    json_t *limit = json_object_get(e, "max_missing");
    if (limit)
        check_missing(k, name, c, json_number_value(limit));
    if (!type_ok)
        return;  /* a range of strings would only repeat the type */
    json_t *lo = json_object_get(e, "min"), *hi = json_object_get(e, "max");
    if (lo || hi)
        check_range(k, name, c, lo, hi);
    json_t *cats = json_object_get(e, "categories");
    if (cats)
        check_categories(k, name, c, cats);
    if (json_is_true(json_object_get(e, "unique")))
        check_unique(k, name, c);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Expected columns the frame lacks, then columns it has unasked. */
static void check_column_set(checks *k, const trl_frame *f,
                             const json_t *cols, int allow_extra)
{
    size_t n = json_object_size(cols), nm = 0;
    const char **absent = malloc((n ? n : 1) * sizeof *absent);
    if (!absent) {
        k->oom = 1;
        return;
    }
    const char *key;
    json_t *e;
    json_object_foreach((json_t *)cols, key, e) {
        if (!trl_frame_get(f, key))
            absent[nm++] = key;
    }
    qsort(absent, nm, sizeof *absent, by_name);
    for (size_t i = 0; i < nm; i++) {
        json_t *req = json_object_get(json_object_get(cols, absent[i]),
                                      "required");
        if (!json_is_false(req))
            add(k, absent[i], "present", 0, "absent", "present", NULL);
    }
    free(absent);
    if (allow_extra)
        return;
    json_t *extra = json_array();
    char obs[300] = "none";
    int m = 0;
    size_t count = 0;
    for (size_t i = 0; extra && i < f->ncols; i++) {
        if (json_object_get(cols, f->names[i]))
            continue;
        if (m >= 0 && (size_t)m < sizeof obs)
            m += snprintf(obs + m, sizeof obs - (size_t)m, "%s%.60s",
                          count ? ", " : "extra: ", f->names[i]);
        count++;
        json_array_append_new(extra, json_string(f->names[i]));
    }
    add(k, NULL, "columns", count == 0, obs, "no other columns",
        extra ? json_pack("{s:o}", "extra", extra) : NULL);
}

json_t *trl_validate_check(const trl_frame *f, const json_t *spec,
                           const char *name, const char *against,
                           trl_error *err)
{
    if (trl_validate_spec_check(spec, err) != 0)
        return NULL;
    checks k = {json_array(), 0, 0};
    if (!k.all) {
        trl_error_set(err, TRL_ENOMEM, "out of memory");
        return NULL;
    }
    const json_t *cols = json_object_get(spec, "columns");
    if (!json_is_object(cols))
        cols = NULL;  /* an empty Lua table came as [] */
    json_t *min_rows = json_object_get(spec, "min_rows");
    if (min_rows) {
        double want = json_number_value(min_rows);
        char obs[48], exp[48];
        snprintf(obs, sizeof obs, "%zu row%s", f->nrows,
                 f->nrows == 1 ? "" : "s");
        snprintf(exp, sizeof exp, "at least %.0f", want);
        add(&k, NULL, "rows", (double)f->nrows >= want, obs, exp,
            json_pack("{s:I}", "count", (json_int_t)f->nrows));
    }
    for (size_t i = 0; cols && i < f->ncols; i++) {
        json_t *e = json_object_get(cols, f->names[i]);
        if (!e)
            continue;
        if (trl__registry_interrupted()) {
            json_decref(k.all);
            trl__registry_interrupt_error(err);
            return NULL;
        }
        check_column(&k, f->names[i], f->cols[i], e);
    }
    json_t *empty = cols ? NULL : json_object();
    check_column_set(&k, f, cols ? cols : empty,
                     json_is_true(json_object_get(spec,
                                                  "allow_extra_columns")));
    json_decref(empty);
    json_t *failures = json_array();
    size_t i;
    json_t *c;
    json_array_foreach(k.all, i, c) {
        if (failures && !json_is_true(json_object_get(c, "ok")))
            json_array_append(failures, c);
    }
    size_t total = json_array_size(k.all);
    const char *shown = name ? name : f->ref;
    if (k.oom || !failures) {
        json_decref(k.all);
        json_decref(failures);
        trl_error_set(err, TRL_ENOMEM, "out of memory");
        return NULL;
    }
    /* json_pack takes the "o" values even when it fails */
    json_t *out = json_pack(
        "{s:s?, s:s?, s:s?, s:I, s:b, s:I, s:I, s:o, s:o, s:O}",
        "frame", f->ref, "name", shown, "against", against, "rows",
        (json_int_t)f->nrows, "ok", k.failed == 0, "passed",
        (json_int_t)(total - k.failed), "failed", (json_int_t)k.failed,
        "checks", k.all, "failures", failures, "expectations", spec);
    if (!out)
        trl_error_set(err, TRL_ENOMEM, "out of memory");
    return out;
}
