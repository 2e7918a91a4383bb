/* sql_bench.c - the SQL layer's C side of bench/sql: a generated frame
 * queried through the trellis_frame virtual table and the same rows in a
 * native in-memory SQLite table, with medians printed as JSON for the
 * script (which adds pandas). Optionally dumps the columns as raw arrays
 * so pandas reads the very same values.
 *
 * Usage: bench_sql [--rows N] [--runs R] [--dump DIR] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "trellis/registry.h"
#include "trellis/sql.h"

#define NWORDS 10
static const char *const words[NWORDS] = {"abc", "def", "ghi", "jkl", "mno",
                                          "pqr", "stu", "vwx", "yza", "bcd"};

static uint64_t rng = 20240501;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "bench_sql: %s: %s\n", what, msg);
    exit(1);
}

/* key i64 (~1000 groups), x f64 in [0, 1), y f64 in [-50, 50), s str of 10
 * words: seeded, the same on every run */
static trl_frame *generate(size_t n)
{
    trl_column *key = trl_column_new(TRL_I64, n, NULL);
    trl_column *x = trl_column_new(TRL_F64, n, NULL);
    trl_column *y = trl_column_new(TRL_F64, n, NULL);
    trl_column *s = trl_column_new(TRL_STR, n, NULL);
    if (!key || !x || !y || !s)
        die("generate", "out of memory");
    for (int w = 0; w < NWORDS; w++)
        trl_strdict_intern(s->dict, words[w], strlen(words[w]));
    for (size_t r = 0; r < n; r++) {
        key->v.i64[r] = (int64_t)(rnd() % 1000);
        x->v.f64[r] = (double)(rnd() >> 11) / 9007199254740992.0;
        y->v.f64[r] = (double)(rnd() >> 11) / 9007199254740992.0 * 100 - 50;
        s->v.codes[r] = (int32_t)(rnd() % NWORDS);
    }
    trl_frame *f = trl_frame_new();
    trl_error err;
    if (trl_frame_set(f, "key", key, &err) || trl_frame_set(f, "x", x, &err) ||
        trl_frame_set(f, "y", y, &err) || trl_frame_set(f, "s", s, &err))
        die("generate", err.message);
    trl_column_decref(key);
    trl_column_decref(x);
    trl_column_decref(y);
    trl_column_decref(s);
    return f;
}

static void exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        die(sql, msg);
}

