/* socket.c - sending and receiving whole messages on ZeroMQ sockets. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <zmq.h>

#include "kernel/kernel_int.h"

void trl__log(const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "[trellis] %s\n", line);
}

int trl__recv_frames(void *sock, trl__frames *out)
{
    int more = 1;
    while (more) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, sock, 0) < 0) {
            int e = errno;
            zmq_msg_close(&part);
            if (e == EINTR && out->n == 0)
                return TRL_EINTR;
            if (e == EINTR)
                continue;  /* mid-message: the rest is already queued */
            trl__frames_clear(out);
            return TRL_EIO;
        }
        int rc = trl__frames_push(out, zmq_msg_data(&part),
                                  zmq_msg_size(&part));
        more = zmq_msg_more(&part);
        zmq_msg_close(&part);
        if (rc) {
            /* drain the rest so the next recv starts at a message */
            while (more) {
                zmq_msg_init(&part);
                if (zmq_msg_recv(&part, sock, 0) < 0 && errno != EINTR) {
                    zmq_msg_close(&part);
                    break;
                }
                more = zmq_msg_more(&part);
                zmq_msg_close(&part);
            }
            trl__frames_clear(out);
            return TRL_ENOMEM;
        }
    }
    return 0;
}

static int send_frames(void *sock, const trl__frames *f)
{
    for (size_t i = 0; i < f->n; i++) {
        int flags = i + 1 < f->n ? ZMQ_SNDMORE : 0;
        while (zmq_send(sock, f->v[i].data, f->v[i].size, flags) < 0) {
            if (errno != EINTR)
                return TRL_EIO;
        }
    }
    return 0;
}

int trl__send_msg(trl__kernel *k, void *sock, const trl__msg *m)
{
    trl__frames f = {0};
    trl_error err;
    int rc = trl__wire_encode(m, &k->signer, &f, &err);
    if (rc)
        trl__log("cannot encode %s: %s", trl__msg_type(m), err.message);
    else
        rc = send_frames(sock, &f);
    trl__frames_clear(&f);
    return rc;
}

int trl__publish(trl__kernel *k, void *push, const trl__msg *parent,
                 const char *msg_type, json_t *content_new)
{
    trl__msg m;
    int rc = trl__msg_init_reply(&m, parent, msg_type, content_new,
                                 k->session, 0);
    if (rc)
        return rc;
    char topic[128];
    snprintf(topic, sizeof topic, "kernel.%s.%s", k->session, msg_type);
    trl__frames f = {0};
    trl_error err;
    char tag = TRL__IOPUB_FORWARD;
    if ((rc = trl__frames_push(&m.idents, topic, strlen(topic))) == 0 &&
        (rc = trl__frames_push(&f, &tag, 1)) == 0 &&
        (rc = trl__wire_encode(&m, &k->signer, &f, &err)) == 0)
        rc = send_frames(push, &f);
    if (rc)
        trl__log("cannot publish %s (error %d)", msg_type, rc);
    trl__frames_clear(&f);
    trl__msg_clear(&m);
    return rc;
}

int trl__publish_status(trl__kernel *k, void *push, const trl__msg *parent,
                        const char *state)
{
    return trl__publish(k, push, parent, "status",
                        json_pack("{s:s}", "execution_state", state));
}

int trl__reply(trl__kernel *k, void *sock, const trl__msg *parent,
               const char *msg_type, json_t *content_new)
{
    trl__msg m;
    int rc = trl__msg_init_reply(&m, parent, msg_type, content_new,
                                 k->session, 1);
    if (rc)
        return rc;
    rc = trl__send_msg(k, sock, &m);
    trl__msg_clear(&m);
    return rc;
}
