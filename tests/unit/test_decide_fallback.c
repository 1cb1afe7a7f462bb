/* Unit tests for worker/decide.c: the fallback policy (scan only when
 * warranted, with and without learning) and the property that its choice
 * always passes validation, on hand-built and random snapshots
 * (decide_rig.h). */

#include "decide_rig.h"

static void test_fallback_no_learning_scans_what_is_open(void **state)
{
    (void)state;
    struct sense_snapshot s;
    struct decide_menu m;
    struct decide_choice ch;

    /* nothing learned: every open market counts as never scanned */
    snap_healthy(&s);
    set_weekend(&s);
    fallback_on_menu(&s, &m, &ch);
    assert_int_equal(ch.mode, MODE_CRYPTO);
    assert_int_equal(ch.nwf, 1);
    assert_true(scans_crypto(&ch));
    assert_true(decide_wf_fits(ch.wf[0], ch.intensity));
    assert_non_null(strstr(ch.reason, "first"));
    expect_valid(&m, &ch);

    /* forex only: one session workflow, London first; DexScreener's failure asks for a health check */
    snap_healthy(&s);
    s.probes[FEED_DEXSCREENER].ok = 0;
    fallback_on_menu(&s, &m, &ch);
    assert_int_equal(ch.mode, MODE_FOREX);
    assert_true(chose(&ch, WF_FOREX_LONDON));
    assert_false(chose(&ch, WF_FOREX_NEWYORK));
    assert_true(chose(&ch, WF_HEALTH_CHECK));
    assert_int_equal(ch.nwf, 2);
    assert_non_null(strstr(ch.reason, "1 source(s) unhealthy"));
    expect_valid(&m, &ch);

    /* both open: hybrid, a crypto scan and a forex scan */
    snap_healthy(&s);
    fallback_on_menu(&s, &m, &ch);
    assert_int_equal(ch.mode, MODE_HYBRID);
    assert_true(scans_crypto(&ch));
    assert_true(chose(&ch, WF_FOREX_LONDON));
    expect_valid(&m, &ch);

    /* Tokyo alone: the Asia workflow */
    set_sessions(&s, 0, 1, 0, 0, "tokyo");
    fallback_on_menu(&s, &m, &ch);
    assert_true(chose(&ch, WF_FOREX_ASIA));
    expect_valid(&m, &ch);
}

static void test_fallback_quiet_market_is_not_scanned(void **state)
{
    (void)state;
    struct learn l;
    struct decide_menu m;
    struct decide_choice ch;
    learned(&l, LEARN_CRYPTO);
    /* quiet, last scan 20 minutes ago: no run is warranted */
    for (int k = 0; k < 50; k++) {
        l.nobs = k;                                  /* other Thompson draws */
        fallback_crypto_learned(&l, LEARN_QUIET, 1200, &ch, &m);
        assert_int_equal(ch.nwf, 0);
    }
    assert_non_null(strstr(ch.reason, "no scan"));
    assert_non_null(strstr(ch.reason, "quiet"));
    /* quiet: decide again after a quarter of the learned elevated spell
     * (the prior: one 15-minute window), inside the bounds */
    assert_int_equal(ch.next_seconds, 225);

    /* ... but a scan older than LEARN_MAX_STALE_MINUTES (60) is renewed */
    fallback_crypto_learned(&l, LEARN_QUIET, 3601, &ch, &m);
    assert_int_equal(ch.nwf, 1);
    assert_true(scans_crypto(&ch));
    assert_non_null(strstr(ch.reason, "stale"));
}

