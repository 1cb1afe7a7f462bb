/* Unit tests for worker/decide.c: the menu of allowed actions and the
 * validation of a choice, on hand-built snapshots (decide_rig.h).  The
 * fallback policy: test_decide_fallback.c. */

#include "decide_rig.h"

/* ---- the menu ------------------------------------------------------------ */

static void test_menu_healthy(void **state)
{
    (void)state;
    struct sense_snapshot s;
    struct decide_menu m;
    snap_healthy(&s);
    decide_menu_build(&seed_cfg, &s, &m);
    assert_int_equal(m.crypto_ok, 1);
    assert_int_equal(m.forex_ok, 1);
    for (int mode = 0; mode < MODE_COUNT; mode++)
        assert_int_equal(m.mode_allowed[mode], 1);
    for (int i = 0; i < INTENSITY_COUNT; i++)
        assert_int_equal(m.intensity_allowed[i], 1);
    assert_int_equal(m.nnotes, 0);
    assert_int_equal(m.min_seconds, 60);
    assert_int_equal(m.max_seconds, 3600);

    const unsigned char *h = m.wf_allowed[MODE_HYBRID];
    assert_true(h[WF_CRYPTO_AGGRESSIVE] && h[WF_CRYPTO_NORMAL] && h[WF_CRYPTO_LIGHT]);
    assert_true(h[WF_FOREX_LONDON] && h[WF_FOREX_NEWYORK]);
    assert_false(h[WF_FOREX_ASIA]);                  /* neither Tokyo nor Sydney open */
    assert_true(h[WF_HEALTH_CHECK] && h[WF_DEEP_ANALYSIS]);

    const unsigned char *c = m.wf_allowed[MODE_CRYPTO];
    assert_true(c[WF_CRYPTO_AGGRESSIVE] && c[WF_CRYPTO_NORMAL] && c[WF_CRYPTO_LIGHT] && c[WF_HEALTH_CHECK]);
    assert_false(c[WF_FOREX_LONDON] || c[WF_FOREX_NEWYORK] || c[WF_FOREX_ASIA] || c[WF_DEEP_ANALYSIS]);

    const unsigned char *f = m.wf_allowed[MODE_FOREX];
    assert_true(f[WF_FOREX_LONDON] && f[WF_FOREX_NEWYORK] && f[WF_HEALTH_CHECK]);
    assert_false(f[WF_CRYPTO_AGGRESSIVE] || f[WF_CRYPTO_NORMAL] || f[WF_CRYPTO_LIGHT] || f[WF_DEEP_ANALYSIS]);

    for (int w = 0; w < WF_COUNT; w++)
        assert_int_equal(m.wf_allowed[MODE_STANDBY][w], w == WF_HEALTH_CHECK);
}

static void test_menu_dex_down(void **state)
{
    (void)state;
    struct sense_snapshot s;
    struct decide_menu m;

    snap_healthy(&s);
    s.probes[FEED_DEXSCREENER].ok = 0;
    decide_menu_build(&seed_cfg, &s, &m);
    assert_int_equal(m.crypto_ok, 0);
    assert_false(m.mode_allowed[MODE_CRYPTO]);
    assert_false(m.mode_allowed[MODE_HYBRID]);
    assert_true(m.mode_allowed[MODE_FOREX]);
    assert_true(m.mode_allowed[MODE_STANDBY]);
    assert_true(has_note(&m, "dexscreener unhealthy"));
    for (int mode = 0; mode < MODE_COUNT; mode++)
        for (int w = WF_CRYPTO_AGGRESSIVE; w <= WF_CRYPTO_LIGHT; w++)
            assert_false(m.wf_allowed[mode][w]);

    /* not configured at all: said so */
    snap_healthy(&s);
    s.probes[FEED_DEXSCREENER].configured = 0;
    s.probes[FEED_DEXSCREENER].ok = 0;
    decide_menu_build(&seed_cfg, &s, &m);
    assert_false(m.mode_allowed[MODE_CRYPTO]);
    assert_true(has_note(&m, "not configured"));

    /* answered 200 but its body did not parse: no crypto data, no crypto */
    snap_healthy(&s);
    s.market.crypto_valid = 0;
    decide_menu_build(&seed_cfg, &s, &m);
    assert_false(m.mode_allowed[MODE_CRYPTO]);
    assert_false(m.mode_allowed[MODE_HYBRID]);
}

