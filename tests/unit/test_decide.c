/* Unit tests for worker/decide.c: the menu of allowed actions, the
 * fallback policy and the validation of a choice, on hand-built
 * snapshots. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decide.h"
#include "learn.h"
#include "seed.h"

/* seed_cfg (seed.h), the defaults: decisions 60..3600 s, LOAD_HIGH 0.9, VOLATILITY_LOW 0.5, VOLATILITY_HIGH 3.0. */

/* A healthy Wednesday afternoon in London: both DexScreener and TraderMade
 * answer, London and New York are open, crypto moves 1% in five minutes,
 * the machine is idle. */
static void snap_healthy(struct sense_snapshot *s)
{
    memset(s, 0, sizeof *s);
    s->now = 1770818400;                      /* 2026-02-11 14:00 UTC */
    s->sessions.market_open = 1;
    s->sessions.open[SESSION_LONDON] = 1;
    s->sessions.open[SESSION_NEWYORK] = 1;
    s->sessions.nopen = 2;
    s->session_label = "london_newyork";
    s->probes[FEED_DEXSCREENER].configured = 1;
    s->probes[FEED_DEXSCREENER].ok = 1;
    s->probes[FEED_TRADERMADE].configured = 1;
    s->probes[FEED_TRADERMADE].ok = 1;
    s->market.crypto_valid = 1;
    s->market.pairs = 30;
    s->market.crypto_volatility = 1.0;
    s->market.forex_valid = 1;
    s->market.forex_move_bp = -1;
    s->market.volatility = 1.0;
    s->load1 = 0.4;
    s->ncpu = 2;
    s->load_per_core = 0.2;
}

static void set_sessions(struct sense_snapshot *s, int sydney, int tokyo, int london, int newyork, const char *label)
{
    s->sessions.market_open = 1;
    s->sessions.open[SESSION_SYDNEY] = sydney;
    s->sessions.open[SESSION_TOKYO] = tokyo;
    s->sessions.open[SESSION_LONDON] = london;
    s->sessions.open[SESSION_NEWYORK] = newyork;
    s->sessions.nopen = sydney + tokyo + london + newyork;
    s->session_label = label;
}

static void set_weekend(struct sense_snapshot *s)
{
    memset(&s->sessions, 0, sizeof s->sessions);
    s->session_label = "closed";
}

static int has_note(const struct decide_menu *m, const char *needle)
{
    for (int i = 0; i < m->nnotes; i++)
        if (strstr(m->notes[i], needle))
            return 1;
    return 0;
}

static int chose(const struct decide_choice *ch, int w)
{
    for (int i = 0; i < ch->nwf; i++)
        if (ch->wf[i] == w)
            return 1;
    return 0;
}

static void expect_valid(const struct decide_menu *m, struct decide_choice *ch)
{
    char err[256] = "";
    int rc = decide_validate(m, ch, err, sizeof err);
    if (rc != 0)
        fail_msg("choice %s/%s rejected: %s (reason: %s)", catalog_mode_name(ch->mode),
                 catalog_intensity_name(ch->intensity), err, ch->reason);
}

static void expect_invalid(const struct decide_menu *m, struct decide_choice *ch, const char *needle)
{
    char err[256] = "";
    int rc = decide_validate(m, ch, err, sizeof err);
    if (rc != -1)
        fail_msg("choice %s/%s accepted, expected \"%s\"", catalog_mode_name(ch->mode),
                 catalog_intensity_name(ch->intensity), needle);
    if (!strstr(err, needle))
        fail_msg("rejected with \"%s\", expected \"%s\"", err, needle);
}

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

/* ---- the fallback policy ------------------------------------------------- */

/* ---- fallback policy v2: scan only when warranted ----------------------- */

/* A learning state in which market m has spent half its time quiet and
 * half high; quiet scans found nothing in 40 full windows, high ones 2
 * opportunities per window.  The market's average yield is then about 1:
 * scanning is warranted in the high band only. */
static void learned(struct learn *l, int m)
{
    learn_init(l, &seed_cfg);
    l->epsilon = 0;                              /* no exploration unless a test asks */
    time_t t = 1770818400 - 3600;
    for (int k = 0; k < 40; k++) {
        learn_observe(l, m, LEARN_QUIET, -1, INTENSITY_NORMAL, 1, 0, 1.0, t);
        learn_observe(l, m, LEARN_QUIET, -1, INTENSITY_LIGHT, 1, 0, 1.0, t);
        learn_observe(l, m, LEARN_QUIET, -1, INTENSITY_AGGRESSIVE, 1, 0, 1.0, t);
        learn_observe(l, m, LEARN_HIGH, -1, INTENSITY_NORMAL, 1, 2, 1.0, t);
        learn_observe(l, m, LEARN_HIGH, -1, INTENSITY_LIGHT, 1, 2, 1.0, t);
        learn_observe(l, m, LEARN_HIGH, -1, INTENSITY_AGGRESSIVE, 1, 2, 1.0, t);
    }
    l->m[m].occ[LEARN_QUIET] = 3600;
    l->m[m].occ[LEARN_HIGH] = 3600;
    l->m[m].occ_at = t;
}