static void test_fallback_active_market_is_watched(void **state)
{
    (void)state;
    struct learn l;
    struct decide_menu m;
    struct decide_choice ch;
    learned(&l, LEARN_CRYPTO);
    /* high band, the previous scan's window (15 min) is about to end: renew it */
    int scanned = 0;
    for (int k = 0; k < 50; k++) {
        l.nobs = k;
        fallback_crypto_learned(&l, LEARN_HIGH, 14 * 60, &ch, &m);
        scanned += ch.nwf == 1 && scans_crypto(&ch);
    }
    assert_true(scanned >= 48);                      /* Thompson: almost always */
    assert_non_null(strstr(ch.reason, "high"));
    /* the next decision comes before the new window ends: 15 min - 1.5 min, at most a third of a window */
    assert_int_equal(ch.next_seconds, 300);

    /* the same band 3 minutes after a scan: still watched, nothing to start */
    fallback_crypto_learned(&l, LEARN_HIGH, 180, &ch, &m);
    assert_int_equal(ch.nwf, 0);
    /* next: when the watch must be renewed (15 - 1.5 - 3 min = 630 s), at most a third of a window */
    assert_int_equal(ch.next_seconds, 300);
    fallback_crypto_learned(&l, LEARN_HIGH, 12 * 60, &ch, &m);
    assert_int_equal(ch.nwf, 0);
    assert_int_equal(ch.next_seconds, 90);           /* 900 - 90 - 720 */

    /* the next-decision time respects the configured bounds */
    struct sense_snapshot s;
    snap_healthy(&s);
    set_weekend(&s);
    s.learn = &l;
    decide_menu_build(&seed_cfg, &s, &m);
    m.min_seconds = 600;
    decide_fallback(&seed_cfg, &s, &m, &ch);
    assert_int_equal(ch.next_seconds, 600);
}

static void test_fallback_explores(void **state)
{
    (void)state;
    struct learn l;
    struct decide_menu m;
    struct decide_choice ch;
    learned(&l, LEARN_CRYPTO);
    l.epsilon = 0.2;
    int explored = 0, n = 2000;
    for (int k = 0; k < n; k++) {
        l.nobs = k;
        fallback_crypto_learned(&l, LEARN_QUIET, 1200, &ch, &m);
        if (ch.nwf == 1) {
            explored++;
            assert_non_null(strstr(ch.reason, "explore"));
        }
    }
    /* epsilon 0.2: about 400 of 2000 */
    assert_true(explored > 320 && explored < 480);
    /* deterministic: the same inputs give the same choice */
    struct decide_choice again;
    l.nobs = 7;
    fallback_crypto_learned(&l, LEARN_QUIET, 1200, &ch, &m);
    fallback_crypto_learned(&l, LEARN_QUIET, 1200, &again, &m);
    assert_int_equal(ch.nwf, again.nwf);
    assert_int_equal(ch.intensity, again.intensity);
    assert_string_equal(ch.reason, again.reason);
}

static void test_fallback_health_check_rate(void **state)
{
    (void)state;
    struct learn l;
    struct sense_snapshot s;
    struct decide_menu m;
    struct decide_choice ch;
    learned(&l, LEARN_FOREX);
    snap_healthy(&s);
    s.probes[FEED_DEXSCREENER].ok = 0;
    s.learn = &l;
    l.m[LEARN_FOREX].band = LEARN_QUIET;
    l.m[LEARN_FOREX].last_scan_at = s.now - 600;
    l.last_health_at = s.now - 600;                  /* checked 10 minutes ago */
    fallback_on_menu(&s, &m, &ch);
    assert_int_equal(ch.mode, MODE_FOREX);
    assert_false(chose(&ch, WF_HEALTH_CHECK));
    assert_int_equal(ch.nwf, 0);
    expect_valid(&m, &ch);
    l.last_health_at = s.now - 3600;                 /* an hour ago: again */
    decide_fallback(&seed_cfg, &s, &m, &ch);
    assert_true(chose(&ch, WF_HEALTH_CHECK));
    assert_int_equal(ch.nwf, 1);
    expect_valid(&m, &ch);
}

static void test_fallback_hybrid(void **state)
{
    (void)state;
    struct sense_snapshot s;
    struct decide_menu m;
    struct decide_choice ch;

    /* under high load nothing aggressive is chosen, whatever the draws */
    snap_healthy(&s);
    s.load1 = 8;
    s.load_per_core = 4;
    decide_menu_build(&seed_cfg, &s, &m);
    for (int k = 0; k < 200; k++) {
        struct learn l;
        learn_init(&l, &seed_cfg);
        l.nobs = k;
        s.learn = &l;
        decide_fallback(&seed_cfg, &s, &m, &ch);
        assert_int_equal(ch.mode, MODE_HYBRID);
        assert_int_not_equal(ch.intensity, INTENSITY_AGGRESSIVE);
        assert_false(chose(&ch, WF_CRYPTO_AGGRESSIVE));
        assert_false(chose(&ch, WF_DEEP_ANALYSIS));
        expect_valid(&m, &ch);
    }

    /* crypto quiet and recently scanned, forex never scanned: hybrid, forex scan only */
    struct learn l;
    learned(&l, LEARN_CRYPTO);
    snap_healthy(&s);
    s.learn = &l;
    l.m[LEARN_CRYPTO].band = LEARN_QUIET;
    l.m[LEARN_CRYPTO].last_scan_at = s.now - 600;
    fallback_on_menu(&s, &m, &ch);
    assert_int_equal(ch.mode, MODE_HYBRID);
    assert_false(scans_crypto(&ch));
    assert_true(chose(&ch, WF_FOREX_LONDON));
    assert_int_equal(ch.nwf, 1);
    expect_valid(&m, &ch);
}

