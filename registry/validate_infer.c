/* validate_infer.c - expectations read off a reference frame: its column
 * set and types, a ceiling on each column's missing share, numeric ranges
 * with a margin, the categories of low-cardinality strings, and which
 * columns are ids (unique). The rules, and why each is as loose or tight
 * as it is, are in guard.h above trl_validate_infer. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "registry/guard_int.h"

/* A string column with more distinct values is free text or an id, not
 * a set of categories. */
#define MAX_CATEGORIES 50
/* Below this many rows all-distinct values prove nothing about ids. */
#define MIN_ROWS_FOR_ID 20
/* Ranges widen by this share of REF's range on each side. */
#define RANGE_MARGIN 0.1

/* Whether name reads as an id column: "id" or "..._id". */
static int id_like(const char *name)
{
    size_t n = strlen(name);
    return strcmp(name, "id") == 0 ||
           (n > 3 && strcmp(name + n - 3, "_id") == 0);
}

/* x rounded down (or up) to a step of about a tenth of margin, so a bound
 * reads 10.8 rather than 10.799999999999999, and only ever widens. */
static double nice(double x, double margin, int up)
{
    if (!(margin > 0) || !isfinite(x))
        return x;
    double step = pow(10, floor(log10(margin)) - 1);
    double r = (up ? ceil(x / step) : floor(x / step)) * step;
    return up ? fmax(r, x) : fmin(r, x);
}

/* min and max expectations of a numeric column's present values v
 * (sorted, n > 0), into c. */
static void add_range(json_t *c, const double *v, size_t n, int integer)
{
    double lo = v[0], hi = v[n - 1];
    if (!isfinite(lo) || !isfinite(hi))
        return;  /* infinite values: no range to widen */
    double margin = hi > lo ? RANGE_MARGIN * (hi - lo)
                            : RANGE_MARGIN * fabs(lo);
    double a = nice(lo - margin, margin, 0), b = nice(hi + margin, margin, 1);
    if (lo >= 0 && a < 0)
        a = 0;  /* a column that never went negative stays so */
    if (integer) {
        json_object_set_new(c, "min", json_integer((json_int_t)floor(a)));
        json_object_set_new(c, "max", json_integer((json_int_t)ceil(b)));
    } else {
        json_object_set_new(c, "min", json_real(a));
        json_object_set_new(c, "max", json_real(b));
    }
}

