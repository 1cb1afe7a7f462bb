/* watch_rig.h: what test_watch.c and test_watch_state.c share -- the
 * times, a watch on the defaults (seed_cfg) but for its window and share,
 * the fixed-seed price series, and states with given window peaks. */
#ifndef WATCH_RIG_H
#define WATCH_RIG_H

#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "learn.h"
#include "seed.h"
#include "watch.h"
#include "watch_live.h"

#define T0 ((time_t)1704067200)        /* 2024-01-01 00:00:00 UTC: a UTC midnight */
#define MIN 60
#define QUARTER 900                    /* the default window, 15 minutes */
#define CRYPTO LEARN_CRYPTO
#define HIST (T0 + 6 * 3600)           /* six quiet hours: a window boundary */

/* seed_cfg (seed.h): the defaults (WATCH_WINDOW_MINUTES 15, WATCH_EVENT_SHARE 0.32) */

static inline void near_rel(double got, double want, double rel)
{
    if (!(fabs(got - want) <= rel * fabs(want)))
        fail_msg("got %.9g, want %.9g (relative %g)", got, want, rel);
}

/* A watch on the defaults but for its window and share. */
static inline void wopen(struct watch *w, long window_minutes, double share)
{
    struct cfg c = seed_cfg;
    c.watch_window_minutes = window_minutes;
    c.watch_event_share = share;
    assert_int_equal(watch_init(w, &c), 0);
}

/* splitmix64: a fixed seed gives the same series everywhere. */
static inline uint64_t rnd(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Uniform in [-1, 1). */
static inline double uniform(uint64_t *s)
{
    return (double)(rnd(s) >> 11) / 9007199254740992.0 * 2.0 - 1.0;
}

struct walk {
    uint64_t seed;
    double price;
};

/* The next price of a quiet random walk (moves of at most 0.1%). */
static inline double step(struct walk *k)
{
    k->price *= exp(0.001 * uniform(&k->seed));
    return k->price;
}

static inline void sample(struct watch *w, const char *name, time_t t, double price)
{
    assert_int_equal(watch_price(w, CRYPTO, name, t, price), 0);
}

/* BTCUSDT every minute over (from, to], a quiet walk. */
static inline void quiet(struct watch *w, struct walk *k, time_t from, time_t to)
{
    for (time_t t = from + MIN; t <= to; t += MIN)
        sample(w, "BTCUSDT", t, step(k));
}

/* Six quiet hours of BTCUSDT behind a watch whose first look is done. */
static inline void quiet_history(struct watch *w, struct walk *k)
{
    wopen(w, 15, 0.32);
    watch_looked(w);
    *k = (struct walk){ 42, 100 };
    quiet(w, k, T0, HIST);
}

/* A price move by factor at t; returns watch_due's answer at t. */
static inline int move(struct watch *w, struct walk *k, time_t t, double factor, struct watch_event *ev)
{
    k->price *= factor;
    sample(w, "BTCUSDT", t, k->price);
    return watch_due(w, CRYPTO, t, ev);
}

/* 1..n in a shuffled order. */
static inline json_object *shuffled(int n, uint64_t seed)
{
    int *v = malloc((size_t)n * sizeof *v);
    assert_non_null(v);
    for (int i = 0; i < n; i++)
        v[i] = i + 1;
    for (int i = n - 1; i > 0; i--) {
        int j = (int)(rnd(&seed) % (uint64_t)(i + 1)), x = v[i];
        v[i] = v[j];
        v[j] = x;
    }
    json_object *a = json_object_new_array();
    for (int i = 0; i < n; i++)
        json_object_array_add(a, json_object_new_double(v[i]));
    free(v);
    return a;
}

/* The state of w with crypto's window peaks v (one per window from T0). */
static inline json_object *with_peaks(const struct watch *w, json_object *v)
{
    json_object *j = watch_to_json(w), *ms, *mk;
    assert_non_null(j);
    assert_true(json_object_object_get_ex(j, "markets", &ms));
    assert_true(json_object_object_get_ex(ms, learn_market_name(CRYPTO), &mk));
    json_object *p = json_object_new_object();
    json_object_object_add(p, "t0", json_object_new_int64(T0));
    json_object_object_add(p, "dt", json_object_new_int64(w->window_s));
    json_object_object_add(p, "v", v);
    json_object_object_add(mk, "peaks", p);
    return j;
}

#endif
