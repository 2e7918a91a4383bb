/* kernel.c - starting the kernel: sockets, threads, engines; the shell loop
 * on the main thread; an orderly shutdown. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "kernel/kernel_int.h"
#include "trellis/registry.h"

#define DEFAULT_MAX_MESSAGE ((size_t)256 << 20)
/* How long a closing socket may still deliver queued replies. */
#define LINGER_MS 1000

static void *new_socket(trl__kernel *k, int type, trl_error *err)
{
    void *s = zmq_socket(k->zctx, type);
    if (!s) {
        trl_error_set(err, TRL_EIO, "cannot create a socket: %s",
                      zmq_strerror(errno));
        return NULL;
    }
    int linger = LINGER_MS;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    return s;
}

static int bind_channel(trl__kernel *k, void *s, trl__channel ch,
                        trl_error *err)
{
    char ep[512];
    if (trl__connection_endpoint(&k->conn, ch, ep, sizeof ep) != 0)
        return trl_error_set(err, TRL_EINVAL, "endpoint for %s is too long",
                             trl__channel_port_name(ch));
    if (ch != TRL__CH_IOPUB && ch != TRL__CH_HB && k->max_message) {
        /* A hard cap well above the limit: ZeroMQ drops such peers
         * silently, while messages between the two are logged and
         * dropped by the shell loop. */
        int64_t max = k->max_message > (size_t)(INT64_MAX / 4)
                          ? -1  /* no cap ZeroMQ could hold */
                          : (int64_t)k->max_message * 4;
        zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &max, sizeof max);
    }
    if (zmq_bind(s, ep) != 0)
        return trl_error_set(err, TRL_EIO, "cannot listen on %s (%s): %s",
                             ep, trl__channel_port_name(ch),
                             zmq_strerror(errno));
    return 0;
}

static int open_sockets(trl__kernel *k, trl_error *err)
{
    int one = 1;
    if (!(k->shell = new_socket(k, ZMQ_ROUTER, err)) ||
        !(k->stdin_sock = new_socket(k, ZMQ_ROUTER, err)) ||
        !(k->control = new_socket(k, ZMQ_ROUTER, err)) ||
        !(k->hb = new_socket(k, ZMQ_ROUTER, err)) ||
        !(k->iopub = new_socket(k, ZMQ_XPUB, err)) ||
        !(k->iopub_pull = new_socket(k, ZMQ_PULL, err)) ||
        !(k->iopub_in = new_socket(k, ZMQ_PUSH, err)) ||
        !(k->control_iopub = new_socket(k, ZMQ_PUSH, err)) ||
        !(k->wake = new_socket(k, ZMQ_PULL, err)) ||
        !(k->control_wake = new_socket(k, ZMQ_PUSH, err)))
        return err->code;
    /* Every subscription reaches us, so every client gets its welcome. */
    zmq_setsockopt(k->iopub, ZMQ_XPUB_VERBOSE, &one, sizeof one);
    /* Unbounded in-process queues: a burst of output must not block or be
     * dropped between our own threads. */
    int zero = 0;
    zmq_setsockopt(k->iopub_in, ZMQ_SNDHWM, &zero, sizeof zero);
    zmq_setsockopt(k->control_iopub, ZMQ_SNDHWM, &zero, sizeof zero);
    zmq_setsockopt(k->iopub_pull, ZMQ_RCVHWM, &zero, sizeof zero);
    /* Nor between us and a slow client: a dropped message could be the
     * idle it waits for. */
    zmq_setsockopt(k->iopub, ZMQ_SNDHWM, &zero, sizeof zero);

    int rc;
    if ((rc = bind_channel(k, k->shell, TRL__CH_SHELL, err)) ||
        (rc = bind_channel(k, k->iopub, TRL__CH_IOPUB, err)) ||
        (rc = bind_channel(k, k->stdin_sock, TRL__CH_STDIN, err)) ||
        (rc = bind_channel(k, k->control, TRL__CH_CONTROL, err)) ||
        (rc = bind_channel(k, k->hb, TRL__CH_HB, err)))
        return rc;
    if (zmq_bind(k->iopub_pull, TRL__IOPUB_ENDPOINT) != 0 ||
        zmq_bind(k->wake, TRL__WAKE_ENDPOINT) != 0 ||
        zmq_connect(k->iopub_in, TRL__IOPUB_ENDPOINT) != 0 ||
        zmq_connect(k->control_iopub, TRL__IOPUB_ENDPOINT) != 0 ||
        zmq_connect(k->control_wake, TRL__WAKE_ENDPOINT) != 0)
        return trl_error_set(err, TRL_EIO, "in-process sockets: %s",
                             zmq_strerror(errno));
    return 0;
}

