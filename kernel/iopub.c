/* iopub.c - the iopub thread: owns the XPUB socket, forwards what the other
 * threads hand it, coalesces stream output, welcomes subscribers. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zmq.h>

#include "kernel/kernel_int.h"

/* Stream text waits at most this long before it is published: frequent
 * enough to look live, rare enough that a print loop is not a message
 * storm (ipykernel flushes every 0.2 s; consoles want quicker). */
#define STREAM_FLUSH_MS 50
#define STREAM_FLUSH_BYTES (64 * 1024)

typedef struct stream_buf {
    char *text;
    size_t len, cap;
    char *parent;      /* parent header JSON text the text belongs to */
    long long due_ms;  /* when to flush, 0 = empty */
} stream_buf;

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int forward(void *xpub, const trl__frames *f, size_t first)
{
    for (size_t i = first; i < f->n; i++) {
        int flags = i + 1 < f->n ? ZMQ_SNDMORE : 0;
        while (zmq_send(xpub, f->v[i].data, f->v[i].size, flags) < 0)
            if (errno != EINTR)
                return TRL_EIO;
    }
    return 0;
}

static void publish_now(trl__kernel *k, const char *msg_type,
                        json_t *parent_header, json_t *content_new)
{
    trl__msg parent = {0};
    parent.header = parent_header;
    trl__msg m;
    if (trl__msg_init_reply(&m, &parent, msg_type, content_new, k->session,
                            0) != 0)
        return;
    if (!parent_header) {
        json_decref(m.parent_header);
        m.parent_header = json_object();
    }
    char topic[128];
    snprintf(topic, sizeof topic, "kernel.%s.%s", k->session, msg_type);
    trl__frames f = {0};
    trl_error err;
    if (trl__frames_push(&m.idents, topic, strlen(topic)) == 0 &&
        trl__wire_encode(&m, &k->signer, &f, &err) == 0)
        forward(k->iopub, &f, 0);
    trl__frames_clear(&f);
    trl__msg_clear(&m);
}

static void flush_stream(trl__kernel *k, stream_buf *b, const char *name)
{
    if (!b->due_ms)
        return;
    json_t *parent = json_loads(b->parent, 0, NULL);
    json_t *text = json_stringn_nocheck(b->text, b->len);
    publish_now(k, "stream", parent,
                json_pack("{s:s, s:o}", "name", name, "text", text));
    json_decref(parent);
    b->len = 0;
    b->due_ms = 0;
}

static void flush_all(trl__kernel *k, stream_buf bufs[2])
{
    flush_stream(k, &bufs[TRL_STDOUT], "stdout");
    flush_stream(k, &bufs[TRL_STDERR], "stderr");
}

/* frames: tag, name, parent header, text. */
static void add_stream(trl__kernel *k, stream_buf bufs[2],
                       const trl__frames *f)
{
    if (f->n != 4)
        return;
    int which = f->v[1].size == 6 && memcmp(f->v[1].data, "stderr", 6) == 0
                    ? TRL_STDERR
                    : TRL_STDOUT;
    stream_buf *b = &bufs[which];
    int same_parent = b->parent && strlen(b->parent) == f->v[2].size &&
                      memcmp(b->parent, f->v[2].data, f->v[2].size) == 0;
    if (!same_parent) {
        flush_all(k, bufs);
        char *p = malloc(f->v[2].size + 1);
        if (!p)
            return;
        memcpy(p, f->v[2].data, f->v[2].size);
        p[f->v[2].size] = '\0';
        free(b->parent);
        b->parent = p;
    }
    /* The two streams are coalesced separately (as ipykernel's): a loop
     * that alternates them must not become one message per write. */
    if (b->len + f->v[3].size > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + f->v[3].size)
            cap *= 2;
        char *t = realloc(b->text, cap);
        if (!t)
            return;
        b->text = t;
        b->cap = cap;
    }
    memcpy(b->text + b->len, f->v[3].data, f->v[3].size);
    b->len += f->v[3].size;
    if (!b->due_ms)
        b->due_ms = now_ms() + STREAM_FLUSH_MS;
    if (b->len >= STREAM_FLUSH_BYTES)
        flush_stream(k, b, which == TRL_STDOUT ? "stdout" : "stderr");
}

