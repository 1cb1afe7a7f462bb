/* replay_score: the replay's scorecard against fixed crons (worker/replay.h).
 *
 * Per instrument the top decile of clock-aligned 15-minute windows by
 * volatility, and per policy (the orchestrator's scans, crons) its runs and
 * the share of those windows with a run started inside ("coverage"). */
#ifndef REPLAY_SCORE_H
#define REPLAY_SCORE_H

#include <stdio.h>
#include <time.h>

#include <json-c/json.h>

#include "replay.h"

#define REPLAY_SCORE_WINDOW 900       /* scorecard windows: 15 minutes, clock-aligned */
#define REPLAY_MAX_POLICIES 12

struct replay_policy_score {
    char name[32];                    /* "orchestrator", "cron-5", "market-hours-cron-5", "equal-runs-cron" */
    long period_s;                    /* a cron's period (0: the orchestrator) */
    long runs;                        /* the orchestrator: its scan-type runs of the market */
    long covered;                     /* top windows with a scan (a cron tick) started inside */
    double coverage;                  /* covered / top windows */
    double runs_per_covered;          /* runs / covered (0 when none covered) */
    long long llm_calls, llm_tokens;
};

struct replay_instrument_score {
    char name[24];
    int market;
    long windows;                     /* 15-minute windows with data */
    long top;                         /* the top decile of them by volatility */
    int npol;
    struct replay_policy_score pol[REPLAY_MAX_POLICIES];
};

struct replay_score {
    int ni;
    struct replay_instrument_score in[REPLAY_MAX_SERIES];
};

/* Window volatility of series s: sum of |1-minute log returns| of the bars
 * in each clock-aligned window from `from`; fills vols[k] for window k
 * (from + k*900), -1 when the window has no bar.  Returns the number of
 * windows with data. */
long replay_window_vols(const struct replay_series *s, time_t from, time_t to, double *vols, long nwin);

/* Score r: per instrument the top-decile windows and, for the
 * orchestrator's scans and for crons every 1, 5, 15, 60 minutes (and their
 * market-hours variants, which skip ticks while the market is closed),
 * runs and coverage; and the "equal-runs cron": a market-hours cron whose
 * period (whole seconds, ticks at multiples of it since the epoch) gives
 * the number of runs nearest to the orchestrator's for the market.
 *
 * The orchestrator's runs are every run of a scan-type workflow for the
 * market: its scans, a second scan of the market in one decision, and
 * deep-market-analysis (a run of each market replayed); its coverage
 * counts only scans (deep-market-analysis has no scan window of its own).
 * Health checks scan no market: they are not runs (r->health_checks).
 * The target is judged against market-hours cron-5 (for crypto the same
 * as cron-5): the orchestrator does not scan a closed market, and a cron
 * that does would only pad the comparison's runs.  Returns 0 or -1. */
int replay_score(const struct replay *r, struct replay_score *out) __attribute__((warn_unused_result));

/* The scorecard as JSON (shape in sql/003_learning.sql).  Besides it:
 * every policy has "period_s"; every "markets" entry has
 * "market_hours_cron5_coverage", "market_hours_cron5_runs",
 * "coverage_vs_market_hours_cron5", "runs_vs_market_hours_cron5",
 * "target_basis" ("market-hours-cron-5": what "target_met" is judged
 * against), "target_met_vs_cron5" (the same test against 24/7 cron-5),
 * "equal_runs_cron_period_s", "equal_runs_cron_runs",
 * "equal_runs_cron_coverage" and "coverage_minus_equal_runs_cron"; the top
 * level has "deep_analyses" (runs counted in every market) and
 * "health_checks" (not runs).  Caller frees. */
json_object *replay_score_json(const struct replay *r, const struct replay_score *sc);

/* Print the scorecard table. */
void replay_score_print(FILE *out, const struct replay *r, const struct replay_score *sc);

/* Write the scorecard as CSV.  Returns 0 or -1. */
int replay_score_csv(FILE *out, const struct replay_score *sc);

/* t rounded down to a multiple of p seconds (p > 0), also before the epoch. */
time_t replay_floor(time_t t, long p);

/* Sort idx[0 .. n) (window indices) by vols[] descending, ties by index. */
void replay_sort_windows(const double *vols, long *idx, long n);

/* The policy called name of is, or NULL (borrowed). */
const struct replay_policy_score *replay_policy(const struct replay_instrument_score *is, const char *name);

#endif
