/* features_cloop.c - the floor for column arithmetic: out = a / (b + 1)
 * over N doubles in a plain C loop, best of several repetitions. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 5000000;
    double *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    double *out = malloc(n * sizeof *out);
    if (!a || !b || !out)
        return 1;
    for (size_t i = 0; i < n; i++) {
        a[i] = (double)(i % 1000) * 0.5;
        b[i] = (double)(i % 77);
    }
    double best = 1e9, sink = 0;
    for (int r = 0; r < 7; r++) {
        /* fresh output pages each time, as a new column gets */
        double *o = r ? malloc(n * sizeof *o) : out;
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (size_t i = 0; i < n; i++)
            o[i] = a[i] / (b[i] + 1);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double s = (double)(t1.tv_sec - t0.tv_sec) +
                   (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        if (s < best)
            best = s;
        sink += o[n / 2];
        if (r)
            free(o);
    }
    printf("%.6f %g\n", best, sink);
    free(a);
    free(b);
    free(out);
    return 0;
}
