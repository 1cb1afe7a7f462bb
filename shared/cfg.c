/* cfg: one table of every environment variable; see cfg.h. */
#include "config.h"
#include "cfg.h"

#ifndef ORCH_PROMPT_FILE
#define ORCH_PROMPT_FILE "/usr/local/share/ai-orchestrator/prompt.txt"
#endif
#ifndef ORCH_CATALOG_FILE
#define ORCH_CATALOG_FILE "/usr/local/share/ai-orchestrator/catalog/default.json"
#endif

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum cfg_type { CFG_STR, CFG_URL, CFG_INT, CFG_DBL, CFG_LEVEL };

#define CFG_SECRET 1

struct cfg_var {
    const char   *name;
    enum cfg_type type;
    size_t        off;
    const char   *def;
    double        min, max;
    int           flags;
};

#define O(f) offsetof(struct cfg, f)

static const struct cfg_var cfg_vars[] = {
    { "DATABASE_URL",            CFG_STR,   O(database_url),         "dbname=orchestrator user=orch_worker", 0, 0, CFG_SECRET },
    { "API_DATABASE_URL",        CFG_STR,   O(api_database_url),     "dbname=orchestrator user=orch_api", 0, 0, CFG_SECRET },
    { "ORCHESTRATOR_API_TOKEN",  CFG_STR,   O(api_token),            "", 0, 0, CFG_SECRET },
    { "ORCHESTRATOR_PORT",       CFG_INT,   O(port),                 "8080", 1, 65535, 0 },
    { "LOG_LEVEL",               CFG_LEVEL, O(log_level),            "info", 0, 0, 0 },
    { "N8N_BASE_URL",            CFG_URL,   O(n8n_base_url),         "", 0, 0, 0 },
    { "N8N_WEBHOOK_AUTH_HEADER", CFG_STR,   O(n8n_auth_header),      "", 0, 0, 0 },
    { "N8N_WEBHOOK_AUTH_VALUE",  CFG_STR,   O(n8n_auth_value),       "", 0, 0, CFG_SECRET },
    { "WEBHOOK_TIMEOUT_MS",      CFG_INT,   O(webhook_timeout_ms),   "10000", 100, 120000, 0 },
    { "DEXSCREENER_BASE_URL",    CFG_URL,   O(dexscreener_base_url), "https://api.dexscreener.com", 0, 0, 0 },
    { "DEXSCREENER_QUERY",       CFG_STR,   O(dexscreener_query),    "solana", 0, 0, 0 },
    { "PUMPFUN_BASE_URL",        CFG_URL,   O(pumpfun_base_url),     "https://frontend-api-v3.pump.fun", 0, 0, 0 },
    { "TRADERMADE_BASE_URL",     CFG_URL,   O(tradermade_base_url),  "https://marketdata.tradermade.com", 0, 0, 0 },
    { "TRADERMADE_API_KEY",      CFG_STR,   O(tradermade_api_key),   "", 0, 0, CFG_SECRET },
    { "FOREX_PAIRS",             CFG_STR,   O(forex_pairs),          "EURUSD,GBPUSD", 0, 0, 0 },
    { "BIRDEYE_BASE_URL",        CFG_URL,   O(birdeye_base_url),     "https://public-api.birdeye.so", 0, 0, 0 },
    { "BIRDEYE_API_KEY",         CFG_STR,   O(birdeye_api_key),      "", 0, 0, CFG_SECRET },
    { "PROBE_TIMEOUT_MS",        CFG_INT,   O(probe_timeout_ms),     "5000", 100, 60000, 0 },
    { "DEXSCREENER_TIMEOUT_MS",  CFG_INT,   O(feed_timeout_ms[FEED_DEXSCREENER]), "0", 0, 60000, 0 },
    { "PUMPFUN_TIMEOUT_MS",      CFG_INT,   O(feed_timeout_ms[FEED_PUMPFUN]), "0", 0, 60000, 0 },
    { "TRADERMADE_TIMEOUT_MS",   CFG_INT,   O(feed_timeout_ms[FEED_TRADERMADE]), "0", 0, 60000, 0 },
    { "BIRDEYE_TIMEOUT_MS",      CFG_INT,   O(feed_timeout_ms[FEED_BIRDEYE]), "0", 0, 60000, 0 },
    { "DECISION_MIN_SECONDS",    CFG_INT,   O(decision_min_seconds), "60", 5, 86400, 0 },
    { "DECISION_MAX_SECONDS",    CFG_INT,   O(decision_max_seconds), "3600", 5, 86400, 0 },
    { "LOAD_HIGH",               CFG_DBL,   O(load_high),            "0.9", 0.01, 1000, 0 },
    { "VOLATILITY_HIGH",         CFG_DBL,   O(volatility_high),      "3.0", 0, 1000, 0 },
    { "VOLATILITY_LOW",          CFG_DBL,   O(volatility_low),       "0.5", 0, 1000, 0 },
    { "LEARN_SEED",              CFG_INT,   O(learn_seed),           "1", 0, 2147483647, 0 },
    { "LEARN_HALF_LIFE_HOURS",   CFG_DBL,   O(learn_half_life_hours), "168", 1, 8760, 0 },
    { "LEARN_RUN_COST",          CFG_DBL,   O(learn_run_cost),       "1.0", 0.01, 100, 0 },
    { "LEARN_EPSILON",           CFG_DBL,   O(learn_epsilon),        "0.05", 0, 1, 0 },
    { "LEARN_MAX_STALE_MINUTES", CFG_INT,   O(learn_max_stale_minutes), "60", 1, 1440, 0 },
    { "LEARN_WINDOW_MINUTES",    CFG_INT,   O(learn_window_minutes), "15", 1, 240, 0 },
    { "GROQ_API_KEY",            CFG_STR,   O(groq_api_key),         "", 0, 0, CFG_SECRET },
    { "GROQ_BASE_URL",           CFG_URL,   O(groq_base_url),        "https://api.groq.com/openai/v1", 0, 0, 0 },
    { "GROQ_MODEL",              CFG_STR,   O(groq_model),           "llama-3.3-70b-versatile", 0, 0, 0 },
    { "OPENAI_API_KEY",          CFG_STR,   O(openai_api_key),       "", 0, 0, CFG_SECRET },
    { "OPENAI_BASE_URL",         CFG_URL,   O(openai_base_url),      "https://api.openai.com/v1", 0, 0, 0 },
    { "OPENAI_MODEL",            CFG_STR,   O(openai_model),         "gpt-4o-mini", 0, 0, 0 },
    { "LLM_BASE_URL",            CFG_URL,   O(llm_base_url),         "", 0, 0, 0 },
    { "LLM_API_KEY",             CFG_STR,   O(llm_api_key),          "", 0, 0, CFG_SECRET },
    { "LLM_MODEL",               CFG_STR,   O(llm_model),            "local-model", 0, 0, 0 },
    { "LLM_PROMPT_FILE",         CFG_STR,   O(llm_prompt_file),      ORCH_PROMPT_FILE, 0, 0, 0 },
    { "LLM_TIMEOUT_MS",          CFG_INT,   O(llm_timeout_ms),       "15000", 500, 300000, 0 },
    { "LLM_CYCLE_BUDGET_MS",     CFG_INT,   O(llm_cycle_budget_ms),  "25000", 500, 600000, 0 },
    { "LLM_MAX_CALLS_PER_HOUR",  CFG_INT,   O(llm_max_calls_per_hour), "60", 0, 4000, 0 },
    { "LLM_MAX_TOKENS_PER_DAY",  CFG_INT,   O(llm_max_tokens_per_day), "500000", 0, 1000000000, 0 },
    { "LLM_MAX_COMPLETION_TOKENS", CFG_INT, O(llm_max_completion_tokens), "400", 16, 32768, 0 },
    { "LLM_TEMPERATURE",         CFG_DBL,   O(llm_temperature),      "0.2", 0, 2, 0 },
    { "LLM_BREAKER_FAILURES",    CFG_INT,   O(llm_breaker_failures), "3", 1, 100, 0 },
    { "LLM_BREAKER_COOLDOWN_SECONDS", CFG_INT, O(llm_breaker_cooldown_seconds), "300", 1, 86400, 0 },
    { "HEARTBEAT_SECONDS",       CFG_INT,   O(heartbeat_seconds),    "5", 1, 300, 0 },
    { "PROBE_RETENTION_HOURS",   CFG_INT,   O(probe_retention_hours), "168", 1, 87600, 0 },
    { "TELEGRAM_BOT_TOKEN",      CFG_STR,   O(telegram_bot_token),   "", 0, 0, CFG_SECRET },
    { "TELEGRAM_CHAT_ID",        CFG_STR,   O(telegram_chat_id),     "", 0, 0, 0 },
    { "TELEGRAM_BASE_URL",       CFG_URL,   O(telegram_base_url),    "https://api.telegram.org", 0, 0, 0 },
    { "ALERT_FALLBACK_STREAK",   CFG_INT,   O(alert_fallback_streak), "5", 1, 1000, 0 },
    { "N8N_API_URL",             CFG_URL,   O(n8n_api_url),          "", 0, 0, 0 },
    { "N8N_API_KEY",             CFG_STR,   O(n8n_api_key),          "", 0, 0, CFG_SECRET },
    { "N8N_OWNER_EMAIL",         CFG_STR,   O(n8n_owner_email),      "", 0, 0, 0 },
    { "N8N_OWNER_PASSWORD",      CFG_STR,   O(n8n_owner_password),   "", 0, 0, CFG_SECRET },
    { "TRACK_TIMEOUT_SECONDS",   CFG_INT,   O(track_timeout_seconds), "1800", 5, 604800, 0 },
    { "ORCH_RESULTS_TOKEN",      CFG_STR,   O(results_token),        "", 0, 0, CFG_SECRET },
    { "WEBHOOK_MAX_ATTEMPTS",    CFG_INT,   O(webhook_max_attempts), "3", 1, 10, 0 },
    { "WEBHOOK_RETRY_BASE_MS",   CFG_INT,   O(webhook_retry_base_ms), "1000", 50, 600000, 0 },
    { "WEBHOOK_RETRY_MAX_MS",    CFG_INT,   O(webhook_retry_max_ms), "30000", 50, 3600000, 0 },
    { "WORKFLOW_BREAKER_FAILURES", CFG_INT, O(workflow_breaker_failures), "3", 1, 100, 0 },
    { "WORKFLOW_BREAKER_COOLDOWN_SECONDS", CFG_INT, O(workflow_breaker_cooldown_seconds), "300", 1, 86400, 0 },
    { "WORKFLOW_CONCURRENCY",    CFG_STR,   O(workflow_concurrency), "", 0, 0, 0 },
    { "TRACK_POLL_SECONDS",      CFG_INT,   O(track_poll_seconds),   "5", 1, 3600, 0 },
    { "N8N_WORKFLOWS_REFRESH_SECONDS", CFG_INT, O(n8n_workflows_refresh_seconds), "300", 5, 86400, 0 },
    { "LEADER_TAKEOVER_SECONDS", CFG_INT,   O(leader_takeover_seconds), "15", 3, 600, 0 },
    { "OUTBOX_MAX_AGE_SECONDS",  CFG_INT,   O(outbox_max_age_seconds), "900", 10, 86400, 0 },
    { "WORKFLOW_CLAIMS",         CFG_STR,   O(workflow_claims),      "", 0, 0, 0 },
    { "CATALOG_FILE",            CFG_STR,   O(catalog_file),         ORCH_CATALOG_FILE, 0, 0, 0 },
    { "RUN_BUDGET_PER_HOUR",     CFG_DBL,   O(run_budget_per_hour),  "0", 0, 1000000, 0 },
    { "N8N_DISCOVERY_TAG",       CFG_STR,   O(n8n_discovery_tag),    "orchestrator", 0, 0, 0 },
};

