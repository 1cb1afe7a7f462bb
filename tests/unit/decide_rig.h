/* decide_rig.h: what test_decide.c and test_decide_fallback.c share --
 * hand-built snapshots (snap_healthy, sessions, weekend), checks of a menu
 * and a choice, and a learning state for the fallback (learned,
 * fallback_crypto_learned). */
#ifndef DECIDE_RIG_H
#define DECIDE_RIG_H

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
static inline void snap_healthy(struct sense_snapshot *s)
{
    seed_snapshot(s);
    s->probes[FEED_TRADERMADE].configured = 1;
    s->probes[FEED_TRADERMADE].ok = 1;
    s->market.pairs = 30;
    s->market.crypto_volatility = 1.0;
    s->market.forex_valid = 1;
    s->market.forex_move_bp = -1;
    s->market.volatility = 1.0;
    s->load1 = 0.4;
    s->ncpu = 2;
    s->load_per_core = 0.2;
}

static inline void set_sessions(struct sense_snapshot *s, int sydney, int tokyo, int london, int newyork, const char *label)
{
    s->sessions.market_open = 1;
    s->sessions.open[SESSION_SYDNEY] = sydney;
    s->sessions.open[SESSION_TOKYO] = tokyo;
    s->sessions.open[SESSION_LONDON] = london;
    s->sessions.open[SESSION_NEWYORK] = newyork;
    s->sessions.nopen = sydney + tokyo + london + newyork;
    s->session_label = label;
}

static inline void set_weekend(struct sense_snapshot *s)
{
    memset(&s->sessions, 0, sizeof s->sessions);
    s->session_label = "closed";
}

static inline int has_note(const struct decide_menu *m, const char *needle)
{
    for (int i = 0; i < m->nnotes; i++)
        if (strstr(m->notes[i], needle))
            return 1;
    return 0;
}

static inline int chose(const struct decide_choice *ch, int w)
{
    for (int i = 0; i < ch->nwf; i++)
        if (ch->wf[i] == w)
            return 1;
    return 0;
}

static inline void expect_valid(const struct decide_menu *m, struct decide_choice *ch)
{
    char err[256] = "";
    int rc = decide_validate(m, ch, err, sizeof err);
    if (rc != 0)
        fail_msg("choice %s/%s rejected: %s (reason: %s)", catalog_mode_name(ch->mode),
                 catalog_intensity_name(ch->intensity), err, ch->reason);
}

static inline void expect_invalid(const struct decide_menu *m, struct decide_choice *ch, const char *needle)
{
    char err[256] = "";
    int rc = decide_validate(m, ch, err, sizeof err);
    if (rc != -1)
        fail_msg("choice %s/%s accepted, expected \"%s\"", catalog_mode_name(ch->mode),
                 catalog_intensity_name(ch->intensity), needle);
    if (!strstr(err, needle))
        fail_msg("rejected with \"%s\", expected \"%s\"", err, needle);
}

/* ---- the fallback policy ------------------------------------------------- */

/* ---- fallback policy v2: scan only when warranted ----------------------- */

/* A learning state in which market m has spent half its time quiet and
 * half high; quiet scans found nothing in 40 full windows, high ones 2
 * opportunities per window.  The market's average yield is then about 1:
 * scanning is warranted in the high band only. */
static inline void learned(struct learn *l, int m)
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

/* The fallback's choice ch for s, on the menu m built for s. */
static inline void fallback_on_menu(const struct sense_snapshot *s, struct decide_menu *m, struct decide_choice *ch)
{
    decide_menu_build(&seed_cfg, s, m);
    decide_fallback(&seed_cfg, s, m, ch);
}

/* Crypto only (forex closed for the weekend), with learning state l. */
static inline void fallback_crypto_learned(struct learn *l, int band, long scanned_ago, struct decide_choice *ch,
                                    struct decide_menu *m)
{
    struct sense_snapshot s;
    snap_healthy(&s);
    set_weekend(&s);
    l->m[LEARN_CRYPTO].band = band;
    l->m[LEARN_CRYPTO].last_scan_at = scanned_ago >= 0 ? s.now - scanned_ago : 0;
    l->m[LEARN_CRYPTO].exposure = scanned_ago < 0 || scanned_ago >= l->window_s ? 1 : (double)scanned_ago / l->window_s;
    s.learn = l;
    fallback_on_menu(&s, m, ch);
    assert_int_equal(ch->source, SOURCE_FALLBACK);
    assert_int_equal(ch->mode, MODE_CRYPTO);          /* the market being watched */
    expect_valid(m, ch);
}

static inline int scans_crypto(const struct decide_choice *ch)
{
    return chose(ch, WF_CRYPTO_AGGRESSIVE) || chose(ch, WF_CRYPTO_NORMAL) || chose(ch, WF_CRYPTO_LIGHT);
}

#endif
