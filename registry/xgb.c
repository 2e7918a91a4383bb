/* xgb.c - the XGBoost backend: training round by round through the C API
 * (so it can report progress, stop early and be interrupted), predicting
 * in place from row-major doubles, and the booster's own UBJ bytes as the
 * artifact. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xgboost/c_api.h>

#include "registry/model_int.h"
#include "registry/registry_int.h"

typedef struct xgb_impl {
    trl__model_impl base;  /* first */
    BoosterHandle h;
} xgb_impl;

#define DEFAULT_ROUNDS 100

/* Threads for a booster whose parameters do not say: OMP_NUM_THREADS, else
 * the online CPUs. XGBoost 1.7 left to its own default (nthread 0) spends
 * about 2 ms per prediction call here (measured: 2451 us against 26 us
 * with nthread 2 on one row), so every booster gets an explicit count. */
static int default_threads(void)
{
    const char *env = getenv("OMP_NUM_THREADS");
    long n = env ? strtol(env, NULL, 10) : 0;
    if (n <= 0)
        n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 && n < 4096 ? (int)n : 1;
}

static int set_threads(BoosterHandle h, long nthread)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%ld", nthread > 0 ? nthread
                                                 : (long)default_threads());
    return XGBoosterSetParam(h, "nthread", buf);
}

/* ---- XGBoost's log ------------------------------------------------------------- */

/* XGBoost reports unknown parameters only as a logged warning; while
 * training, the log is kept here so an unknown name becomes an error. Other
 * messages go to the kernel's stderr (its log). XGBoost 1.7 keeps the log
 * callback per thread, so it is registered by whichever thread trains or
 * loads, and the capture state is per thread too. */
static _Thread_local char log_buf[4096];
static _Thread_local size_t log_len;
static _Thread_local int log_capture;

static void on_log(const char *msg)
{
    if (!log_capture) {
        fprintf(stderr, "xgboost: %s\n", msg);
        return;
    }
    size_t n = strlen(msg);
    if (n > sizeof log_buf - 1 - log_len)
        n = sizeof log_buf - 1 - log_len;
    memcpy(log_buf + log_len, msg, n);
    log_len += n;
    log_buf[log_len] = '\0';
}

/* XGBoost's last error without its "[time] file:line: " prefix and stack
 * trace: "XGBoost: <what it said>". */
static int xgb_error_code(int code, const char *what, trl_error *err)
{
    const char *msg = XGBGetLastError();
    char line[TRL_ERROR_MAX];
    snprintf(line, sizeof line, "%s", msg ? msg : "unknown error");
    char *nl = strchr(line, '\n');
    if (nl)
        *nl = '\0';
    const char *p = line;
    if (*p == '[') {
        const char *close = strchr(p, ']');
        if (close)
            p = close + 1 + (close[1] == ' ');
    }
    /* "/build/xgboost/src/learner.cc:123: message" */
    const char *colon = strstr(p, ": ");
    if (colon && colon > p && isdigit((unsigned char)colon[-1]) &&
        memchr(p, '/', (size_t)(colon - p)))
        p = colon + 2;
    return trl_error_set(err, code, "XGBoost %s: %s", what, p);
}

static int xgb_error(const char *what, trl_error *err)
{
    return xgb_error_code(TRL_EINVAL, what, err);
}

/* ---- parameters ----------------------------------------------------------------- */

/* Removes key from params and returns its integer value (def when absent);
 * -1 with err set when it is not a whole number in [lo, hi]. */
static long take_int(json_t *params, const char *key, long def, long lo,
                     long hi, trl_error *err)
{
    json_t *v = json_object_get(params, key);
    if (!v)
        return def;
    double x = json_number_value(v);
    if (!json_is_number(v) || x != floor(x) || x < lo || x > hi) {
        trl_error_set(err, TRL_EINVAL, "parameter %s must be a whole number "
                      "from %ld to %ld", key, lo, hi);
        return -1;
    }
    return (long)x;
}

/* A parameter value as XGBoost reads it; an array other than eval_metric
 * (monotone_constraints) as "(1,-1)". -1 when it is of another type or
 * does not fit. */