/* Crypto only (forex closed for the weekend), with learning state l. */
static void fallback_crypto_learned(struct learn *l, int band, long scanned_ago, struct decide_choice *ch,
                                    struct decide_menu *m)
{
    struct sense_snapshot s;
    snap_healthy(&s);
    set_weekend(&s);
    l->m[LEARN_CRYPTO].band = band;
    l->m[LEARN_CRYPTO].last_scan_at = scanned_ago >= 0 ? s.now - scanned_ago : 0;
    l->m[LEARN_CRYPTO].exposure = scanned_ago < 0 || scanned_ago >= l->window_s ? 1 : (double)scanned_ago / l->window_s;
    s.learn = l;
    decide_menu_build(&seed_cfg, &s, m);
    decide_fallback(&seed_cfg, &s, m, ch);
    assert_int_equal(ch->source, SOURCE_FALLBACK);
    assert_int_equal(ch->mode, MODE_CRYPTO);          /* the market being watched */
    expect_valid(m, ch);
}

static int scans_crypto(const struct decide_choice *ch)
{
    return chose(ch, WF_CRYPTO_AGGRESSIVE) || chose(ch, WF_CRYPTO_NORMAL) || chose(ch, WF_CRYPTO_LIGHT);
}

static void test_fallback_no_learning_scans_what_is_open(void **state)
{
    (void)state;
    struct sense_snapshot s;
    struct decide_menu m;
    struct decide_choice ch;

    /* nothing learned: every open market counts as never scanned */
    snap_healthy(&s);
    set_weekend(&s);
    decide_menu_build(&seed_cfg, &s, &m);
    decide_fallback(&seed_cfg, &s, &m, &ch);
    assert_int_equal(ch.mode, MODE_CRYPTO);
    assert_int_equal(ch.nwf, 1);
    assert_true(scans_crypto(&ch));
    assert_true(decide_wf_fits(ch.wf[0], ch.intensity));
    assert_non_null(strstr(ch.reason, "first"));
    expect_valid(&m, &ch);

    /* forex only: one session workflow, London first; DexScreener's failure asks for a health check */
    snap_healthy(&s);
    s.probes[FEED_DEXSCREENER].ok = 0;
    decide_menu_build(&seed_cfg, &s, &m);
    decide_fallback(&seed_cfg, &s, &m, &ch);
    assert_int_equal(ch.mode, MODE_FOREX);
    assert_true(chose(&ch, WF_FOREX_LONDON));
    assert_false(chose(&ch, WF_FOREX_NEWYORK));
    assert_true(chose(&ch, WF_HEALTH_CHECK));
    assert_int_equal(ch.nwf, 2);
    assert_non_null(strstr(ch.reason, "1 source(s) unhealthy"));
    expect_valid(&m, &ch);

    /* both open: hybrid, a crypto scan and a forex scan */
    snap_healthy(&s);
    decide_menu_build(&seed_cfg, &s, &m);
    decide_fallback(&seed_cfg, &s, &m, &ch);
    assert_int_equal(ch.mode, MODE_HYBRID);
    assert_true(scans_crypto(&ch));
    assert_true(chose(&ch, WF_FOREX_LONDON));
    expect_valid(&m, &ch);

    /* Tokyo alone: the Asia workflow */
    set_sessions(&s, 0, 1, 0, 0, "tokyo");
    decide_menu_build(&seed_cfg, &s, &m);
    decide_fallback(&seed_cfg, &s, &m, &ch);
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
    decide_menu_build(&seed_cfg, &s, &m);
    decide_fallback(&seed_cfg, &s, &m, &ch);
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
    decide_menu_build(&seed_cfg, &s, &m);
    decide_fallback(&seed_cfg, &s, &m, &ch);
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
    decide_menu_build(&seed_cfg, &s, &m);
    decide_fallback(&seed_cfg, &s, &m, &ch);
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
    decide_menu_build(&seed_cfg, &s, &m);
    decide_fallback(&seed_cfg, &s, &m, &ch);
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
        cmocka_unit_test(test_fallback_no_learning_scans_what_is_open),
        cmocka_unit_test(test_fallback_quiet_market_is_not_scanned),
        cmocka_unit_test(test_fallback_active_market_is_watched),
        cmocka_unit_test(test_fallback_explores),
        cmocka_unit_test(test_fallback_health_check_rate),
        cmocka_unit_test(test_fallback_hybrid),
        cmocka_unit_test(test_fallback_standby),
        cmocka_unit_test(test_fallback_respects_bounds),
        cmocka_unit_test(test_fallback_always_valid),
        cmocka_unit_test(test_validate_accepts),
        cmocka_unit_test(test_validate_rejects),
        cmocka_unit_test(test_validate_clamps_next),
        cmocka_unit_test(test_forced_decision_acts),
        cmocka_unit_test(test_wf_fits),
    };
    return cmocka_run_group_tests(tests, seed_cfg_setup, seed_cfg_teardown);
}