static void test_menu_weekend(void **state)
{
    (void)state;
    struct sense_snapshot s;
    struct decide_menu m;
    snap_healthy(&s);
    set_weekend(&s);
    decide_menu_build(&seed_cfg, &s, &m);
    assert_int_equal(m.forex_ok, 0);
    assert_false(m.mode_allowed[MODE_FOREX]);
    assert_false(m.mode_allowed[MODE_HYBRID]);
    assert_true(m.mode_allowed[MODE_CRYPTO]);           /* crypto never sleeps */
    assert_true(has_note(&m, "weekend"));
    for (int mode = 0; mode < MODE_COUNT; mode++)
        for (int w = WF_FOREX_LONDON; w <= WF_FOREX_ASIA; w++)
            assert_false(m.wf_allowed[mode][w]);

    /* market open but no session: no forex either */
    snap_healthy(&s);
    set_sessions(&s, 0, 0, 0, 0, "off_hours");
    decide_menu_build(&seed_cfg, &s, &m);
    assert_false(m.mode_allowed[MODE_FOREX]);
    assert_true(has_note(&m, "no session"));
}

static void test_menu_tradermade(void **state)
{
    (void)state;
    struct sense_snapshot s;
    struct decide_menu m;

    snap_healthy(&s);
    s.probes[FEED_TRADERMADE].ok = 0;
    decide_menu_build(&seed_cfg, &s, &m);
    assert_false(m.mode_allowed[MODE_FOREX]);
    assert_false(m.mode_allowed[MODE_HYBRID]);
    assert_true(m.mode_allowed[MODE_CRYPTO]);
    assert_true(has_note(&m, "tradermade unhealthy"));

    snap_healthy(&s);
    s.market.forex_stale = 1;
    decide_menu_build(&seed_cfg, &s, &m);
    assert_false(m.mode_allowed[MODE_FOREX]);
    assert_false(m.mode_allowed[MODE_HYBRID]);
    assert_true(has_note(&m, "stale"));

    /* not configured: the sessions alone decide (no key is not a failure) */
    snap_healthy(&s);
    s.probes[FEED_TRADERMADE].configured = 0;
    s.probes[FEED_TRADERMADE].ok = 0;
    s.market.forex_valid = 0;
    decide_menu_build(&seed_cfg, &s, &m);
    assert_true(m.mode_allowed[MODE_FOREX]);
    assert_true(m.mode_allowed[MODE_HYBRID]);
}

static void test_menu_high_load(void **state)
{
    (void)state;
    struct sense_snapshot s;
    struct decide_menu m;
    snap_healthy(&s);
    s.load1 = 3.0;
    s.load_per_core = 1.5;                   /* above LOAD_HIGH 0.9 */
    decide_menu_build(&seed_cfg, &s, &m);
    assert_false(m.intensity_allowed[INTENSITY_AGGRESSIVE]);
    assert_true(m.intensity_allowed[INTENSITY_NORMAL]);
    assert_true(m.intensity_allowed[INTENSITY_LIGHT]);
    assert_true(has_note(&m, "load"));
    for (int mode = 0; mode < MODE_COUNT; mode++) {
        assert_false(m.wf_allowed[mode][WF_CRYPTO_AGGRESSIVE]);
        assert_false(m.wf_allowed[mode][WF_DEEP_ANALYSIS]);
    }
    assert_true(m.wf_allowed[MODE_HYBRID][WF_CRYPTO_NORMAL]);
    assert_true(m.mode_allowed[MODE_HYBRID]);          /* load limits intensity, not modes */

    /* exactly at the limit is not above it */
    s.load_per_core = 0.9;
    decide_menu_build(&seed_cfg, &s, &m);
    assert_true(m.intensity_allowed[INTENSITY_AGGRESSIVE]);

    /* load unknown (no /proc/loadavg): not treated as high */
    s.load1 = -1;
    s.load_per_core = 5;
    decide_menu_build(&seed_cfg, &s, &m);
    assert_true(m.intensity_allowed[INTENSITY_AGGRESSIVE]);
}