static int param_text(const json_t *v, char *buf, size_t size)
{
    int n;
    if (json_is_string(v)) {
        if (strlen(json_string_value(v)) != json_string_length(v))
            return -1;  /* a NUL would cut the value short */
        n = snprintf(buf, size, "%s", json_string_value(v));
    }
    else if (json_is_integer(v))
        n = snprintf(buf, size, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        n = snprintf(buf, size, "%.17g", json_real_value(v));
    else if (json_is_boolean(v))
        n = snprintf(buf, size, "%d", json_is_true(v));
    else if (json_is_array(v)) {
        size_t used = 1, i;
        json_t *x;
        buf[0] = '(';
        json_array_foreach(v, i, x) {
            if (used + 2 >= size || json_is_array(x) ||
                param_text(x, buf + used + (i > 0), size - used - 1) != 0)
                return -1;
            if (i > 0)
                buf[used] = ',';
            used += strlen(buf + used);
        }
        n = snprintf(buf + used, size - used, ")");
        return n < 0 || (size_t)n >= size - used ? -1 : 0;
    } else
        return -1;
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* Passes every parameter to the booster; eval_metric's list as one call
 * per metric, which XGBoost accumulates (the last one is what early
 * stopping watches). */
static int set_params(BoosterHandle h, const json_t *params, trl_error *err)
{
    const char *key;
    json_t *v;
    char buf[1024];
    json_object_foreach((json_t *)params, key, v) {
        int each = json_is_array(v) && strcmp(key, "eval_metric") == 0;
        size_t n = each ? json_array_size(v) : 1;
        for (size_t i = 0; i < n; i++) {
            json_t *x = each ? json_array_get(v, i) : v;
            if (param_text(x, buf, sizeof buf) != 0)
                return trl_error_set(err, TRL_EINVAL, "parameter %s must be "
                                     "a number, a string, a boolean or a "
                                     "list of those (%zu characters at "
                                     "most)", key, sizeof buf - 1);
            if (XGBoosterSetParam(h, key, buf) != 0)
                return xgb_error("parameter", err);
        }
    }
    return 0;
}

/* After the first round: turns XGBoost's 'Parameters: { "foo" } are not
 * used' (1.7; "might not be used" in other versions) into an error naming
 * them. */
static int check_unused(trl_error *err)
{
    const char *p = strstr(log_buf, "Parameters: {");
    if (!p || (!strstr(p, "are not used") && !strstr(p, "might not be used")))
        return 0;
    const char *open = strchr(p, '{') + 1, *close = strchr(open, '}');
    if (!close)
        close = open;
    while (open < close && *open == ' ')
        open++;
    while (close > open && close[-1] == ' ')
        close--;
    int len = (int)(close - open);
    return trl_error_set(err, TRL_EINVAL, "XGBoost does not know the "
                         "parameter%s %.*s (see the XGBoost 1.7 parameter "
                         "list; num_boost_round and early_stopping_rounds "
                         "are Trellis's own)",
                         memchr(open, ',', (size_t)len) ? "s" : "", len,
                         open);
}

/* Objective from the target when none is given: 0/1 -> binary:logistic,
 * a group -> rank:ndcg, else reg:squarederror. */
static const char *infer_objective(const trl__train_job *job)
{
    if (job->spec->group)
        return "rank:ndcg";
    size_t n = job->spec->data->nrows;
    for (size_t i = 0; i < n; i++)
        if (job->label[i] != 0.0 && job->label[i] != 1.0)
            return "reg:squarederror";
    return "binary:logistic";
}

/* Checks the n targets y (of `what`: data or eval) suit the objective;
 * fills num_class for multi:* from the data. */
static int check_labels(const trl__train_job *job, const double *y,
                        size_t n, const char *what, const char *obj,
                        json_t *params, int *noutputs, trl_error *err)
{
    const trl_train_spec *s = job->spec;
    *noutputs = 1;
    int is_rank = strncmp(obj, "rank:", 5) == 0;
    if (is_rank && !s->group)
        return trl_error_set(err, TRL_EINVAL, "objective %s needs group= "
                             "(the column that names each query)", obj);
    if (!is_rank && s->group)
        return trl_error_set(err, TRL_EINVAL, "group= is for rank:* "
                             "objectives, not %s", obj);
    if (strncmp(obj, "binary:", 7) == 0 || strcmp(obj, "reg:logistic") == 0) {
        for (size_t i = 0; i < n; i++)
            if (y[i] < 0.0 || y[i] > 1.0)
                return trl_error_set(err, TRL_EINVAL, "objective %s needs a "
                                     "target of 0/1 (or bool): '%s' in %s is "
                                     "%g in row %zu", obj, s->target, what,
                                     y[i], i + 1);
    }
    if (strncmp(obj, "multi:", 6) != 0)
        return 0;
    double top = 0;
    for (size_t i = 0; i < n; i++) {
        if (y[i] < 0 || y[i] != floor(y[i]) || y[i] > 1e6)
            return trl_error_set(err, TRL_EINVAL, "objective %s needs class "
                                 "numbers 0, 1, 2, ... as target: '%s' in %s "
                                 "is %g in row %zu", obj, s->target, what,
                                 y[i], i + 1);
        if (y[i] > top)
            top = y[i];
    }
    long k = take_int(params, "num_class", (long)top + 1, 2, 1000000, err);
    if (k < 0)
        return err->code;
    if (top >= (double)k)
        return trl_error_set(err, TRL_EINVAL, "num_class is %ld but '%s' in "
                             "%s holds class %g", k, s->target, what, top);
    json_object_set_new(params, "num_class", json_integer(k));
    if (strcmp(obj, "multi:softprob") == 0)
        *noutputs = (int)k;
    return 0;
}

/* ---- matrices ------------------------------------------------------------------------ */

/* Query sizes from the group column, whose rows must be contiguous per
 * query (as XGBoost requires). malloc'd array of *ngroups sizes. */
static unsigned *group_sizes(const trl_frame *f, const char *col,
                             size_t *ngroups, trl_error *err)
{
    const trl_column *c = trl_frame_get(f, col);
    size_t n = f->nrows;
    unsigned *sizes = malloc((n ? n : 1) * sizeof *sizes);
    double *keys = malloc((n ? n : 1) * sizeof *keys);
    if (!sizes || !keys) {
        free(sizes);
        free(keys);
        trl_error_set(err, TRL_ENOMEM, "out of memory");
        return NULL;
    }
    size_t g = 0;
    for (size_t i = 0; i < n; i++) {
        double k = c->type == TRL_STR ? (double)c->v.codes[i]
                                      : trl_column_get_f64(c, i);
        if (trl_column_is_missing(c, i)) {
            trl_error_set(err, TRL_EINVAL, "group column '%s' is missing in "
                          "row %zu", col, i + 1);
            goto fail;
        }
        if (g && keys[g - 1] == k) {
            sizes[g - 1]++;
            continue;
        }
        keys[g] = k;
        sizes[g++] = 1;
    }
    /* a key seen in two runs means the rows are not grouped */
    qsort(keys, g, sizeof *keys, trl__cmp_double);
    for (size_t i = 1; i < g; i++)
        if (keys[i] == keys[i - 1]) {
            trl_error_set(err, TRL_EINVAL, "the rows of each query must be "
                          "together: group column '%s' returns to an "
                          "earlier value (sort the frame by it)", col);
            goto fail;
        }
    free(keys);
    *ngroups = g;
    return sizes;

fail:
    free(sizes);
    free(keys);
    return NULL;
}

static void free_names(char **names, size_t n)
{
    for (size_t j = 0; names && j < n; j++)
        free(names[j]);
    free(names);
}

/* XGBoost refuses feature names with '[', ']' or '<'. */
static char *clean_name(char *s)
{
    for (char *p = s; p && *p; p++)
        if (*p == '[' || *p == ']' || *p == '<')
            *p = '_';
    return s;
}

/* The encoded input names, cleaned for XGBoost: a malloc'd array of
 * enc->width strings, or NULL when out of memory. */
static char **input_names(const trl__encoder *enc)
{
    char **names = calloc(enc->width ? enc->width : 1, sizeof *names);
    for (size_t j = 0; names && j < enc->width; j++)
        if (!(names[j] = clean_name(trl__encoder_input_name(enc, j)))) {
            free_names(names, j);
            return NULL;
        }
    return names;
}

static int make_dmatrix(const trl__encoder *enc, const trl_frame *f,
                        const double *label, const char *group,
                        char **names, int nthread, DMatrixHandle *out,
                        trl_error *err)
{
    trl__enc_columns cols;
    if (trl__encoder_columns(enc, f, &cols, err) != 0)
        return err->code;
    int rc = XGDMatrixCreateFromDT(cols.ptrs, cols.stypes,
                                   (bst_ulong)f->nrows, (bst_ulong)enc->width,
                                   out, nthread);
    /* the DMatrix holds its own copy: the converted columns can go */
    trl__enc_columns_free(&cols);
    if (rc != 0)
        return xgb_error("could not take the data", err);
    size_t n = f->nrows;
    float *y = malloc((n ? n : 1) * sizeof *y);
    rc = y ? 0 : trl_error_set(err, TRL_ENOMEM, "out of memory");
    for (size_t i = 0; rc == 0 && i < n; i++)
        y[i] = (float)label[i];
    if (rc == 0 && (XGDMatrixSetFloatInfo(*out, "label", y, n) != 0 ||
                    XGDMatrixSetStrFeatureInfo(*out, "feature_name",
                                               (const char **)names,
                                               enc->width) != 0))
        rc = xgb_error("could not take the data", err);
    if (rc == 0 && group) {
        size_t ng;
        unsigned *sizes = group_sizes(f, group, &ng, err);
        if (!sizes)
            rc = err->code;
        else if (XGDMatrixSetUIntInfo(*out, "group", sizes, ng) != 0)
            rc = xgb_error("could not take the groups", err);
        free(sizes);
    }
    free(y);
    if (rc != 0) {
        XGDMatrixFree(*out);
        *out = NULL;
    }
    return rc;
}

/* ---- the training loop ---------------------------------------------------------------- */

/* "[3]\ttrain-logloss:0.41\teval-logloss:0.52" -> {"train-logloss": 0.41,
 * ...} (a value that is not finite, such as auc on one class, as null);
 * *last and *value are the last metric, which early stopping watches. */
static json_t *parse_eval(const char *text, char *last, size_t last_size,
                          double *value)
{
    json_t *o = json_object();
    const char *p = strchr(text, '\t');
    while (o && p) {
        p++;
        const char *colon = strchr(p, ':');
        const char *tab = strchr(p, '\t');
        if (!colon || (tab && tab < colon))
            break;
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)(colon - p), p);
        *value = strtod(colon + 1, NULL);
        json_object_set_new(o, name, isfinite(*value) ? json_real(*value)
                                                      : json_null());
        snprintf(last, last_size, "%s", name);
        p = tab;
    }
    return o;
}

