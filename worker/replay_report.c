/* replay_report: the scorecard as JSON, as a table and as CSV; see replay_score.h. */
#include "config.h"
#include "replay_score.h"
#include "learn.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static json_object *replay_round(double d, double unit)
{
    return json_object_new_double(round(d / unit) * unit);
}

/* d rounded, or null when d < 0 (not known). */
static json_object *replay_round_or_null(double d, double unit)
{
    return d < 0 ? NULL : replay_round(d, unit);
}

static json_object *replay_phases_json(const struct replay_phases *ph)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "period_s", json_object_new_int64(ph->period_s));
    json_object_object_add(o, "phases", json_object_new_int(ph->n));
    json_object_object_add(o, "step_s", json_object_new_int64(ph->step_s));
    json_object_object_add(o, "coverage_mean", replay_round(ph->cov_mean, 1e-4));
    json_object_object_add(o, "coverage_min", replay_round(ph->cov_min, 1e-4));
    json_object_object_add(o, "coverage_max", replay_round(ph->cov_max, 1e-4));
    json_object_object_add(o, "runs_mean", replay_round(ph->runs_mean, 1e-1));
    return o;
}

static json_object *replay_instrument_json(const struct replay_instrument_score *is)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "instrument", json_object_new_string(is->name));
    json_object_object_add(o, "market", json_object_new_string(learn_market_name(is->market)));
    json_object_object_add(o, "windows", json_object_new_int64(is->windows));
    json_object_object_add(o, "top_windows", json_object_new_int64(is->top));
    json_object *ps = json_object_new_array();
    for (int i = 0; i < is->npol; i++) {
        const struct replay_policy_score *p = &is->pol[i];
        json_object *j = json_object_new_object();
        json_object_object_add(j, "policy", json_object_new_string(p->name));
        json_object_object_add(j, "period_s", json_object_new_int64(p->period_s));
        json_object_object_add(j, "runs", json_object_new_int64(p->runs));
        json_object_object_add(j, "covered", json_object_new_int64(p->covered));
        json_object_object_add(j, "coverage", replay_round(p->coverage, 1e-4));
        json_object_object_add(j, "runs_per_covered", replay_round(p->runs_per_covered, 1e-3));
        json_object_object_add(j, "llm_calls", json_object_new_int64(p->llm_calls));
        json_object_object_add(j, "llm_tokens", json_object_new_int64(p->llm_tokens));
        json_object_array_add(ps, j);
    }
    json_object_object_add(o, "policies", ps);
    json_object_object_add(o, "equal_runs_cron_phases", replay_phases_json(&is->phases));
    json_object_object_add(o, "latency_median_minutes", replay_round_or_null(is->latency_median_min, 1e-2));
    json_object_object_add(o, "covered_within_5min", json_object_new_int64(is->within5));
    json_object_object_add(o, "covered_within_5min_share", replay_round(is->within5_share, 1e-4));
    json_object_object_add(o, "quiet_half_runs", json_object_new_int64(is->quiet_runs));
    json_object_object_add(o, "quiet_half_counted", json_object_new_int64(is->quiet_counted));
    json_object_object_add(o, "quiet_half_share", replay_round_or_null(is->quiet_share, 1e-4));
    return o;
}

static json_object *replay_market_json(const struct replay_market_score *x)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "coverage", replay_round(x->cov, 1e-4));
    json_object_object_add(o, "runs", json_object_new_int64(x->runs));
    json_object_object_add(o, "cron5_coverage", replay_round(x->cron5_cov, 1e-4));
    json_object_object_add(o, "cron5_runs", json_object_new_int64(x->cron5_runs));
    json_object_object_add(o, "coverage_vs_cron5", replay_round(x->vs_cron5_cov, 1e-4));
    json_object_object_add(o, "runs_vs_cron5", replay_round(x->vs_cron5_runs, 1e-4));
    json_object_object_add(o, "market_hours_cron5_coverage", replay_round(x->mh5_cov, 1e-4));
    json_object_object_add(o, "market_hours_cron5_runs", json_object_new_int64(x->mh5_runs));
    json_object_object_add(o, "coverage_vs_market_hours_cron5", replay_round(x->vs_mh5_cov, 1e-4));
    json_object_object_add(o, "runs_vs_market_hours_cron5", replay_round(x->vs_mh5_runs, 1e-4));
    json_object_object_add(o, "target_basis", json_object_new_string("market-hours-cron-5"));
    json_object_object_add(o, "target_met", json_object_new_boolean(x->met));
    json_object_object_add(o, "target_met_vs_cron5", json_object_new_boolean(x->met_cron5));
    json_object_object_add(o, "equal_runs_cron_period_s", json_object_new_int64(x->eq_period));
    json_object_object_add(o, "equal_runs_cron_runs", json_object_new_int64(x->eq_runs));
    json_object_object_add(o, "equal_runs_cron_coverage", replay_round(x->eq_cov, 1e-4));
    json_object_object_add(o, "coverage_minus_equal_runs_cron", replay_round(x->cov - x->eq_cov, 1e-4));
    json_object_object_add(o, "equal_runs_cron_phases", replay_phases_json(&x->phases));
    json_object_object_add(o, "advantage_vs_phase_averaged_equal_runs_cron", replay_round(x->advantage, 1e-4));
    json_object_object_add(o, "latency_median_minutes", replay_round_or_null(x->latency_median_min, 1e-2));
    json_object_object_add(o, "covered_within_5min", json_object_new_int64(x->within5));
    json_object_object_add(o, "covered_within_5min_share", replay_round(x->within5_share, 1e-4));
    json_object_object_add(o, "quiet_half_share", replay_round_or_null(x->quiet_share, 1e-4));
    json_object_object_add(o, "floor_runs", json_object_new_int64(x->floor_runs));
    json_object_object_add(o, "floor_vs_market_hours_cron5", replay_round(x->floor_share, 1e-4));
    return o;
}

