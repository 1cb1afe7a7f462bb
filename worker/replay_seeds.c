/* replay_seeds: several seeds summed up; see replay_seeds.h. */
#include "config.h"
#include "replay_seeds.h"
#include "learn.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A seed at *p (digits), advancing *p.  Returns 0 or -1. */
static int replay_seeds_one(const char **p, long *out)
{
    if (**p < '0' || **p > '9')
        return -1;
    char *end;
    errno = 0;
    long long v = strtoll(*p, &end, 10);
    if (errno || v < 0 || v > 2147483647LL)
        return -1;
    *p = end;
    *out = (long)v;
    return 0;
}

int replay_seeds_parse(const char *arg, long *seeds, int max, int *n)
{
    *n = 0;
    const char *p = arg;
    for (;;) {
        long a, b;
        if (replay_seeds_one(&p, &a) < 0)
            return -1;
        b = a;
        if (*p == '-') {
            p++;
            if (replay_seeds_one(&p, &b) < 0 || b < a)
                return -1;
        }
        for (long s = a; s <= b; s++) {
            if (*n == max)
                return -1;
            seeds[(*n)++] = s;
        }
        if (*p == '\0')
            return 0;
        if (*p != ',')
            return -1;
        p++;
    }
}

int replay_seeds_add(struct replay_seeds *ss, long seed, const struct replay_score *sc, long long decisions,
                     double replay_s)
{
    if (ss->n >= REPLAY_MAX_SEEDS)
        return -1;
    ss->seed[ss->n] = seed;
    ss->decisions[ss->n] = decisions;
    ss->replay_s[ss->n] = replay_s;
    memcpy(ss->mk[ss->n], sc->mk, sizeof ss->mk[ss->n]);
    ss->n++;
    return 0;
}

/* Fold v into f; higher_is_worse says which end is the worst.  v < 0 is
 * "not known" when skip_negative (latency, quiet share). */
static void replay_seeds_fold(struct replay_seeds_figure *f, double v, int higher_is_worse, int skip_negative)
{
    if (skip_negative && v < 0)
        return;
    if (f->n == 0 || (higher_is_worse ? v > f->worst : v < f->worst))
        f->worst = v;
    f->mean = (f->mean * f->n + v) / (f->n + 1);
    f->n++;
}

void replay_seeds_sum(const struct replay_seeds *ss, int m, struct replay_seeds_market *out)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; i < ss->n; i++) {
        const struct replay_market_score *x = &ss->mk[i][m];
        if (!x->n)
            continue;
        out->seeds++;
        replay_seeds_fold(&out->coverage, x->cov, 0, 0);
        replay_seeds_fold(&out->runs_share, x->vs_mh5_runs, 1, 0);
        if (x->phases.n) {
            replay_seeds_fold(&out->eq_phase_coverage, x->phases.cov_mean, 1, 0);
            replay_seeds_fold(&out->advantage, x->advantage, 0, 0);
        }
        replay_seeds_fold(&out->latency, x->latency_median_min, 1, 1);
        replay_seeds_fold(&out->within5, x->within5_share, 0, 0);
        replay_seeds_fold(&out->quiet, x->quiet_share, 1, 1);
        out->floor_share = x->floor_share;
        out->target_met += x->met;
    }
}

void replay_seeds_print_seed(FILE *out, long seed, const struct replay_score *sc)
{
    for (int m = 0; m < LEARN_MARKET_COUNT; m++) {
        const struct replay_market_score *x = &sc->mk[m];
        if (!x->n)
            continue;
        fprintf(out, "seed %ld: %s coverage %.1f%%, runs %.1f%% of market-hours cron-5, phase-averaged equal-runs cron "
                     "%.1f%% (advantage %+.1f points), latency median ", seed, learn_market_name(m), 100 * x->cov,
                100 * x->vs_mh5_runs, 100 * x->phases.cov_mean, 100 * x->advantage);
        if (x->latency_median_min >= 0)
            fprintf(out, "%.1f min", x->latency_median_min);
        else
            fprintf(out, "-");
        fprintf(out, ", within 5 min %.1f%%, quiet half %.1f%%\n", 100 * x->within5_share,
                100 * (x->quiet_share >= 0 ? x->quiet_share : 0));
    }
}

/* "12.3% / 10.1%" (scale 100, unit "%"), "+3.1 / -0.4" (sign), or "- / -". */
static const char *replay_seeds_cell(const struct replay_seeds_figure *f, double scale, int sign, const char *unit,
                                     char *buf, size_t cap)
{
    if (!f->n)
        snprintf(buf, cap, "-");
    else if (sign)
        snprintf(buf, cap, "%+.1f / %+.1f%s", scale * f->mean, scale * f->worst, unit);
    else
        snprintf(buf, cap, "%.1f / %.1f%s", scale * f->mean, scale * f->worst, unit);
    return buf;
}

