/* exec_ctx.c - what a running cell's output becomes: iopub messages parented
 * by the execute_request, in order. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "kernel/kernel_int.h"
#include "trellis/display.h"

static int kernel_publish(void *ud, const char *msg_type, json_t *content_new)
{
    trl_exec_ctx *ctx = ud;
    return trl__publish(ctx->k, ctx->k->iopub_in, ctx->parent, msg_type,
                        content_new);
}

static int send_part(void *sock, const void *data, size_t len, int flags)
{
    /* a signal between parts must not cut a multipart message in two */
    while (zmq_send(sock, data, len, flags) < 0)
        if (errno != EINTR)
            return TRL_EIO;
    return 0;
}

static int kernel_stream(void *ud, trl_stream which, const char *text,
                         size_t len)
{
    trl_exec_ctx *ctx = ud;
    /* serialised once per cell, not once per print */
    if (!ctx->parent_json &&
        !(ctx->parent_json = json_dumps(ctx->parent->header, JSON_COMPACT)))
        return TRL_ENOMEM;
    const char *parent = ctx->parent_json;
    /* The iopub thread coalesces these and flushes them on a timer, so a
     * cell that prints and then computes shows its output at once. */
    const char *name = which == TRL_STDERR ? "stderr" : "stdout";
    char tag = TRL__IOPUB_STREAM;
    void *s = ctx->k->iopub_in;
    int rc = send_part(s, &tag, 1, ZMQ_SNDMORE);
    if (!rc)
        rc = send_part(s, name, 6, ZMQ_SNDMORE);
    if (!rc)
        rc = send_part(s, parent, strlen(parent), ZMQ_SNDMORE);
    if (!rc)
        rc = send_part(s, text, len, 0);
    return rc;
}

static int kernel_input(void *ud, const char *prompt, int password,
                        char **line_out, trl_error *err)
{
    trl_exec_ctx *ctx = ud;
    return trl__stdin_request(ctx->k, ctx->parent, prompt, password,
                              line_out, err);
}

void trl__ctx_init_sink(trl_exec_ctx *ctx, const trl__ctx_sink *sink)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->sink = *sink;
    ctx->payload = json_array();
}

void trl__ctx_init(trl_exec_ctx *ctx, trl__kernel *k, const trl__msg *parent)
{
    trl__ctx_sink sink = {kernel_publish, kernel_stream, kernel_input, NULL};
    trl__ctx_init_sink(ctx, &sink);
    ctx->sink.ud = ctx;
    ctx->k = k;
    ctx->parent = parent;
}

void trl__ctx_release(trl_exec_ctx *ctx)
{
    json_decref(ctx->payload);
    json_decref(ctx->traceback);
    json_decref(ctx->held_data);
    free(ctx->cell_args);
    json_decref(ctx->held_meta);
    free(ctx->parent_json);
    free(ctx->result_text);
    free(ctx->ename);
    free(ctx->evalue);
    memset(ctx, 0, sizeof *ctx);
}

int trl_ctx_stream(trl_exec_ctx *ctx, trl_stream which, const char *text,
                   size_t len)
{
    if (ctx->silent || len == 0)
        return 0;
    size_t clean_len;
    char *clean = trl_utf8_sanitize(text, len, &clean_len);
    if (!clean)
        return TRL_ENOMEM;
    int rc = ctx->sink.stream(ctx->sink.ud, which, clean, clean_len);
    free(clean);
    return rc;
}

int trl_ctx_printf(trl_exec_ctx *ctx, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return TRL_EINVAL;
    if ((size_t)n < sizeof small)
        return trl_ctx_stream(ctx, TRL_STDOUT, small, (size_t)n);
    char *big = malloc((size_t)n + 1);
    if (!big)
        return TRL_ENOMEM;
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    int rc = trl_ctx_stream(ctx, TRL_STDOUT, big, (size_t)n);
    free(big);
    return rc;
}

static int publish_bundle(trl_exec_ctx *ctx, const char *msg_type,
                          json_t *data_new, json_t *metadata_new,
                          const char *display_id, int with_count)
{
    if (!data_new || !json_is_object(data_new)) {
        json_decref(data_new);
        json_decref(metadata_new);
        return TRL_EINVAL;
    }
    if (ctx->silent) {
        json_decref(data_new);
        json_decref(metadata_new);
        return 0;
    }
    /* metadata must be {} and never null: JupyterLab drops the output. */
    json_t *content = json_pack("{s:o, s:o}", "data", data_new, "metadata",
                                metadata_new ? metadata_new : json_object());
    if (!content)
        return TRL_ENOMEM;
    if (display_id)
        json_object_set_new(content, "transient",
                            json_pack("{s:s}", "display_id", display_id));
    if (with_count)
        json_object_set_new(content, "execution_count",
                            json_integer(ctx->execution_count));
    return ctx->sink.publish(ctx->sink.ud, msg_type, content);
}

