/* gate_parse.c - a gate expression's text into its flat tree (gate_int.h):
 * recursive descent with one function per precedence level, types
 * (number or truth value) and the binding of 'production'/'staging'
 * checked as the tree is built, every error with the column it is at.
 * Recursion is bounded by TRL_GATE_MAX_DEPTH and the input by
 * TRL_GATE_MAX_LEN; no registry is read, so the fuzzer can drive it. */
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trellis/bench.h"
#include "trellis/metrics.h"
#include "registry/gate_int.h"

/* ---- errors ------------------------------------------------------------------ */

__attribute__((format(printf, 3, 4))) int trl__gp_fail(trl__gate_parser *p,
                                                       size_t at,
                                                       const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    trl_error_set(p->err, TRL_EINVAL, "column %d: %s",
                  trl__gate_column(p->g->text, at), msg);
    return -1;
}

/* A token's text for a message: at most 30 bytes, cut at a character. */
static void show(const trl__gate_parser *p, const trl__token *t, char out[40])
{
    size_t n = t->end - t->start;
    if (n > 30) {
        n = 30;
        while (n > 0 &&
               ((unsigned char)p->g->text[t->start + n] & 0xC0) == 0x80)
            n--;
    }
    snprintf(out, 40, "%.*s%s", (int)n, p->g->text + t->start,
             n < t->end - t->start ? "..." : "");
}

static int enter(trl__gate_parser *p)
{
    if (++p->depth > TRL_GATE_MAX_DEPTH)
        return trl__gp_fail(p, p->t[p->pos].start,
                            "nested too deeply (at most "
                            "%d levels of parentheses, 'not' and '-')",
                            TRL_GATE_MAX_DEPTH);
    return 0;
}

/* ---- building ------------------------------------------------------------------ */

const trl__token *trl__gp_peek(const trl__gate_parser *p)
{
    return &p->t[p->pos];
}

int trl__gp_node(trl__gate_parser *p, trl__g_kind kind, size_t start,
                 size_t end)
{
    trl__g_node *n = &p->g->nodes[p->g->nnodes];
    memset(n, 0, sizeof *n);
    n->kind = kind;
    n->left = n->right = -1;
    n->start = start;
    n->end = end;
    n->height = 1;
    return (int)p->g->nnodes++;
}

/* A node over children l and r (r may be -1), checking the height. */
static int join(trl__gate_parser *p, trl__g_kind kind, int op, int l, int r,
                size_t op_at)
{
    trl__g_node *nl = &p->g->nodes[l];
    int h = nl->height;
    size_t start = nl->start, end = nl->end;
    if (r >= 0) {
        trl__g_node *nr = &p->g->nodes[r];
        if (nr->height > h)
            h = nr->height;
        if (nr->start < start)
            start = nr->start;
        if (nr->end > end)
            end = nr->end;
    }
    if (op_at < start)
        start = op_at;
    if (h + 1 > TRL_GATE_MAX_DEPTH)
        return trl__gp_fail(p, op_at,
                            "too many operators in one expression "
                            "(at most %d deep): split it into several gates",
                            TRL_GATE_MAX_DEPTH);
    int k = trl__gp_node(p, kind, start, end);
    trl__g_node *n = &p->g->nodes[k];
    n->op = op;
    n->left = l;
    n->right = r;
    n->height = h + 1;
    nl = &p->g->nodes[l];
    n->has_model = nl->has_model || (r >= 0 && p->g->nodes[r].has_model);
    n->has_subject = nl->has_subject || (r >= 0 && p->g->nodes[r].has_subject);
    return k;
}

/* A copy of text[start..end) in the pool. */
const char *trl__gp_keep(trl__gate_parser *p, size_t start, size_t end)
{
    char *s = p->g->pool + p->pool_used;
    memcpy(s, p->g->text + start, end - start);
    s[end - start] = '\0';
    p->pool_used += end - start + 1;
    return s;
}

/* The first 'production'/'staging' in node k not yet bound. */
static size_t subject_at(const trl__gate_parser *p, int k)
{
    while (k >= 0) {
        const trl__g_node *n = &p->g->nodes[k];
        if (n->kind == TRL__G_SUBJECT)
            return n->start;
        k = n->left >= 0 && p->g->nodes[n->left].has_subject ? n->left
                                                             : n->right;
    }
    return 0;
}