void replay_seeds_print(FILE *out, const struct replay_seeds *ss)
{
    long long decisions = 0;
    double secs = 0;
    for (int i = 0; i < ss->n; i++) {
        decisions += ss->decisions[i];
        secs += ss->replay_s[i];
    }
    fprintf(out, "%d seeds (%ld .. %ld): per market the mean / the worst seed\n", ss->n, ss->n ? ss->seed[0] : 0,
            ss->n ? ss->seed[ss->n - 1] : 0);
    fprintf(out, "%-6s %-13s %-16s %-15s %-16s %-11s %-14s %-13s %-7s %s\n", "market", "coverage %", "runs/mh-cron-5 %",
            "eq-cron phase %", "advantage pts", "latency min", "within 5 min %", "quiet half %", "floor %", "target met");
    for (int m = 0; m < LEARN_MARKET_COUNT; m++) {
        struct replay_seeds_market s;
        replay_seeds_sum(ss, m, &s);
        if (!s.seeds)
            continue;
        char c[6][48], q[48];
        fprintf(out, "%-6s %-13s %-16s %-15s %-16s %-11s %-14s %-13s %-7.1f %d of %d\n", learn_market_name(m),
                replay_seeds_cell(&s.coverage, 100, 0, "", c[0], sizeof c[0]),
                replay_seeds_cell(&s.runs_share, 100, 0, "", c[1], sizeof c[1]),
                replay_seeds_cell(&s.eq_phase_coverage, 100, 0, "", c[2], sizeof c[2]),
                replay_seeds_cell(&s.advantage, 100, 1, "", c[3], sizeof c[3]),
                replay_seeds_cell(&s.latency, 1, 0, "", c[4], sizeof c[4]),
                replay_seeds_cell(&s.within5, 100, 0, "", c[5], sizeof c[5]),
                replay_seeds_cell(&s.quiet, 100, 0, "", q, sizeof q), 100 * s.floor_share, s.target_met, s.seeds);
    }
    fprintf(out, "seeds: %lld decisions in %.2f s of replay, %.0f per second\n", decisions, secs,
            secs > 0 ? (double)decisions / secs : 0);
}

/* v with 4 decimals, written as such (not as the nearest double's 17 digits). */
static json_object *replay_seeds_num(double v)
{
    char buf[48];
    snprintf(buf, sizeof buf, "%.4f", v);
    return json_object_new_double_s(round(v * 1e4) / 1e4, buf);
}

static json_object *replay_seeds_figure_json(const struct replay_seeds_figure *f)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "mean", f->n ? replay_seeds_num(f->mean) : NULL);
    json_object_object_add(o, "worst", f->n ? replay_seeds_num(f->worst) : NULL);
    json_object_object_add(o, "n", json_object_new_int(f->n));
    return o;
}

json_object *replay_seeds_json(const struct replay_seeds *ss)
{
    json_object *root = json_object_new_object(), *seeds = json_object_new_array();
    long long decisions = 0;
    double secs = 0;
    for (int i = 0; i < ss->n; i++) {
        json_object_array_add(seeds, json_object_new_int64(ss->seed[i]));
        decisions += ss->decisions[i];
        secs += ss->replay_s[i];
    }
    json_object_object_add(root, "seeds", seeds);
    json_object_object_add(root, "decisions", json_object_new_int64(decisions));
    json_object_object_add(root, "replay_s", json_object_new_double(round(secs * 1e3) / 1e3));
    json_object_object_add(root, "decisions_per_second", json_object_new_double(secs > 0 ? round(decisions / secs) : 0));
    json_object *ms = json_object_new_object();
    for (int m = 0; m < LEARN_MARKET_COUNT; m++) {
        struct replay_seeds_market s;
        replay_seeds_sum(ss, m, &s);
        if (!s.seeds)
            continue;
        json_object *o = json_object_new_object();
        json_object_object_add(o, "seeds", json_object_new_int(s.seeds));
        json_object_object_add(o, "coverage", replay_seeds_figure_json(&s.coverage));
        json_object_object_add(o, "runs_vs_market_hours_cron5", replay_seeds_figure_json(&s.runs_share));
        json_object_object_add(o, "phase_averaged_equal_runs_cron_coverage", replay_seeds_figure_json(&s.eq_phase_coverage));
        json_object_object_add(o, "advantage", replay_seeds_figure_json(&s.advantage));
        json_object_object_add(o, "latency_median_minutes", replay_seeds_figure_json(&s.latency));
        json_object_object_add(o, "covered_within_5min_share", replay_seeds_figure_json(&s.within5));
        json_object_object_add(o, "quiet_half_share", replay_seeds_figure_json(&s.quiet));
        json_object_object_add(o, "floor_vs_market_hours_cron5", replay_seeds_num(s.floor_share));
        json_object_object_add(o, "target_met_seeds", json_object_new_int(s.target_met));
        json_object_object_add(ms, learn_market_name(m), o);
    }
    json_object_object_add(root, "markets", ms);
    return root;
}