static void test_menu_forex_workflows_follow_sessions(void **state)
{
    (void)state;
    struct sense_snapshot s;
    struct decide_menu m;
    snap_healthy(&s);
    set_sessions(&s, 0, 1, 0, 0, "tokyo");
    decide_menu_build(&seed_cfg, &s, &m);
    assert_true(m.wf_allowed[MODE_FOREX][WF_FOREX_ASIA]);
    assert_false(m.wf_allowed[MODE_FOREX][WF_FOREX_LONDON]);
    assert_false(m.wf_allowed[MODE_FOREX][WF_FOREX_NEWYORK]);

    set_sessions(&s, 1, 0, 0, 0, "sydney");
    decide_menu_build(&seed_cfg, &s, &m);
    assert_true(m.wf_allowed[MODE_FOREX][WF_FOREX_ASIA]);

    set_sessions(&s, 0, 0, 0, 1, "newyork");
    decide_menu_build(&seed_cfg, &s, &m);
    assert_true(m.wf_allowed[MODE_HYBRID][WF_FOREX_NEWYORK]);
    assert_false(m.wf_allowed[MODE_HYBRID][WF_FOREX_LONDON]);
    assert_false(m.wf_allowed[MODE_HYBRID][WF_FOREX_ASIA]);
}

static void test_menu_json(void **state)
{
    (void)state;
    struct sense_snapshot s;
    struct decide_menu m;
    snap_healthy(&s);
    set_weekend(&s);
    s.load1 = 4;
    s.load_per_core = 2;
    decide_menu_build(&seed_cfg, &s, &m);
    json_object *j = decide_menu_to_json(&m);
    assert_non_null(j);
    /* through text, as the audit trail and the prompt see it */
    json_object *r = json_tokener_parse(json_object_to_json_string(j));
    json_object_put(j);
    assert_non_null(r);

    json_object *modes, *ints, *next, *excl, *v;
    assert_true(json_object_object_get_ex(r, "modes", &modes));
    assert_true(json_object_object_get_ex(modes, "crypto", &v));
    assert_true(json_object_object_get_ex(modes, "standby", &v));
    assert_false(json_object_object_get_ex(modes, "forex", &v));
    assert_false(json_object_object_get_ex(modes, "hybrid", &v));
    assert_int_equal(json_object_object_length(modes), 2);

    assert_true(json_object_object_get_ex(modes, "crypto", &v));
    assert_true(json_object_is_type(v, json_type_array));
    int seen_normal = 0, seen_light = 0, seen_health = 0;
    for (size_t i = 0; i < json_object_array_length(v); i++) {
        const char *p = json_object_get_string(json_object_array_get_idx(v, i));
        assert_true(strcmp(p, "crypto-aggressive-scan") != 0);
        assert_true(strcmp(p, "deep-market-analysis") != 0);
        assert_true(strncmp(p, "forex-", 6) != 0);
        seen_normal |= strcmp(p, "crypto-normal-scan") == 0;
        seen_light |= strcmp(p, "crypto-light-monitoring") == 0;
        seen_health |= strcmp(p, "health-monitor-check") == 0;
    }
    assert_true(seen_normal && seen_light && seen_health);
    assert_true(json_object_object_get_ex(modes, "standby", &v));
    assert_int_equal(json_object_array_length(v), 1);
    assert_string_equal(json_object_get_string(json_object_array_get_idx(v, 0)), "health-monitor-check");

    assert_true(json_object_object_get_ex(r, "intensities", &ints));
    assert_int_equal(json_object_array_length(ints), 2);
    assert_string_equal(json_object_get_string(json_object_array_get_idx(ints, 0)), "normal");
    assert_string_equal(json_object_get_string(json_object_array_get_idx(ints, 1)), "light");

    assert_true(json_object_object_get_ex(r, "next_seconds", &next));
    assert_true(json_object_object_get_ex(next, "min", &v));
    assert_int_equal(json_object_get_int64(v), 60);
    assert_true(json_object_object_get_ex(next, "max", &v));
    assert_int_equal(json_object_get_int64(v), 3600);

    assert_true(json_object_object_get_ex(r, "excluded", &excl));
    assert_int_equal((int)json_object_array_length(excl), m.nnotes);
    int weekend = 0, load = 0;
    for (size_t i = 0; i < json_object_array_length(excl); i++) {
        const char *n = json_object_get_string(json_object_array_get_idx(excl, i));
        weekend |= strstr(n, "weekend") != NULL;
        load |= strstr(n, "load 2.00") != NULL;
    }
    assert_true(weekend);
    assert_true(load);
    json_object_put(r);

    /* healthy: every mode listed, nothing excluded */
    snap_healthy(&s);
    decide_menu_build(&seed_cfg, &s, &m);
    j = decide_menu_to_json(&m);
    assert_true(json_object_object_get_ex(j, "modes", &modes));
    assert_int_equal(json_object_object_length(modes), 4);
    assert_true(json_object_object_get_ex(modes, "hybrid", &v));
    assert_int_equal(json_object_array_length(v), 7);     /* all but forex-asia-session */
    assert_true(json_object_object_get_ex(j, "excluded", &excl));
    assert_int_equal(json_object_array_length(excl), 0);
    json_object_put(j);
}

