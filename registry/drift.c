/* drift.c - the drift of a new frame from a reference: which features to
 * compare (the columns both frames have, the ones asked for, or a
 * model's predictions on each), every feature's statistics spread over
 * the CPUs (drift_stats.c), and the result as JSON, largest PSI first. */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "registry/guard_int.h"

#define MAX_THREADS 8

/* One feature to compare; its columns are borrowed from the frames or
 * from the run's predictions. */
typedef struct feature {
    char *name;                 /* owned */
    const trl_column *ref, *cur;
    size_t position;            /* in the order asked for */
    trl__drift_detail d;
    int rc;
    trl_error err;
} feature;

typedef struct run {
    feature *f;
    size_t n, cap;
    trl_column **pred;          /* owned: the model's outputs, REF's then
                                 * NEW's */
    int npred;
} run;

static void run_free(run *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->f[i].name);
    free(r->f);
    for (int i = 0; i < 2 * r->npred; i++)
        if (r->pred[i])
            trl_column_decref(r->pred[i]);
    free(r->pred);
}

static int add(run *r, const char *name, const trl_column *ref,
               const trl_column *cur)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 16;
        feature *f = realloc(r->f, cap * sizeof *f);
        if (!f)
            return TRL_ENOMEM;
        r->f = f;
        r->cap = cap;
    }
    feature *f = &r->f[r->n];
    memset(f, 0, sizeof *f);
    if (!(f->name = strdup(name)))
        return TRL_ENOMEM;
    f->ref = ref;
    f->cur = cur;
    f->position = r->n++;
    return 0;
}

static const char *label(const char *given, const trl_frame *f,
                         const char *fallback)
{
    return given ? given : f->ref ? f->ref : fallback;
}

/* A feature's two columns must be of one kind: numbers, strings or
 * booleans on both sides. */
static int kinds_match(const trl_drift_request *rq, const char *name,
                       const trl_column *a, const trl_column *b,
                       trl_error *err)
{
    if (trl__drift_kind(a->type, b->type) >= 0)
        return 0;
    return trl_error_set(err, TRL_EINVAL, "feature '%s' is %s in %s but "
                         "%s in %s: drift compares like with like (leave "
                         "it out with --features, or %%validate to see "
                         "the schema change)", name,
                         trl_dtype_name(a->type),
                         label(rq->ref_name, rq->ref, "the reference"),
                         trl_dtype_name(b->type),
                         label(rq->new_name, rq->new_frame, "the new frame"));
}

/* The model's outputs on both frames, as features "prediction" or
 * "prediction[k]". */
static int add_predictions(const trl_drift_request *rq, run *r,
                           trl_error *err)
{
    int k = rq->model->noutputs;
    r->pred = calloc(2 * (size_t)k, sizeof *r->pred);
    if (!r->pred)
        return trl_error_set(err, TRL_ENOMEM, "out of memory");
    r->npred = k;
    if (trl_model_predict(rq->model, rq->ref, r->pred, err) != 0 ||
        trl_model_predict(rq->model, rq->new_frame, r->pred + k, err) != 0)
        return err ? err->code : TRL_EINVAL;
    for (int i = 0; i < k; i++) {
        char name[32];
        if (k == 1)
            snprintf(name, sizeof name, "prediction");
        else
            snprintf(name, sizeof name, "prediction[%d]", i);
        if (add(r, name, r->pred[i], r->pred[k + i]) != 0)
            return trl_error_set(err, TRL_ENOMEM, "out of memory");
    }
    return 0;
}

/* The features asked for, or every column both frames have but ids (the
 * others listed in skipped). */
