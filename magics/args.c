/* args.c - the magics' table-driven argument parser: words, quotes,
 * --name VALUE and --name=VALUE, each value checked against its spec
 * (see args.h). Usage lines and message helpers are in args_usage.c. */
#include <assert.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "magics/args.h"
#include "magics/args_int.h"

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' ||
           c == '\f';
}

static char *skip_blanks(char *p)
{
    while (is_blank(*p))
        p++;
    return p;
}

/* Where a value's words stop: "--" starts an option, or a mistake. */
static int is_dashes(const char *p)
{
    return p[0] == '-' && p[1] == '-';
}

/* A word the parser reads as an option: "--x", "-x"; "-1", "-.5" and "-"
 * are values. */
static int is_option(const char *p)
{
    return p[0] == '-' && p[1] && !is_blank(p[1]) && p[1] != '.' &&
           !isdigit((unsigned char)p[1]);
}

/* Bytes of the UTF-8 character at c (its lead byte and the continuation
 * bytes that follow), so a message quotes it whole. */
static size_t char_len(const char *c)
{
    size_t n = 1;
    while (n < 4 && ((unsigned char)c[n] & 0xc0) == 0x80)
        n++;
    return n;
}

/* The word at *pp, NUL-terminated in place, its quotes removed; *pp
 * moves past it. NULL with err set when a quote is never closed or text
 * sticks to the closing quote ('a'b is one mistake, not two words). */
static char *read_word(char **pp, trl_error *err)
{
    char *s = *pp;
    char shown[TRL__ARGS_ECHO_BUF];
    if (*s == '\'' || *s == '"') {
        char *close = strchr(s + 1, *s);
        if (!close) {
            trl__args_echo(s, strlen(s), shown);
            return trl_error_set(err, TRL_EINVAL, "the quote in %s is never "
                                 "closed: end the value with %c", shown,
                                 *s), NULL;
        }
        if (close[1] && !is_blank(close[1])) {
            trl__args_echo(s, (size_t)(close - s) + 1 + char_len(close + 1),
                           shown);
            return trl_error_set(err, TRL_EINVAL, "put a space after the "
                                 "closing quote in %s", shown), NULL;
        }
        *close = '\0';
        *pp = close + 1;
        return s + 1;
    }
    char *e = s;
    while (*e && !is_blank(*e))
        e++;
    *pp = *e ? e + 1 : e;
    *e = '\0';
    return s;
}

/* A TEXT value at *pp: one quoted value, or every word up to the next
 * "--" word or the end, with the blanks between them as typed (gate
 * errors give columns into it). */
static char *read_text(char **pp, trl_error *err)
{
    char *s = *pp;
    if (*s == '\'' || *s == '"')
        return read_word(pp, err);
    char *e = s;
    for (;;) {
        while (*e && !is_blank(*e))
            e++;
        char *next = skip_blanks(e);
        if (!*next || is_dashes(next))
            break;
        e = next;
    }
    *pp = *e ? e + 1 : e;
    *e = '\0';
    return s;
}

/* Room an option needs for its items: one, or max_items for a list or
 * a repeatable option. */
static size_t capacity(const trl__arg_opt *o)
{
    if (o->kind == TRL__ARG_FLAG)
        return 0;
    int list = o->kind == TRL__ARG_LIST || o->kind == TRL__ARG_INT_LIST;
    size_t n = list || (o->flags & TRL__ARG_REPEAT) ? o->max_items : 1;
    assert(n >= 1 && n <= TRL__ARGS_MAX_ITEMS);
    return n;
}

static int alloc(trl__args *a, size_t len)
{
    const trl__args_spec *s = a->spec;
    size_t total = 0;
    assert(s->max_pos <= TRL__ARGS_MAX_ITEMS && s->min_pos <= s->max_pos);
    for (size_t i = 0; i < s->nopts; i++)
        total += capacity(&s->opts[i]);
    a->buf = malloc(len + 1);
    a->opt = calloc(s->nopts ? s->nopts : 1, sizeof *a->opt);
    a->items = calloc(total ? total : 1, sizeof *a->items);
    a->pos = calloc(s->max_pos ? s->max_pos : 1, sizeof *a->pos);
    if (!a->buf || !a->opt || !a->items || !a->pos)
        return TRL_ENOMEM;
    for (size_t i = 0, at = 0; i < s->nopts; i++) {
        a->opt[i].items = a->items + at;
        at += capacity(&s->opts[i]);
    }
    return 0;
}

