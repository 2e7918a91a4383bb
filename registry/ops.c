/* ops.c - element-wise column arithmetic, comparisons and selections: one
 * pass in C over contiguous arrays, interrupt polled between blocks. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "registry/registry_int.h"

static int numeric(const trl_column *c)
{
    return c->type != TRL_STR;
}

static int is_cmp(trl_binop op)
{
    return op >= TRL_OP_EQ && op <= TRL_OP_GE;
}

static int is_logic(trl_binop op)
{
    return op == TRL_OP_AND || op == TRL_OP_OR;
}

static const char *op_name(trl_binop op)
{
    static const char *n[] = {"+", "-", "*", "/", "^", "%", "==", "~=",
                              "<", "<=", ">", ">=", "and", "or"};
    return n[op];
}

/* Lua's float modulo: the result has the sign of the divisor. */
static double lua_fmod(double a, double b)
{
    double m = fmod(a, b);
    if (m != 0 && (m > 0) != (b > 0))
        m += b;
    return m;
}

static double arith(trl_binop op, double x, double y)
{
    switch (op) {
    case TRL_OP_ADD: return x + y;
    case TRL_OP_SUB: return x - y;
    case TRL_OP_MUL: return x * y;
    case TRL_OP_DIV: return x / y;
    case TRL_OP_POW: return pow(x, y);
    case TRL_OP_MOD: return lua_fmod(x, y);
    default: return NAN;
    }
}

static uint8_t compare(trl_binop op, double x, double y)
{
    switch (op) {
    case TRL_OP_EQ: return x == y;
    case TRL_OP_NE: return x != y;
    case TRL_OP_LT: return x < y;
    case TRL_OP_LE: return x <= y;
    case TRL_OP_GT: return x > y;
    case TRL_OP_GE: return x >= y;
    default: return 0;
    }
}

/* Kleene logic, as SQL and pandas' nullable booleans: false and missing is
 * false, true or missing is true, otherwise missing wins. */
static uint8_t logic(trl_binop op, uint8_t x, uint8_t y)
{
    const uint8_t M = TRL_BOOL_MISSING;
    if (op == TRL_OP_AND) {
        if (x == 0 || y == 0)
            return 0;
        return (x == M || y == M) ? M : 1;
    }
    if (x == 1 || y == 1)
        return 1;
    return (x == M || y == M) ? M : 0;
}

static uint8_t as_bool(const trl_column *c, size_t i)
{
    if (trl_column_is_missing(c, i))
        return TRL_BOOL_MISSING;
    return trl_column_get_f64(c, i) != 0;
}

/* Writes op over rows [0, n) reading operands through get_a/get_b. */
#define POLL_OR_FAIL(i, out, err)                                          \
    do {                                                                   \
        if (((i) & (TRL__POLL_ROWS - 1)) == 0 && (i) &&                    \
            trl__registry_interrupted()) {                                 \
            trl_column_decref(out);                                        \
            trl__registry_interrupt_error(err);                            \
            return NULL;                                                   \
        }                                                                  \
    } while (0)

static trl_column *strings_equal(trl_binop op, const trl_column *a,
                                 const trl_column *b, trl_error *err)
{
    trl_column *out = trl__column_new_uninit(TRL_BOOL, a->len, NULL);
    if (!out) {
        trl_error_set(err, TRL_ENOMEM, "out of memory");
        return NULL;
    }
    int same = a->dict == b->dict;
    for (size_t i = 0; i < a->len; i++) {
        POLL_OR_FAIL(i, out, err);
        int32_t x = a->v.codes[i], y = b->v.codes[i];
        if (x < 0 || y < 0) {
            out->v.b[i] = TRL_BOOL_MISSING;
            continue;
        }
        int eq = same ? x == y
                      : (a->dict->lens[x] == b->dict->lens[y] &&
                         memcmp(a->dict->strs[x], b->dict->strs[y],
                                a->dict->lens[x]) == 0);
        out->v.b[i] = (uint8_t)(op == TRL_OP_EQ ? eq : !eq);
    }
    return out;
}

