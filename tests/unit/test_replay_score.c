/* Unit tests for worker/replay_score.c and replay_report.c on hand-made
 * series and hand-placed scans, where every figure is known: reaction
 * latency of exactly 3 minutes, a quiet-half share of exactly 0.5, the
 * equal-runs cron over its phases (against a brute-force count; its
 * phase-min and phase-max differ), the floor over two instruments, and
 * the JSON, table and CSV that carry them. */
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
#include <unistd.h>

#include "catalog.h"
#include "learn.h"
#include "log.h"
#include "replay_score.h"
#include "replay_seeds.h"

#define NWIN 40                       /* ten hours of 15-minute windows */
#define T0 1736121600                 /* 2025-01-06T00:00:00Z, a Monday */

/* A crypto series of NWIN windows of 1-minute bars: every bar of window w
 * moves by 50 bp when w is in loud[0 .. nloud), else by (1 + w / 100) bp,
 * so the quiet windows are ordered by their index. */
static void series(struct replay_series *s, const char *name, const int *loud, int nloud)
{
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", name);
    s->market = LEARN_CRYPTO;
    s->n = NWIN * 15;
    s->t = malloc(s->n * sizeof *s->t);
    s->o = malloc(s->n * sizeof(double));
    s->h = malloc(s->n * sizeof(double));
    s->l = malloc(s->n * sizeof(double));
    s->c = malloc(s->n * sizeof(double));
    assert_true(s->t && s->o && s->h && s->l && s->c);
    double p = 100;
    for (size_t i = 0; i < s->n; i++) {
        int w = (int)(i / 15), is_loud = 0;
        for (int k = 0; k < nloud; k++)
            is_loud |= loud[k] == w;
        double step = (is_loud ? 50e-4 : (1 + w / 100.0) * 1e-4) * (i % 2 ? -1 : 1);
        s->t[i] = T0 + (time_t)i * 60;
        s->o[i] = p;
        p *= exp(step);
        s->c[i] = p;
        s->h[i] = s->o[i] > p ? s->o[i] : p;
        s->l[i] = s->o[i] < p ? s->o[i] : p;
    }
}

/* A replay over s[0 .. ns) from T0 for NWIN windows with the scans at
 * (seconds from T0) of market crypto. */
static void replay_with(struct replay *r, struct replay_series *s, int ns, const long *at, size_t nat)
{
    memset(r, 0, sizeof *r);
    r->s = s;
    r->ns = ns;
    r->from = T0;
    r->to = T0 + NWIN * 900;
    r->window_s = 900;
    r->have[LEARN_CRYPTO] = 1;
    r->scans = calloc(nat ? nat : 1, sizeof *r->scans);
    assert_non_null(r->scans);
    for (size_t i = 0; i < nat; i++)
        r->scans[r->nscans++] = (struct replay_scan){ T0 + at[i], LEARN_CRYPTO, INTENSITY_NORMAL, 0, 0, 0 };   /* a crypto scan, no cross-market run */
    r->decisions = (long long)nat;
}

static const int loud_a[] = { 3, 10, 21, 33 };

/* Scans: three top windows covered exactly 3 minutes after their start,
 * the fourth (33) not at all; one run in a loud-half window that is not a
 * top one (39), four in the quietest windows (0, 1, 2, 4). */
static const long scans_a[] = {
    0 * 900 + 60, 1 * 900 + 60, 2 * 900 + 60, 3 * 900 + 180, 4 * 900 + 60, 10 * 900 + 180, 21 * 900 + 180, 39 * 900 + 60,
};

/* Brute force: the coverage of a cron every period seconds at phase phi
 * over windows top[0 .. n) (window indices from T0). */
static double cron_cover(long period, long phi, const int *top, int n)
{
    int covered = 0;
    for (int k = 0; k < n; k++) {
        long ws = T0 + top[k] * 900L;
        for (long t = ws; t < ws + 900; t++)
            if (((t - phi) % period + period) % period == 0) {
                covered++;
                break;
            }
    }
    return (double)covered / n;
}

