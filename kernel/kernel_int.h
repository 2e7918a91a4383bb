/* kernel_int.h - private: the kernel's state, threads and the helpers the
 * channel files share. Which thread owns which socket is written beside it;
 * a ZeroMQ socket is only ever touched by its owner. */
#ifndef TRELLIS_KERNEL_INT_H
#define TRELLIS_KERNEL_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>

#include "kernel/connection.h"
#include "kernel/history.h"
#include "kernel/wire.h"
#include "trellis/engine.h"
#include "trellis/kernel.h"

#define TRL__IOPUB_ENDPOINT "inproc://trellis-iopub"
#define TRL__WAKE_ENDPOINT "inproc://trellis-wake"

/* First frame of what threads hand the iopub thread over inproc. */
#define TRL__IOPUB_FORWARD 'M' /* then the encoded message, sent as is */
#define TRL__IOPUB_STREAM 'S'  /* then name, parent header JSON, text */
#define TRL__IOPUB_QUIT 'Q'    /* flush everything and stop */

#define TRL__MAX_ENGINES 4

typedef struct trl__kernel {
    void *zctx;
    trl__connection conn;
    trl__signer signer;   /* read-only after start, replay set locked */
    char session[37];
    pthread_t main_thread;

    /* main thread */
    void *shell;          /* ROUTER */
    void *stdin_sock;     /* ROUTER */
    void *iopub_in;       /* PUSH to the iopub thread */
    void *wake;           /* PULL: the control thread wakes us to exit */

    /* created by the main thread, then owned by the thread named */
    void *iopub;          /* iopub thread: XPUB */
    void *iopub_pull;     /* iopub thread: PULL from everyone */
    void *hb;             /* heartbeat thread: ROUTER echo */
    void *control;        /* control thread: ROUTER */
    void *control_iopub;  /* control thread: PUSH to the iopub thread */
    void *control_wake;   /* control thread: PUSH to main's wake */

    pthread_t iopub_tid, hb_tid, control_tid;
    int iopub_started, hb_started, control_started;

    atomic_int shutting_down;  /* set once a shutdown_request is answered */
    atomic_int control_busy;   /* the control thread is answering a
                                * request (and may publish status) */
    pid_t parent;              /* the client that started us, watched by the
                                * control thread; 0: none (read-only after
                                * start) */
    atomic_int executing;      /* main thread is inside an engine */

    /* main thread only */
    int execution_count;
    int abort_pending;         /* a cell failed with stop_on_error */
    int pending_line;          /* history row to write after idle */
    char *pending_source;      /* owned; NULL when nothing is pending */
    char *pending_output;      /* owned; may be NULL */
    trl__history *history;     /* may be NULL: history disabled */
    struct trl_registry *registry;  /* may be NULL: registry unavailable */
    trl_engine *engines[TRL__MAX_ENGINES];
    size_t n_engines;          /* engines[0] is the default */
    size_t max_message;        /* bytes; larger messages are dropped */
} trl__kernel;

/* ---- sockets ------------------------------------------------------------- */

/* Receives every part of one multipart message. Returns 0, TRL_EINTR when a
 * signal interrupted the wait, or TRL_EIO (ETERM: context shut down). */
int trl__recv_frames(void *sock, trl__frames *out);

/* Encodes, signs and sends m on sock. */
int trl__send_msg(trl__kernel *k, void *sock, const trl__msg *m);

/* Sends a message of msg_type to the iopub thread through push (the calling
 * thread's PUSH socket), parented by parent (NULL: empty parent header).
 * Steals content_new. */
int trl__publish(trl__kernel *k, void *push, const trl__msg *parent,
                 const char *msg_type, json_t *content_new);

/* Publishes status busy/idle/starting. */
int trl__publish_status(trl__kernel *k, void *push, const trl__msg *parent,
                        const char *state);

/* Sends a reply of msg_type with content_new (stolen) to parent's sender on
 * sock. */
int trl__reply(trl__kernel *k, void *sock, const trl__msg *parent,
               const char *msg_type, json_t *content_new);

/* Logs one line on stderr, prefixed "[trellis] ". */
void trl__log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- threads -------------------------------------------------------------- */

void *trl__iopub_main(void *kernel);
void *trl__heartbeat_main(void *kernel);
void *trl__control_main(void *kernel);

/* ---- requests ------------------------------------------------------------- */

/* Handles one decoded request that arrived on sock (shell or control), with
 * busy/idle around it published through push. */
void trl__dispatch(trl__kernel *k, void *sock, void *push, trl__msg *req);