static void test_fallback_standby(void **state)
{
    (void)state;
    struct sense_snapshot s;
    struct decide_menu m;
    struct decide_choice ch;
    snap_healthy(&s);
    set_weekend(&s);
    s.probes[FEED_DEXSCREENER].ok = 0;
    s.probes[FEED_BIRDEYE].configured = 1;          /* a second unhealthy source */
    fallback_on_menu(&s, &m, &ch);
    assert_int_equal(ch.mode, MODE_STANDBY);
    assert_int_equal(ch.intensity, INTENSITY_LIGHT);
    assert_int_equal(ch.nwf, 1);
    assert_int_equal(ch.wf[0], WF_HEALTH_CHECK);
    assert_int_equal(ch.next_seconds, 900);
    assert_non_null(strstr(ch.reason, "standby"));
    assert_non_null(strstr(ch.reason, "2 source(s) unhealthy"));
    expect_valid(&m, &ch);

    /* nothing unhealthy, nothing open: standby with no workflow at all */
    snap_healthy(&s);
    set_weekend(&s);
    s.probes[FEED_DEXSCREENER].configured = 0;
    s.probes[FEED_DEXSCREENER].ok = 0;
    fallback_on_menu(&s, &m, &ch);
    assert_int_equal(ch.mode, MODE_STANDBY);
    assert_int_equal(ch.nwf, 0);
    expect_valid(&m, &ch);
}

static void test_fallback_respects_bounds(void **state)
{
    (void)state;
    struct sense_snapshot s;
    struct decide_menu m;
    struct decide_choice ch;
    snap_healthy(&s);
    set_weekend(&s);
    s.market.crypto_volatility = 9;
    decide_menu_build(&seed_cfg, &s, &m);
    m.min_seconds = 600;                             /* DECISION_MIN_SECONDS=600 */
    decide_fallback(&seed_cfg, &s, &m, &ch);
    assert_int_equal(ch.next_seconds, 600);          /* the policy wants 300 after a first scan */
    char before[sizeof ch.reason];
    snprintf(before, sizeof before, "%s", ch.reason);
    expect_valid(&m, &ch);
    assert_string_equal(ch.reason, before);          /* nothing left to clamp */

    s.market.crypto_volatility = 0;
    decide_menu_build(&seed_cfg, &s, &m);
    m.max_seconds = 200;
    decide_fallback(&seed_cfg, &s, &m, &ch);
    assert_int_equal(ch.next_seconds, 200);          /* the policy wants 300 */
}

/* ---- property: the fallback always passes validation --------------------- */

static unsigned long long rng_state;

static unsigned rnd(unsigned n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (unsigned)(rng_state % n);
}

static double rnd_vol(void)
{
    static const double edges[] = { 0, 0.5, 3.0, 0.4999, 3.0001, 100 };
    if (rnd(4) == 0)
        return edges[rnd(6)];
    return rnd(100000) / 10000.0;
}

static void random_snapshot(struct sense_snapshot *s)
{
    memset(s, 0, sizeof *s);
    s->now = 1767225600 + (time_t)rnd(365 * 86400);
    s->sessions.market_open = rnd(4) != 0;
    if (s->sessions.market_open)
        for (int i = 0; i < SESSION_COUNT; i++)
            if ((s->sessions.open[i] = rnd(3) == 0))
                s->sessions.nopen++;
    s->session_label = sessions_label(&s->sessions);
    for (int f = 0; f < FEED_COUNT; f++) {
        s->probes[f].configured = rnd(5) != 0;
        s->probes[f].ok = s->probes[f].configured && rnd(4) != 0;
    }
    s->market.crypto_valid = s->probes[FEED_DEXSCREENER].ok && rnd(6) != 0;
    s->market.crypto_volatility = s->market.crypto_valid ? rnd_vol() : 0;
    s->market.forex_valid = s->probes[FEED_TRADERMADE].ok;
    s->market.forex_stale = s->market.forex_valid && rnd(4) == 0;
    s->load1 = rnd(8) == 0 ? -1 : rnd(4000) / 1000.0;
    s->ncpu = 1 + (int)rnd(4);
    s->load_per_core = s->load1 >= 0 ? s->load1 / s->ncpu : 0;
}