trl_column *trl_column_binop(trl_binop op, const trl_column *a,
                             const trl_column *b, trl_error *err)
{
    if (a->len != b->len) {
        trl_error_set(err, TRL_EINVAL, "columns have %zu and %zu rows: "
                      "'%s' needs equal lengths", a->len, b->len,
                      op_name(op));
        return NULL;
    }
    if (a->type == TRL_STR || b->type == TRL_STR) {
        if (a->type == TRL_STR && b->type == TRL_STR &&
            (op == TRL_OP_EQ || op == TRL_OP_NE))
            return strings_equal(op, a, b, err);
        trl_error_set(err, TRL_EINVAL, "'%s' is not defined for %s and %s "
                      "columns", op_name(op), trl_dtype_name(a->type),
                      trl_dtype_name(b->type));
        return NULL;
    }
    size_t n = a->len;
    trl_column *out = trl__column_new_uninit(
        is_cmp(op) || is_logic(op) ? TRL_BOOL : TRL_F64, n, NULL);
    if (!out) {
        trl_error_set(err, TRL_ENOMEM, "out of memory");
        return NULL;
    }
    if (is_logic(op)) {
        for (size_t i = 0; i < n; i++) {
            POLL_OR_FAIL(i, out, err);
            out->v.b[i] = logic(op, as_bool(a, i), as_bool(b, i));
        }
        return out;
    }
    /* The common case, f64 with f64, as a loop the compiler vectorises. */
    if (a->type == TRL_F64 && b->type == TRL_F64 && !is_cmp(op) &&
        op != TRL_OP_POW && op != TRL_OP_MOD) {
        const double *x = a->v.f64, *y = b->v.f64;
        double *o = out->v.f64;
        for (size_t s = 0; s < n; s += TRL__POLL_ROWS) {
            if (s && trl__registry_interrupted()) {
                trl_column_decref(out);
                trl__registry_interrupt_error(err);
                return NULL;
            }
            size_t e = s + TRL__POLL_ROWS < n ? s + TRL__POLL_ROWS : n;
            switch (op) {
            case TRL_OP_ADD: for (size_t i = s; i < e; i++) o[i] = x[i] + y[i]; break;
            case TRL_OP_SUB: for (size_t i = s; i < e; i++) o[i] = x[i] - y[i]; break;
            case TRL_OP_MUL: for (size_t i = s; i < e; i++) o[i] = x[i] * y[i]; break;
            case TRL_OP_DIV: for (size_t i = s; i < e; i++) o[i] = x[i] / y[i]; break;
            default: break;
            }
        }
        return out;
    }
    for (size_t i = 0; i < n; i++) {
        POLL_OR_FAIL(i, out, err);
        double x = trl_column_get_f64(a, i), y = trl_column_get_f64(b, i);
        if (is_cmp(op))
            out->v.b[i] = isnan(x) || isnan(y) ? TRL_BOOL_MISSING
                                               : compare(op, x, y);
        else
            out->v.f64[i] = arith(op, x, y);
    }
    return out;
}

trl_column *trl_column_binop_scalar(trl_binop op, const trl_column *a,
                                    double x, int scalar_left,
                                    trl_error *err)
{
    if (!numeric(a)) {
        trl_error_set(err, TRL_EINVAL, "'%s' with a number is not defined "
                      "for a str column", op_name(op));
        return NULL;
    }
    if (is_logic(op)) {
        trl_error_set(err, TRL_EINVAL, "'%s' needs two bool columns",
                      op_name(op));
        return NULL;
    }
    size_t n = a->len;
    trl_column *out = trl__column_new_uninit(is_cmp(op) ? TRL_BOOL : TRL_F64, n,
                                     NULL);
    if (!out) {
        trl_error_set(err, TRL_ENOMEM, "out of memory");
        return NULL;
    }
    if (a->type == TRL_F64 && !is_cmp(op) && op != TRL_OP_POW &&
        op != TRL_OP_MOD) {
        const double *v = a->v.f64;
        double *o = out->v.f64;
        for (size_t s = 0; s < n; s += TRL__POLL_ROWS) {
            if (s && trl__registry_interrupted()) {
                trl_column_decref(out);
                trl__registry_interrupt_error(err);
                return NULL;
            }
            size_t e = s + TRL__POLL_ROWS < n ? s + TRL__POLL_ROWS : n;
            switch (op) {
            case TRL_OP_ADD: for (size_t i = s; i < e; i++) o[i] = v[i] + x; break;
            case TRL_OP_MUL: for (size_t i = s; i < e; i++) o[i] = v[i] * x; break;
            case TRL_OP_SUB:
                if (scalar_left) for (size_t i = s; i < e; i++) o[i] = x - v[i];
                else for (size_t i = s; i < e; i++) o[i] = v[i] - x;
                break;
            case TRL_OP_DIV:
                if (scalar_left) for (size_t i = s; i < e; i++) o[i] = x / v[i];
                else for (size_t i = s; i < e; i++) o[i] = v[i] / x;
                break;
            default: break;
            }
        }
        return out;
    }
    for (size_t i = 0; i < n; i++) {
        POLL_OR_FAIL(i, out, err);
        double v = trl_column_get_f64(a, i);
        double l = scalar_left ? x : v, r = scalar_left ? v : x;
        if (is_cmp(op))
            out->v.b[i] = isnan(v) ? TRL_BOOL_MISSING : compare(op, l, r);
        else
            out->v.f64[i] = arith(op, l, r);
    }
    return out;
}

trl_column *trl_column_cmp_str(trl_binop op, const trl_column *a,
                               const char *s, size_t len, trl_error *err)
{
    if (a->type != TRL_STR || (op != TRL_OP_EQ && op != TRL_OP_NE)) {
        trl_error_set(err, TRL_EINVAL, "'%s' with a string needs a str "
                      "column and == or ~=", op_name(op));
        return NULL;
    }
    trl_column *out = trl__column_new_uninit(TRL_BOOL, a->len, NULL);
    if (!out) {
        trl_error_set(err, TRL_ENOMEM, "out of memory");
        return NULL;
    }
    int32_t code = trl_strdict_find(a->dict, s, len);
    for (size_t i = 0; i < a->len; i++) {
        POLL_OR_FAIL(i, out, err);
        int32_t c = a->v.codes[i];
        if (c < 0)
            out->v.b[i] = TRL_BOOL_MISSING;
        else
            out->v.b[i] = (uint8_t)((c == code) == (op == TRL_OP_EQ));
    }
    return out;
}

