/* magic_int.h - private: what several magics share. */
#ifndef TRELLIS_MAGICS_MAGIC_INT_H
#define TRELLIS_MAGICS_MAGIC_INT_H

#include "trellis/magic.h"
#include "trellis/model.h"

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

#endif