json_object *replay_score_json(const struct replay *r, const struct replay_score *sc)
{
    json_object *root = json_object_new_object();
    json_object_object_add(root, "window_minutes", json_object_new_int(REPLAY_SCORE_WINDOW / 60));
    json_object_object_add(root, "top_share", json_object_new_double(0.1));
    json_object *ins = json_object_new_array();
    for (int k = 0; k < sc->ni; k++)
        json_object_array_add(ins, replay_instrument_json(&sc->in[k]));
    json_object_object_add(root, "instruments", ins);
    json_object *ms = json_object_new_object();
    for (int m = 0; m < LEARN_MARKET_COUNT; m++)
        if (sc->mk[m].n)
            json_object_object_add(ms, learn_market_name(m), replay_market_json(&sc->mk[m]));
    json_object_object_add(root, "markets", ms);
    json_object_object_add(root, "deep_analyses", json_object_new_int64(r->deep_analyses));
    json_object_object_add(root, "decisions", json_object_new_int64(r->decisions));
    json_object_object_add(root, "llm_calls", json_object_new_int64(r->llm_calls));
    json_object_object_add(root, "llm_tokens", json_object_new_int64(r->llm_tokens));
    json_object_object_add(root, "health_checks", json_object_new_int64(r->health_checks));
    return root;
}

/* "2.5 min", or "-" when not known (d < 0), into buf. */
static const char *replay_minutes(double d, char *buf, size_t cap)
{
    if (d < 0)
        snprintf(buf, cap, "-");
    else
        snprintf(buf, cap, "%.1f min", d);
    return buf;
}

/* One market's summary lines. */
static void replay_market_print(FILE *out, int m, const struct replay_market_score *x)
{
    const char *mk = learn_market_name(m);
    char lat[32];
    fprintf(out, "%s: orchestrator covers %.1f%% of the top windows (market-hours cron-5: %.1f%%) = %.1f%% of "
                 "market-hours cron-5's coverage (target >= 90%%) with %ld runs = %.1f%% of market-hours cron-5's "
                 "%ld (target <= 35%%): %s\n",
            mk, 100 * x->cov, 100 * x->mh5_cov, 100 * x->vs_mh5_cov, x->runs, 100 * x->vs_mh5_runs, x->mh5_runs,
            x->met ? "target met" : "target NOT met");
    fprintf(out, "%s: against 24/7 cron-5 (%.1f%% with %ld runs): %.1f%% of its coverage with %.1f%% of its runs (%s)\n",
            mk, 100 * x->cron5_cov, x->cron5_runs, 100 * x->vs_cron5_cov, 100 * x->vs_cron5_runs,
            x->met_cron5 ? "the target would be met" : "the target would not be met");
    if (x->eq_period > 0) {
        fprintf(out, "%s: equal-runs cron (market hours, every %.1f min, %ld runs) covers %.1f%%: orchestrator %+.1f points\n",
                mk, (double)x->eq_period / 60.0, x->eq_runs, 100 * x->eq_cov, 100 * (x->cov - x->eq_cov));
        fprintf(out, "%s: phase-averaged equal-runs cron (%d phases, every %ld min of its period): coverage mean %.1f%%, "
                     "min %.1f%%, max %.1f%%, %.1f runs: orchestrator %+.1f points over the mean\n",
                mk, x->phases.n, x->phases.step_s / 60, 100 * x->phases.cov_mean, 100 * x->phases.cov_min,
                100 * x->phases.cov_max, x->phases.runs_mean, 100 * x->advantage);
    }
    fprintf(out, "%s: reaction: median %s from a top window's start to its first scan (covered windows); %.1f%% of the "
                 "top windows covered within 5 min\n",
            mk, replay_minutes(x->latency_median_min, lat, sizeof lat), 100 * x->within5_share);
    if (x->quiet_share >= 0)
        fprintf(out, "%s: runs in the quieter half of windows: %.1f%% (each instrument's own window volatility, median split)\n",
                mk, 100 * x->quiet_share);
    fprintf(out, "%s: floor (one run per top window): %ld runs = %.1f%% of market-hours cron-5's; the orchestrator: %.1f%%\n",
            mk, x->floor_runs, 100 * x->floor_share, 100 * x->vs_mh5_runs);
}