static int choose(const trl_drift_request *rq, run *r, json_t *skipped,
                  trl_error *err)
{
    const trl_frame *a = rq->ref, *b = rq->new_frame;
    const char *an = label(rq->ref_name, a, "the reference frame");
    const char *bn = label(rq->new_name, b, "the new frame");
    if (rq->features) {
        for (size_t i = 0; i < rq->nfeatures; i++) {
            const char *name = rq->features[i];
            const trl_column *ca = trl_frame_get(a, name);
            const trl_column *cb = trl_frame_get(b, name);
            if (!ca || !cb)
                return trl_error_set(err, TRL_ENOTFOUND, "no column '%s' "
                                     "in %s", name, !ca ? an : bn);
            for (size_t j = 0; j < r->n; j++)
                if (strcmp(r->f[j].name, name) == 0)
                    return trl_error_set(err, TRL_EINVAL, "feature '%s' "
                                         "is asked for twice", name);
            if (kinds_match(rq, name, ca, cb, err) != 0)
                return err->code;
            if (add(r, name, ca, cb) != 0)
                return trl_error_set(err, TRL_ENOMEM, "out of memory");
        }
        return 0;
    }
    if (rq->model)
        return 0;  /* the predictions alone */
    for (size_t i = 0; i < a->ncols; i++) {
        const trl_column *cb = trl_frame_get(b, a->names[i]);
        if (!cb) {
            json_array_append_new(skipped, json_pack(
                "{s:s, s:s}", "name", a->names[i], "only_in", "ref"));
            continue;
        }
        if (trl__column_is_id(a->names[i], a->cols[i])) {
            json_array_append_new(skipped, json_pack(
                "{s:s, s:s}", "name", a->names[i], "reason", "id"));
            continue;
        }
        if (kinds_match(rq, a->names[i], a->cols[i], cb, err) != 0)
            return err->code;
        if (add(r, a->names[i], a->cols[i], cb) != 0)
            return trl_error_set(err, TRL_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < b->ncols; i++)
        if (!trl_frame_get(a, b->names[i]))
            json_array_append_new(skipped, json_pack(
                "{s:s, s:s}", "name", b->names[i], "only_in", "new"));
    size_t i;
    json_t *s;
    json_array_foreach(skipped, i, s)
        if (r->n == 0 && json_object_get(s, "reason"))
            return trl_error_set(err, TRL_EINVAL, "%s and %s share only "
                                 "ids (%s), which are left out: name them "
                                 "with --features to compare them", an, bn,
                                 json_string_value(json_object_get(s,
                                                                   "name")));
    if (r->n == 0)
        return trl_error_set(err, TRL_EINVAL, "%s and %s have no column in "
                             "common", an, bn);
    return 0;
}

/* ---- the statistics, on every CPU ----------------------------------------------- */

typedef struct job {
    run *r;
    atomic_size_t *next;
    atomic_int *running;        /* worker threads not yet finished */
    trl__stop stop;
    trl__sortbuf bufs[2];       /* this thread's, for REF and NEW */
} job;

static void *work(void *arg)
{
    job *j = arg;
    for (;;) {
        size_t i = atomic_fetch_add(j->next, 1);
        if (i >= j->r->n)
            break;
        feature *f = &j->r->f[i];
        f->rc = trl__drift_detail_of(f->ref, f->cur, &f->d, j->bufs,
                                     &j->stop, &f->err);
        if (f->rc)
            atomic_store(j->stop.flag, 1);  /* the run has failed */
    }
    return NULL;
}

static void *worker(void *arg)
{
    job *j = arg;
    work(j);
    atomic_fetch_sub(j->running, 1);
    return NULL;
}

static int cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > MAX_THREADS ? MAX_THREADS : (int)n;
}

