/* linear.c - the liblinear backend: L2-regularised logistic regression
 * (solver L2R_LR) and L2-regularised least squares (L2R_L2LOSS_SVR with
 * epsilon 0), on standardised inputs, with liblinear's own text model as
 * the artifact. */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linear.h>

#include "registry/model_int.h"
#include "registry/registry_int.h"

typedef struct lin_impl {
    trl__model_impl base;  /* first */
    struct model *model;
    int positive;          /* logistic: index of label 1 in model->label */
} lin_impl;

/* liblinear prints its progress to stdout, which is the notebook's
 * business, not the library's. */
static void quiet(const char *s)
{
    (void)s;
}

static pthread_once_t quiet_once = PTHREAD_ONCE_INIT;

static void install_quiet(void)
{
    set_print_string_function(quiet);
}

static void free_impl(void *impl)
{
    lin_impl *x = impl;
    if (x && x->model)
        free_and_destroy_model(&x->model);
    free(x);
}

static int is_logistic(const trl_model *m)
{
    return strcmp(m->algo, "logistic") == 0;
}

/* Reads a positive number parameter; def when absent. */
static int number_param(json_t *params, const char *key, double def,
                        int allow_negative, double *out, trl_error *err)
{
    json_t *v = json_object_get(params, key);
    *out = def;
    if (!v)
        return 0;
    if (!json_is_number(v) || !isfinite(json_number_value(v)) ||
        (!allow_negative && json_number_value(v) <= 0))
        return trl_error_set(err, TRL_EINVAL, "parameter %s must be a "
                             "%snumber", key, allow_negative ? "" :
                             "positive ");
    *out = json_number_value(v);
    return 0;
}

/* The index of label 1 among the model's labels (liblinear orders them as
 * first seen; a regression has none). */
static int positive_index(const struct model *md)
{
    for (int k = 0; md->label && k < md->nr_class; k++)
        if (md->label[k] == 1)
            return k;
    return 0;
}

/* An encoded row as liblinear's sparse nodes: each input standardised (a
 * missing one becomes the mean, 0), the nonzero ones kept, then the bias
 * node and the -1 terminator. Returns the nodes written. */
static size_t to_nodes(const trl__encoder *enc, const double *row,
                       double bias, struct feature_node *out)
{
    size_t k = 0, width = enc->width;
    for (size_t j = 0; j < width; j++) {
        double z = isnan(row[j]) ? 0.0
                                 : (row[j] - enc->mean[j]) / enc->scale[j];
        if (z != 0.0) {
            out[k].index = (int)j + 1;
            out[k++].value = z;
        }
    }
    if (bias >= 0) {
        out[k].index = (int)width + 1;
        out[k++].value = bias;
    }
    out[k].index = -1;
    return k + 1;
}

/* Mean log-loss (probabilities clipped to [1e-16, 1 - 1e-16] as XGBoost
 * does) or root mean squared error of the model on n rows of nodes. */
static double score(const lin_impl *x, int logistic,
                    struct feature_node *const *rows, const double *y,
                    size_t n)
{
    double sum = 0, prob[2];
    for (size_t i = 0; i < n; i++) {
        if (logistic) {
            predict_probability(x->model, rows[i], prob);
            double p = fmin(fmax(prob[x->positive], 1e-16), 1 - 1e-16);
            sum -= y[i] == 1.0 ? log(p) : log(1 - p);
        } else {
            double d = predict(x->model, rows[i]) - y[i];
            sum += d * d;
        }
    }
    return logistic ? sum / (double)n : sqrt(sum / (double)n);
}

/* score() on the eval frame, encoded a row at a time. */
static int eval_score(const lin_impl *x, const trl__encoder *enc,
                      const trl_frame *eval, const double *y, int logistic,
                      double *out, trl_error *err)
{
    size_t w = enc->width, n = eval->nrows;
    double *row = malloc((w ? w : 1) * sizeof *row);
    struct feature_node *nodes = malloc((w + 2) * sizeof *nodes);
    trl__enc_binding *b = row && nodes ? trl__encoder_bind(enc, eval, err)
                                       : NULL;
    int rc = b ? 0 : (row && nodes ? err->code
                                   : trl_error_set(err, TRL_ENOMEM,
                                                   "out of memory"));
    double sum = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        struct feature_node *rows[1] = {nodes};
        trl__encoder_rows(enc, b, i, 1, row);
        to_nodes(enc, row, x->model->bias, nodes);
        double v = score(x, logistic, rows, y + i, 1);
        sum += logistic ? v : v * v;
    }
    if (rc == 0)
        *out = logistic ? sum / (double)n : sqrt(sum / (double)n);
    trl__enc_binding_free(b);
    free(row);
    free(nodes);
    return rc;
}

