/* timing.c - %timeit and %time without an engine: IPython 8.5's time
 * formatting, TimeitResult statistics and text, the option parser and the
 * auto-ranging driver (see include/trellis/timing.h). */
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "magics/textbuf.h"
#include "trellis/timing.h"

/* ---- Python's math.fsum ------------------------------------------------- */

/* The exactly rounded sum of x[0..n), by Shewchuk's partials as CPython's
 * math.fsum does it (including its final half-way correction), so the mean
 * and deviation match TimeitResult to the last bit. partials needs n + 1
 * doubles. A NaN or infinite term gives NaN or that infinity; Python
 * raises instead, which real timings never reach. */
static double fsum(const double *x, size_t n, double *partials)
{
    size_t np = 0;
    double special = 0.0;
    for (size_t k = 0; k < n; k++) {
        double v = x[k], keep = v;
        size_t i = 0;
        for (size_t j = 0; j < np; j++) {
            double y = partials[j];
            if (fabs(v) < fabs(y)) {
                double t = v;
                v = y;
                y = t;
            }
            double hi = v + y;
            double lo = y - (hi - v);
            if (lo != 0.0)
                partials[i++] = lo;
            v = hi;
        }
        np = i;
        if (v != 0.0) {
            if (!isfinite(v)) {
                special += isfinite(keep) ? v : keep;
                np = 0;
            } else {
                partials[np++] = v;
            }
        }
    }
    if (special != 0.0)   /* NaN included */
        return special;
    double hi = 0.0, lo = 0.0;
    if (np > 0) {
        hi = partials[--np];
        while (np > 0) {
            double v = hi, y = partials[--np];
            hi = v + y;
            lo = y - (hi - v);
            if (lo != 0.0)
                break;
        }
        /* Round half-even on the exact sum: if the dropped part and the
         * next partial share a sign, the true sum lies past the half-way
         * point the rounding of hi + lo assumed. */
        if (np > 0 && ((lo < 0.0 && partials[np - 1] < 0.0) ||
                       (lo > 0.0 && partials[np - 1] > 0.0))) {
            double y = lo * 2.0, v = hi + y;
            if (y == v - hi)
                hi = v;
        }
    }
    return hi;
}

/* ---- formatting --------------------------------------------------------- */

static void format_into(trl__textbuf *o, double seconds, int precision, int ascii)
{
    if (isinf(seconds) && seconds > 0) {
        trl__textbuf_printf(o, "inf s");   /* IPython: OverflowError */
        return;
    }
    if (seconds >= 60.0) {
        static const struct { const char *suffix; double length; } parts[] = {
            {"d", 86400.0}, {"h", 3600.0}, {"min", 60.0}, {"s", 1.0}};
        double leftover = seconds;
        int first = 1;
        for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
            /* int(leftover / length): a double's exact integer, which
             * "%.0f" prints in full as str(int) does */
            double value = trunc(leftover / parts[i].length);
            if (value > 0) {
                leftover = fmod(leftover, parts[i].length);
                trl__textbuf_printf(o, "%s%.0f%s", first ? "" : " ", value,
                           parts[i].suffix);
                first = 0;
            }
            if (leftover < 1)
                break;
        }
        return;
    }
    static const char *const units[] = {"s", "ms", "\xc2\xb5s", "ns"};
    static const double scaling[] = {1.0, 1e3, 1e6, 1e9};
    int order = 3;
    if (seconds > 0.0) {
        /* -(floor(log10(t)) // 3) with Python's floor division: ms from
         * 1e-3 down to 1e-5's decade, µs to 1e-8's, ns below */
        long e = (long)floor(log10(seconds));
        long q = e / 3 - (e % 3 < 0);
        order = -q > 3 ? 3 : (int)-q;
    }
    const char *unit = ascii && order == 2 ? "us" : units[order];
    if (precision < 0)
        precision = 0;   /* Python's "%.*g" clamps, C's would mean 6 */
    double v = seconds * scaling[order];
    if (isnan(v))
        trl__textbuf_printf(o, "nan %s", unit);   /* C may print "-nan" */
    else
        trl__textbuf_printf(o, "%.*g %s", precision, v, unit);
}

size_t trl_timing_format(double seconds, int precision, int ascii,
                         char *buf, size_t size)
{
    trl__textbuf o;
    trl__textbuf_init(&o, buf, size);
    format_into(&o, seconds, precision, ascii);
    return o.len;
}