#define CFG_NVARS (sizeof cfg_vars / sizeof cfg_vars[0])

size_t cfg_count(void) { return CFG_NVARS; }
const char *cfg_name(size_t i) { return i < CFG_NVARS ? cfg_vars[i].name : NULL; }
int cfg_is_secret(size_t i) { return i < CFG_NVARS && (cfg_vars[i].flags & CFG_SECRET); }

static const char *cfg_env(const char *name, void *ctx)
{
    (void)ctx;
    return getenv(name);
}

/* Parse one value into its field.  Returns 0 or -1 with err set. */
static int cfg_set(struct cfg *c, const struct cfg_var *v, const char *val,
                   char *err, size_t errlen)
{
    char *field = (char *)c + v->off;
    char *end;

    switch (v->type) {
    case CFG_INT: {
        errno = 0;
        long n = strtol(val, &end, 10);
        if (errno || end == val || *end || n < (long)v->min || n > (long)v->max) {
            snprintf(err, errlen, "%s: expected an integer from %.0f to %.0f, got \"%.40s\"",
                     v->name, v->min, v->max, (v->flags & CFG_SECRET) ? "(hidden)" : val);
            return -1;
        }
        *(long *)(void *)field = n;
        return 0;
    }
    case CFG_DBL: {
        errno = 0;
        double d = strtod(val, &end);
        if (errno || end == val || *end || !isfinite(d) || d < v->min || d > v->max) {
            snprintf(err, errlen, "%s: expected a number from %g to %g, got \"%.40s\"",
                     v->name, v->min, v->max, val);
            return -1;
        }
        *(double *)(void *)field = d;
        return 0;
    }
    case CFG_LEVEL:
        if (strcmp(val, "debug") && strcmp(val, "info") && strcmp(val, "warn") && strcmp(val, "error")) {
            snprintf(err, errlen, "%s: expected debug, info, warn or error, got \"%.40s\"", v->name, val);
            return -1;
        }
        break;
    case CFG_URL:
        if (*val && strncmp(val, "http://", 7) && strncmp(val, "https://", 8)) {
            snprintf(err, errlen, "%s: expected an http:// or https:// URL (or nothing), got \"%.60s\"",
                     v->name, val);
            return -1;
        }
        /* "http://" alone would lose its slashes below and become "http:" */
        if (*val && (val[val[4] == 's' ? 8 : 7] == '\0' || val[val[4] == 's' ? 8 : 7] == '/')) {
            snprintf(err, errlen, "%s: URL has no host, got \"%.60s\"", v->name, val);
            return -1;
        }
        if (strpbrk(val, " \t\r\n\"'<>\\")) {
            snprintf(err, errlen, "%s: URL contains a space, quote or control character", v->name);
            return -1;
        }
        break;
    case CFG_STR:
        break;
    }
    for (const char *p = val; *p; p++) {
        if ((unsigned char)*p < 0x20) {
            snprintf(err, errlen, "%s: contains a control character", v->name);
            return -1;
        }
    }
    size_t n = strlen(val);
    if (n > 4096) {
        snprintf(err, errlen, "%s: longer than 4096 bytes", v->name);
        return -1;
    }
    char *s = strdup(val);
    if (!s) {
        snprintf(err, errlen, "%s: out of memory", v->name);
        return -1;
    }
    /* a URL's trailing slash would double in base + "/path" */
    if (v->type == CFG_URL)
        while (n > 0 && s[n - 1] == '/')
            s[--n] = '\0';
    *(char **)(void *)field = s;
    return 0;
}

