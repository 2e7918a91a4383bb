/* args.h - private: the one argument parser of the magics that take
 * options. A magic describes its arguments in a table (trl__args_spec);
 * trl__args_parse splits the line, checks every value against the table
 * and says what is wrong in words a user can act on, followed by the usage
 * line built from the same table. %timeit keeps IPython's own parser
 * (timing.c), which it must match character for character. */
#ifndef TRELLIS_MAGICS_ARGS_H
#define TRELLIS_MAGICS_ARGS_H

#include <stddef.h>

#include "trellis/engine.h"
#include "trellis/error.h"

/* Longest argument text read, in bytes: 32 gates of TRL_GATE_MAX_LEN
 * bytes each fit, with their --gate. Longer is an error, never cut. */
#define TRL__ARGS_MAX_LEN 32768
/* Bytes of a user's value quoted back in a message; longer ones end in
 * "..." (cut on a UTF-8 character boundary). */
#define TRL__ARGS_ECHO_MAX 40
/* A spec's max_pos and each option's max_items are at most this. */
#define TRL__ARGS_MAX_ITEMS 4096

/* ---- the table a magic writes --------------------------------------------- */

typedef enum trl__arg_kind {
    TRL__ARG_FLAG,      /* --force: given or not; takes no value */
    TRL__ARG_WORD,      /* one word, or one 'quoted' or "quoted" value */
    TRL__ARG_TEXT,      /* everything up to the next --word, inner spaces
                         * kept as typed (--gate auc@h >= 0.8), or one
                         * quoted value */
    TRL__ARG_CHOICE,    /* one of choices; the item's i is its index */
    TRL__ARG_INT,       /* a whole number from min to max; the item's i */
    TRL__ARG_DOUBLE,    /* a finite number from lo (above it with lo_open)
                         * to hi; the item's d */
    TRL__ARG_LIST,      /* names separated by commas, none empty */
    TRL__ARG_INT_LIST   /* whole numbers from min to max, by commas */
} trl__arg_kind;

enum {
    TRL__ARG_REQUIRED = 1,  /* leaving it out is an error (`missing`) */
    TRL__ARG_REPEAT = 2     /* may be given again; the values add up */
};

typedef struct trl__arg_opt {
    const char *name;            /* "threshold", written --threshold */
    trl__arg_kind kind;
    const char *meta;            /* its value in the usage line ("FRAME",
                                  * "0.2"); NULL: "VALUE", or for a
                                  * CHOICE the choices joined by | */
    unsigned flags;              /* TRL__ARG_REQUIRED | TRL__ARG_REPEAT */
    int group;                   /* options that share a nonzero group
                                  * (adjacent in the table) exclude each
                                  * other; one of them is required when
                                  * any is REQUIRED */
    const char *what;            /* for errors: what the value is ("a
                                  * PSI", "seconds"); for a CHOICE the
                                  * choices in prose. NULL: a default */
    long long min, max;          /* INT, INT_LIST: the range */
    long long (*max_now)(void);  /* INT, INT_LIST: when the upper bound
                                  * depends on the machine, read at each
                                  * parse instead of max; or NULL */
    double lo, hi;               /* DOUBLE: the range (hi may be
                                  * INFINITY) */
    int lo_open;                 /* DOUBLE: lo itself is refused */
    const char *example;         /* numbers, lists: "0.2", said as
                                  * "such as 0.2" */
    size_t max_items;            /* lists, and REPEAT: most values in all
                                  * (1..TRL__ARGS_MAX_ITEMS) */
    const char *const *choices;  /* CHOICE: NULL-terminated */
    const char *missing;         /* REQUIRED (or a required group's first
                                  * member): what to give */
} trl__arg_opt;

struct trl__args;

typedef struct trl__args_spec {
    const char *magic;             /* "%drift" or "%%bench", for messages
                                    * and the usage line */
    const char *const *pos_names;  /* NULL-terminated usage names of the
                                    * positional arguments ("REF", "NEW");
                                    * past them the last repeats */
    size_t min_pos, max_pos;       /* how many positionals are taken */
    const char *pos_missing;       /* fewer than min_pos: what to give
                                    * ("name the model"); NULL: a default */
    const char *pos_extra;         /* more than max_pos: the rule ("name
                                    * one model"), followed by ", not 'x'
                                    * too"; NULL: a default */
    const trl__arg_opt *opts;      /* the options, in usage order */
    size_t nopts;
    /* Rules across arguments, run after everything else parsed: 0, or
     * TRL_EINVAL with err saying why (the usage line is added after
     * it). May be NULL. Must not change a. */
    int (*check)(const struct trl__args *a, trl_error *err);
} trl__args_spec;