static void close_if(void **s)
{
    if (*s)
        zmq_close(*s);
    *s = NULL;
}

static int start_threads(trl__kernel *k, trl_error *err)
{
    /* Only the main thread takes SIGINT: that is where the engine runs,
     * and the handler is what interrupts it. Threads inherit this mask. */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    /* Sockets created above are handed to their threads here; thread
     * creation is the full memory barrier ZeroMQ asks for. */
    if (pthread_create(&k->iopub_tid, NULL, trl__iopub_main, k) == 0)
        k->iopub_started = 1;
    if (k->iopub_started &&
        pthread_create(&k->hb_tid, NULL, trl__heartbeat_main, k) == 0)
        k->hb_started = 1;
    if (k->hb_started &&
        pthread_create(&k->control_tid, NULL, trl__control_main, k) == 0)
        k->control_started = 1;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!k->control_started)
        return trl_error_set(err, TRL_EIO, "cannot start threads");
    return 0;
}

static size_t env_size(const char *name, size_t dflt)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return dflt;
    char *end;
    unsigned long long n = strtoull(v, &end, 10);
    return *end ? dflt : (size_t)n;
}

static void shell_loop(trl__kernel *k)
{
    while (!atomic_load(&k->shutting_down)) {
        zmq_pollitem_t items[2] = {{k->shell, 0, ZMQ_POLLIN, 0},
                                   {k->wake, 0, ZMQ_POLLIN, 0}};
        int n = zmq_poll(items, 2, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            trl__log("shell: poll failed: %s", zmq_strerror(errno));
            return;
        }
        if (items[1].revents & ZMQ_POLLIN) {
            char b;
            zmq_recv(k->wake, &b, 1, ZMQ_DONTWAIT);
            continue;
        }
        if (!(items[0].revents & ZMQ_POLLIN))
            continue;
        trl__frames f = {0};
        int rc = trl__recv_frames(k->shell, &f);
        if (rc == TRL_EINTR)
            continue;
        if (rc) {
            trl__log("shell: receive failed");
            return;
        }
        size_t total = 0;
        for (size_t i = 0; i < f.n; i++)
            total += f.v[i].size;
        trl__msg req;
        trl_error err;
        rc = trl__wire_decode(f.v, f.n, &k->signer, &req, &err);
        trl__frames_clear(&f);
        if (rc) {
            trl__log("shell: dropped a message: %s", err.message);
            continue;
        }
        if (k->max_message && total > k->max_message) {
            /* signed and well formed, so it is a real client's: tell it,
             * rather than leave it waiting for a reply */
            trl__log("shell: refused a %zu-byte %s (limit %zu)", total,
                     trl__msg_type(&req), k->max_message);
            trl__reject_oversized(k, &req, total);
            trl__msg_clear(&req);
            continue;
        }
        trl__dispatch(k, k->shell, k->iopub_in, &req);
        trl__msg_clear(&req);
    }
}

static void stop_threads(trl__kernel *k)
{
    /* A shutdown_request answered on the control thread publishes its
     * status after the main thread is told: let it finish before iopub
     * stops, or the status is cut off mid-message when the context goes
     * (libzmq then loses the frames it had queued). Bounded: a stuck
     * send must not keep the kernel alive. */
    struct timespec ms = {0, 1000 * 1000};
    for (int i = 0; i < 2000 && atomic_load(&k->control_busy); i++)
        nanosleep(&ms, NULL);
    if (k->iopub_started) {
        char quit = TRL__IOPUB_QUIT;
        zmq_send(k->iopub_in, &quit, 1, 0);
        pthread_join(k->iopub_tid, NULL);
    }
    /* Unblocks the heartbeat proxy and a control thread still waiting. */
    zmq_ctx_shutdown(k->zctx);
    if (k->hb_started)
        pthread_join(k->hb_tid, NULL);
    if (k->control_started)
        pthread_join(k->control_tid, NULL);
}