static void test_one_instrument(void **state)
{
    (void)state;
    struct replay_series s;
    series(&s, "AAAUSDT", loud_a, 4);
    struct replay r;
    replay_with(&r, &s, 1, scans_a, sizeof scans_a / sizeof scans_a[0]);
    struct replay_score sc;
    assert_int_equal(replay_score(&r, &sc), 0);
    const struct replay_instrument_score *is = &sc.in[0];
    assert_int_equal(is->windows, NWIN);
    assert_int_equal(is->top, 4);
    const struct replay_policy_score *o = replay_policy(is, "orchestrator");
    assert_int_equal(o->runs, 8);
    assert_int_equal(o->covered, 3);
    /* reaction: 3 minutes in each covered window; 3 of 4 within 5 minutes */
    assert_true(is->latency_median_min == 3.0);
    assert_int_equal(is->within5, 3);
    assert_true(is->within5_share == 0.75);
    /* quiet half: 40 windows, the 20 quietest are quiet; 4 of the 8 runs */
    assert_int_equal(is->quiet_counted, 8);
    assert_int_equal(is->quiet_runs, 4);
    assert_true(is->quiet_share == 0.5);
    /* the equal-runs cron over every whole-minute phase of its period */
    const struct replay_policy_score *eq = replay_policy(is, "equal-runs-cron");
    const struct replay_phases *ph = &is->phases;
    assert_int_equal(ph->period_s, eq->period_s);
    assert_int_equal(ph->step_s, 60);
    assert_int_equal(ph->n, (eq->period_s + 59) / 60);
    double sum = 0, lo = 2, hi = -1;
    for (long phi = 0; phi < eq->period_s; phi += 60) {
        double c = cron_cover(eq->period_s, phi, loud_a, 4);
        sum += c;
        lo = c < lo ? c : lo;
        hi = c > hi ? c : hi;
    }
    assert_true(fabs(ph->cov_mean - sum / ph->n) < 1e-12);
    assert_true(ph->cov_min == lo && ph->cov_max == hi);
    assert_true(ph->cov_min < ph->cov_max);               /* the phase matters */
    assert_true(fabs(eq->coverage - cron_cover(eq->period_s, 0, loud_a, 4)) < 1e-12);
    assert_true(ph->runs_mean >= 7 && ph->runs_mean <= 9);
    /* the market: the same figures, and the advantage over the phase mean */
    const struct replay_market_score *x = &sc.mk[LEARN_CRYPTO];
    assert_int_equal(x->n, 1);
    assert_true(x->cov == 0.75);
    assert_true(fabs(x->phases.cov_mean - ph->cov_mean) < 1e-12);
    assert_true(fabs(x->advantage - (0.75 - ph->cov_mean)) < 1e-12);
    assert_true(x->latency_median_min == 3.0);
    assert_true(x->within5_share == 0.75);
    assert_true(x->quiet_share == 0.5);
    assert_int_equal(x->mh5_runs, NWIN * 3);
    assert_int_equal(x->floor_runs, 4);                   /* one run per top window */
    assert_true(fabs(x->floor_share - 4.0 / (NWIN * 3)) < 1e-12);
    assert_int_equal(sc.mk[LEARN_FOREX].n, 0);
    free(r.scans);
    replay_series_free(&s);
}

/* Two instruments: the floor counts the distinct top windows of both; the
 * market's latency is the median over both instruments' covered windows. */
