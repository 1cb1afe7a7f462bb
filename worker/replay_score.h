/* replay_score: the replay's scorecard against fixed crons (worker/replay.h).
 *
 * Per instrument the top decile of clock-aligned 15-minute windows by
 * volatility (sum of |1-minute log returns|), and per policy (the
 * orchestrator's scans, crons) its runs and the share of those windows
 * with a run started inside ("coverage").  Beside it, the honest figures:
 *
 *  - the equal-runs cron over every phase: the market-hours cron whose
 *    period gives the orchestrator's number of runs, its ticks shifted by
 *    every whole-minute offset within one period (at most
 *    REPLAY_MAX_PHASES offsets, evenly spaced in whole minutes, for periods
 *    over 12 hours): mean, min and max coverage.  "advantage" is the
 *    orchestrator's coverage minus that mean (the single "equal-runs-cron"
 *    policy keeps the epoch-aligned phase, as before);
 *  - reaction latency: minutes from a top window's start to the first
 *    scan of its market started inside it, median over the covered top
 *    windows; and the share of all top windows with such a scan within
 *    REPLAY_REACT_SECONDS (5 minutes);
 *  - the quiet-half share: of the orchestrator's runs that start in a
 *    window with data, the share that start in the quieter half of the
 *    instrument's own windows (below the median volatility: with n
 *    windows, the floor(n / 2) quietest); per market the mean over its
 *    instruments;
 *  - the floor: one run per top window of the market, i.e. the number of
 *    distinct top windows over the market's instruments, as a share of
 *    market-hours cron-5's runs. */
#ifndef REPLAY_SCORE_H
#define REPLAY_SCORE_H

#include <stdio.h>
#include <time.h>

#include <json-c/json.h>

#include "learn.h"
#include "replay.h"

#define REPLAY_SCORE_WINDOW 900       /* scorecard windows: 15 minutes, clock-aligned */
#define REPLAY_MAX_POLICIES 12
#define REPLAY_MAX_PHASES 720         /* phase offsets of the equal-runs cron, at most */
#define REPLAY_REACT_SECONDS 300      /* "covered within 5 minutes" */

struct replay_policy_score {
    char name[32];                    /* "orchestrator", "cron-5", "market-hours-cron-5", "equal-runs-cron" */
    long period_s;                    /* a cron's period (0: the orchestrator) */
    long runs;                        /* the orchestrator: its scan-type runs of the market */
    long covered;                     /* top windows with a scan (a cron tick) started inside */
    double coverage;                  /* covered / top windows */
    double runs_per_covered;          /* runs / covered (0 when none covered) */
    long long llm_calls, llm_tokens;
};

/* The equal-runs cron over its phases (period_s 0: the orchestrator made no run). */
struct replay_phases {
    long period_s;
    int n;                            /* phase offsets evaluated */
    long step_s;                      /* between offsets: 60, more for periods over 12 hours */
    double cov_mean, cov_min, cov_max;
    double runs_mean;                 /* its runs, averaged over the phases */
};

struct replay_instrument_score {
    char name[24];
    int market;
    long windows;                     /* 15-minute windows with data */
    long top;                         /* the top decile of them by volatility */
    int npol;
    struct replay_policy_score pol[REPLAY_MAX_POLICIES];
    struct replay_phases phases;      /* the equal-runs cron over every phase */
    double latency_median_min;        /* over the covered top windows; -1 when none is covered */
    long within5;                     /* top windows with a scan within REPLAY_REACT_SECONDS of their start */
    double within5_share;             /* within5 / top */
    long quiet_runs, quiet_counted;   /* runs in a quiet-half window / runs in a window with data */
    double quiet_share;               /* quiet_runs / quiet_counted; -1 when none counted */
};

/* Per market, over its instruments: coverage over all their top windows;
 * runs are the market's (the same for each of its instruments). */
struct replay_market_score {
    int n;                            /* instruments; 0: the market was not replayed */
    long top, covered, runs;
    long cron5_covered, cron5_runs;           /* 24/7 cron-5 */
    long mh5_covered, mh5_runs;               /* market-hours cron-5: the target's basis */
    long eq_covered, eq_runs, eq_period;      /* the equal-runs cron, epoch-aligned */
    double cov, cron5_cov, mh5_cov, eq_cov;
    double vs_cron5_cov, vs_cron5_runs, vs_mh5_cov, vs_mh5_runs;
    int met, met_cron5;
    struct replay_phases phases;      /* coverage over all top windows, per phase */
    double advantage;                 /* cov - phases.cov_mean */
    double latency_median_min;        /* over all covered top windows of the market; -1 none */
    long within5;
    double within5_share;
    double quiet_share;               /* mean of its instruments' (those with runs counted); -1 none */
    long floor_runs;                  /* distinct top windows over its instruments */
    double floor_share;               /* floor_runs / mh5_runs */
};

struct replay_score {
    int ni;
    struct replay_instrument_score in[REPLAY_MAX_SERIES];
    struct replay_market_score mk[LEARN_MARKET_COUNT];
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
 * the number of runs nearest to the orchestrator's for the market; and the
 * figures of the header comment, per instrument and per market.
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
 * every policy has "period_s"; every instrument has "equal_runs_cron_phases"
 * ({"period_s", "phases", "step_s", "coverage_mean", "coverage_min",
 * "coverage_max", "runs_mean"}), "latency_median_minutes" (null when no top
 * window is covered), "covered_within_5min", "covered_within_5min_share",
 * "quiet_half_runs", "quiet_half_counted" and "quiet_half_share" (null when
 * none counted); every "markets" entry has "market_hours_cron5_coverage",
 * "market_hours_cron5_runs", "coverage_vs_market_hours_cron5",
 * "runs_vs_market_hours_cron5", "target_basis" ("market-hours-cron-5": what
 * "target_met" is judged against), "target_met_vs_cron5" (the same test
 * against 24/7 cron-5), "equal_runs_cron_period_s", "equal_runs_cron_runs",
 * "equal_runs_cron_coverage" and "coverage_minus_equal_runs_cron" (the
 * epoch-aligned phase), "equal_runs_cron_phases" (as above, over all top
 * windows of the market), "advantage_vs_phase_averaged_equal_runs_cron",
 * "latency_median_minutes", "covered_within_5min",
 * "covered_within_5min_share", "quiet_half_share", "floor_runs" and
 * "floor_vs_market_hours_cron5"; the top level has "deep_analyses" (runs
 * counted in every market) and "health_checks" (not runs).  Caller frees. */
json_object *replay_score_json(const struct replay *r, const struct replay_score *sc);

/* Print the scorecard table. */
void replay_score_print(FILE *out, const struct replay *r, const struct replay_score *sc);

/* Write the scorecard as CSV: one row per instrument and policy; the
 * instrument's figures (phases, latency, quiet half) repeated on each of
 * its rows.  Returns 0 or -1. */
int replay_score_csv(FILE *out, const struct replay_score *sc);

/* t rounded down to a multiple of p seconds (p > 0), also before the epoch. */
time_t replay_floor(time_t t, long p);

/* Sort idx[0 .. n) (window indices) by vols[] descending, ties by index. */
void replay_sort_windows(const double *vols, long *idx, long n);

/* The policy called name of is, or NULL (borrowed). */
const struct replay_policy_score *replay_policy(const struct replay_instrument_score *is, const char *name);

/* The median of v[0 .. n) (sorted in place); -1 when n is 0. */
double replay_median(double *v, size_t n);

#endif
