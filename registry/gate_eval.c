/* gate_eval.c - a parsed gate evaluated against a resolver's evidence:
 * numbers and truth values with Kleene's logic for missing evidence,
 * 'production'/'staging' as the other side of their comparison read for
 * that version (on the frames the candidate's values came from), and
 * the detail a person reads to see why: each comparison with the values
 * it compared. Recursion follows the tree, whose height the parser
 * bounds. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry/gate_int.h"

/* ---- text --------------------------------------------------------------------- */

typedef struct sbuf {
    char *p;
    size_t len, cap;
    int nomem;
} sbuf;

__attribute__((format(printf, 2, 3)))
static void add(sbuf *b, const char *fmt, ...)
{
    while (!b->nomem) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p ? b->p + b->len : NULL,
                          b->p ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->nomem = 1;
            break;
        }
        if (b->p && (size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = (b->cap ? b->cap * 2 : 128) + (size_t)n;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->nomem = 1;
            break;
        }
        b->p = p;
        b->cap = cap;
    }
}

/* A value as people read it: enough digits to tell 0.8312 from 0.8319. */
static void add_number(sbuf *b, double x)
{
    add(b, "%.6g", x);
}

/* ---- evaluation state ------------------------------------------------------------ */

enum { T_FALSE = 0, T_TRUE = 1, T_ERROR = 2 };

typedef struct val {
    int ok;      /* 0: evidence missing or undefined */
    double x;
} val;

typedef struct eval {
    const trl_gate *g;
    const trl_gate_resolver *rs;
    char (*used)[TRL_GATE_REF_MAX];  /* per node: the frame the
                                      * candidate's metric came from */
    val *seen;                       /* per node: the candidate's term
                                      * values and each stage's value,
                                      * for the detail */
    trl_error first;                 /* the first missing evidence of the
                                      * leaf being evaluated */
    char **leaf_text;                /* per leaf (at most a leaf a node) */
    int *leaf_truth;
    int nleaves;
    int subjects_used[3];
    int nomem;
} eval;

static const trl__g_node *node(const eval *e, int k)
{
    return &e->g->nodes[k];
}

static void source(const eval *e, sbuf *b, int k)
{
    const trl__g_node *n = node(e, k);
    add(b, "%.*s", (int)(n->end - n->start), e->g->text + n->start);
}

/* Records a resolver's failure for the current leaf. */
static val missing(eval *e, int rc, const trl_error *err)
{
    if (rc == TRL_ENOMEM)
        e->nomem = 1;
    if (!e->first.code)
        e->first = *err;
    if (!e->first.code)
        trl_error_set(&e->first, TRL_ENOTFOUND, "no evidence");
    return (val){0, NAN};
}

static const char *subject_name(trl_gate_subject s)
{
    return s == TRL_GATE_PRODUCTION ? "production" : "staging";
}

/* ---- numbers -------------------------------------------------------------------- */

static val number(eval *e, int k, trl_gate_subject who, int other);

/* A leaf that reads evidence. */
static val term(eval *e, int k, trl_gate_subject who)
{
    const trl__g_node *n = node(e, k);
    const trl_gate_resolver *rs = e->rs;
    trl_error err = {0};
    double x = NAN;
    int rc = TRL_EUNSUPPORTED;
    if (n->kind == TRL__G_METRIC && rs->metric) {
        /* another version reads the frame the candidate's value came
         * from, so both are measured on the same data */
        const char *frame = who != TRL_GATE_CANDIDATE && e->used[k][0]
                                ? e->used[k] : n->b;
        char used[TRL_GATE_REF_MAX] = "";
        rc = rs->metric(rs->ctx, who, n->a, frame, &x, used, sizeof used,
                        &err);
        if (rc == 0 && who == TRL_GATE_CANDIDATE)
            snprintf(e->used[k], TRL_GATE_REF_MAX, "%s", used);
    } else if (n->kind == TRL__G_BENCH && rs->bench) {
        rc = rs->bench(rs->ctx, who, n->a, n->batch, n->threads, &x, &err);
    } else if (n->kind == TRL__G_DRIFT && rs->drift) {
        rc = rs->drift(rs->ctx, n->a, n->b, n->c, &x, &err);
    } else if (!err.code) {
        trl_error_set(&err, TRL_EUNSUPPORTED, "this evaluation has no "
                      "source for such terms");
    }
    if (rc != 0)
        return missing(e, rc, &err);
    if (isnan(x)) {
        char what[200];
        snprintf(what, sizeof what, "%.*s", (int)(n->end - n->start),
                 e->g->text + n->start);
        trl_error_set(&err, TRL_EINVAL, "%s is undefined (NaN) in the "
                      "recorded result", what);
        return missing(e, TRL_EINVAL, &err);
    }
    val v = {1, x};
    if (who == TRL_GATE_CANDIDATE)
        e->seen[k] = v;
    return v;
}

