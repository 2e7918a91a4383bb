/* model_int.h - private: what the model files share. encode.c turns frame
 * columns into model inputs; xgb.c and linear.c are the two backends
 * behind one table; model.c checks what the user asked for and drives a
 * backend; model_store.c keeps models in SQLite. */
#ifndef TRELLIS_REGISTRY_MODEL_INT_H
#define TRELLIS_REGISTRY_MODEL_INT_H

#include "trellis/model.h"

/* ---- encoding: frame columns -> model inputs ------------------------------- */

typedef enum {
    TRL__ENC_NUM,     /* one input: the value as a double */
    TRL__ENC_ONEHOT,  /* one 0/1 input per training category */
    TRL__ENC_CODE     /* one input: the category's index */
} trl__enc_kind;

typedef struct trl__enc_feature {
    char *name;         /* the frame column */
    trl__enc_kind kind;
    char **cats;        /* ONEHOT/CODE: training categories, sorted */
    size_t *cat_lens;
    size_t ncats;
    size_t first;       /* index of its first input */
} trl__enc_feature;

typedef struct trl__encoder {
    trl__enc_feature *feat;
    size_t nfeat;
    size_t width;       /* number of inputs */
    double *mean;       /* per input, NULL unless standardised */
    double *scale;
} trl__encoder;

/* Learns the encoding of f's columns names[0..n-1]: numbers as they are,
 * strings one-hot (or as codes past max_onehot categories). With
 * standardize, also each input's mean and deviation; missing values then
 * become the mean. */
trl__encoder *trl__encoder_fit(const trl_frame *f, const char *const *names,
                               size_t n, size_t max_onehot, int standardize,
                               trl_error *err);
void trl__encoder_free(trl__encoder *e);
json_t *trl__encoder_to_json(const trl__encoder *e);
trl__encoder *trl__encoder_from_json(const json_t *j, trl_error *err);
/* Name of input i: "tenure", "plan=basic". malloc'd. */
char *trl__encoder_input_name(const trl__encoder *e, size_t i);

/* Inputs as columns, for XGBoost's column-major DMatrix: ptrs[i] points at
 * input i's nrows values of type stypes[i] ("float64", "int64", "bool8"):
 * f's own arrays where no conversion is needed, else buffers in owned. */
typedef struct trl__enc_columns {
    void **ptrs;
    const char **stypes;
    double **owned;
    size_t nowned;
} trl__enc_columns;

int trl__encoder_columns(const trl__encoder *e, const trl_frame *f,
                         trl__enc_columns *out, trl_error *err);
void trl__enc_columns_free(trl__enc_columns *c);

/* Rows row0 .. row0+n-1 of f as n * width doubles, row-major, before
 * standardising: a missing value is NaN, except a missing string's one-hot
 * inputs when standardised, which are 0 (none of the categories).
 * Returns the index in out of the first infinite value, or (size_t)-1. */
typedef struct trl__enc_binding trl__enc_binding;
trl__enc_binding *trl__encoder_bind(const trl__encoder *e,
                                    const trl_frame *f, trl_error *err);
size_t trl__encoder_rows(const trl__encoder *e, const trl__enc_binding *b,
                         size_t row0, size_t n, double *out);
/* The same as floats, for XGBoost (-1 when a feature has more one-hot
 * inputs than this path handles); *inf_at as above. */
int trl__encoder_rows_f32(const trl__encoder *e, const trl__enc_binding *b,
                          size_t row0, size_t n, float *out, size_t *inf_at);
void trl__enc_binding_free(trl__enc_binding *b);

/* ---- backends ------------------------------------------------------------------ */

/* What a backend trains on: inputs already checked by model.c. */
typedef struct trl__train_job {
    const trl_train_spec *spec;
    const trl__encoder *enc;
    const double *label;     /* data->nrows targets */
    const double *eval_label;/* eval->nrows targets, or NULL */
    json_t *params;          /* a copy the backend may edit: it leaves the
                              * parameters it used, defaults filled */
} trl__train_job;

