/* gate.h - promotion gates: a small expression language over recorded
 * results (metrics from %compare, serving benchmarks, drift, validation),
 * its evaluation against any source of evidence, the registry as that
 * source, gated promotion of a model version, and the audit log of every
 * attempt. Knows nothing of Jupyter or of any engine.
 *
 * The language, loosest binding first:
 *
 *   gate       := or EOF                      (must be true or false)
 *   or         := and ('or' and)*
 *   and        := not ('and' not)*
 *   not        := 'not' not | comparison
 *   comparison := sum [('<' | '<=' | '>' | '>=' | '==' | '!=') sum]
 *   sum        := product (('+' | '-') product)*
 *   product    := unary (('*' | '/') unary)*
 *   unary      := '-' unary | primary
 *   primary    := NUMBER | 'true' | 'false' | '(' or ')'
 *               | METRIC '@' FRAME             auc@holdout, ndcg@10@holdout@2
 *               | STAT '@batch' N ['@threads' M]     p99_ms@batch1@threads4
 *               | 'drift' '(' FRAME ',' FRAME [',' FEATURE] ')'
 *               | 'validate' '(' FRAME ')'
 *               | 'production' | 'staging'
 *   METRIC     := NAME ['@' K]        a metric as %compare names it
 *   FRAME      := NAME ['@' VERSION]  a registered frame
 *   FEATURE    := NAME | 'quoted' | "quoted"
 *   STAT       := p50_ms | p90_ms | p99_ms | p99_9_ms | mean_ms | max_ms
 *               | rows_per_s | peak_rss_mb | rss_growth_mb
 *
 * A term is written without spaces around its '@'s. Comparisons do not
 * chain (a < b < c is an error: join them with 'and'). Types are checked
 * when parsing: arithmetic and comparisons take numbers, 'and', 'or' and
 * 'not' take truth values, and the whole gate must be a truth value.
 *
 * Meaning:
 *  - METRIC@FRAME is the candidate's value of that metric in the latest
 *    %compare recorded on a matching frame. "holdout@2" matches exactly
 *    that version; "holdout" matches any version of holdout, the latest
 *    recorded comparison deciding which.
 *  - STAT@batchN[@threadsM] is the latest recorded %bench figure of the
 *    candidate at batch size N with M callers (1 when omitted).
 *  - drift(REF, NEW) is the largest PSI of the latest %drift of NEW from
 *    REF; drift(REF, NEW, feature) that feature's PSI ('prediction' for
 *    a --model run). validate(FRAME) is the verdict of the latest
 *    %validate of FRAME. Frames match as for metrics. These do not
 *    depend on the model.
 *  - 'production' (or 'staging') stands for the other side of its
 *    comparison evaluated for the version of the same model now in that
 *    stage: `auc@holdout >= production + 0.002` compares the candidate's
 *    auc@holdout with production's plus 0.002. The frame each of
 *    production's terms reads is the exact version the candidate's value
 *    came from, so the two are always measured on the same frame. Only
 *    one side may name a stage, and the other side must name a metric or
 *    a benchmark figure.
 *  - Missing evidence makes a term an error, not a failure. 'and' and
 *    'or' follow Kleene's three-valued logic: false and (error) is
 *    false, true or (error) is true; otherwise an error stays an error.
 *    A comparison with a NaN (a division by zero) is an error too. */
#ifndef TRELLIS_GATE_H
#define TRELLIS_GATE_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "trellis/error.h"
#include "trellis/model.h"
#include "trellis/registry.h"

/* ---- limits ------------------------------------------------------------------ */

#define TRL_GATE_MAX_LEN 1000   /* bytes of one gate */
#define TRL_GATE_MAX_DEPTH 40   /* nesting of parentheses, 'not' and unary
                                 * '-', and operators chained in one
                                 * expression */
#define TRL_GATE_MAX_GATES 32   /* gates of one promotion */
#define TRL_GATE_REF_MAX 160    /* bytes of a "name@N" with its NUL */

/* ---- parsing ------------------------------------------------------------------ */

typedef struct trl_gate trl_gate;   /* a parsed gate (opaque) */