static val arith(int op, val a, val b)
{
    if (!a.ok || !b.ok)
        return (val){0, NAN};
    switch (op) {
    case '+': return (val){1, a.x + b.x};
    case '-': return (val){1, a.x - b.x};
    case '*': return (val){1, a.x * b.x};
    default:  return (val){1, a.x / b.x};
    }
}

/* Node k's number for subject who; other is the far side of the
 * enclosing comparison (what 'production' stands for), or -1. */
static val number(eval *e, int k, trl_gate_subject who, int other)
{
    const trl__g_node *n = node(e, k);
    switch (n->kind) {
    case TRL__G_NUM:
        return (val){1, n->num};
    case TRL__G_SUBJECT:
        if (other < 0) {  /* the parser binds every stage to a side */
            trl_error err;
            trl_error_set(&err, TRL_EINVAL, "'%s' outside a comparison",
                          subject_name(n->subject));
            return missing(e, TRL_EINVAL, &err);
        }
        e->subjects_used[n->subject] = 1;
        return e->seen[k] = number(e, other, n->subject, -1);
    case TRL__G_NEG: {
        val v = number(e, n->left, who, other);
        return (val){v.ok, -v.x};
    }
    case TRL__G_ARITH: {
        val a = number(e, n->left, who, other);
        val b = number(e, n->right, who, other);
        return arith(n->op, a, b);
    }
    default:
        return term(e, k, who);
    }
}

/* ---- rendering one side of a comparison ---------------------------------------- */

static int precedence(const trl__g_node *n)
{
    if (n->kind == TRL__G_ARITH)
        return n->op == '+' || n->op == '-' ? 1 : 2;
    return n->kind == TRL__G_NEG ? 3 : 4;
}

/* The side as written, each term followed by the value it had:
 * "production 0.827 + 0.002". */
static void annotated(eval *e, sbuf *b, int k)
{
    const trl__g_node *n = node(e, k);
    if (n->kind == TRL__G_NUM) {
        source(e, b, k);
    } else if (n->kind == TRL__G_NEG || n->kind == TRL__G_ARITH) {
        int l = n->left, r = n->right;
        int pl = precedence(node(e, l)), pn = precedence(n);
        if (n->kind == TRL__G_NEG)
            add(b, "-");
        else if (pl < pn)
            add(b, "(");
        if (n->kind == TRL__G_NEG && pl < pn)
            add(b, "(");
        annotated(e, b, l);
        if (pl < pn)
            add(b, ")");
        if (n->kind == TRL__G_NEG)
            return;
        int pr = precedence(node(e, r));
        int paren = pr < pn || (pr == pn && (n->op == '-' || n->op == '/'));
        add(b, " %c %s", n->op, paren ? "(" : "");
        annotated(e, b, r);
        add(b, "%s", paren ? ")" : "");
    } else {
        val v = e->seen[k];
        if (n->kind == TRL__G_SUBJECT)
            add(b, "%s", subject_name(n->subject));
        else
            source(e, b, k);
        if (v.ok) {
            add(b, " ");
            add_number(b, v.x);
        }
    }
}

/* "auc@holdout = 0.8312" or "production 0.827 + 0.002 = 0.829" or "5". */
static void side(eval *e, sbuf *b, int k, val v)
{
    const trl__g_node *n = node(e, k);
    if (n->kind == TRL__G_NUM) {
        source(e, b, k);
        return;
    }
    if (n->kind == TRL__G_NEG || n->kind == TRL__G_ARITH ||
        n->kind == TRL__G_SUBJECT)
        annotated(e, b, k);
    else
        source(e, b, k);
    if (n->kind != TRL__G_SUBJECT && v.ok) {
        add(b, " = ");
        add_number(b, v.x);
    }
}

/* ---- truth values ----------------------------------------------------------------- */

static const char *const cmp_text[] = {"<", "<=", ">", ">=", "==", "!="};

/* Keeps a leaf's text and truth for the detail. */
static void leaf(eval *e, sbuf *text, int truth)
{
    if (text->nomem || !text->p) {
        e->nomem = 1;
        free(text->p);
        return;
    }
    e->leaf_text[e->nleaves] = text->p;
    e->leaf_truth[e->nleaves++] = truth;
}

static int compare(eval *e, int k)
{
    const trl__g_node *n = node(e, k);
    int l = n->left, r = n->right;
    /* the side without a stage first: its frames pin the other's */
    int subj_left = node(e, l)->has_subject;
    int first = subj_left ? r : l, second = subj_left ? l : r;
    memset(&e->first, 0, sizeof e->first);
    val a = number(e, first, TRL_GATE_CANDIDATE, -1);
    val b = number(e, second, TRL_GATE_CANDIDATE, first);
    val vl = subj_left ? b : a, vr = subj_left ? a : b;
    sbuf text = {0};
    int truth;
    if (!vl.ok || !vr.ok) {
        add(&text, "%s", e->first.message);
        truth = T_ERROR;
    } else {
        side(e, &text, l, vl);
        add(&text, " %s ", cmp_text[n->op]);
        side(e, &text, r, vr);
        double x = vl.x, y = vr.x;
        if (!isfinite(x) || !isfinite(y)) {
            add(&text, ": not a finite number (a division by zero?)");
            truth = T_ERROR;
        } else {
            switch (n->op) {
            case TRL__G_LT: truth = x < y; break;
            case TRL__G_LE: truth = x <= y; break;
            case TRL__G_GT: truth = x > y; break;
            case TRL__G_GE: truth = x >= y; break;
            case TRL__G_EQ: truth = x == y; break;
            default:        truth = x != y; break;
            }
        }
    }
    leaf(e, &text, truth);
    return truth;
}

