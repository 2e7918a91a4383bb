/* error.h - error codes and the message a user can act on, shared by every
 * Trellis subsystem. */
#ifndef TRELLIS_ERROR_H
#define TRELLIS_ERROR_H

/* Functions that can fail return 0 or one of these negative codes, and fill a
 * trl_error whose message is what the notebook (or stderr) shows. */
enum {
    TRL_OK = 0,
    TRL_ENOMEM = -1,     /* out of memory */
    TRL_EINVAL = -2,     /* bad input: the message says which and where */
    TRL_EIO = -3,        /* file or socket error */
    TRL_EPROTO = -4,     /* malformed protocol message */
    TRL_EAUTH = -5,      /* bad or missing signature, replayed message */
    TRL_EINTR = -6,      /* interrupted by the user */
    TRL_ENOTFOUND = -7,  /* unknown name */
    TRL_EUNSUPPORTED = -8
};

#define TRL_ERROR_MAX 512

typedef struct trl_error {
    int code;                     /* one of TRL_E*, 0 when no error */
    char message[TRL_ERROR_MAX];  /* NUL-terminated, never longer */
} trl_error;

/* Sets err (when not NULL) to code and a printf-style message and returns
 * code, so a failing function can `return trl_error_set(err, ...)`. */
int trl_error_set(trl_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Resets err to "no error". */
void trl_error_clear(trl_error *err);

#endif
