/* test_replay.c - replay.c: the bounded set of accepted signatures. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <string.h>

#include "kernel/wire.h"

/* A distinct, non-zero digest for each i. spread puts i in the bytes the
 * table hashes on; otherwise only the last bytes vary, so every digest
 * lands in the same slot and probing is at its worst. */
static void digest_of(unsigned char d[32], uint32_t i, int spread)
{
    memset(d, 0xa5, 32);
    if (spread) {
        for (int b = 0; b < 4; b++)
            d[b] = (unsigned char)(i >> (8 * b));
    } else {
        for (int b = 0; b < 4; b++)
            d[28 + b] = (unsigned char)(i >> (8 * b));
    }
}

static void test_check_add_returns_0_then_1_for_same_digest(void **state)
{
    (void)state;
    trl__replay r;
    assert_int_equal(trl__replay_init(&r, 8), 0);
    unsigned char a[32], b[32];
    digest_of(a, 1, 1);
    digest_of(b, 2, 1);
    assert_int_equal(trl__replay_check_add(&r, a), 0);
    assert_int_equal(trl__replay_check_add(&r, a), 1);
    assert_int_equal(trl__replay_check_add(&r, a), 1);
    assert_int_equal(trl__replay_check_add(&r, b), 0);
    assert_int_equal(trl__replay_check_add(&r, b), 1);
    assert_int_equal(r.count, 2);
    trl__replay_destroy(&r);
}

static void test_check_add_never_records_all_zero_digest(void **state)
{
    (void)state;
    trl__replay r;
    assert_int_equal(trl__replay_init(&r, 8), 0);
    static const unsigned char zero[32];
    for (int i = 0; i < 20; i++)  /* more than max: no eviction either */
        assert_int_equal(trl__replay_check_add(&r, zero), 0);
    assert_int_equal(r.count, 0);
    trl__replay_destroy(&r);
}

static void test_table_stays_at_most_half_full(void **state)
{
    (void)state;
    static const size_t maxes[] = {1, 8, 9, 1000, 1u << 16};
    unsigned char d[32];
    for (size_t k = 0; k < sizeof maxes / sizeof *maxes; k++) {
        trl__replay r;
        assert_int_equal(trl__replay_init(&r, maxes[k]), 0);
        assert_int_equal(r.max, maxes[k]);
        for (uint32_t i = 1; i <= maxes[k] + 3; i++) {
            digest_of(d, i, 1);
            trl__replay_check_add(&r, d);
            assert_true(r.cap >= 2 * r.count);
            assert_int_equal(r.cap & (r.cap - 1), 0);  /* power of two */
        }
        trl__replay_destroy(&r);
    }
}

static void test_eviction_forgets_oldest_half(void **state)
{
    (void)state;
    trl__replay r;
    unsigned char d[32];
    assert_int_equal(trl__replay_init(&r, 8), 0);
    for (uint32_t i = 1; i <= 8; i++) {
        digest_of(d, i, 1);
        assert_int_equal(trl__replay_check_add(&r, d), 0);
    }
    assert_int_equal(r.count, 8);
    /* the ninth evicts 1..4, keeps 5..8, then records itself */
    digest_of(d, 9, 1);
    assert_int_equal(trl__replay_check_add(&r, d), 0);
    assert_int_equal(r.count, 5);
    for (uint32_t i = 5; i <= 9; i++) {
        digest_of(d, i, 1);
        assert_int_equal(trl__replay_check_add(&r, d), 1);
    }
    for (uint32_t i = 1; i <= 4; i++) {
        digest_of(d, i, 1);
        assert_int_equal(trl__replay_check_add(&r, d), 0);
    }
    trl__replay_destroy(&r);
}

/* Inserts n distinct digests into a table of max entries, checking the
 * count never exceeds max, then that the newest max/2 (at least the newest
 * one) are remembered and the first one is forgotten. */
static void insert_many(size_t max, uint32_t n, int spread)
{
    trl__replay r;
    unsigned char d[32];
    assert_int_equal(trl__replay_init(&r, max), 0);
    for (uint32_t i = 1; i <= n; i++) {
        digest_of(d, i, spread);
        assert_int_equal(trl__replay_check_add(&r, d), 0);
        assert_true(r.count >= 1 && r.count <= max);
    }
    size_t keep = max / 2 ? max / 2 : 1;
    for (uint32_t i = n - (uint32_t)keep + 1; i <= n; i++) {
        digest_of(d, i, spread);
        if (trl__replay_check_add(&r, d) != 1)
            print_error("max %zu: digest %u of %u forgotten\n", max,
                        (unsigned)i, (unsigned)n);
        assert_int_equal(trl__replay_check_add(&r, d), 1);
    }
    digest_of(d, 1, spread);
    assert_int_equal(trl__replay_check_add(&r, d), 0);
    trl__replay_destroy(&r);
}

static void test_eviction_keeps_newest_after_10000_digests(void **state)
{
    (void)state;
    insert_many(8, 10000, 1);
}

static void test_eviction_keeps_newest_with_odd_and_tiny_max(void **state)
{
    (void)state;
    insert_many(1, 10000, 1);
    insert_many(2, 10000, 1);
    insert_many(7, 10000, 1);
    insert_many(9, 10000, 1);
}