/* ---- validation ----------------------------------------------------------- */

static void choice(struct decide_choice *ch, int mode, int intensity, long next, int nwf, ...)
{
    memset(ch, 0, sizeof *ch);
    ch->mode = mode;
    ch->intensity = intensity;
    ch->source = SOURCE_LLM;
    ch->next_seconds = next;
    ch->nwf = nwf;
    va_list ap;
    va_start(ap, nwf);
    for (int i = 0; i < nwf && i < DECIDE_MAX_WF; i++)
        ch->wf[i] = va_arg(ap, int);
    va_end(ap);
    snprintf(ch->reason, sizeof ch->reason, "model says so");
}

static void test_validate_accepts(void **state)
{
    (void)state;
    struct sense_snapshot s;
    struct decide_menu m;
    struct decide_choice ch;
    snap_healthy(&s);
    decide_menu_build(&seed_cfg, &s, &m);

    choice(&ch, MODE_HYBRID, INTENSITY_AGGRESSIVE, 120, 4, WF_CRYPTO_AGGRESSIVE, WF_FOREX_LONDON,
           WF_FOREX_NEWYORK, WF_DEEP_ANALYSIS);
    expect_valid(&m, &ch);
    assert_int_equal(ch.next_seconds, 120);
    assert_string_equal(ch.reason, "model says so");

    choice(&ch, MODE_CRYPTO, INTENSITY_LIGHT, 60, 2, WF_CRYPTO_LIGHT, WF_HEALTH_CHECK);
    expect_valid(&m, &ch);
    choice(&ch, MODE_FOREX, INTENSITY_LIGHT, 3600, 1, WF_FOREX_NEWYORK);   /* forex fits any intensity */
    expect_valid(&m, &ch);
    choice(&ch, MODE_STANDBY, INTENSITY_LIGHT, 600, 0);
    expect_valid(&m, &ch);
    choice(&ch, MODE_STANDBY, INTENSITY_NORMAL, 600, 1, WF_HEALTH_CHECK);
    expect_valid(&m, &ch);
    choice(&ch, MODE_CRYPTO, INTENSITY_NORMAL, 300, 0);                    /* nothing to start is allowed */
    expect_valid(&m, &ch);
}