size_t trl_timing_time_report(double user, double sys, double wall,
                              double compile, double parse, int ascii,
                              char *buf, size_t size)
{
    const int p = TRL_TIMING_DEFAULT_PRECISION;
    trl__textbuf o;
    trl__textbuf_init(&o, buf, size);
    trl__textbuf_printf(&o, "CPU times: user ");
    format_into(&o, user, p, ascii);
    trl__textbuf_printf(&o, ", sys: ");
    format_into(&o, sys, p, ascii);
    trl__textbuf_printf(&o, ", total: ");
    format_into(&o, user + sys, p, ascii);
    trl__textbuf_printf(&o, "\nWall time: ");
    format_into(&o, wall, p, ascii);
    trl__textbuf_printf(&o, "\n");
    /* IPython reports compiling and parsing only when they took long */
    if (compile > 0.1) {
        trl__textbuf_printf(&o, "Compiler : ");
        format_into(&o, compile, p, ascii);
        trl__textbuf_printf(&o, "\n");
    }
    if (parse > 0.1) {
        trl__textbuf_printf(&o, "Parser   : ");
        format_into(&o, parse, p, ascii);
        trl__textbuf_printf(&o, "\n");
    }
    return o.len;
}

/* ---- clocks ------------------------------------------------------------- */

static double timeval_seconds(struct timeval tv)
{
    /* as Python's resource module converts ru_utime */
    return (double)tv.tv_sec + (double)tv.tv_usec * 0.000001;
}

void trl_timing_cpu(double *user, double *sys)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        memset(&ru, 0, sizeof ru);   /* cannot fail for RUSAGE_SELF */
    *user = timeval_seconds(ru.ru_utime);
    *sys = timeval_seconds(ru.ru_stime);
}

