/* dispatch.c - shell and control requests, dispatched through a table:
 * a new message type is one more row. */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "kernel/kernel_int.h"
#include "trellis/display.h"
#include "trellis/magic.h"
#include "trellis/version.h"

typedef struct request {
    trl__kernel *k;
    void *sock;    /* where the reply goes: shell or control */
    void *push;    /* this thread's way to iopub */
    trl__msg *msg;
} request;

typedef void (*handler_fn)(request *r);

static json_t *content_get(const request *r, const char *key)
{
    return json_object_get(r->msg->content, key);
}

/* ---- kernel_info ---------------------------------------------------------- */

json_t *trl__kernel_info(trl__kernel *k)
{
    const trl_language_info *li = k->engines[0]->ops->info;
    return json_pack(
        "{s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s, s:s, s:s, s:s, s:s}, s:s, "
        "s:b, s:[{s:s, s:s}]}",
        "status", "ok", "protocol_version", TRL_PROTOCOL_VERSION,
        "implementation", "trellis", "implementation_version", TRL_VERSION,
        "language_info", "name", li->name, "version", li->version,
        "mimetype", li->mimetype, "file_extension", li->file_extension,
        "pygments_lexer", li->pygments_lexer, "codemirror_mode",
        li->codemirror_mode, "nbconvert_exporter", "script",
        "banner",
        "Trellis " TRL_VERSION " - a polyglot ML kernel (Lua by default; "
        "%%sql and %%python cells)\n",
        "debugger", 0, "help_links", "text", "Lua 5.4 manual", "url",
        "https://www.lua.org/manual/5.4/");
}

static void on_kernel_info(request *r)
{
    trl__reply(r->k, r->sock, r->msg, "kernel_info_reply",
               trl__kernel_info(r->k));
}

/* ---- shutdown and interrupt ---------------------------------------------- */

void trl__request_shutdown(trl__kernel *k)
{
    atomic_store(&k->shutting_down, 1);
    if (pthread_equal(pthread_self(), k->main_thread))
        return;
    /* The control thread (control_wake is its socket): wake the main loop;
     * stop a running cell so it can see the flag. */
    char b = 1;
    zmq_send(k->control_wake, &b, 1, ZMQ_DONTWAIT);
    if (atomic_load(&k->executing))
        pthread_kill(k->main_thread, SIGINT);
}

static void on_shutdown(request *r)
{
    json_t *restart = content_get(r, "restart");
    trl__reply(r->k, r->sock, r->msg, "shutdown_reply",
               json_pack("{s:s, s:b}", "status", "ok", "restart",
                         json_is_true(restart)));
    trl__request_shutdown(r->k);
}

static void on_interrupt(request *r)
{
    /* The same path as a signal: the handler runs on the main thread, where
     * the engine is, and is the only place that touches it. */
    if (atomic_load(&r->k->executing))
        pthread_kill(r->k->main_thread, SIGINT);
    trl__reply(r->k, r->sock, r->msg, "interrupt_reply",
               json_pack("{s:s}", "status", "ok"));
}

/* ---- execute --------------------------------------------------------------- */

/* Picks the engine from a leading cell magic (%%lua) and returns where its
 * code starts. Unknown cell magics select nothing (NULL). */
static trl_engine *pick_engine(trl__kernel *k, const char *code,
                               const char **body, char *magic, size_t msize)
{
    const char *p = code;
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    *body = code;
    magic[0] = '\0';
    if (strncmp(p, "%%", 2) != 0)
        return k->engines[0];
    const char *name = p + 2;
    size_t len = strcspn(name, " \t\r\n");
    snprintf(magic, msize, "%.*s", (int)len, name);
    const char *eol = strchr(name, '\n');
    *body = eol ? eol + 1 : name + strlen(name);  /* no newline: no code */
    for (size_t i = 0; i < k->n_engines; i++)
        if (strlen(k->engines[i]->ops->name) == len &&
            strncmp(k->engines[i]->ops->name, name, len) == 0)
            return k->engines[i];
    return NULL;
}

/* Cell magics nest (%%time over %%timeit over %%lua) this deep at most. */
#define MAX_CELL_DEPTH 8

