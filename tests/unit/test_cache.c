/* Unit tests for fcgi/cache.c without a database: references, ages, the
 * newer entry winning, least-recently-used eviction and the byte budget.
 * The refresher thread runs but cannot connect (it retries quietly). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "log.h"

static int freed;

static void *obj_build(void *arg, PGconn *db, const struct cache_key *k, double *at, size_t *size)
{
    (void)arg;
    (void)db;
    (void)k;
    (void)at;
    (void)size;
    return NULL;
}

static void obj_free(void *obj)
{
    freed++;
    free(obj);
}

static struct cache *test_cache(void)
{
    freed = 0;
    struct cache *c = cache_new("host=/nonexistent-orch-test port=1 connect_timeout=1", obj_build, obj_free, NULL);
    assert_non_null(c);
    return c;
}

static struct cache_key test_key(int kind, long long id)
{
    struct cache_key k;
    memset(&k, 0, sizeof k);
    k.kind = kind;
    k.p.id = id;
    k.p.limit = 50;
    k.p.mode = -1;
    return k;
}

static void *test_obj(int v)
{
    int *p = malloc(sizeof *p);
    assert_non_null(p);
    *p = v;
    return p;
}

static void references_and_ages(void **state)
{
    (void)state;
    struct cache *c = test_cache();
    struct cache_key k = test_key(CACHE_STATE, 0);
    double now = cache_now();
    assert_null(cache_get(c, &k, now, 10.0));
    struct cache_item *a = cache_put(c, &k, test_obj(1), now, 100);
    assert_non_null(a);
    struct cache_item *b = cache_get(c, &k, now + 1.0, 10.0);
    assert_ptr_equal(a, b);
    assert_int_equal(*(int *)b->obj, 1);
    /* too old for this caller */
    assert_null(cache_get(c, &k, now + 11.0, 10.0));
    /* a newer entry replaces it; the old one lives while referenced */
    struct cache_item *n = cache_put(c, &k, test_obj(2), now + 2.0, 100);
    assert_int_equal(freed, 0);
    cache_release(c, a);
    assert_int_equal(freed, 0);
    cache_release(c, b);
    assert_int_equal(freed, 1);
    /* an older one does not replace a newer one */
    struct cache_item *o = cache_put(c, &k, test_obj(3), now + 1.5, 100);
    assert_non_null(o);
    cache_release(c, o);
    assert_int_equal(freed, 2);
    struct cache_item *g = cache_get(c, &k, now + 3.0, 10.0);
    assert_non_null(g);
    assert_int_equal(*(int *)g->obj, 2);
    cache_release(c, g);
    cache_release(c, n);
    cache_free(c);
    assert_int_equal(freed, 3);
}

static void least_recently_used_goes(void **state)
{
    (void)state;
    struct cache *c = test_cache();
    double now = cache_now();
    for (int i = 0; i < CACHE_SLOTS; i++) {
        struct cache_key k = test_key(CACHE_DECISIONS, i + 1);
        cache_release(c, cache_put(c, &k, test_obj(i), now, 10));
    }
    /* key 1 used again: key 2 is now the least recently used */
    struct cache_key k1 = test_key(CACHE_DECISIONS, 1), k2 = test_key(CACHE_DECISIONS, 2);
    cache_release(c, cache_get(c, &k1, now, 10.0));
    struct cache_key extra = test_key(CACHE_DECISIONS, 999);
    cache_release(c, cache_put(c, &extra, test_obj(999), now, 10));
    assert_int_equal(freed, 1);
    assert_null(cache_get(c, &k2, now, 10.0));
    struct cache_item *it = cache_get(c, &k1, now, 10.0);
    assert_non_null(it);
    cache_release(c, it);
    cache_free(c);
    assert_int_equal(freed, CACHE_SLOTS + 1);
}

static void byte_budget_holds(void **state)
{
    (void)state;
    struct cache *c = test_cache();
    double now = cache_now();
    size_t big = CACHE_BUDGET / 3;
    for (int i = 0; i < 5; i++) {
        struct cache_key k = test_key(CACHE_DECISIONS, i + 1);
        cache_release(c, cache_put(c, &k, test_obj(i), now, big));
    }
    /* three fit (3 x a third), the two oldest went */
    assert_int_equal(freed, 2);
    struct cache_key k5 = test_key(CACHE_DECISIONS, 5);
    struct cache_item *it = cache_get(c, &k5, now, 10.0);
    assert_non_null(it);
    cache_release(c, it);
    cache_clear(c);
    assert_int_equal(freed, 5);
    cache_free(c);
}

int main(void)
{
    log_init("test_cache", LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(references_and_ages),
        cmocka_unit_test(least_recently_used_goes),
        cmocka_unit_test(byte_budget_holds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
