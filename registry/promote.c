/* promote.c - gated promotion: a model version moves to staging or
 * production only when its gates pass (the ones given, or the default
 * "not worse than production on the same frame"), or when an override
 * with a reason says so; either way the attempt goes to the audit log in
 * the same transaction as the stage change, so the log and the stages
 * never disagree. */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "registry/gate_int.h"
#include "registry/model_int.h"
#include "registry/registry_int.h"

#define REASON_MAX 1000

/* A JSON string of s, whose bytes may come from a message cut in the
 * middle of a character: such bytes become '?', never a NULL. */
static json_t *jstr(const char *s)
{
    json_t *j = json_string(s ? s : "");
    if (j)
        return j;
    char *copy = strdup(s);
    if (!copy)
        return NULL;
    for (char *p = copy; *p; p++)
        if ((unsigned char)*p >= 0x80)
            *p = '?';
    j = json_string(copy);
    free(copy);
    return j;
}

static json_t *jstr_or_null(const char *s)
{
    return s ? jstr(s) : json_null();
}

/* Who asks: the request's, else $USER, else the password entry. */
static void identity(const trl_promote_request *rq, char *who, size_t wsize,
                     char *host, size_t hsize)
{
    const char *user = rq->who && *rq->who ? rq->who : getenv("USER");
    if (user && *user) {
        snprintf(who, wsize, "%s", user);
    } else {
        struct passwd *pw = getpwuid(getuid());
        if (pw && pw->pw_name)
            snprintf(who, wsize, "%s", pw->pw_name);
        else
            snprintf(who, wsize, "uid %u", (unsigned)getuid());
    }
    if (rq->host && *rq->host)
        snprintf(host, hsize, "%s", rq->host);
    else if (gethostname(host, hsize) != 0)
        snprintf(host, hsize, "unknown");
    host[hsize - 1] = '\0';
}

static int check_request(trl_registry *r, const trl_promote_request *rq,
                         trl_error *err)
{
    if (!r)
        return trl_error_set(err, TRL_EINVAL, "no registry");
    if (rq->to != TRL_STAGE_STAGING && rq->to != TRL_STAGE_PRODUCTION)
        return trl_error_set(err, TRL_EINVAL, "a promotion moves a version "
                             "to staging or production (to archive one, "
                             "use models.stage)");
    if (rq->ngates > TRL_GATE_MAX_GATES)
        return trl_error_set(err, TRL_EINVAL, "at most %d gates in one "
                             "promotion", TRL_GATE_MAX_GATES);
    size_t reason_len = rq->reason ? strlen(rq->reason) : 0;
    if (rq->force && reason_len == 0)
        return trl_error_set(err, TRL_EINVAL, "an override needs a reason: "
                             "--force --reason TEXT (it goes to the audit "
                             "log)");
    if (reason_len > REASON_MAX)
        return trl_error_set(err, TRL_EINVAL, "the reason is at most %d "
                             "bytes", REASON_MAX);
    json_t *probe = json_string(rq->reason ? rq->reason : "");
    if (!probe)
        return trl_error_set(err, TRL_EINVAL, "the reason must be UTF-8 "
                             "text");
    json_decref(probe);
    return 0;
}

/* ---- the gates -------------------------------------------------------------------- */

/* Appends {"gate", "default", "outcome", "detail"}. */
static int add_gate(json_t *list, const char *text, int is_default,
                    trl_gate_outcome o, const char *detail)
{
    json_t *e = json_pack("{s:o, s:b, s:s, s:o}", "gate", jstr(text),
                          "default", is_default, "outcome",
                          trl_gate_outcome_name(o), "detail", jstr(detail));
    return e ? json_array_append_new(list, e) : -1;
}

static int eval_into(json_t *list, const trl_gate *g, int is_default,
                     const trl_gate_resolver *rs, trl_error *err)
{
    trl_gate_result res;
    if (trl_gate_eval(g, rs, &res, err) != 0)
        return -1;
    int rc = add_gate(list, trl_gate_text(g), is_default, res.outcome,
                      res.detail);
    trl_gate_result_clear(&res);
    return rc;
}

/* The default gates, evaluated into list; *refusal set (and 0
 * returned) when there is no common evidence. */
static int default_gates(json_t *list, const trl_gate_registry *ctx,
                         const trl_gate_resolver *rs, char **note,
                         char *refusal, size_t rsize, trl_error *err)
{
    trl_error derr = {0};
    json_t *texts = trl_gate_defaults(ctx, note, &derr);
    if (!texts) {
        if (derr.code != TRL_ENOTFOUND) {
            *err = derr;
            return -1;
        }
        snprintf(refusal, rsize, "%s", derr.message);
        return 0;
    }
    size_t i;
    json_t *t;
    int rc = 0;
    json_array_foreach(texts, i, t) {
        const char *text = json_string_value(t);
        trl_error perr = {0};
        trl_gate *g = trl_gate_parse(text, strlen(text), &perr);
        /* a frame or metric whose name the language cannot spell */
        rc = g ? eval_into(list, g, 1, rs, err)
               : add_gate(list, text, 1, TRL_GATE_ERROR, perr.message);
        trl_gate_free(g);
        if (rc != 0)
            break;
    }
    json_decref(texts);
    return rc;
}

