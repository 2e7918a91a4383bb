/* args_int.h - private to args*.c: what the parser, the value checks and
 * the usage line share. */
#ifndef TRELLIS_MAGICS_ARGS_INT_H
#define TRELLIS_MAGICS_ARGS_INT_H

#include "magics/args.h"

/* Checks text (NUL-terminated, in the args' buffer, which a list splits
 * in place) against o and appends its items to val, whose room is cap
 * items. 0, or TRL_EINVAL with err saying what o takes. */
int trl__args_store(const trl__arg_opt *o, trl__arg_value *val, char *text,
                    size_t cap, trl_error *err);

/* Usage pieces, each as snprintf: o's value ("FRAME", "a|b"); the
 * positionals ("REF NEW", "MODEL..."); options first..end of a group
 * joined by sep ("--against REF | --schema NAME"); every option's name,
 * by commas. */
size_t trl__args_meta(const trl__arg_opt *o, char *buf, size_t size);
size_t trl__args_pos_usage(const trl__args_spec *s, char *buf, size_t size);
size_t trl__args_group_usage(const trl__args_spec *s, size_t first,
                             size_t end, const char *sep, char *buf,
                             size_t size);
size_t trl__args_option_names(const trl__args_spec *s, char *buf,
                              size_t size);

#endif