trl_column *trl_column_unop(trl_unop op, const trl_column *a, trl_error *err)
{
    if (!numeric(a)) {
        trl_error_set(err, TRL_EINVAL, "this function needs a numeric "
                      "column, not str");
        return NULL;
    }
    trl_column *out = trl__column_new_uninit(op == TRL_FN_NOT ? TRL_BOOL : TRL_F64,
                                     a->len, NULL);
    if (!out) {
        trl_error_set(err, TRL_ENOMEM, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < a->len; i++) {
        POLL_OR_FAIL(i, out, err);
        if (op == TRL_FN_NOT) {
            uint8_t b = as_bool(a, i);
            out->v.b[i] = b == TRL_BOOL_MISSING ? b : !b;
            continue;
        }
        double x = trl_column_get_f64(a, i), y = x;
        switch (op) {
        case TRL_FN_NEG: y = -x; break;
        case TRL_FN_LOG: y = log(x); break;
        case TRL_FN_EXP: y = exp(x); break;
        case TRL_FN_SQRT: y = sqrt(x); break;
        case TRL_FN_ABS: y = fabs(x); break;
        default: break;
        }
        out->v.f64[i] = y;
    }
    return out;
}

trl_column *trl_column_clip(const trl_column *a, double lo, double hi,
                            trl_error *err)
{
    if (!numeric(a) || lo > hi) {
        trl_error_set(err, TRL_EINVAL, !numeric(a)
                      ? "clip needs a numeric column, not str"
                      : "clip: the lower bound is above the upper one");
        return NULL;
    }
    trl_column *out = trl__column_new_uninit(TRL_F64, a->len, NULL);
    if (!out) {
        trl_error_set(err, TRL_ENOMEM, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < a->len; i++) {
        POLL_OR_FAIL(i, out, err);
        double x = trl_column_get_f64(a, i);
        out->v.f64[i] = isnan(x) ? x : x < lo ? lo : x > hi ? hi : x;
    }
    return out;
}

trl_column *trl_column_fill_missing(const trl_column *a, double value,
                                    trl_error *err)
{
    if (!numeric(a)) {
        trl_error_set(err, TRL_EINVAL, "fill_missing with a number needs a "
                      "numeric column, not str");
        return NULL;
    }
    trl_column *out = trl__column_new_uninit(TRL_F64, a->len, NULL);
    if (!out) {
        trl_error_set(err, TRL_ENOMEM, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < a->len; i++) {
        POLL_OR_FAIL(i, out, err);
        double x = trl_column_get_f64(a, i);
        out->v.f64[i] = isnan(x) ? value : x;
    }
    return out;
}

trl_column *trl_column_take(const trl_column *a, const size_t *idx, size_t n,
                            trl_error *err)
{
    trl_column *out = trl__column_new_uninit(a->type, n, a->dict);
    if (!out) {
        trl_error_set(err, TRL_ENOMEM, "out of memory");
        return NULL;
    }
    if (a->valid && !(out->valid = malloc(n ? n : 1))) {
        trl_column_decref(out);
        trl_error_set(err, TRL_ENOMEM, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        POLL_OR_FAIL(i, out, err);
        size_t j = idx[i];
        switch (a->type) {
        case TRL_F64: out->v.f64[i] = a->v.f64[j]; break;
        case TRL_I64: out->v.i64[i] = a->v.i64[j]; break;
        case TRL_BOOL: out->v.b[i] = a->v.b[j]; break;
        case TRL_STR: out->v.codes[i] = a->v.codes[j]; break;
        }
        if (a->valid)
            out->valid[i] = a->valid[j];
    }
    return out;
}

size_t *trl__mask_rows(const trl_column *mask, size_t len, size_t *n,
                       trl_error *err)
{
    if (mask->type != TRL_BOOL || mask->len != len) {
        trl_error_set(err, TRL_EINVAL, "filter needs a bool mask of %zu "
                      "rows (got %s, %zu rows)", len,
                      trl_dtype_name(mask->type), mask->len);
        return NULL;
    }
    size_t count = 0;
    for (size_t i = 0; i < len; i++)
        count += mask->v.b[i] == 1;
    size_t *idx = malloc((count ? count : 1) * sizeof *idx);
    if (!idx) {
        trl_error_set(err, TRL_ENOMEM, "out of memory");
        return NULL;
    }
    for (size_t i = 0, k = 0; i < len; i++)
        if (mask->v.b[i] == 1)
            idx[k++] = i;
    *n = count;
    return idx;
}

trl_column *trl_column_filter(const trl_column *a, const trl_column *mask,
                              trl_error *err)
{
    size_t n;
    size_t *idx = trl__mask_rows(mask, a->len, &n, err);
    if (!idx)
        return NULL;
    trl_column *out = trl_column_take(a, idx, n, err);
    free(idx);
    return out;
}