/* As XGBoost's Python EarlyStopping: these metrics are maximised. */
static int maximised(const char *metric)
{
    static const char *const up[] = {"auc", "aucpr", "pre", "map", "ndcg"};
    const char *dash = strchr(metric, '-');
    const char *m = dash ? dash + 1 : metric;
    for (size_t i = 0; i < sizeof up / sizeof *up; i++) {
        size_t n = strlen(up[i]);
        if (strncmp(m, up[i], n) == 0 && (m[n] == '\0' || m[n] == '@'))
            return 1;
    }
    return 0;
}

typedef struct loop_state {
    BoosterHandle h;
    DMatrixHandle mats[2];
    const char *names[2];
    bst_ulong nmats;
    json_t *history;  /* metrics per round */
    int best;         /* early stopping: best round, 0-based */
    double best_score;
    int rounds_done;
} loop_state;

static int run_rounds(loop_state *st, const trl__train_job *job, long rounds,
                      long early, trl_error *err)
{
    const trl_train_spec *s = job->spec;
    double t0 = trl__now();
    int since_best = 0;
    char metric[128] = "";
    st->best = -1;
    if (s->progress) {
        /* the data is in: show the bar before the first round's wait */
        trl_train_progress p = {0, (int)rounds, NULL, 0.0, 0.0};
        s->progress(s->progress_arg, &p);
    }
    for (int r = 0; r < rounds; r++) {
        if (trl__registry_interrupted())
            return trl__registry_interrupt_error(err);
        log_capture = 1;
        int rc = XGBoosterUpdateOneIter(st->h, r, st->mats[0]);
        log_capture = 0;
        if (rc != 0)
            return xgb_error("training", err);
        if (r == 0 && check_unused(err) != 0)
            return err->code;
        const char *text;
        if (XGBoosterEvalOneIter(st->h, r, st->mats, st->names, st->nmats,
                                 &text) != 0)
            return xgb_error("evaluation", err);
        double score = NAN;
        json_t *m = parse_eval(text, metric, sizeof metric, &score);
        if (!m || json_array_append_new(st->history, m) != 0)
            return trl_error_set(err, TRL_ENOMEM, "out of memory");
        st->rounds_done = r + 1;
        if (early && !isfinite(score))
            return trl_error_set(err, TRL_EINVAL, "early stopping watches "
                                 "%s, which is %g at round %d (auc on an "
                                 "eval frame with one class, say): choose "
                                 "another eval_metric or eval frame",
                                 metric, score, r + 1);
        if (s->progress) {
            trl_train_progress p = {r + 1, (int)rounds,
                                    metric[0] ? metric : NULL, score,
                                    trl__now() - t0};
            s->progress(s->progress_arg, &p);
        }
        if (!early)
            continue;
        int better = st->best < 0 ||
                     (maximised(metric) ? score > st->best_score
                                        : score < st->best_score);
        if (better) {
            st->best = r;
            st->best_score = score;
            since_best = 0;
        } else if (++since_best >= early) {
            break;
        }
    }
    return 0;
}