static void test_validate_rejects(void **state)
{
    (void)state;
    struct sense_snapshot s;
    struct decide_menu m;
    struct decide_choice ch;

    /* mode not allowed: forex at the weekend */
    snap_healthy(&s);
    set_weekend(&s);
    decide_menu_build(&seed_cfg, &s, &m);
    choice(&ch, MODE_FOREX, INTENSITY_NORMAL, 300, 1, WF_FOREX_LONDON);
    expect_invalid(&m, &ch, "mode forex is not allowed");
    choice(&ch, MODE_HYBRID, INTENSITY_NORMAL, 300, 1, WF_CRYPTO_NORMAL);
    expect_invalid(&m, &ch, "mode hybrid is not allowed");

    snap_healthy(&s);
    decide_menu_build(&seed_cfg, &s, &m);
    /* a workflow that is not on the menu for that mode */
    choice(&ch, MODE_CRYPTO, INTENSITY_NORMAL, 300, 2, WF_CRYPTO_NORMAL, WF_FOREX_LONDON);
    expect_invalid(&m, &ch, "forex-london-session is not on the menu for mode crypto");
    choice(&ch, MODE_HYBRID, INTENSITY_NORMAL, 300, 1, WF_FOREX_ASIA);      /* Asia is closed */
    expect_invalid(&m, &ch, "forex-asia-session is not on the menu");
    choice(&ch, MODE_CRYPTO, INTENSITY_AGGRESSIVE, 300, 1, WF_DEEP_ANALYSIS);
    expect_invalid(&m, &ch, "deep-market-analysis is not on the menu");
    /* a workflow that does not fit the intensity */
    choice(&ch, MODE_CRYPTO, INTENSITY_AGGRESSIVE, 300, 1, WF_CRYPTO_LIGHT);
    expect_invalid(&m, &ch, "crypto-light-monitoring does not fit intensity aggressive");
    choice(&ch, MODE_HYBRID, INTENSITY_LIGHT, 300, 1, WF_DEEP_ANALYSIS);
    expect_invalid(&m, &ch, "deep-market-analysis does not fit intensity light");
    /* duplicates */
    choice(&ch, MODE_CRYPTO, INTENSITY_NORMAL, 300, 3, WF_CRYPTO_NORMAL, WF_HEALTH_CHECK, WF_CRYPTO_NORMAL);
    expect_invalid(&m, &ch, "crypto-normal-scan chosen twice");
    /* standby never scans */
    choice(&ch, MODE_STANDBY, INTENSITY_LIGHT, 300, 1, WF_CRYPTO_LIGHT);
    expect_invalid(&m, &ch, "crypto-light-monitoring");
    choice(&ch, MODE_STANDBY, INTENSITY_LIGHT, 300, 2, WF_HEALTH_CHECK, WF_FOREX_LONDON);
    expect_invalid(&m, &ch, "standby");
    /* out-of-range values */
    choice(&ch, -1, INTENSITY_NORMAL, 300, 0);
    expect_invalid(&m, &ch, "unknown mode");
    choice(&ch, MODE_COUNT, INTENSITY_NORMAL, 300, 0);
    expect_invalid(&m, &ch, "unknown mode");
    choice(&ch, MODE_CRYPTO, -1, 300, 0);
    expect_invalid(&m, &ch, "unknown intensity");
    choice(&ch, MODE_CRYPTO, INTENSITY_COUNT, 300, 0);
    expect_invalid(&m, &ch, "unknown intensity");
    choice(&ch, MODE_CRYPTO, INTENSITY_NORMAL, 300, 1, -1);
    expect_invalid(&m, &ch, "unknown workflow");
    choice(&ch, MODE_CRYPTO, INTENSITY_NORMAL, 300, 1, WF_COUNT);
    expect_invalid(&m, &ch, "unknown workflow");
    choice(&ch, MODE_CRYPTO, INTENSITY_NORMAL, 300, 0);
    ch.nwf = DECIDE_MAX_WF + 1;
    expect_invalid(&m, &ch, "too many");
    ch.nwf = -1;
    expect_invalid(&m, &ch, "workflows");
    ch.nwf = 1 << 30;
    expect_invalid(&m, &ch, "too many");

    /* aggressive under high load */
    s.load1 = 6;
    s.load_per_core = 3;
    decide_menu_build(&seed_cfg, &s, &m);
    choice(&ch, MODE_CRYPTO, INTENSITY_AGGRESSIVE, 300, 0);
    expect_invalid(&m, &ch, "intensity aggressive is not allowed");
    choice(&ch, MODE_CRYPTO, INTENSITY_NORMAL, 300, 1, WF_CRYPTO_AGGRESSIVE);
    expect_invalid(&m, &ch, "crypto-aggressive-scan");
}