int trl_kernel_run(const trl_kernel_config *config, trl_error *err)
{
    trl__kernel *k = calloc(1, sizeof *k);
    if (!k)
        return trl_error_set(err, TRL_ENOMEM, "out of memory");
    int rc;
    /* A write past the file size limit (ulimit -f, RLIMIT_FSIZE) raises
     * SIGXFSZ, whose default kills the kernel with every unsaved variable;
     * ignored, the write fails with EFBIG and the registry reports a full
     * disk (PostgreSQL ignores it for the same reason). Before the
     * registry and history are opened: opening may write. */
    signal(SIGXFSZ, SIG_IGN);
    k->main_thread = pthread_self();
    k->max_message = env_size("TRELLIS_MAX_MESSAGE", DEFAULT_MAX_MESSAGE);
    trl__uuid(k->session);

    if ((rc = trl__connection_load(config->connection_file, &k->conn, err)))
        goto fail_connection;
    const char *allow = getenv("TRELLIS_ALLOW_SHARED_CONNECTION_FILE");
    char warning[512];
    rc = trl__connection_check_mode(&k->conn, config->connection_file,
                                    k->conn.mode,
                                    allow && strcmp(allow, "1") == 0,
                                    warning, sizeof warning, err);
    if (warning[0])
        trl__log("%s", warning);
    if (rc) {
        trl__connection_free(&k->conn);
        goto fail_connection;
    }
    if ((rc = trl__signer_init(&k->signer, k->conn.scheme, k->conn.key,
                               err)))
        goto fail_signer;

    char *rpath = config->registry_path ? strdup(config->registry_path)
                                        : trl_registry_default_path();
    trl_error rerr = {0};
    if (rpath) {
        k->registry = trl_registry_open(rpath, &rerr);
        if (!k->registry)
            trl__log("feature registry unavailable: %s", rerr.message);
        free(rpath);
    } else {
        trl_error_set(&rerr, TRL_EINVAL, "it has no file: set "
                      "TRELLIS_REGISTRY (or HOME) and restart the kernel");
    }
    trl_registry_set_interrupt(trl__interrupt_pending);

    trl_engine_config ec = {config->memory_limit, k->registry,
                            k->registry ? NULL : rerr.message, k->engines,
                            &k->n_engines};
    k->engines[0] = trl_lua_engine_new(&ec, err);
    if (!k->engines[0]) {
        rc = err->code ? err->code : TRL_ENOMEM;
        goto fail_engines;
    }
    k->n_engines = 1;
    /* SQL second: a cell without %%sql stays Lua */
    trl_error serr = {0};
    k->engines[1] = trl_sql_engine_new(&ec, &serr);
    if (k->engines[1])
        k->n_engines = 2;
    else
        trl__log("SQL cells unavailable: %s", serr.message);
    /* Python loads nothing until its first cell: startup stays as fast */
    trl_error perr = {0};
    k->engines[k->n_engines] = trl_python_engine_new(&ec, &perr);
    if (k->engines[k->n_engines])
        k->n_engines++;
    else
        trl__log("Python cells unavailable: %s", perr.message);

    char *hpath = config->history_path ? strdup(config->history_path)
                                       : trl__history_default_path();
    if (hpath) {
        trl_error herr;
        k->history = trl__history_open(hpath, &herr);
        if (!k->history)
            trl__log("history disabled: %s", herr.message);
        free(hpath);
    }

    k->zctx = zmq_ctx_new();
    if (!k->zctx) {
        rc = trl_error_set(err, TRL_EIO, "cannot create a ZeroMQ context");
        goto fail_ctx;
    }
    if ((rc = open_sockets(k, err)))
        goto fail_sockets;
    if ((rc = trl__interrupt_install()) != 0) {
        trl_error_set(err, rc, "cannot install the SIGINT handler");
        goto fail_sockets;
    }
    signal(SIGPIPE, SIG_IGN);
    /* Started by a Jupyter client (JPY_PARENT_PID set, as ipykernel reads
     * it): the control thread watches that it lives. */
    k->parent = getenv("JPY_PARENT_PID") ? getppid() : 0;
    if ((rc = start_threads(k, err)))
        goto fail_threads;

    trl__publish_status(k, k->iopub_in, NULL, "starting");
    shell_loop(k);
    rc = 0;

fail_threads:
    stop_threads(k);
fail_sockets:
    /* Sockets a thread took are closed by that thread; close the rest. */
    close_if(&k->shell);
    close_if(&k->stdin_sock);
    close_if(&k->iopub_in);
    close_if(&k->wake);
    if (!k->iopub_started) {
        close_if(&k->iopub);
        close_if(&k->iopub_pull);
    }
    if (!k->hb_started)
        close_if(&k->hb);
    if (!k->control_started) {
        close_if(&k->control);
        close_if(&k->control_iopub);
        close_if(&k->control_wake);
    }
    zmq_ctx_term(k->zctx);
fail_ctx:
    free(k->pending_source);
    free(k->pending_output);
    trl__history_close(k->history);
    for (size_t i = 0; i < k->n_engines; i++)
        k->engines[i]->ops->destroy(k->engines[i]);
fail_engines:
    trl_registry_close(k->registry);
    trl__signer_destroy(&k->signer);
fail_signer:
    trl__connection_free(&k->conn);
fail_connection:
    free(k);
    return rc;
}
