/* sql_engine.c - %%sql cells: SQLite's own SQL over the registry's frames
 * and other engines' frame variables, shown as tables with no copy (see
 * trellis/sql.h). The cell's last statement's rows are its result, as a
 * frame: displayed, registered (--save) or handed to Lua (--lua). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engines/sql/sql_engine_int.h"
#include "trellis/display.h"
#include "trellis/sql.h"
#include "trellis/timing.h"

static const trl_language_info sql_info = {
    "sql", SQLITE_VERSION, "text/x-sql", ".sql", "sql", "sql"};

static int blank(const char *p)
{
    while (isspace((unsigned char)*p))
        p++;
    return *p == '\0';
}

/* ---- errors ------------------------------------------------------------------- */

/* SQLite's message, with the line and column of the offending token in
 * the cell when SQLite knows it (and code, the cell, is given: stmt is
 * where in it the failing statement starts), and the line with a caret. */
static int fail_sqlite(trl__sqle *s, const char *code, const char *stmt,
                       int rc, trl_exec_ctx *ctx)
{
    if (rc == SQLITE_INTERRUPT || trl_ctx_interrupted(ctx)) {
        trl_ctx_fail(ctx, "KeyboardInterrupt", "interrupted by the user",
                     NULL);
        return TRL_EINTR;
    }
    const char *msg = sqlite3_errmsg(s->db);
    char denied[TRL_ERROR_MAX];
    if ((rc & 0xff) == SQLITE_AUTH) {
        /* the only thing the authorizer denies (sql_names.c) */
        snprintf(denied, sizeof denied, "%s: ATTACH is turned off in SQL "
                 "cells (an attached database is writable, the registry "
                 "too); read other data with features.read_csv", msg);
        msg = denied;
    }
    int off = code ? sqlite3_error_offset(s->db) : -1;
    char evalue[TRL_ERROR_MAX + 64];
    json_t *tb = json_array();
    if (off >= 0) {
        const char *at = stmt + off, *line = code;
        int lineno = trl_ctx_code_line(ctx, code);
        for (const char *p = code; p < at; p++)
            if (*p == '\n') {
                lineno++;
                line = p + 1;
            }
        int col = 1;
        for (const char *p = line; p < at; p++)
            col += ((unsigned char)*p & 0xC0) != 0x80;
        snprintf(evalue, sizeof evalue, "%s (line %d, column %d)", msg,
                 lineno, col);
        size_t len = strcspn(line, "\n");
        json_array_append_new(tb, json_sprintf("\x1b[0;31mSQLError\x1b[0m: "
                                               "%s", evalue));
        json_array_append_new(tb, json_sprintf("%.*s", (int)len, line));
        json_array_append_new(tb, json_sprintf("%*s^", col - 1, ""));
    } else {
        snprintf(evalue, sizeof evalue, "%s", msg);
        json_array_append_new(tb, json_sprintf("\x1b[0;31mSQLError\x1b[0m: "
                                               "%s", evalue));
    }
    trl_ctx_fail(ctx, "SQLError", evalue, tb);
    return TRL_EINVAL;
}

static int fail_error(const trl_error *err, trl_exec_ctx *ctx)
{
    trl_ctx_fail(ctx, err->code == TRL_EINTR ? "KeyboardInterrupt"
                                             : "SQLError",
                 err->message, NULL);
    return err->code ? err->code : TRL_EINVAL;
}

/* ---- options of the %%sql line ------------------------------------------------ */

typedef struct sql_opts {
    char save[129];  /* --save NAME: register the result */
    char lua[129];   /* --lua NAME: bind it in the Lua engine */
    char python[129];/* --python NAME: bind it in the Python engine */
} sql_opts;

