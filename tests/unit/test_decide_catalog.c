/* Unit tests of the decision with a catalog of the user's own: the menu by
 * the entries' attributes (market, intensity, sessions, needs, enabled,
 * min_interval_seconds, max_runs_per_day, cost in RUN_BUDGET_PER_HOUR), the
 * workflow a scan starts (catalog order, exact intensity before "any"), the
 * cross-market and system additions, the validation of a choice against the
 * budget, usage.c's memory of runs, learn_wf.c's per-workflow posteriors,
 * and deliver's per-workflow timeout and results. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "catalog_file.h"
#include "decide.h"
#include "deliver.h"
#include "learn.h"
#include "learn_wf.h"
#include "sense.h"
#include "usage.h"
#include "seed.h"

static struct cfg cfg;

/* The test catalog, in this order. */
enum { W_ALPHA, W_BETA, W_TOKYO, W_OFF, W_FX, W_FX_NY, W_CROSS, W_SYS, W_LIMITED, W_N };

static void install(void)
{
    static const char text[] =
        "{\"workflows\":["
        "{\"name\":\"alpha\",\"market\":\"crypto\",\"intensity\":\"normal\",\"needs\":[\"dexscreener\"],\"cost\":2},"
        "{\"name\":\"beta\",\"market\":\"crypto\",\"intensity\":\"any\"},"
        "{\"name\":\"tokyo-only\",\"market\":\"crypto\",\"intensity\":\"light\",\"sessions\":[\"tokyo\"]},"
        "{\"name\":\"off\",\"market\":\"crypto\",\"intensity\":\"normal\",\"enabled\":false},"
        "{\"name\":\"fx\",\"market\":\"forex\",\"needs\":[\"tradermade\"]},"
        "{\"name\":\"fx-ny\",\"market\":\"forex\",\"sessions\":[\"newyork\"],\"needs\":[\"birdeye\"]},"
        "{\"name\":\"cross\",\"market\":\"both\",\"intensity\":\"aggressive\"},"
        "{\"name\":\"sys\",\"market\":\"system\"},"
        "{\"name\":\"limited\",\"market\":\"crypto\",\"intensity\":\"light\",\"min_interval_seconds\":600,"
        " \"max_runs_per_day\":2}]}";
    char err[CATALOG_FILE_ERR_MAX];
    if (seed_install_json(text, "test.json", err, sizeof err) < 0)
        fail_msg("%s", err);
    assert_int_equal(catalog_workflow_parse("limited"), W_LIMITED);
}

/* London open, every configured source healthy, load low. */
static void snap_london(struct sense_snapshot *s)
{
    memset(s, 0, sizeof *s);
    s->now = 1773738000;                 /* 2026-03-17 09:00 UTC, a Tuesday */
    s->sessions.market_open = 1;
    s->sessions.open[SESSION_LONDON] = 1;
    s->sessions.nopen = 1;
    s->session_label = "london";
    s->probes[FEED_DEXSCREENER] = (struct sense_probe){ .configured = 1, .ok = 1 };
    s->probes[FEED_TRADERMADE] = (struct sense_probe){ .configured = 1, .ok = 1 };
    s->market.crypto_valid = 1;
    s->load1 = 0.1;
    s->ncpu = 2;
    s->load_per_core = 0.05;
}

static int setup(void **state)
{
    (void)state;
    seed_decide_cfg(&cfg);
    cfg.track_timeout_seconds = 1800;
    cfg.workflow_concurrency = "";
    install();
    return 0;
}

static int noted(const struct decide_menu *m, const char *text)
{
    for (int i = 0; i < m->nnotes; i++)
        if (strstr(m->notes[i], text))
            return 1;
    return 0;
}

