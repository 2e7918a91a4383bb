/* importance_int.h - private: what importance.c (checking, model methods,
 * the result) and importance_perm.c (permutation) share. */
#ifndef TRELLIS_REGISTRY_IMPORTANCE_INT_H
#define TRELLIS_REGISTRY_IMPORTANCE_INT_H

#include "trellis/importance.h"

/* Permutation importance of rq->model on rq->on with metric (NULL: the
 * business metric rq->external), rq->repeats already resolved (>= 1).
 * Appends one object per user feature to features, in the model's
 * feature order ({"feature", "value", "std", "values", "inputs"}), and
 * sets "rows", "dropped" and "baseline" in result. 0, or an error code
 * with err filled (TRL_EINTR when interrupted). */
int trl__importance_permutation(const trl_importance_request *rq,
                                const trl_metric *metric, json_t *features,
                                json_t *result, trl_error *err);

/* The number of encoded inputs of user feature i of m. */
size_t trl__importance_feature_inputs(const trl_model *m, size_t i);

#endif
