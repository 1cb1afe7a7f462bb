/* Unit tests for worker/learn.c, learn_state.c and learn_summary.c:
 * posteriors on known outcome sequences, decay, Thompson sampling,
 * baselines and persistence.  The distributions alone (quantiles, draws,
 * decayed statistics) are tested in test_learn_math.c. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "catalog.h"
#include "learn.h"
#include "learn_math.h"
#include "sense.h"
#include "seed.h"

/* seed_cfg (seed.h): defaults: half-life 168 h, cost 1, epsilon 0.05, stale 60 min, window 15 min */
static const time_t T0 = 1736000000;

static void near(double got, double want, double tol)
{
    if (fabs(got - want) > tol)
        fail_msg("got %.6f, want %.6f (+-%g)", got, want, tol);
}

static void test_posterior_known_sequences(void **state)
{
    (void)state;
    struct learn l;
    struct learn_post p;
    learn_init(&l, &seed_cfg);
    learn_posterior(&l, LEARN_CRYPTO, LEARN_USUAL, INTENSITY_NORMAL, T0, &p);
    /* the priors: Beta(1,1), Gamma(1,1) for a normal run (it just pays for itself) */
    near(p.p_mean, 0.5, 1e-9);
    near(p.p_lo, 0.05, 1e-6);
    near(p.lam_mean, 1.0, 1e-9);
    near(p.runs, 0, 1e-9);

    /* 8 deliveries, 2 failures: Beta(9, 3) */
    for (int i = 0; i < 8; i++)
        learn_observe(&l, LEARN_CRYPTO, LEARN_USUAL, -1, INTENSITY_NORMAL, 1, -1, 1, T0);
    for (int i = 0; i < 2; i++)
        learn_observe(&l, LEARN_CRYPTO, LEARN_USUAL, -1, INTENSITY_NORMAL, 0, -1, 1, T0);
    learn_posterior(&l, LEARN_CRYPTO, LEARN_USUAL, INTENSITY_NORMAL, T0, &p);
    near(p.p_mean, 9.0 / 12, 1e-9);
    assert_true(p.p_lo < p.p_mean && p.p_mean < p.p_hi);
    near(learn_math_beta_quantile(9, 3, 0.05), p.p_lo, 1e-9);
    near(p.p_lo, 0.5299, 1e-3);           /* Beta(9,3) 5% and 95% points */
    near(p.p_hi, 0.9212, 1e-3);
    near(p.runs, 0, 1e-9);                /* no opportunities reported yet */
    near(p.lam_mean, 1.0, 1e-9);

    /* 10 runs over full windows finding 3 each: Gamma(1 + 30, 1 + 10) */
    for (int i = 0; i < 10; i++)
        learn_observe(&l, LEARN_CRYPTO, LEARN_USUAL, -1, INTENSITY_NORMAL, -1, 3, 1.0, T0);
    learn_posterior(&l, LEARN_CRYPTO, LEARN_USUAL, INTENSITY_NORMAL, T0, &p);
    near(p.lam_mean, 31.0 / 11, 1e-9);
    near(p.lam_lo, learn_math_gamma_quantile(31, 11, 0.05), 1e-9);
    assert_true(p.lam_lo > 2.0 && p.lam_hi < 3.8);
    near(p.runs, 10, 1e-9);
    near(p.p_mean, 9.0 / 12, 1e-9);       /* unknown delivery: success unchanged */

    /* half-fresh windows count half: 4 runs, 2 found, exposure 0.5 each */
    learn_observe(&l, LEARN_FOREX, LEARN_HIGH, -1, INTENSITY_LIGHT, 1, 1, 0.5, T0);
    learn_observe(&l, LEARN_FOREX, LEARN_HIGH, -1, INTENSITY_LIGHT, 1, 1, 0.5, T0);
    learn_observe(&l, LEARN_FOREX, LEARN_HIGH, -1, INTENSITY_LIGHT, 1, 0, 0.5, T0);
    learn_observe(&l, LEARN_FOREX, LEARN_HIGH, -1, INTENSITY_LIGHT, 1, 0, 0.5, T0);
    learn_posterior(&l, LEARN_FOREX, LEARN_HIGH, INTENSITY_LIGHT, T0, &p);
    near(p.lam_mean, (0.5 + 2) / (1 + 2), 1e-9);      /* light's prior shape is 0.5 */
    near(p.p_mean, 5.0 / 6, 1e-9);
    /* other cells untouched; out-of-range observations ignored */
    learn_observe(&l, 7, LEARN_HIGH, -1, INTENSITY_LIGHT, 1, 1, 1, T0);
    learn_observe(&l, LEARN_FOREX, 9, -1, INTENSITY_LIGHT, 1, 1, 1, T0);
    learn_posterior(&l, LEARN_CRYPTO, LEARN_HIGH, INTENSITY_LIGHT, T0, &p);
    near(p.runs, 0, 1e-9);
}