static int lin_train(trl_model *m, const trl__train_job *job,
                     trl_error *err)
{
    pthread_once(&quiet_once, install_quiet);
    const trl_train_spec *s = job->spec;
    json_t *params = job->params;
    int logistic = is_logistic(m);
    const char *key;
    json_t *v;
    json_object_foreach(params, key, v) {
        if (strcmp(key, "C") && strcmp(key, "eps") && strcmp(key, "bias"))
            return trl_error_set(err, TRL_EINVAL, "%s takes the parameters "
                                 "C, eps and bias; '%s' is not one of them",
                                 m->algo, key);
    }
    double C, eps, bias;
    /* liblinear-train's defaults for these two solvers */
    if (number_param(params, "C", 1.0, 0, &C, err) ||
        number_param(params, "eps", logistic ? 0.01 : 0.0001, 0, &eps, err) ||
        number_param(params, "bias", 1.0, 1, &bias, err))
        return err->code;
    size_t n = s->data->nrows;
    if (logistic) {
        size_t ones = 0;
        for (size_t i = 0; i < n; i++) {
            if (job->label[i] != 0.0 && job->label[i] != 1.0)
                return trl_error_set(err, TRL_EINVAL, "logistic needs a "
                                     "target of 0/1 (or bool): '%s' is %g in "
                                     "row %zu", s->target, job->label[i],
                                     i + 1);
            ones += job->label[i] == 1.0;
        }
        if (ones == 0 || ones == n)
            return trl_error_set(err, TRL_EINVAL, "target '%s' holds only "
                                 "%s: a classifier needs both classes",
                                 s->target, ones ? "1" : "0");
    }
    const trl__encoder *enc = job->enc;
    size_t w = enc->width, per_row = w + 2;
    /* liblinear counts rows and features in int */
    if (n > INT_MAX || w > INT_MAX - 2 ||
        n > SIZE_MAX / per_row / sizeof(struct feature_node))
        return trl_error_set(err, TRL_EINVAL, "%zu rows of %zu inputs is "
                             "more than liblinear takes", n, w);
    struct problem prob = {0};
    struct feature_node *nodes = malloc(n * per_row * sizeof *nodes);
    double *row = malloc((w ? w : 1) * sizeof *row);
    prob.x = malloc(n * sizeof *prob.x);
    prob.y = malloc(n * sizeof *prob.y);
    trl__enc_binding *b = NULL;
    lin_impl *x = NULL;
    int rc = TRL_ENOMEM;
    if (!nodes || !row || !prob.x || !prob.y)
        goto oom;
    if (!(b = trl__encoder_bind(enc, s->data, err))) {
        rc = err->code;
        goto done;
    }
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        if ((i & 0xffff) == 0 && trl__registry_interrupted()) {
            rc = trl__registry_interrupt_error(err);
            goto done;
        }
        trl__encoder_rows(enc, b, i, 1, row);
        prob.x[i] = nodes + used;
        used += to_nodes(enc, row, bias, nodes + used);
        prob.y[i] = job->label[i];
    }
    prob.l = (int)n;
    prob.n = (int)w + (bias >= 0);
    prob.bias = bias;
    struct parameter param = {0};
    param.solver_type = logistic ? L2R_LR : L2R_L2LOSS_SVR;
    param.eps = eps;
    param.C = C;
    param.p = 0.0;  /* least squares: no insensitive band */
    const char *bad = check_parameter(&prob, &param);
    if (bad) {
        rc = trl_error_set(err, TRL_EINVAL, "liblinear: %s", bad);
        goto done;
    }
    double t0 = trl__now();
    if (!(x = calloc(1, sizeof *x)) || !(x->model = train(&prob, &param)))
        goto oom;
    if (s->progress) {
        trl_train_progress p = {1, 1, NULL, 0.0, trl__now() - t0};
        s->progress(s->progress_arg, &p);
    }
    x->positive = positive_index(x->model);
    json_object_set_new(params, "C", json_real(C));
    json_object_set_new(params, "eps", json_real(eps));
    json_object_set_new(params, "bias", json_real(bias));
    if (!(m->objective = strdup(m->algo)) || !(m->metrics = json_object()))
        goto oom;
    /* the metrics XGBoost would report, so models compare alike */
    const char *metric = logistic ? "logloss" : "rmse";
    char mkey[32];
    snprintf(mkey, sizeof mkey, "train-%s", metric);
    json_object_set_new(m->metrics, mkey,
                        json_real(score(x, logistic, prob.x, job->label,
                                        n)));
    if (s->eval) {
        snprintf(mkey, sizeof mkey, "eval-%s", metric);
        double ev;
        if ((rc = eval_score(x, enc, s->eval, job->eval_label, logistic,
                             &ev, err)) != 0)
            goto done;
        json_object_set_new(m->metrics, mkey, json_real(ev));
    }
    m->noutputs = 1;
    m->impl = x;
    x = NULL;
    rc = 0;
    goto done;
oom:
    rc = trl_error_set(err, TRL_ENOMEM, "out of memory");
