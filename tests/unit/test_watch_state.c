/* Unit tests for what the watch keeps (worker/watch.c, watch_json.c):
 * its saved state across a restart and the live scorecard of its days.
 * Deterministic: synthetic price series from a fixed-seed generator,
 * explicit UTC times, no wall clock, no database, no network. */

#include "watch_rig.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_restored_state_keeps_thresholds_usual_and_day),
        cmocka_unit_test(test_restored_state_makes_the_same_next_decisions),
        cmocka_unit_test(test_restored_state_keeps_looked),
        cmocka_unit_test(test_state_of_another_window_or_version_is_refused),
        cmocka_unit_test(test_nonsense_in_a_state_is_ignored),
        cmocka_unit_test(test_scorecard_of_a_day),
        cmocka_unit_test(test_scorecard_equal_runs_cron),
    };
    return cmocka_run_group_tests(tests, seed_cfg_setup, seed_cfg_teardown);
}