static int need_bool(trl__gate_parser *p, int k, const char *where)
{
    const trl__g_node *n = &p->g->nodes[k];
    if (n->is_bool)
        return 0;
    if (n->has_subject)
        return trl__gp_fail(p, subject_at(p, k),
                            "'production' and 'staging' "
                            "stand for the other side of a comparison, as in "
                            "auc@holdout >= production + 0.002");
    return trl__gp_fail(p, n->start,
                        "%s, and this is a number: compare it, as "
                        "in auc@holdout >= 0.8",
                        where);
}

static int need_number(trl__gate_parser *p, int k, const char *where)
{
    const trl__g_node *n = &p->g->nodes[k];
    if (!n->is_bool)
        return 0;
    return trl__gp_fail(p, n->start,
                        "%s, and this is a condition (true or "
                        "false)",
                        where);
}

/* ---- the grammar -------------------------------------------------------------------- */

static int parse_or(trl__gate_parser *p);

static int primary(trl__gate_parser *p)
{
    const trl__token *t = trl__gp_peek(p);
    char what[40];
    const char *s = p->g->text + t->start;
    size_t len = t->end - t->start;
    switch (t->kind) {
    case TRL__T_NUM: {
        char buf[TRL_GATE_MAX_LEN + 1];
        memcpy(buf, s, len);
        buf[len] = '\0';
        double v = strtod(buf, NULL);
        if (!isfinite(v))
            return trl__gp_fail(p, t->start, "this number is out of range");
        p->pos++;
        int k = trl__gp_node(p, TRL__G_NUM, t->start, t->end);
        p->g->nodes[k].num = v;
        return k;
    }
    case TRL__T_TERM:
        p->pos++;
        return trl__gate_term(p, t);
    case TRL__T_LP: {
        p->pos++;
        int k = parse_or(p);
        if (k < 0)
            return -1;
        if (trl__gp_peek(p)->kind != TRL__T_RP)
            return trl__gp_fail(p, trl__gp_peek(p)->start,
                                "expected ')' to close the "
                                "'(' at column %d",
                                trl__gate_column(p->g->text, t->start));
        p->pos++;
        return k;
    }
    case TRL__T_WORD:
        p->pos++;
        if (trl__gate_is(s, len, "true") || trl__gate_is(s, len, "false")) {
            int k = trl__gp_node(p, TRL__G_BOOL, t->start, t->end);
            p->g->nodes[k].num = *s == 't';
            p->g->nodes[k].is_bool = 1;
            return k;
        }
        if (trl__gate_is(s, len, "production") ||
            trl__gate_is(s, len, "staging")) {
            int k = trl__gp_node(p, TRL__G_SUBJECT, t->start, t->end);
            p->g->nodes[k].subject =
                *s == 'p' ? TRL_GATE_PRODUCTION : TRL_GATE_STAGING;
            p->g->nodes[k].has_subject = 1;
            return k;
        }
        if (trl__gate_is(s, len, "drift") || trl__gate_is(s, len, "validate"))
            return trl__gate_call(p, t, *s == 'd');
        if (!trl__gate_is_keyword(s, len)) {
            if (trl__gate_is_stat(s, len))
                return trl__gp_fail(
                    p, t->start,
                    "'%.*s' needs a batch size: "
                    "write %.*s@batch1 (or %.*s@batch1@threads4)",
                    (int)len, s, (int)len, s, (int)len, s);
            return trl__gp_fail(p, t->start,
                                "'%.*s' needs a frame: write "
                                "%.*s@FRAME, the registered frame a %%compare "
                                "ran on",
                                (int)(len > 60 ? 60 : len), s,
                                (int)(len > 60 ? 60 : len), s);
        }
        p->pos--;
        break;
    default:
        break;
    }
    if (t->kind == TRL__T_EOF && p->pos == 0)
        return trl__gp_fail(p, t->start,
                            "the gate is empty: write a condition "
                            "such as auc@holdout >= production");
    if (p->pos == 0) {
        show(p, t, what);
        return trl__gp_fail(p, t->start,
                            "expected a number or a term, not "
                            "'%s'",
                            what);
    }
    char prev[40];
    show(p, &p->t[p->pos - 1], prev);
    if (t->kind == TRL__T_EOF)
        return trl__gp_fail(p, t->start,
                            "expected a number or a term after "
                            "'%s'",
                            prev);
    show(p, t, what);
    return trl__gp_fail(p, t->start,
                        "expected a number or a term after '%s', "
                        "not '%s'",
                        prev, what);
}