static void free_impl(void *impl)
{
    xgb_impl *x = impl;
    if (x && x->h)
        XGBoosterFree(x->h);
    free(x);
}

static int xgb_train(trl_model *m, const trl__train_job *job, trl_error *err)
{
    XGBRegisterLogCallback(on_log);
    const trl_train_spec *s = job->spec;
    json_t *params = job->params;
    log_len = 0;
    log_buf[0] = '\0';
    long rounds = take_int(params, "num_boost_round", DEFAULT_ROUNDS, 1,
                           1000000, err);
    long early = take_int(params, "early_stopping_rounds", 0, 0, 1000000,
                          err);
    long nthread = take_int(params, "nthread", 0, 0, 4096, err);
    if (rounds < 0 || early < 0 || nthread < 0)
        return err->code;
    if (early && !s->eval)
        return trl_error_set(err, TRL_EINVAL, "early_stopping_rounds needs "
                             "an eval frame (eval = ...) to watch");
    json_object_del(params, "num_boost_round");
    json_object_del(params, "early_stopping_rounds");
    json_t *obj = json_object_get(params, "objective");
    if (obj && !json_is_string(obj))
        return trl_error_set(err, TRL_EINVAL, "parameter objective must be "
                             "a string such as \"binary:logistic\"");
    if (!obj)
        json_object_set_new(params, "objective",
                            json_string(infer_objective(job)));
    const char *objective = json_string_value(json_object_get(params,
                                                              "objective"));
    const char *booster = json_string_value(json_object_get(params,
                                                            "booster"));
    if (booster && strcmp(booster, "gblinear") == 0)
        return trl_error_set(err, TRL_EINVAL, "booster gblinear cannot "
                             "predict in place in XGBoost 1.7: use gbtree or "
                             "dart, or algo = \"linear\"");
    int noutputs;
    if (check_labels(job, job->label, s->data->nrows, "data", objective,
                     params, &noutputs, err) != 0 ||
        (s->eval && check_labels(job, job->eval_label, s->eval->nrows,
                                 "eval", objective, params, &noutputs,
                                 err) != 0))
        return err->code;
    if (!json_object_get(params, "validate_parameters"))
        json_object_set_new(params, "validate_parameters", json_integer(1));

    xgb_impl *x = calloc(1, sizeof *x);
    char **names = NULL;
    loop_state st = {0};
    st.names[0] = "train";
    st.names[1] = "eval";
    int rc = TRL_ENOMEM;
    if (!x || !(st.history = json_array())) {
        trl_error_set(err, rc, "out of memory");
        goto done;
    }
    if (!(names = input_names(job->enc))) {
        rc = trl_error_set(err, TRL_ENOMEM, "out of memory");
        goto done;
    }
    if ((rc = make_dmatrix(job->enc, s->data, job->label, s->group, names,
                           (int)nthread, &st.mats[0], err)) != 0)
        goto done;
    st.nmats = 1;
    if (s->eval) {
        if ((rc = make_dmatrix(job->enc, s->eval, job->eval_label, s->group,
                               names, (int)nthread, &st.mats[1], err)) != 0)
            goto done;
        st.nmats = 2;
    }
    /* the names go into the saved model, as Python's xgboost does */
    if (XGBoosterCreate(st.mats, st.nmats, &st.h) != 0 ||
        XGBoosterSetStrFeatureInfo(st.h, "feature_name",
                                   (const char **)names,
                                   job->enc->width) != 0) {
        rc = xgb_error("could not start", err);
        goto done;
    }
    if (nthread)
        json_object_set_new(params, "nthread", json_integer(nthread));
    if ((rc = set_params(st.h, params, err)) != 0 ||
        (!nthread && set_threads(st.h, 0) != 0 &&
         (rc = xgb_error("parameter", err)) != 0) ||
        (rc = run_rounds(&st, job, rounds, early, err)) != 0)
        goto done;
    int kept = st.rounds_done;
    if (early && st.best >= 0) {
        /* keep the best round, as Python's EarlyStopping(save_best=True) */
        char buf[64];
        snprintf(buf, sizeof buf, "%d", st.best);
        XGBoosterSetAttr(st.h, "best_iteration", buf);
        snprintf(buf, sizeof buf, "%.17g", st.best_score);
        XGBoosterSetAttr(st.h, "best_score", buf);
        kept = st.best + 1;
        BoosterHandle sliced;
        if (kept < st.rounds_done) {
            if (XGBoosterSlice(st.h, 0, kept, 1, &sliced) != 0) {
                rc = xgb_error("could not keep the best round", err);
                goto done;
            }
            XGBoosterFree(st.h);
            st.h = sliced;
        }
    }
    m->metrics = json_deep_copy(json_array_get(st.history,
                                               (size_t)kept - 1));
    if (!m->metrics)
        m->metrics = json_object();
    json_object_set_new(m->metrics, "rounds", json_integer(kept));
    if (early)
        json_object_set_new(m->metrics, "best_iteration",
                            json_integer(st.best));
    json_object_set_new(params, "num_boost_round", json_integer(rounds));
    if (early)
        json_object_set_new(params, "early_stopping_rounds",
                            json_integer(early));
    if (!(m->objective = strdup(objective))) {
        rc = trl_error_set(err, TRL_ENOMEM, "out of memory");
        goto done;
    }
    m->noutputs = noutputs;
    x->h = st.h;
    st.h = NULL;
    m->impl = x;
    x = NULL;
    rc = 0;
done:
    log_capture = 0;
    if (st.h)
        XGBoosterFree(st.h);
    for (bst_ulong i = 0; i < 2; i++)
        if (st.mats[i])
            XGDMatrixFree(st.mats[i]);
    json_decref(st.history);
    free_names(names, job->enc->width);
    free_impl(x);
    return rc;
}