static int truth_of(eval *e, int k)
{
    const trl__g_node *n = node(e, k);
    switch (n->kind) {
    case TRL__G_CMP:
        return compare(e, k);
    case TRL__G_NOT: {
        int t = truth_of(e, n->left);
        return t == T_ERROR ? T_ERROR : !t;
    }
    case TRL__G_AND:
    case TRL__G_OR: {
        /* both sides, always: the detail shows all the evidence */
        int a = truth_of(e, n->left), b = truth_of(e, n->right);
        int decisive = n->kind == TRL__G_AND ? T_FALSE : T_TRUE;
        if (a == decisive || b == decisive)
            return decisive;
        return a == T_ERROR || b == T_ERROR ? T_ERROR : !decisive;
    }
    case TRL__G_BOOL: {
        sbuf text = {0};
        source(e, &text, k);
        leaf(e, &text, (int)n->num);
        return (int)n->num;
    }
    default: {  /* validate(FRAME) */
        sbuf text = {0};
        trl_error err = {0};
        int ok = 0, rc = e->rs->validate
                             ? e->rs->validate(e->rs->ctx, n->a, &ok, &err)
                             : trl_error_set(&err, TRL_EUNSUPPORTED, "this "
                                             "evaluation has no source "
                                             "for validate()");
        if (rc == TRL_ENOMEM)
            e->nomem = 1;
        if (rc != 0) {
            add(&text, "%s", err.message);
        } else {
            source(e, &text, k);
            add(&text, " = %s", ok ? "true" : "false");
        }
        leaf(e, &text, rc != 0 ? T_ERROR : ok != 0);
        return rc != 0 ? T_ERROR : ok != 0;
    }
    }
}

/* ---- the entry points --------------------------------------------------------------- */

const char *trl_gate_outcome_name(trl_gate_outcome o)
{
    return o == TRL_GATE_PASS ? "pass" : o == TRL_GATE_FAIL ? "fail"
                                                            : "error";
}

/* The detail: one leaf as it is; several each with its truth. */
static void detail(eval *e, sbuf *out)
{
    static const char *const truth[] = {"false", "true", "error"};
    for (int i = 0; i < e->nleaves; i++) {
        add(out, "%s%s", i ? "; " : "", e->leaf_text[i]);
        if (e->nleaves > 1)
            add(out, " (%s)", truth[e->leaf_truth[i]]);
    }
    for (int s = TRL_GATE_PRODUCTION; s <= TRL_GATE_STAGING; s++) {
        const char *who = e->subjects_used[s] && e->rs->label
                              ? e->rs->label(e->rs->ctx,
                                             (trl_gate_subject)s)
                              : NULL;
        if (who)
            add(out, " (%s is %s)", subject_name((trl_gate_subject)s), who);
    }
}

int trl_gate_eval(const trl_gate *g, const trl_gate_resolver *rs,
                  trl_gate_result *out, trl_error *err)
{
    memset(out, 0, sizeof *out);
    eval e = {0};
    e.g = g;
    e.rs = rs;
    size_t n = g->nnodes ? g->nnodes : 1;
    e.used = calloc(n, sizeof *e.used);
    e.seen = calloc(n, sizeof *e.seen);
    e.leaf_text = calloc(n, sizeof *e.leaf_text);
    e.leaf_truth = calloc(n, sizeof *e.leaf_truth);
    int t = T_ERROR;
    if (e.used && e.seen && e.leaf_text && e.leaf_truth)
        t = truth_of(&e, g->root);
    else
        e.nomem = 1;
    sbuf text = {0};
    detail(&e, &text);
    add(&text, "%s", "");
    for (int i = 0; i < e.nleaves; i++)
        free(e.leaf_text[i]);
    free(e.used);
    free(e.seen);
    free(e.leaf_text);
    free(e.leaf_truth);
    if (e.nomem || text.nomem) {
        free(text.p);
        return trl_error_set(err, TRL_ENOMEM, "out of memory");
    }
    out->outcome = t == T_TRUE ? TRL_GATE_PASS
                   : t == T_FALSE ? TRL_GATE_FAIL : TRL_GATE_ERROR;
    out->detail = text.p;
    return 0;
}

void trl_gate_result_clear(trl_gate_result *out)
{
    free(out->detail);
    out->detail = NULL;
    out->outcome = TRL_GATE_PASS;
}