static void test_decay_half_life(void **state)
{
    (void)state;
    struct learn l;
    struct learn_post p;
    learn_init(&l, &seed_cfg);
    time_t h = (time_t)(seed_cfg.learn_half_life_hours * 3600);
    for (int i = 0; i < 4; i++)
        learn_observe(&l, LEARN_CRYPTO, LEARN_QUIET, -1, INTENSITY_NORMAL, 1, 2, 1.0, T0);
    learn_posterior(&l, LEARN_CRYPTO, LEARN_QUIET, INTENSITY_NORMAL, T0, &p);
    near(p.runs, 4, 1e-9);
    near(p.p_mean, 5.0 / 6, 1e-9);
    /* one half-life later the evidence weighs half */
    learn_posterior(&l, LEARN_CRYPTO, LEARN_QUIET, INTENSITY_NORMAL, T0 + h, &p);
    near(p.runs, 2, 1e-9);
    near(p.p_mean, 3.0 / 4, 1e-9);                /* Beta(1 + 2, 1) */
    near(p.lam_mean, (1 + 4.0) / (1 + 2.0), 1e-9); /* Gamma(1 + 8/2, 1 + 4/2) */
    learn_posterior(&l, LEARN_CRYPTO, LEARN_QUIET, INTENSITY_NORMAL, T0 + 2 * h, &p);
    near(p.runs, 1, 1e-9);
    /* new evidence after a half-life adds to the decayed old */
    learn_observe(&l, LEARN_CRYPTO, LEARN_QUIET, -1, INTENSITY_NORMAL, 0, 0, 1.0, T0 + h);
    learn_posterior(&l, LEARN_CRYPTO, LEARN_QUIET, INTENSITY_NORMAL, T0 + h, &p);
    near(p.runs, 3, 1e-9);
    near(p.p_mean, (1 + 2.0) / (2 + 3.0), 1e-9);
}

/* A state in which, in the high band, normal runs find 3 per window (40
 * runs) and light ones 0.2; the market's average yield is 1. */
static void two_arms(struct learn *l)
{
    learn_init(l, &seed_cfg);
    for (int i = 0; i < 40; i++) {
        learn_observe(l, LEARN_CRYPTO, LEARN_HIGH, -1, INTENSITY_NORMAL, 1, 3, 1.0, T0);
        learn_observe(l, LEARN_CRYPTO, LEARN_HIGH, -1, INTENSITY_LIGHT, 1, i % 5 == 0, 1.0, T0);
        learn_observe(l, LEARN_CRYPTO, LEARN_QUIET, -1, INTENSITY_NORMAL, 1, 0, 1.0, T0);
        learn_observe(l, LEARN_CRYPTO, LEARN_QUIET, -1, INTENSITY_LIGHT, 1, 0, 1.0, T0);
        learn_observe(l, LEARN_CRYPTO, LEARN_QUIET, -1, INTENSITY_AGGRESSIVE, 1, 0, 1.0, T0);
    }
    l->m[LEARN_CRYPTO].occ[LEARN_QUIET] = 2;
    l->m[LEARN_CRYPTO].occ[LEARN_HIGH] = 1;
    l->m[LEARN_CRYPTO].occ_at = T0;
    l->m[LEARN_CRYPTO].last_scan_at = T0 - 1200;     /* the last window has passed */
    l->m[LEARN_CRYPTO].exposure = 1;
}

