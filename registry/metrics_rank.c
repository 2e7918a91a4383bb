/* metrics_rank.c - auc and average precision as one value of unweighted
 * rows. Neither needs to know which row is which, only how many positives
 * and negatives share each score: so the positives' scores and the
 * negatives' are sorted apart, as bare keys (half the bytes of sorting
 * rows with their labels), one set per core, and walked together in
 * descending order. The values equal the general path's bit for bit: the
 * same sums in the same order. */
#include <pthread.h>
#include <stdlib.h>

#include "trellis/metrics.h"
#include "registry/registry_int.h"

/* Below this many keys a second thread costs more than it saves. */
#define THREAD_MIN_KEYS 100000

typedef struct sort_job {
    uint64_t *key;
    size_t n;
    int rc;
} sort_job;

static void *sort_run(void *arg)
{
    sort_job *j = arg;
    j->rc = trl__radix_sort_keys(j->key, j->n);
    return NULL;
}

/* Sorts both sets, the negatives on a second thread when there are enough
 * of them (or on this one when no thread can be started). */
static int sort_both(uint64_t *pos, size_t np, uint64_t *neg, size_t nn)
{
    sort_job job = {neg, nn, 0};
    pthread_t t;
    int threaded = nn >= THREAD_MIN_KEYS && np >= THREAD_MIN_KEYS &&
                   pthread_create(&t, NULL, sort_run, &job) == 0;
    int rc = trl__radix_sort_keys(pos, np);
    if (threaded)
        pthread_join(t, NULL);
    else
        sort_run(&job);
    return rc != 0 ? rc : job.rc;
}

int trl__rank_metric_fast(const trl_metric *m, const trl_metric_data *d,
                          double *out)
{
    if (d->w || (m->id != TRL_METRIC_AUC && m->id != TRL_METRIC_PR_AUC))
        return 1;
    uint64_t *pos = malloc((d->n ? d->n : 1) * sizeof *pos);
    uint64_t *neg = malloc((d->n ? d->n : 1) * sizeof *neg);
    int rc = pos && neg ? 0 : -1;
    size_t np = 0, nn = 0;
    for (size_t i = 0; rc == 0 && i < d->n; i++) {
        double y = d->y[i], s = d->s[i];
        if (isnan(s) || (y != 0.0 && y != 1.0))
            rc = 1;  /* the general path reports or orders these */
        else if (y == 1.0)
            pos[np++] = trl__desc_key(s);
        else
            neg[nn++] = trl__desc_key(s);
    }
    if (rc == 0 && sort_both(pos, np, neg, nn) != 0)
        rc = -1;
    if (rc != 0) {
        free(pos);
        free(neg);
        return rc;
    }
    /* one block of tied scores per step, as auc() and ap() in metrics.c */
    uint64_t tp = 0, fp = 0;
    double area = 0, ap = 0;
    for (size_t i = 0, j = 0; i < np || j < nn;) {
        uint64_t k = i < np && (j >= nn || pos[i] <= neg[j]) ? pos[i]
                                                             : neg[j];
        uint64_t btp = 0, bfp = 0;
        for (; i < np && pos[i] == k; i++)
            btp++;
        for (; j < nn && neg[j] == k; j++)
            bfp++;
        area += (double)bfp * ((double)tp + (double)btp / 2.0);
        tp += btp;
        fp += bfp;
        if (btp)
            ap += (double)btp / (double)np * ((double)tp / (double)(tp + fp));
    }
    free(pos);
    free(neg);
    if (m->id == TRL_METRIC_AUC)
        *out = tp > 0 && fp > 0 ? area / ((double)tp * (double)fp) : NAN;
    else
        *out = np > 0 ? ap : 0.0;  /* scikit-learn warns and returns 0 */
    return 0;
}