void replay_score_print(FILE *out, const struct replay *r, const struct replay_score *sc)
{
    fprintf(out, "%-10s %-6s %7s %5s  %-22s %8s %7s %7s %8s %12s %9s %8s\n", "instrument", "market", "windows", "top",
            "policy", "period", "runs", "covered", "coverage", "runs/covered", "llm_calls", "tokens");
    for (int k = 0; k < sc->ni; k++) {
        const struct replay_instrument_score *is = &sc->in[k];
        for (int i = 0; i < is->npol; i++) {
            const struct replay_policy_score *p = &is->pol[i];
            if (i == 0)
                fprintf(out, "%-10s %-6s %7ld %5ld  ", is->name, learn_market_name(is->market), is->windows, is->top);
            else
                fprintf(out, "%-10s %-6s %7s %5s  ", "", "", "", "");
            char period[16] = "-";
            if (p->period_s > 0)
                snprintf(period, sizeof period, "%.1fm", (double)p->period_s / 60.0);
            fprintf(out, "%-22s %8s %7ld %7ld %7.1f%% %12.2f %9lld %8lld\n", p->name, period, p->runs, p->covered,
                    100 * p->coverage, p->runs_per_covered, p->llm_calls, p->llm_tokens);
        }
        char lat[32], quiet[16] = "-";
        if (is->quiet_share >= 0)
            snprintf(quiet, sizeof quiet, "%.1f%%", 100 * is->quiet_share);
        fprintf(out, "%-10s %-6s %7s %5s  equal-runs cron over %d phases: mean %.1f%% (min %.1f%%, max %.1f%%); latency "
                     "median %s, within 5 min %.1f%%; runs in quiet half %s\n", "", "", "", "", is->phases.n,
                100 * is->phases.cov_mean, 100 * is->phases.cov_min, 100 * is->phases.cov_max,
                replay_minutes(is->latency_median_min, lat, sizeof lat), 100 * is->within5_share, quiet);
    }
    for (int m = 0; m < LEARN_MARKET_COUNT; m++)
        if (sc->mk[m].n)
            replay_market_print(out, m, &sc->mk[m]);
    fprintf(out, "decisions %lld (%lld woken by the watch); runs count every scan-type workflow (cross-market, e.g. "
                 "deep-market-analysis: %lld, counted in each market); health checks %lld (not runs); llm calls %lld, "
                 "llm tokens %lld\n",
            r->decisions, r->wakes, r->deep_analyses, r->health_checks, r->llm_calls, r->llm_tokens);
}

int replay_score_csv(FILE *out, const struct replay_score *sc)
{
    if (fprintf(out, "instrument,market,windows,top_windows,policy,period_s,runs,covered,coverage,runs_per_covered,"
                     "llm_calls,llm_tokens,eq_phases,eq_phase_coverage_mean,eq_phase_coverage_min,"
                     "eq_phase_coverage_max,latency_median_minutes,covered_within_5min_share,quiet_half_share\n") < 0)
        return -1;
    for (int k = 0; k < sc->ni; k++) {
        const struct replay_instrument_score *is = &sc->in[k];
        char lat[32] = "", quiet[32] = "";
        if (is->latency_median_min >= 0)
            snprintf(lat, sizeof lat, "%.2f", is->latency_median_min);
        if (is->quiet_share >= 0)
            snprintf(quiet, sizeof quiet, "%.4f", is->quiet_share);
        for (int i = 0; i < is->npol; i++) {
            const struct replay_policy_score *p = &is->pol[i];
            if (fprintf(out, "%s,%s,%ld,%ld,%s,%ld,%ld,%ld,%.4f,%.3f,%lld,%lld,%d,%.4f,%.4f,%.4f,%s,%.4f,%s\n", is->name,
                        learn_market_name(is->market), is->windows, is->top, p->name, p->period_s, p->runs, p->covered,
                        p->coverage, p->runs_per_covered, p->llm_calls, p->llm_tokens, is->phases.n, is->phases.cov_mean,
                        is->phases.cov_min, is->phases.cov_max, lat, is->within5_share, quiet) < 0)
                return -1;
        }
    }
    return 0;
}