static void test_thompson(void **state)
{
    (void)state;
    struct learn l;
    two_arms(&l);
    /* average yield: delivered 41/42, normal finds 121/41 in high (1/3 of the time), 1/41 in quiet */
    near(learn_yield(&l, LEARN_CRYPTO, T0), 41.0 / 42 * (2 * 1.0 / 41 + 121.0 / 41) / 3, 1e-9);
    const int allowed[LEARN_ARM_COUNT] = { 0, 1, 1 };   /* normal and light */
    l.m[LEARN_CRYPTO].band = LEARN_HIGH;
    int best = 0, n = 2000;
    for (int k = 0; k < n; k++) {
        l.nobs = k;
        const char *why;
        double v;
        int i = learn_choose(&l, LEARN_CRYPTO, allowed, T0 + k, &why, &v);
        best += i == INTENSITY_NORMAL;
        assert_true(i == INTENSITY_NORMAL || i == INTENSITY_LIGHT);
    }
    assert_true(best > n * 95 / 100);                     /* the better arm, most of the time */

    /* quiet: nothing pays; exploration at least epsilon-ish, over the allowed arms only */
    l.m[LEARN_CRYPTO].band = LEARN_QUIET;
    l.epsilon = 0.05;
    int explored = 0, skipped = 0, per_arm[LEARN_ARM_COUNT] = { 0 };
    n = 8000;
    for (int k = 0; k < n; k++) {
        l.nobs = k;
        const char *why;
        double v;
        int i = learn_choose(&l, LEARN_CRYPTO, allowed, T0, &why, &v);
        if (i >= 0) {
            assert_string_equal(why, "explore");
            explored++;
            per_arm[i]++;
        } else {
            skipped++;
        }
    }
    assert_int_equal(per_arm[INTENSITY_AGGRESSIVE], 0);
    assert_true(explored >= n * 4 / 100 && explored <= n * 6 / 100);
    assert_true(per_arm[INTENSITY_NORMAL] > explored / 3 && per_arm[INTENSITY_LIGHT] > explored / 3);

    /* no exploration while the previous window is still mostly fresh */
    l.m[LEARN_CRYPTO].exposure = 0.2;
    l.m[LEARN_CRYPTO].last_scan_at = T0 - 180;
    explored = 0;
    for (int k = 0; k < 2000; k++) {
        l.nobs = k;
        const char *why;
        double v;
        explored += learn_choose(&l, LEARN_CRYPTO, allowed, T0, &why, &v) >= 0;
    }
    assert_int_equal(explored, 0);

    /* stale: scan even though nothing pays */
    l.m[LEARN_CRYPTO].last_scan_at = T0 - 3600;
    const char *why;
    double v;
    assert_true(learn_choose(&l, LEARN_CRYPTO, allowed, T0, &why, &v) >= 0);
    assert_string_equal(why, "stale");
    /* nothing allowed: no scan */
    const int none[LEARN_ARM_COUNT] = { 0, 0, 0 };
    assert_int_equal(learn_choose(&l, LEARN_CRYPTO, none, T0, &why, &v), -1);
}

static void test_deterministic_for_a_seed(void **state)
{
    (void)state;
    struct learn a, b;
    two_arms(&a);
    two_arms(&b);
    a.m[LEARN_CRYPTO].band = b.m[LEARN_CRYPTO].band = LEARN_USUAL;   /* prior arms: draws matter */
    const int allowed[LEARN_ARM_COUNT] = { 1, 1, 1 };
    int differ = 0;
    for (int k = 0; k < 200; k++) {
        const char *w1, *w2;
        double v1, v2;
        int i1 = learn_choose(&a, LEARN_CRYPTO, allowed, T0 + 60 * k, &w1, &v1);
        int i2 = learn_choose(&b, LEARN_CRYPTO, allowed, T0 + 60 * k, &w2, &v2);
        assert_int_equal(i1, i2);
        assert_true(v1 == v2);
        b.seed = 99;
        int i3 = learn_choose(&b, LEARN_CRYPTO, allowed, T0 + 60 * k, &w2, &v2);
        differ += v1 != v2 || i1 != i3;
        b.seed = a.seed;
    }
    assert_true(differ > 150);   /* another seed, other draws */
}