int trl_ctx_display(trl_exec_ctx *ctx, json_t *data_new, json_t *metadata_new,
                    const char *display_id)
{
    return publish_bundle(ctx, "display_data", data_new, metadata_new,
                          display_id, 0);
}

int trl_ctx_update_display(trl_exec_ctx *ctx, json_t *data_new,
                           json_t *metadata_new, const char *display_id)
{
    if (!display_id) {
        json_decref(data_new);
        json_decref(metadata_new);
        return TRL_EINVAL;
    }
    return publish_bundle(ctx, "update_display_data", data_new, metadata_new,
                          display_id, 0);
}

int trl_ctx_result(trl_exec_ctx *ctx, json_t *data_new, json_t *metadata_new)
{
    if (ctx->has_result) {
        json_decref(data_new);
        json_decref(metadata_new);
        return TRL_EINVAL;
    }
    ctx->has_result = 1;
    const char *text = json_string_value(json_object_get(data_new,
                                                         "text/plain"));
    if (text)
        ctx->result_text = strdup(text);
    if (ctx->hold) {
        ctx->held_data = data_new;
        ctx->held_meta = metadata_new;
        return 0;
    }
    return publish_bundle(ctx, "execute_result", data_new, metadata_new, NULL,
                          1);
}

void trl_ctx_hold_result(trl_exec_ctx *ctx)
{
    ctx->hold = 1;
}

int trl_ctx_flush_result(trl_exec_ctx *ctx)
{
    ctx->hold = 0;
    if (!ctx->held_data)
        return 0;
    json_t *data = ctx->held_data, *meta = ctx->held_meta;
    ctx->held_data = ctx->held_meta = NULL;
    return publish_bundle(ctx, "execute_result", data, meta, NULL, 1);
}

int trl_ctx_clear_output(trl_exec_ctx *ctx, int wait)
{
    if (ctx->silent)
        return 0;
    return ctx->sink.publish(ctx->sink.ud, "clear_output",
                             json_pack("{s:b}", "wait", wait));
}

int trl_ctx_page(trl_exec_ctx *ctx, json_t *data_new)
{
    json_t *p = json_pack("{s:s, s:o, s:i}", "source", "page", "data",
                          data_new, "start", 0);
    return p ? json_array_append_new(ctx->payload, p) : TRL_ENOMEM;
}

int trl_ctx_fail(trl_exec_ctx *ctx, const char *ename, const char *evalue,
                 json_t *traceback_new)
{
    if (ctx->failed) {
        json_decref(traceback_new);
        return 0;
    }
    ctx->failed = 1;
    ctx->ename = trl_utf8_sanitize(ename, strlen(ename), NULL);
    ctx->evalue = trl_utf8_sanitize(evalue, strlen(evalue), NULL);
    ctx->traceback = traceback_new ? traceback_new : json_array();
    return 0;
}

int trl_ctx_input(trl_exec_ctx *ctx, const char *prompt, int password,
                  char **line_out, trl_error *err)
{
    *line_out = NULL;
    if (!ctx->allow_stdin)
        return trl_error_set(err, TRL_EINVAL,
                             "this client does not accept input (the "
                             "request said allow_stdin=false)");
    return ctx->sink.input(ctx->sink.ud, prompt, password, line_out, err);
}

int trl_ctx_execution_count(const trl_exec_ctx *ctx)
{
    return ctx->execution_count;
}

int trl_ctx_interrupted(const trl_exec_ctx *ctx)
{
    (void)ctx;
    return trl__interrupt_pending();
}

const char *trl_ctx_cell_args(const trl_exec_ctx *ctx)
{
    return ctx->cell_args ? ctx->cell_args : "";
}

int trl_ctx_code_line(const trl_exec_ctx *ctx, const char *code)
{
    const char *cell = ctx->cell;
    if (!cell || code < cell || code > cell + strlen(cell))
        return 1;
    int line = 1;
    for (const char *p = cell; p < code; p++)
        line += *p == '\n';
    return line;
}