/* ---- what the parser gives back ------------------------------------------- */

typedef struct trl__arg_item {
    const char *text;   /* the value as given, unquoted (in args' buffer) */
    long long i;        /* INT, INT_LIST: the number; CHOICE: its index */
    double d;           /* DOUBLE: the number */
} trl__arg_item;

typedef struct trl__arg_value {
    unsigned given;        /* times the option appeared */
    size_t n;              /* items: one per WORD/number, one per name in
                            * a list, summed over repeats */
    trl__arg_item *items;  /* borrowed from the args */
} trl__arg_value;

typedef struct trl__args {
    /* read-only */
    const trl__args_spec *spec;
    const char **pos;      /* the positional arguments, npos of them */
    size_t npos;
    trl__arg_value *opt;   /* one per spec->opts, in its order */
    /* private */
    char *buf;             /* the line's values, NUL-terminated in place */
    trl__arg_item *items;  /* every option's items, one block */
} trl__args;

/* ---- parsing -------------------------------------------------------------- */

/* Splits line (not changed; NULL reads as "") into *a by spec. Words are
 * separated by blanks; a value that starts with ' or " runs to the same
 * quote (no escapes) and is taken without them. An option is --name VALUE
 * or --name=VALUE; a word starting with "--" is never taken as a value,
 * so quote one that must. A single-dash word (-t) is an unknown option;
 * -1 and - are positional.
 * Returns 0 with *a filled: free it with trl__args_free. On failure *a
 * holds nothing to free and err says why, then "; usage: " and the usage
 * line (TRL_EINVAL), or "out of memory" (TRL_ENOMEM). */
int trl__args_parse(const trl__args_spec *spec, const char *line,
                    trl__args *a, trl_error *err);

/* Frees what a holds and zeroes it; safe on a zeroed a. */
void trl__args_free(trl__args *a);

/* ---- reading the result --------------------------------------------------- */

/* How many times option opt (an index into spec->opts) was given. */
unsigned trl__args_given(const trl__args *a, size_t opt);

/* The first value's text, or dflt when the option was not given. */
const char *trl__args_str(const trl__args *a, size_t opt, const char *dflt);

/* The first value's number (INT, CHOICE; DOUBLE), or dflt. */
long long trl__args_int(const trl__args *a, size_t opt, long long dflt);
double trl__args_double(const trl__args *a, size_t opt, double dflt);

/* Copies the texts of option opt's values into out (at most cap of
 * them, borrowed from a) and returns how many there are in all. */
size_t trl__args_texts(const trl__args *a, size_t opt, const char **out,
                       size_t cap);

/* ---- messages ------------------------------------------------------------- */

/* The usage line, as snprintf: at most size - 1 bytes and a NUL, the
 * length of the whole line returned. */
size_t trl__args_usage(const trl__args_spec *spec, char *buf, size_t size);

/* Sets err to TRL_EINVAL and the printf message, then "; usage: " and
 * spec's usage line: a magic's own usage error after a parse. */
int trl__args_error(const trl__args_spec *spec, trl_error *err,
                    const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Room for an echoed value: TRL__ARGS_ECHO_MAX bytes, "..." and a NUL. */
#define TRL__ARGS_ECHO_BUF (TRL__ARGS_ECHO_MAX + 4)

/* s[0..n) for a message, cut to TRL__ARGS_ECHO_MAX bytes with "..."
 * after it when longer - on a UTF-8 character boundary, since a message
 * that is not UTF-8 cannot be sent to the client. out is returned. */
const char *trl__args_echo(const char *s, size_t n,
                           char out[TRL__ARGS_ECHO_BUF]);

/* Reports a failed parse in ctx (a UsageError, or a MemoryError) and
 * returns its code. */
int trl__args_fail(trl_exec_ctx *ctx, const trl_error *err);

#endif
