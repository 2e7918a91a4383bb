/* history.h - private: the input history, kept in a small SQLite file so it
 * survives kernel restarts (what history_request and %history read). */
#ifndef TRELLIS_KERNEL_HISTORY_H
#define TRELLIS_KERNEL_HISTORY_H

#include <jansson.h>

#include "trellis/error.h"

typedef struct trl__history trl__history;

/* Opens (creating) the database at path and starts a new session. */
trl__history *trl__history_open(const char *path, trl_error *err);
void trl__history_close(trl__history *h);

/* The default path: $TRELLIS_HISTORY, else $XDG_DATA_HOME/trellis/
 * history.sqlite, else ~/.local/share/trellis/history.sqlite. malloc'd. */
char *trl__history_default_path(void);

/* This kernel's session number. */
int trl__history_session(const trl__history *h);

/* Stores cell `line` of the current session; output may be NULL. */
int trl__history_store(trl__history *h, int line, const char *source,
                       const char *output);

/* Each returns a new array of [session, line, input] (or [session, line,
 * [input, output]] when output is set), oldest first. */
json_t *trl__history_tail(trl__history *h, int n, int output);
json_t *trl__history_range(trl__history *h, int session, int start, int stop,
                           int output);
/* pattern is a glob (* ? [..]) as IPython's; unique drops repeated inputs
 * keeping the newest; n <= 0 means all. */
json_t *trl__history_search(trl__history *h, const char *pattern, int n,
                            int unique, int output);

#endif
