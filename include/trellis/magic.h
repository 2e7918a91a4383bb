/* magic.h - %-commands: line magics a cell starts with (`%who`), run by the
 * kernel before the cell's code, each a small file in magics/. */
#ifndef TRELLIS_MAGIC_H
#define TRELLIS_MAGIC_H

#include <jansson.h>

#include "trellis/engine.h"

/* What a magic may reach, provided by the kernel (opaque to magics). */
typedef struct trl_magic_env trl_magic_env;

/* The engine the cell's code runs in (borrowed). */
trl_engine *trl_magic_engine(trl_magic_env *env);

/* Every engine, for %lsmagic's list of cell magics (borrowed). */
size_t trl_magic_engines(trl_magic_env *env, trl_engine *const **out);

struct trl_registry;
/* The feature registry, or NULL when it is unavailable (borrowed). */
struct trl_registry *trl_magic_registry(trl_magic_env *env);

/* The input history, or NULL when it is disabled. The results are new
 * arrays of [session, line, source] (see kernel/history.h). */
json_t *trl_magic_history_session(trl_magic_env *env);
json_t *trl_magic_history_search(trl_magic_env *env, const char *pattern,
                                 int n);

/* Runs a line magic. args is the rest of the line, trimmed. Output goes
 * through ctx; a failure is reported with trl_ctx_fail and returned as a
 * negative code. */
typedef int (*trl_magic_fn)(trl_magic_env *env, const char *args,
                            trl_exec_ctx *ctx);

/* Runs a cell magic (`%%time`): line is the rest of its first line,
 * trimmed; body the cell below it. Reports as a line magic does. */
typedef int (*trl_cell_magic_fn)(trl_magic_env *env, const char *line,
                                 const char *body, trl_exec_ctx *ctx);

typedef struct trl_magic {
    const char *name;   /* without the % */
    const char *usage;  /* one line: "%who" */
    const char *doc;    /* one paragraph, shown by %name? and %lsmagic */
    trl_magic_fn run;   /* the line magic, or NULL */
    trl_cell_magic_fn run_cell;  /* the cell magic (%%name), or NULL */
} trl_magic;

/* Runs code as a cell of its own would run (a leading %%language or cell
 * magic, line magics, then the engine) in this cell's context: what a cell
 * magic does with its body. 0 or a negative code after trl_ctx_fail. */
int trl_magic_run_cell(trl_magic_env *env, const char *code,
                       trl_exec_ctx *ctx);

/* The engine code runs in (its leading %%language, else this cell's),
 * with *body set past that line; NULL with a failure recorded in ctx when
 * the %%name is not a language. */
trl_engine *trl_magic_cell_engine(trl_magic_env *env, const char *code,
                                  const char **body, trl_exec_ctx *ctx);

/* The magic called name, or NULL. */
const trl_magic *trl_magic_find(const char *name);

/* All magics (line, cell or both), sorted by name; *n receives the
 * count. */
const trl_magic *const *trl_magic_all(size_t *n);

/* Splits the leading `%name args` lines off code. Returns the number of
 * bytes they take (0 when the cell starts with code); code + that is the
 * rest of the cell. */
size_t trl_magic_leading(const char *code);

#endif