static int compute(run *r, trl_error *err)
{
    if (trl__registry_interrupted())
        return trl__registry_interrupt_error(err);
    atomic_size_t next = 0;
    atomic_int flag = 0, running = 0;
    int nt = cpus();
    if ((size_t)nt > r->n)
        nt = (int)r->n;
    pthread_t threads[MAX_THREADS];
    int started[MAX_THREADS] = {0};
    job jobs[MAX_THREADS];
    for (int t = 0; t < nt; t++) {
        /* the calling thread works too, and only it polls the interrupt */
        jobs[t] = (job){r, &next, &running, {&flag, t == nt - 1},
                        {{0}, {0}}};
        if (t + 1 < nt) {
            atomic_fetch_add(&running, 1);
            started[t] = pthread_create(&threads[t], NULL, worker,
                                        &jobs[t]) == 0;
            if (!started[t])
                atomic_fetch_sub(&running, 1);
        }
    }
    work(&jobs[nt - 1]);
    /* the others may still be on a long feature: keep answering an
     * interrupt until they finish */
    while (atomic_load(&running) > 0) {
        if (trl__registry_interrupted())
            atomic_store(&flag, 1);
        nanosleep(&(struct timespec){0, 2000000}, NULL);
    }
    for (int t = 0; t < nt; t++) {
        if (t + 1 < nt && started[t])
            pthread_join(threads[t], NULL);
        trl__sortbuf_free(&jobs[t].bufs[0]);
        trl__sortbuf_free(&jobs[t].bufs[1]);
    }
    /* the first real failure in feature order; else an interrupt */
    const feature *intr = NULL;
    for (size_t i = 0; i < r->n; i++) {
        const feature *f = &r->f[i];
        if (f->rc == TRL_EINTR && !intr)
            intr = f;
        else if (f->rc) {
            if (err)
                *err = f->err;
            if (err && f->rc != TRL_ENOMEM)
                snprintf(err->message, sizeof err->message,
                         "feature '%.100s': %.380s", f->name, f->err.message);
            return f->rc;
        }
    }
    if (intr || atomic_load(&flag))
        return trl__registry_interrupt_error(err);
    return 0;
}

/* ---- the result ------------------------------------------------------------------- */

static json_t *number(double x)
{
    return isfinite(x) ? json_real(x) : json_null();
}

static const char *band(double psi)
{
    return !(psi >= 0.1) ? "insignificant" : psi <= 0.25 ? "moderate"
                                                          : "major";
}

static json_t *hist_json(const feature *f)
{
    const trl__drift_detail *d = &f->d;
    json_t *a = json_array(), *b = json_array(), *axis = json_array();
    for (int k = 0; k < d->nhist; k++) {
        json_array_append_new(a, json_real(d->ref_share[k]));
        json_array_append_new(b, json_real(d->new_share[k]));
        if (d->s.kind == TRL_DRIFT_CATEGORICAL)
            json_array_append_new(axis, json_string(d->labels[k]));
    }
    for (int k = 0; d->s.kind == TRL_DRIFT_NUMERIC && d->nhist &&
                    k <= d->nhist; k++)
        json_array_append_new(axis, json_real(d->edges[k]));
    return json_pack("{s:o, s:o, s:o}", d->s.kind == TRL_DRIFT_NUMERIC
                     ? "edges" : "categories", axis, "ref", a, "new", b);
}

static json_t *feature_json(const feature *f, double threshold)
{
    const trl_drift_stats *s = &f->d.s;
    int numeric = s->kind == TRL_DRIFT_NUMERIC;
    json_t *o = json_pack(
        "{s:s, s:s, s:s, s:o, s:s, s:o, s:o, s:o, s:o, s:f, s:f, s:I, s:b, "
        "s:o}",
        "name", f->name, "kind", numeric ? "numeric" : "categorical",
        "type", trl_dtype_name(f->ref->type), "psi", number(s->psi),
        "band", band(s->psi), "ks", number(s->ks), "ks_p", number(s->ks_p),
        "ks_method", isnan(s->ks) ? json_null()
                     : json_string(s->ks_exact ? "exact" : "asymp"),
        "js", number(s->js),
        "missing_ref", (double)s->ref_missing / (double)s->ref_rows,
        "missing_new", (double)s->new_missing / (double)s->new_rows,
        "bins", (json_int_t)s->bins, "flagged", s->psi > threshold,
        "hist", hist_json(f));
    if (o && f->cur->type != f->ref->type)
        json_object_set_new(o, "new_type",
                            json_string(trl_dtype_name(f->cur->type)));
    if (o && !numeric) {
        json_t *u = json_array();
        size_t shown = f->d.nunseen < TRL__UNSEEN_MAX ? f->d.nunseen
                                                      : TRL__UNSEEN_MAX;
        for (size_t i = 0; i < shown; i++)
            json_array_append_new(u, json_string(f->d.unseen[i]));
        json_object_set_new(o, "unseen", u);
        json_object_set_new(o, "unseen_count",
                            json_integer((json_int_t)f->d.nunseen));
        json_object_set_new(o, "unseen_share", json_real(f->d.unseen_share));
    }
    return o;
}

