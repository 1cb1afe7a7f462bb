/* replay: the real decision cycle over recorded 1-minute bars.
 *
 * replay_read() (replay_read.h) loads the recorded bars; replay_run() runs
 * cycle_run() -- the same sense -> decide -> act -> learn path as the live
 * worker -- through a struct cycle_io that senses from the bars and
 * simulates the workflows, on a simulated clock.  replay_score()
 * (replay_score.h) compares the scans with fixed crons on the same data;
 * replay_svg() (replay_svg.h) draws it.
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

#include <libpq-fe.h>

#include "cfg.h"
#include "cycle.h"
#include "follow.h"
#include "sink.h"
#include "replay_read.h"

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
    long long wakes;                  /* decisions the watch woke (events) */
    /* simulation state */
    time_t now;                       /* the cycle's simulated time, from sense to act */
    time_t cover_end[2];
    struct replay_pending *pend;
    size_t npend, cappend, headpend;
    struct sink sink;                 /* where the cycle writes (ctx->sink's copy) */
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

#endif