static int parse_opts(const char *line, sql_opts *o, trl_exec_ctx *ctx)
{
    memset(o, 0, sizeof *o);
    const char *p = line;
    while (*p) {
        while (isspace((unsigned char)*p))
            p++;
        if (!*p)
            break;
        size_t n = strcspn(p, " \t");
        /* --save NAME or --save=NAME */
        const char *eq = memchr(p, '=', n);
        size_t name_len = eq ? (size_t)(eq - p) : n;
        char *dest = name_len == 6 && strncmp(p, "--save", 6) == 0 ? o->save
                     : name_len == 5 && strncmp(p, "--lua", 5) == 0 ? o->lua
                     : name_len == 8 && strncmp(p, "--python", 8) == 0
                         ? o->python
                         : NULL;
        const char *v = eq ? eq + 1 : p + n;
        while (!eq && isspace((unsigned char)*v))
            v++;
        size_t vn = eq ? n - name_len - 1 : strcspn(v, " \t");
        /* a value that looks like an option is a forgotten name */
        if (!dest || vn == 0 || *v == '-' || vn >= sizeof o->save) {
            char msg[300];
            snprintf(msg, sizeof msg, "%s%.*s; usage: %%%%sql [--save NAME] "
                     "[--lua NAME] [--python NAME]", dest ?
                     "a name must follow " :
                     "unknown option ", (int)name_len, p);
            trl_ctx_fail(ctx, "UsageError", msg, NULL);
            return TRL_EINVAL;
        }
        memcpy(dest, v, vn);
        dest[vn] = '\0';
        p = v + vn;
    }
    return 0;
}

/* ---- execute -------------------------------------------------------------------- */

/* Binds f to the global name of the engine called engine (--lua,
 * --python). 0, or the cell failed saying why. */
static int bind(trl__sqle *s, const char *engine, const char *name,
                trl_frame *f, trl_exec_ctx *ctx)
{
    trl_engine *e = trl_engine_find(s->peers, s->npeers ? *s->npeers : 0,
                                    engine);
    trl_error err = {0};
    if (!e || !e->ops->bind_frame)
        trl_error_set(&err, TRL_EINVAL, "--%s: this kernel has no %s "
                      "engine", engine, engine);
    else if (e->ops->bind_frame(e, name, f, &err) == 0)
        return 0;
    return fail_error(&err, ctx);
}

/* Registers, binds and shows the cell's result. */
static int deliver(trl__sqle *s, trl_frame *f, const char *code,
                   const sql_opts *o, double seconds, trl_exec_ctx *ctx)
{
    trl_frame_set_lineage(f, json_pack("{s:s, s:s, s:O}", "source", "sql",
                                       "sql", code, "reads", s->reads));
    char saved[160] = "";
    if (o->save[0]) {
        int version;
        trl_error err = {0};
        if (!s->registry)
            return fail_error(&(trl_error){TRL_EINVAL, "--save needs the "
                                           "registry, which is not "
                                           "available"}, ctx);
        if (trl_registry_register(s->registry, o->save, f, &version,
                                  &err) != 0)
            return fail_error(&err, ctx);
        snprintf(saved, sizeof saved, "; saved as %s@%d", o->save, version);
    }
    if ((o->lua[0] && bind(s, "lua", o->lua, f, ctx) != 0) ||
        (o->python[0] && bind(s, "python", o->python, f, ctx) != 0))
        return TRL_EINVAL;
    char *html = trl_frame_html(f), *text = trl_frame_text(f);
    char caption[256];
    snprintf(caption, sizeof caption, "%zu row%s in %.3g ms%s", f->nrows,
             f->nrows == 1 ? "" : "s", seconds * 1e3, saved);
    json_t *bundle = NULL;
    if (html && text) {
        char *escaped = trl_html_escape(caption, strlen(caption));
        trl_strbuf h, t;
        trl_strbuf_init(&h);
        trl_strbuf_init(&t);
        trl_strbuf_printf(&h, "%s<p><small>%s</small></p>", html,
                          escaped ? escaped : "");
        trl_strbuf_printf(&t, "%s\n%s", text, caption);
        if (h.p && t.p)
            bundle = json_pack("{s:s, s:s}", "text/plain", t.p, "text/html",
                               h.p);
        free(escaped);
        free(h.p);
        free(t.p);
    }
    free(html);
    free(text);
    if (!bundle)
        return fail_error(&(trl_error){TRL_ENOMEM, "out of memory"}, ctx);
    trl_ctx_result(ctx, bundle, NULL);
    return 0;
}