static int positional(trl__args *a, char **pp, trl_error *err)
{
    const trl__args_spec *s = a->spec;
    char *w = read_word(pp, err);
    if (!w)
        return TRL_EINVAL;
    if (!*w)
        return trl_error_set(err, TRL_EINVAL, "an empty '' or \"\" names "
                             "nothing: leave it out or put a name in it");
    if (a->npos < s->max_pos) {
        a->pos[a->npos++] = w;
        return 0;
    }
    char shown[TRL__ARGS_ECHO_BUF];
    trl__args_echo(w, strlen(w), shown);
    if (s->pos_extra)
        return trl_error_set(err, TRL_EINVAL, "%s, not '%s' too",
                             s->pos_extra, shown);
    if (s->max_pos == 0)
        return trl_error_set(err, TRL_EINVAL, "%s takes no arguments%s, "
                             "not '%s'", s->magic,
                             s->nopts ? " but its options" : "", shown);
    return trl_error_set(err, TRL_EINVAL, "%s takes at most %zu argument%s, "
                         "not '%s' too", s->magic, s->max_pos,
                         s->max_pos == 1 ? "" : "s", shown);
}

/* The option named name[0..n) ("--" before it when dashes), or NULL. */
static const trl__arg_opt *find(const trl__args_spec *s, const char *name,
                                size_t n, int dashes)
{
    for (size_t i = 0; dashes && i < s->nopts; i++)
        if (strlen(s->opts[i].name) == n &&
            memcmp(s->opts[i].name, name, n) == 0)
            return &s->opts[i];
    return NULL;
}

static int unknown(const trl__args_spec *s, const char *word, size_t n,
                   trl_error *err)
{
    char shown[TRL__ARGS_ECHO_BUF], names[TRL_ERROR_MAX];
    trl__args_echo(word, n, shown);
    if (!s->nopts)
        return trl_error_set(err, TRL_EINVAL, "%s takes no options, not %s",
                             s->magic, shown);
    trl__args_option_names(s, names, sizeof names);
    return trl_error_set(err, TRL_EINVAL, "unknown option %s for %s; "
                         "options: %s", shown, s->magic, names);
}

static int option(trl__args *a, char **pp, trl_error *err)
{
    const trl__args_spec *s = a->spec;
    char *word = *pp, *name = word + (word[1] == '-' ? 2 : 1), *e = name;
    while (*e && !is_blank(*e) && *e != '=')
        e++;
    const trl__arg_opt *o = find(s, name, (size_t)(e - name),
                                 word[1] == '-');
    if (!o)
        return unknown(s, word, (size_t)(e - word), err);
    trl__arg_value *val = &a->opt[o - s->opts];
    if (val->given && !(o->flags & TRL__ARG_REPEAT))
        return trl_error_set(err, TRL_EINVAL, "--%s is given twice; give it "
                             "once", o->name);
    val->given++;
    int inline_value = *e == '=';
    char *v = *e ? e + 1 : e;
    *e = '\0';
    if (o->kind == TRL__ARG_FLAG) {
        *pp = v;
        if (!inline_value)
            return 0;
        char *extra = read_word(pp, err), shown[TRL__ARGS_ECHO_BUF];
        if (!extra)
            return TRL_EINVAL;
        trl__args_echo(extra, strlen(extra), shown);
        return trl_error_set(err, TRL_EINVAL, "--%s takes no value, not "
                             "'%s'", o->name, shown);
    }
    if (!inline_value)
        v = skip_blanks(v);
    char *text = NULL;
    if (*v && !is_blank(*v) && !(!inline_value && is_dashes(v))) {
        text = o->kind == TRL__ARG_TEXT ? read_text(&v, err)
                                        : read_word(&v, err);
        if (!text)
            return TRL_EINVAL;
    }
    if (!text || !*text) {
        char meta[TRL_ERROR_MAX];
        trl__args_meta(o, meta, sizeof meta);
        return trl_error_set(err, TRL_EINVAL, "--%s lacks its value (--%s "
                             "%s)", o->name, o->name, meta);
    }
    *pp = v;
    return trl__args_store(o, val, text, capacity(o), err);
}