/* A snapshot with crypto volatility v at time t. */
static void snap_at(struct sense_snapshot *s, time_t t, double crypto_vol, double forex_move)
{
    memset(s, 0, sizeof *s);
    s->now = t;
    s->session_label = "london";
    s->probes[FEED_DEXSCREENER].configured = 1;
    s->probes[FEED_DEXSCREENER].ok = 1;
    s->market.crypto_valid = 1;
    s->market.crypto_volatility = crypto_vol;
    s->market.forex_valid = 1;
    s->market.forex_move_bp = forex_move;
}

static void test_sense_baselines_and_bands(void **state)
{
    (void)state;
    struct learn l;
    struct sense_snapshot s;
    learn_init(&l, &seed_cfg);
    time_t t = T0;
    /* three quiet-ish hours at 0.2 % per 5 minutes, every 2 minutes */
    for (int k = 0; k < 90; k++, t += 120) {
        snap_at(&s, t, 0.2, 2.0);
        learn_sense(&l, &s);
    }
    const struct learn_market_state *c = &l.m[LEARN_CRYPTO];
    near(c->overall.mean, 0.2, 1e-9);
    near(c->baseline[learn_bucket("london")].mean, 0.2, 1e-9);
    near(c->ratio, 1, 1e-9);
    assert_int_equal(c->band, LEARN_USUAL);
    /* forex: 2 bp in 2 minutes is sqrt(300/120) * 2 bp per 5 minutes */
    near(l.m[LEARN_FOREX].reading, 2.0 * sqrt(2.5), 1e-9);
    assert_int_equal(l.m[LEARN_FOREX].band, LEARN_USUAL);
    /* a jump to 0.8 %: high at once */
    snap_at(&s, t, 0.8, 2.0);
    learn_sense(&l, &s);
    assert_int_equal(c->band, LEARN_HIGH);
    assert_true(c->ratio >= 2);
    /* calm again: the smoothed activity decays over a few minutes */
    t += 120;
    snap_at(&s, t, 0.1, 2.0);
    learn_sense(&l, &s);
    assert_true(c->ratio > 0.75);
    for (int k = 0; k < 15; k++) {
        t += 120;
        snap_at(&s, t, 0.1, 2.0);
        learn_sense(&l, &s);
    }
    assert_int_equal(c->band, LEARN_QUIET);
    /* the elevated spell (about 4 minutes) was recorded for London */
    double m = learn_spell_minutes(&l, LEARN_CRYPTO, learn_bucket("london"), 1);
    assert_true(m < 15 && m > 4);
    /* an invalid reading: back to "usual", exposure from the last scan */
    learn_note_scan(&l, LEARN_CRYPTO, t - 300);
    t += 60;
    snap_at(&s, t, 0.1, 2.0);
    s.probes[FEED_DEXSCREENER].ok = 0;
    learn_sense(&l, &s);
    assert_int_equal(c->valid, 0);
    assert_int_equal(c->band, LEARN_USUAL);
    near(c->exposure, 360.0 / 900, 1e-9);
    /* the next decision: never later than the staleness limit */
    assert_true(learn_next_seconds(&l, LEARN_CRYPTO, t, 0) <= 3600 - 360);
    assert_true(learn_next_seconds(&l, LEARN_CRYPTO, t, 0) >= 1);
}

/* A trigger's learning context read back from its decision's row (names)
 * gives the indices it was recorded with; unknown or empty names give -1,
 * an unknown session label the off-hours bucket as learn_bucket does. */
static void test_ctx_indices(void **state)
{
    (void)state;
    int band, bucket;
    for (int b = 0; b < LEARN_BAND_COUNT; b++)
        for (int k = 0; k < LEARN_BUCKET_COUNT; k++) {
            learn_ctx_indices(learn_band_name(b), learn_bucket_name(k), &band, &bucket);
            assert_int_equal(band, b);
            assert_int_equal(bucket, k);
        }
    learn_ctx_indices("", "", &band, &bucket);
    assert_int_equal(band, -1);
    assert_int_equal(bucket, -1);
    learn_ctx_indices("stormy", "mars", &band, &bucket);
    assert_int_equal(band, -1);
    assert_int_equal(bucket, learn_bucket("off_hours"));
    learn_ctx_indices(NULL, NULL, &band, &bucket);
    assert_int_equal(band, -1);
    assert_int_equal(bucket, -1);
}