static int sql_execute(trl_engine *self, const char *code, trl_exec_ctx *ctx)
{
    trl__sqle *s = (trl__sqle *)self;
    sql_opts o;
    if (parse_opts(trl_ctx_cell_args(ctx), &o, ctx) != 0)
        return TRL_EINVAL;
    s->ctx = ctx;
    trl__sqle_refresh(s);
    json_decref(s->reads);
    s->reads = json_array();
    double t0 = trl_timing_now(TRL_TIMING_CLOCK_PERF);
    trl_frame *last = NULL;
    int rc = 0;
    for (const char *p = code; rc == 0 && !blank(p);) {
        sqlite3_stmt *st = NULL;
        const char *tail = p;
        trl_error err = {0};
        if (trl_ctx_interrupted(ctx)) {
            rc = fail_error(&(trl_error){TRL_EINTR, "interrupted by the "
                                         "user"}, ctx);
            break;
        }
        int src = trl__sqle_prepare(s, p, &st, &tail, &err);
        if (src != SQLITE_OK) {
            rc = err.code ? fail_error(&err, ctx)
                          : fail_sqlite(s, code, p, src, ctx);
        } else if (st && trl__sqle_bind(s, st, &err) != 0) {
            rc = fail_error(&err, ctx);
        } else if (st && sqlite3_column_count(st) > 0 && blank(tail)) {
            trl_frame_decref(last);
            last = trl_sql_collect(st, &err);
            if (!last)
                rc = fail_error(&err, ctx);
        } else if (st) {
            while ((src = sqlite3_step(st)) == SQLITE_ROW)
                ;
            if (src != SQLITE_DONE)
                rc = fail_sqlite(s, code, p, src, ctx);
        }
        sqlite3_finalize(st);
        p = tail;
    }
    double seconds = trl_timing_now(TRL_TIMING_CLOCK_PERF) - t0;
    if (rc == 0 && last)
        rc = deliver(s, last, code, &o, seconds, ctx);
    else if (rc == 0 && (o.save[0] || o.lua[0]))
        rc = fail_error(&(trl_error){TRL_EINVAL, "--save and --lua take the "
                                     "rows of the cell's last statement: "
                                     "end it with a SELECT"}, ctx);
    trl_frame_decref(last);
    s->ctx = NULL;
    return rc;
}

/* user_expressions: `SELECT expr`, its one value as text. */
static int sql_evaluate(trl_engine *self, const char *expr, json_t **data_out,
                        trl_error *err)
{
    trl__sqle *s = (trl__sqle *)self;
    *data_out = NULL;
    char *q = malloc(strlen(expr) + 8);
    if (!q)
        return trl_error_set(err, TRL_ENOMEM, "out of memory");
    sprintf(q, "SELECT %s", expr);
    sqlite3_stmt *st = NULL;
    const char *tail;
    int rc = trl__sqle_prepare(s, q, &st, &tail, err);
    free(q);
    if (rc == SQLITE_OK && st && trl__sqle_bind(s, st, err) == 0 &&
        sqlite3_step(st) == SQLITE_ROW) {
        const char *v = (const char *)sqlite3_column_text(st, 0);
        *data_out = json_pack("{s:s}", "text/plain", v ? v : "NULL");
    } else if (!err->code) {
        trl_error_set(err, TRL_EINVAL, "%s", sqlite3_errmsg(s->db));
    }
    sqlite3_finalize(st);
    return *data_out ? 0 : err->code;
}

static void sql_interrupt(trl_engine *self)
{
    /* sets a flag the running statement checks: safe from the handler */
    sqlite3_interrupt(((trl__sqle *)self)->db);
}

/* ---- %timeit -------------------------------------------------------------------- */

typedef struct sql_timer {
    sqlite3_stmt *setup, *stmt;
    int clock;
} sql_timer;

static void sql_timer_free(trl_engine *self, void *handle)
{
    (void)self;
    sql_timer *t = handle;
    if (!t)
        return;
    sqlite3_finalize(t->setup);
    sqlite3_finalize(t->stmt);
    free(t);
}

/* One statement of text, prepared and bound, into *out (NULL for none). */
static int prepare_one(trl__sqle *s, const char *text, sqlite3_stmt **out,
                       trl_exec_ctx *ctx)
{
    trl_error err = {0};
    const char *tail;
    *out = NULL;
    int rc = trl__sqle_prepare(s, text, out, &tail, &err);
    if (rc != SQLITE_OK)
        return err.code ? fail_error(&err, ctx)
                        : fail_sqlite(s, text, text, rc, ctx);
    if (!blank(tail))
        return fail_error(&(trl_error){TRL_EINVAL, "%timeit times one SQL "
                                       "statement: split the others off"},
                          ctx);
    if (*out && trl__sqle_bind(s, *out, &err) != 0)
        return fail_error(&err, ctx);
    return 0;
}