done:
    free_impl(x);
    trl__enc_binding_free(b);
    free(nodes);
    free(row);
    free(prob.x);
    free(prob.y);
    return rc;
}

/* liblinear reads and writes its models only through files: a private
 * temporary file stands between them and memory. */
static int temp_path(char *buf, size_t size, trl_error *err)
{
    const char *dir = getenv("TMPDIR");
    snprintf(buf, size, "%s/trellis-liblinear-XXXXXX",
             dir && *dir ? dir : "/tmp");
    int fd = mkstemp(buf);
    if (fd < 0)
        return trl_error_set(err, TRL_EIO, "cannot create a temporary file "
                             "in %s: %s", dir && *dir ? dir : "/tmp",
                             strerror(errno));
    close(fd);
    return 0;
}

static int lin_serialise(trl_model *m, trl_error *err)
{
    lin_impl *x = m->impl;
    char path[4096];
    if (temp_path(path, sizeof path, err) != 0)
        return err->code;
    int rc = 0;
    if (save_model(path, x->model) != 0)
        rc = trl_error_set(err, TRL_EIO, "liblinear could not save the "
                           "model to %s", path);
    uint8_t *data = NULL;
    size_t len = 0;
    if (rc == 0 && trl__read_file(path, &data, &len, err) != 0)
        rc = err->code;
    unlink(path);
    if (rc == 0) {
        free(m->artifact);
        m->artifact = data;
        m->artifact_len = len;
    }
    return rc;
}

static int lin_load(trl_model *m, trl_error *err)
{
    char path[4096];
    if (temp_path(path, sizeof path, err) != 0)
        return err->code;
    lin_impl *x = calloc(1, sizeof *x);
    int rc = x ? trl__write_file(path, m->artifact, m->artifact_len, err)
               : trl_error_set(err, TRL_ENOMEM, "out of memory");
    if (rc == 0 && !(x->model = load_model(path)))
        rc = trl_error_set(err, TRL_EIO, "the stored liblinear model is "
                           "damaged");
    unlink(path);
    if (rc != 0) {
        free_impl(x);
        return rc;
    }
    /* the artifact is trusted only as far as it matches its record:
     * predict_probability writes nr_class values */
    const struct model *md = x->model;
    int want = is_logistic(m) ? L2R_LR : L2R_L2LOSS_SVR;
    if (md->param.solver_type != want || (is_logistic(m) && md->nr_class != 2)) {
        free_impl(x);
        return trl_error_set(err, TRL_EIO, "the stored liblinear model does "
                             "not match its record (solver %d, %d classes)",
                             md->param.solver_type, md->nr_class);
    }
    x->positive = positive_index(x->model);
    m->impl = x;
    return 0;
}

static int lin_predict_rows(const trl_model *m, const double *rows,
                            size_t n, double *out, trl_error *err)
{
    const lin_impl *x = m->impl;
    size_t w = x->base.enc->width;
    struct feature_node stack_nodes[64];
    struct feature_node *nodes = stack_nodes;
    if (w + 2 > sizeof stack_nodes / sizeof *stack_nodes &&
        !(nodes = malloc((w + 2) * sizeof *nodes)))
        return trl_error_set(err, TRL_ENOMEM, "out of memory");
    int logistic = is_logistic(m);
    double prob[2];
    for (size_t i = 0; i < n; i++) {
        to_nodes(x->base.enc, rows + i * w, x->model->bias, nodes);
        if (logistic) {
            predict_probability(x->model, nodes, prob);
            out[i] = prob[x->positive];
        } else {
            out[i] = predict(x->model, nodes);
        }
    }
    if (nodes != stack_nodes)
        free(nodes);
    return 0;
}

static int lin_save(const trl_model *m, const char *path, trl_error *err)
{
    return trl__write_file(path, m->artifact, m->artifact_len, err);
}

/* |w_j| of each input. The model was trained on standardised inputs
 * (to_nodes), so each weight is already per standard deviation of its
 * input: no rescaling, and comparable across inputs. Two-class logistic
 * models and regressions keep one weight vector; the bias is not an
 * input. */
static int lin_importance(const trl_model *m, const char *type, double *out,
                          trl_error *err)
{
    const lin_impl *x = m->impl;
    size_t w = x->base.enc->width;
    if (strcmp(type, "coef") != 0)
        return trl_error_set(err, TRL_EINVAL, "%s models have no '%s' "
                             "importance", m->algo, type);
    if ((size_t)get_nr_feature(x->model) != w)
        return trl_error_set(err, TRL_EIO, "the stored liblinear model has "
                             "%d inputs, its record %zu",
                             get_nr_feature(x->model), w);
    for (size_t j = 0; j < w; j++)
        out[j] = fabs(get_decfun_coef(x->model, (int)j + 1, 0));
    return 0;
}

const trl__backend trl__linear_backend = {
    "liblinear", lin_train, lin_serialise, lin_load, lin_predict_rows, NULL,
    lin_save, free_impl, lin_importance};