trl_engine *trl__cell_engine(trl__kernel *k, const char *code,
                             const char **body, const trl_magic **cell,
                             const char **line, size_t *line_len,
                             trl_exec_ctx *ctx)
{
    char magic[64];
    *cell = NULL;
    trl_engine *e = pick_engine(k, code, body, magic, sizeof magic);
    if (e)
        return e;
    const trl_magic *m = trl_magic_find(magic);
    if (!m || !m->run_cell) {
        char msg[160];
        snprintf(msg, sizeof msg, "Cell magic `%%%%%s` not found.", magic);
        trl_ctx_fail(ctx, "UsageError", msg, json_pack("[s]", msg));
        return NULL;
    }
    /* the rest of the %%name line is the magic's; the body follows */
    const char *p = strstr(code, "%%") + 2 + strlen(magic);
    const char *eol = strchr(p, '\n');
    *line = p;
    *line_len = eol ? (size_t)(eol - p) : strlen(p);
    *cell = m;
    return k->engines[0];
}

int trl__run_cell(trl__kernel *k, const char *code, int depth,
                  trl_exec_ctx *ctx)
{
    const char *body, *line = NULL;
    size_t line_len = 0;
    const trl_magic *cell;
    trl_engine *e = trl__cell_engine(k, code, &body, &cell, &line,
                                     &line_len, ctx);
    if (!e)
        return TRL_ENOTFOUND;
    if (depth >= MAX_CELL_DEPTH) {
        trl_ctx_fail(ctx, "UsageError", "cell magics nested too deep", NULL);
        return TRL_EINVAL;
    }
    if (cell)
        return trl__run_cell_magic(k, e, cell, line, line_len, body,
                                   depth + 1, ctx);
    if (body != code) {
        /* what follows `%%sql` on its line is the engine's (--save) */
        const char *p = strstr(code, "%%") + 2 + strlen(e->ops->name);
        size_t n = (size_t)(body - p);
        while (n && isspace((unsigned char)p[n - 1]))
            n--;
        while (n && isspace((unsigned char)*p))
            p++, n--;
        free(ctx->cell_args);
        ctx->cell_args = strndup(p, n);
    }
    trl__interrupt_arm(e);  /* the engine a %%language body runs in */
    body += trl__run_line_magics(k, e, body, depth, ctx);
    int blank = 1;
    for (const char *p = body; *p && blank; p++)
        blank = isspace((unsigned char)*p);
    if (!ctx->failed && !blank)
        e->ops->execute(e, body, ctx);
    return ctx->failed ? TRL_EINVAL : 0;
}

/* `?name`, `name?` and `name??` page the engine's inspection, as IPython. */
static int page_request(const char *code, char *target, size_t size,
                        int *detail)
{
    const char *s = code, *e = code + strlen(code);
    while (s < e && isspace((unsigned char)*s))
        s++;
    while (e > s && isspace((unsigned char)e[-1]))
        e--;
    int lead = 0, trail = 0;
    while (s < e && *s == '?')
        s++, lead++;
    while (e > s && e[-1] == '?')
        e--, trail++;
    if ((!lead && !trail) || (lead && trail) || s == e || lead > 2 ||
        trail > 2)
        return 0;
    for (const char *p = s; p < e; p++)
        if (!isalnum((unsigned char)*p) && *p != '_' && *p != '.' &&
            *p != ':')
            return 0;
    if ((size_t)(e - s) >= size)
        return 0;
    memcpy(target, s, (size_t)(e - s));
    target[e - s] = '\0';
    *detail = (lead > 1 || trail > 1);
    return 1;
}

static int is_exit_request(const char *code)
{
    while (isspace((unsigned char)*code))
        code++;
    size_t n = strlen(code);
    while (n && isspace((unsigned char)code[n - 1]))
        n--;
    static const char *const words[] = {"exit", "quit", "exit()", "quit()"};
    for (size_t i = 0; i < 4; i++)
        if (n == strlen(words[i]) && strncmp(code, words[i], n) == 0)
            return 1;
    return 0;
}

static json_t *user_expressions(trl_engine *e, json_t *exprs)
{
    json_t *out = json_object();
    const char *key;
    json_t *v;
    json_object_foreach(exprs, key, v) {
        const char *src = json_string_value(v);
        json_t *data = NULL;
        trl_error err;
        trl_error_clear(&err);
        int rc;
        if (src && e->ops->evaluate) {
            /* an expression can loop forever too */
            trl__interrupt_arm(e);
            rc = e->ops->evaluate(e, src, &data, &err);
            trl__interrupt_disarm();
        } else {
            rc = trl_error_set(&err, TRL_EINVAL,
                               "expression must be a string");
        }
        if (rc == 0)
            json_object_set_new(out, key,
                                json_pack("{s:s, s:o, s:{}}", "status", "ok",
                                          "data", data, "metadata"));
        else {
            char *msg = trl_utf8_sanitize(err.message, strlen(err.message),
                                          NULL);
            json_object_set_new(out, key,
                                json_pack("{s:s, s:s, s:s, s:[s]}", "status",
                                          "error", "ename", "EvalError",
                                          "evalue", msg ? msg : "error",
                                          "traceback", msg ? msg : "error"));
            free(msg);
        }
    }
    return out;
}

