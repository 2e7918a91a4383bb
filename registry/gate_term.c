/* gate_term.c - the leaves of a gate: METRIC@FRAME and STAT@batchN terms
 * read from one token, the frames and feature of drift() and validate(),
 * each checked (names, versions, batch sizes) with the column of what is
 * wrong. Part of the parser (gate_parse.c has the grammar). */
#include <limits.h>
#include <string.h>

#include "trellis/bench.h"
#include "trellis/metrics.h"
#include "registry/gate_int.h"

const char *const trl__gate_stats[] = {
    "p50_ms", "p90_ms",     "p99_ms",      "p99_9_ms",      "mean_ms",
    "max_ms", "rows_per_s", "peak_rss_mb", "rss_growth_mb", NULL};

static const char *const keywords[] = {
    "and",        "or",      "not",   "true",     "false",
    "production", "staging", "drift", "validate", NULL};

int trl__gate_is_keyword(const char *s, size_t len)
{
    for (int i = 0; keywords[i]; i++)
        if (trl__gate_is(s, len, keywords[i]))
            return 1;
    return 0;
}

int trl__gate_is_stat(const char *s, size_t len)
{
    for (int i = 0; trl__gate_stats[i]; i++)
        if (trl__gate_is(s, len, trl__gate_stats[i]))
            return 1;
    return 0;
}

/* ---- terms ---------------------------------------------------------------------- */

/* The next '@' part of a term at *i (the '@' itself, or the end). */
static int next_part(const char *s, size_t end, size_t *i, size_t *ps,
                     size_t *pe)
{
    if (*i >= end)
        return 0;
    *ps = *i + 1;
    size_t j = *ps;
    while (j < end && s[j] != '@')
        j++;
    *pe = j;
    *i = j;
    return 1;
}