/* Answers a request larger than max_message with an error reply (busy and
 * idle around it), without running it. */
void trl__reject_oversized(trl__kernel *k, trl__msg *req, size_t size);

/* kernel_info_reply content. */
json_t *trl__kernel_info(trl__kernel *k);

/* Asks for a shutdown: the main loop exits after the current request.
 * Called on the control thread, it also wakes the main loop and
 * interrupts a running cell, so the kernel exits without waiting for the
 * cell to end. Main or control thread only. */
void trl__request_shutdown(trl__kernel *k);

/* ---- stdin ---------------------------------------------------------------- */

/* Sends input_request for parent and waits for the matching input_reply.
 * *line_out is malloc'd. TRL_EINTR when interrupted. Main thread only. */
int trl__stdin_request(trl__kernel *k, const trl__msg *parent,
                       const char *prompt, int password, char **line_out,
                       trl_error *err);

/* ---- interrupt ------------------------------------------------------------ */

/* Installs the SIGINT handler. The handler sets the pending flag and calls
 * the armed engine's interrupt(). */
int trl__interrupt_install(void);
void trl__interrupt_arm(trl_engine *e);
void trl__interrupt_disarm(void);
int trl__interrupt_pending(void);
void trl__interrupt_clear(void);

/* ---- execution context ---------------------------------------------------- */

/* Where a context's output goes: the kernel's sockets in the kernel, a
 * recorder in tests (engines are tested without any socket). */
typedef struct trl__ctx_sink {
    /* publish steals content_new */
    int (*publish)(void *ud, const char *msg_type, json_t *content_new);
    int (*stream)(void *ud, trl_stream which, const char *text, size_t len);
    int (*input)(void *ud, const char *prompt, int password, char **line_out,
                 trl_error *err);
    void *ud;
} trl__ctx_sink;

struct trl_exec_ctx {
    trl__ctx_sink sink;
    trl__kernel *k;           /* NULL outside the kernel */
    const trl__msg *parent;   /* the execute_request, NULL in tests */
    char *parent_json;        /* parent's header as JSON, made on first use */
    int silent;
    int allow_stdin;
    int execution_count;
    int abort_pending;         /* a cell failed with stop_on_error */
    int pending_line;          /* history row to write after idle */
    char *pending_source;      /* owned; NULL when nothing is pending */
    char *pending_output;      /* owned; may be NULL */
    json_t *payload;          /* array of payload dicts */
    char *result_text;        /* text/plain of execute_result, for history */
    int has_result;
    int hold;                 /* keep the execute_result back (%time) */
    char *cell_args;          /* the %%language line's rest, owned */
    const char *cell;         /* the execute_request's code (borrowed) */
    json_t *held_data, *held_meta;
    int failed;
    char *ename, *evalue;
    json_t *traceback;
};

/* Runs the `%name args` lines code starts with (in engine e's context) and
 * returns how many bytes of code they took. Stops at the first failure,
 * which is recorded in ctx. depth: how many cell magics enclose them. */
size_t trl__run_line_magics(trl__kernel *k, trl_engine *e, const char *code,
                            int depth, trl_exec_ctx *ctx);

/* Runs code as a cell: a leading %%language picks the engine, a leading
 * %%magic runs that cell magic on the rest, then line magics and the
 * engine. Called with the interrupt armed. 0 or a negative code after
 * trl_ctx_fail. */
int trl__run_cell(trl__kernel *k, const char *code, int depth,
                  trl_exec_ctx *ctx);

/* The engine code's leading %%language names (the default without one),
 * *body past that line. For a %%magic, *cell is it, *line and *line_len the
 * rest of its line and the default engine is returned. NULL, with the
 * failure in ctx, for a %%name that is neither. */
struct trl_magic;
trl_engine *trl__cell_engine(trl__kernel *k, const char *code,
                             const char **body,
                             const struct trl_magic **cell,
                             const char **line, size_t *line_len,
                             trl_exec_ctx *ctx);

/* Runs cell magic m with the line (not NUL-terminated) and body. */
int trl__run_cell_magic(trl__kernel *k, trl_engine *e,
                        const struct trl_magic *m, const char *line,
                        size_t line_len, const char *body, int depth,
                        trl_exec_ctx *ctx);

/* A context whose output goes to the kernel's iopub, parented by parent. */
void trl__ctx_init(trl_exec_ctx *ctx, trl__kernel *k, const trl__msg *parent);
/* A context whose output goes to sink. */
void trl__ctx_init_sink(trl_exec_ctx *ctx, const trl__ctx_sink *sink);
void trl__ctx_release(trl_exec_ctx *ctx);

#endif