double trl_timing_now(trl_timing_clock c)
{
    if (c == TRL_TIMING_CLOCK_CPU) {
        double user, sys;
        trl_timing_cpu(&user, &sys);
        return user + sys;
    }
    struct timespec ts;
    clock_gettime(c == TRL_TIMING_CLOCK_WALL ? CLOCK_REALTIME
                                             : CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- options ------------------------------------------------------------ */

void trl_timeit_opts_init(trl_timeit_opts *o)
{
    memset(o, 0, sizeof *o);
    o->repeat = TRL_TIMEIT_DEFAULT_REPEAT;
    o->precision = TRL_TIMING_DEFAULT_PRECISION;
    o->clock = TRL_TIMING_CLOCK_PERF;
    o->stmt = "";
}

/* shlex's whitespace, which separates the words getopt sees */
static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static const char *word_end(const char *p)
{
    while (*p && !is_blank(*p))
        p++;
    return p;
}

/* Reads s[0..n) as Python's int(s) does in base 10 (sign, digits, single
 * underscores between digits; not its non-ASCII digits). Sets *neg, and
 * *value unless it overflows, which returns 1. -1 when it is no number. */
static int read_int(const char *s, size_t n, int *neg, uint64_t *value)
{
    size_t i = 0;
    *neg = 0;
    *value = 0;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        *neg = s[i++] == '-';
    if (i == n)
        return -1;
    int overflow = 0;
    for (int prev_digit = 0; i < n; i++) {
        if (s[i] == '_' && prev_digit && i + 1 < n) {
            prev_digit = 0;
            continue;
        }
        if (s[i] < '0' || s[i] > '9')
            return -1;
        unsigned d = (unsigned)(s[i] - '0');
        if (*value > (UINT64_MAX - d) / 10)
            overflow = 1;
        else
            *value = *value * 10 + d;
        prev_digit = 1;
    }
    return overflow;
}

/* A UsageError: why, then the usage line. */
__attribute__((format(printf, 2, 3)))
static int usage(trl_error *err, const char *fmt, ...)
{
    char why[TRL_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return trl_error_set(err, TRL_EINVAL, "%s; usage: %s", why,
                         TRL_TIMEIT_USAGE);
}

/* The bytes of the UTF-8 character at c, so a bad option is named whole. */
static int char_len(const char *c)
{
    unsigned char b = (unsigned char)*c;
    int n = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    for (int i = 1; i < n; i++)
        if (((unsigned char)c[i] & 0xc0) != 0x80)
            return i;
    return n;
}

/* Stores the value of -n, -r or -p. */
static int set_value(trl_timeit_opts *o, char opt, const char *v, size_t n,
                     int *seen, trl_error *err)
{
    int alen = n > 200 ? 200 : (int)n;
    int slot = opt == 'n' ? 0 : opt == 'r' ? 1 : 2;
    if (seen[slot]) {
        /* IPython collects repeats in a list and int() then raises */
        return usage(err, "%%timeit -%c given twice; give it once", opt);
    }
    seen[slot] = 1;
    int neg;
    uint64_t value;
    int rc = read_int(v, n, &neg, &value);
    if (opt == 'n') {
        if (rc != 0 || (neg && value != 0))
            return usage(err, "%%timeit -n wants a whole number of loops "
                         "per run (0 = choose), not '%.*s'", alen, v);
        o->loops = value;
    } else if (opt == 'r') {
        if (rc != 0 || neg || value < 1 || value > INT_MAX)
            return usage(err, "%%timeit -r wants a whole number of runs, "
                         "at least 1, not '%.*s'", alen, v);
        o->repeat = (int)value;
    } else {
        if (rc != 0 || (neg && value != 0) ||
            value > TRL_TIMEIT_MAX_PRECISION)
            return usage(err, "%%timeit -p wants a number of digits from "
                         "0 to %d, not '%.*s'", TRL_TIMEIT_MAX_PRECISION,
                         alen, v);
        o->precision = (int)value;
    }
    return 0;
}

int trl_timeit_parse(const char *line, trl_timeit_opts *o, trl_error *err)
{
    trl_timeit_opts_init(o);
    int seen[3] = {0, 0, 0}, t = 0, c = 0;
    const char *p = line;
    for (;;) {
        while (is_blank(*p))
            p++;
        /* getopt stops at the first word that is no option, and a lone
         * "-" is none */
        if (p[0] != '-' || p[1] == '\0' || is_blank(p[1]))
            break;
        const char *end = word_end(p);
        if (p[1] == '-') {
            if (end == p + 2) {
                p = end;   /* "--" ends the options and is dropped */
                break;
            }
            const char *name = p + 2;
            const char *eq = memchr(name, '=', (size_t)(end - name));
            int len = (int)((eq ? eq : end) - name);
            return usage(err, "option --%.*s not recognized ( allowed: "
                         "\"n:r:tcp:qo\" )", len > 200 ? 200 : len, name);
        }
        for (const char *f = p + 1; f < end; f++) {
            switch (*f) {
            case 'q': o->quiet = 1; break;
            case 'o': o->return_result = 1; break;
            case 't': t = 1; break;
            case 'c': c = 1; break;
            case 'n': case 'r': case 'p': {
                /* the value is the rest of this word, else the next word */
                const char *v = f + 1;
                if (v == end) {
                    while (is_blank(*v))
                        v++;
                    if (*v == '\0')
                        return usage(err, "option -%c requires argument "
                                     "( allowed: \"n:r:tcp:qo\" )", *f);
                    end = word_end(v);
                }
                int rc = set_value(o, *f, v, (size_t)(end - v), seen, err);
                if (rc)
                    return rc;
                f = end - 1;
                break;
            }
            default:
                return usage(err, "option -%.*s not recognized ( allowed: "
                             "\"n:r:tcp:qo\" )", char_len(f), f);
            }
        }
        p = end;
    }
    /* IPython checks -t before -c, so -c wins */
    o->clock = c ? TRL_TIMING_CLOCK_CPU
                 : t ? TRL_TIMING_CLOCK_WALL : TRL_TIMING_CLOCK_PERF;
    while (is_blank(*p) || *p == '\f' || *p == '\v')
        p++;   /* str.lstrip() */
    o->stmt = p;
    return 0;
}

/* ---- results ------------------------------------------------------------ */

int trl_timeit_result_init(trl_timeit_result *r, uint64_t loops,
                           const double *all_runs, int repeat,
                           int precision, trl_error *err)
{
    memset(r, 0, sizeof *r);
    if (loops == 0 || repeat < 1)
        return trl_error_set(err, TRL_EINVAL, "a timing needs at least one "
                             "run of at least one loop (got %d runs of "
                             "%llu)", repeat, (unsigned long long)loops);
    size_t n = (size_t)repeat;
    double *runs = malloc(n * sizeof *runs);
    /* per-loop times, then fsum's partials */
    double *scratch = malloc((2 * n + 1) * sizeof *scratch);
    if (!runs || !scratch) {
        free(runs);
        free(scratch);
        return trl_error_set(err, TRL_ENOMEM, "out of memory keeping %d "
                             "timing runs", repeat);
    }
    memcpy(runs, all_runs, n * sizeof *runs);
    double lo = runs[0], hi = runs[0];
    double *timings = scratch, *partials = scratch + n;
    for (size_t i = 0; i < n; i++) {
        if (runs[i] < lo)
            lo = runs[i];
        if (runs[i] > hi)
            hi = runs[i];
        timings[i] = runs[i] / (double)loops;
    }
    /* TimeitResult: fsum(timings) / len; then the population deviation,
     * each square and the root through pow as Python's ** is */
    double mean = fsum(timings, n, partials) / (double)n;
    for (size_t i = 0; i < n; i++)
        timings[i] = pow(fabs(timings[i] - mean), 2.0);
    double var = fsum(timings, n, partials) / (double)n;
    free(scratch);

    r->loops = loops;
    r->repeat = repeat;
    r->all_runs = runs;
    r->best = lo / (double)loops;
    r->worst = hi / (double)loops;
    r->average = mean;
    r->stdev = pow(var, 0.5);
    r->precision = precision;
    return 0;
}

void trl_timeit_result_free(trl_timeit_result *r)
{
    free(r->all_runs);
    memset(r, 0, sizeof *r);
}

static void summary_into(trl__textbuf *o, const trl_timeit_result *r, int ascii)
{
    const char *pm = ascii ? "+-" : "\xc2\xb1";
    /* {loops:,}: groups of three digits, commas between; runs plain */
    char digits[24], loops[32];
    int nd = snprintf(digits, sizeof digits, "%llu",
                      (unsigned long long)r->loops);
    size_t k = 0;
    for (int i = 0; i < nd; i++) {
        if (i > 0 && (nd - i) % 3 == 0)
            loops[k++] = ',';
        loops[k++] = digits[i];
    }
    loops[k] = '\0';
    format_into(o, r->average, r->precision, ascii);
    trl__textbuf_printf(o, " %s ", pm);
    format_into(o, r->stdev, r->precision, ascii);
    trl__textbuf_printf(o, " per loop (mean %s std. dev. of %d run%s, %s loop%s "
               "each)", pm, r->repeat, r->repeat == 1 ? "" : "s", loops,
               r->loops == 1 ? "" : "s");
}

static void warning_into(trl__textbuf *o, const trl_timeit_result *r)
{
    /* best > 0 avoids dividing by zero; below a microsecond the spread is
     * noise (IPython issue 6471) */
    if (r->worst > 4 * r->best && r->best > 0 && r->worst > 1e-6)
        trl__textbuf_printf(o, "The slowest run took %0.2f times longer than the "
                   "fastest. This could mean that an intermediate result "
                   "is being cached.", r->worst / r->best);
}

size_t trl_timeit_summary(const trl_timeit_result *r, int ascii, char *buf,
                          size_t size)
{
    trl__textbuf o;
    trl__textbuf_init(&o, buf, size);
    summary_into(&o, r, ascii);
    return o.len;
}

size_t trl_timeit_warning(const trl_timeit_result *r, char *buf,
                          size_t size)
{
    trl__textbuf o;
    trl__textbuf_init(&o, buf, size);
    warning_into(&o, r);
    return o.len;
}

size_t trl_timeit_report(const trl_timeit_result *r, int ascii, char *buf,
                         size_t size)
{
    trl__textbuf o;
    trl__textbuf_init(&o, buf, size);
    warning_into(&o, r);
    if (o.len > 0)
        trl__textbuf_printf(&o, "\n");
    summary_into(&o, r, ascii);
    trl__textbuf_printf(&o, "\n");
    if (r->compile_time > 0.1)
        trl__textbuf_printf(&o, "Compiler time: %.2f s\n", r->compile_time);
    return o.len;
}

/* ---- the driver --------------------------------------------------------- */

/* One call of the statement; a failure's code and message made sure. */
static int run_once(trl_timeit_loop_fn run, void *arg, uint64_t loops,
                    double *seconds, trl_error *err)
{
    trl_error_clear(err);
    int rc = run(arg, loops, seconds, err);
    if (rc == 0)
        return 0;
    if (rc > 0)
        rc = TRL_EINVAL;
    if (err && err->code == 0)
        trl_error_set(err, rc, "the timed statement failed (%d loops "
                      "per run)", (int)(loops > INT_MAX ? INT_MAX : loops));
    else if (err)
        err->code = rc;
    return rc;
}

int trl_timeit_run(const trl_timeit_opts *o, trl_timeit_loop_fn run,
                   void *arg, trl_timeit_result *out_r, trl_error *err)
{
    memset(out_r, 0, sizeof *out_r);
    if (o->repeat < 1)
        return trl_error_set(err, TRL_EINVAL, "%%timeit -r wants at least "
                             "1 run, not %d", o->repeat);
    double *runs = malloc((size_t)o->repeat * sizeof *runs);
    if (!runs)
        return trl_error_set(err, TRL_ENOMEM, "out of memory keeping %d "
                             "timing runs", o->repeat);
    uint64_t loops = o->loops;
    int rc = 0;
    if (loops == 0) {
        /* IPython: 10**index for index in range(10), until one run takes
         * 0.2 s; the loop variable stays at 10**9 if none does */
        for (int index = 0; index < 10; index++) {
            double seconds;
            loops = index == 0 ? 1 : loops * 10;
            if ((rc = run_once(run, arg, loops, &seconds, err)) != 0)
                goto fail;
            if (seconds >= 0.2)
                break;
        }
    }
    for (int i = 0; i < o->repeat; i++)
        if ((rc = run_once(run, arg, loops, &runs[i], err)) != 0)
            goto fail;
    rc = trl_timeit_result_init(out_r, loops, runs, o->repeat, o->precision,
                                err);
fail:
    free(runs);
    return rc;
}