/* Largest PSI first; equal ones keep the order asked for. */
static int by_psi_desc(const void *a, const void *b)
{
    const feature *x = a, *y = b;
    double px = isnan(x->d.s.psi) ? -1 : x->d.s.psi;
    double py = isnan(y->d.s.psi) ? -1 : y->d.s.psi;
    if (px != py)
        return px < py ? 1 : -1;
    return (x->position > y->position) - (x->position < y->position);
}

static json_t *result_json(const trl_drift_request *rq, run *r,
                           double threshold, json_t *skipped)
{
    qsort(r->f, r->n, sizeof *r->f, by_psi_desc);
    json_t *features = json_array();
    size_t flagged = 0;
    double max_psi = NAN;
    for (size_t i = 0; features && i < r->n; i++) {
        const feature *f = &r->f[i];
        flagged += f->d.s.psi > threshold;
        if (!(max_psi >= f->d.s.psi))
            max_psi = f->d.s.psi;
        json_array_append_new(features, feature_json(f, threshold));
    }
    const char *ref = rq->ref->ref, *cur = rq->new_frame->ref;
    return json_pack(
        "{s:s?, s:s?, s:s?, s:s?, s:s?, s:f, s:{s:I, s:I}, s:i, s:f, s:o, "
        "s:I, s:o, s:b, s:o}",
        "ref", ref, "ref_name", rq->ref_name ? rq->ref_name : ref, "new",
        cur, "new_name", rq->new_name ? rq->new_name : cur, "model",
        rq->model ? rq->model->ref : NULL, "threshold", threshold, "rows",
        "ref", (json_int_t)rq->ref->nrows, "new",
        (json_int_t)rq->new_frame->nrows, "bins", TRL_PSI_DECILES,
        "epsilon", TRL_PSI_EPSILON, "features", features ? features
                                                         : json_array(),
        "flagged", (json_int_t)flagged, "max_psi", number(max_psi), "ok",
        flagged == 0, "skipped", skipped);
}

json_t *trl_drift_run(const trl_drift_request *rq, trl_error *err)
{
    if (!rq || !rq->ref || !rq->new_frame) {
        trl_error_set(err, TRL_EINVAL, "drift needs a reference frame and "
                      "a new frame");
        return NULL;
    }
    double threshold = rq->threshold == 0 ? TRL_DRIFT_THRESHOLD
                                          : rq->threshold;
    if (!(threshold > 0) || !isfinite(threshold)) {
        trl_error_set(err, TRL_EINVAL, "the PSI threshold must be a number "
                      "above 0, such as 0.2 (got %g)", rq->threshold);
        return NULL;
    }
    const trl_frame *frames[2] = {rq->ref, rq->new_frame};
    for (int i = 0; i < 2; i++)
        if (frames[i]->nrows == 0 || frames[i]->ncols == 0) {
            trl_error_set(err, TRL_EINVAL, "%s has no rows: drift needs "
                          "some on both sides",
                          i == 0 ? label(rq->ref_name, rq->ref,
                                         "the reference frame")
                                 : label(rq->new_name, rq->new_frame,
                                         "the new frame"));
            return NULL;
        }
    run r = {0};
    json_t *skipped = json_array(), *out = NULL;
    if (!skipped) {
        trl_error_set(err, TRL_ENOMEM, "out of memory");
        return NULL;
    }
    if ((rq->model && add_predictions(rq, &r, err) != 0) ||
        choose(rq, &r, skipped, err) != 0 || compute(&r, err) != 0)
        goto done;
    out = result_json(rq, &r, threshold, skipped);
    skipped = NULL;
    if (!out)
        trl_error_set(err, TRL_ENOMEM, "out of memory");
done:
    json_decref(skipped);
    run_free(&r);
    return out;
}