static int sql_timer_new(trl_engine *self, const char *setup,
                         const char *stmt, int clock, trl_exec_ctx *ctx,
                         void **timer_out)
{
    trl__sqle *s = (trl__sqle *)self;
    *timer_out = NULL;
    sql_timer *t = calloc(1, sizeof *t);
    if (!t)
        return fail_error(&(trl_error){TRL_ENOMEM, "out of memory"}, ctx);
    t->clock = clock;
    trl__sqle_refresh(s);
    int rc = prepare_one(s, setup ? setup : "", &t->setup, ctx);
    if (rc == 0)
        rc = prepare_one(s, stmt, &t->stmt, ctx);
    if (rc == 0 && !t->stmt)
        rc = fail_error(&(trl_error){TRL_EINVAL, "nothing to time"}, ctx);
    if (rc != 0) {
        sql_timer_free(self, t);
        return rc;
    }
    *timer_out = t;
    return 0;
}

/* Runs st to its end and resets it. SQLITE_DONE or the failing code. */
static int run_through(sqlite3_stmt *st)
{
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        ;
    sqlite3_reset(st);
    return rc;
}

static int sql_timer_run(trl_engine *self, void *handle,
                         unsigned long long loops, double *seconds,
                         trl_exec_ctx *ctx)
{
    trl__sqle *s = (trl__sqle *)self;
    sql_timer *t = handle;
    int rc = t->setup ? run_through(t->setup) : SQLITE_DONE;
    double t0 = trl_timing_now((trl_timing_clock)t->clock);
    for (unsigned long long i = 0; rc == SQLITE_DONE && i < loops; i++) {
        if (trl_ctx_interrupted(ctx))
            rc = SQLITE_INTERRUPT;
        else
            rc = run_through(t->stmt);
    }
    *seconds = trl_timing_now((trl_timing_clock)t->clock) - t0;
    if (rc != SQLITE_DONE)
        return fail_sqlite(s, NULL, NULL, rc, ctx);
    return 0;
}

/* SQL has no variables: `_` (%timeit -o, %%bench) goes to the engine that
 * has them, so the next Lua cell reads it. */
static int sql_set_last(trl_engine *self, const json_t *value)
{
    trl__sqle *s = (trl__sqle *)self;
    size_t np = s->npeers ? *s->npeers : 0;
    for (size_t i = 0; i < np; i++) {
        trl_engine *e = s->peers[i];
        if (e != self && e->ops->set_last)
            return e->ops->set_last(e, value);
    }
    return 0;
}

/* ---- lifetime ------------------------------------------------------------------- */

static void sql_destroy(trl_engine *self)
{
    trl__sqle *s = (trl__sqle *)self;
    trl__sqle_tables_free(s);
    sqlite3_close(s->db);
    json_decref(s->reads);
    free(s);
}

static const trl_engine_ops sql_ops = {
    .name = "sql",
    .info = &sql_info,
    .execute = sql_execute,
    .evaluate = sql_evaluate,
    .complete = trl__sqle_complete,
    .inspect = trl__sqle_inspect,
    .is_complete = trl__sqle_is_complete,
    .timer_new = sql_timer_new,
    .timer_run = sql_timer_run,
    .timer_free = sql_timer_free,
    .set_last = sql_set_last,
    .interrupt = sql_interrupt,
    .destroy = sql_destroy};

trl_engine *trl_sql_engine_new(const trl_engine_config *config,
                               trl_error *err)
{
    trl__sqle *s = calloc(1, sizeof *s);
    if (!s) {
        trl_error_set(err, TRL_ENOMEM, "out of memory");
        return NULL;
    }
    s->base.ops = &sql_ops;
    s->registry = config->registry;
    s->peers = config->peers;
    s->npeers = config->npeers;
    if (sqlite3_open_v2(":memory:", &s->db, SQLITE_OPEN_READWRITE |
                        SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) !=
            SQLITE_OK ||
        !(s->bound = trl_sql_attach(s->db, err))) {
        if (!err->code)
            trl_error_set(err, TRL_ENOMEM, "cannot open SQLite: %s",
                          s->db ? sqlite3_errmsg(s->db) : "out of memory");
        sqlite3_close(s->db);
        free(s);
        return NULL;
    }
    trl__sqle_track_reads(s);
    return &s->base;
}
