/* heartbeat.c - the heartbeat thread: echoes every ping frame back. */
#include <zmq.h>

#include "kernel/kernel_int.h"

void *trl__heartbeat_main(void *arg)
{
    trl__kernel *k = arg;
    /* A ROUTER proxied onto itself returns each message to its sender, as
     * ipykernel's zmq.device(QUEUE, s, s). Runs until the context is shut
     * down, on its own thread so a busy cell never delays it. */
    zmq_proxy(k->hb, k->hb, NULL);
    zmq_close(k->hb);
    return NULL;
}
