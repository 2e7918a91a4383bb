/* error.c - filling trl_error values. */
#include <stdarg.h>
#include <stdio.h>

#include "trellis/error.h"

int trl_error_set(trl_error *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return code;
}

void trl_error_clear(trl_error *err)
{
    if (err) {
        err->code = TRL_OK;
        err->message[0] = '\0';
    }
}