static void menu_by_attributes(void **state)
{
    (void)state;
    struct sense_snapshot s;
    struct decide_menu m;
    snap_london(&s);
    decide_menu_build(&cfg, &s, &m);
    const unsigned char *h = m.wf_allowed[MODE_HYBRID], *c = m.wf_allowed[MODE_CRYPTO];
    const unsigned char *f = m.wf_allowed[MODE_FOREX], *sb = m.wf_allowed[MODE_STANDBY];
    assert_true(h[W_ALPHA] && h[W_BETA] && h[W_FX] && h[W_CROSS] && h[W_SYS] && h[W_LIMITED]);
    assert_false(h[W_TOKYO]);                    /* its session is closed: no note */
    assert_false(noted(&m, "tokyo-only"));
    assert_false(h[W_OFF]);                      /* disabled */
    assert_false(h[W_FX_NY]);                    /* New York closed */
    assert_true(c[W_ALPHA] && c[W_SYS] && !c[W_FX] && !c[W_CROSS]);
    assert_true(f[W_FX] && f[W_SYS] && !f[W_ALPHA] && !f[W_CROSS]);
    assert_true(sb[W_SYS] && !sb[W_ALPHA] && !sb[W_FX]);
    /* a needed source unhealthy: off, noted; one not configured does not count */
    s.sessions.open[SESSION_NEWYORK] = 1;
    s.sessions.nopen = 2;
    s.probes[FEED_BIRDEYE] = (struct sense_probe){ .configured = 1, .ok = 0 };
    decide_menu_build(&cfg, &s, &m);
    assert_false(m.wf_allowed[MODE_HYBRID][W_FX_NY]);
    assert_true(noted(&m, "fx-ny: needs birdeye, which is unhealthy"));
    s.probes[FEED_BIRDEYE].configured = 0;
    decide_menu_build(&cfg, &s, &m);
    assert_true(m.wf_allowed[MODE_HYBRID][W_FX_NY]);
    /* aggressive not allowed under load: the aggressive cross-market one is off */
    s.load1 = 4;
    s.load_per_core = 2;
    decide_menu_build(&cfg, &s, &m);
    assert_false(m.wf_allowed[MODE_HYBRID][W_CROSS]);
    assert_true(m.wf_allowed[MODE_HYBRID][W_BETA]);
}

static void limits_and_budget(void **state)
{
    (void)state;
    struct sense_snapshot s;
    struct decide_menu m;
    struct usage u;
    struct usage_tally *t = malloc(sizeof *t);
    assert_non_null(t);
    assert_int_equal(usage_init(&u), 0);
    snap_london(&s);
    /* limited ran 5 minutes ago: its interval is 10 */
    usage_note(&u, W_LIMITED, 1, s.now - 300);
    usage_tally(&u, s.now, t);
    s.usage = t;
    decide_menu_build(&cfg, &s, &m);
    assert_false(m.wf_allowed[MODE_HYBRID][W_LIMITED]);
    assert_true(noted(&m, "limited: min_interval_seconds 600, last run 300 s ago"));
    /* 11 minutes later it may run; a second run within the day reaches its limit of 2 */
    s.now += 360;
    usage_tally(&u, s.now, t);
    decide_menu_build(&cfg, &s, &m);
    assert_true(m.wf_allowed[MODE_HYBRID][W_LIMITED]);
    usage_note(&u, W_LIMITED, 1, s.now - 1000 + 360);      /* (out of order: kept all the same) */
    s.now += 3600;
    usage_tally(&u, s.now, t);
    assert_int_equal(t->runs_24h[W_LIMITED], 2);
    decide_menu_build(&cfg, &s, &m);
    assert_false(m.wf_allowed[MODE_HYBRID][W_LIMITED]);
    assert_true(noted(&m, "limited: max_runs_per_day 2 reached"));
    /* a day later the runs have left the window */
    s.now += 86400;
    usage_tally(&u, s.now, t);
    assert_int_equal(t->runs_24h[W_LIMITED], 0);
    decide_menu_build(&cfg, &s, &m);
    assert_true(m.wf_allowed[MODE_HYBRID][W_LIMITED]);
    /* the run budget: 3 an hour, 2 spent: alpha (cost 2) is off, beta (1) on */
    cfg.run_budget_per_hour = 3;
    usage_note(&u, W_BETA, 1, s.now - 100);
    usage_note(&u, W_BETA, 1, s.now - 50);
    usage_tally(&u, s.now, t);
    assert_true(t->cost_1h > 1.99 && t->cost_1h < 2.01);
    decide_menu_build(&cfg, &s, &m);
    assert_true(m.budget_left > 0.99 && m.budget_left < 1.01);
    assert_false(m.wf_allowed[MODE_HYBRID][W_ALPHA]);
    assert_true(noted(&m, "alpha: cost 2 exceeds the 1 left of RUN_BUDGET_PER_HOUR"));
    assert_true(m.wf_allowed[MODE_HYBRID][W_BETA]);
    /* two workflows of cost 1 each pass it together: rejected */
    struct decide_choice ch = { .mode = MODE_HYBRID, .intensity = INTENSITY_NORMAL, .source = SOURCE_LLM,
                                .nwf = 2, .wf = { W_BETA, W_FX }, .next_seconds = 300 };
    char err[200];
    assert_int_equal(decide_validate(&m, &ch, err, sizeof err), -1);
    assert_non_null(strstr(err, "exceed the 1 left of the run budget"));
    ch.nwf = 1;
    assert_int_equal(decide_validate(&m, &ch, err, sizeof err), 0);
    json_object *j = decide_menu_to_json(&m);
    assert_non_null(strstr(json_object_to_json_string(j), "\"run_budget_left\""));
    json_object_put(j);
    cfg.run_budget_per_hour = 0;
    usage_free(&u);
    usage_free(&u);                               /* twice: a no-op */
    free(t);
}