static void test_validate_clamps_next(void **state)
{
    (void)state;
    struct sense_snapshot s;
    struct decide_menu m;
    struct decide_choice ch;
    snap_healthy(&s);
    decide_menu_build(&seed_cfg, &s, &m);

    choice(&ch, MODE_CRYPTO, INTENSITY_NORMAL, 5, 1, WF_CRYPTO_NORMAL);
    expect_valid(&m, &ch);
    assert_int_equal(ch.next_seconds, 60);
    assert_non_null(strstr(ch.reason, "model says so"));
    assert_non_null(strstr(ch.reason, "clamped"));
    assert_non_null(strstr(ch.reason, "5 s"));
    assert_non_null(strstr(ch.reason, "60 s"));

    choice(&ch, MODE_CRYPTO, INTENSITY_NORMAL, 100000, 1, WF_CRYPTO_NORMAL);
    expect_valid(&m, &ch);
    assert_int_equal(ch.next_seconds, 3600);
    assert_non_null(strstr(ch.reason, "clamped to 3600 s"));

    choice(&ch, MODE_CRYPTO, INTENSITY_NORMAL, -30, 0);
    expect_valid(&m, &ch);
    assert_int_equal(ch.next_seconds, 60);

    /* the bounds themselves are not clamped */
    choice(&ch, MODE_CRYPTO, INTENSITY_NORMAL, 60, 0);
    expect_valid(&m, &ch);
    assert_int_equal(ch.next_seconds, 60);
    assert_string_equal(ch.reason, "model says so");
    choice(&ch, MODE_CRYPTO, INTENSITY_NORMAL, 3600, 0);
    expect_valid(&m, &ch);
    assert_string_equal(ch.reason, "model says so");

    /* a reason that already fills its buffer stays terminated */
    choice(&ch, MODE_CRYPTO, INTENSITY_NORMAL, 1, 0);
    memset(ch.reason, 'r', sizeof ch.reason - 1);
    ch.reason[sizeof ch.reason - 1] = '\0';
    expect_valid(&m, &ch);
    assert_int_equal(ch.next_seconds, 60);
    assert_int_equal(strlen(ch.reason), sizeof ch.reason - 1);
    choice(&ch, MODE_CRYPTO, INTENSITY_NORMAL, 1, 0);
    memset(ch.reason, 'r', sizeof ch.reason - 20);
    ch.reason[sizeof ch.reason - 20] = '\0';
    expect_valid(&m, &ch);
    assert_true(strlen(ch.reason) < sizeof ch.reason);
}

static void test_forced_decision_acts(void **state)
{
    (void)state;
    struct learn l;
    struct decide_menu m;
    struct decide_choice ch;
    learned(&l, LEARN_CRYPTO);
    fallback_crypto_learned(&l, LEARN_QUIET, 1200, &ch, &m);
    assert_int_equal(ch.nwf, 0);                 /* the policy alone would not scan */
    decide_force(&m, &ch);
    assert_true(scans_crypto(&ch));
    assert_non_null(strstr(ch.reason, "forced"));
    expect_valid(&m, &ch);
    int n = ch.nwf;
    decide_force(&m, &ch);                       /* idempotent: nothing added twice */
    assert_int_equal(ch.nwf, n);

    /* standby stays standby */
    choice(&ch, MODE_STANDBY, INTENSITY_LIGHT, 900, 0);
    decide_force(&m, &ch);
    assert_int_equal(ch.nwf, 0);
}

/* What the deliver knows to be unusable (an open circuit, a 404, inactive
 * in n8n) is on no menu, with a note, so that neither the LLM nor the
 * fallback nor a forced decision chooses it. */
