/* interrupt.c - SIGINT and interrupt_request both end here: one flag, and
 * the running engine told to stop. */
#include <signal.h>
#include <stdatomic.h>
#include <string.h>

#include "kernel/kernel_int.h"

static volatile sig_atomic_t pending;
/* The engine running on the main thread, if any. The handler runs on the
 * main thread (other threads block SIGINT); a lock-free atomic is what C11
 * allows a handler to read. */
static _Atomic(trl_engine *) armed;

static void on_sigint(int sig)
{
    (void)sig;
    pending = 1;
    trl_engine *e = atomic_load(&armed);
    if (e && e->ops->interrupt)
        e->ops->interrupt(e);
}

int trl__interrupt_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    /* No SA_RESTART: a blocking zmq call returns EINTR so the stdin wait
     * notices the interrupt. */
    return sigaction(SIGINT, &sa, NULL) == 0 ? 0 : TRL_EIO;
}

void trl__interrupt_arm(trl_engine *e)
{
    atomic_store(&armed, e);
    /* A signal that came between clearing the flag and arming found no
     * engine: hand it to the engine now. */
    if (pending && e->ops->interrupt)
        e->ops->interrupt(e);
}

void trl__interrupt_disarm(void)
{
    atomic_store(&armed, NULL);
}

int trl__interrupt_pending(void)
{
    return pending != 0;
}

void trl__interrupt_clear(void)
{
    pending = 0;
}
