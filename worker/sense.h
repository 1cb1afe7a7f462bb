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
    int nprofiles;              /* newest token profiles (DexScreener) */
    struct sense_profile profiles[SENSE_MAX_PROFILES];
    /* forex, from TraderMade live quotes */
    int forex_valid;
    int forex_stale;            /* provider timestamp older than 15 minutes */
    int nquotes;
    struct sense_quote quotes[SENSE_MAX_QUOTES];
    double forex_move_bp;       /* mean |mid change| since the previous cycle, basis points; <0 unknown */
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
    const struct usage_tally *usage;   /* borrowed: recent runs per workflow (limits, run budget), or NULL */
    unsigned char wf_blocked[CATALOG_SLOTS];   /* by registry slot; nonzero: left off the menu (deliver_menu_blocked) */
    char wf_blocked_why[CATALOG_SLOTS][120];
};

/* What the worker remembers between cycles (previous forex mids). */
struct sense_memory {
    int nquotes;
    struct sense_quote quotes[SENSE_MAX_QUOTES];
};

/* Probe the sources and fill *snap (history left zeroed).  Never fails:
 * an unreachable source is recorded as not ok. */
void sense_collect(const struct cfg *c, struct sense_memory *mem, time_t now, struct sense_snapshot *snap);

/* Parse a DexScreener search/pairs body into m's crypto fields.
 * Returns 0, or -1 with err set (m's crypto fields then say invalid). */
int sense_parse_dexscreener(const char *body, time_t now, struct sense_market *m, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Parse a TraderMade /live body into m's forex fields, comparing with the
 * previous mids in mem (may be NULL) for forex_move_bp.  Returns 0 or -1. */
/* Parse a DexScreener /token-profiles/latest/v1 answer (an array) into
 * m->profiles.  Returns 0, or -1 with err set (m->nprofiles is 0). */
int sense_parse_profiles(const char *body, struct sense_market *m, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Copy untrusted text into dst (cap bytes): cut on a character boundary,
 * anything that is not UTF-8 replaced by '?'. */
void sense_copy_text(char *dst, size_t cap, const char *src);

int sense_parse_tradermade(const char *body, time_t now, const struct sense_memory *mem,
                           struct sense_market *m, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Parse /proc/loadavg text; returns the 1-minute load or -1. */
double sense_parse_loadavg(const char *text);

/* Percent-encode s for a URL query into out (cap bytes).  Returns 0 or -1 when it does not fit. */
int sense_urlencode(const char *s, char *out, size_t cap) __attribute__((warn_unused_result));

/* The snapshot as JSON (the decision's inputs).  With snap->learn set it
 * holds a "learning" object (learn_summary_json, current band and session
 * only), which the LLM prompt receives too.  Caller frees with json_object_put. */
json_object *sense_to_json(const struct sense_snapshot *snap);

/* The per-source health object kept in worker_state.sources.  Caller frees. */
json_object *sense_sources_json(const struct sense_snapshot *snap);

/* Format t as ISO-8601 UTC ("2026-11-23T21:50:00Z") into out[32]. */
void sense_iso8601(time_t t, char out[32]);

#endif
