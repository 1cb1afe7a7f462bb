/* learn: what the worker learns from outcomes, and the numbers the
 * fallback policy and the LLM decide with.
 *
 * Per market (crypto, forex):
 *  - activity: a volatility baseline per session bucket (the label from
 *    sessions_label()), a decayed mean and variance of the sensed
 *    volatility, and a market-wide one; the activity ratio r is the
 *    current reading (smoothed over a few minutes) over the market-wide
 *    baseline, and falls into one of four bands (quiet < 0.75 <= usual <
 *    1.25 <= elevated < 2 <= high);
 *  - outcomes, per (band, intensity) and per (session bucket, intensity):
 *    a Beta posterior of a run's success (the webhook was accepted) and a
 *    Gamma-Poisson posterior of the opportunities a run finds per unit of
 *    "fresh exposure" (the share of its scan window that the previous scan
 *    of the market did not already watch), both decaying towards their
 *    priors with a half-life.  Every outcome updates both: the band one
 *    (activity now) drives the fallback policy, the session one is shown to
 *    people and the LLM (see README, "Learning and replay");
 *  - intervals, per session bucket: the decayed mean length of elevated
 *    spells (r >= 1.25) and of quiet spells, which set how often to look.
 *
 * Everything is deterministic: Thompson draws come from a counter-based
 * generator keyed by (LEARN_SEED, time, observation count, market), so a
 * decision can be recomputed from its inputs and a replay with a fixed seed
 * repeats exactly.  Times are the caller's clock (real or simulated).
 *
 * Files: learn.c (sensing, outcomes, choices, intervals), learn_math.c (the
 * distributions as pure math: learn_math.h), learn_state.c (the saved
 * state), learn_summary.c (the summary), learn_wf.c (per workflow). */
#ifndef LEARN_H
#define LEARN_H

#include <json-c/json.h>
#include <time.h>

#include "catalog.h"
#include "cfg.h"
#include "learn_math.h"   /* struct learn_stat, learn_arm, learn_post: the distributions */

struct sense_snapshot;

enum learn_market { LEARN_CRYPTO = 0, LEARN_FOREX, LEARN_MARKET_COUNT };
enum learn_band { LEARN_QUIET = 0, LEARN_USUAL, LEARN_ELEVATED, LEARN_HIGH, LEARN_BAND_COUNT };
#define LEARN_BUCKET_COUNT 9
#define LEARN_ARM_COUNT 3          /* one per intensity (enum catalog_intensity) */

/* Band edges of the activity ratio. */
#define LEARN_BAND_USUAL 0.75
#define LEARN_BAND_ELEVATED 1.25
#define LEARN_BAND_HIGH 2.0

/* Spell lengths of one session bucket, minutes. */
struct learn_spell {
    struct learn_stat elevated, quiet;
};

struct learn_market_state {
    struct learn_stat baseline[LEARN_BUCKET_COUNT];   /* sensed volatility per bucket */
    struct learn_stat overall;                        /* sensed volatility, all buckets */
    struct learn_arm arm[LEARN_BAND_COUNT][LEARN_ARM_COUNT];
    struct learn_arm sarm[LEARN_BUCKET_COUNT][LEARN_ARM_COUNT];  /* per session bucket */
    struct learn_spell spell[LEARN_BUCKET_COUNT];
    double occ[LEARN_BAND_COUNT];    /* decayed time spent in each band, seconds */
    time_t occ_at;
    /* what the latest sensing said */
    int valid;                 /* the last reading was usable */
    double reading;            /* the latest reading, normalised to 5 minutes */
    double smooth;             /* exponentially smoothed reading */
    double ratio;              /* smooth / overall baseline (1 when unknown) */
    int band;
    int bucket;
    double exposure;           /* fresh share of a scan started now, 0..1 */
    time_t sensed_at;          /* 0: never */
    time_t last_scan_at;       /* 0: never */
    int elevated;              /* current spell: 1 elevated, 0 quiet, -1 none yet */
    time_t spell_since;
    int spell_bucket;
};

