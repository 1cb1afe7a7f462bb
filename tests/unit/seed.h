/* seed: the fixtures the unit tests share -- the eight workflows of
 * catalog/default.json put in force, for the tests written against the
 * seed catalog (their registry slots follow the file's order, which these
 * constants name: test code only, the worker knows no workflow by number);
 * a catalog of a test's own put in force; the configuration of an empty
 * environment; the settings the decision tests start from. */
#ifndef TEST_SEED_H
#define TEST_SEED_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catalog.h"
#include "catalog_file.h"
#include "cfg.h"
#include "sense.h"

#ifndef TOP_SRCDIR
#error "TOP_SRCDIR must be defined (Makefile.am's UNIT_CFLAGS)"
#endif

enum {
    WF_CRYPTO_AGGRESSIVE = 0,
    WF_CRYPTO_NORMAL,
    WF_CRYPTO_LIGHT,
    WF_FOREX_LONDON,
    WF_FOREX_NEWYORK,
    WF_FOREX_ASIA,
    WF_HEALTH_CHECK,
    WF_DEEP_ANALYSIS,
    WF_COUNT
};

/* Reset the registry and put the shipped catalog in force; exits the test
 * program when it cannot (a broken catalog/default.json fails every test). */
static inline void seed_install(void)
{
    static const char *const names[WF_COUNT] = {
        "crypto-aggressive-scan", "crypto-normal-scan", "crypto-light-monitoring", "forex-london-session",
        "forex-newyork-session", "forex-asia-session", "health-monitor-check", "deep-market-analysis",
    };
    struct catalog_file *f = malloc(sizeof *f);
    char err[CATALOG_FILE_ERR_MAX];
    catalog_reset();
    if (!f || catalog_file_load(TOP_SRCDIR "/catalog/default.json", time(NULL), f, err, sizeof err) < 0 ||
        catalog_install(&f->cat, err, sizeof err) < 0) {
        fprintf(stderr, "seed_install: %s\n", f ? err : "out of memory");
        exit(1);
    }
    free(f);
    for (int w = 0; w < WF_COUNT; w++) {
        if (catalog_workflow_parse(names[w]) != w) {
            fprintf(stderr, "seed_install: catalog/default.json does not list %s at %d\n", names[w], w);
            exit(1);
        }
    }
}

/* Reset the registry and put the catalog text (JSON; name for messages) in
 * force.  Returns its number of workflows, or -1 with the reason in err. */
static inline int seed_install_json(const char *text, const char *name, char *err, size_t errlen)
{
    struct catalog_file *f = malloc(sizeof *f);
    int n = -1;
    if (!f) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    catalog_reset();
    if (catalog_file_parse(text, strlen(text), name, f, err, errlen) == 0 &&
        catalog_install(&f->cat, err, errlen) == 0)
        n = f->cat.n;
    free(f);
    return n;
}

/* The settings the decision tests start from, the rest zero: decisions
 * 60..3600 s, LOAD_HIGH 0.9, the learning's (seed 1, half-life 168 h, run
 * cost 1, epsilon 0.05, stale after 60 min, 15-minute windows). */
static inline void seed_decide_cfg(struct cfg *c)
{
    memset(c, 0, sizeof *c);
    c->decision_min_seconds = 60;
    c->decision_max_seconds = 3600;
    c->load_high = 0.9;
    c->learn_seed = 1;
    c->learn_half_life_hours = 168;
    c->learn_run_cost = 1;
    c->learn_epsilon = 0.05;
    c->learn_max_stale_minutes = 60;
    c->learn_window_minutes = 15;
}

/* The afternoon of Wednesday 2026-02-11, 14:00 UTC: the market open with
 * London and New York in session, DexScreener configured and answering,
 * crypto data valid; everything else zero (each test adds what it needs). */
static inline void seed_snapshot(struct sense_snapshot *s)
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
    s->market.crypto_valid = 1;
}

/* The configuration of an empty environment (every setting at its
 * default), loaded by seed_cfg_setup and freed by seed_cfg_teardown: a
 * cmocka group's setup and teardown. */
static struct cfg seed_cfg __attribute__((unused));

static inline const char *seed_no_env(const char *name, void *ctx)
{
    (void)name;
    (void)ctx;
    return NULL;
}

static inline int seed_cfg_setup(void **state)
{
    (void)state;
    char err[256];
    if (cfg_load_from(&seed_cfg, seed_no_env, NULL, err, sizeof err) != 0) {
        fprintf(stderr, "cfg: %s\n", err);
        return -1;
    }
    return 0;
}

static inline int seed_cfg_teardown(void **state)
{
    (void)state;
    cfg_free(&seed_cfg);
    return 0;
}

#ifdef cmocka_unit_test
/* A query-string parser's refusal of qs: its rc is -1 and its message err
 * contains want (what it said printed when not). */
static inline void seed_expect_refused(const char *qs, int rc, const char *err, const char *want)
{
    if (rc != -1)
        print_error("accepted \"%s\"\n", qs);
    assert_int_equal(rc, -1);
    if (!strstr(err, want))
        print_error("for \"%s\": message \"%s\" lacks \"%s\"\n", qs, err, want);
    assert_non_null(strstr(err, want));
}
#endif

#endif