/* A subscription arrives as \x01 + topic; answering it tells 5.5 clients
 * that iopub is connected (JEP 65). */
static void handle_subscription(trl__kernel *k)
{
    trl__frames f = {0};
    if (trl__recv_frames(k->iopub, &f) != 0)
        return;
    if (f.n >= 1 && f.v[0].size >= 1 && f.v[0].data[0] == 1) {
        json_t *topic = json_stringn(f.v[0].data + 1, f.v[0].size - 1);
        if (topic)
            publish_now(k, "iopub_welcome", NULL,
                        json_pack("{s:o}", "subscription", topic));
    }
    trl__frames_clear(&f);
}

void *trl__iopub_main(void *arg)
{
    trl__kernel *k = arg;
    stream_buf bufs[2] = {{0}, {0}};
    int quitting = 0;

    while (!quitting) {
        long long due = 0;
        for (int i = 0; i < 2; i++)
            if (bufs[i].due_ms && (!due || bufs[i].due_ms < due))
                due = bufs[i].due_ms;
        long timeout = -1;
        if (due) {
            long long left = due - now_ms();
            timeout = left > 0 ? (long)left : 0;
        }
        zmq_pollitem_t items[2] = {{k->iopub_pull, 0, ZMQ_POLLIN, 0},
                                   {k->iopub, 0, ZMQ_POLLIN, 0}};
        int n = zmq_poll(items, 2, timeout);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            break;  /* context shut down */
        }
        long long t = now_ms();
        for (int i = 0; i < 2; i++)
            if (bufs[i].due_ms && bufs[i].due_ms <= t)
                flush_stream(k, &bufs[i], i ? "stderr" : "stdout");
        if (items[1].revents & ZMQ_POLLIN)
            handle_subscription(k);
        if (!(items[0].revents & ZMQ_POLLIN))
            continue;
        /* Drain what is queued, in order, before polling again. */
        for (;;) {
            trl__frames f = {0};
            if (trl__recv_frames(k->iopub_pull, &f) != 0)
                break;
            char tag = f.n && f.v[0].size ? f.v[0].data[0] : 0;
            if (tag == TRL__IOPUB_STREAM) {
                add_stream(k, bufs, &f);
            } else if (tag == TRL__IOPUB_FORWARD) {
                flush_all(k, bufs);
                forward(k->iopub, &f, 1);
            } else if (tag == TRL__IOPUB_QUIT) {
                quitting = 1;
            }
            trl__frames_clear(&f);
            if (quitting)
                break;
            zmq_pollitem_t more = {k->iopub_pull, 0, ZMQ_POLLIN, 0};
            if (zmq_poll(&more, 1, 0) <= 0)
                break;
        }
        if (quitting) {
            /* Others may have queued before we were told to quit:
             * whatever is already in the pipe still goes out. */
            for (;;) {
                trl__frames f = {0};
                zmq_pollitem_t more = {k->iopub_pull, 0, ZMQ_POLLIN, 0};
                if (zmq_poll(&more, 1, 0) <= 0 ||
                    trl__recv_frames(k->iopub_pull, &f) != 0)
                    break;
                if (f.n && f.v[0].size && f.v[0].data[0] == TRL__IOPUB_FORWARD) {
                    flush_all(k, bufs);
                    forward(k->iopub, &f, 1);
                } else if (f.n && f.v[0].size &&
                           f.v[0].data[0] == TRL__IOPUB_STREAM) {
                    add_stream(k, bufs, &f);
                }
                trl__frames_clear(&f);
            }
        }
    }
    flush_all(k, bufs);
    for (int i = 0; i < 2; i++) {
        free(bufs[i].text);
        free(bufs[i].parent);
    }
    zmq_close(k->iopub_pull);
    zmq_close(k->iopub);
    return NULL;
}