/* ---- artifacts and prediction --------------------------------------------------------- */

static int xgb_serialise(trl_model *m, trl_error *err)
{
    xgb_impl *x = m->impl;
    bst_ulong len;
    const char *buf;
    if (XGBoosterSaveModelToBuffer(x->h, "{\"format\": \"ubj\"}", &len,
                                   &buf) != 0)
        return xgb_error_code(TRL_EIO, "could not save the model", err);
    free(m->artifact);
    if (!(m->artifact = malloc(len ? len : 1)))
        return trl_error_set(err, TRL_ENOMEM, "out of memory");
    memcpy(m->artifact, buf, len);
    m->artifact_len = len;
    return 0;
}

static int xgb_load(trl_model *m, trl_error *err)
{
    XGBRegisterLogCallback(on_log);
    xgb_impl *x = calloc(1, sizeof *x);
    if (!x)
        return trl_error_set(err, TRL_ENOMEM, "out of memory");
    if (XGBoosterCreate(NULL, 0, &x->h) != 0 ||
        XGBoosterLoadModelFromBuffer(x->h, m->artifact,
                                     (bst_ulong)m->artifact_len) != 0 ||
        set_threads(x->h, (long)json_integer_value(
                              json_object_get(m->params, "nthread"))) != 0) {
        xgb_error_code(TRL_EIO, "could not load the model", err);
        free_impl(x);
        return err->code;
    }
    m->impl = x;
    return 0;
}

