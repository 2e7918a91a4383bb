/* connection.h - private: the connection file a client writes for us. */
#ifndef TRELLIS_KERNEL_CONNECTION_H
#define TRELLIS_KERNEL_CONNECTION_H

#include "trellis/error.h"

typedef enum {
    TRL__CH_SHELL,
    TRL__CH_IOPUB,
    TRL__CH_STDIN,
    TRL__CH_CONTROL,
    TRL__CH_HB,
    TRL__CH_COUNT
} trl__channel;

typedef struct trl__connection {
    char transport[64];        /* "tcp" or "ipc" */
    char ip[256];              /* address (tcp) or path prefix (ipc) */
    int ports[TRL__CH_COUNT];  /* indexed by trl__channel */
    char *key;                 /* owned; "" means unsigned */
    char scheme[32];           /* "hmac-sha256" */
    unsigned mode;             /* the file's st_mode (load only) */
} trl__connection;

/* Parses a connection file's JSON text. Ports must be 1..65535 (0 is
 * rejected: the client chooses them). Fills err with what is wrong. */
int trl__connection_parse(const char *text, size_t len, trl__connection *out,
                          trl_error *err);

/* Reads and parses the file at path, noting its mode for
 * trl__connection_check_mode. */
int trl__connection_load(const char *path, trl__connection *out,
                         trl_error *err);

/* The policy on who may read the file holding the key (mode is its
 * st_mode): refused when every user may read or write it unless
 * allow_shared; a warning (an empty string when none) when its group may,
 * or when an unsigned kernel listens beyond loopback. */
int trl__connection_check_mode(const trl__connection *c, const char *path,
                               unsigned mode, int allow_shared,
                               char *warning, size_t wsize, trl_error *err);

void trl__connection_free(trl__connection *c);

/* Writes the ZeroMQ endpoint of channel ch ("tcp://127.0.0.1:5555" or
 * "ipc://kernel-ipc-5") into buf. */
int trl__connection_endpoint(const trl__connection *c, trl__channel ch,
                             char *buf, size_t size);

/* The connection-file name of channel ch ("shell_port" ...). */
const char *trl__channel_port_name(trl__channel ch);

#endif