/* A workflow's own posteriors (learn_wf.c). */
struct learn_wf_arm {
    double ok, fail;           /* Beta(1 + ok, 1 + fail) of a run's success */
    double opps;               /* Gamma(1 + opps, 1 + oruns) of opportunities per run */
    double runs;               /* decayed outcomes seen */
    time_t at;                 /* decayed up to this time; 0: nothing seen */
    double oruns;              /* decayed runs whose opportunities were reported */
};

struct learn {
    /* parameters (from cfg) */
    unsigned long long seed;
    double half_life_s;
    double run_cost;           /* a normal run's cost, in units of the market's average yield */
    double epsilon;            /* exploration probability per scan window of open market time */
    long max_stale_s;
    long window_s;             /* how long one scan watches its market */
    /* state */
    long long nobs;            /* observations so far (keys the Thompson draws) */
    time_t last_health_at;
    time_t prev_cycle_at;      /* the previous learn_sense(), 0: none */
    double cycle_dt;           /* seconds since then (at most LEARN_MAX_STALE_MINUTES;
                                * one window before the first) */
    struct learn_market_state m[LEARN_MARKET_COUNT];
    struct learn_wf_arm wf[CATALOG_SLOTS];   /* per workflow, by registry slot (learn_wf.c) */
};

/* Cost of one run of each intensity, in units of LEARN_RUN_COST:
 * aggressive 2, normal 1, light 0.5. */
double learn_cost_factor(int intensity);

/* The market's average yield: opportunities a normal run finds over one
 * fresh window, averaged over the activity bands weighted by the time the
 * market spends in each (so it does not depend on where the policy chose
 * to scan).  A run of intensity i costs LEARN_RUN_COST * factor(i) times
 * this: a scan is warranted where it is expected to find more than the
 * market usually offers.  Before anything is learned: the prior, 1. */
double learn_yield(const struct learn *l, int m, time_t now);

/* The cost of a run of intensity i in market m now, in opportunities. */
double learn_cost(const struct learn *l, int m, int intensity, time_t now);

/* A fresh state with the parameters of c (LEARN_*); nothing learned yet. */
void learn_init(struct learn *l, const struct cfg *c);

/* "crypto" / "forex"; "quiet" / "usual" / "elevated" / "high". */
const char *learn_market_name(int m);
const char *learn_band_name(int b);
/* The bucket index of a session label (unknown labels: "off_hours"). */
int learn_bucket(const char *label);
const char *learn_bucket_name(int b);
/* A decision's learning context as its row holds it (store_learn_ctx):
 * the band named band into *b and the session label into *bucket (-1 for
 * either when unknown or empty). */
void learn_ctx_indices(const char *band, const char *session, int *b, int *bucket);
/* The band of an activity ratio. */
int learn_band_of(double ratio);

/* Fold in what this cycle sensed: update the baselines, the smoothed
 * activity, ratio and band, spell lengths, the fresh exposure of a scan
 * started now, and the time since the previous cycle (the exploration
 * floor is a rate per time).  Call once per cycle before deciding. */
void learn_sense(struct learn *l, const struct sense_snapshot *snap);

/* One outcome of a run of market m with intensity i, started in activity
 * band `band` and session bucket `bucket` (learn_bucket; -1 when unknown:
 * only the band's estimate learns), whose fresh exposure was `exposure`
 * (0..1).  success: 1 delivered, 0 failed, -1 unknown (not counted);
 * opportunities: found by the run, or -1 unknown (not counted).  Both the
 * (band, intensity) and the (session, intensity) estimates are updated.
 * Live, the delivery is known at once and the opportunities later; the
 * replay reports them when the scan's window has passed.  Evidence is
 * decayed to `at` first. */
void learn_observe(struct learn *l, int m, int band, int bucket, int intensity, int success, int opportunities,
                   double exposure, time_t at);