/* What parsing every word cannot see: counts, required options, groups,
 * then the magic's own rules. */
static int finish(trl__args *a, trl_error *err)
{
    const trl__args_spec *s = a->spec;
    if (a->npos < s->min_pos) {
        if (s->pos_missing)
            return trl_error_set(err, TRL_EINVAL, "%s", s->pos_missing);
        char names[TRL_ERROR_MAX];
        trl__args_pos_usage(s, names, sizeof names);
        return trl_error_set(err, TRL_EINVAL, "%s needs %s", s->magic,
                             names);
    }
    for (size_t i = 0; i < s->nopts; i++) {
        const trl__arg_opt *o = &s->opts[i];
        if (o->group && i > 0 && s->opts[i - 1].group == o->group)
            continue;
        size_t end = i + 1, given = a->opt[i].given ? 1 : 0;
        unsigned required = o->flags & TRL__ARG_REQUIRED;
        while (o->group && end < s->nopts && s->opts[end].group == o->group) {
            given += a->opt[end].given ? 1 : 0;
            required |= s->opts[end++].flags & TRL__ARG_REQUIRED;
        }
        if (given > 1) {
            char names[TRL_ERROR_MAX];
            trl__args_group_usage(s, i, end, " or ", names, sizeof names);
            return trl_error_set(err, TRL_EINVAL, "give %s, not %s", names,
                                 end - i == 2 ? "both" : "several");
        }
        if (given == 0 && required)
            return o->missing
                       ? trl_error_set(err, TRL_EINVAL, "%s", o->missing)
                       : trl_error_set(err, TRL_EINVAL, "%s needs --%s",
                                       s->magic, o->name);
    }
    return s->check ? s->check(a, err) : 0;
}

int trl__args_parse(const trl__args_spec *spec, const char *line,
                    trl__args *a, trl_error *err)
{
    memset(a, 0, sizeof *a);
    a->spec = spec;
    if (!line)
        line = "";
    size_t len = strlen(line);
    if (len > TRL__ARGS_MAX_LEN)
        return trl__args_error(spec, err, "the arguments of %s are %zu "
                               "bytes long; at most %d are read", spec->magic,
                               len, TRL__ARGS_MAX_LEN);
    trl_error why = {0};
    int rc = alloc(a, len);
    if (rc == 0) {
        memcpy(a->buf, line, len + 1);
        char *p = a->buf;
        while (rc == 0 && *(p = skip_blanks(p)))
            rc = is_option(p) ? option(a, &p, &why) : positional(a, &p, &why);
        if (rc == 0)
            rc = finish(a, &why);
    }
    if (rc == 0)
        return 0;
    trl__args_free(a);
    if (rc == TRL_ENOMEM)
        return trl_error_set(err, TRL_ENOMEM, "out of memory");
    return trl__args_error(spec, err, "%s", why.message);
}

void trl__args_free(trl__args *a)
{
    free(a->buf);
    free(a->opt);
    free(a->items);
    free((void *)a->pos);
    memset(a, 0, sizeof *a);
}

unsigned trl__args_given(const trl__args *a, size_t opt)
{
    assert(opt < a->spec->nopts);
    return a->opt[opt].given;
}

static const trl__arg_item *first(const trl__args *a, size_t opt)
{
    assert(opt < a->spec->nopts);
    return a->opt[opt].n ? &a->opt[opt].items[0] : NULL;
}

const char *trl__args_str(const trl__args *a, size_t opt, const char *dflt)
{
    const trl__arg_item *it = first(a, opt);
    return it ? it->text : dflt;
}

long long trl__args_int(const trl__args *a, size_t opt, long long dflt)
{
    const trl__arg_item *it = first(a, opt);
    return it ? it->i : dflt;
}

double trl__args_double(const trl__args *a, size_t opt, double dflt)
{
    const trl__arg_item *it = first(a, opt);
    return it ? it->d : dflt;
}

size_t trl__args_texts(const trl__args *a, size_t opt, const char **out,
                       size_t cap)
{
    assert(opt < a->spec->nopts);
    const trl__arg_value *v = &a->opt[opt];
    for (size_t i = 0; i < v->n && i < cap; i++)
        out[i] = v->items[i].text;
    return v->n;
}
