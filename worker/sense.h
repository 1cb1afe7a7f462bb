/* sense: what the cycle sees before it decides.
 *
 * Probes every configured market source in parallel (libcurl multi, one
 * timeout for all), parses what DexScreener and TraderMade answer into
 * market activity, reads the forex sessions and the system load.  The track
 * record (history) is filled by store_history().  Parsers are pure functions
 * so that tests can feed them recorded bodies. */
#ifndef SENSE_H
#define SENSE_H

#include <json-c/json.h>
#include <time.h>

#include "catalog.h"
#include "cfg.h"
#include "sessions.h"

#define SENSE_MAX_QUOTES 8
#define SENSE_MAX_RECENT 5
#define SENSE_MAX_TOKENS 5
#define SENSE_MAX_PROFILES 5
#define SENSE_PROBE_MAX_BYTES (2 * 1024 * 1024)   /* largest answer read from a source */

/* Bounds of the market numbers accepted from outside.  A number that is
 * not finite or lies outside them is refused where it enters (in the
 * sense_parse_* functions), before any arithmetic: */
#define SENSE_PCT_MIN (-100.0)        /* a price change cannot lose more than everything */
#define SENSE_PCT_MAX 1e6             /* +1,000,000 % (10,000 x) in one window */
#define SENSE_USD_MAX 1e13            /* a volume or a market cap, USD */
#define SENSE_COUNT_MAX 1e9           /* transactions of one pair in one window */
#define SENSE_PRICE_MIN 1e-12         /* a quote's mid, a token's price */
#define SENSE_PRICE_MAX 1e9
#define SENSE_TIME_MAX 4102444800.0   /* 2100-01-01: the latest Unix time (s) believed */

struct sense_probe {
    int configured;          /* 0: no URL or no key: not probed */
    int ok;
    long http_status;        /* 0 when no answer */
    double latency_ms;
    char error[160];         /* empty when ok */
};

struct sense_quote {
    char pair[8];            /* "EURUSD" */
    double mid;
};

struct sense_token {
    char symbol[32];         /* untrusted market text, bounded, valid UTF-8 */
    char name[96];
    char url[160];           /* the pair's DexScreener page */
};

/* A DexScreener token profile (/token-profiles/latest/v1): what a token's
 * owner wrote about it.  All untrusted, bounded, valid UTF-8. */
struct sense_profile {
    char chain[24];
    char description[400];
    char link[160];          /* its first link's URL */
};

struct sense_market {
    /* crypto, from DexScreener search */
    int crypto_valid;
    int pairs;
    double crypto_volatility;   /* mean |priceChange.m5| over pairs, percent */
    double crypto_h1;           /* mean |priceChange.h1|, percent */
    double volume_m5_usd;
    long txns_m5;
    int new_pairs_1h;
    int ntokens;                /* base tokens of the first pairs */
    struct sense_token tokens[SENSE_MAX_TOKENS];
    int refused_values;         /* values refused (no number, not finite, out of bounds) */
    char refused_why[96];       /* the first refusal, "" when none */
    int nprofiles;              /* newest token profiles (DexScreener) */
    struct sense_profile profiles[SENSE_MAX_PROFILES];
    /* forex, from TraderMade live quotes */
    int forex_valid;
    int forex_stale;            /* provider timestamp older than 15 minutes */
    int nquotes;
    struct sense_quote quotes[SENSE_MAX_QUOTES];
    double forex_move_bp;       /* mean |mid change| since the previous cycle, basis points; <0 unknown */
    /* Pump.fun and Birdeye: read only to judge the sources' health */
    int pumpfun_coins;          /* coins in the answer with sane numbers */
    double sol_usd;             /* Birdeye's SOL price, 0 unknown */
    /* one figure for both: the larger of crypto_volatility and forex moves in percent */
    double volatility;
};

struct sense_recent {
    long long id;
    char mode[12];
    char status[16];
};

struct sense_history {
    int decisions_24h;
    int acted_24h;
    int succeeded_24h;
    int nrecent;
    struct sense_recent recent[SENSE_MAX_RECENT];   /* newest first */
    char last_mode[12];         /* "" when none */
};

struct learn;
struct usage_tally;

/* Why a decision was made now (decisions.wake). */
enum sense_wake { SENSE_WAKE_SCHEDULED = 0, SENSE_WAKE_EVENT, SENSE_WAKE_CONTROL, SENSE_WAKE_STARTUP, SENSE_WAKE_COUNT };

/* "scheduled", "event", "control", "startup" (static). */
const char *sense_wake_name(int w);

#define SENSE_WATCH_MARKETS 2          /* enum learn_market: crypto, forex */

/* What the minute-by-minute watch (worker/watch.c) says when the cycle runs. */
struct sense_watch {
    int covers[SENSE_WATCH_MARKETS];   /* it samples this market: its wake-ups stand in for
                                        * the fallback policy's own scans of it */
    double score[SENSE_WATCH_MARKETS], threshold[SENSE_WATCH_MARKETS];   /* threshold < 0: none yet */
    char instrument[SENSE_WATCH_MARKETS][64];     /* WATCH_NAME_MAX */
    long windows[SENSE_WATCH_MARKETS]; /* windows of history behind the threshold */
};