static void scan_workflow_and_forced(void **state)
{
    (void)state;
    struct sense_snapshot s;
    struct decide_menu m;
    snap_london(&s);
    decide_menu_build(&cfg, &s, &m);
    const unsigned char *h = m.wf_allowed[MODE_HYBRID];
    assert_int_equal(decide_scan_wf(h, MARKET_CRYPTO, INTENSITY_NORMAL), W_ALPHA);      /* exact, first */
    assert_int_equal(decide_scan_wf(h, MARKET_CRYPTO, INTENSITY_AGGRESSIVE), W_BETA);   /* "any" */
    assert_int_equal(decide_scan_wf(h, MARKET_CRYPTO, INTENSITY_LIGHT), W_LIMITED);     /* exact beats any */
    assert_int_equal(decide_scan_wf(h, MARKET_FOREX, INTENSITY_LIGHT), W_FX);
    assert_int_equal(decide_scan_wf(h, MARKET_BOTH, INTENSITY_LIGHT), -1);
    /* a forced decision adds a scan of each market the mode covers */
    struct decide_choice ch = { .mode = MODE_HYBRID, .intensity = INTENSITY_AGGRESSIVE, .source = SOURCE_FORCED,
                                .next_seconds = 300 };
    decide_force(&m, &ch);
    assert_int_equal(ch.nwf, 2);
    assert_int_equal(ch.wf[0], W_BETA);
    assert_int_equal(ch.wf[1], W_FX);
    char err[200];
    assert_int_equal(decide_validate(&m, &ch, err, sizeof err), 0);
    /* standby starts no scan, only system workflows */
    struct decide_choice sb = { .mode = MODE_STANDBY, .intensity = INTENSITY_LIGHT, .nwf = 1, .wf = { W_SYS },
                                .next_seconds = 300 };
    assert_int_equal(decide_validate(&m, &sb, err, sizeof err), 0);
    sb.wf[0] = W_BETA;
    assert_int_equal(decide_validate(&m, &sb, err, sizeof err), -1);
    /* the fallback's choice always fits its menu, and starts workflows of the catalog only */
    for (int k = 0; k < 200; k++) {
        struct decide_choice fb;
        s.now += 97;
        decide_fallback(&cfg, &s, &m, &fb);
        assert_int_equal(decide_validate(&m, &fb, err, sizeof err), 0);
        for (int i = 0; i < fb.nwf; i++)
            assert_true(catalog_offered(fb.wf[i]));
    }
}

/* A source unhealthy: the system workflow is added; both markets scanned at
 * high activity: the cross-market one. */
static void additions(void **state)
{
    (void)state;
    struct sense_snapshot s;
    struct decide_menu m;
    struct decide_choice ch;
    struct learn *l = malloc(sizeof *l);
    assert_non_null(l);
    learn_init(l, &cfg);
    snap_london(&s);
    s.probes[FEED_PUMPFUN] = (struct sense_probe){ .configured = 1, .ok = 0 };
    s.learn = l;
    decide_menu_build(&cfg, &s, &m);
    decide_fallback(&cfg, &s, &m, &ch);
    int sys = 0, cross = 0;
    for (int i = 0; i < ch.nwf; i++) {
        sys += ch.wf[i] == W_SYS;
        cross += ch.wf[i] == W_CROSS;
    }
    assert_int_equal(sys, 1);                     /* never checked yet: due */
    assert_int_equal(cross, 0);                   /* activity not high */
    free(l);
}

