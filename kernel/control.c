/* control.c - the control thread: kernel_info, interrupt and shutdown are
 * answered here even while the main thread runs a cell. */
#include <errno.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "kernel/kernel_int.h"

/* How often the client that started the kernel is looked for. */
#define PARENT_POLL_MS 1000
/* How long a cell has to stop once that client is gone. */
#define ORPHAN_GRACE_S 10

/* The client that started the kernel is gone (killed, crashed) without
 * shutting it down: nobody can reach the kernel any more, so it shuts
 * down as for a shutdown_request, interrupting a running cell (which
 * could otherwise spin for ever, as an orphan nobody sees). A cell that
 * does not stop within the grace period ends with the process, as
 * ipykernel's parent poller ends it: a registry write cut short is rolled
 * back by the next open. */
static void orphaned(trl__kernel *k)
{
    trl__log("the client that started the kernel is gone: exiting");
    trl__request_shutdown(k);
    struct timespec tick = {0, 100 * 1000 * 1000};
    for (int i = 0; i < ORPHAN_GRACE_S * 10; i++) {
        if (!atomic_load(&k->executing))
            return;
        nanosleep(&tick, NULL);
    }
    trl__log("the running cell did not stop: exiting now");
    _exit(1);
}

/* 1 when a request waits on the control socket, 0 when the parent
 * check found nothing to do, -1 when the context is shut down. */
static int wait_request(trl__kernel *k)
{
    if (!k->parent)
        return 1;  /* nothing to watch: block in the receive */
    for (;;) {
        zmq_pollitem_t it = {k->control, 0, ZMQ_POLLIN, 0};
        int n = zmq_poll(&it, 1, PARENT_POLL_MS);
        if (n > 0)
            return 1;
        if (n < 0 && errno != EINTR)
            return -1;
        if (getppid() != k->parent) {
            orphaned(k);
            return 0;
        }
    }
}

void *trl__control_main(void *arg)
{
    trl__kernel *k = arg;
    while (!atomic_load(&k->shutting_down)) {
        int ready = wait_request(k);
        if (ready < 0)
            break;  /* context shut down */
        if (ready == 0)
            continue;
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
        /* set before the request can set shutting_down: stop_threads
         * then waits for its replies and status to be sent (kernel.c) */
        atomic_store(&k->control_busy, 1);
        trl__dispatch(k, k->control, k->control_iopub, &req);
        trl__msg_clear(&req);
        atomic_store(&k->control_busy, 0);
    }
    zmq_close(k->control);
    zmq_close(k->control_iopub);
    zmq_close(k->control_wake);
    return NULL;
}
