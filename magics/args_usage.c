/* args_usage.c - the usage line a spec describes ("%drift REF NEW
 * [--features a,b] [--threshold 0.2] [--model MODEL]"), its pieces for
 * messages, and usage errors reported through a cell's context. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "magics/args_int.h"
#include "magics/textbuf.h"

size_t trl__args_meta(const trl__arg_opt *o, char *buf, size_t size)
{
    trl__textbuf w;
    trl__textbuf_init(&w, buf, size);
    if (o->meta)
        trl__textbuf_printf(&w, "%s", o->meta);
    else if (o->kind == TRL__ARG_CHOICE)
        for (size_t k = 0; o->choices[k]; k++)
            trl__textbuf_printf(&w, "%s%s", k ? "|" : "", o->choices[k]);
    else
        trl__textbuf_printf(&w, "VALUE");
    return w.len;
}

/* "--on FRAME", "--force" */
static void put_option(trl__textbuf *w, const trl__arg_opt *o)
{
    trl__textbuf_printf(w, "--%s", o->name);
    if (o->kind == TRL__ARG_FLAG)
        return;
    char meta[TRL_ERROR_MAX];
    trl__args_meta(o, meta, sizeof meta);
    trl__textbuf_printf(w, " %s", meta);
}

size_t trl__args_pos_usage(const trl__args_spec *s, char *buf, size_t size)
{
    trl__textbuf w;
    trl__textbuf_init(&w, buf, size);
    size_t k = 0;
    while (s->pos_names && s->pos_names[k])
        k++;
    for (size_t i = 0; i < k && i < s->max_pos; i++) {
        int optional = i >= s->min_pos;
        trl__textbuf_printf(&w, "%s%s%s%s", i ? " " : "", optional ? "[" : "",
            s->pos_names[i], optional ? "]" : "");
        if (i == k - 1 && s->max_pos > k)
            trl__textbuf_printf(&w, "...");
    }
    return w.len;
}

size_t trl__args_group_usage(const trl__args_spec *s, size_t first,
                             size_t end, const char *sep, char *buf,
                             size_t size)
{
    trl__textbuf w;
    trl__textbuf_init(&w, buf, size);
    for (size_t i = first; i < end; i++) {
        trl__textbuf_printf(&w, "%s", i > first ? sep : "");
        put_option(&w, &s->opts[i]);
    }
    return w.len;
}

size_t trl__args_option_names(const trl__args_spec *s, char *buf,
                              size_t size)
{
    trl__textbuf w;
    trl__textbuf_init(&w, buf, size);
    for (size_t i = 0; i < s->nopts; i++)
        trl__textbuf_printf(&w, "%s--%s", i ? ", " : "", s->opts[i].name);
    return w.len;
}

size_t trl__args_usage(const trl__args_spec *s, char *buf, size_t size)
{
    trl__textbuf w;
    trl__textbuf_init(&w, buf, size);
    char piece[TRL_ERROR_MAX];
    trl__textbuf_printf(&w, "%s", s->magic);
    if (trl__args_pos_usage(s, piece, sizeof piece) > 0)
        trl__textbuf_printf(&w, " %s", piece);
    for (size_t i = 0; i < s->nopts;) {
        const trl__arg_opt *o = &s->opts[i];
        size_t end = i + 1;
        unsigned flags = o->flags;
        while (o->group && end < s->nopts && s->opts[end].group == o->group)
            flags |= s->opts[end++].flags;
        int optional = !(flags & TRL__ARG_REQUIRED);
        trl__args_group_usage(s, i, end, " | ", piece, sizeof piece);
        trl__textbuf_printf(&w, " %s%s%s%s", optional ? "[" : "", piece, optional ? "]" : "",
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
