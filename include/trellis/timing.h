/* timing.h - the engine-independent half of %timeit and %time, matching
 * IPython 8.5 (IPython/core/magics/execution.py) character for character:
 * its time formatting, TimeitResult's statistics and summary line, the
 * slow-run warning, the %time lines, the %timeit option parser and the
 * auto-ranging driver. Knows nothing of engines or Jupyter: the statement
 * is run through a callback. */
#ifndef TRELLIS_TIMING_H
#define TRELLIS_TIMING_H

#include <stddef.h>
#include <stdint.h>

#include "trellis/error.h"

/* Digits IPython shows by default (%timeit -p, and always for %time). */
#define TRL_TIMING_DEFAULT_PRECISION 3
/* %timeit -r default: timeit.default_repeat is 5, IPython raises it to 7. */
#define TRL_TIMEIT_DEFAULT_REPEAT 7
/* Largest -p accepted (IPython has no limit; beyond ~17 the digits are
 * those of the binary value, not of the measurement). */
#define TRL_TIMEIT_MAX_PRECISION 50
/* A buffer this large holds trl_timing_format of any double at any
 * precision up to TRL_TIMEIT_MAX_PRECISION (1e308 s is a 304-digit day
 * count); real timings need about 16 bytes. */
#define TRL_TIMING_FORMAT_MAX 400
/* The usage line of IPython's %timeit docstring. */
#define TRL_TIMEIT_USAGE "%timeit [-n<N> -r<R> [-t|-c] -q -p<P> -o] statement"

/* Every function below that writes text into buf works like snprintf:
 * it writes at most size - 1 bytes and a NUL (nothing when size is 0, and
 * buf may then be NULL) and returns the length the whole text needs, so a
 * return >= size means it was cut. The text is UTF-8 ("µs", "±") unless
 * ascii is nonzero ("us", "+-"): IPython picks the ASCII forms when
 * sys.stdout cannot encode U+00B5 / U+00B1. */

/* ---- formatting --------------------------------------------------------- */

/* IPython's _format_time(seconds, precision). From 60 s up: "1min",
 * "1min 3s", "1h 2min 3s", "1d 1h" (whole units, largest first, stopping
 * once less than a second is left, so 3600.5 is "1h"). Below: one of s,
 * ms, µs, ns chosen from floor(log10(seconds)) and the value printed with
 * "%.*g", so 999.5e-9 is "999 ns" but 0.0009995 is "1e+03 µs" and 0.5 is
 * "500 ms". Zero, negatives and NaN are printed in ns ("0 ns", "-0 ns",
 * "-1.5e+09 ns", "nan ns"), as IPython does. A precision below 0 counts as
 * 0, which "%g" treats as 1 (Python's rule). +inf, where IPython raises
 * OverflowError, is "inf s". */
size_t trl_timing_format(double seconds, int precision, int ascii,
                         char *buf, size_t size);

/* The lines %time prints, each ending in "\n": "CPU times: user U, sys: S,
 * total: T" (T = user + sys), "Wall time: W", and, as IPython, "Compiler :
 * C" when compile > 0.1 and "Parser   : P" when parse > 0.1 (pass 0 when
 * not measured). Always precision 3. */
size_t trl_timing_time_report(double user, double sys, double wall,
                              double compile, double parse, int ascii,
                              char *buf, size_t size);

/* ---- clocks ------------------------------------------------------------- */

/* The clock %timeit reads; -t and -c select the others. */
typedef enum {
    TRL_TIMING_CLOCK_PERF,  /* default: CLOCK_MONOTONIC, Python's
                             * time.perf_counter (timeit.default_timer) */
    TRL_TIMING_CLOCK_WALL,  /* -t: CLOCK_REALTIME, time.time */
    TRL_TIMING_CLOCK_CPU    /* -c: user + system CPU time of the process
                             * (getrusage), IPython's utils.timing.clock on
                             * Unix, despite its docstring saying "user" */
} trl_timing_clock;

/* Seconds on clock c, from an arbitrary origin: only differences mean
 * anything. Never fails. */
double trl_timing_now(trl_timing_clock c);

/* User and system CPU seconds this process has used (all threads), as
 * IPython's clock2() that %time reads before and after the statement. */
void trl_timing_cpu(double *user, double *sys);

/* ---- %timeit options ---------------------------------------------------- */

typedef struct trl_timeit_opts {
    uint64_t loops;          /* -n: loops per run; 0 = choose (auto-range) */
    int repeat;              /* -r: runs, >= 1; default 7 */
    int precision;           /* -p: significant digits; default 3 */
    int quiet;               /* -q: print nothing */
    int return_result;       /* -o: the magic returns the result */
    trl_timing_clock clock;  /* -t / -c; -c wins when both are given */
    const char *stmt;        /* the statement: points into the parsed line
                              * (borrowed), leading blanks skipped, the rest
                              * kept verbatim; "" when the line has none */
} trl_timeit_opts;

/* Defaults: auto loops, 7 runs, precision 3, perf clock, stmt "". */
void trl_timeit_opts_init(trl_timeit_opts *o);

