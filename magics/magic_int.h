/* magic_int.h - private: what several magics share. */
#ifndef TRELLIS_MAGICS_MAGIC_INT_H
#define TRELLIS_MAGICS_MAGIC_INT_H

#include <stdint.h>

#include "trellis/magic.h"
#include "trellis/model.h"

/* What the global variable called name holds, in the cell's language
 * first, then the others': a new reference in *f or *m, both NULL when
 * none holds a frame or model. */
void trl__magic_lookup_var(trl_magic_env *env, const char *name,
                           trl_frame **f, trl_model **m);

/* A model named as code names it: the global variable called name when
 * it holds one, else the registry's spec ("name", "name@N",
 * "name@production"). A new reference, or NULL with err saying that
 * neither has it. */
trl_model *trl__magic_find_model(trl_magic_env *env, const char *name,
                                 trl_error *err);

/* The same for frames ("churn", "churn@2"). */
trl_frame *trl__magic_find_frame(trl_magic_env *env, const char *name,
                                 trl_error *err);

/* %%bench: the cell timed run after run, as percentiles (bench_cell.c). */
int trl__magic_bench_cell(trl_magic_env *env, const char *line,
                          const char *body, trl_exec_ctx *ctx);

/* The argument specs of the magics that take options (magics/args.h),
 * each beside its magic; trl__magic_args_spec finds one by name. */
struct trl__args_spec;
extern const struct trl__args_spec trl__bench_args, trl__bench_cell_args,
    trl__importance_args, trl__drift_args, trl__validate_args,
    trl__compare_args, trl__metrics_args, trl__promote_args,
    trl__models_args, trl__features_args;

/* The spec of a magic as written ("%drift", "%%bench"), or NULL when it
 * has none (%timeit parses as IPython does, timing.c). */
const struct trl__args_spec *trl__magic_args_spec(const char *magic);

/* Every spec, for the fuzzer and the tests; *n receives the count. */
const struct trl__args_spec *const *trl__magic_args_specs(size_t *n);

/* Parses line as the magic would, running nothing: 0, or err says what
 * is wrong as the notebook would show it. TRL_ENOTFOUND when the magic
 * has no spec. */
int trl__magic_args_check(const char *magic, const char *line,
                          trl_error *err);

/* The fuzzer's entry: data (any bytes; up to the first NUL is read) as
 * the arguments of every magic with a spec, and of %timeit. 0, or -1
 * when a message breaks a promise of args.h: cut short, without the
 * usage line, not UTF-8 for UTF-8 input, or an empty value parsed. */
int trl__magic_args_fuzz_one(const uint8_t *data, size_t size);

/* Runs "%%<language> <options>\n<body>" as a cell (a line magic that is
 * its language's one-line form: %sql, %python); the options are len
 * bytes, maybe 0. Out of memory fails the cell. */
int trl__magic_run_as_cell(trl_magic_env *env, const char *language,
                           const char *options, size_t len, const char *body,
                           trl_exec_ctx *ctx);

#endif