typedef struct trl__backend {
    const char *format;  /* artifact format */
    /* Trains into m->impl; fills m->objective, m->noutputs, m->metrics. */
    int (*train)(trl_model *m, const trl__train_job *job, trl_error *err);
    /* Serialises m->impl into m->artifact. */
    int (*serialise)(trl_model *m, trl_error *err);
    /* Loads m->artifact into m->impl. */
    int (*load)(trl_model *m, trl_error *err);
    int (*predict_rows)(const trl_model *m, const double *rows, size_t n,
                        double *out, trl_error *err);
    /* The same from floats; NULL when the library reads doubles only. */
    int (*predict_f32)(const trl_model *m, const float *rows, size_t n,
                       double *out, trl_error *err);
    int (*save)(const trl_model *m, const char *path, trl_error *err);
    void (*free_impl)(void *impl);
    /* What the model itself says of each encoded input, into out[0 ..
     * width - 1] (importance.c aggregates per feature): type is one the
     * backend knows ("gain", "weight", "cover", "total_gain",
     * "total_cover" for XGBoost; "coef" for liblinear), checked by the
     * caller. */
    int (*importance)(const trl_model *m, const char *type, double *out,
                      trl_error *err);
} trl__backend;

extern const trl__backend trl__xgb_backend;
extern const trl__backend trl__linear_backend;

/* The backend for an algo name, or NULL. */
const trl__backend *trl__backend_of(const char *algo);

/* What every model's impl begins with: the encoder and the backend. */
typedef struct trl__model_impl {
    const trl__backend *be;
    trl__encoder *enc;
} trl__model_impl;

/* A model with no fields set yet (refcount 1). */
trl_model *trl__model_alloc(void);

/* trl_model_predict with at most max_batch rows encoded and predicted per
 * library call (trl_model_predict's own: 4096). */
int trl__model_predict_batch(const trl_model *m, const trl_frame *f,
                             size_t max_batch, trl_column **out,
                             trl_error *err);

/* Loads a model read from the registry: takes the encoding and artifact
 * already in m and builds m->impl. */
int trl__model_load(trl_model *m, trl_error *err);

/* ---- model specs (model_store.c) ----------------------------------------- */

/* Longest model name, in bytes. */
#define TRL__MODEL_NAME_MAX 128

/* What a spec such as "churn_xgb", "churn_xgb@2" or
 * "churn_xgb@production" names. */
typedef struct trl__model_spec {
    char name[TRL__MODEL_NAME_MAX + 1];
    int version;   /* 0: latest (or by stage) */
    int stage;     /* -1: by version */
} trl__model_spec;

/* Parses spec into *out without reading the registry (whether that
 * version exists is not checked). 0, or TRL_EINVAL with err (may be NULL)
 * saying what is wrong; *out is unusable then. */
int trl__model_spec_parse(const char *spec, trl__model_spec *out,
                          trl_error *err);

/* The version a spec names, read from the registry: *out with version
 * set (stage -1). 0, or TRL_ENOTFOUND / TRL_EINVAL with err saying which
 * model or version is missing. */
int trl__model_version_of(trl_registry *r, const char *spec,
                          trl__model_spec *out, trl_error *err);

/* Moves name@version to stage (a new production version archives the
 * old one) and records the change, inside the caller's transaction: what
 * trl_registry_stage_model does, for a caller that writes more in the
 * same transaction (a promotion and its audit entry). 0, or -1 with the
 * connection holding the error. */
int trl__model_stage_locked(trl_registry *r, const char *name, int version,
                            trl_stage stage);

/* Seconds on a monotonic clock. */
double trl__now(void);

/* Whole files, for the artifacts libraries only read and write as files.
 * *data is malloc'd. */
int trl__write_file(const char *path, const void *data, size_t len,
                    trl_error *err);
int trl__read_file(const char *path, uint8_t **data, size_t *len,
                   trl_error *err);

#endif