/* Parses a %timeit line as IPython's parse_options(line, "n:r:tcp:qo",
 * posix=False, strict=False, preserve_non_opts=True): options come first,
 * getopt-style (-n 100, -n100, -qo, -qn100), up to the first word not
 * starting with "-" (or a lone "-") or up to "--", which is consumed; the
 * rest of the line is the statement. A repeated flag is harmless.
 * Numbers are read as Python's int() reads them ("+5", "1_000", "007").
 * IPython prints nothing and runs nothing when the statement is empty in
 * line mode; in cell mode it is the setup code. line is never changed and
 * must outlive out->stmt.
 * Fails with TRL_EINVAL and IPython's UsageError text ("option -x not
 * recognized ( allowed: \"n:r:tcp:qo\" )", "option -n requires argument
 * ...") followed by the usage line, for an unknown option or a missing
 * value; and, where IPython would stop with a Python traceback or print
 * meaningless numbers, for -n that is not a whole number >= 0, -r not
 * >= 1, -p not in 0..TRL_TIMEIT_MAX_PRECISION, or -n/-r/-p given twice.
 * out is then unspecified. */
int trl_timeit_parse(const char *line, trl_timeit_opts *out, trl_error *err);

/* ---- results ------------------------------------------------------------ */

/* IPython's TimeitResult. Zero it (or trl_timeit_result_free it) before
 * first use. */
typedef struct trl_timeit_result {
    /* read-only: set by trl_timeit_result_init / trl_timeit_run */
    uint64_t loops;        /* loops per run */
    int repeat;            /* runs: the length of all_runs */
    double *all_runs;      /* seconds each run took for all its loops
                            * (owned; freed by trl_timeit_result_free) */
    double best, worst;    /* min and max of all_runs, divided by loops */
    double average;        /* mean of all_runs[i] / loops, summed with
                            * Python's math.fsum (exactly rounded) */
    double stdev;          /* population standard deviation of those
                            * per-loop times: fsum of squared deviations
                            * from average, / repeat, ** 0.5 */
    int precision;         /* digits the summary shows */
    /* public */
    double compile_time;   /* seconds compiling the statement, set by the
                            * caller; reported when > 0.1 (0 after init) */
} trl_timeit_result;

/* Fills r from repeat runs of loops loops each: copies all_runs and
 * computes the statistics exactly as TimeitResult and the timeit magic
 * do. r must be zeroed or freed; on failure (TRL_EINVAL when loops is 0 or
 * repeat < 1, TRL_ENOMEM) it is left zeroed. all_runs is never changed. */
int trl_timeit_result_init(trl_timeit_result *r, uint64_t loops,
                           const double *all_runs, int repeat,
                           int precision, trl_error *err);

/* Frees r's runs and zeroes it; safe on a zeroed result. */
void trl_timeit_result_free(trl_timeit_result *r);

/* TimeitResult's str: "3.21 µs ± 45.2 ns per loop (mean ± std. dev. of 7
 * runs, 100,000 loops each)": loops with thousands commas, runs without,
 * "1 run" and "1 loop" singular. No newline. */
size_t trl_timeit_summary(const trl_timeit_result *r, int ascii, char *buf,
                          size_t size);

/* The warning %timeit prints first when worst > 4 * best, best > 0 and
 * worst > 1e-6: "The slowest run took 6.90 times longer than the fastest.
 * This could mean that an intermediate result is being cached." (no
 * newline). Writes "" and returns 0 when there is nothing to warn. */
size_t trl_timeit_warning(const trl_timeit_result *r, char *buf,
                          size_t size);

/* Everything a %timeit without -q prints, each line ending in "\n": the
 * warning if any, the summary, then "Compiler time: 0.12 s" when
 * compile_time > 0.1. */
size_t trl_timeit_report(const trl_timeit_result *r, int ascii, char *buf,
                         size_t size);

/* ---- the driver --------------------------------------------------------- */

/* Runs the statement loops times in a row (after the setup code, in cell
 * mode: IPython runs setup once per call, not per loop) and stores in
 * *seconds how long the loops took on the clock the options chose.
 * Returns 0, or a negative TRL_E* code with err filled (TRL_EINTR when
 * the user interrupted, the engine's error when the statement raised). */
typedef int (*trl_timeit_loop_fn)(void *arg, uint64_t loops,
                                  double *seconds, trl_error *err);

/* %timeit's measurement: when o->loops is 0, first calls run with 1, 10,
 * 100, ... 10^9 loops, stopping at the first that takes >= 0.2 s (10^9
 * if none does; these calls are not part of the result), then calls run
 * o->repeat times with that many loops and fills out (see
 * trl_timeit_result_init; compile_time 0, precision o->precision).
 * out must be zeroed or freed. A failing run stops everything: its code
 * is returned (a positive one becomes TRL_EINVAL), err says why (the
 * callback's message, or a generic one if it left err empty) and out is
 * left zeroed. TRL_EINVAL when o->repeat < 1, TRL_ENOMEM before anything
 * runs. o is never changed. */
int trl_timeit_run(const trl_timeit_opts *o, trl_timeit_loop_fn run,
                   void *arg, trl_timeit_result *out, trl_error *err);

#endif