static void test_json_roundtrip(void **state)
{
    (void)state;
    struct learn a, b;
    two_arms(&a);
    struct sense_snapshot s;
    for (int k = 0; k < 20; k++) {
        snap_at(&s, T0 + 60 * k, 0.1 + 0.05 * k, 1.5);
        learn_sense(&a, &s);
    }
    learn_note_health(&a, T0 + 5);
    json_object *j = learn_to_json(&a);
    json_object *back = json_tokener_parse(json_object_to_json_string(j));
    learn_init(&b, &seed_cfg);
    assert_int_equal(learn_from_json(&b, back), 0);
    assert_int_equal(b.nobs, a.nobs);
    assert_int_equal(b.last_health_at, a.last_health_at);
    for (int m = 0; m < LEARN_MARKET_COUNT; m++) {
        near(b.m[m].overall.mean, a.m[m].overall.mean, 1e-6);
        near(b.m[m].smooth, a.m[m].smooth, 1e-6);
        assert_int_equal(b.m[m].last_scan_at, a.m[m].last_scan_at);
        for (int band = 0; band < LEARN_BAND_COUNT; band++)
            for (int i = 0; i < LEARN_ARM_COUNT; i++) {
                near(b.m[m].arm[band][i].opps, a.m[m].arm[band][i].opps, 1e-6);
                near(b.m[m].arm[band][i].exposure, a.m[m].arm[band][i].exposure, 1e-6);
            }
    }
    /* garbage is refused and leaves the state alone */
    json_object *bad = json_tokener_parse("{\"version\":1,\"markets\":{\"crypto\":{}}}");
    assert_int_equal(learn_from_json(&b, bad), -1);
    assert_int_equal(b.nobs, a.nobs);
    json_object_put(bad);
    bad = json_tokener_parse("[1,2]");
    assert_int_equal(learn_from_json(&b, bad), -1);
    json_object_put(bad);
    json_object_put(back);
    json_object_put(j);

    /* the summary: both markets, posteriors with 90% intervals */
    json_object *sum = learn_summary_json(&a, T0 + 1200, 1), *v, *mk, *band, *arm;
    assert_true(json_object_object_get_ex(sum, "markets", &v));
    assert_true(json_object_object_get_ex(v, "crypto", &mk));
    assert_true(json_object_object_get_ex(mk, "bands", &band));
    assert_true(json_object_object_get_ex(band, "high", &band));
    assert_true(json_object_object_get_ex(band, "normal", &arm));
    assert_true(json_object_object_get_ex(arm, "opportunities_90", &v));
    assert_int_equal(json_object_array_length(v), 2);
    assert_true(json_object_get_double(json_object_array_get_idx(v, 0)) < 3.0);
    assert_true(json_object_get_double(json_object_array_get_idx(v, 1)) > 2.9);
    assert_true(json_object_object_get_ex(mk, "sessions", &v));
    assert_int_equal(json_object_object_length(v), LEARN_BUCKET_COUNT);
    json_object_put(sum);
    sum = learn_summary_json(&a, T0 + 1200, 0);
    assert_true(json_object_object_get_ex(sum, "markets", &v));
    assert_true(json_object_object_get_ex(v, "forex", &mk));
    assert_true(json_object_object_get_ex(mk, "current_band", &v));
    assert_false(json_object_object_get_ex(mk, "bands", &v));
    json_object_put(sum);
}

/* Per (session, intensity): the same outcomes as the band's, kept apart
 * per session bucket, decaying with the half-life. */
/* Issue 10: a reading of 1e305 (DexScreener's priceChange.m5 before the
 * sources were bounded) made the state serialise Infinity, which
 * PostgreSQL refuses.  Whatever the readings, the JSON stays finite and
 * reads back. */
