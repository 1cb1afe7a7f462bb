/* catalog: the fixed vocabulary of decisions.
 *
 * Modes, intensities, decision sources, data sources and the eight n8n
 * workflows, each with one function mapping the enum to the string that the
 * SQL CHECK constraints, the API and the LLM use, and one parsing it back. */
#ifndef CATALOG_H
#define CATALOG_H

enum catalog_mode {
    MODE_CRYPTO = 0, MODE_FOREX, MODE_HYBRID, MODE_STANDBY, MODE_COUNT
};
enum catalog_intensity {
    INTENSITY_AGGRESSIVE = 0, INTENSITY_NORMAL, INTENSITY_LIGHT, INTENSITY_COUNT
};
enum catalog_source {
    SOURCE_LLM = 0, SOURCE_FALLBACK, SOURCE_FORCED, SOURCE_COUNT
};
enum catalog_feed {
    FEED_DEXSCREENER = 0, FEED_PUMPFUN, FEED_TRADERMADE, FEED_BIRDEYE, FEED_COUNT
};
enum catalog_workflow {
    WF_CRYPTO_AGGRESSIVE = 0,
    WF_CRYPTO_NORMAL,
    WF_CRYPTO_LIGHT,
    WF_FOREX_LONDON,
    WF_FOREX_NEWYORK,
    WF_FOREX_ASIA,
    WF_HEALTH_CHECK,
    WF_DEEP_ANALYSIS,
    WF_COUNT
};

/* What a workflow is for: its market and intensity (WF_ANY for the
 * health check, which fits every intensity). */
enum catalog_market { MARKET_CRYPTO, MARKET_FOREX, MARKET_SYSTEM, MARKET_BOTH };
#define WF_ANY_INTENSITY (-1)

struct catalog_wf {
    const char *path;                /* webhook path, e.g. "crypto-aggressive-scan" */
    const char *title;               /* one line for people */
    enum catalog_market market;
    int intensity;                   /* enum catalog_intensity or WF_ANY_INTENSITY */
    int feed;                        /* the market source it scans, or -1 */
};

/* Static strings; "unknown" for out-of-range values. */
const char *catalog_mode_name(int m);
const char *catalog_intensity_name(int i);
const char *catalog_source_name(int s);
const char *catalog_feed_name(int f);

/* Parse a name back; returns the enum value or -1. */
int catalog_mode_parse(const char *s);
int catalog_intensity_parse(const char *s);
int catalog_feed_parse(const char *s);
int catalog_workflow_parse(const char *s);

/* The workflow's catalog entry (static), or NULL when out of range. */
const struct catalog_wf *catalog_workflow(int w);

#endif
