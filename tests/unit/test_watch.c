/* Unit tests for worker/watch.c, the minute-by-minute watch (trailing
 * activity, per-market score and threshold, wake-ups, the live scorecard,
 * the saved state), and for watch_live_parse_dex (worker/watch_live.c).
 * Deterministic: synthetic price series from a fixed-seed generator,
 * explicit UTC times, no wall clock, no database, no network. */
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

static void near_rel(double got, double want, double rel)
{
    if (!(fabs(got - want) <= rel * fabs(want)))
        fail_msg("got %.9g, want %.9g (relative %g)", got, want, rel);
}

/* A watch on the defaults but for its window and share. */
static void wopen(struct watch *w, long window_minutes, double share)
{
    struct cfg c = seed_cfg;
    c.watch_window_minutes = window_minutes;
    c.watch_event_share = share;
    assert_int_equal(watch_init(w, &c), 0);
}

/* splitmix64: a fixed seed gives the same series everywhere. */
static uint64_t rnd(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Uniform in [-1, 1). */
static double uniform(uint64_t *s)
{
    return (double)(rnd(s) >> 11) / 9007199254740992.0 * 2.0 - 1.0;
}

struct walk {
    uint64_t seed;
    double price;
};

/* The next price of a quiet random walk (moves of at most 0.1%). */
static double step(struct walk *k)
{
    k->price *= exp(0.001 * uniform(&k->seed));
    return k->price;
}

static void sample(struct watch *w, const char *name, time_t t, double price)
{
    assert_int_equal(watch_price(w, CRYPTO, name, t, price), 0);
}

/* BTCUSDT every minute over (from, to], a quiet walk. */
static void quiet(struct watch *w, struct walk *k, time_t from, time_t to)
{
    for (time_t t = from + MIN; t <= to; t += MIN)
        sample(w, "BTCUSDT", t, step(k));
}

/* Six quiet hours of BTCUSDT behind a watch whose first look is done. */
static void quiet_history(struct watch *w, struct walk *k)
{
    wopen(w, 15, 0.32);
    watch_looked(w);
    *k = (struct walk){ 42, 100 };
    quiet(w, k, T0, HIST);
}

/* A price move by factor at t; returns watch_due's answer at t. */
static int move(struct watch *w, struct walk *k, time_t t, double factor, struct watch_event *ev)
{
    k->price *= factor;
    sample(w, "BTCUSDT", t, k->price);
    return watch_due(w, CRYPTO, t, ev);
}

/* ---- causality --------------------------------------------------------------- */

/* Two watches in lock step on the same BTCUSDT (each minute) and ETHUSDT
 * (every two minutes, at :30) until T; after T, b's BTCUSDT is 8% higher.
 * A decision scans the market on every wake-up. */
static void test_same_past_gives_same_decisions(void **state)
{
    (void)state;
    struct watch a, b;
    wopen(&a, 15, 0.32);
    wopen(&b, 15, 0.32);
    struct walk ka = { 7, 100 }, kb = { 7, 100 }, ea = { 8, 2000 }, eb = { 8, 2000 };
    const time_t T = T0 + 5 * 3600 + 7 * MIN;     /* in the middle of a window */
    int wakes = 0, differed = 0;
    for (time_t t = T0 + MIN; t <= T0 + 8 * 3600; t += MIN) {
        if (t % 120 == 0) {
            sample(&a, "ETHUSDT", t - 30, step(&ea));
            sample(&b, "ETHUSDT", t - 30, step(&eb));
        }
        sample(&a, "BTCUSDT", t, step(&ka));
        sample(&b, "BTCUSDT", t, step(&kb) * (t > T ? 1.08 : 1.0));
        struct watch_event va, vb;
        int da = watch_due(&a, CRYPTO, t, &va), db = watch_due(&b, CRYPTO, t, &vb);
        if (t <= T) {
            assert_int_equal(da, db);
            assert_true(a.m[CRYPTO].score == b.m[CRYPTO].score);
            assert_true(a.m[CRYPTO].threshold == b.m[CRYPTO].threshold);
            if (da) {
                assert_true(va.score == vb.score && va.threshold == vb.threshold);
                assert_string_equal(va.instrument, vb.instrument);
            }
            wakes += da;
        } else {
            differed |= da != db || a.m[CRYPTO].score != b.m[CRYPTO].score;
        }
        if (da)
            watch_scanned(&a, CRYPTO, t);
        if (db)
            watch_scanned(&b, CRYPTO, t);
    }
    assert_true(wakes > 1);                 /* a past with decisions to agree on */
    assert_true(differed);                  /* and a future that does change them */
    watch_free(&a);
    watch_free(&b);
}

/* ---- bursts -------------------------------------------------------------------- */

static void test_burst_wakes_at_its_first_sample(void **state)
{
    (void)state;
    struct watch w;
    struct walk k;
    struct watch_event ev;
    quiet_history(&w, &k);
    assert_int_equal(move(&w, &k, HIST + MIN, 1.05, &ev), 1);
    assert_int_equal(ev.market, CRYPTO);
    assert_true(ev.at == HIST + MIN);
    assert_true(ev.threshold > 0);
    assert_true(ev.score >= ev.threshold);
    assert_string_equal(ev.instrument, "BTCUSDT");
    assert_int_equal(ev.windows, 23);       /* 24 windows, the first one unscored (no usual yet) */
    watch_free(&w);
}

static void test_burst_wakes_once_per_window(void **state)
{
    (void)state;
    struct watch w;
    struct walk k;
    struct watch_event ev;
    quiet_history(&w, &k);
    assert_int_equal(move(&w, &k, HIST + MIN, 1.05, &ev), 1);
    for (time_t t = HIST + 2 * MIN; t <= HIST + QUARTER; t += MIN) {   /* still busy */
        assert_int_equal(move(&w, &k, t, t % 120 ? 1.02 : 1 / 1.02, &ev), 0);
        assert_true(w.m[CRYPTO].score >= w.m[CRYPTO].threshold);
    }
    assert_int_equal(w.m[CRYPTO].wakes, 1);
    watch_free(&w);
}

/* Four moves, three at the end of a window and one at the start of the
 * next, each 0.28 of the threshold after a flat stretch: the trailing
 * window sees them whole as soon as the fourth comes. */
static void test_burst_across_a_window_boundary_is_seen_whole(void **state)
{
    (void)state;
    struct watch w;
    struct walk k = { 42, 100 };
    struct watch_event ev;
    wopen(&w, 15, 0.32);
    watch_looked(&w);
    quiet(&w, &k, T0, HIST - 2 * QUARTER);
    for (time_t t = HIST - 2 * QUARTER + MIN; t <= HIST - 3 * MIN; t += MIN)
        sample(&w, "BTCUSDT", t, k.price);
    double m = 0.28 * w.m[CRYPTO].threshold * w.in[0].usual;
    for (time_t t = HIST - 2 * MIN; t <= HIST; t += MIN)
        assert_int_equal(move(&w, &k, t, exp(m), &ev), 0);
    assert_int_equal(move(&w, &k, HIST + MIN, exp(m), &ev), 1);
    watch_free(&w);
}

/* A jump at the first sample of a window, flat after it: the trailing
 * window forgets it as the next clock window starts. */
static void jump_then_flat(struct watch *w, struct walk *k)
{
    struct watch_event ev;
    quiet_history(w, k);
    assert_int_equal(move(w, k, HIST + MIN, 1.05, &ev), 1);
    for (time_t t = HIST + 2 * MIN; t <= HIST + QUARTER; t += MIN)
        assert_int_equal(move(w, k, t, 1, &ev), 0);
}

static void test_burst_next_window_wakes_only_if_still_active(void **state)
{
    (void)state;
    struct watch calm, busy;
    struct walk kc, kb;
    struct watch_event ev;
    jump_then_flat(&calm, &kc);
    jump_then_flat(&busy, &kb);
    for (time_t t = HIST + QUARTER + MIN; t <= HIST + 2 * QUARTER; t += MIN) {
        assert_int_equal(move(&calm, &kc, t, 1, &ev), 0);
        assert_true(calm.m[CRYPTO].score == 0);
    }
    assert_int_equal(move(&busy, &kb, HIST + QUARTER + MIN, 1.03, &ev), 1);
    assert_true(ev.score >= ev.threshold);
    watch_free(&calm);
    watch_free(&busy);
}

/* A jump four minutes before a window ends wakes once; the trailing window
 * still holds it as the next window starts, but the cooldown (half a
 * window after the last wake-up) keeps that from waking a second decision;
 * activity that goes on past the cooldown wakes again. */
static void test_burst_late_in_a_window_wakes_once(void **state)
{
    (void)state;
    struct watch w;
    struct walk k;
    struct watch_event ev;
    quiet_history(&w, &k);
    const time_t late = HIST + QUARTER - 4 * MIN;
    quiet(&w, &k, HIST, late - MIN);
    assert_int_equal(move(&w, &k, late, 1.05, &ev), 1);
    for (time_t t = late + MIN; t <= HIST + QUARTER + 3 * MIN; t += MIN) {   /* into the next window */
        assert_int_equal(move(&w, &k, t, 1, &ev), 0);
        if (t > HIST + QUARTER)
            assert_true(w.m[CRYPTO].score >= w.m[CRYPTO].threshold);   /* it would have woken */
    }
    assert_int_equal(w.m[CRYPTO].wakes, 1);
    /* past the cooldown (7.5 minutes after the wake-up), new moves wake it */
    time_t t = late + 8 * MIN;
    assert_true(t < HIST + 2 * QUARTER);
    assert_int_equal(move(&w, &k, t, 1.05, &ev), 1);
    assert_int_equal(w.m[CRYPTO].wakes, 2);
    watch_free(&w);
}

/* ---- scans and the first look ---------------------------------------------------- */

static void test_scan_silences_the_rest_of_its_window(void **state)
{
    (void)state;
    struct watch s, c;                      /* scanned, and a control without the scan */
    struct walk ks, kc;
    struct watch_event ev;
    quiet_history(&s, &ks);
    quiet_history(&c, &kc);
    watch_scanned(&s, CRYPTO, HIST + 30);
    assert_int_equal(move(&c, &kc, HIST + MIN, 1.05, &ev), 1);
    assert_int_equal(move(&s, &ks, HIST + MIN, 1.05, &ev), 0);
    for (time_t t = HIST + 2 * MIN; t <= HIST + QUARTER; t += MIN) {
        assert_int_equal(move(&s, &ks, t, 1, &ev), 0);
        assert_true(s.m[CRYPTO].score >= s.m[CRYPTO].threshold);   /* it would have woken */
    }
    /* the next window is not silenced */
    assert_int_equal(move(&s, &ks, HIST + QUARTER + MIN, 1.03, &ev), 1);
    watch_free(&s);
    watch_free(&c);
}

/* Two windows of a quiet walk on a watch without history; returns the
 * wake-ups (each must be a first look, at the first sample). */
static int first_windows(struct watch *w)
{
    struct walk k = { 3, 100 };
    int wakes = 0;
    for (time_t t = T0 + MIN; t <= T0 + 2 * QUARTER; t += MIN) {
        sample(w, "BTCUSDT", t, step(&k));
        assert_true(w->m[CRYPTO].threshold < 0);    /* no history yet */
        struct watch_event ev;
        if (watch_due(w, CRYPTO, t, &ev)) {
            assert_true(t == T0 + MIN);
            assert_true(ev.threshold < 0);
            assert_int_equal(ev.windows, 0);
            wakes++;
        }
    }
    return wakes;
}

static void test_first_look_fires_once_without_history(void **state)
{
    (void)state;
    struct watch w;
    wopen(&w, 15, 0.32);
    assert_int_equal(first_windows(&w), 1);
    watch_free(&w);
}

static void test_looked_cancels_the_first_look(void **state)
{
    (void)state;
    struct watch w;
    wopen(&w, 15, 0.32);
    watch_looked(&w);
    assert_int_equal(first_windows(&w), 0);
    watch_free(&w);
}

/* ---- thresholds ---------------------------------------------------------------- */

/* 1..n in a shuffled order. */
static json_object *shuffled(int n, uint64_t seed)
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
static json_object *with_peaks(const struct watch *w, json_object *v)
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

/* The threshold of a watch (window, share) whose n window peaks are 1..n. */
static double threshold_of(long window_minutes, double share, int n)
{
    struct watch w;
    wopen(&w, window_minutes, share);
    json_object *j = with_peaks(&w, shuffled(n, 99));
    assert_int_equal(watch_from_json(&w, j), 0);
    assert_int_equal((int)w.m[CRYPTO].peaks.n, n);
    double th = w.m[CRYPTO].threshold;
    json_object_put(j);
    watch_free(&w);
    return th;
}

static void test_threshold_after_a_week_is_the_share_quantile(void **state)
{
    (void)state;
    /* 1001 windows of 15 minutes (10.4 days): the value reached by 32% of
     * them, index (1 - 0.32) * 1000 = 680 of the sorted peaks: 681 */
    assert_true(threshold_of(15, 0.32, 1001) == 681);
    assert_true(threshold_of(15, 0.10, 1001) == 901);   /* index 900 */
    assert_true(threshold_of(15, 0.32, 672) == 457);    /* exactly a week: index round(0.68 * 671) = 456 */
    /* a share above the ramp's start has no ramp: index round(0.4 * 100) = 40 */
    assert_true(threshold_of(15, 0.60, 101) == 41);
}

static void test_threshold_ramps_over_the_first_week(void **state)
{
    (void)state;
    /* 101 windows of 15 minutes (a week is 672): share 0.32 + (0.5 - 0.32) *
     * (1 - 101/672) = 0.4729, index round(0.5271 * 100) = 53: 54 (not 69) */
    assert_true(threshold_of(15, 0.32, 101) == 54);
    /* 400 windows: share 0.3929, index round(0.6071 * 399) = 242 (not 271) */
    assert_true(threshold_of(15, 0.32, 400) == 243);
    /* the ramp is a week of time, not of windows: 101 hourly windows of 168,
     * share 0.3918, index round(0.6082 * 100) = 61 */
    assert_true(threshold_of(60, 0.32, 101) == 62);
    assert_true(threshold_of(15, 0.32, 1) == 1);
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

/* The (ramped) quantile of peaks[0..n) for 15-minute windows at share 0.32. */
static double expected_threshold(const double *peaks, size_t n)
{
    double *s = malloc(n * sizeof *s);
    assert_non_null(s);
    memcpy(s, peaks, n * sizeof *s);
    qsort(s, n, sizeof *s, cmp_double);
    double week = 7 * 96.0, share = n < week ? 0.32 + 0.18 * (1 - (double)n / week) : 0.32;
    double v = s[(size_t)((1 - share) * (double)(n - 1) + 0.5)];
    free(s);
    return v;
}

/* Three days, then eight, of a quiet walk: the threshold is the quantile of
 * the peaks the market's windows showed as they ended. */
static void test_threshold_is_the_quantile_of_fed_window_peaks(void **state)
{
    (void)state;
    struct watch w;
    wopen(&w, 15, 0.32);
    struct walk k = { 11, 100 };
    static double peaks[1000];
    size_t n = 0;
    for (time_t t = T0 + MIN; t <= T0 + 8 * 86400; t += MIN) {
        const struct watch_market *mk = &w.m[CRYPTO];
        time_t win = (t - 1) - (t - 1) % QUARTER;
        if (mk->win && win > mk->win && mk->win_max > 0)
            peaks[n++] = mk->win_max;               /* the window that this sample ends */
        step(&k);
        sample(&w, "BTCUSDT", t, k.price * (1 + 0.002 * sin((double)(t - T0) / 7200.0)));
        if (t == T0 + 3 * 86400 || t == T0 + 8 * 86400) {
            assert_int_equal(mk->peaks.n, n);
            assert_true(t == T0 + 3 * 86400 ? n < 672 : n > 672);   /* ramping, then not */
            assert_true(mk->threshold == expected_threshold(peaks, n));
        }
    }
    watch_free(&w);
}

/* ---- persistence ----------------------------------------------------------------- */

#define SAVED (T0 + 36 * 3600 + 35 * MIN)   /* the last sample before the state is saved */

/* A day and a half of BTCUSDT (each minute) and ETHUSDT (every three),
 * scans every 97 minutes, the last 35 minutes flat (nothing in the trailing
 * windows, which are not saved). */
static void saved_history(struct watch *w, struct walk *k)
{
    wopen(w, 15, 0.32);
    *k = (struct walk){ 5, 100 };
    struct walk e = { 6, 2000 };
    for (time_t t = T0 + MIN; t <= SAVED; t += MIN) {
        int flat = t > SAVED - 35 * MIN;
        if (t % 180 == 0)
            sample(w, "ETHUSDT", t, flat ? e.price : step(&e));
        sample(w, "BTCUSDT", t, flat ? k->price : step(k));
        struct watch_event ev;
        (void)watch_due(w, CRYPTO, t, &ev);
        if ((t - T0) % (97 * MIN) == 0)
            watch_scanned(w, CRYPTO, t);
    }
}

/* w's state through its text, as the worker saves and loads it. */
static json_object *through_text(const struct watch *w)
{
    json_object *j = watch_to_json(w);
    assert_non_null(j);
    json_object *back = json_tokener_parse(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
    json_object_put(j);
    assert_non_null(back);
    return back;
}

static void restore(struct watch *to, const struct watch *from)
{
    wopen(to, 15, 0.32);
    json_object *j = through_text(from);
    assert_int_equal(watch_from_json(to, j), 0);
    json_object_put(j);
}

static void test_restored_state_keeps_thresholds_usual_and_day(void **state)
{
    (void)state;
    struct watch a, b;
    struct walk k;
    saved_history(&a, &k);
    restore(&b, &a);
    assert_int_equal(b.nin, a.nin);
    for (int i = 0; i < a.nin; i++) {
        assert_string_equal(b.in[i].name, a.in[i].name);
        assert_true(a.in[i].usual > 0);
        near_rel(b.in[i].usual, a.in[i].usual, 1e-5);
    }
    assert_int_equal(b.m[CRYPTO].peaks.n, a.m[CRYPTO].peaks.n);
    near_rel(b.m[CRYPTO].threshold, a.m[CRYPTO].threshold, 1e-5);
    struct watch_day_result da, db;
    watch_day_now(&a, CRYPTO, &da);
    watch_day_now(&b, CRYPTO, &db);
    assert_true(da.runs > 0 && da.covered > 0 && da.windows > 0);
    assert_true(db.day == da.day);
    assert_int_equal(db.windows, da.windows);
    assert_int_equal(db.top, da.top);
    assert_int_equal(db.covered, da.covered);
    assert_int_equal(db.runs, da.runs);
    assert_int_equal(db.wakes, da.wakes);
    assert_true(db.latency_median_minutes == da.latency_median_minutes);
    watch_free(&a);
    watch_free(&b);
}

static void test_restored_state_makes_the_same_next_decisions(void **state)
{
    (void)state;
    struct watch a, b;
    struct walk k;
    saved_history(&a, &k);
    restore(&b, &a);
    int wakes = 0;
    for (time_t t = SAVED + MIN; t <= SAVED + 4 * 3600; t += MIN) {
        double p = step(&k) * (t > SAVED + 2 * 3600 ? 1.04 : 1);
        sample(&a, "BTCUSDT", t, p);
        sample(&b, "BTCUSDT", t, p);
        struct watch_event va, vb;
        int da = watch_due(&a, CRYPTO, t, &va), db = watch_due(&b, CRYPTO, t, &vb);
        assert_int_equal(db, da);
        if (a.m[CRYPTO].score > 0)
            near_rel(b.m[CRYPTO].score, a.m[CRYPTO].score, 1e-5);
        near_rel(b.m[CRYPTO].threshold, a.m[CRYPTO].threshold, 1e-5);
        wakes += da;
    }
    assert_true(wakes > 1);
    watch_free(&a);
    watch_free(&b);
}

static void test_restored_state_keeps_looked(void **state)
{
    (void)state;
    struct watch looked, fresh, b1, b2;
    struct watch_event ev;
    wopen(&looked, 15, 0.32);
    watch_looked(&looked);
    wopen(&fresh, 15, 0.32);
    restore(&b1, &looked);
    restore(&b2, &fresh);
    sample(&b1, "BTCUSDT", T0 + MIN, 100);
    sample(&b2, "BTCUSDT", T0 + MIN, 100);
    assert_int_equal(watch_due(&b1, CRYPTO, T0 + MIN, &ev), 0);   /* no first look after a restart */
    assert_int_equal(watch_due(&b2, CRYPTO, T0 + MIN, &ev), 1);
    watch_free(&looked);
    watch_free(&fresh);
    watch_free(&b1);
    watch_free(&b2);
}

/* watch_from_json(w, j) fails and leaves w as it was. */
static void refused(struct watch *w, json_object *j)
{
    json_object *before = watch_to_json(w);
    char *was = strdup(json_object_to_json_string_ext(before, JSON_C_TO_STRING_PLAIN));
    assert_int_equal(watch_from_json(w, j), -1);
    json_object *after = watch_to_json(w);
    assert_string_equal(json_object_to_json_string_ext(after, JSON_C_TO_STRING_PLAIN), was);
    free(was);
    json_object_put(before);
    json_object_put(after);
}

static void test_state_of_another_window_or_version_is_refused(void **state)
{
    (void)state;
    struct watch a, w, ten;
    struct walk k, kw;
    saved_history(&a, &k);
    quiet_history(&w, &kw);                 /* a watch with its own state */
    json_object *j = through_text(&a);
    json_object_object_add(j, "window_s", json_object_new_int64(600));
    refused(&w, j);
    json_object_put(j);
    j = through_text(&a);
    json_object_object_add(j, "version", json_object_new_int(2));
    refused(&w, j);
    json_object_put(j);
    j = through_text(&a);
    json_object_object_add(j, "window_s", json_object_new_string("900"));
    refused(&w, j);
    json_object_put(j);
    refused(&w, NULL);
    j = through_text(&a);                   /* a 10-minute watch refuses a 15-minute state */
    wopen(&ten, 10, 0.32);
    refused(&ten, j);
    json_object_put(j);
    watch_free(&a);
    watch_free(&w);
    watch_free(&ten);
}

static json_object *array_of(int n, json_object **v)
{
    json_object *a = json_object_new_array();
    for (int i = 0; i < n; i++)
        json_object_array_add(a, v[i]);
    return a;
}

/* An instrument of crypto in a state, with nonsense beside sane values. */
static json_object *odd_instrument(void)
{
    json_object *o = json_object_new_object(), *totals = json_object_new_object();
    json_object_object_add(o, "name", json_object_new_string("BTCUSDT"));
    json_object_object_add(o, "market", json_object_new_string(learn_market_name(CRYPTO)));
    json_object_object_add(o, "price", json_object_new_double(NAN));
    json_object_object_add(o, "at", json_object_new_int64(T0 + 10 * MIN));
    json_object_object_add(o, "win", json_object_new_int64(T0));
    json_object_object_add(o, "part", json_object_new_double(-3));
    json_object_object_add(totals, "t0", json_object_new_int64(T0 - 86400));
    json_object_object_add(totals, "dt", json_object_new_int64(QUARTER));
    json_object *tv[] = { json_object_new_double(0.01), json_object_new_double(-1), json_object_new_double(NAN),
                          json_object_new_string("x"), json_object_new_double(0.04), NULL,
                          json_object_new_double(INFINITY) };
    json_object_object_add(totals, "v", array_of(7, tv));
    json_object_object_add(o, "totals", totals);
    json_object_object_add(o, "day", json_object_new_int64(T0));
    json_object *dv[] = { json_object_new_double(-3), json_object_new_double(1e9), json_object_new_string("x"),
                          json_object_new_double(0.5), json_object_new_double(NAN) };
    json_object_object_add(o, "day_total", array_of(5, dv));
    return o;
}

/* Peaks 1..101 with nonsense among them (each takes a window's place). */
static json_object *odd_peaks(void)
{
    json_object *sane = shuffled(101, 99), *a = json_object_new_array();
    for (int i = 0; i < 101; i++) {
        if (i % 10 == 3) {
            json_object_array_add(a, json_object_new_double(-1));
            json_object_array_add(a, json_object_new_double(NAN));
            json_object_array_add(a, json_object_new_string("7"));
            json_object_array_add(a, json_object_new_object());
        }
        json_object_array_add(a, json_object_get(json_object_array_get_idx(sane, (size_t)i)));
    }
    json_object_put(sane);
    return a;
}

static void test_nonsense_in_a_state_is_ignored(void **state)
{
    (void)state;
    struct watch w;
    wopen(&w, 15, 0.32);
    json_object *j = with_peaks(&w, odd_peaks()), *ins, *ms, *mk, *today = json_object_new_object();
    assert_true(json_object_object_get_ex(j, "instruments", &ins));
    json_object_array_add(ins, odd_instrument());
    assert_true(json_object_object_get_ex(j, "markets", &ms));
    assert_true(json_object_object_get_ex(ms, learn_market_name(CRYPTO), &mk));
    json_object_object_add(mk, "wakes", json_object_new_int64(-7));
    json_object_object_add(today, "day", json_object_new_int64(T0));
    json_object_object_add(today, "runs", json_object_new_int(-4));
    json_object_object_add(today, "wakes", json_object_new_int(10000000));
    json_object *fv[] = { json_object_new_int(-1), json_object_new_int(70000), json_object_new_string("x"),
                          json_object_new_int(5 * MIN + 1) };
    json_object_object_add(today, "first_scan", array_of(4, fv));
    json_object_object_add(mk, "today", today);

    assert_int_equal(watch_from_json(&w, j), 0);
    json_object_put(j);
    assert_true(w.m[CRYPTO].threshold == 54);      /* as with the 101 sane peaks alone */
    assert_true(w.m[CRYPTO].wakes >= 0);
    near_rel(w.in[0].usual, 0.02, 1e-9);           /* the geometric mean of 0.01 and 0.04 */
    assert_true(w.in[0].part >= 0);
    struct watch_day_result d;
    watch_day_now(&w, CRYPTO, &d);
    assert_true(d.day == T0);
    assert_int_equal(d.windows, 1);                /* only window 3's 0.5 */
    assert_int_equal(d.top, 1);
    assert_int_equal(d.covered, 1);                /* its scan 5 minutes in */
    near_rel(d.latency_median_minutes, 5, 1e-12);
    assert_int_equal(d.runs, 0);
    assert_int_equal(d.wakes, 0);
    /* and it goes on: a price after a NaN one is no return, then one is */
    sample(&w, "BTCUSDT", T0 + 11 * MIN, 100);
    sample(&w, "BTCUSDT", T0 + 12 * MIN, 101);
    assert_true(isfinite(w.m[CRYPTO].score) && w.m[CRYPTO].score > 0);
    near_rel(w.in[0].part, log(1.01), 1e-9);
    watch_free(&w);
}

/* ---- the live scorecard ---------------------------------------------------------- */

#define DAY0 T0
static const int top_a[10] = { 3, 10, 20, 30, 40, 50, 60, 70, 80, 95 };
static const int top_b[10] = { 3, 12, 22, 30, 45, 50, 65, 70, 85, 90 };   /* the union: 16 windows */

static int among(const int *v, int k)
{
    for (int i = 0; i < 10; i++)
        if (v[i] == k)
            return 1;
    return 0;
}

/* Day DAY0 of two crypto instruments, A and B, every minute: each move 1%
 * in the instrument's ten busy windows, 0.01-0.015% in the others; the
 * scans (in time order) are noted after the sample of their minute; the day
 * ends with the first sample of the next one.  *eve: the day so far at its
 * last sample.  Returns the wake-ups at times of day DAY0. */
static int feed_day(struct watch *w, const time_t *scans, int nscans, struct watch_day_result *eve)
{
    double pa = 100, pb = 50;
    int sign = 1, s = 0, wakes = 0;
    struct watch_day_result none;
    for (time_t t = DAY0 + MIN; t <= DAY0 + 86400 + MIN; t += MIN) {
        int k = (int)((t - 1 - DAY0) / QUARTER);      /* the window this sample ends */
        double ra = among(top_a, k) ? 0.01 : 0.0001 * (1 + 0.1 * (k % 5));
        double rb = among(top_b, k) ? 0.01 : 0.0001 * (1 + 0.1 * (k % 3));
        sign = -sign;
        pa *= exp(sign * ra);
        pb *= exp(sign * rb);
        sample(w, "A", t, pa);
        sample(w, "B", t, pb);
        struct watch_event ev;
        if (watch_due(w, CRYPTO, t, &ev) && t < DAY0 + 86400)
            wakes++;
        while (s < nscans && scans[s] <= t)
            watch_scanned(w, CRYPTO, scans[s++]);
        if (t == DAY0 + 86400) {
            watch_day_now(w, CRYPTO, eve);
            assert_int_equal(watch_day_take(w, CRYPTO, &none), 0);   /* not over yet */
        }
    }
    return wakes;
}

static time_t at_window(int k, int seconds)
{
    return DAY0 + (time_t)k * QUARTER + seconds;
}

static void test_scorecard_of_a_day(void **state)
{
    (void)state;
    struct watch w;
    wopen(&w, 15, 0.32);
    const time_t scans[] = { at_window(3, 120), at_window(3, 500),  /* busy: 2 min (then a second scan) */
                             at_window(5, 60),                      /* quiet */
                             at_window(10, 0),                      /* busy: 0 min */
                             at_window(45, 420), at_window(50, 840), at_window(95, 300) };   /* 7, 14, 5 min */
    struct watch_day_result eve, d;
    int wakes = feed_day(&w, scans, 7, &eve);
    assert_int_equal(eve.windows, 95);             /* the last window ends with the next day's first sample */
    assert_int_equal(eve.runs, 7);
    assert_int_equal(watch_day_take(&w, CRYPTO, &d), 1);
    assert_int_equal(d.market, CRYPTO);
    assert_true(d.day == DAY0);
    assert_int_equal(d.windows, 96);
    assert_int_equal(d.top, 16);                   /* each instrument's top decile: 10 of 96 */
    assert_int_equal(d.covered, 5);                /* windows 3, 10, 45, 50, 95 */
    assert_int_equal(d.runs, 7);
    assert_int_equal(d.wakes, wakes);
    assert_int_equal(d.cron5_runs, 288);           /* 96 windows of three 5-minute ticks */
    near_rel(d.latency_median_minutes, 5, 1e-12);  /* of 0, 2, 5, 7, 14 */
    assert_int_equal(watch_day_take(&w, CRYPTO, &d), 0);   /* once */
    sample(&w, "A", DAY0 + 86400 + 2 * MIN, 100);
    assert_int_equal(watch_day_take(&w, CRYPTO, &d), 0);
    watch_day_now(&w, CRYPTO, &d);
    assert_true(d.day == DAY0 + 86400);
    assert_int_equal(d.runs, 0);
    watch_free(&w);
}

/* A scan at the start of every other window: 48 runs; a cron with as many
 * runs covers half the busy windows on average over its phases. */
static void test_scorecard_equal_runs_cron(void **state)
{
    (void)state;
    struct watch w;
    wopen(&w, 15, 0.32);
    time_t scans[48];
    for (int i = 0; i < 48; i++)
        scans[i] = at_window(2 * i, 0);
    struct watch_day_result eve, d;
    (void)feed_day(&w, scans, 48, &eve);
    assert_int_equal(watch_day_take(&w, CRYPTO, &d), 1);
    assert_int_equal(d.runs, 48);
    assert_int_equal(d.top, 16);
    assert_int_equal(d.covered, 11);               /* the even busy windows */
    near_rel(d.latency_median_minutes + 1, 1, 1e-12);
    near_rel(d.equal_runs_covered, 8, 1e-12);      /* (11 + 5) / 2 */
    watch_free(&w);
}

/* ---- DexScreener ----------------------------------------------------------------- */

#define SOL_PAIR "7xKXtg2CW87d97TXJSDpbD5jBkheTqA83TZRuJosgAsU"    /* 44 characters, base58 */
#define EVM_PAIR "0x88e6a0c2ddd26feeb64f039a2c41296fcb3f5640"      /* 42 */

/* {"pairs":[one pair]} */
static int dex_one(const char *addr, const char *price, const char *liquidity, struct watch_live_price *out,
                   char *err, size_t errlen)
{
    char body[512];
    snprintf(body, sizeof body, "{\"pairs\":[{\"pairAddress\":\"%s\",\"priceUsd\":\"%s\",\"liquidity\":{\"usd\":%s}}]}",
             addr, price, liquidity);
    return watch_live_parse_dex(body, out, WATCH_DEX_PAIRS, err, errlen);
}

static void test_dex_most_liquid_pairs_first(void **state)
{
    (void)state;
    const char *body = "{\"pairs\":["
                       "{\"pairAddress\":\"AAA\",\"priceUsd\":\"1.5\",\"liquidity\":{\"usd\":100}},"
                       "{\"pairAddress\":\"BBB\",\"priceUsd\":\"2\",\"liquidity\":{\"usd\":1000}},"
                       "{\"pairAddress\":\"CCC\",\"priceUsd\":\"3\",\"liquidity\":{\"usd\":500.5}},"
                       "{\"pairAddress\":\"DDD\",\"priceUsd\":\"4\",\"liquidity\":{\"usd\":1e20}},"
                       "{\"pairAddress\":\"EEE\",\"priceUsd\":\"5\",\"liquidity\":{\"usd\":-1e12}}]}";
    struct watch_live_price p[5];
    char err[128] = "";
    assert_int_equal(watch_live_parse_dex(body, p, 2, err, sizeof err), 2);
    assert_string_equal(p[0].name, "dex:BBB");
    assert_true(p[0].price == 2);
    assert_string_equal(p[1].name, "dex:CCC");
    assert_true(p[1].price == 3);
    /* an absurd (1e20) or negative liquidity counts as none: after AAA, still kept */
    assert_int_equal(watch_live_parse_dex(body, p, 5, err, sizeof err), 5);
    assert_string_equal(p[2].name, "dex:AAA");
    assert_true(strcmp(p[3].name, "dex:DDD") == 0 || strcmp(p[3].name, "dex:EEE") == 0);
    assert_true(strcmp(p[4].name, "dex:DDD") == 0 || strcmp(p[4].name, "dex:EEE") == 0);
}

static void test_dex_accepts_solana_and_evm_addresses(void **state)
{
    (void)state;
    struct watch_live_price p[WATCH_DEX_PAIRS];
    char err[128] = "", a59[60];
    assert_int_equal((int)strlen(SOL_PAIR), 44);
    assert_int_equal(dex_one(SOL_PAIR, "142.5", "1000", p, err, sizeof err), 1);
    assert_string_equal(p[0].name, "dex:" SOL_PAIR);
    assert_true(p[0].price == 142.5);
    assert_int_equal(dex_one(EVM_PAIR, "0.000012", "5", p, err, sizeof err), 1);
    assert_string_equal(p[0].name, "dex:" EVM_PAIR);
    memset(a59, 'z', 59);
    a59[59] = '\0';
    assert_int_equal(dex_one(a59, "1", "5", p, err, sizeof err), 1);   /* the longest name that fits */
}

static void test_dex_refuses_odd_addresses(void **state)
{
    (void)state;
    static const char *bad[] = { "7xKXtg2CW87d97TXJSDpbD5jBkheTqA83TZRuJos-AsU",   /* 44, not alphanumeric */
                                 "7xKXtg2CW87d97TXJSDpbD5jBkheTqA83TZRuJos AsU",
                                 "<script>", "", "a_b", "../x",
                                 "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz" };   /* 60 */
    struct watch_live_price p[WATCH_DEX_PAIRS];
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char err[128] = "";
        assert_int_equal(dex_one(bad[i], "1", "5", p, err, sizeof err), -1);
        assert_non_null(strstr(err, "1 refused"));
    }
}

static void test_dex_refuses_odd_prices(void **state)
{
    (void)state;
    static const char *bad[] = { "1e999", "nan", "NaN", "inf", "-1", "0", "1e-13", "2e9", "1.5x", "" };
    struct watch_live_price p[WATCH_DEX_PAIRS];
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char err[128] = "";
        assert_int_equal(dex_one(SOL_PAIR, bad[i], "5", p, err, sizeof err), -1);
        assert_non_null(strstr(err, "1 refused"));
    }
    /* beside a sane pair, an odd one is only left out */
    const char *body = "{\"pairs\":[{\"pairAddress\":\"AAA\",\"priceUsd\":\"1e999\",\"liquidity\":{\"usd\":9e9}},"
                       "{\"pairAddress\":\"BBB\",\"priceUsd\":\"2\"}]}";
    char err[128] = "";
    assert_int_equal(watch_live_parse_dex(body, p, WATCH_DEX_PAIRS, err, sizeof err), 1);
    assert_string_equal(p[0].name, "dex:BBB");
}

static void test_dex_bad_json_is_an_error(void **state)
{
    (void)state;
    static const char *bad[] = { "{", "", "[]", "null", "{\"pairs\":{}}", "{\"pairs\":\"x\"}",
                                 "{\"pairs\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]}" };
    struct watch_live_price p[WATCH_DEX_PAIRS];
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char err[128] = "";
        assert_int_equal(watch_live_parse_dex(bad[i], p, WATCH_DEX_PAIRS, err, sizeof err), -1);
        assert_true(err[0] != '\0');
    }
    char err[128] = "";
    assert_int_equal(watch_live_parse_dex(NULL, p, WATCH_DEX_PAIRS, err, sizeof err), -1);
    assert_non_null(strstr(err, "no list of pairs"));
    assert_int_equal(watch_live_parse_dex("{\"pairs\":[]}", p, WATCH_DEX_PAIRS, err, sizeof err), -1);
    assert_non_null(strstr(err, "no usable pair"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_past_gives_same_decisions),
        cmocka_unit_test(test_burst_wakes_at_its_first_sample),
        cmocka_unit_test(test_burst_wakes_once_per_window),
        cmocka_unit_test(test_burst_next_window_wakes_only_if_still_active),
        cmocka_unit_test(test_burst_late_in_a_window_wakes_once),
        cmocka_unit_test(test_burst_across_a_window_boundary_is_seen_whole),
        cmocka_unit_test(test_scan_silences_the_rest_of_its_window),
        cmocka_unit_test(test_first_look_fires_once_without_history),
        cmocka_unit_test(test_looked_cancels_the_first_look),
        cmocka_unit_test(test_threshold_after_a_week_is_the_share_quantile),
        cmocka_unit_test(test_threshold_ramps_over_the_first_week),
        cmocka_unit_test(test_threshold_is_the_quantile_of_fed_window_peaks),
        cmocka_unit_test(test_restored_state_keeps_thresholds_usual_and_day),
        cmocka_unit_test(test_restored_state_makes_the_same_next_decisions),
        cmocka_unit_test(test_restored_state_keeps_looked),
        cmocka_unit_test(test_state_of_another_window_or_version_is_refused),
        cmocka_unit_test(test_nonsense_in_a_state_is_ignored),
        cmocka_unit_test(test_scorecard_of_a_day),
        cmocka_unit_test(test_scorecard_equal_runs_cron),
        cmocka_unit_test(test_dex_most_liquid_pairs_first),
        cmocka_unit_test(test_dex_accepts_solana_and_evm_addresses),
        cmocka_unit_test(test_dex_refuses_odd_addresses),
        cmocka_unit_test(test_dex_refuses_odd_prices),
        cmocka_unit_test(test_dex_bad_json_is_an_error),
    };
    return cmocka_run_group_tests(tests, seed_cfg_setup, seed_cfg_teardown);
}
