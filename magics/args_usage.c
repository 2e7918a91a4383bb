/* args_usage.c - the usage line a spec describes ("%drift REF NEW
 * [--features a,b] [--threshold 0.2] [--model MODEL]"), its pieces for
 * messages, and usage errors reported through a cell's context. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "magics/args_int.h"

/* Text appended piece by piece, snprintf-style: len counts the whole
 * text even once buf is full. */
typedef struct out {
    char *buf;
    size_t size, len;
} out;

static void out_init(out *o, char *buf, size_t size)
{
    o->buf = buf;
    o->size = size;
    o->len = 0;
    if (size)
        buf[0] = '\0';
}

__attribute__((format(printf, 2, 3)))
static void put(out *o, const char *fmt, ...)
{
    char *at = o->len < o->size ? o->buf + o->len : NULL;
    size_t room = o->len < o->size ? o->size - o->len : 0;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(at, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        o->len += (size_t)n;
}

size_t trl__args_meta(const trl__arg_opt *o, char *buf, size_t size)
{
    out w;
    out_init(&w, buf, size);
    if (o->meta)
        put(&w, "%s", o->meta);
    else if (o->kind == TRL__ARG_CHOICE)
        for (size_t k = 0; o->choices[k]; k++)
            put(&w, "%s%s", k ? "|" : "", o->choices[k]);
    else
        put(&w, "VALUE");
    return w.len;
}

/* "--on FRAME", "--force" */
static void put_option(out *w, const trl__arg_opt *o)
{
    put(w, "--%s", o->name);
    if (o->kind == TRL__ARG_FLAG)
        return;
    char meta[TRL_ERROR_MAX];
    trl__args_meta(o, meta, sizeof meta);
    put(w, " %s", meta);
}

size_t trl__args_pos_usage(const trl__args_spec *s, char *buf, size_t size)
{
    out w;
    out_init(&w, buf, size);
    size_t k = 0;
    while (s->pos_names && s->pos_names[k])
        k++;
    for (size_t i = 0; i < k && i < s->max_pos; i++) {
        int optional = i >= s->min_pos;
        put(&w, "%s%s%s%s", i ? " " : "", optional ? "[" : "",
            s->pos_names[i], optional ? "]" : "");
        if (i == k - 1 && s->max_pos > k)
            put(&w, "...");
    }
    return w.len;
}

size_t trl__args_group_usage(const trl__args_spec *s, size_t first,
                             size_t end, const char *sep, char *buf,
                             size_t size)
{
    out w;
    out_init(&w, buf, size);
    for (size_t i = first; i < end; i++) {
        put(&w, "%s", i > first ? sep : "");
        put_option(&w, &s->opts[i]);
    }
    return w.len;
}

size_t trl__args_option_names(const trl__args_spec *s, char *buf,
                              size_t size)
{
    out w;
    out_init(&w, buf, size);
    for (size_t i = 0; i < s->nopts; i++)
        put(&w, "%s--%s", i ? ", " : "", s->opts[i].name);
    return w.len;
}

size_t trl__args_usage(const trl__args_spec *s, char *buf, size_t size)
{
    out w;
    out_init(&w, buf, size);
    char piece[TRL_ERROR_MAX];
    put(&w, "%s", s->magic);
    if (trl__args_pos_usage(s, piece, sizeof piece) > 0)
        put(&w, " %s", piece);
    for (size_t i = 0; i < s->nopts;) {
        const trl__arg_opt *o = &s->opts[i];
        size_t end = i + 1;
        unsigned flags = o->flags;
        while (o->group && end < s->nopts && s->opts[end].group == o->group)
            flags |= s->opts[end++].flags;
        int optional = !(flags & TRL__ARG_REQUIRED);
        trl__args_group_usage(s, i, end, " | ", piece, sizeof piece);
        put(&w, " %s%s%s%s", optional ? "[" : "", piece, optional ? "]" : "",
            flags & TRL__ARG_REPEAT ? "..." : "");
        i = end;
    }
    return w.len;
}

int trl__args_error(const trl__args_spec *spec, trl_error *err,
                    const char *fmt, ...)
{
    char why[TRL_ERROR_MAX], usage[TRL_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    trl__args_usage(spec, usage, sizeof usage);
    return trl_error_set(err, TRL_EINVAL, "%s; usage: %s", why, usage);
}

int trl__args_fail(trl_exec_ctx *ctx, const trl_error *err)
{
    trl_ctx_fail(ctx, err->code == TRL_ENOMEM ? "MemoryError" : "UsageError",
                 err->message, NULL);
    return err->code ? err->code : TRL_EINVAL;
}