static void abort_queued(trl__kernel *k);

static void on_execute(request *r)
{
    trl__kernel *k = r->k;
    const char *code = json_string_value(content_get(r, "code"));
    if (!code) {
        trl__log("execute_request without a code string: ignored");
        trl__reply(k, r->sock, r->msg, "execute_reply",
                   json_pack("{s:s, s:i, s:s, s:s, s:[]}", "status", "error",
                             "execution_count", k->execution_count, "ename",
                             "ProtocolError", "evalue",
                             "execute_request has no 'code' string",
                             "traceback"));
        return;
    }
    int silent = json_is_true(content_get(r, "silent"));
    json_t *sh = content_get(r, "store_history");
    int store = !silent && (sh ? json_is_true(sh) : 1);
    json_t *soe = content_get(r, "stop_on_error");
    int stop_on_error = soe ? json_is_true(soe) : 1;

    trl_exec_ctx ctx;
    trl__ctx_init(&ctx, k, r->msg);
    ctx.silent = silent;
    ctx.cell = code;
    ctx.allow_stdin = json_is_true(content_get(r, "allow_stdin"));
    if (store)
        k->execution_count++;
    ctx.execution_count = k->execution_count;
    if (!silent)
        trl__publish(k, r->push, r->msg, "execute_input",
                     json_pack("{s:s, s:i}", "code", code, "execution_count",
                               ctx.execution_count));

    const char *body;
    char magic[64], target[256];
    int detail;
    trl_engine *e = pick_engine(k, code, &body, magic, sizeof magic);
    trl__interrupt_clear();
    if (is_exit_request(body)) {
        /* `exit` / `quit`, as in IPython: consoles end their session. */
        json_array_append_new(ctx.payload,
                              json_pack("{s:s, s:b}", "source", "ask_exit",
                                        "keepkernel", 0));
    } else if (e && page_request(body, target, sizeof target, &detail)) {
        json_t *data = NULL;
        if (e->ops->inspect(e, target, strlen(target), detail, &data) == 0 &&
            data)
            trl_ctx_page(&ctx, data);
        else {
            char msg[300];
            snprintf(msg, sizeof msg, "Object `%s` not found.", target);
            trl_ctx_stream(&ctx, TRL_STDOUT, msg, strlen(msg));
            trl_ctx_stream(&ctx, TRL_STDOUT, "\n", 1);
        }
    } else {
        /* armed before `executing` is visible to the control thread, so
         * an interrupt_request always finds the engine; magics (a long
         * %compare, a %timeit loop) are interruptible as code is */
        e = e ? e : k->engines[0];
        trl__interrupt_arm(e);
        atomic_store(&k->executing, 1);
        trl__run_cell(k, code, 0, &ctx);
        atomic_store(&k->executing, 0);
        trl__interrupt_disarm();
        trl_ctx_flush_result(&ctx);
    }

    json_t *reply;
    if (ctx.failed) {
        if (!silent)
            trl__publish(k, r->push, r->msg, "error",
                         json_pack("{s:s, s:s, s:O}", "ename", ctx.ename,
                                   "evalue", ctx.evalue, "traceback",
                                   ctx.traceback));
        reply = json_pack("{s:s, s:i, s:s, s:s, s:O, s:{}}", "status",
                          "error", "execution_count", ctx.execution_count,
                          "ename", ctx.ename, "evalue", ctx.evalue,
                          "traceback", ctx.traceback, "user_expressions");
    } else {
        json_t *ue = content_get(r, "user_expressions");
        reply = json_pack("{s:s, s:i, s:O, s:o}", "status", "ok",
                          "execution_count", ctx.execution_count, "payload",
                          ctx.payload,
                          "user_expressions",
                          json_is_object(ue) && e ? user_expressions(e, ue)
                                                  : json_object());
    }
    if (store && k->history) {
        /* Written after idle (see trl__dispatch): a SQLite write, and now
         * and then its checkpoint, must not delay the reply. */
        k->pending_line = ctx.execution_count;
        k->pending_source = strdup(code);
        k->pending_output = ctx.result_text ? strdup(ctx.result_text) : NULL;
    }
    trl__reply(k, r->sock, r->msg, "execute_reply", reply);
    /* as ipykernel: only a visible failure aborts the user's queue */
    k->abort_pending = ctx.failed && stop_on_error && !silent;
    trl__ctx_release(&ctx);
    trl__interrupt_clear();
}