static int unary(trl__gate_parser *p)
{
    const trl__token *t = trl__gp_peek(p);
    if (t->kind != TRL__T_MINUS)
        return primary(p);
    if (enter(p) != 0)
        return -1;
    p->pos++;
    int k = unary(p);
    p->depth--;
    if (k < 0 || need_number(p, k, "'-' takes a number") != 0)
        return -1;
    return join(p, TRL__G_NEG, '-', k, -1, t->start);
}

static int arith(trl__gate_parser *p, int (*next)(trl__gate_parser *),
                 trl__t_kind a, trl__t_kind b, int ca, int cb)
{
    int l = next(p);
    while (l >= 0 &&
           (trl__gp_peek(p)->kind == a || trl__gp_peek(p)->kind == b)) {
        const trl__token *t = trl__gp_peek(p);
        char op[2] = {(char)(t->kind == a ? ca : cb), '\0'};
        p->pos++;
        int r = next(p);
        const char *where = op[0] == '+' || op[0] == '-'
                                ? "'+' and '-' take numbers"
                                : "'*' and '/' take numbers";
        if (r < 0 || need_number(p, l, where) != 0 ||
            need_number(p, r, where) != 0)
            return -1;
        l = join(p, TRL__G_ARITH, op[0], l, r, t->start);
    }
    return l;
}

static int product(trl__gate_parser *p)
{
    return arith(p, unary, TRL__T_STAR, TRL__T_SLASH, '*', '/');
}

static int sum(trl__gate_parser *p)
{
    return arith(p, product, TRL__T_PLUS, TRL__T_MINUS, '+', '-');
}

/* sum [CMP sum], binding a 'production'/'staging' on either side. */
static int comparison(trl__gate_parser *p)
{
    int l = sum(p);
    if (l < 0 || trl__gp_peek(p)->kind != TRL__T_CMP)
        return l;
    const trl__token *t = trl__gp_peek(p);
    p->pos++;
    int r = sum(p);
    if (r < 0 || need_number(p, l, "comparisons take numbers") != 0 ||
        need_number(p, r, "comparisons take numbers") != 0)
        return -1;
    const trl__g_node *nl = &p->g->nodes[l], *nr = &p->g->nodes[r];
    if (nl->has_subject && nr->has_subject)
        return trl__gp_fail(p, subject_at(p, r),
                            "only one side of a comparison "
                            "may name 'production' or 'staging'");
    if ((nl->has_subject && !nr->has_model) ||
        (nr->has_subject && !nl->has_model))
        return trl__gp_fail(p, subject_at(p, nl->has_subject ? l : r),
                            "'production' and 'staging' stand for the other "
                            "side evaluated for that version, and the other "
                            "side names no metric or benchmark figure (as in "
                            "auc@holdout >= production)");
    int k = join(p, TRL__G_CMP, t->op, l, r, t->start);
    if (k < 0)
        return -1;
    p->g->nodes[k].is_bool = 1;
    p->g->nodes[k].has_subject = 0;
    if (trl__gp_peek(p)->kind == TRL__T_CMP)
        return trl__gp_fail(p, trl__gp_peek(p)->start,
                            "comparisons do not chain: "
                            "write a < b and b < c");
    return k;
}

static int parse_not(trl__gate_parser *p)
{
    const trl__token *t = trl__gp_peek(p);
    if (t->kind != TRL__T_WORD ||
        !trl__gate_is(p->g->text + t->start, t->end - t->start, "not"))
        return comparison(p);
    if (enter(p) != 0)
        return -1;
    p->pos++;
    int k = parse_not(p);
    p->depth--;
    if (k < 0 || need_bool(p, k, "'not' takes a condition") != 0)
        return -1;
    k = join(p, TRL__G_NOT, 0, k, -1, t->start);
    if (k >= 0)
        p->g->nodes[k].is_bool = 1;
    return k;
}

