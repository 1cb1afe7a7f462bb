/* replay: the real decision cycle over recorded 1-minute bars.
 *
 * replay_read() loads one recorded file (gzip or plain): HistData forex
 * ("YYYYMMDD HHMMSS;o;h;l;c;v", no header, stored time = Europe/Berlin
 * local time - 6 h; exact duplicate rows dropped) or Binance crypto (header
 * "timestamp,open,high,low,close,volume", UTC).  replay_run() then runs
 * cycle_run() -- the same sense -> decide -> act -> learn path as the live
 * worker -- through a struct cycle_io that senses from the bars and
 * simulates the workflows, on a simulated clock.  replay_score() compares
 * the scans with fixed crons on the same data; replay_svg() draws it.
 *
 * Simulated sensing: a source is healthy unless its data has a gap (no bar
 * for 5 minutes, crypto; 15 minutes while the forex market is open: a
 * weekend is a closure, its quotes are stale); crypto volatility is the
 * mean |5-minute change| in percent over the crypto instruments (as
 * DexScreener's priceChange.m5), forex the mid move since the previous
 * decision in basis points (as TraderMade); sessions from the real sessions
 * code; load 0.
 *
 * Simulated workflows: a scan of a market started at t watches its
 * instruments for one scan window W (LEARN_WINDOW_MINUTES).  It finds an
 * opportunity for an instrument when the instrument's high-low range over
 * the part of [t, t+W) that the previous scan of the market was not already
 * watching exceeds k times the trailing baseline (mean of rolling W-minute
 * ranges over the previous 1440 bars, past only), scaled by sqrt(part/W);
 * k = 1.25 aggressive, 1.5 normal, 2 light.
 *
 * The act is the live one: cycle_run() sends every trigger through
 * deliver_decision() (breaker, concurrency policy, retries) with a local
 * struct deliver (deliver_set_local: state in memory, on the simulated
 * clock), and its POSTs through the io's act, where the simulated n8n
 * accepts them.  An execution ends one window later: its opportunities are
 * recorded as a posted result would be (store_trigger_outcome) and the end
 * handled by follow_handle(), as the live worker handles a result. */
#ifndef REPLAY_H
#define REPLAY_H

#include <stdio.h>
#include <time.h>

#include <json-c/json.h>
#include <libpq-fe.h>

#include "cfg.h"
#include "cycle.h"
#include "follow.h"

#define REPLAY_MAX_SERIES 16
#define REPLAY_SCORE_WINDOW 900       /* scorecard windows: 15 minutes, clock-aligned */
#define REPLAY_MAX_POLICIES 12

enum replay_format { REPLAY_HISTDATA, REPLAY_BINANCE };

struct replay_series {
    char name[24];                    /* instrument, from the file name: "EURUSD", "BTCUSDT" */
    int market;                       /* LEARN_CRYPTO or LEARN_FOREX */
    int format;                       /* enum replay_format */
    char path[512];
    size_t n;
    time_t *t;                        /* bar open time, UTC, strictly increasing */
    double *o, *h, *l, *c;
    size_t duplicates;                /* exact duplicate rows dropped */
    size_t conflicts;                 /* same time, other values: later rows dropped */
    /* derived by replay_prepare(): trailing baseline of rolling ranges */
    double *base;                     /* at bar j: mean relative W-range over bars (j-1440, j]; <0 unknown */
};

/* Read one file into *s (zeroed first).  Returns 0, or -1 with err set. */
int replay_read(const char *path, struct replay_series *s, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Parse the text of a whole file (for tests): name and format from name. */
int replay_parse_text(const char *name, const char *text, struct replay_series *s, char *err, size_t errlen)
    __attribute__((warn_unused_result));

void replay_series_free(struct replay_series *s);

/* HistData stored time (fields as written) to UTC: stored + 4 h while the
 * EU is on summer time, + 5 h otherwise. */
time_t replay_histdata_utc(int y, int mo, int d, int hh, int mi, int ss);

/* Nonzero when UTC instant t is in EU summer time (last Sunday of March
 * 01:00 UTC to last Sunday of October 01:00 UTC). */
int replay_eu_summer(time_t t);

/* Parse "YYYY-MM-DD", "YYYY-MM-DDTHH:MM", "...:SS", optional "Z".  Returns 0 or -1. */
int replay_parse_iso(const char *s, time_t *out) __attribute__((warn_unused_result));

struct replay_scan {                  /* one run of a scan-type workflow for a market */
    time_t at;
    int market;
    int intensity;
    int opportunities;                /* -1 until reported (and for deep-market-analysis) */
    int wf;                           /* registry slot of the workflow that ran */
    int cross;                        /* a cross-market ("both") workflow: a run of each
                                       * market, no window of its own (no coverage) */
};

struct replay_mark {                  /* one decision, for the picture */
    time_t at;
    int mode;
    int nscans;
};

struct replay_pending {               /* a simulated execution whose end is not yet reported */
    time_t due;
    int wf;
    int market, band, bucket, intensity;  /* market, band and bucket -1: not a scan */
    double exposure;
    int opportunities;                /* -1: none (not a scan) */
    size_t scan;                      /* index into scans, (size_t)-1 for none */
    long long trigger_id, decision_id;
    char key[96];
};

struct replay {
    /* inputs */
    struct replay_series *s;          /* borrowed */
    int ns;
    time_t from, to;
    long window_s;
    int have[2];                      /* markets present */
    /* results */
    struct replay_scan *scans;
    size_t nscans, capscans;
    struct replay_mark *marks;
    size_t nmarks, capmarks;
    long long decisions, llm_calls, llm_tokens, health_checks, deep_analyses, failed_cycles;
    /* simulation state */
    time_t now;                       /* the cycle's simulated time, from sense to act */
    time_t cover_end[2];
    struct replay_pending *pend;
    size_t npend, cappend, headpend;
    PGconn *db;
    int failed;                       /* an outcome could not be recorded, or out of memory */
    struct deliver deliver;           /* the act path's state, local (deliver_set_local) */
    struct follow follow;             /* what handles an execution's end and result */
};

/* Derive the baselines (call once per series before replay_run). */
int replay_prepare(struct replay_series *s, long window_s) __attribute__((warn_unused_result));

/* Run the cycle from r->from to r->to over r->s with ctx (its cfg, learn,
 * db and run_id set by the caller; its io is replaced).  Returns 0, or -1
 * when a cycle could not be recorded (err set). */
int replay_run(struct replay *r, struct cycle_ctx *ctx, char *err, size_t errlen) __attribute__((warn_unused_result));

void replay_free(struct replay *r);

/* ---- scorecard ---------------------------------------------------------- */

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

/* The picture: per instrument price and rolling volatility over time,
 * top-decile windows shaded, decisions and scans marked.  Caller frees. */
char *replay_svg(const struct replay *r, const struct replay_score *sc);

#endif