/* In-place prediction from n row-major rows of doubles ("<f8") or floats
 * ("<f4"), which XGBoost reads without converting. */
static int predict_dense(const trl_model *m, const void *rows,
                         const char *typestr, size_t n, double *out,
                         trl_error *err)
{
    const xgb_impl *x = m->impl;
    size_t width = x->base.enc->width;
    if (n == 0)
        return 0;
    char values[256];
    snprintf(values, sizeof values, "{\"data\": [%llu, true], \"shape\": "
             "[%zu, %zu], \"strides\": null, \"typestr\": \"%s\", "
             "\"version\": 3}", (unsigned long long)(uintptr_t)rows, n,
             width, typestr);
    /* cache_id is required by 1.7.4 (see TRAPS.md) */
    static const char config[] =
        "{\"type\": 0, \"training\": false, \"iteration_begin\": 0, "
        "\"iteration_end\": 0, \"strict_shape\": false, \"cache_id\": 0, "
        "\"missing\": NaN}";
    const bst_ulong *shape;
    bst_ulong dim;
    const float *res;
    if (XGBoosterPredictFromDense(x->h, values, config, NULL, &shape, &dim,
                                  &res) != 0)
        return xgb_error("prediction", err);
    size_t total = n * (size_t)m->noutputs, got = 1;
    for (bst_ulong i = 0; i < dim; i++)
        got *= (size_t)shape[i];
    if (got != total)
        return trl_error_set(err, TRL_EIO, "XGBoost gave %zu predictions for "
                             "%zu rows of %d outputs: the stored model does "
                             "not match its record", got, n, m->noutputs);
    for (size_t i = 0; i < total; i++)
        out[i] = res[i];
    return 0;
}