static int logic(trl__gate_parser *p, int (*next)(trl__gate_parser *),
                 const char *word, trl__g_kind kind)
{
    int l = next(p);
    while (l >= 0 && trl__gp_peek(p)->kind == TRL__T_WORD &&
           trl__gate_is(p->g->text + trl__gp_peek(p)->start,
                        trl__gp_peek(p)->end - trl__gp_peek(p)->start, word)) {
        size_t at = trl__gp_peek(p)->start;
        p->pos++;
        int r = next(p);
        const char *where = kind == TRL__G_AND ? "'and' joins conditions"
                                               : "'or' joins conditions";
        if (r < 0 || need_bool(p, l, where) != 0 || need_bool(p, r, where) != 0)
            return -1;
        if ((l = join(p, kind, 0, l, r, at)) >= 0)
            p->g->nodes[l].is_bool = 1;
    }
    return l;
}

static int parse_and(trl__gate_parser *p)
{
    return logic(p, parse_not, "and", TRL__G_AND);
}

static int parse_or(trl__gate_parser *p)
{
    if (enter(p) != 0)
        return -1;
    int k = logic(p, parse_and, "or", TRL__G_OR);
    p->depth--;
    return k;
}

/* ---- the entry points -------------------------------------------------------------- */

trl_gate *trl_gate_parse(const char *text, size_t len, trl_error *err)
{
    if (!text)
        len = 0;
    if (len > TRL_GATE_MAX_LEN) {
        trl_error_set(err, TRL_EINVAL,
                      "a gate is at most %d bytes, and "
                      "this one has %zu: split it into several gates",
                      TRL_GATE_MAX_LEN, len);
        return NULL;
    }
    size_t bad;
    if (!trl__gate_utf8_ok((const unsigned char *)(text ? text : ""), len,
                           &bad)) {
        trl_error_set(err, TRL_EINVAL, "column %d: %s",
                      trl__gate_column(text, bad),
                      text[bad] ? "not UTF-8 text" : "a NUL byte");
        return NULL;
    }
    trl_gate *g = calloc(1, sizeof *g);
    trl__token *toks = NULL;
    size_t ntoks = 0;
    if (!g || !(g->text = malloc(len + 1)) ||
        !(g->pool = malloc(2 * len + 2))) {
        trl_gate_free(g);
        trl_error_set(err, TRL_ENOMEM, "out of memory");
        return NULL;
    }
    if (len)
        memcpy(g->text, text, len);
    g->text[len] = '\0';
    g->len = len;
    if (trl__gate_lex(g->text, len, &toks, &ntoks, err) != 0) {
        trl_gate_free(g);
        return NULL;
    }
    /* every node takes at least one token of its own */
    if (!(g->nodes = malloc(ntoks * sizeof *g->nodes))) {
        free(toks);
        trl_gate_free(g);
        trl_error_set(err, TRL_ENOMEM, "out of memory");
        return NULL;
    }
    trl__gate_parser p = {g, toks, 0, 0, 0, err};
    int root = parse_or(&p);
    if (root >= 0 && trl__gp_peek(&p)->kind != TRL__T_EOF) {
        char what[40];
        show(&p, trl__gp_peek(&p), what);
        root = trl__gp_fail(&p, trl__gp_peek(&p)->start,
                            "unexpected '%s' after a "
                            "complete condition (join conditions with 'and' or "
                            "'or')",
                            what);
    }
    if (root >= 0 && need_bool(&p, root, "a gate must be a condition") != 0)
        root = -1;
    free(toks);
    if (root < 0) {
        trl_gate_free(g);
        return NULL;
    }
    g->root = root;
    return g;
}

void trl_gate_free(trl_gate *g)
{
    if (!g)
        return;
    free(g->text);
    free(g->nodes);
    free(g->pool);
    free(g);
}

const char *trl_gate_text(const trl_gate *g)
{
    return g->text;
}

int trl_gate_fuzz_one(const uint8_t *data, size_t size)
{
    trl_error err = {0};
    trl_gate_free(trl_gate_parse((const char *)data, size, &err));
    return 0;
}