static void test_menu_leaves_out_blocked_workflows(void **state)
{
    (void)state;
    struct sense_snapshot s;
    struct decide_menu m;
    struct decide_choice ch;
    snap_healthy(&s);
    s.wf_blocked[WF_FOREX_LONDON] = 1;
    snprintf(s.wf_blocked_why[WF_FOREX_LONDON], sizeof s.wf_blocked_why[0], "forex-london-session: circuit open until X");
    for (int w = WF_CRYPTO_AGGRESSIVE; w <= WF_CRYPTO_LIGHT; w++) {
        s.wf_blocked[w] = 1;
        snprintf(s.wf_blocked_why[w], sizeof s.wf_blocked_why[0], "%s: not registered in n8n (404)",
                 catalog_name(w));
    }
    decide_menu_build(&seed_cfg, &s, &m);
    for (int mode = 0; mode < MODE_COUNT; mode++) {
        assert_false(m.wf_allowed[mode][WF_FOREX_LONDON]);
        assert_false(m.wf_allowed[mode][WF_CRYPTO_NORMAL]);
    }
    assert_true(m.wf_allowed[MODE_HYBRID][WF_FOREX_NEWYORK]);
    int noted = 0;
    for (int i = 0; i < m.nnotes; i++)
        noted += strstr(m.notes[i], "forex-london-session: circuit open") != NULL ||
                 strstr(m.notes[i], "crypto-normal-scan: not registered") != NULL;
    assert_int_equal(noted, 2);
    json_object *j = decide_menu_to_json(&m);
    assert_non_null(strstr(json_object_to_json_string(j), "forex-london-session: circuit open"));
    json_object_put(j);
    /* the fallback takes the next session workflow and scans no crypto */
    decide_fallback(&seed_cfg, &s, &m, &ch);
    assert_false(chose(&ch, WF_FOREX_LONDON));
    assert_false(scans_crypto(&ch));
    expect_valid(&m, &ch);
    /* an LLM choosing one is rejected; a forced decision does not add one */
    choice(&ch, MODE_HYBRID, INTENSITY_NORMAL, 900, 1, WF_CRYPTO_NORMAL);
    expect_invalid(&m, &ch, "not on the menu");
    choice(&ch, MODE_HYBRID, INTENSITY_NORMAL, 900, 0);
    decide_force(&m, &ch);
    assert_false(chose(&ch, WF_FOREX_LONDON));
    assert_false(scans_crypto(&ch));
    assert_true(chose(&ch, WF_FOREX_NEWYORK));
}

static void test_wf_fits(void **state)
{
    (void)state;
    assert_true(decide_wf_fits(WF_CRYPTO_AGGRESSIVE, INTENSITY_AGGRESSIVE));
    assert_false(decide_wf_fits(WF_CRYPTO_AGGRESSIVE, INTENSITY_NORMAL));
    assert_true(decide_wf_fits(WF_CRYPTO_NORMAL, INTENSITY_NORMAL));
    assert_false(decide_wf_fits(WF_CRYPTO_NORMAL, INTENSITY_LIGHT));
    assert_true(decide_wf_fits(WF_CRYPTO_LIGHT, INTENSITY_LIGHT));
    assert_false(decide_wf_fits(WF_CRYPTO_LIGHT, INTENSITY_AGGRESSIVE));
    assert_false(decide_wf_fits(WF_DEEP_ANALYSIS, INTENSITY_NORMAL));
    for (int i = 0; i < INTENSITY_COUNT; i++) {
        assert_true(decide_wf_fits(WF_FOREX_LONDON, i));
        assert_true(decide_wf_fits(WF_FOREX_ASIA, i));
        assert_true(decide_wf_fits(WF_HEALTH_CHECK, i));
    }
    assert_false(decide_wf_fits(-1, INTENSITY_NORMAL));
    assert_false(decide_wf_fits(WF_COUNT, INTENSITY_NORMAL));
}

int main(void)
{
    seed_install();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_menu_healthy),
        cmocka_unit_test(test_menu_dex_down),
        cmocka_unit_test(test_menu_weekend),
        cmocka_unit_test(test_menu_tradermade),
        cmocka_unit_test(test_menu_high_load),
        cmocka_unit_test(test_menu_forex_workflows_follow_sessions),
        cmocka_unit_test(test_menu_json),
        cmocka_unit_test(test_menu_leaves_out_blocked_workflows),
        cmocka_unit_test(test_validate_accepts),
        cmocka_unit_test(test_validate_rejects),
        cmocka_unit_test(test_validate_clamps_next),
        cmocka_unit_test(test_forced_decision_acts),
        cmocka_unit_test(test_wf_fits),
    };
    return cmocka_run_group_tests(tests, seed_cfg_setup, seed_cfg_teardown);
}