static void test_json_never_infinite(void **state)
{
    (void)state;
    struct learn a, b;
    learn_init(&a, &seed_cfg);
    struct sense_snapshot s;
    const double huge[] = { 0.2, 1e305, 1.7e308, 0.3, 1e305, 0.1 };
    for (int k = 0; k < 6; k++) {
        snap_at(&s, T0 + 120 * k, huge[k], huge[k]);
        learn_sense(&a, &s);
        learn_observe(&a, LEARN_CRYPTO, a.m[LEARN_CRYPTO].band, learn_bucket("london"), INTENSITY_NORMAL, 1, 3, 1.0,
                      T0 + 120 * k);
    }
    json_object *j = learn_to_json(&a), *sum = learn_summary_json(&a, T0 + 720, 1);
    const char *t = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN);
    const char *u = json_object_to_json_string_ext(sum, JSON_C_TO_STRING_PLAIN);
    assert_null(strstr(t, "Infinity"));
    assert_null(strstr(t, "NaN"));
    assert_null(strstr(u, "Infinity"));
    assert_null(strstr(u, "NaN"));
    json_object *back = json_tokener_parse(t);
    assert_non_null(back);
    learn_init(&b, &seed_cfg);
    assert_int_equal(learn_from_json(&b, back), 0);
    json_object_put(back);
    json_object_put(j);
    json_object_put(sum);
}

static void test_session_estimates(void **state)
{
    (void)state;
    struct learn l;
    learn_init(&l, &seed_cfg);
    int london = learn_bucket("london"), tokyo = learn_bucket("tokyo");
    assert_true(london >= 0 && tokyo >= 0 && london != tokyo);
    for (int k = 0; k < 10; k++) {
        learn_observe(&l, LEARN_FOREX, LEARN_USUAL, london, INTENSITY_NORMAL, k < 9, -1, 1.0, T0);
        learn_observe(&l, LEARN_FOREX, LEARN_USUAL, london, INTENSITY_NORMAL, -1, 3, 1.0, T0);
    }
    /* with no session known, only the band's estimate learns */
    learn_observe(&l, LEARN_FOREX, LEARN_HIGH, -1, INTENSITY_LIGHT, 1, 5, 1.0, T0);
    struct learn_post p, b;
    learn_session_posterior(&l, LEARN_FOREX, london, INTENSITY_NORMAL, T0, &p);
    near(p.p_mean, 10.0 / 12, 1e-9);                   /* Beta(1 + 9, 1 + 1) */
    near(p.lam_mean, 31.0 / 11, 1e-9);                 /* Gamma(1 + 30, 1 + 10) */
    near(p.runs, 10, 1e-9);
    near(p.lam_lo, learn_math_gamma_quantile(31, 11, 0.05), 1e-9);
    near(p.p_hi, learn_math_beta_quantile(10, 2, 0.95), 1e-9);
    learn_posterior(&l, LEARN_FOREX, LEARN_USUAL, INTENSITY_NORMAL, T0, &b);
    near(b.lam_mean, p.lam_mean, 1e-12);               /* the band saw the same runs */
    /* another session, and the light arm of every session: still the priors */
    learn_session_posterior(&l, LEARN_FOREX, tokyo, INTENSITY_NORMAL, T0, &p);
    near(p.p_mean, 0.5, 1e-12);
    near(p.lam_mean, 1.0, 1e-12);
    near(p.runs, 0, 1e-12);
    for (int s = 0; s < LEARN_BUCKET_COUNT; s++) {
        learn_session_posterior(&l, LEARN_FOREX, s, INTENSITY_LIGHT, T0, &p);
        near(p.runs, 0, 1e-12);
        near(p.lam_mean, 0.5, 1e-12);
    }
    learn_posterior(&l, LEARN_FOREX, LEARN_HIGH, INTENSITY_LIGHT, T0, &b);
    near(b.lam_mean, 5.5 / 2, 1e-12);
    /* one half-life later the session's evidence weighs half */
    learn_session_posterior(&l, LEARN_FOREX, london, INTENSITY_NORMAL, T0 + (time_t)(168 * 3600), &p);
    near(p.runs, 5, 1e-6);
    near(p.p_mean, (1 + 4.5) / (2 + 5.0), 1e-6);
    near(p.lam_mean, (1 + 15.0) / (1 + 5.0), 1e-6);
    /* crypto untouched */
    learn_session_posterior(&l, LEARN_CRYPTO, london, INTENSITY_NORMAL, T0, &p);
    near(p.runs, 0, 1e-12);
}

