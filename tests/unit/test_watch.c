/* Unit tests for worker/watch.c, the minute-by-minute watch (trailing
 * activity, per-market score and threshold, wake-ups, scans and the first
 * look), and for watch_live_parse_dex (worker/watch_live.c).  The saved
 * state and the live scorecard: test_watch_state.c.
 * Deterministic: synthetic price series from a fixed-seed generator,
 * explicit UTC times, no wall clock, no database, no network. */

#include "watch_rig.h"

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
        cmocka_unit_test(test_dex_most_liquid_pairs_first),
        cmocka_unit_test(test_dex_accepts_solana_and_evm_addresses),
        cmocka_unit_test(test_dex_refuses_odd_addresses),
        cmocka_unit_test(test_dex_refuses_odd_prices),
        cmocka_unit_test(test_dex_bad_json_is_an_error),
    };
    return cmocka_run_group_tests(tests, seed_cfg_setup, seed_cfg_teardown);
}
