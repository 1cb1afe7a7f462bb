/* watch_live: the live worker's watch -- the sources sampled every
 * WATCH_SECONDS within their request budgets, fed to the watch (watch.c).
 *
 * Per source, only market activity is read: DexScreener's search (the
 * first term of DEXSCREENER_QUERY; the most liquid WATCH_DEX_PAIRS pairs'
 * priceUsd), TraderMade's live quotes (FOREX_PAIRS: each mid) and
 * Birdeye's SOL price.  No LLM call, no workflow, no decision row.  Every
 * request counts in its source's budget (budget.c), and so do the
 * decisions' probes (watch_live_spend); a source whose budget would run
 * out is sampled less often, and /status says so.  A source that answers
 * nonsense gives no sample (its answer is checked like the decisions'
 * probes: finite, in range, bounded text) and is reported unhealthy with
 * the reason; the watch goes on with the others. */
#ifndef WATCH_LIVE_H
#define WATCH_LIVE_H

#include <json-c/json.h>
#include <time.h>

#include "budget.h"
#include "catalog.h"
#include "cfg.h"
#include "watch.h"

#define WATCH_DEX_PAIRS 5            /* DexScreener pairs watched: the most liquid of the search */

struct watch_live {
    const struct cfg *cfg;           /* borrowed */
    struct watch watch;
    struct budget budget[FEED_COUNT];
    int configured[FEED_COUNT];      /* the watch samples this source */
    long interval[FEED_COUNT];       /* seconds between samples now (stretched by the budget) */
    char why[FEED_COUNT][160];       /* why it is stretched, "" when it is not */
    time_t next_at[FEED_COUNT];      /* the next sample, 0: at once */
    int healthy[FEED_COUNT];         /* the last sample's answer was usable */
    char error[FEED_COUNT][160];     /* why not */
    long long polls[FEED_COUNT], samples[FEED_COUNT];
};

/* Set wl up from c (budgets parsed).  Returns 0, or -1 with a message
 * naming the variable in err. */
int watch_live_init(struct watch_live *wl, const struct cfg *c, char *err, size_t errlen)
    __attribute__((warn_unused_result));

void watch_live_free(struct watch_live *wl);

/* Sample every source that is due at now (in parallel, each within its
 * probe timeout) and feed the watch.  Returns the number of sources
 * sampled. */
int watch_live_poll(struct watch_live *wl, time_t now);

/* When the next sample is due (0: no source is watched). */
time_t watch_live_next(const struct watch_live *wl);

/* n requests to source f made by a decision's probes at now. */
void watch_live_spend(struct watch_live *wl, int f, long n, time_t now);

/* {"markets": watch_summary_json, "sources": {name: {"configured","healthy","error",
 * "interval_seconds","stretched","why","limits","used","polls","samples"}}}.  Caller frees. */
json_object *watch_live_json(struct watch_live *wl, time_t now);

/* The budgets' spend as JSON (to be saved) and back. */
json_object *watch_live_budgets_json(const struct watch_live *wl);
void watch_live_budgets_restore(struct watch_live *wl, json_object *j, time_t now);

/* Parse a DexScreener search answer into at most max (pairAddress,
 * priceUsd) samples, the most liquid first.  Exposed for tests and the
 * fuzzer.  Returns how many, or -1 with err set. */
struct watch_live_price {
    char name[WATCH_NAME_MAX];
    double price;
};
int watch_live_parse_dex(const char *body, struct watch_live_price *out, int max, char *err, size_t errlen);

#endif