/* Note that a scan of market m started at `at` (exposure counts from here). */
void learn_note_scan(struct learn *l, int m, time_t at);

/* Posterior means and 90% credible intervals of arm (m, b, i) at time now. */
void learn_posterior(const struct learn *l, int m, int b, int i, time_t now, struct learn_post *out);

/* The same for the estimate of session bucket `bucket` and intensity i. */
void learn_session_posterior(const struct learn *l, int m, int bucket, int i, time_t now, struct learn_post *out);

/* Thompson sampling for market m at time now over the intensities allowed
 * (allowed[i] nonzero), with the posteriors of the market's current band.
 * Returns the intensity to scan with, or -1 for "no scan is worth it".
 * Exploration (a random allowed intensity, only when at least half a window
 * is unwatched) happens with probability 1 - (1 - LEARN_EPSILON)^(dt / W)
 * for dt = l->cycle_dt: LEARN_EPSILON per scan window W of market time,
 * however often decisions come.  *why gets a static word: "thompson",
 * "explore", "stale", "first", "watched" or "skip"; *value the sampled net
 * value of the best arm. */
int learn_choose(const struct learn *l, int m, const int allowed[LEARN_ARM_COUNT], time_t now,
                 const char **why, double *value);

/* The same with each arm's run cost multiplied by cost[i] (the catalog
 * cost of the workflow that intensity would start; NULL: 1 each). */
int learn_choose_cost(const struct learn *l, int m, const int allowed[LEARN_ARM_COUNT],
                      const double cost[LEARN_ARM_COUNT], time_t now, const char **why, double *value);

/* Seconds until the next decision, as market m sees it (before clamping):
 * while scanning pays in the current band, until the next scan would pay
 * (between a tenth and a third of a scan window); else a quarter of the
 * learned elevated-spell length of the current session; never later than
 * the staleness limit.  scanning: a scan of m starts now. */
long learn_next_seconds(const struct learn *l, int m, time_t now, int scanning);

/* Note that a health check was started at `at`. */
void learn_note_health(struct learn *l, time_t at);

/* The expected learned elevated-spell length of bucket b of market m, minutes. */
double learn_spell_minutes(const struct learn *l, int m, int b, int elevated);

/* The version of the saved state (learn_to_json) and of the summary. */
#define LEARN_STATE_VERSION 2

/* The state as JSON (everything needed to resume; learn_state.c), version
 * 2: version 1 (sql/003_learning.sql) plus per market "session_arms" (9
 * buckets x 3 intensities of [ok, fail, opps, exposure, runs, at], like
 * "arms") and "prev_cycle_at"; and "workflows" (learn_wf_to_json: the
 * per-workflow posteriors by name, optional when read).  Caller frees. */
json_object *learn_to_json(const struct learn *l);

/* Restore the learned state from JSON made by learn_to_json, version 2 or
 * 1 (then the session estimates start from their priors); parameters stay
 * those of l.  Returns 0, or -1 when the JSON is not a state (l
 * unchanged). */
int learn_from_json(struct learn *l, json_object *j) __attribute__((warn_unused_result));

/* A summary for people, the dashboard and the LLM (learn_summary.c): per
 * market the activity, baselines, learned intervals and the posteriors with
 * 90% intervals.  full = 0 gives only the current band and session (for
 * every decision's inputs and the prompt); full = 1 gives every band and
 * session (for worker_state.learning).  The shape is documented in
 * sql/003_learning.sql; since version 2 every session (and
 * "current_session") also has "outcomes": {"aggressive"|"normal"|"light":
 * {"runs", "success", "success_90", "opportunities", "opportunities_90",
 * "cost", "net_value"}}, the (session, intensity) posteriors in the shape
 * of a band's.  With full, "workflows" holds learn_wf_summary (per
 * workflow).  Caller frees. */
json_object *learn_summary_json(const struct learn *l, time_t now, int full);

#endif
