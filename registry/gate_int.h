/* gate_int.h - private: the parsed form of a gate, shared by gate_parse.c
 * (which builds it) and gate_eval.c (which walks it), and what the
 * promotion files share. */
#ifndef TRELLIS_REGISTRY_GATE_INT_H
#define TRELLIS_REGISTRY_GATE_INT_H

#include <stddef.h>

#include "trellis/gate.h"

typedef enum {
    TRL__G_NUM,       /* num; its text is the source's */
    TRL__G_BOOL,      /* num is 1 or 0 */
    TRL__G_METRIC,    /* a: metric ("ndcg@10"), b: frame spec */
    TRL__G_BENCH,     /* a: stat, batch, threads */
    TRL__G_DRIFT,     /* a: ref, b: new, c: feature or NULL */
    TRL__G_VALIDATE,  /* a: frame */
    TRL__G_SUBJECT,   /* subject: production or staging */
    TRL__G_NEG,       /* left */
    TRL__G_ARITH,     /* op '+', '-', '*', '/'; left, right */
    TRL__G_CMP,       /* op one of trl__g_cmp; left, right */
    TRL__G_AND,
    TRL__G_OR,
    TRL__G_NOT        /* left */
} trl__g_kind;

typedef enum {
    TRL__G_LT, TRL__G_LE, TRL__G_GT, TRL__G_GE, TRL__G_EQ, TRL__G_NE
} trl__g_cmp;

/* One node. Children are indices into the gate's node array (-1: none):
 * a flat array, so freeing a gate is two frees whatever its shape. */
typedef struct trl__g_node {
    trl__g_kind kind;
    int op;                 /* TRL__G_ARITH: the character; CMP: trl__g_cmp */
    int left, right;
    double num;
    const char *a, *b, *c;  /* into the gate's string pool; NULL: absent */
    long long batch;
    int threads;
    trl_gate_subject subject;
    size_t start, end;      /* the source bytes it came from */
    int is_bool;            /* a truth value, else a number */
    int has_subject;        /* holds 'production'/'staging' not yet bound
                             * by a comparison */
    int has_model;          /* holds a metric or benchmark term */
    int height;             /* 1 + its tallest child's */
} trl__g_node;

struct trl_gate {
    char *text;             /* the source, NUL-terminated */
    size_t len;
    trl__g_node *nodes;
    size_t nnodes;
    int root;
    char *pool;             /* NUL-terminated strings the nodes point into */
};

/* ---- tokens (gate_lex.c) ---------------------------------------------------- */

typedef enum {
    TRL__T_EOF,
    TRL__T_NUM,     /* 12, 0.5, 1e-3 */
    TRL__T_WORD,    /* a name without '@': a keyword, or a misused name */
    TRL__T_TERM,    /* a name with '@' parts: auc@holdout@2 */
    TRL__T_STR,     /* 'quoted' or "quoted": start/end include the quotes */
    TRL__T_LP, TRL__T_RP, TRL__T_COMMA,
    TRL__T_PLUS, TRL__T_MINUS, TRL__T_STAR, TRL__T_SLASH,
    TRL__T_CMP      /* op: trl__g_cmp */
} trl__t_kind;

typedef struct trl__token {
    trl__t_kind kind;
    int op;
    size_t start, end;  /* bytes of the source */
} trl__token;

/* Splits text[0..len) (already known to be UTF-8 without NUL) into
 * tokens, ending with one TRL__T_EOF at len. *out is malloc'd (at most
 * len + 1 tokens). 0, or TRL_EINVAL / TRL_ENOMEM with err saying where. */
int trl__gate_lex(const char *text, size_t len, trl__token **out,
                  size_t *n, trl_error *err);

/* The 1-based column (in characters) of byte offset off of text. */
int trl__gate_column(const char *text, size_t off);

/* Is text[0..len) exactly the keyword kw? */
int trl__gate_is(const char *text, size_t len, const char *kw);

/* Non-zero when s[0..len) is UTF-8 without NUL; else *bad is the offset
 * of the first byte that is not. */
int trl__gate_utf8_ok(const unsigned char *s, size_t len, size_t *bad);

/* ---- the parser (gate_parse.c: grammar; gate_term.c: leaves) ------------- */

typedef struct trl__gate_parser {
    trl_gate *g;            /* the gate being built */
    const trl__token *t;
    size_t pos;             /* the next token */
    size_t pool_used;
    int depth;              /* recursion, bounded by TRL_GATE_MAX_DEPTH */
    trl_error *err;
} trl__gate_parser;

/* Fills the parser's err with "column N: " and the message; returns -1. */
int trl__gp_fail(trl__gate_parser *p, size_t at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
const trl__token *trl__gp_peek(const trl__gate_parser *p);
/* A new leaf node over source bytes [start, end): its index. */
int trl__gp_node(trl__gate_parser *p, trl__g_kind kind, size_t start,
                 size_t end);
/* A NUL-terminated copy of source bytes [start, end) in the pool. */
const char *trl__gp_keep(trl__gate_parser *p, size_t start, size_t end);
int trl__gate_is_keyword(const char *s, size_t len);
int trl__gate_is_stat(const char *s, size_t len);
/* The node of a TERM token (already consumed), or -1. */
int trl__gate_term(trl__gate_parser *p, const trl__token *t);
/* drift(...) or validate(...) after its name (consumed), or -1. */
int trl__gate_call(trl__gate_parser *p, const trl__token *t, int is_drift);

/* The benchmark figures a gate may name, NULL-terminated. */
extern const char *const trl__gate_stats[];

/* ---- the audit log (audit_store.c) --------------------------------------- */

/* The table format version 5 adds. */
extern const char trl__audit_schema_sql[];

struct trl_registry;
/* Appends a promotion result (trl_registry_promote's object) to the log
 * inside the caller's transaction; *id_out receives its number. 0 or -1
 * (the connection holds the error). */
int trl__audit_append(struct trl_registry *r, const json_t *result,
                      long long *id_out);

#endif
