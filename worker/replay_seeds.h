/* replay_seeds: one replay per seed (orch-replay --seeds 1-10), summed
 * up per market as the mean and the worst seed of each figure.
 *
 * Worst means: the lowest coverage, the highest share of market-hours
 * cron-5's runs, the highest coverage of the phase-averaged equal-runs
 * cron, the lowest advantage over it, the longest median latency, the
 * lowest share covered within 5 minutes and the highest quiet-half share.
 * The floor is the same for every seed.  A seed whose figure is not known
 * (no covered window: no latency) is left out of that figure. */
#ifndef REPLAY_SEEDS_H
#define REPLAY_SEEDS_H

#include <stdio.h>

#include <json-c/json.h>

#include "replay_score.h"

#define REPLAY_MAX_SEEDS 100

/* Seeds from "7", "1-10" or a comma list of those ("1-3,8"): into
 * seeds[0 .. *n), at most max, each 0 .. 2147483647.  Returns 0 or -1. */
int replay_seeds_parse(const char *arg, long *seeds, int max, int *n) __attribute__((warn_unused_result));

struct replay_seeds {
    int n;
    long seed[REPLAY_MAX_SEEDS];
    long long decisions[REPLAY_MAX_SEEDS];
    double replay_s[REPLAY_MAX_SEEDS];        /* the replay's wall-clock seconds */
    struct replay_market_score mk[REPLAY_MAX_SEEDS][LEARN_MARKET_COUNT];
};

/* The mean and the worst of one figure over the seeds that have it. */
struct replay_seeds_figure {
    int n;                                    /* seeds with the figure */
    double mean, worst;
};

/* What replay_seeds_sum gives per market. */
struct replay_seeds_market {
    int seeds;                                /* 0: the market was not replayed */
    struct replay_seeds_figure coverage, runs_share, eq_phase_coverage, advantage, latency, within5, quiet;
    double floor_share;
    int target_met;                           /* seeds that met the target */
};

/* Note seed's scorecard, its decisions and replay seconds.  Returns 0, or
 * -1 when REPLAY_MAX_SEEDS are noted already. */
int replay_seeds_add(struct replay_seeds *ss, long seed, const struct replay_score *sc, long long decisions,
                     double replay_s) __attribute__((warn_unused_result));

/* Market m over the noted seeds. */
void replay_seeds_sum(const struct replay_seeds *ss, int m, struct replay_seeds_market *out);

/* One line per market of one seed's figures ("seed 3: crypto ..."). */
void replay_seeds_print_seed(FILE *out, long seed, const struct replay_score *sc);

/* The table: per market the mean and the worst seed of every figure. */
void replay_seeds_print(FILE *out, const struct replay_seeds *ss);

/* The same as JSON: {"seeds": [..], "decisions", "replay_s",
 * "decisions_per_second", "markets": {"crypto": {"seeds", "coverage":
 * {"mean", "worst", "n"}, "runs_vs_market_hours_cron5", "phase_averaged_
 * equal_runs_cron_coverage", "advantage", "latency_median_minutes",
 * "covered_within_5min_share", "quiet_half_share" (each {"mean", "worst",
 * "n"}, mean and worst null when n is 0), "floor_vs_market_hours_cron5",
 * "target_met_seeds"}}}.  Caller frees. */
json_object *replay_seeds_json(const struct replay_seeds *ss);

#endif