static void test_two_instruments(void **state)
{
    (void)state;
    static const int loud_b[] = { 3, 11, 22, 34 };
    struct replay_series s[2];
    series(&s[0], "AAAUSDT", loud_a, 4);
    series(&s[1], "BBBUSDT", loud_b, 4);
    /* A: windows 3, 10, 21 at 3 min; B: window 3 at 3 min, 11 at 1 min, 34 at 7 min */
    static const long at[] = { 3 * 900 + 180, 10 * 900 + 180, 11 * 900 + 60, 21 * 900 + 180, 34 * 900 + 420 };
    struct replay r;
    replay_with(&r, s, 2, at, sizeof at / sizeof at[0]);
    struct replay_score sc;
    assert_int_equal(replay_score(&r, &sc), 0);
    assert_int_equal(sc.ni, 2);
    const struct replay_instrument_score *b = &sc.in[1];
    assert_int_equal(replay_policy(b, "orchestrator")->covered, 3);
    assert_true(b->latency_median_min == 3.0);            /* 1, 3, 7 */
    assert_int_equal(b->within5, 2);
    const struct replay_market_score *x = &sc.mk[LEARN_CRYPTO];
    assert_int_equal(x->n, 2);
    assert_int_equal(x->top, 8);
    assert_int_equal(x->covered, 6);
    assert_true(x->latency_median_min == 3.0);            /* 1, 3, 3, 3, 3, 7 */
    assert_int_equal(x->within5, 5);
    assert_int_equal(x->floor_runs, 7);                   /* 3, 10, 11, 21, 22, 33, 34 */
    assert_true(fabs(x->floor_share - 7.0 / (NWIN * 3)) < 1e-12);
    /* quiet half per instrument, the market's is their mean */
    assert_true(fabs(x->quiet_share - (sc.in[0].quiet_share + b->quiet_share) / 2) < 1e-12);
    free(r.scans);
    /* an even number of covered windows: the mean of the middle two */
    static const long at2[] = { 3 * 900 + 60, 10 * 900 + 240 };
    replay_with(&r, s, 1, at2, 2);
    assert_int_equal(replay_score(&r, &sc), 0);
    assert_true(sc.in[0].latency_median_min == 2.5);
    free(r.scans);
    /* no scan at all: no latency, no quiet share, no equal-runs cron */
    replay_with(&r, s, 1, NULL, 0);
    assert_int_equal(replay_score(&r, &sc), 0);
    assert_true(sc.in[0].latency_median_min == -1);
    assert_true(sc.in[0].quiet_share == -1);
    assert_int_equal(sc.in[0].phases.n, 0);
    json_object *j = replay_score_json(&r, &sc);
    json_object *mk = json_object_object_get(json_object_object_get(j, "markets"), "crypto");
    assert_non_null(mk);
    assert_null(json_object_object_get(mk, "latency_median_minutes"));
    assert_true(json_object_object_get_ex(mk, "latency_median_minutes", NULL));
    json_object_put(j);
    free(r.scans);
    replay_series_free(&s[0]);
    replay_series_free(&s[1]);
}

static double num(json_object *o, const char *key)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !v)
        fail_msg("no %s", key);
    return json_object_get_double(v);
}

/* The outputs carry the figures. */
static void test_outputs(void **state)
{
    (void)state;
    struct replay_series s;
    series(&s, "AAAUSDT", loud_a, 4);
    struct replay r;
    replay_with(&r, &s, 1, scans_a, sizeof scans_a / sizeof scans_a[0]);
    struct replay_score sc;
    assert_int_equal(replay_score(&r, &sc), 0);
    json_object *j = replay_score_json(&r, &sc);
    json_object *mk = json_object_object_get(json_object_object_get(j, "markets"), "crypto");
    assert_true(num(mk, "latency_median_minutes") == 3.0);
    assert_true(num(mk, "quiet_half_share") == 0.5);
    assert_true(num(mk, "covered_within_5min_share") == 0.75);
    assert_true(num(mk, "floor_runs") == 4);
    json_object *ph = json_object_object_get(mk, "equal_runs_cron_phases");
    assert_true(num(ph, "coverage_min") < num(ph, "coverage_max"));
    assert_true(fabs(num(mk, "advantage_vs_phase_averaged_equal_runs_cron") - (0.75 - num(ph, "coverage_mean"))) < 2e-4);
    json_object *in = json_object_array_get_idx(json_object_object_get(j, "instruments"), 0);
    assert_true(num(in, "latency_median_minutes") == 3.0);
    assert_true(num(in, "quiet_half_share") == 0.5);
    assert_int_equal(json_object_array_length(json_object_object_get(in, "policies")), 10);
    json_object_put(j);

    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    replay_score_print(f, &r, &sc);
    fclose(f);
    assert_non_null(strstr(buf, "crypto: reaction: median 3.0 min from a top window's start"));
    assert_non_null(strstr(buf, "75.0% of the top windows covered within 5 min"));
    assert_non_null(strstr(buf, "crypto: runs in the quieter half of windows: 50.0%"));
    assert_non_null(strstr(buf, "crypto: floor (one run per top window): 4 runs = 3.3% of market-hours cron-5's"));
    assert_non_null(strstr(buf, "crypto: phase-averaged equal-runs cron ("));
    free(buf);
    f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(replay_score_csv(f, &sc), 0);
    fclose(f);
    assert_non_null(strstr(buf, ",latency_median_minutes,covered_within_5min_share,quiet_half_share\n"));
    assert_non_null(strstr(buf, "AAAUSDT,crypto,40,4,orchestrator,0,8,3,0.7500,"));
    assert_non_null(strstr(buf, ",3.00,0.7500,0.5000\n"));
    free(buf);
    free(r.scans);
    replay_series_free(&s);
}

