/* engine.h - the interface every language engine (Lua, SQL, Python) fills,
 * and the execution context through which a running cell reaches the
 * notebook: streams, rich display, results, errors, stdin. */
#ifndef TRELLIS_ENGINE_H
#define TRELLIS_ENGINE_H

#include <stddef.h>
#include <jansson.h>

#include "trellis/error.h"

/* ---- execution context (owned by the kernel, borrowed by engines) ------- */

typedef struct trl_exec_ctx trl_exec_ctx;

typedef enum { TRL_STDOUT = 0, TRL_STDERR = 1 } trl_stream;

/* Appends text to a stream. Output is buffered and flushed in chunks while
 * the cell runs (by size and by age), and always before any other output, so
 * the notebook sees it in order. Returns 0 or TRL_ENOMEM. */
int trl_ctx_stream(trl_exec_ctx *ctx, trl_stream which, const char *text,
                   size_t len);

/* printf to the stdout stream, any length. Returns 0 or TRL_ENOMEM. */
int trl_ctx_printf(trl_exec_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Publishes display_data. Steals data_new (a MIME bundle object, which must
 * hold "text/plain") and metadata_new (may be NULL for {}). display_id, when
 * not NULL, makes the output updatable by trl_ctx_update_display. */
int trl_ctx_display(trl_exec_ctx *ctx, json_t *data_new, json_t *metadata_new,
                    const char *display_id);

/* Publishes update_display_data for an earlier display_id. Steals as above. */
int trl_ctx_update_display(trl_exec_ctx *ctx, json_t *data_new,
                           json_t *metadata_new, const char *display_id);

/* Publishes the cell's execute_result (at most once per cell; later calls
 * replace nothing and return TRL_EINVAL). Steals as above. */
int trl_ctx_result(trl_exec_ctx *ctx, json_t *data_new, json_t *metadata_new);

/* Keeps the cell's execute_result back until trl_ctx_flush_result: %time
 * prints its times before the value, as IPython does. */
void trl_ctx_hold_result(trl_exec_ctx *ctx);

/* Publishes a held execute_result, if any, and stops holding. */
int trl_ctx_flush_result(trl_exec_ctx *ctx);

/* Publishes clear_output; wait != 0 clears only when new output arrives. */
int trl_ctx_clear_output(trl_exec_ctx *ctx, int wait);

/* Adds a pager payload (shown by Notebook in its pager, printed by consoles).
 * Steals data_new. */
int trl_ctx_page(trl_exec_ctx *ctx, json_t *data_new);

/* Records the cell's failure: ename ("LuaError", "KeyboardInterrupt", ...),
 * evalue and traceback_new (array of strings, stolen; NULL for none). The
 * kernel publishes one error message and an error reply after the engine
 * returns. Only the first failure of a cell is kept. */
int trl_ctx_fail(trl_exec_ctx *ctx, const char *ename, const char *evalue,
                 json_t *traceback_new);

/* Asks the client for a line of input over the stdin channel. On success
 * *line_out is a malloc'd string the caller frees. Fails with TRL_EINVAL
 * ("this client does not accept input") when the request did not allow
 * stdin, TRL_EINTR when interrupted. */
int trl_ctx_input(trl_exec_ctx *ctx, const char *prompt, int password,
                  char **line_out, trl_error *err);

/* The rest of the cell's %%language line (`--save churn2` after %%sql),
 * trimmed; "" when there is none. Valid while the cell runs. */
const char *trl_ctx_cell_args(const trl_exec_ctx *ctx);

/* The line of the cell (1-based) on which code starts, code being a
 * pointer into the text the engine was given: engines add it to their
 * own line numbers, so an error below `%%sql` names the cell's line. 1
 * when code is not part of the cell's text. */
int trl_ctx_code_line(const trl_exec_ctx *ctx, const char *code);

/* The execution count of the running cell (what `In [N]` shows). */
int trl_ctx_execution_count(const trl_exec_ctx *ctx);

/* Non-zero once the user has asked to interrupt the running cell. Long C
 * loops poll this. */
int trl_ctx_interrupted(const trl_exec_ctx *ctx);

/* ---- engines ------------------------------------------------------------- */

struct trl_frame;
struct trl_model;
struct trl_metric_external;

typedef struct trl_engine trl_engine;

typedef enum {
    TRL_CODE_COMPLETE,
    TRL_CODE_INCOMPLETE,
    TRL_CODE_INVALID,
    TRL_CODE_UNKNOWN
} trl_code_status;

/* What complete() returns. Offsets are byte offsets into the code. */
typedef struct trl_completion {
    json_t *matches;      /* array of strings, owned by the struct */
    size_t cursor_start;  /* bytes: start of the text the matches replace */
    size_t cursor_end;    /* bytes: end of it */
} trl_completion;

/* language_info of kernel_info_reply. */
typedef struct trl_language_info {
    const char *name;
    const char *version;
    const char *mimetype;
    const char *file_extension;
    const char *pygments_lexer;
    const char *codemirror_mode;
} trl_language_info;

typedef struct trl_engine_ops {
    const char *name;                /* "lua"; also its cell magic, %%lua */
    const trl_language_info *info;

    /* Runs code. Output goes through ctx; a failure is recorded with
     * trl_ctx_fail. Returns 0, or a negative code after trl_ctx_fail. */
    int (*execute)(trl_engine *self, const char *code, trl_exec_ctx *ctx);

    /* Evaluates one expression for user_expressions: on success *data_out is
     * a new MIME bundle. Must not publish anything. */
    int (*evaluate)(trl_engine *self, const char *expr, json_t **data_out,
                    trl_error *err);

    /* Completion at byte offset cursor. Fills out (matches may be empty). */
    int (*complete)(trl_engine *self, const char *code, size_t cursor,
                    trl_completion *out);

    /* Inspection at byte offset cursor: *data_out a new MIME bundle, or NULL
     * when nothing was found. */
    int (*inspect)(trl_engine *self, const char *code, size_t cursor,
                   int detail_level, json_t **data_out);

    /* Whether code is ready to run; indent (for incomplete) written to a
     * buffer of indent_size bytes. */
    trl_code_status (*is_complete)(trl_engine *self, const char *code,
                                   char *indent, size_t indent_size);

    /* A new object {name: type} of the names the user defined (not the
     * built-ins), for %who. May be NULL in engines without names. */
    json_t *(*variables)(trl_engine *self);

    /* For magics, which name frames and models the way code does: the
     * frame or model the global variable called name holds, as a new
     * reference in *frame_out or *model_out (the other left NULL); both
     * NULL when it holds neither. Must not run user code. May be NULL. */
    void (*lookup)(trl_engine *self, const char *name,
                   struct trl_frame **frame_out,
                   struct trl_model **model_out);

    /* A business metric the user defined in this engine (metrics.define
     * in Lua), for magics: fills *out (release it with out->release) and
     * returns 0; or returns TRL_ENOTFOUND, or another code with err
     * saying why a definition cannot be used. May be NULL. */
    int (*metric)(trl_engine *self, const char *name,
                  struct trl_metric_external *out, trl_error *err);

    /* %timeit: compiles stmt once as the body of a loop in the language
     * itself (so an empty statement costs what the language's own loop
     * costs), as Python's timeit does: timer_run runs setup (untimed),
     * then the loop `loops` times, and reports the seconds the loop took
     * on clock (a trl_timing_clock of trellis/timing.h); timer_free
     * releases it. Output goes through ctx; failures (syntax, errors,
     * interrupt) are recorded with trl_ctx_fail and returned as a
     * negative code. NULL when the language cannot be timed. */
    int (*timer_new)(trl_engine *self, const char *setup, const char *stmt,
                     int clock, trl_exec_ctx *ctx, void **timer_out);
    int (*timer_run)(trl_engine *self, void *timer, unsigned long long loops,
                     double *seconds, trl_exec_ctx *ctx);
    void (*timer_free)(trl_engine *self, void *timer);

    /* For other engines, which read names as code does: the value of the
     * global called name when it is a number, a string or a boolean, as a
     * new JSON value (a SQL parameter `:name`); NULL otherwise. Must not
     * run user code. May be NULL. */
    json_t *(*scalar)(trl_engine *self, const char *name);

    /* Binds the global called name to frame f (a new reference), as
     * `%%sql --lua name` does. 0, or a code with err filled. May be
     * NULL. */
    int (*bind_frame)(trl_engine *self, const char *name,
                      struct trl_frame *f, trl_error *err);

    /* Makes value (JSON: objects become tables) the language's `_`, the
     * last result, as %timeit -o does in IPython. May be NULL. */
    int (*set_last)(trl_engine *self, const json_t *value);

    /* Forgets every name the user defined (%reset). May be NULL. */
    void (*reset)(trl_engine *self);

    /* Reports the engine's memory in use and its limit (bytes, 0 = none);
     * when set is non-zero, first makes new_limit the limit. May be NULL. */
    void (*memory)(trl_engine *self, int set, size_t new_limit, size_t *used,
                   size_t *limit);

    /* Asks the running execute to stop soon. Called from a signal handler
     * on the engine's thread: must be async-signal-safe. */
    void (*interrupt)(trl_engine *self);

    /* Frees the engine and everything it owns. */
    void (*destroy)(trl_engine *self);
} trl_engine_ops;

/* Every engine struct begins with this. */
struct trl_engine {
    const trl_engine_ops *ops; /* read-only */
};

/* Settings common to engines. */
struct trl_registry;

typedef struct trl_engine_config {
    size_t memory_limit;            /* bytes; 0 = a default */
    struct trl_registry *registry;  /* borrowed; may be NULL (no features) */
    /* Why registry is NULL (the error opening it), for the engine to show
     * when a cell needs the registry: the kernel log is not where a
     * notebook user looks. Copied; may be NULL. */
    const char *registry_error;
    /* The kernel's engines, this one among them, for an engine that reads
     * another's names (SQL sees Lua's frames); the count is read when
     * needed, as engines are added after this one is made. Borrowed; may
     * be NULL. */
    trl_engine *const *peers;
    const size_t *npeers;
} trl_engine_config;

/* The engine of language name ("lua", "python") among n engines, or
 * NULL. */
trl_engine *trl_engine_find(trl_engine *const *engines, size_t n,
                            const char *name);

/* Creates the Lua engine. Returns NULL and fills err on failure. The caller
 * owns the engine and frees it with engine->ops->destroy(engine). */
trl_engine *trl_lua_engine_new(const trl_engine_config *config, trl_error *err);

/* Creates the SQL engine (SQLite; frames as tables, see trellis/sql.h),
 * the same way. */
trl_engine *trl_sql_engine_new(const trl_engine_config *config, trl_error *err);

/* Creates the Python engine (%%python cells), the same way. It loads
 * nothing: libpython is found and started by the first Python cell, which
 * fails with how to enable Python when it is absent (see
 * docs/reference.md, "Python cells"). The interpreter is one per process,
 * shared by every Python engine, and outlives them. */
trl_engine *trl_python_engine_new(const trl_engine_config *config,
                                  trl_error *err);

#endif
