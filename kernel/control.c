/* control.c - the control thread: kernel_info, interrupt and shutdown are
 * answered here even while the main thread runs a cell. */
#include <errno.h>
#include <signal.h>

#include <zmq.h>

#include "kernel/kernel_int.h"

void *trl__control_main(void *arg)
{
    trl__kernel *k = arg;
    while (!atomic_load(&k->shutting_down)) {
        trl__frames f = {0};
        int rc = trl__recv_frames(k->control, &f);
        if (rc == TRL_EINTR)
            continue;
        if (rc)
            break;  /* context shut down */
        if (k->max_message) {
            size_t total = 0;
            for (size_t i = 0; i < f.n; i++)
                total += f.v[i].size;
            if (total > k->max_message) {
                trl__log("control: dropped a %zu-byte message (limit %zu)",
                         total, k->max_message);
                trl__frames_clear(&f);
                continue;
            }
        }
        trl__msg req;
        trl_error err;
        rc = trl__wire_decode(f.v, f.n, &k->signer, &req, &err);
        trl__frames_clear(&f);
        if (rc) {
            trl__log("control: dropped a message: %s", err.message);
            continue;
        }
        trl__dispatch(k, k->control, k->control_iopub, &req);
        trl__msg_clear(&req);
    }
    zmq_close(k->control);
    zmq_close(k->control_iopub);
    zmq_close(k->control_wake);
    return NULL;
}