static void test_seeds(void **state)
{
    (void)state;
    long seeds[REPLAY_MAX_SEEDS];
    int n;
    assert_int_equal(replay_seeds_parse("1-10", seeds, REPLAY_MAX_SEEDS, &n), 0);
    assert_int_equal(n, 10);
    assert_int_equal(seeds[0], 1);
    assert_int_equal(seeds[9], 10);
    assert_int_equal(replay_seeds_parse("7", seeds, REPLAY_MAX_SEEDS, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(seeds[0], 7);
    assert_int_equal(replay_seeds_parse("1-3,8,0", seeds, REPLAY_MAX_SEEDS, &n), 0);
    assert_int_equal(n, 5);
    assert_int_equal(seeds[3], 8);
    assert_int_equal(seeds[4], 0);
    static const char *const bad[] = { "", "x", "3-1", "1-", "-1", "1,,2", "1-101", "2147483648", "1 2", "1-3,", "+1" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (replay_seeds_parse(bad[i], seeds, REPLAY_MAX_SEEDS, &n) == 0)
            fail_msg("\"%s\" parsed as seeds", bad[i]);

    /* three seeds' market figures: mean and worst of each */
    struct replay_seeds *ss = calloc(1, sizeof *ss);
    assert_non_null(ss);
    struct replay_score sc;
    memset(&sc, 0, sizeof sc);
    struct replay_market_score *x = &sc.mk[LEARN_CRYPTO];
    x->n = 1;
    x->phases.n = 17;
    static const double cov[] = { 0.9, 0.96, 0.93 }, runs[] = { 0.1, 0.14, 0.12 }, eq[] = { 0.8, 0.7, 0.75 };
    static const double lat[] = { 3, -1, 5 }, quiet[] = { 0.5, 0.3, 0.4 };
    for (int i = 0; i < 3; i++) {
        x->cov = cov[i];
        x->vs_mh5_runs = runs[i];
        x->phases.cov_mean = eq[i];
        x->advantage = cov[i] - eq[i];
        x->latency_median_min = lat[i];
        x->within5_share = cov[i] - 0.1;
        x->quiet_share = quiet[i];
        x->floor_share = 0.033;
        x->met = i != 0;
        assert_int_equal(replay_seeds_add(ss, 11 + i, &sc, 1000, 0.5), 0);
    }
    struct replay_seeds_market m;
    replay_seeds_sum(ss, LEARN_CRYPTO, &m);
    assert_int_equal(m.seeds, 3);
    assert_true(fabs(m.coverage.mean - 0.93) < 1e-12 && m.coverage.worst == 0.9);
    assert_true(fabs(m.runs_share.mean - 0.12) < 1e-12 && m.runs_share.worst == 0.14);
    assert_true(fabs(m.eq_phase_coverage.mean - 0.75) < 1e-12 && m.eq_phase_coverage.worst == 0.8);
    assert_true(fabs(m.advantage.mean - 0.18) < 1e-12 && fabs(m.advantage.worst - 0.1) < 1e-12);
    assert_int_equal(m.latency.n, 2);                     /* the seed without a latency is left out */
    assert_true(m.latency.mean == 4 && m.latency.worst == 5);
    assert_true(fabs(m.quiet.mean - 0.4) < 1e-12 && m.quiet.worst == 0.5);
    assert_true(m.floor_share == 0.033);
    assert_int_equal(m.target_met, 2);
    replay_seeds_sum(ss, LEARN_FOREX, &m);
    assert_int_equal(m.seeds, 0);
    json_object *j = replay_seeds_json(ss);
    json_object *c = json_object_object_get(json_object_object_get(json_object_object_get(j, "markets"), "crypto"), "coverage");
    assert_true(num(c, "mean") == 0.93 && num(c, "worst") == 0.9);
    assert_true(num(j, "decisions_per_second") == 2000);
    assert_null(json_object_object_get(json_object_object_get(j, "markets"), "forex"));
    json_object_put(j);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    replay_seeds_print(f, ss);
    fclose(f);
    assert_non_null(strstr(buf, "3 seeds (11 .. 13)"));
    assert_non_null(strstr(buf, "crypto 93.0 / 90.0 "));
    assert_non_null(strstr(buf, "+18.0 / +10.0"));
    assert_non_null(strstr(buf, "2 of 3"));
    assert_non_null(strstr(buf, "3000 decisions in 1.50 s of replay, 2000 per second"));
    free(buf);
    free(ss);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_instrument),
        cmocka_unit_test(test_two_instruments),
        cmocka_unit_test(test_outputs),
        cmocka_unit_test(test_seeds),
    };
    log_init("test", LOG_ERROR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
