/* catalog: the fixed vocabulary of decisions; see catalog.h. */
#include "config.h"
#include "catalog.h"

#include <string.h>

static const char *const mode_names[MODE_COUNT] = { "crypto", "forex", "hybrid", "standby" };
static const char *const intensity_names[INTENSITY_COUNT] = { "aggressive", "normal", "light" };
static const char *const source_names[SOURCE_COUNT] = { "llm", "fallback", "forced" };
static const char *const feed_names[FEED_COUNT] = { "dexscreener", "pumpfun", "tradermade", "birdeye" };

static const struct catalog_wf workflows[WF_COUNT] = {
    [WF_CRYPTO_AGGRESSIVE] = { "crypto-aggressive-scan", "Crypto scan, aggressive: new pairs and momentum, wide net",
                               MARKET_CRYPTO, INTENSITY_AGGRESSIVE, FEED_DEXSCREENER },
    [WF_CRYPTO_NORMAL]     = { "crypto-normal-scan", "Crypto scan, normal depth",
                               MARKET_CRYPTO, INTENSITY_NORMAL, FEED_DEXSCREENER },
    [WF_CRYPTO_LIGHT]      = { "crypto-light-monitoring", "Crypto monitoring, light: watch known pairs",
                               MARKET_CRYPTO, INTENSITY_LIGHT, FEED_DEXSCREENER },
    [WF_FOREX_LONDON]      = { "forex-london-session", "Forex scan for the London session",
                               MARKET_FOREX, WF_ANY_INTENSITY, FEED_TRADERMADE },
    [WF_FOREX_NEWYORK]     = { "forex-newyork-session", "Forex scan for the New York session",
                               MARKET_FOREX, WF_ANY_INTENSITY, FEED_TRADERMADE },
    [WF_FOREX_ASIA]        = { "forex-asia-session", "Forex scan for the Sydney and Tokyo sessions",
                               MARKET_FOREX, WF_ANY_INTENSITY, FEED_TRADERMADE },
    [WF_HEALTH_CHECK]      = { "health-monitor-check", "Health check of data sources and workflows",
                               MARKET_SYSTEM, WF_ANY_INTENSITY, -1 },
    [WF_DEEP_ANALYSIS]     = { "deep-market-analysis", "Deep cross-market analysis (expensive)",
                               MARKET_BOTH, INTENSITY_AGGRESSIVE, FEED_DEXSCREENER },
};

#define NAME_OF(arr, n, i) ((i) >= 0 && (i) < (n) ? (arr)[i] : "unknown")

const char *catalog_mode_name(int m) { return NAME_OF(mode_names, MODE_COUNT, m); }
const char *catalog_intensity_name(int i) { return NAME_OF(intensity_names, INTENSITY_COUNT, i); }
const char *catalog_source_name(int s) { return NAME_OF(source_names, SOURCE_COUNT, s); }
const char *catalog_feed_name(int f) { return NAME_OF(feed_names, FEED_COUNT, f); }

static int catalog_find(const char *const *names, int n, const char *s)
{
    if (!s)
        return -1;
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], s) == 0)
            return i;
    return -1;
}

int catalog_mode_parse(const char *s) { return catalog_find(mode_names, MODE_COUNT, s); }
int catalog_intensity_parse(const char *s) { return catalog_find(intensity_names, INTENSITY_COUNT, s); }
int catalog_feed_parse(const char *s) { return catalog_find(feed_names, FEED_COUNT, s); }

int catalog_workflow_parse(const char *s)
{
    if (!s)
        return -1;
    for (int i = 0; i < WF_COUNT; i++)
        if (strcmp(workflows[i].path, s) == 0)
            return i;
    return -1;
}

const struct catalog_wf *catalog_workflow(int w)
{
    return w >= 0 && w < WF_COUNT ? &workflows[w] : NULL;
}
