/* args_value.c - one option's value checked against its spec and kept as
 * items: words, choices, whole numbers, numbers, comma lists. Each
 * refusal names the option, what it takes and the value given. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "magics/args_int.h"

const char *trl__args_echo(const char *s, size_t n,
                           char out[TRL__ARGS_ECHO_BUF])
{
    size_t keep = n;
    if (n > TRL__ARGS_ECHO_MAX) {
        keep = TRL__ARGS_ECHO_MAX;
        /* never end inside a UTF-8 character: back off its continuation
         * bytes and its lead byte */
        while (keep > 0 && ((unsigned char)s[keep] & 0xc0) == 0x80)
            keep--;
    }
    memcpy(out, s, keep);
    strcpy(out + keep, keep < n ? "..." : "");
    return out;
}

/* s[0..n) as a whole number: an optional sign, then 1 to 18 digits (so
 * it fits a long long). -1 when it is not one. */
static int whole(const char *s, size_t n, long long *out)
{
    size_t i = 0;
    int neg = 0;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        neg = s[i++] == '-';
    if (i == n || n - i > 18)
        return -1;
    long long x = 0;
    for (; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        x = x * 10 + (s[i] - '0');
    }
    *out = neg ? -x : x;
    return 0;
}

static int add(trl__arg_value *val, size_t cap, const char *text,
               long long i, double d)
{
    if (val->n == cap)
        return -1;
    trl__arg_item *it = &val->items[val->n++];
    it->text = text;
    it->i = i;
    it->d = d;
    return 0;
}

static int too_many(const trl__arg_opt *o, size_t cap, trl_error *err)
{
    if (o->kind == TRL__ARG_LIST || o->kind == TRL__ARG_INT_LIST)
        return trl_error_set(err, TRL_EINVAL, "--%s takes at most %zu "
                             "values", o->name, cap);
    return trl_error_set(err, TRL_EINVAL, "--%s may be given at most %zu "
                         "times", o->name, cap);
}

static int choice(const trl__arg_opt *o, trl__arg_value *val, char *text,
                  size_t cap, trl_error *err)
{
    long long k = 0;
    while (o->choices[k] && strcmp(o->choices[k], text) != 0)
        k++;
    if (o->choices[k])
        return add(val, cap, text, k, 0) ? too_many(o, cap, err) : 0;
    char shown[TRL__ARGS_ECHO_BUF], prose[TRL_ERROR_MAX];
    size_t used = 0;
    prose[0] = '\0';
    for (k = 0; !o->what && o->choices[k] && used < sizeof prose; k++)
        used += (size_t)snprintf(prose + used, sizeof prose - used, "%s%s",
                                 k == 0 ? "" : o->choices[k + 1] ? ", "
                                                                 : " or ",
                                 o->choices[k]);
    trl__args_echo(text, strlen(text), shown);
    return trl_error_set(err, TRL_EINVAL, "unknown %s '%s': use %s", o->name,
                         shown, o->what ? o->what : prose);
}

/* "above 0 and at most 600", "from 0 to 1", "above 0", "at least 1" */
static void range_words(const trl__arg_opt *o, char *buf, size_t size)
{
    if (isfinite(o->hi))
        snprintf(buf, size, o->lo_open ? "above %g and at most %g"
                                       : "from %g to %g", o->lo, o->hi);
    else
        snprintf(buf, size, o->lo_open ? "above %g" : "at least %g", o->lo);
}

static int number(const trl__arg_opt *o, trl__arg_value *val, char *text,
                  size_t cap, trl_error *err)
{
    char *end = NULL;
    /* strtod would skip the blanks a quoted value can start with */
    double d = isspace((unsigned char)text[0]) ? NAN : strtod(text, &end);
    int ok = end && end != text && !*end && isfinite(d) &&
             (o->lo_open ? d > o->lo : d >= o->lo) && d <= o->hi;
    if (ok)
        return add(val, cap, text, 0, d) ? too_many(o, cap, err) : 0;
    char shown[TRL__ARGS_ECHO_BUF], range[128], example[96] = "";
    range_words(o, range, sizeof range);
    if (o->example)
        snprintf(example, sizeof example, ", such as %s", o->example);
    trl__args_echo(text, strlen(text), shown);
    return trl_error_set(err, TRL_EINVAL, "--%s takes %s %s%s, not '%s'",
                         o->name, o->what ? o->what : "a number", range,
                         example, shown);
}

/* INT (one piece) and INT_LIST (pieces by commas), checked whole before
 * anything is kept so the message can quote the value as given. */
static int whole_numbers(const trl__arg_opt *o, trl__arg_value *val,
                         char *text, size_t cap, trl_error *err)
{
    int list = o->kind == TRL__ARG_INT_LIST;
    long long max = o->max_now ? o->max_now() : o->max, x;
    size_t pieces = 0;
    int ok = 1;
    for (const char *p = text; ok;) {
        const char *comma = list ? strchr(p, ',') : NULL;
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        ok = whole(p, n, &x) == 0 && x >= o->min && x <= max;
        pieces++;
        if (!comma)
            break;
        p = comma + 1;
    }
    if (!ok) {
        char shown[TRL__ARGS_ECHO_BUF];
        trl__args_echo(text, strlen(text), shown);
        return trl_error_set(err, TRL_EINVAL, "--%s takes %s from %lld to "
                             "%lld%s, not '%s'", o->name,
                             o->what ? o->what
                             : list  ? "whole numbers"
                                     : "a whole number",
                             o->min, max, list ? " separated by commas" : "",
                             shown);
    }
    if (val->n + pieces > cap)
        return too_many(o, cap, err);
    for (char *p = text;;) {
        char *comma = list ? strchr(p, ',') : NULL;
        if (comma)
            *comma = '\0';
        whole(p, strlen(p), &x);
        add(val, cap, p, x, 0);
        if (!comma)
            return 0;
        p = comma + 1;
    }
}

static int names(const trl__arg_opt *o, trl__arg_value *val, char *text,
                 size_t cap, trl_error *err)
{
    size_t pieces = 1;
    int empty = text[0] == ',';
    for (const char *p = text; *p; p++)
        if (*p == ',') {
            pieces++;
            empty |= p[1] == ',' || p[1] == '\0';
        }
    if (empty) {
        char shown[TRL__ARGS_ECHO_BUF], example[96] = "";
        if (o->example)
            snprintf(example, sizeof example, ", such as %s", o->example);
        trl__args_echo(text, strlen(text), shown);
        return trl_error_set(err, TRL_EINVAL, "--%s takes %s separated by "
                             "commas%s, not '%s'", o->name,
                             o->what ? o->what : "names", example, shown);
    }
    if (val->n + pieces > cap)
        return too_many(o, cap, err);
    for (char *p = text;;) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        add(val, cap, p, 0, 0);
        if (!comma)
            return 0;
        p = comma + 1;
    }
}

int trl__args_store(const trl__arg_opt *o, trl__arg_value *val, char *text,
                    size_t cap, trl_error *err)
{
    switch (o->kind) {
    case TRL__ARG_CHOICE:
        return choice(o, val, text, cap, err);
    case TRL__ARG_INT:
    case TRL__ARG_INT_LIST:
        return whole_numbers(o, val, text, cap, err);
    case TRL__ARG_DOUBLE:
        return number(o, val, text, cap, err);
    case TRL__ARG_LIST:
        return names(o, val, text, cap, err);
    case TRL__ARG_WORD:
    case TRL__ARG_TEXT:
    case TRL__ARG_FLAG:
        break;
    }
    return add(val, cap, text, 0, 0) ? too_many(o, cap, err) : 0;
}