/* The native table n: the same rows, loaded before any timing. */
static void load_native(sqlite3 *db, const trl_frame *f)
{
    exec(db, "CREATE TABLE n(key INTEGER, x REAL, y REAL, s TEXT)");
    exec(db, "BEGIN");
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "INSERT INTO n VALUES (?, ?, ?, ?)", -1, &st,
                           NULL) != SQLITE_OK)
        die("insert", sqlite3_errmsg(db));
    const trl_column *s = f->cols[3];
    for (size_t r = 0; r < f->nrows; r++) {
        sqlite3_bind_int64(st, 1, f->cols[0]->v.i64[r]);
        sqlite3_bind_double(st, 2, f->cols[1]->v.f64[r]);
        sqlite3_bind_double(st, 3, f->cols[2]->v.f64[r]);
        int32_t c = s->v.codes[r];
        sqlite3_bind_text(st, 4, s->dict->strs[c], (int)s->dict->lens[c],
                          SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
            die("insert", sqlite3_errmsg(db));
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    exec(db, "COMMIT");
}

/* Runs sql to the end reading every value; seconds, and a checksum of the
 * values (rows, and the sum of the numbers) to compare the two sides. */
static double run(sqlite3 *db, const char *sql, double *sum, long *rows)
{
    double t0 = now();
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        die(sql, sqlite3_errmsg(db));
    int nc = sqlite3_column_count(st), rc;
    *sum = 0;
    *rows = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        for (int j = 0; j < nc; j++)
            *sum += sqlite3_column_double(st, j);
        (*rows)++;
    }
    if (rc != SQLITE_DONE)
        die(sql, sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return now() - t0;
}

static int by_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, by_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static char *plan(sqlite3 *db, const char *sql)
{
    static char out[1024];
    char *eqp = sqlite3_mprintf("EXPLAIN QUERY PLAN %s", sql);
    sqlite3_stmt *st;
    out[0] = '\0';
    if (sqlite3_prepare_v2(db, eqp, -1, &st, NULL) == SQLITE_OK) {
        while (sqlite3_step(st) == SQLITE_ROW) {
            size_t len = strlen(out);
            snprintf(out + len, sizeof out - len, "%s%s", len ? "; " : "",
                     (const char *)sqlite3_column_text(st, 3));
        }
        sqlite3_finalize(st);
    }
    sqlite3_free(eqp);
    return out;
}

static void dump(const trl_frame *f, const char *dir)
{
    const char *names[] = {"key.i64", "x.f64", "y.f64", "s.codes"};
    size_t widths[] = {8, 8, 8, 4};
    for (int j = 0; j < 4; j++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[j]);
        FILE *out = fopen(path, "wb");
        if (!out || fwrite(f->cols[j]->v.f64, widths[j], f->nrows, out) !=
                        f->nrows || fclose(out) != 0)
            die(path, "cannot write");
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/s.words", dir);
    FILE *out = fopen(path, "w");
    if (!out)
        die(path, "cannot write");
    for (int w = 0; w < NWORDS; w++)
        fprintf(out, "%s\n", words[w]);
    fclose(out);
}

typedef struct query {
    const char *name;   /* in the JSON */
    const char *sql;    /* with %s for the table */
    int cold;           /* also time a fresh table (no index yet) */
} query;

static const query queries[] = {
    {"groupby", "SELECT key, count(*), avg(x), sum(y) FROM %s GROUP BY key", 1},
    {"filter", "SELECT count(*), avg(x) FROM %s WHERE x > 0.9 AND s = 'abc'",
     0},
    /* details: the same work with the table's help taken away (a unary +
     * makes the term an expression): SQLite sorts the groups itself, and
     * the filter is evaluated by SQLite on every row */
    {"groupby_sqlite_sorts",
     "SELECT key, count(*), avg(x), sum(y) FROM %s GROUP BY +key", 0},
    {"filter_not_pushed",
     "SELECT count(*), avg(x) FROM %s WHERE +x > 0.9 AND +s = 'abc'", 0},
    {"scan", "SELECT sum(x), sum(y), count(s) FROM %s", 0},
};

int main(int argc, char **argv)
{
    size_t rows = 5000000;
    int runs = 5;
    const char *dump_dir = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--rows") && i + 1 < argc)
            rows = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--runs") && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--dump") && i + 1 < argc)
            dump_dir = argv[++i];
        else
            die("usage", "bench_sql [--rows N] [--runs R] [--dump DIR]");
    }
    if (runs < 1 || runs > 99)
        die("--runs", "1 to 99");
    double t0 = now();
    trl_frame *f = generate(rows);
    double t_gen = now() - t0;
    if (dump_dir)
        dump(f, dump_dir);

    sqlite3 *db;
    if (sqlite3_open(":memory:", &db) != SQLITE_OK)
        die("open", "cannot open :memory:");
    trl_error err;
    trl_sql_tables *tables = trl_sql_attach(db, &err);
    if (!tables || trl_sql_bind(tables, "t", f, &err))
        die("bind", err.message);
    t0 = now();
    load_native(db, f);
    double t_load = now() - t0;

    printf("{\"rows\": %zu, \"runs\": %d, \"sqlite\": \"%s\", "
           "\"generate_s\": %.3f, \"native_load_s\": %.3f, \"queries\": [",
           rows, runs, sqlite3_libversion(), t_gen, t_load);
    for (size_t q = 0; q < sizeof queries / sizeof *queries; q++) {
        char *sql_t = sqlite3_mprintf(queries[q].sql, "t");
        char *sql_n = sqlite3_mprintf(queries[q].sql, "n");
        double tt[99], tn[99], tc[99], sum_t = 0, sum_n = 0, sum_c = 0;
        long rows_t = 0, rows_n = 0, rows_c = 0;
        for (int r = 0; r < runs; r++) {
            /* alternate which side goes first */
            if (r % 2) {
                tn[r] = run(db, sql_n, &sum_n, &rows_n);
                tt[r] = run(db, sql_t, &sum_t, &rows_t);
            } else {
                tt[r] = run(db, sql_t, &sum_t, &rows_t);
                tn[r] = run(db, sql_n, &sum_n, &rows_n);
            }
            if (queries[q].cold) {
                /* a fresh table: what the first query after a bind costs */
                if (trl_sql_unbind(tables, "t", &err) ||
                    trl_sql_bind(tables, "t", f, &err))
                    die("rebind", err.message);
                tc[r] = run(db, sql_t, &sum_c, &rows_c);
            }
        }
        int agree = rows_t == rows_n &&
                    fabs(sum_t - sum_n) <= 1e-9 * fmax(1, fabs(sum_n));
        printf("%s{\"name\": \"%s\", \"sql\": \"%s\", \"vtab_s\": %.6f, "
               "\"native_s\": %.6f, ",
               q ? ", " : "", queries[q].name, queries[q].sql,
               median(tt, runs), median(tn, runs));
        if (queries[q].cold)
            printf("\"vtab_cold_s\": %.6f, ", median(tc, runs));
        printf("\"vtab_min_s\": %.6f, \"native_min_s\": %.6f, "
               "\"rows\": %ld, \"checksum_vtab\": %.17g, "
               "\"checksum_native\": %.17g, \"agree\": %s, ",
               tt[0], tn[0], rows_t, sum_t, sum_n, agree ? "true" : "false");
        printf("\"plan_vtab\": \"%s\", ", plan(db, sql_t));
        printf("\"plan_native\": \"%s\"}", plan(db, sql_n));
        sqlite3_free(sql_t);
        sqlite3_free(sql_n);
    }
    printf("]}\n");
    sqlite3_close(db);
    trl_frame_decref(f);
    return 0;
}