/* "1 of 3 gates failed (a; b) and 1 had no evidence (c)". */
static void failures(const json_t *gates, char *out, size_t size)
{
    static const char *const kinds[2] = {"fail", "error"};
    size_t used = 0;
    out[0] = '\0';
    for (int k = 0; k < 2; k++) {
        size_t n = 0, i;
        json_t *g;
        json_array_foreach(gates, i, g)
            n += strcmp(json_string_value(json_object_get(g, "outcome")),
                        kinds[k]) == 0;
        if (!n || used >= size)
            continue;
        size_t total = json_array_size(gates);
        if (used)  /* "... failed (a) and 1 had no evidence (b)" */
            used += (size_t)snprintf(out + used, size - used, " and %zu had "
                                     "no evidence (", n);
        else
            used += (size_t)snprintf(out + used, size - used, "%zu of %zu "
                                     "gate%s %s (", n, total,
                                     total == 1 ? "" : "s",
                                     k == 0 ? "failed" : "had no evidence");
        size_t shown = 0;
        json_array_foreach(gates, i, g) {
            if (used >= size)
                break;
            if (strcmp(json_string_value(json_object_get(g, "outcome")),
                       kinds[k]) != 0)
                continue;
            used += (size_t)snprintf(out + used, size - used, "%s%s",
                                     shown++ ? "; " : "",
                                     json_string_value(json_object_get(
                                         g, "gate")));
        }
        if (used < size)
            used += (size_t)snprintf(out + used, size - used, ")");
    }
}

/* ---- the attempt ---------------------------------------------------------------- */

typedef struct attempt {
    trl_gate_registry ctx;
    trl_gate_resolver rs;
    trl_stage from;
    json_t *gates;
    char *note;
    char refusal[TRL_ERROR_MAX];
    size_t passed, failed, errors;
} attempt;

/* Runs the gates inside the transaction. 0, or a code with err. */
static int run_gates(trl_registry *r, const trl_promote_request *rq,
                     trl_gate *const *parsed, attempt *a, trl_error *err)
{
    if (trl_gate_registry_init(&a->ctx, r, rq->model, &a->rs, err) != 0 ||
        trl_registry_model_stage(r, a->ctx.refs[TRL_GATE_CANDIDATE],
                                 &a->from, err) != 0)
        return err ? err->code : TRL_EIO;
    if (!(a->gates = json_array()))
        return trl_error_set(err, TRL_ENOMEM, "out of memory");
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < rq->ngates; i++)
        rc = eval_into(a->gates, parsed[i], 0, &a->rs, err);
    if (rq->ngates == 0)
        rc = default_gates(a->gates, &a->ctx, &a->rs, &a->note, a->refusal,
                           sizeof a->refusal, err);
    if (rc != 0)
        return err && err->code ? err->code
                                : trl_error_set(err, TRL_ENOMEM, "out of "
                                                "memory");
    size_t i;
    json_t *g;
    json_array_foreach(a->gates, i, g) {
        const char *o = json_string_value(json_object_get(g, "outcome"));
        a->passed += strcmp(o, "pass") == 0;
        a->failed += strcmp(o, "fail") == 0;
        a->errors += strcmp(o, "error") == 0;
    }
    return 0;
}

/* The result object (see gate.h) before its audit number. */
static json_t *result_of(const trl_promote_request *rq, const attempt *a,
                         const char *outcome, const char *archived,
                         const char *message)
{
    char who[128], host[256], when[32];
    identity(rq, who, sizeof who, host, sizeof host);
    trl__now_iso8601(when);
    const char *cand = a->ctx.refs[TRL_GATE_CANDIDATE];
    const char *at = strrchr(cand, '@');
    const char *prod = a->ctx.refs[TRL_GATE_PRODUCTION];
    const char *stg = a->ctx.refs[TRL_GATE_STAGING];
    json_t *o = json_pack(
        "{s:s, s:s, s:I, s:s, s:s, s:o, s:o, s:o, s:I, s:I, s:I, s:o, s:s,"
        " s:b, s:o, s:b, s:o, s:o, s:o, s:o, s:I, s:o, s:s}",
        "model", cand, "name", a->ctx.name, "version",
        (json_int_t)atoi(at ? at + 1 : "0"), "from",
        trl_stage_name(a->from), "to", trl_stage_name(rq->to), "production",
        jstr_or_null(prod[0] ? prod : NULL), "staging",
        jstr_or_null(stg[0] ? stg : NULL), "gates", a->gates, "passed",
        (json_int_t)a->passed, "failed", (json_int_t)a->failed, "errors",
        (json_int_t)a->errors, "note", jstr_or_null(a->note), "outcome",
        outcome, "ok", strcmp(outcome, "refused") != 0, "archived",
        jstr_or_null(archived), "forced", rq->force != 0, "reason",
        jstr_or_null(rq->reason && *rq->reason ? rq->reason : NULL),
        "message", jstr(message), "who", jstr(who), "host", jstr(host),
        "pid", (json_int_t)getpid(), "session", jstr_or_null(rq->session),
        "when", when);
    return o;
}