/* The wake-up of this decision. */
struct sense_wake_info {
    int kind;                          /* enum sense_wake */
    int market;                        /* SENSE_WAKE_EVENT: enum learn_market; else -1 */
    double value, threshold;           /* the event's score and the threshold it crossed */
    char signal[64];                   /* "activity:<instrument>" */
    long long command;                 /* SENSE_WAKE_CONTROL: the newest force command answered */
};

struct sense_snapshot {
    time_t now;
    struct session_state sessions;
    const char *session_label;  /* static, from sessions_label() */
    struct sense_probe probes[FEED_COUNT];
    struct sense_market market;
    double load1;
    int ncpu;
    double load_per_core;
    struct sense_history history;
    const struct learn *learn;  /* borrowed: what was learned so far, or NULL */
    /* set by the cycle after sensing: */
    const struct cfg *cfg;      /* borrowed: the settings the scan parameters of the
                                 * webhook bodies come from (act_payload), or NULL */
    struct sense_wake_info wake;   /* why now (set by the cycle) */
    const struct sense_watch *watch;   /* borrowed: the watch's figures, or NULL (no watch) */
    const struct usage_tally *usage;   /* borrowed: recent runs per workflow (limits, run budget), or NULL */
    unsigned char wf_blocked[CATALOG_SLOTS];   /* by registry slot; nonzero: left off the menu (deliver_menu_blocked) */
    char wf_blocked_why[CATALOG_SLOTS][120];
};

/* What the worker remembers between cycles (previous forex mids). */
struct sense_memory {
    int nquotes;
    struct sense_quote quotes[SENSE_MAX_QUOTES];
};

/* Start snap at now: zeroed, the forex sessions open at now (an error
 * logged when the tz database is missing), no forex move yet.  The live
 * cycle and the replay both begin their snapshot here. */
void sense_snapshot_begin(struct sense_snapshot *snap, time_t now);

/* Probe the sources and fill *snap (history left zeroed).  Never fails:
 * an unreachable source is recorded as not ok. */
void sense_collect(const struct cfg *c, struct sense_memory *mem, time_t now, struct sense_snapshot *snap);

/* ---- Parsing the sources' answers (worker/sense_parse.c) --------------------
 *
 * Pure functions, fuzzed (tests/fuzz/).  Whatever the body holds (wrong
 * types, huge or non-finite numbers, bytes that are not UTF-8, deep
 * nesting, a cut), they return 0 with finite numbers inside the bounds
 * above and bounded UTF-8 text, or -1 with the reason in err (printable,
 * valid UTF-8): the source is then unhealthy and the cycle goes on. */

/* Parse a DexScreener search/pairs body into m's crypto fields.  A value
 * that is no number, not finite or out of bounds is refused and counted
 * (m->refused_values, refused_why); a field refused in more pairs than it
 * was read, and in more than half of them, makes the whole answer
 * nonsense.  Returns 0, or -1 with err set (m's crypto fields then say
 * invalid). */
int sense_parse_dexscreener(const char *body, time_t now, struct sense_market *m, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Parse a DexScreener /token-profiles/latest/v1 answer (an array) into
 * m->profiles.  Returns 0, or -1 with err set (m->nprofiles is 0). */
int sense_parse_profiles(const char *body, struct sense_market *m, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Copy untrusted text into dst (cap bytes): cut on a character boundary,
 * anything that is not UTF-8 replaced by '?', control characters by spaces
 * (utf8_copy_clean). */
void sense_copy_text(char *dst, size_t cap, const char *src);

/* Parse a TraderMade /live body into m's forex fields, comparing with the
 * previous mids in mem (may be NULL) for forex_move_bp.  A quote whose
 * currencies are not three letters A-Z or whose mid is out of bounds is
 * refused; a timestamp out of bounds or more than an hour ahead of now
 * refuses the answer.  Returns 0 or -1. */
int sense_parse_tradermade(const char *body, time_t now, const struct sense_memory *mem,
                           struct sense_market *m, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Parse a Pump.fun answer (one coin object, or an array of them) into
 * m->pumpfun_coins.  Returns 0, or -1 with err set. */
int sense_parse_pumpfun(const char *body, struct sense_market *m, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Parse a Birdeye /defi/price answer ({"success":true,"data":{"value":..}})
 * into m->sol_usd.  Returns 0, or -1 with err set. */
int sense_parse_birdeye(const char *body, struct sense_market *m, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Parse /proc/loadavg text; returns the 1-minute load (0 .. 1e6) or -1. */
double sense_parse_loadavg(const char *text);

/* Percent-encode s for a URL query into out (cap bytes).  Returns 0 or -1 when it does not fit. */
int sense_urlencode(const char *s, char *out, size_t cap) __attribute__((warn_unused_result));

/* The snapshot as JSON (the decision's inputs).  With snap->learn set it
 * holds a "learning" object (learn_summary_json, current band and session
 * only), which the LLM prompt receives too.  Caller frees with json_object_put. */
json_object *sense_to_json(const struct sense_snapshot *snap);

/* The wake-up as {"reason", and for an event "market","signal","value",
 * "threshold"; for a control command "command_id"}.  Caller frees. */
json_object *sense_wake_json(const struct sense_wake_info *w);

/* The per-source health object kept in worker_state.sources.  Caller frees. */
json_object *sense_sources_json(const struct sense_snapshot *snap);


#endif