static int xgb_predict_rows(const trl_model *m, const double *rows, size_t n,
                            double *out, trl_error *err)
{
    return predict_dense(m, rows, "<f8", n, out, err);
}

static int xgb_predict_f32(const trl_model *m, const float *rows, size_t n,
                           double *out, trl_error *err)
{
    return predict_dense(m, rows, "<f4", n, out, err);
}

static int xgb_save(const trl_model *m, const char *path, trl_error *err)
{
    const xgb_impl *x = m->impl;
    size_t plen = strlen(path);
    int ubj = plen >= 4 && strcmp(path + plen - 4, ".ubj") == 0;
    bst_ulong len;
    const char *buf;
    if (XGBoosterSaveModelToBuffer(x->h, ubj ? "{\"format\": \"ubj\"}"
                                             : "{\"format\": \"json\"}",
                                   &len, &buf) != 0)
        return xgb_error_code(TRL_EIO, "could not save the model", err);
    return trl__write_file(path, buf, len, err);
}

/* ---- importance ---------------------------------------------------------------------- */

/* XGBoosterFeatureScore of one type per encoded input. It lists only the
 * inputs some split uses, by name: it is given the input indices as names
 * ("0", "1", ...), which map back without depending on how the model's
 * own names were cleaned. The rest stay 0, as Python's get_score leaves
 * them out. */
static int xgb_importance(const trl_model *m, const char *type, double *out,
                          trl_error *err)
{
    const xgb_impl *x = m->impl;
    size_t width = x->base.enc->width;
    json_t *names = json_array();
    char buf[32];
    for (size_t j = 0; names && j < width; j++) {
        snprintf(buf, sizeof buf, "%zu", j);
        if (json_array_append_new(names, json_string(buf)) != 0) {
            json_decref(names);
            names = NULL;
        }
    }
    json_t *cfg = names ? json_pack("{s:s, s:o}", "importance_type", type,
                                    "feature_names", names)
                        : NULL;
    char *text = cfg ? json_dumps(cfg, JSON_COMPACT) : NULL;
    json_decref(cfg);
    if (!text)
        return trl_error_set(err, TRL_ENOMEM, "out of memory");
    bst_ulong n = 0, dim = 0;
    const char **feat = NULL;
    const bst_ulong *shape = NULL;
    const float *scores = NULL;
    int rc = XGBoosterFeatureScore(x->h, text, &n, &feat, &dim, &shape,
                                   &scores);
    free(text);
    if (rc != 0)
        return xgb_error("feature importance", err);
    for (size_t j = 0; j < width; j++)
        out[j] = 0.0;
    /* one score per feature for trees (shape [n]) */
    if (dim != 1 || shape[0] != n)
        return trl_error_set(err, TRL_EIO, "XGBoost gave importances of an "
                             "unexpected shape for a tree model");
    for (bst_ulong i = 0; i < n; i++) {
        char *end;
        unsigned long j = strtoul(feat[i], &end, 10);
        if (*end || j >= width)
            return trl_error_set(err, TRL_EIO, "XGBoost named an input "
                                 "'%.40s' the model does not have", feat[i]);
        out[j] = scores[i];
    }
    return 0;
}

const trl__backend trl__xgb_backend = {
    "ubj", xgb_train, xgb_serialise, xgb_load, xgb_predict_rows,
    xgb_predict_f32, xgb_save, free_impl, xgb_importance};
