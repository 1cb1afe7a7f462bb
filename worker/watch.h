/* watch: the cheap minute-by-minute look at the markets, and when it wakes
 * a decision.
 *
 * The watch gets price samples (live: every WATCH_SECONDS from DexScreener
 * pairs, TraderMade quotes and Birdeye prices; the replay: each recorded
 * 1-minute bar as it closes) through one function, watch_price(), and
 * keeps, per instrument, its activity over the last WATCH_WINDOW_MINUTES
 * (the sum of |log returns| of its samples in that trailing window) and
 * the activity of each clock-aligned window of that length, and per market
 * a score: the largest of its instruments' trailing activity over that
 * instrument's usual window (the geometric mean of its past clock windows).
 * Trailing, so that a burst is seen as soon as it starts, whatever the
 * clock: a volatile window is usually caught in its first minutes.  Its threshold is learned from
 * the market's own trailing history (WATCH_HISTORY_DAYS): the score a
 * window reaches at its peak, and the threshold is the quantile that
 * WATCH_EVENT_SHARE of those windows reached.  When the score crosses it,
 * the watch wakes a decision (watch_due) at once -- at most once per
 * window and market, not within half a window of its last wake-up (a
 * burst late in one window does not wake the next as well), and not when
 * a scan of the market already started in the window.  Everything is causal: a sample only ever changes what
 * comes after it.
 * Before a market has any history, the watch wakes one decision (a first
 * look) unless a decision looked at the markets since it started; from its
 * first scored window on, the threshold comes from what it has seen, at a
 * higher share of windows while it has less than a week of history.
 *
 * Nothing here does I/O: the worker's loop (worker/watch_live.c) and the
 * replay feed it; the state is saved as JSON (watch_to_json) in batches. */
#ifndef WATCH_H
#define WATCH_H

#include <json-c/json.h>
#include <time.h>

#include "cfg.h"
#include "learn.h"

#define WATCH_MAX_INSTRUMENTS 32
#define WATCH_NAME_MAX 64             /* "dex:" and a Solana (44) or EVM (42) pair address */
#define WATCH_GAP_SECONDS 900          /* a return across a longer gap is not activity */
#define WATCH_MIN_INTERVAL 10          /* seconds between samples, at least (WATCH_SECONDS' floor) */
#define WATCH_RAMP_DAYS 7.0            /* history below which the watch looks more often ... */
#define WATCH_RAMP_SHARE 0.5           /* ... from this share of windows down to WATCH_EVENT_SHARE */
#define WATCH_COOLDOWN_SHARE 0.5       /* a market wakes a decision at most once per half a window */

/* A trailing series of (time, value), oldest dropped past its horizon,
 * with the sum of the logs of its positive values (a geometric mean in O(1)). */
struct watch_ring {
    double *v;
    time_t *t;
    size_t cap, n, head;               /* head: index of the oldest */
    double logsum;                     /* sum of log(v) over the positive values */
    size_t npos;                       /* how many are positive */
    double *sorted;                    /* the same values in order (NULL: not kept), for quantiles */
};

#define WATCH_DAY_WINDOWS 1440        /* windows of one UTC day, at most (1-minute windows) */

/* One UTC day of one market, as the live scorecard sees it. */
struct watch_day {
    time_t day;                        /* its start (UTC midnight), 0: nothing yet */
    int nwin;                          /* windows in a day (86400 / window) */
    unsigned short first_scan[WATCH_DAY_WINDOWS];  /* seconds into the window of its first scan + 1, 0: none */
    int runs;                          /* scans of the market started that day */
    int wakes;                         /* wake-ups */
};

/* What a day came to (watch_score_day). */
struct watch_day_result {
    int market;
    time_t day;
    int windows, top, covered, runs, wakes, cron5_runs;
    double equal_runs_covered;         /* phase-averaged */
    double latency_median_minutes;     /* over the covered top windows, < 0: none */
};

struct watch_instrument {
    char name[WATCH_NAME_MAX];         /* "BTCUSDT", "EURUSD", a pair address */
    int market;                        /* enum learn_market, -1: slot free */
    double price;                      /* the last sample */
    time_t at;                         /* its time */
    time_t win;                        /* the window its activity is for (start) */
    double part;                       /* activity so far in that window */
    /* the returns of the last window's length (trailing, not clock-aligned):
     * what the score is made of */
    double *rr;                        /* |log return| of each sample */
    time_t *rt;                        /* its time */
    size_t rcap, rn, rhead;            /* ring: capacity, count, index of the oldest */
    double rsum;                       /* their sum: the trailing activity */
    double usual;                      /* its usual window's activity: the geometric mean of its
                                        * trailing windows' (positive) activity, 0: unknown */
    struct watch_ring totals;          /* its completed windows' activity */
    time_t day;                        /* the day of day_total */
    float *day_total;                  /* this day's windows' activity (< 0: no data), WATCH_DAY_WINDOWS */
};

/* Why a decision is woken early. */
struct watch_event {
    int market;                        /* enum learn_market */
    time_t at;
    double score;                      /* the market's score when it crossed */
    double threshold;                  /* the threshold it crossed */
    char instrument[WATCH_NAME_MAX];   /* the instrument with the largest activity */
    long windows;                      /* windows of history behind the threshold */
};