static int by_string(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Categories (sorted) of a string column with few distinct values, and
 * whether its present values are all distinct. */
static int str_facts(const trl_column *col, json_t *c, int *distinct)
{
    size_t nd = col->dict ? col->dict->n : 0, used = 0;
    size_t *count = calloc(nd ? nd : 1, sizeof *count);
    const char **names = malloc((nd ? nd : 1) * sizeof *names);
    if (!count || !names) {
        free(count);
        free(names);
        return TRL_ENOMEM;
    }
    *distinct = 1;
    for (size_t i = 0; i < col->len; i++) {
        int32_t k = col->v.codes[i];
        if (k >= 0 && count[k]++)
            *distinct = 0;
    }
    for (size_t k = 0; k < nd; k++)
        if (count[k])
            names[used++] = col->dict->strs[k];
    if (used <= MAX_CATEGORIES) {
        qsort(names, used, sizeof *names, by_string);
        json_t *cats = json_array();
        for (size_t i = 0; cats && i < used; i++)
            json_array_append_new(cats, json_string(names[i]));
        json_object_set_new(c, "categories", cats ? cats : json_array());
    }
    free(count);
    free(names);
    return 0;
}

static int by_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Whether every value of an i64 or str column is present and distinct,
 * compared exactly (as doubles, ids past 2^53 could collide). */
static int present_and_distinct(const trl_column *col)
{
    size_t n = col->len;
    if (col->type == TRL_STR) {
        size_t nd = col->dict ? col->dict->n : 0;
        uint8_t *seen = calloc(nd ? nd : 1, 1);
        int ok = seen != NULL;
        for (size_t i = 0; ok && i < n; i++) {
            int32_t k = col->v.codes[i];
            ok = k >= 0 && (size_t)k < nd && !seen[k];
            if (ok)
                seen[k] = 1;
        }
        free(seen);
        return ok;
    }
    int64_t *v = malloc((n ? n : 1) * sizeof *v);
    if (!v)
        return 0;
    int ok = 1;
    for (size_t i = 0; ok && i < n; i++) {
        ok = !col->valid || col->valid[i];
        v[i] = col->v.i64[i];
    }
    if (ok)
        qsort(v, n, sizeof *v, by_i64);
    for (size_t i = 1; ok && i < n; i++)
        ok = v[i] != v[i - 1];
    free(v);
    return ok;
}

static int column_facts(const char *name, const trl_column *col, json_t *c,
                        size_t *missing, trl_error *err)
{
    int distinct = 0;
    *missing = 0;
    if (col->type == TRL_STR) {
        for (size_t i = 0; i < col->len; i++)
            *missing += col->v.codes[i] < 0;
        if (str_facts(col, c, &distinct) != 0)
            return trl_error_set(err, TRL_ENOMEM, "out of memory");
    } else if (col->type == TRL_BOOL) {
        for (size_t i = 0; i < col->len; i++)
            *missing += col->v.b[i] == TRL_BOOL_MISSING;
    } else {
        size_t n = 0;
        trl__sortbuf b = {0};
        double *v = trl__sorted_values(col, &b, &n, missing);
        if (!v) {
            trl__sortbuf_free(&b);
            return trl_error_set(err, TRL_ENOMEM, "out of memory");
        }
        if (n)
            add_range(c, v, n, col->type == TRL_I64);
        distinct = 1;
        for (size_t i = 1; i < n && distinct; i++)
            distinct = v[i] != v[i - 1];
        trl__sortbuf_free(&b);
    }
    int id_type = col->type == TRL_I64 || col->type == TRL_STR;
    if (col->type == TRL_I64)  /* as integers: doubles merge past 2^53 */
        distinct = *missing == 0 && present_and_distinct(col);
    int unique = id_type && distinct && *missing == 0 &&
                 (col->len >= MIN_ROWS_FOR_ID || id_like(name));
    if (unique)
        json_object_set_new(c, "unique", json_true());
    if (unique && id_like(name)) {
        /* an id's range only says which ones REF happened to hold, and
         * every new batch brings new ones; a unique column of another
         * name (amounts, times) keeps its range */
        json_object_del(c, "min");
        json_object_del(c, "max");
    }
    return 0;
}

int trl__column_is_id(const char *name, const trl_column *col)
{
    return id_like(name) && col->len > 0 &&
           (col->type == TRL_I64 || col->type == TRL_STR) &&
           present_and_distinct(col);
}

json_t *trl_validate_infer(const trl_frame *ref, trl_error *err)
{
    if (!ref || ref->nrows == 0 || ref->ncols == 0) {
        trl_error_set(err, TRL_EINVAL, "%s has no rows: there is nothing "
                      "to infer expectations from",
                      ref && ref->ref ? ref->ref : "the reference frame");
        return NULL;
    }
    json_t *cols = json_object();
    json_t *spec = json_pack("{s:s?, s:i, s:b, s:o}", "from", ref->ref,
                             "min_rows", 1, "allow_extra_columns", 0,
                             "columns", cols);
    if (!spec) {
        trl_error_set(err, TRL_ENOMEM, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < ref->ncols; i++) {
        if (trl__registry_interrupted()) {
            trl__registry_interrupt_error(err);
            json_decref(spec);
            return NULL;
        }
        const trl_column *col = ref->cols[i];
        size_t missing;
        /* max_missing is known after the pass; placed now, it reads
         * second in the table */
        json_t *c = json_pack("{s:s, s:b, s:f}", "type",
                              trl_dtype_name(col->type), "required", 1,
                              "max_missing", 0.0);
        if (!c || json_object_set_new(cols, ref->names[i], c) != 0 ||
            column_facts(ref->names[i], col, c, &missing, err) != 0) {
            if (err && !err->code)
                trl_error_set(err, TRL_ENOMEM, "out of memory");
            json_decref(spec);
            return NULL;
        }
        double rate = (double)missing / (double)col->len;
        json_object_set_new(c, "max_missing",
                            json_real(rate == 0 ? 0
                                      : fmin(1, 2 * rate + 0.01)));
    }
    return spec;
}
