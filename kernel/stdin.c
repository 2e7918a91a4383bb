/* stdin.c - input_request / input_reply on the stdin channel. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "kernel/kernel_int.h"

int trl__stdin_request(trl__kernel *k, const trl__msg *parent,
                       const char *prompt, int password, char **line_out,
                       trl_error *err)
{
    *line_out = NULL;
    /* The request goes to the identities of the shell request: the client's
     * stdin DEALER has the same identity as its shell socket. */
    trl__msg req;
    if (trl__msg_init_reply(&req, parent, "input_request",
                            json_pack("{s:s, s:b}", "prompt", prompt,
                                      "password", password),
                            k->session, 1) != 0)
        return trl_error_set(err, TRL_ENOMEM, "out of memory");
    const char *want = json_string_value(json_object_get(req.header,
                                                         "msg_id"));
    char want_id[64];
    snprintf(want_id, sizeof want_id, "%s", want ? want : "");
    int rc = trl__send_msg(k, k->stdin_sock, &req);
    trl__msg_clear(&req);
    if (rc)
        return trl_error_set(err, TRL_EIO, "cannot send input_request");

    for (;;) {
        if (trl__interrupt_pending())
            return trl_error_set(err, TRL_EINTR, "interrupted");
        if (atomic_load(&k->shutting_down))
            return trl_error_set(err, TRL_EINTR, "kernel is shutting down");
        zmq_pollitem_t it = {k->stdin_sock, 0, ZMQ_POLLIN, 0};
        int n = zmq_poll(&it, 1, 100);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return trl_error_set(err, TRL_EIO, "stdin socket closed");
        if (n == 0)
            continue;
        trl__frames f = {0};
        rc = trl__recv_frames(k->stdin_sock, &f);
        if (rc == TRL_EINTR)
            continue;
        if (rc)
            return trl_error_set(err, TRL_EIO, "stdin socket closed");
        trl__msg reply;
        trl_error derr;
        rc = trl__wire_decode(f.v, f.n, &k->signer, &reply, &derr);
        trl__frames_clear(&f);
        if (rc) {
            trl__log("stdin: dropped a message: %s", derr.message);
            continue;
        }
        const char *pid = json_string_value(
            json_object_get(reply.parent_header, "msg_id"));
        const char *value = json_string_value(
            json_object_get(reply.content, "value"));
        if (strcmp(trl__msg_type(&reply), "input_reply") != 0 || !value ||
            (pid && want_id[0] && strcmp(pid, want_id) != 0)) {
            trl__log("stdin: ignored an unexpected %s", trl__msg_type(&reply));
            trl__msg_clear(&reply);
            continue;
        }
        *line_out = strdup(value);
        trl__msg_clear(&reply);
        return *line_out ? 0 : trl_error_set(err, TRL_ENOMEM, "out of memory");
    }
}