/* The exploration floor is a rate per scan window of time: with decisions
 * five times as frequent, each explores about a fifth as often. */
static void test_exploration_per_time(void **state)
{
    (void)state;
    struct learn l;
    two_arms(&l);
    l.m[LEARN_CRYPTO].band = LEARN_QUIET;            /* nothing pays */
    l.epsilon = 0.05;
    const int allowed[LEARN_ARM_COUNT] = { 0, 1, 1 };
    struct sense_snapshot s;
    snap_at(&s, T0 - 180, 0.1, 1.5);
    learn_sense(&l, &s);
    snap_at(&s, T0, 0.1, 1.5);
    learn_sense(&l, &s);
    near(l.cycle_dt, 180, 1e-9);
    l.m[LEARN_CRYPTO].band = LEARN_QUIET;
    l.m[LEARN_CRYPTO].last_scan_at = T0 - 1200;
    l.m[LEARN_CRYPTO].exposure = 1;
    int n = 40000, explored = 0;
    for (int k = 0; k < n; k++) {
        l.nobs = k;
        const char *why;
        double v;
        explored += learn_choose(&l, LEARN_CRYPTO, allowed, T0, &why, &v) >= 0;
    }
    double want = 1 - pow(0.95, 180.0 / 900.0);      /* 1.02 % per decision */
    near((double)explored / n, want, 0.003);
    /* a gap longer than the staleness limit counts as the limit */
    snap_at(&s, T0 + 86400, 0.1, 1.5);
    learn_sense(&l, &s);
    near(l.cycle_dt, 3600, 1e-9);
}

/* State version 2 keeps the session estimates; a version 1 state (before
 * them) is still read, its session estimates starting from the priors. */