/* Parses len bytes of text (no NUL needed; a NUL byte in them is an
 * error). A new gate, freed with trl_gate_free; or NULL with err saying
 * where and what is wrong: TRL_EINVAL and "column 12: expected a number
 * or a term after '>='" (columns count characters from 1), TRL_ENOMEM.
 * Linear in len; input longer than TRL_GATE_MAX_LEN is refused before
 * anything else is read, and nesting is bounded by TRL_GATE_MAX_DEPTH,
 * so no input can exhaust the stack. */
trl_gate *trl_gate_parse(const char *text, size_t len, trl_error *err);

void trl_gate_free(trl_gate *g);

/* The gate's text as it was given (borrowed, lives as long as g). */
const char *trl_gate_text(const trl_gate *g);

/* Parses data and frees the result: the entry point libFuzzer drives
 * (LLVMFuzzerTestOneInput calls it). Always returns 0. */
int trl_gate_fuzz_one(const uint8_t *data, size_t size);

/* ---- evaluating ------------------------------------------------------------------ */

/* Whose evidence a term reads. */
typedef enum {
    TRL_GATE_CANDIDATE = 0,   /* the version being promoted */
    TRL_GATE_PRODUCTION = 1,  /* the version now in production */
    TRL_GATE_STAGING = 2      /* the version now in staging */
} trl_gate_subject;

/* Where terms get their values: callbacks, so gates evaluate against the
 * registry or against anything a test makes up. Each returns 0 with the
 * value, or a negative code with err saying what evidence is missing and
 * how to record it (TRL_ENOTFOUND); any code but TRL_ENOMEM makes the
 * term an error and evaluation goes on. */
typedef struct trl_gate_resolver {
    void *ctx;
    /* The subject's "name@N" for messages ("churn@2"), or NULL when no
     * version holds that stage. May be NULL. */
    const char *(*label)(void *ctx, trl_gate_subject who);
    /* metric on frames matching frame ("holdout" or "holdout@2"); the
     * exact frame read ("holdout@2") goes to used (size bytes). */
    int (*metric)(void *ctx, trl_gate_subject who, const char *metric,
                  const char *frame, double *out, char *used, size_t size,
                  trl_error *err);
    /* A benchmark figure ("p99_ms") at batch size and thread count. */
    int (*bench)(void *ctx, trl_gate_subject who, const char *stat,
                 long long batch, int threads, double *out, trl_error *err);
    /* PSI: the largest (feature NULL) or one feature's. */
    int (*drift)(void *ctx, const char *ref, const char *new_frame,
                 const char *feature, double *out, trl_error *err);
    /* The latest validation's verdict, 1 or 0. */
    int (*validate)(void *ctx, const char *frame, int *ok, trl_error *err);
} trl_gate_resolver;

typedef enum {
    TRL_GATE_PASS = 0,
    TRL_GATE_FAIL = 1,
    TRL_GATE_ERROR = 2   /* evidence missing or undefined */
} trl_gate_outcome;

/* "pass", "fail", "error". */
const char *trl_gate_outcome_name(trl_gate_outcome o);

typedef struct trl_gate_result {
    trl_gate_outcome outcome;
    /* Owned, NUL-terminated: the values compared, as in "auc@holdout =
     * 0.8312 >= production churn@2 0.827 + 0.002 = 0.829"; for an error,
     * what is missing and what to run. Free with trl_gate_result_clear. */
    char *detail;
} trl_gate_result;

/* Evaluates g with the resolver's evidence into *out (whose detail the
 * caller then owns). Missing evidence is an outcome, not a failure of
 * this call: it returns 0 unless memory runs out (TRL_ENOMEM, *out
 * empty). g is never changed. */
int trl_gate_eval(const trl_gate *g, const trl_gate_resolver *rs,
                  trl_gate_result *out, trl_error *err);

/* Frees out->detail and empties *out. */
void trl_gate_result_clear(trl_gate_result *out);

/* ---- the registry as evidence ------------------------------------------------------ */

/* A resolver's state for one candidate, filled by trl_gate_registry_init.
 * Fields are read-only for callers. */
typedef struct trl_gate_registry {
    trl_registry *r;                          /* borrowed */
    char name[TRL_GATE_REF_MAX];              /* the model's name */
    char refs[3][TRL_GATE_REF_MAX];           /* "name@N" of each subject
                                               * (trl_gate_subject order);
                                               * "" when no version holds
                                               * that stage */
} trl_gate_registry;