static int all_digits(const char *s, size_t a, size_t b)
{
    for (size_t i = a; i < b; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return b > a;
}

/* Whole number in s[a..b), at most max; -1 when larger. */
static long long number_of(const char *s, size_t a, size_t b, long long max)
{
    long long v = 0;
    for (size_t i = a; i < b; i++)
        if ((v = v * 10 + (s[i] - '0')) > max)
            return -1;
    return v;
}

/* STAT@batchN[@threadsM]. */
static int bench_term(trl__gate_parser *p, const trl__token *t, size_t i)
{
    const char *s = p->g->text;
    size_t ps, pe;
    long long batch = 0, threads = 1;
    if (!next_part(s, t->end, &i, &ps, &pe) || pe - ps < 6 ||
        memcmp(s + ps, "batch", 5) != 0 || !all_digits(s, ps + 5, pe))
        return trl__gp_fail(p, t->start,
                            "a benchmark figure names its batch "
                            "size: p99_ms@batch1, or p99_ms@batch32@threads4");
    if ((batch = number_of(s, ps + 5, pe, TRL_BENCH_MAX_BATCH)) < 1)
        return trl__gp_fail(p, ps, "batch sizes go from 1 to %d",
                            TRL_BENCH_MAX_BATCH);
    if (next_part(s, t->end, &i, &ps, &pe)) {
        if (pe - ps < 8 || memcmp(s + ps, "threads", 7) != 0 ||
            !all_digits(s, ps + 7, pe))
            return trl__gp_fail(p, ps,
                                "after the batch size only a thread "
                                "count may follow, as in @threads4");
        if ((threads = number_of(s, ps + 7, pe, 1024)) < 1)
            return trl__gp_fail(p, ps, "thread counts go from 1 to 1024");
    }
    if (next_part(s, t->end, &i, &ps, &pe))
        return trl__gp_fail(p, ps - 1,
                            "unexpected '@' part after the thread "
                            "count");
    int k = trl__gp_node(p, TRL__G_BENCH, t->start, t->end);
    trl__g_node *n = &p->g->nodes[k];
    n->a = trl__gp_keep(p, t->start, (size_t)(strchr(s + t->start, '@') - s));
    n->batch = batch;
    n->threads = (int)threads;
    n->has_model = 1;
    return k;
}

/* A frame name (and version) at s[a..b) checked as a FRAME. */
static int frame_ok(trl__gate_parser *p, size_t a, size_t b)
{
    const char *s = p->g->text;
    const char *at = memchr(s + a, '@', b - a);
    size_t name_end = at ? (size_t)(at - s) : b;
    if (name_end == a || all_digits(s, a, a + 1))
        return trl__gp_fail(p, a,
                            "expected a frame name (a registered frame, "
                            "as in holdout or holdout@2)");
    if (trl__gate_is_keyword(s + a, name_end - a))
        return trl__gp_fail(p, a,
                            "'%.*s' is a keyword, not a frame: to compare "
                            "with another version write auc@holdout >= "
                            "production",
                            (int)(name_end - a), s + a);
    if (at) {
        size_t v = name_end + 1;
        if (memchr(s + v, '@', b - v) || !all_digits(s, v, b))
            return trl__gp_fail(p, v,
                                "a frame's version is a whole number, as "
                                "in holdout@2");
        if (number_of(s, v, b, INT_MAX) < 1)
            return trl__gp_fail(p, v, "frame versions go from 1 to %d",
                                INT_MAX);
    }
    return 0;
}

/* METRIC@FRAME or STAT@batchN[@threadsM] from one TERM token. */
int trl__gate_term(trl__gate_parser *p, const trl__token *t)
{
    const char *s = p->g->text;
    size_t i = (size_t)(strchr(s + t->start, '@') - s), ps, pe;
    size_t name_len = i - t->start;
    if (trl__gate_is_keyword(s + t->start, name_len))
        return trl__gp_fail(p, t->start,
                            "'%.*s' is a keyword: it cannot name a "
                            "metric",
                            (int)name_len, s + t->start);
    if (trl__gate_is_stat(s + t->start, name_len))
        return bench_term(p, t, i);
    /* ndcg@10: a number right after the metric is its cut-off */
    size_t metric_end = i, save = i;
    if (next_part(s, t->end, &i, &ps, &pe) && all_digits(s, ps, pe))
        metric_end = pe;
    else
        i = save;
    if (!next_part(s, t->end, &i, &ps, &pe))
        return trl__gp_fail(p, t->start,
                            "'%.*s' needs a frame: write "
                            "%.*s@FRAME, the registered frame a %%compare ran "
                            "on",
                            (int)(metric_end - t->start), s + t->start,
                            (int)(metric_end - t->start), s + t->start);
    size_t frame_start = ps, frame_end = pe;
    if (next_part(s, t->end, &i, &ps, &pe))
        frame_end = pe;
    if (next_part(s, t->end, &i, &ps, &pe))
        return trl__gp_fail(p, ps - 1,
                            "unexpected '@' part: a term is "
                            "METRIC@FRAME or METRIC@FRAME@VERSION");
    if (frame_ok(p, frame_start, frame_end) != 0)
        return -1;
    int k = trl__gp_node(p, TRL__G_METRIC, t->start, t->end);
    trl__g_node *n = &p->g->nodes[k];
    n->a = trl__gp_keep(p, t->start, metric_end);
    /* the canonical spelling %compare records ("ndcg@010" -> "ndcg@10") */
    trl_metric m;
    if (trl_metric_parse(n->a, &m, NULL) == 0 &&
        strlen(m.name) <= metric_end - t->start)
        strcpy((char *)n->a, m.name);
    n->b = trl__gp_keep(p, frame_start, frame_end);
    n->has_model = 1;
    return k;
}

/* A frame argument of drift() or validate(). */
static const char *frame_arg(trl__gate_parser *p, const char *fn)
{
    const trl__token *t = trl__gp_peek(p);
    if (t->kind != TRL__T_WORD && t->kind != TRL__T_TERM) {
        trl__gp_fail(p, t->start, "%s() takes registered frames, as in %s", fn,
                     strcmp(fn, "drift") == 0 ? "drift(holdout, live)"
                                              : "validate(holdout)");
        return NULL;
    }
    if (frame_ok(p, t->start, t->end) != 0)
        return NULL;
    p->pos++;
    return trl__gp_keep(p, t->start, t->end);
}

static int expect(trl__gate_parser *p, trl__t_kind kind, const char *what,
                  const char *fn)
{
    const trl__token *t = trl__gp_peek(p);
    if (t->kind == kind) {
        p->pos++;
        return 0;
    }
    return trl__gp_fail(p, t->start, "expected %s in %s()", what, fn);
}

/* drift(REF, NEW [, feature]) and validate(FRAME). */
int trl__gate_call(trl__gate_parser *p, const trl__token *t, int is_drift)
{
    const char *fn = is_drift ? "drift" : "validate";
    if (trl__gp_peek(p)->kind != TRL__T_LP)
        return trl__gp_fail(p, t->start, "%s",
                            is_drift
                                ? "drift needs its frames: drift(REF, NEW) or "
                                  "drift(REF, NEW, feature)"
                                : "validate needs a frame: validate(holdout)");
    p->pos++;
    const char *a, *b = NULL, *c = NULL;
    if (!(a = frame_arg(p, fn)))
        return -1;
    if (is_drift) {
        if (expect(p, TRL__T_COMMA, "',' and the new frame", fn) != 0 ||
            !(b = frame_arg(p, fn)))
            return -1;
        if (trl__gp_peek(p)->kind == TRL__T_COMMA) {
            p->pos++;
            const trl__token *f = trl__gp_peek(p);
            if (f->kind == TRL__T_WORD)
                c = trl__gp_keep(p, f->start, f->end);
            else if (f->kind == TRL__T_STR)
                c = trl__gp_keep(p, f->start + 1, f->end - 1);
            else
                return trl__gp_fail(p, f->start,
                                    "expected a feature name (a "
                                    "name, or 'quoted') in drift()");
            p->pos++;
        }
    }
    if (expect(p, TRL__T_RP, "')'", fn) != 0)
        return -1;
    int k = trl__gp_node(p, is_drift ? TRL__G_DRIFT : TRL__G_VALIDATE, t->start,
                         p->t[p->pos - 1].end);
    trl__g_node *n = &p->g->nodes[k];
    n->a = a;
    n->b = b;
    n->c = c;
    n->is_bool = !is_drift;
    return k;
}