struct watch_market {
    time_t win;                        /* the window being scored (start), 0: none yet */
    double win_max;                    /* the score's peak in it so far */
    double score;                      /* the latest score */
    char top[WATCH_NAME_MAX];          /* the instrument behind it */
    double threshold;                  /* the current threshold; < 0 while none can be set */
    struct watch_ring peaks;           /* completed windows' peaks */
    time_t quiet_win;                  /* a window in which no wake is wanted (a scan started) */
    time_t woke_win;                   /* the window of the last wake-up */
    time_t woke_at;                    /* its time */
    long long wakes;                   /* wake-ups so far */
    int looked;                        /* a decision looked at the market since the watch started */
    long long samples;                 /* samples taken */
    time_t last_sample;                /* 0: never */
    struct watch_day today;            /* the live scorecard of the current UTC day */
    struct watch_day_result done;      /* the last day that ended */
    int done_ready;                    /* done is new (watch_day_take) */
};

struct watch {
    long window_s;                     /* WATCH_WINDOW_MINUTES * 60 */
    long history_s;                    /* WATCH_HISTORY_DAYS */
    double share;                      /* WATCH_EVENT_SHARE */
    struct watch_instrument in[WATCH_MAX_INSTRUMENTS];
    int nin;
    struct watch_market m[LEARN_MARKET_COUNT];
};

/* Set w up from c (WATCH_*).  Returns 0 or -1 (out of memory). */
int watch_init(struct watch *w, const struct cfg *c) __attribute__((warn_unused_result));

/* Free what w holds; a zeroed w is a no-op. */
void watch_free(struct watch *w);

/* One price sample of instrument (copied, bounded) of market m at time at
 * (the end of the interval it closes: a bar's close time).  Samples of an
 * instrument must come in time order (an older one is ignored); a price
 * that is not finite and positive is ignored.  Updates the instrument's
 * window, the market's score and, at a window boundary, the thresholds.
 * Returns 0, or -1 when the instrument is new and there is no room. */
int watch_price(struct watch *w, int m, const char *instrument, time_t at, double price);

/* Should a decision be woken for market m at now?  Yes (1, *ev filled)
 * when m's score crossed its threshold in the current window and neither
 * a wake-up nor a scan of m happened in the window of now yet; the wake-up
 * is counted.  Returns 0 otherwise. */
int watch_due(struct watch *w, int m, time_t now, struct watch_event *ev);

/* A decision looked at every market (sensed them all): the first look a
 * market without history would get is no longer needed. */
void watch_looked(struct watch *w);

/* A scan of market m started at `at`: no wake-up for m in its window. */
void watch_scanned(struct watch *w, int m, time_t at);

/* Nonzero when market m has samples from the last two windows (the watch
 * covers it: the decision policy may rely on its wake-ups). */
int watch_covers(const struct watch *w, int m, time_t now);

/* The figures a decision sees (the snapshot's watch): per market covered,
 * score, threshold, the most active instrument, windows of history. */
struct sense_watch;
void watch_sense(const struct watch *w, time_t now, struct sense_watch *out);

/* The current figures, for decisions' inputs, the LLM prompt and /status:
 * per market {"covered","score","threshold","windows","instrument",
 * "window_peak","wakes","last_sample"}.  Caller frees. */
json_object *watch_summary_json(const struct watch *w, time_t now);

/* The whole state, to resume after a restart (compact: per instrument its
 * trailing totals, per market its peaks).  Caller frees. */
json_object *watch_to_json(const struct watch *w);

/* Restore a state made by watch_to_json (the parameters stay w's; values
 * older than the history are dropped).  Returns 0, or -1 when j is not a
 * watch state (w unchanged). */
int watch_from_json(struct watch *w, json_object *j) __attribute__((warn_unused_result));

/* The live scorecard: the day that ended for market m, once (1, *out
 * filled), else 0. */
int watch_day_take(struct watch *w, int m, struct watch_day_result *out);

/* The current day of market m so far, scored like a finished one. */
void watch_day_now(struct watch *w, int m, struct watch_day_result *out);

/* Score one day of market m: the top decile of each instrument's windows
 * of the day (by activity), how many of them a scan covered, the runs, and
 * what cron-5 and a cron with as many runs (phase-averaged) would have
 * covered on the same windows.  Pure: reads the watch's day records. */
void watch_score_day(const struct watch *w, int m, const struct watch_day *d, struct watch_day_result *out);

/* The q-quantile of v[0..n) (0 <= q <= 1), by selection in place.  0 when n is 0. */
double watch_quantile(double *v, size_t n, double q);

/* ---- inside the watch module: for watch_json.c's restore (watch.c) ---- */

/* The instrument slot of name in market m, created when absent; NULL when
 * full or out of memory.  Borrowed from w. */
struct watch_instrument *watch_slot(struct watch *w, int m, const char *name);

/* Start the live scorecard's day of market mk that holds t. */
void watch_day_start(struct watch *w, struct watch_market *mk, time_t t);

/* Set mk's threshold from its peaks: the score that the share of its
 * windows reached (-1 while it has none). */
void watch_threshold(struct watch *w, struct watch_market *mk);

#endif
