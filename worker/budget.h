/* budget: a market source's request budget, and how often the watch may ask.
 *
 * A budget is "N/minute,N/day,N/month" (any of them, UTC calendar periods;
 * DEXSCREENER_BUDGET, PUMPFUN_BUDGET, TRADERMADE_BUDGET, BIRDEYE_BUDGET).
 * Every request to the source counts (the watch's and the decisions'
 * probes).  budget_interval() stretches the watch's interval before the
 * budget runs out instead of letting the provider refuse: never faster
 * than the period's pace (its length over its limit), and slower when the
 * requests left, spread evenly over the time left in the period, ask for
 * it; a fifth is kept for the decisions' own probes. */
#ifndef BUDGET_H
#define BUDGET_H

#include <json-c/json.h>
#include <stddef.h>
#include <time.h>

enum budget_period { BUDGET_MINUTE = 0, BUDGET_DAY, BUDGET_MONTH, BUDGET_PERIOD_COUNT };

struct budget {
    long limit[BUDGET_PERIOD_COUNT];   /* 0: no limit for that period */
    long used[BUDGET_PERIOD_COUNT];    /* requests in the current period */
    time_t start[BUDGET_PERIOD_COUNT]; /* the current period's start */
};

/* "minute", "day", "month" (static). */
const char *budget_period_name(int p);

/* Parse spec ("300/minute", "1000/month", "60/minute,30000/month", "" for
 * none) into b's limits (spend reset).  Returns 0, or -1 with a message
 * in err. */
int budget_parse(const char *spec, struct budget *b, char *err, size_t errlen) __attribute__((warn_unused_result));

/* Count n requests made at now. */
void budget_spend(struct budget *b, time_t now, long n);

/* The start of the period p that holds t (UTC), and of the next one. */
time_t budget_period_start(int p, time_t t);
time_t budget_period_end(int p, time_t t);

/* The interval (seconds, >= base_s) at which the watch may poll from now
 * on without running out; why (cap bytes) says which period stretches it
 * ("" when none does).  A period with nothing left gives the time until it
 * ends. */
long budget_interval(struct budget *b, time_t now, long base_s, char *why, size_t cap);

/* Nonzero when a request now fits every period's limit. */
int budget_allows(struct budget *b, time_t now);

/* {"limits":{"minute":..,..},"used":{...},"interval_seconds","stretched","why"} with
 * the watch's interval as given.  Caller frees. */
json_object *budget_json(const struct budget *b, long interval_s, long base_s, const char *why);

/* Restore the spend of the current periods from budget_json's "used" and
 * "starts" (counts of periods that have ended are dropped). */
void budget_restore(struct budget *b, json_object *j, time_t now);

#endif