/* FOREX_PAIRS: 1 to 8 upper-case six-letter pairs separated by commas.
 * Returns 0 or -1. */
static int cfg_check_pairs(const char *s)
{
    int n = 0;
    while (*s) {
        for (int i = 0; i < 6; i++, s++)
            if (*s < 'A' || *s > 'Z')
                return -1;
        n++;
        if (*s == ',' && s[1])
            s++;
        else if (*s)
            return -1;
    }
    return n >= 1 && n <= 8 ? 0 : -1;
}

int cfg_load_from(struct cfg *c, cfg_getter get, void *ctx, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < CFG_NVARS; i++) {
        const struct cfg_var *v = &cfg_vars[i];
        const char *val = get(v->name, ctx);
        if (!val)
            val = v->def;
        if (cfg_set(c, v, val, err, errlen) < 0) {
            cfg_free(c);
            return -1;
        }
    }
    if (c->decision_min_seconds > c->decision_max_seconds) {
        snprintf(err, errlen, "DECISION_MIN_SECONDS (%ld) is greater than DECISION_MAX_SECONDS (%ld)",
                 c->decision_min_seconds, c->decision_max_seconds);
        cfg_free(c);
        return -1;
    }
    if (c->volatility_low > c->volatility_high) {
        snprintf(err, errlen, "VOLATILITY_LOW (%g) is greater than VOLATILITY_HIGH (%g)",
                 c->volatility_low, c->volatility_high);
        cfg_free(c);
        return -1;
    }
    if (!*c->n8n_auth_header != !*c->n8n_auth_value) {
        snprintf(err, errlen, "N8N_WEBHOOK_AUTH_HEADER and N8N_WEBHOOK_AUTH_VALUE must be set together");
        cfg_free(c);
        return -1;
    }
    if (cfg_check_pairs(c->forex_pairs) < 0) {
        snprintf(err, errlen, "FOREX_PAIRS: expected comma-separated six-letter pairs like EURUSD,GBPUSD (at most 8)");
        cfg_free(c);
        return -1;
    }
    if (!*c->dexscreener_query || strlen(c->dexscreener_query) > 100) {
        snprintf(err, errlen, "DEXSCREENER_QUERY: expected 1 to 100 characters");
        cfg_free(c);
        return -1;
    }
    if (!*c->n8n_owner_email != !*c->n8n_owner_password) {
        snprintf(err, errlen, "N8N_OWNER_EMAIL and N8N_OWNER_PASSWORD must be set together");
        cfg_free(c);
        return -1;
    }
    if (strlen(c->n8n_owner_email) > 254 || strlen(c->n8n_owner_password) > 512) {
        snprintf(err, errlen, "N8N_OWNER_EMAIL (at most 254 bytes) or N8N_OWNER_PASSWORD (at most 512) too long");
        cfg_free(c);
        return -1;
    }
    for (const char *p = c->n8n_auth_header; *p; p++) {
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-')) {
            snprintf(err, errlen, "N8N_WEBHOOK_AUTH_HEADER: a header name takes letters, digits and '-'");
            cfg_free(c);
            return -1;
        }
    }
    return 0;
}

int cfg_load(struct cfg *c, char *err, size_t errlen)
{
    return cfg_load_from(c, cfg_env, NULL, err, errlen);
}

void cfg_free(struct cfg *c)
{
    for (size_t i = 0; i < CFG_NVARS; i++) {
        const struct cfg_var *v = &cfg_vars[i];
        if (v->type == CFG_STR || v->type == CFG_URL || v->type == CFG_LEVEL) {
            char **p = (char **)(void *)((char *)c + v->off);
            free(*p);
            *p = NULL;
        }
    }
}