static void test_fallback_always_valid(void **state)
{
    (void)state;
    int modes_seen[MODE_COUNT] = { 0 }, ints_seen[INTENSITY_COUNT] = { 0 };
    rng_state = 0x2545F4914F6CDD1DULL;
    for (int iter = 0; iter < 5000; iter++) {
        struct cfg c = seed_cfg;                       /* numbers only: strings stay seed_cfg's */
        c.load_high = 0.1 + rnd(200) / 100.0;
        c.volatility_low = rnd(300) / 100.0;
        c.volatility_high = c.volatility_low + rnd(500) / 100.0;
        c.decision_min_seconds = 5 + rnd(1000);
        c.decision_max_seconds = c.decision_min_seconds + rnd(5000);

        struct sense_snapshot s;
        struct decide_menu m;
        struct decide_choice ch;
        random_snapshot(&s);
        decide_menu_build(&c, &s, &m);
        memset(&ch, 0xa5, sizeof ch);
        decide_fallback(&c, &s, &m, &ch);
        char reason[sizeof ch.reason];
        snprintf(reason, sizeof reason, "%s", ch.reason);
        long next = ch.next_seconds;
        char err[256] = "";
        if (decide_validate(&m, &ch, err, sizeof err) != 0)
            fail_msg("iteration %d: fallback %s/%s rejected: %s", iter, catalog_mode_name(ch.mode),
                     catalog_intensity_name(ch.intensity), err);
        /* already within bounds: validation changed nothing */
        assert_int_equal(ch.next_seconds, next);
        assert_string_equal(ch.reason, reason);
        assert_int_equal(ch.source, SOURCE_FALLBACK);
        assert_true(ch.next_seconds >= c.decision_min_seconds && ch.next_seconds <= c.decision_max_seconds);
        /* the most capable mode the menu allows */
        int want = m.mode_allowed[MODE_HYBRID] ? MODE_HYBRID : m.mode_allowed[MODE_CRYPTO] ? MODE_CRYPTO
                 : m.mode_allowed[MODE_FOREX] ? MODE_FOREX : MODE_STANDBY;
        assert_int_equal(ch.mode, want);
        /* a scanning mode scans something */
        if (ch.mode != MODE_STANDBY)
            assert_true(ch.nwf >= 1);
        /* the menu never lists a workflow for a mode it forbids, nor aggressive scans under load */
        for (int mode = 0; mode < MODE_COUNT; mode++)
            for (int w = 0; w < WF_COUNT; w++) {
                if (!m.mode_allowed[mode])
                    assert_false(m.wf_allowed[mode][w]);
                if (!m.intensity_allowed[INTENSITY_AGGRESSIVE] && (w == WF_CRYPTO_AGGRESSIVE || w == WF_DEEP_ANALYSIS))
                    assert_false(m.wf_allowed[mode][w]);
            }
        modes_seen[ch.mode]++;
        ints_seen[ch.intensity]++;
    }
    /* the generator reached every outcome */
    for (int i = 0; i < MODE_COUNT; i++)
        assert_true(modes_seen[i] > 0);
    for (int i = 0; i < INTENSITY_COUNT; i++)
        assert_true(ints_seen[i] > 0);
}

int main(void)
{
    seed_install();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fallback_no_learning_scans_what_is_open),
        cmocka_unit_test(test_fallback_quiet_market_is_not_scanned),
        cmocka_unit_test(test_fallback_active_market_is_watched),
        cmocka_unit_test(test_fallback_explores),
        cmocka_unit_test(test_fallback_health_check_rate),
        cmocka_unit_test(test_fallback_hybrid),
        cmocka_unit_test(test_fallback_standby),
        cmocka_unit_test(test_fallback_respects_bounds),
        cmocka_unit_test(test_fallback_always_valid),
    };
    return cmocka_run_group_tests(tests, seed_cfg_setup, seed_cfg_teardown);
}