/* Resolves candidate ("churn@3", "churn@staging", ...) and the versions
 * of the same name now in production and staging into *ctx, and points
 * *out at it (ctx must outlive out). Errors: an unknown model or
 * version, a spec without '@' (name a version), an unreadable registry.
 * Terms then read model_metrics (latest matching comparison), the
 * benchmarks table, and the drift and validation records, with messages
 * naming the %compare, %bench, %drift or %validate to run. */
int trl_gate_registry_init(trl_gate_registry *ctx, trl_registry *r,
                           const char *candidate, trl_gate_resolver *out,
                           trl_error *err);

/* The gates a promotion uses when none are given: for each metric and
 * frame the candidate has recorded where production has a value of the
 * same metric on the same frame version, "METRIC@FRAME >= production"
 * (<= when lower is better: built-in metrics know, business metrics are
 * read from their definitions). A new array of gate texts:
 *  - empty, with *note (malloc'd, may be NULL on return otherwise) saying
 *    so, when no version is in production (nothing to be worse than);
 *  - NULL with TRL_ENOTFOUND when production exists but shares no
 *    evidence with the candidate, err saying which frames each has and
 *    the %compare to run.
 * A metric whose direction cannot be known is left out and named in
 * *note. */
json_t *trl_gate_defaults(const trl_gate_registry *ctx, char **note,
                          trl_error *err);

/* ---- promotion ------------------------------------------------------------------ */

typedef struct trl_promote_request {
    const char *model;          /* "churn@3" (or "churn@staging"): the
                                 * version to promote */
    trl_stage to;               /* TRL_STAGE_STAGING or _PRODUCTION */
    const char *const *gates;   /* gate texts; NULL or none: the defaults */
    size_t ngates;              /* at most TRL_GATE_MAX_GATES */
    int force;                  /* promote even when gates do not pass;
                                 * needs reason */
    const char *reason;         /* why (required with force); kept in the
                                 * log either way; may be NULL */
    const char *who;            /* NULL: $USER, else the password entry */
    const char *host;           /* NULL: gethostname() */
    const char *session;        /* the kernel session, or NULL */
} trl_promote_request;

/* Evaluates the gates (rq->gates, or trl_gate_defaults) against the
 * registry and, when every gate passes (or rq->force), moves the version
 * to rq->to (a new production version archives the old one). In one
 * transaction with that change - or alone when the attempt is refused -
 * it appends the attempt to the audit log, so every attempt that
 * reaches its gates is kept, and a stage never changes without its
 * entry. Returns a new object for both outcomes:
 * {"model": "churn@3", "name", "version", "from": stage, "to": stage,
 *  "production": ref or null (the baseline), "staging": ref or null,
 *  "gates": [{"gate", "default": bool, "outcome": "pass" | "fail" |
 *  "error", "detail"}...], "passed", "failed", "errors", "note": text or
 *  null, "outcome": "promoted" | "refused" | "forced", "ok": promoted or
 *  forced, "archived": ref or null, "forced": bool, "reason": text or
 *  null, "message": "promoted churn@3 to production (churn@2 archived)"
 *  or "refused: ...", "who", "host", "pid", "session", "when",
 *  "audit": entry number}.
 * NULL with err (nothing changed, nothing logged) when the request is
 * wrong: an unknown model, a stage other than staging or production, a
 * gate that does not parse ("gate 2, column 12: ..."), force without a
 * reason; or when the registry cannot be written (TRL_EIO naming the
 * file: an attempt that cannot be logged does not happen). */
json_t *trl_registry_promote(trl_registry *r, const trl_promote_request *rq,
                             trl_error *err);

/* ---- the audit log ------------------------------------------------------------------ */

/* What happened to model name, oldest first: a new object
 * {"name", "stages": [{"seq", "version", "stage", "changed"}...] (every
 * stage change, by promotion or not), "promotions": [{"id", "when",
 * "who", "host", "pid", "session", "model", "version", "from", "to",
 * "production", "outcome", "forced", "reason", "gates" (as the
 * promotion's result), "archived", "message"}...]}. A name with no
 * versions is TRL_ENOTFOUND; an older read-only registry without the
 * log reads as having no promotions. */
json_t *trl_registry_model_history(trl_registry *r, const char *name,
                                   trl_error *err);

#endif