static void test_json_sessions(void **state)
{
    (void)state;
    struct learn a, b;
    learn_init(&a, &seed_cfg);
    int london = learn_bucket("london");
    for (int k = 0; k < 4; k++)
        learn_observe(&a, LEARN_CRYPTO, LEARN_ELEVATED, london, INTENSITY_AGGRESSIVE, 1, 2, 0.75, T0);
    a.prev_cycle_at = T0;
    json_object *j = learn_to_json(&a), *v, *ms, *mk;
    assert_true(json_object_object_get_ex(j, "version", &v));
    assert_int_equal(json_object_get_int(v), 2);
    json_object *back = json_tokener_parse(json_object_to_json_string(j));
    learn_init(&b, &seed_cfg);
    assert_int_equal(learn_from_json(&b, back), 0);
    near(b.m[LEARN_CRYPTO].sarm[london][INTENSITY_AGGRESSIVE].opps, 8, 1e-9);
    near(b.m[LEARN_CRYPTO].sarm[london][INTENSITY_AGGRESSIVE].exposure, 3, 1e-9);
    near(b.m[LEARN_CRYPTO].sarm[london][INTENSITY_AGGRESSIVE].ok, 4, 1e-9);
    assert_int_equal(b.prev_cycle_at, T0);
    json_object_put(back);
    /* the same state written by version 1: no session_arms */
    json_object_object_add(j, "version", json_object_new_int(1));
    assert_true(json_object_object_get_ex(j, "markets", &ms));
    for (int m = 0; m < LEARN_MARKET_COUNT; m++) {
        assert_true(json_object_object_get_ex(ms, learn_market_name(m), &mk));
        json_object_object_del(mk, "session_arms");
    }
    json_object_object_del(j, "prev_cycle_at");
    back = json_tokener_parse(json_object_to_json_string(j));
    learn_init(&b, &seed_cfg);
    b.m[LEARN_CRYPTO].sarm[london][INTENSITY_AGGRESSIVE].opps = 99;   /* replaced by the priors */
    assert_int_equal(learn_from_json(&b, back), 0);
    near(b.m[LEARN_CRYPTO].arm[LEARN_ELEVATED][INTENSITY_AGGRESSIVE].opps, 8, 1e-9);
    near(b.m[LEARN_CRYPTO].sarm[london][INTENSITY_AGGRESSIVE].opps, 0, 1e-12);
    json_object_put(back);
    /* version 2 without its session estimates is not a state */
    json_object_object_add(j, "version", json_object_new_int(2));
    back = json_tokener_parse(json_object_to_json_string(j));
    assert_int_equal(learn_from_json(&b, back), -1);
    json_object_put(back);
    json_object_put(j);

    /* the summaries: every session's outcomes (full), the current one's (compact) */
    a.m[LEARN_CRYPTO].bucket = london;
    json_object *sum = learn_summary_json(&a, T0, 1), *arm;
    assert_true(json_object_object_get_ex(sum, "markets", &v));
    assert_true(json_object_object_get_ex(v, "crypto", &mk));
    assert_true(json_object_object_get_ex(mk, "sessions", &v));
    assert_true(json_object_object_get_ex(v, "london", &v));
    assert_true(json_object_object_get_ex(v, "outcomes", &v));
    assert_true(json_object_object_get_ex(v, "aggressive", &arm));
    assert_true(json_object_object_get_ex(arm, "opportunities", &v));
    near(json_object_get_double(v), (2.0 + 8) / (1 + 3), 1e-3);
    assert_true(json_object_object_get_ex(arm, "opportunities_90", &v));
    assert_int_equal(json_object_array_length(v), 2);
    assert_true(json_object_object_get_ex(arm, "runs", &v));
    near(json_object_get_double(v), 4, 1e-9);
    json_object_put(sum);
    sum = learn_summary_json(&a, T0, 0);
    assert_true(json_object_object_get_ex(sum, "markets", &v));
    assert_true(json_object_object_get_ex(v, "crypto", &mk));
    assert_true(json_object_object_get_ex(mk, "current_session", &v));
    assert_true(json_object_object_get_ex(v, "outcomes", &v));
    assert_true(json_object_object_get_ex(v, "aggressive", &arm));
    assert_true(json_object_object_get_ex(arm, "runs", &v));
    near(json_object_get_double(v), 4, 1e-9);
    json_object_put(sum);
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(learn_market_name(LEARN_FOREX), "forex");
    assert_string_equal(learn_band_name(LEARN_ELEVATED), "elevated");
    assert_int_equal(learn_band_of(0.5), LEARN_QUIET);
    assert_int_equal(learn_band_of(0.75), LEARN_USUAL);
    assert_int_equal(learn_band_of(1.25), LEARN_ELEVATED);
    assert_int_equal(learn_band_of(2.0), LEARN_HIGH);
    assert_int_equal(learn_band_of(NAN), LEARN_QUIET);
    assert_string_equal(learn_bucket_name(learn_bucket("london_newyork")), "london_newyork");
    assert_string_equal(learn_bucket_name(learn_bucket("closed")), "closed");
    assert_string_equal(learn_bucket_name(learn_bucket("nonsense")), "off_hours");
    assert_string_equal(learn_bucket_name(learn_bucket(NULL)), "off_hours");
    near(learn_cost_factor(INTENSITY_AGGRESSIVE), 2, 0);
    near(learn_cost_factor(INTENSITY_LIGHT), 0.5, 0);
}

int main(void)
{
    seed_install();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_posterior_known_sequences),
        cmocka_unit_test(test_decay_half_life),
        cmocka_unit_test(test_thompson),
        cmocka_unit_test(test_deterministic_for_a_seed),
        cmocka_unit_test(test_sense_baselines_and_bands),
        cmocka_unit_test(test_ctx_indices),
        cmocka_unit_test(test_json_roundtrip),
        cmocka_unit_test(test_json_never_infinite),
        cmocka_unit_test(test_session_estimates),
        cmocka_unit_test(test_exploration_per_time),
        cmocka_unit_test(test_json_sessions),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, seed_cfg_setup, seed_cfg_teardown);
}