static void test_eviction_survives_digests_sharing_one_slot(void **state)
{
    (void)state;
    insert_many(8, 10000, 0);
    insert_many(64, 10000, 0);
}

static void test_eviction_keeps_newest_with_large_max(void **state)
{
    (void)state;
    insert_many(1000, 10000, 1);
}

/* The soak (tests/soak) saw the kernel's memory grow until the 65536th
 * message while the table doubled and an order ring filled: now the table
 * is allocated once, and an eviction allocates nothing. */
static void test_table_is_allocated_once(void **state)
{
    (void)state;
    trl__replay r;
    unsigned char d[32];
    assert_int_equal(trl__replay_init(&r, 1000), 0);
    uint64_t *slots = r.slots;
    size_t cap = r.cap;
    assert_true(cap >= 2000);
    for (uint32_t i = 1; i <= 10000; i++) {
        digest_of(d, i, 1);
        assert_int_equal(trl__replay_check_add(&r, d), 0);
        assert_ptr_equal(r.slots, slots);
        assert_int_equal(r.cap, cap);
    }
    trl__replay_destroy(&r);
}

/* A digest whose key has home slot `slot` (when below the table's size),
 * distinct for each i. */
static void digest_at(unsigned char d[32], size_t slot, uint32_t i)
{
    uint64_t k = (uint64_t)i << 32 | (uint64_t)slot;
    memset(d, 0, 32);
    memcpy(d, &k, sizeof k);  /* the other words are 0: the key is k */
}

/* Dropping a generation moves the entries kept: runs of full slots that
 * wrap past the table's end, and runs mixing homes, stay findable. */
static void test_eviction_in_runs_that_wrap_around(void **state)
{
    (void)state;
    trl__replay r;
    unsigned char d[32];
    assert_int_equal(trl__replay_init(&r, 8), 0);
    size_t last = r.cap - 1;
    for (uint32_t i = 1; i <= 1000; i++) {
        /* homes at the end, at 0 and in between, interleaved */
        size_t slot = i % 3 == 0 ? last : i % 3 == 1 ? 0 : last - 1;
        digest_at(d, slot, i);
        assert_int_equal(trl__replay_check_add(&r, d), 0);
        assert_true(r.count <= r.max);
        for (uint32_t j = i > 3 ? i - 3 : 1; j <= i; j++) {
            size_t s = j % 3 == 0 ? last : j % 3 == 1 ? 0 : last - 1;
            digest_at(d, s, j);
            assert_int_equal(trl__replay_check_add(&r, d), 1);
        }
    }
    digest_at(d, 1 % 3 == 0 ? last : 0, 1);
    assert_int_equal(trl__replay_check_add(&r, d), 0);
    trl__replay_destroy(&r);
}

/* ---- threads ------------------------------------------------------------- */

#define THREADS 4
#define PER_THREAD 20000

typedef struct worker {
    trl__replay *r;
    pthread_barrier_t *start;
    size_t accepted;  /* digests this thread was first to add */
} worker;

/* Every thread adds the same digests in the same order, so they race on
 * each one; without the lock two threads would accept the same digest. */
static void *work(void *arg)
{
    worker *w = arg;
    unsigned char d[32];
    pthread_barrier_wait(w->start);
    for (uint32_t i = 1; i <= PER_THREAD; i++) {
        digest_of(d, i, 1);
        if (trl__replay_check_add(w->r, d) == 0)
            w->accepted++;
    }
    return NULL;
}

static void test_check_add_accepts_each_digest_once_across_threads(
    void **state)
{
    (void)state;
    trl__replay r;
    assert_int_equal(trl__replay_init(&r, 1u << 16), 0);
    pthread_barrier_t start;
    assert_int_equal(pthread_barrier_init(&start, NULL, THREADS), 0);
    pthread_t t[THREADS];
    worker w[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (worker){&r, &start, 0};
        assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
    }
    size_t accepted = 0;
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        accepted += w[i].accepted;
    }
    pthread_barrier_destroy(&start);
    assert_int_equal(accepted, PER_THREAD);
    assert_int_equal(r.count, PER_THREAD);
    unsigned char d[32];
    for (uint32_t i = 1; i <= PER_THREAD; i++) {
        digest_of(d, i, 1);
        assert_int_equal(trl__replay_check_add(&r, d), 1);
    }
    trl__replay_destroy(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_add_returns_0_then_1_for_same_digest),
        cmocka_unit_test(test_check_add_never_records_all_zero_digest),
        cmocka_unit_test(test_table_stays_at_most_half_full),
        cmocka_unit_test(test_eviction_forgets_oldest_half),
        cmocka_unit_test(test_eviction_keeps_newest_after_10000_digests),
        cmocka_unit_test(test_eviction_keeps_newest_with_odd_and_tiny_max),
        cmocka_unit_test(test_eviction_survives_digests_sharing_one_slot),
        cmocka_unit_test(test_eviction_keeps_newest_with_large_max),
        cmocka_unit_test(test_table_is_allocated_once),
        cmocka_unit_test(test_eviction_in_runs_that_wrap_around),
        cmocka_unit_test(test_check_add_accepts_each_digest_once_across_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
