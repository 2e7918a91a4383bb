/* registry_int.h - private helpers shared by the registry's files. */
#ifndef TRELLIS_REGISTRY_INT_H
#define TRELLIS_REGISTRY_INT_H

#include "trellis/registry.h"

/* Rows between two polls of the interrupt callback in long loops. */
#define TRL__POLL_ROWS (1u << 20)

/* Non-zero when the user asked to stop (see trl_registry_set_interrupt). */
int trl__registry_interrupted(void);

/* Fills err with "interrupted" and returns TRL_EINTR. */
int trl__registry_interrupt_error(trl_error *err);

#endif