/* ---- completion, inspection, is_complete --------------------------------- */

/* Code points <-> bytes: cursor_pos counts Unicode code points (5.2+). */
static size_t cp_to_byte(const char *s, long cp)
{
    size_t i = 0;
    for (long n = 0; s[i] && n < cp; n++) {
        i++;
        while (((unsigned char)s[i] & 0xC0) == 0x80)
            i++;
    }
    return i;
}

static long byte_to_cp(const char *s, size_t byte)
{
    long n = 0;
    for (size_t i = 0; s[i] && i < byte; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            n++;
    return n;
}

static size_t cursor_bytes(request *r, const char *code)
{
    json_t *cp = content_get(r, "cursor_pos");
    if (!json_is_integer(cp))
        return strlen(code);
    json_int_t v = json_integer_value(cp);
    return cp_to_byte(code, v < 0 ? 0 : (long)v);
}

/* `%na` at the start of a line completes magic names. */
static int complete_magic(trl__kernel *k, const char *code, size_t cur,
                          trl_completion *c)
{
    size_t start = cur;
    while (start > 0 && (isalnum((unsigned char)code[start - 1]) ||
                         code[start - 1] == '_'))
        start--;
    if (start == 0 || code[start - 1] != '%')
        return 0;
    size_t pct = start - 1;
    /* `%%na` on the first line completes cell magics and languages */
    int cell = pct > 0 && code[pct - 1] == '%' &&
               (pct == 1 || code[pct - 2] == '\n');
    if (cell)
        pct--;
    else if (pct > 0 && code[pct - 1] != '\n')
        return 0;
    c->matches = json_array();
    c->cursor_start = pct;
    c->cursor_end = cur;
    size_t n;
    const trl_magic *const *all = trl_magic_all(&n);
    const char *prefix = cell ? "%%" : "%";
    for (size_t i = 0; i < n; i++)
        if ((cell ? all[i]->run_cell != NULL : all[i]->run != NULL) &&
            strncmp(all[i]->name, code + start, cur - start) == 0) {
            char m[80];
            snprintf(m, sizeof m, "%s%s", prefix, all[i]->name);
            json_array_append_new(c->matches, json_string(m));
        }
    for (size_t i = 0; cell && i < k->n_engines; i++)
        if (strncmp(k->engines[i]->ops->name, code + start, cur - start) ==
            0) {
            char m[80];
            snprintf(m, sizeof m, "%%%%%s", k->engines[i]->ops->name);
            json_array_append_new(c->matches, json_string(m));
        }
    return 1;
}

static void on_complete(request *r)
{
    const char *code = json_string_value(content_get(r, "code"));
    if (!code)
        code = "";
    size_t cur = cursor_bytes(r, code);
    const char *body;
    char magic[64];
    trl_engine *e = pick_engine(r->k, code, &body, magic, sizeof magic);
    trl_completion c = {0};
    size_t off = (size_t)(body - code);
    if (complete_magic(r->k, code, cur, &c))
        off = 0;
    else if (e && cur >= off)
        e->ops->complete(e, body, cur - off, &c);
    if (!c.matches) {
        c.matches = json_array();
        c.cursor_start = c.cursor_end = cur - off;
    }
    trl__reply(r->k, r->sock, r->msg, "complete_reply",
               json_pack("{s:s, s:o, s:I, s:I, s:{}}", "status", "ok",
                         "matches", c.matches, "cursor_start",
                         (json_int_t)byte_to_cp(code, c.cursor_start + off),
                         "cursor_end",
                         (json_int_t)byte_to_cp(code, c.cursor_end + off),
                         "metadata"));
}

static void on_inspect(request *r)
{
    const char *code = json_string_value(content_get(r, "code"));
    if (!code)
        code = "";
    size_t cur = cursor_bytes(r, code);
    json_int_t detail = json_integer_value(content_get(r, "detail_level"));
    const char *body;
    char magic[64];
    trl_engine *e = pick_engine(r->k, code, &body, magic, sizeof magic);
    json_t *data = NULL;
    size_t off = (size_t)(body - code);
    if (e && cur >= off)
        e->ops->inspect(e, body, cur - off, (int)detail, &data);
    trl__reply(r->k, r->sock, r->msg, "inspect_reply",
               json_pack("{s:s, s:b, s:o, s:{}}", "status", "ok", "found",
                         data != NULL, "data", data ? data : json_object(),
                         "metadata"));
}

static void on_is_complete(request *r)
{
    const char *code = json_string_value(content_get(r, "code"));
    if (!code)
        code = "";
    const char *body = code;
    char magic[64], indent[64] = "";
    trl_engine *e;
    /* past cell magics (%%time) to the language that runs the code */
    for (int depth = 0;; depth++) {
        const char *from = body;
        e = pick_engine(r->k, from, &body, magic, sizeof magic);
        const trl_magic *m = e ? NULL : trl_magic_find(magic);
        if (e || !m || !m->run_cell || depth == MAX_CELL_DEPTH)
            break;
    }
    trl_code_status st = TRL_CODE_UNKNOWN;
    int header = body != code;
    body += trl_magic_leading(body);
    int empty = 1;
    for (const char *p = body; *p && empty; p++)
        empty = isspace((unsigned char)*p);
    if (!e)
        st = TRL_CODE_INVALID;
    else if (header && empty)
        st = TRL_CODE_INCOMPLETE;  /* `%%sql` alone: the code comes next */
    else if (e->ops->is_complete)
        st = e->ops->is_complete(e, body, indent, sizeof indent);
    static const char *names[] = {"complete", "incomplete", "invalid",
                                  "unknown"};
    json_t *c = json_pack("{s:s}", "status", names[st]);
    if (st == TRL_CODE_INCOMPLETE)
        json_object_set_new(c, "indent", json_string(indent));
    trl__reply(r->k, r->sock, r->msg, "is_complete_reply", c);
}

/* ---- history, comms -------------------------------------------------------- */

static int int_field(request *r, const char *key, int dflt)
{
    json_t *v = content_get(r, key);
    if (!json_is_number(v))
        return dflt;
    double d = json_number_value(v);
    /* clamped: a client's 1e300 must not be undefined behaviour */
    return d > 1e9 ? 1000000000 : d < -1e9 ? -1000000000 : (int)d;
}

static void on_history(request *r)
{
    trl__history *h = r->k->history;
    const char *type = json_string_value(content_get(r, "hist_access_type"));
    int output = json_is_true(content_get(r, "output"));
    json_t *hist = NULL;
    if (h && type && strcmp(type, "tail") == 0)
        hist = trl__history_tail(h, int_field(r, "n", 10), output);
    else if (h && type && strcmp(type, "range") == 0)
        hist = trl__history_range(h, int_field(r, "session", 0),
                                  int_field(r, "start", 1),
                                  int_field(r, "stop", 0), output);
    else if (h && type && strcmp(type, "search") == 0) {
        const char *pat = json_string_value(content_get(r, "pattern"));
        hist = trl__history_search(h, pat ? pat : "*", int_field(r, "n", 0),
                                   json_is_true(content_get(r, "unique")),
                                   output);
    }
    trl__reply(r->k, r->sock, r->msg, "history_reply",
               json_pack("{s:s, s:o}", "status", "ok", "history",
                         hist ? hist : json_array()));
}

static void on_comm_info(request *r)
{
    trl__reply(r->k, r->sock, r->msg, "comm_info_reply",
               json_pack("{s:s, s:{}}", "status", "ok", "comms"));
}

static void on_comm_open(request *r)
{
    /* No comm targets yet: close it at once so the frontend does not wait
     * for a partner that will never answer (ipykernel does the same). */
    const char *id = json_string_value(content_get(r, "comm_id"));
    const char *target = json_string_value(content_get(r, "target_name"));
    trl__log("comm_open for unknown target '%s': closed",
             target ? target : "");
    if (id)
        trl__publish(r->k, r->push, r->msg, "comm_close",
                     json_pack("{s:s, s:{}}", "comm_id", id, "data"));
}

static void on_comm_ignored(request *r)
{
    (void)r;  /* comm_msg / comm_close for comms we never opened */
}

/* ---- the tables ------------------------------------------------------------ */

typedef struct route {
    const char *msg_type;
    handler_fn fn;
} route;

static const route shell_routes[] = {
    {"execute_request", on_execute},
    {"kernel_info_request", on_kernel_info},
    {"complete_request", on_complete},
    {"inspect_request", on_inspect},
    {"is_complete_request", on_is_complete},
    {"history_request", on_history},
    {"comm_info_request", on_comm_info},
    {"comm_open", on_comm_open},
    {"comm_msg", on_comm_ignored},
    {"comm_close", on_comm_ignored},
    {"shutdown_request", on_shutdown},
    {NULL, NULL}};

static const route control_routes[] = {
    {"kernel_info_request", on_kernel_info},
    {"shutdown_request", on_shutdown},
    {"interrupt_request", on_interrupt},
    {NULL, NULL}};

void trl__dispatch(trl__kernel *k, void *sock, void *push, trl__msg *msg)
{
    request r = {k, sock, push, msg};
    const route *routes = sock == k->shell ? shell_routes : control_routes;
    const char *type = trl__msg_type(msg);
    handler_fn fn = NULL;
    for (const route *rt = routes; rt->msg_type; rt++)
        if (strcmp(rt->msg_type, type) == 0)
            fn = rt->fn;
    trl__publish_status(k, push, msg, "busy");
    if (fn)
        fn(&r);
    else
        trl__log("%s: unknown message type '%s': ignored",
                 sock == k->shell ? "shell" : "control", type);
    /* Queued executes are aborted before idle: a client that sends its
     * next request on seeing idle must find it run, not aborted. */
    if (sock == k->shell && k->abort_pending) {
        k->abort_pending = 0;
        abort_queued(k);
    }
    /* idle after the reply: wait_for_ready and nbclient key on it */
    trl__publish_status(k, push, msg, "idle");
    if (sock == k->shell && k->pending_source) {
        if (trl__history_store(k->history, k->pending_line,
                               k->pending_source, k->pending_output) != 0)
            trl__log("history: cannot store cell %d", k->pending_line);
        free(k->pending_source);
        free(k->pending_output);
        k->pending_source = k->pending_output = NULL;
    }
}

/* After a failed cell with stop_on_error, every execute_request already
 * queued is answered "aborted" (ipykernel's behaviour); other requests are
 * served normally. The reply is the status alone, as the spec's abort
 * reply and ipykernel's: a cell that never ran has no execution count, and
 * a frontend given one shows it (the classic Notebook printed the failed
 * cell's number, In [4], on every aborted cell). */
static void abort_queued(trl__kernel *k)
{
    for (;;) {
        zmq_pollitem_t it = {k->shell, 0, ZMQ_POLLIN, 0};
        int n = zmq_poll(&it, 1, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        trl__frames f = {0};
        if (trl__recv_frames(k->shell, &f) != 0)
            return;
        trl__msg m;
        trl_error err;
        int rc = trl__wire_decode(f.v, f.n, &k->signer, &m, &err);
        trl__frames_clear(&f);
        if (rc) {
            trl__log("shell: dropped a message: %s", err.message);
            continue;
        }
        if (strcmp(trl__msg_type(&m), "execute_request") == 0) {
            trl__publish_status(k, k->iopub_in, &m, "busy");
            trl__reply(k, k->shell, &m, "execute_reply",
                       json_pack("{s:s}", "status", "aborted"));
            trl__publish_status(k, k->iopub_in, &m, "idle");
        } else {
            trl__dispatch(k, k->shell, k->iopub_in, &m);
        }
        trl__msg_clear(&m);
    }
}

void trl__reject_oversized(trl__kernel *k, trl__msg *req, size_t size)
{
    const char *type = trl__msg_type(req);
    size_t n = strlen(type);
    char reply_type[96];
    if (n > 8 && strcmp(type + n - 8, "_request") == 0)
        snprintf(reply_type, sizeof reply_type, "%.*s_reply", (int)(n - 8),
                 type);
    else
        return;  /* not a request: nothing to answer */
    char msg[200];
    snprintf(msg, sizeof msg, "the message is %zu bytes, over the kernel's "
             "limit of %zu (TRELLIS_MAX_MESSAGE)", size, k->max_message);
    trl__publish_status(k, k->iopub_in, req, "busy");
    trl__reply(k, k->shell, req, reply_type,
               json_pack("{s:s, s:s, s:s, s:[s], s:i}", "status", "error",
                         "ename", "MessageTooLarge", "evalue", msg,
                         "traceback", msg, "execution_count",
                         k->execution_count));
    trl__publish_status(k, k->iopub_in, req, "idle");
}