static void learned_per_workflow(void **state)
{
    (void)state;
    struct learn *l = malloc(sizeof *l), *back = malloc(sizeof *back);
    assert_non_null(l);
    assert_non_null(back);
    learn_init(l, &cfg);
    learn_init(back, &cfg);
    struct learn_wf_post p;
    learn_wf_posterior(l, W_ALPHA, 1000, &p);
    assert_true(p.success > 0.49 && p.success < 0.51);     /* the priors */
    assert_true(p.opportunities > 0.99 && p.opportunities < 1.01);
    for (int i = 0; i < 8; i++)
        learn_wf_observe(l, W_ALPHA, 1, 4, 1000 + i);
    learn_wf_observe(l, W_ALPHA, 0, -1, 1010);
    learn_wf_observe(l, W_BETA, -1, 0, 1010);
    learn_wf_observe(l, W_BETA, -1, -1, 1010);             /* nothing known: nothing counted */
    learn_wf_posterior(l, W_ALPHA, 1010, &p);
    assert_true(p.runs > 8.9 && p.runs < 9.1);
    assert_true(p.success > 0.79 && p.success < 0.83);     /* (1 + 8) / (2 + 9) */
    assert_true(p.opportunities > 3.6 && p.opportunities < 3.7);   /* (1 + 32) / (1 + 8) */
    /* evidence decays towards the priors with the half-life */
    learn_wf_posterior(l, W_ALPHA, 1010 + 168 * 3600, &p);
    assert_true(p.runs > 4.4 && p.runs < 4.6);
    /* saved by name, restored by name */
    json_object *j = learn_to_json(l);
    assert_int_equal(learn_from_json(back, j), 0);
    json_object_put(j);
    struct learn_wf_post q;
    learn_wf_posterior(back, W_ALPHA, 1010, &q);
    assert_true(q.success > 0.79 && q.success < 0.83 && q.runs > 8.9);
    json_object *sum = learn_summary_json(l, 1010, 1), *wfs, *a;
    assert_true(json_object_object_get_ex(sum, "workflows", &wfs));
    assert_true(json_object_object_get_ex(wfs, "alpha", &a));
    assert_int_equal(json_object_object_length(wfs), W_N);
    json_object_put(sum);
    free(l);
    free(back);
}

static void deliver_per_workflow(void **state)
{
    (void)state;
    static const char text[] =
        "{\"workflows\":[{\"name\":\"quick\",\"market\":\"crypto\",\"timeout_seconds\":30,\"expects_result\":true,"
        "\"concurrency\":\"replace\"},{\"name\":\"quiet\",\"market\":\"forex\"}]}";
    struct catalog_file *f = malloc(sizeof *f);
    char err[CATALOG_FILE_ERR_MAX];
    assert_int_equal(catalog_file_parse(text, strlen(text), "t.json", f, err, sizeof err), 0);
    assert_int_equal(catalog_install(&f->cat, err, sizeof err), 0);
    free(f);
    int quick = catalog_workflow_parse("quick"), quiet = catalog_workflow_parse("quiet");
    struct deliver *d = malloc(sizeof *d);
    struct cfg c = cfg;
    c.results_token = "r";
    c.n8n_api_key = "";
    c.n8n_api_url = "";
    c.n8n_base_url = "";
    c.webhook_retry_base_ms = 100;
    c.webhook_retry_max_ms = 1000;
    c.n8n_owner_email = c.n8n_owner_password = "";
    assert_int_equal(deliver_init(d, &c, NULL, NULL, err, sizeof err), 0);
    assert_int_equal(deliver_timeout(d, quick), 30);
    assert_int_equal(deliver_timeout(d, quiet), 1800);
    assert_int_equal(d->policy[quick], DELIVER_REPLACE);
    assert_int_equal(d->policy[quiet], DELIVER_ALLOW);
    /* results expected only of the workflow that posts them */
    assert_true(deliver_end_followed(d, quick, NULL));
    assert_false(deliver_end_followed(d, quiet, NULL));
    /* a workflow the reload removed: its name in WORKFLOW_CONCURRENCY is ignored then */
    c.workflow_concurrency = "alpha=forbid";
    assert_int_equal(deliver_catalog(d, 0, err, sizeof err), 0);
    assert_int_equal(deliver_catalog(d, 1, err, sizeof err), -1);
    assert_non_null(strstr(err, "\"alpha\" is not a workflow of the catalog"));
    deliver_free(d);
    free(d);
    install();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(menu_by_attributes),
        cmocka_unit_test(limits_and_budget),
        cmocka_unit_test(scan_workflow_and_forced),
        cmocka_unit_test(additions),
        cmocka_unit_test(learned_per_workflow),
        cmocka_unit_test(deliver_per_workflow),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