/* Decides, changes the stage when allowed and logs: inside the
 * transaction. */
static json_t *conclude(trl_registry *r, const trl_promote_request *rq,
                        attempt *a, trl_error *err)
{
    const char *cand = a->ctx.refs[TRL_GATE_CANDIDATE];
    const char *prod = a->ctx.refs[TRL_GATE_PRODUCTION];
    const char *to = trl_stage_name(rq->to);
    char why[1200], message[2000], archived[TRL_GATE_REF_MAX] = "";
    if (a->refusal[0])
        snprintf(why, sizeof why, "%s", a->refusal);
    else
        failures(a->gates, why, sizeof why);
    int passed = !a->refusal[0] && a->failed == 0 && a->errors == 0;
    const char *outcome = passed ? "promoted" : rq->force ? "forced"
                                                          : "refused";
    if (passed || rq->force) {
        if (rq->to == TRL_STAGE_PRODUCTION && prod[0] &&
            strcmp(prod, cand) != 0)
            snprintf(archived, sizeof archived, "%s", prod);
        char arch[TRL_GATE_REF_MAX + 16] = "";
        if (archived[0])
            snprintf(arch, sizeof arch, " (%s archived)", archived);
        else if (a->from == rq->to)
            snprintf(arch, sizeof arch, " (it was already there)");
        if (passed)
            snprintf(message, sizeof message, "promoted %s to %s%s", cand,
                     to, arch);
        else
            snprintf(message, sizeof message, "FORCED: promoted %s to %s "
                     "although %s (reason: %s)%s", cand, to, why,
                     rq->reason, arch);
        int version = atoi(strrchr(cand, '@') + 1);
        if (trl__model_stage_locked(r, a->ctx.name, version, rq->to) != 0) {
            trl__registry_db_error(r, "cannot change the stage", err);
            return NULL;
        }
    } else {
        snprintf(message, sizeof message, "refused: %s; %s stays in %s",
                 why, cand, trl_stage_name(a->from));
    }
    json_t *res = result_of(rq, a, outcome, archived[0] ? archived : NULL,
                            message);
    a->gates = NULL;  /* the result holds it now */
    long long id;
    if (!res) {
        trl_error_set(err, TRL_ENOMEM, "out of memory");
        return NULL;
    }
    if (trl__audit_append(r, res, &id) != 0) {
        trl__registry_db_error(r, "cannot write the audit log", err);
        json_decref(res);
        return NULL;
    }
    json_object_set_new(res, "audit", json_integer(id));
    return res;
}

json_t *trl_registry_promote(trl_registry *r, const trl_promote_request *rq,
                             trl_error *err)
{
    if (check_request(r, rq, err) != 0)
        return NULL;
    /* the gates parse before anything is read: a typo is not an attempt */
    trl_gate *parsed[TRL_GATE_MAX_GATES] = {0};
    json_t *res = NULL;
    for (size_t i = 0; i < rq->ngates; i++) {
        const char *text = rq->gates[i] ? rq->gates[i] : "";
        trl_error perr = {0};
        if (!(parsed[i] = trl_gate_parse(text, strlen(text), &perr))) {
            trl_error_set(err, perr.code, "gate %zu '%.80s%s': %s", i + 1,
                          text, strlen(text) > 80 ? "..." : "",
                          perr.message);
            goto done;
        }
    }
    sqlite3 *db = trl__registry_db(r);
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL)) {
        trl__registry_db_error(r, "cannot promote", err);
        goto done;
    }
    attempt a;
    memset(&a, 0, sizeof a);
    if (run_gates(r, rq, parsed, &a, err) == 0 &&
        (res = conclude(r, rq, &a, err)) != NULL &&
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        trl__registry_db_error(r, "cannot promote", err);
        json_decref(res);
        res = NULL;
    }
    if (!res)
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    json_decref(a.gates);
    free(a.note);
done:
    for (size_t i = 0; i < rq->ngates; i++)
        trl_gate_free(parsed[i]);
    return res;
}
