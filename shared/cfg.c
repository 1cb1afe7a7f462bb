/* cfg: one table of every environment variable; see cfg.h. */
#include "config.h"
#include "cfg.h"
#include "utf8.h"

#ifndef ORCH_PROMPT_FILE
#define ORCH_PROMPT_FILE "/usr/local/share/ai-orchestrator/prompt.txt"
#endif
#ifndef ORCH_CATALOG_FILE
#define ORCH_CATALOG_FILE "/usr/local/share/ai-orchestrator/catalog/default.json"
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

enum cfg_type { CFG_STR, CFG_URL, CFG_INT, CFG_DBL, CFG_LEVEL, CFG_PATH, CFG_ADDR };

/* flags: a secret never appears in a message, and may come from NAME_FILE */
#define CFG_SECRET 1

/* The longest value, and the largest NAME_FILE a secret is read from. */
#define CFG_MAX_VALUE 4096

struct cfg_var {
    const char   *name;
    enum cfg_type type;
    size_t        off;
    const char   *def;
    double        min, max;
    int           flags;
    unsigned      progs;     /* CFG_PROG_* that read it; others get the default */
};

#define O(f) offsetof(struct cfg, f)
/* who reads a setting: the worker, the API, orch-replay, orchctl */
#define W CFG_PROG_WORKER
#define A CFG_PROG_API
#define R CFG_PROG_REPLAY
#define C CFG_PROG_CTL

static const struct cfg_var cfg_vars[] = {
    { "DATABASE_URL",            CFG_STR,   O(database_url),         "dbname=orchestrator user=orch_worker", 0, 0, CFG_SECRET, W|R },
    { "API_DATABASE_URL",        CFG_STR,   O(api_database_url),     "dbname=orchestrator user=orch_api", 0, 0, CFG_SECRET, A },
    { "ORCHESTRATOR_API_TOKEN",  CFG_STR,   O(api_token),            "", 0, 0, CFG_SECRET, A|C },
    { "ORCHESTRATOR_PORT",       CFG_INT,   O(port),                 "8080", 1, 65535, 0, A },
    { "LOG_LEVEL",               CFG_LEVEL, O(log_level),            "info", 0, 0, 0, W|A|R },
    { "LOG_FILE",                CFG_PATH,  O(log_file),             "", 0, 0, 0, W|A|R },
    { "ORCHESTRATOR_LISTEN",     CFG_ADDR,  O(listen),               "127.0.0.1", 0, 0, 0, A },
    { "ORCH_URL",                CFG_URL,   O(url),                  "http://127.0.0.1:8080", 0, 0, 0, C },
    { "N8N_BASE_URL",            CFG_URL,   O(n8n_base_url),         "", 0, 0, 0, W|R },
    { "N8N_WEBHOOK_AUTH_HEADER", CFG_STR,   O(n8n_auth_header),      "", 0, 0, 0, W },
    { "N8N_WEBHOOK_AUTH_VALUE",  CFG_STR,   O(n8n_auth_value),       "", 0, 0, CFG_SECRET, W },
    { "WEBHOOK_TIMEOUT_MS",      CFG_INT,   O(webhook_timeout_ms),   "10000", 100, 120000, 0, W|R },
    { "DEXSCREENER_BASE_URL",    CFG_URL,   O(dexscreener_base_url), "https://api.dexscreener.com", 0, 0, 0, W|R },
    { "DEXSCREENER_QUERY",       CFG_STR,   O(dexscreener_query),    "solana", 0, 0, 0, W|R },
    { "PUMPFUN_BASE_URL",        CFG_URL,   O(pumpfun_base_url),     "https://frontend-api-v3.pump.fun", 0, 0, 0, W|R },
    { "TRADERMADE_BASE_URL",     CFG_URL,   O(tradermade_base_url),  "https://marketdata.tradermade.com", 0, 0, 0, W|R },
    { "TRADERMADE_API_KEY",      CFG_STR,   O(tradermade_api_key),   "", 0, 0, CFG_SECRET, W|R },
    { "FOREX_PAIRS",             CFG_STR,   O(forex_pairs),          "EURUSD,GBPUSD", 0, 0, 0, W|R },
    { "BIRDEYE_BASE_URL",        CFG_URL,   O(birdeye_base_url),     "https://public-api.birdeye.so", 0, 0, 0, W|R },
    { "BIRDEYE_API_KEY",         CFG_STR,   O(birdeye_api_key),      "", 0, 0, CFG_SECRET, W|R },
    { "PROBE_TIMEOUT_MS",        CFG_INT,   O(probe_timeout_ms),     "5000", 100, 60000, 0, W|R },
    { "DEXSCREENER_TIMEOUT_MS",  CFG_INT,   O(feed_timeout_ms[FEED_DEXSCREENER]), "0", 0, 60000, 0, W|R },
    { "PUMPFUN_TIMEOUT_MS",      CFG_INT,   O(feed_timeout_ms[FEED_PUMPFUN]), "0", 0, 60000, 0, W|R },
    { "TRADERMADE_TIMEOUT_MS",   CFG_INT,   O(feed_timeout_ms[FEED_TRADERMADE]), "0", 0, 60000, 0, W|R },
    { "BIRDEYE_TIMEOUT_MS",      CFG_INT,   O(feed_timeout_ms[FEED_BIRDEYE]), "0", 0, 60000, 0, W|R },
    { "DECISION_MIN_SECONDS",    CFG_INT,   O(decision_min_seconds), "60", 5, 86400, 0, W|A|R },
    { "DECISION_MAX_SECONDS",    CFG_INT,   O(decision_max_seconds), "3600", 5, 86400, 0, W|A|R },
    { "LOAD_HIGH",               CFG_DBL,   O(load_high),            "0.9", 0.01, 1000, 0, W|R },
    { "VOLATILITY_HIGH",         CFG_DBL,   O(volatility_high),      "3.0", 0, 1000, 0, W|R },
    { "VOLATILITY_LOW",          CFG_DBL,   O(volatility_low),       "0.5", 0, 1000, 0, W|R },
    { "LEARN_SEED",              CFG_INT,   O(learn_seed),           "1", 0, 2147483647, 0, W|R },
    { "LEARN_HALF_LIFE_HOURS",   CFG_DBL,   O(learn_half_life_hours), "168", 1, 8760, 0, W|R },
    { "LEARN_RUN_COST",          CFG_DBL,   O(learn_run_cost),       "1.0", 0.01, 100, 0, W|R },
    { "LEARN_EPSILON",           CFG_DBL,   O(learn_epsilon),        "0.05", 0, 1, 0, W|R },
    { "LEARN_MAX_STALE_MINUTES", CFG_INT,   O(learn_max_stale_minutes), "60", 1, 1440, 0, W|R },
    { "LEARN_WINDOW_MINUTES",    CFG_INT,   O(learn_window_minutes), "15", 1, 240, 0, W|R },
    { "GROQ_API_KEY",            CFG_STR,   O(groq_api_key),         "", 0, 0, CFG_SECRET, W|R },
    { "GROQ_BASE_URL",           CFG_URL,   O(groq_base_url),        "https://api.groq.com/openai/v1", 0, 0, 0, W|R },
    { "GROQ_MODEL",              CFG_STR,   O(groq_model),           "llama-3.3-70b-versatile", 0, 0, 0, W|R },
    { "OPENAI_API_KEY",          CFG_STR,   O(openai_api_key),       "", 0, 0, CFG_SECRET, W|R },
    { "OPENAI_BASE_URL",         CFG_URL,   O(openai_base_url),      "https://api.openai.com/v1", 0, 0, 0, W|R },
    { "OPENAI_MODEL",            CFG_STR,   O(openai_model),         "gpt-4o-mini", 0, 0, 0, W|R },
    { "LLM_BASE_URL",            CFG_URL,   O(llm_base_url),         "", 0, 0, 0, W|R },
    { "LLM_API_KEY",             CFG_STR,   O(llm_api_key),          "", 0, 0, CFG_SECRET, W|R },
    { "LLM_MODEL",               CFG_STR,   O(llm_model),            "local-model", 0, 0, 0, W|R },
    { "LLM_PROMPT_FILE",         CFG_STR,   O(llm_prompt_file),      ORCH_PROMPT_FILE, 0, 0, 0, W|R },
    { "LLM_TIMEOUT_MS",          CFG_INT,   O(llm_timeout_ms),       "15000", 500, 300000, 0, W|R },
    { "LLM_CYCLE_BUDGET_MS",     CFG_INT,   O(llm_cycle_budget_ms),  "25000", 500, 600000, 0, W|R },
    { "LLM_MAX_CALLS_PER_HOUR",  CFG_INT,   O(llm_max_calls_per_hour), "60", 0, 4000, 0, W|R },
    { "LLM_MAX_TOKENS_PER_DAY",  CFG_INT,   O(llm_max_tokens_per_day), "500000", 0, 1000000000, 0, W|R },
    { "LLM_MAX_COMPLETION_TOKENS", CFG_INT, O(llm_max_completion_tokens), "400", 16, 32768, 0, W|R },
    { "LLM_TEMPERATURE",         CFG_DBL,   O(llm_temperature),      "0.2", 0, 2, 0, W|R },
    { "LLM_BREAKER_FAILURES",    CFG_INT,   O(llm_breaker_failures), "3", 1, 100, 0, W|R },
    { "LLM_BREAKER_COOLDOWN_SECONDS", CFG_INT, O(llm_breaker_cooldown_seconds), "300", 1, 86400, 0, W|R },
    { "HEARTBEAT_SECONDS",       CFG_INT,   O(heartbeat_seconds),    "5", 1, 300, 0, W|A },
    { "PROBE_RETENTION_HOURS",   CFG_INT,   O(probe_retention_hours), "168", 1, 87600, 0, W },
    { "DECISION_RETENTION_DAYS", CFG_INT,   O(decision_retention_days), "90", 2, 36500, 0, W },
    { "RESULT_RETENTION_DAYS",   CFG_INT,   O(result_retention_days), "90", 2, 36500, 0, W },
    { "LLM_CALL_RETENTION_DAYS", CFG_INT,   O(llm_call_retention_days), "90", 2, 36500, 0, W },
    { "COMMAND_RETENTION_DAYS",  CFG_INT,   O(command_retention_days), "90", 2, 36500, 0, W },
    { "RETENTION_BATCH_ROWS",    CFG_INT,   O(retention_batch_rows), "500", 1, 100000, 0, W },
    { "RETENTION_BUDGET_MS",     CFG_INT,   O(retention_budget_ms),  "250", 10, 60000, 0, W },
    { "RETENTION_INTERVAL_SECONDS", CFG_INT, O(retention_interval_seconds), "60", 5, 86400, 0, W },
    { "TELEGRAM_BOT_TOKEN",      CFG_STR,   O(telegram_bot_token),   "", 0, 0, CFG_SECRET, W },
    { "TELEGRAM_CHAT_ID",        CFG_STR,   O(telegram_chat_id),     "", 0, 0, 0, W },
    { "TELEGRAM_BASE_URL",       CFG_URL,   O(telegram_base_url),    "https://api.telegram.org", 0, 0, 0, W },
    { "TELEGRAM_COMMANDS",       CFG_INT,   O(telegram_commands),    "1", 0, 1, 0, W },
    { "TELEGRAM_POLL_SECONDS",   CFG_INT,   O(telegram_poll_seconds), "25", 1, 50, 0, W },
    { "ALERT_FALLBACK_STREAK",   CFG_INT,   O(alert_fallback_streak), "5", 1, 1000, 0, W },
    { "N8N_API_URL",             CFG_URL,   O(n8n_api_url),          "", 0, 0, 0, W },
    { "N8N_API_KEY",             CFG_STR,   O(n8n_api_key),          "", 0, 0, CFG_SECRET, W },
    { "N8N_OWNER_EMAIL",         CFG_STR,   O(n8n_owner_email),      "", 0, 0, 0, W },
    { "N8N_OWNER_PASSWORD",      CFG_STR,   O(n8n_owner_password),   "", 0, 0, CFG_SECRET, W },
    { "TRACK_TIMEOUT_SECONDS",   CFG_INT,   O(track_timeout_seconds), "1800", 5, 604800, 0, W|R },
    { "ORCH_RESULTS_TOKEN",      CFG_STR,   O(results_token),        "", 0, 0, CFG_SECRET, W|A|R },
    { "WEBHOOK_MAX_ATTEMPTS",    CFG_INT,   O(webhook_max_attempts), "3", 1, 10, 0, W|R },
    { "WEBHOOK_RETRY_BASE_MS",   CFG_INT,   O(webhook_retry_base_ms), "1000", 50, 600000, 0, W|R },
    { "WEBHOOK_RETRY_MAX_MS",    CFG_INT,   O(webhook_retry_max_ms), "30000", 50, 3600000, 0, W|R },
    { "WORKFLOW_BREAKER_FAILURES", CFG_INT, O(workflow_breaker_failures), "3", 1, 100, 0, W|R },
    { "WORKFLOW_BREAKER_COOLDOWN_SECONDS", CFG_INT, O(workflow_breaker_cooldown_seconds), "300", 1, 86400, 0, W|R },
    { "WORKFLOW_CONCURRENCY",    CFG_STR,   O(workflow_concurrency), "", 0, 0, 0, W|R },
    { "TRACK_POLL_SECONDS",      CFG_INT,   O(track_poll_seconds),   "5", 1, 3600, 0, W },
    { "N8N_WORKFLOWS_REFRESH_SECONDS", CFG_INT, O(n8n_workflows_refresh_seconds), "300", 5, 86400, 0, W },
    { "LEADER_TAKEOVER_SECONDS", CFG_INT,   O(leader_takeover_seconds), "15", 3, 600, 0, W },
    { "OUTBOX_MAX_AGE_SECONDS",  CFG_INT,   O(outbox_max_age_seconds), "900", 10, 86400, 0, W },
    { "WORKFLOW_CLAIMS",         CFG_STR,   O(workflow_claims),      "", 0, 0, 0, W },
    { "CATALOG_FILE",            CFG_STR,   O(catalog_file),         ORCH_CATALOG_FILE, 0, 0, 0, W|R },
    { "RUN_BUDGET_PER_HOUR",     CFG_DBL,   O(run_budget_per_hour),  "0", 0, 1000000, 0, W|R },
    { "N8N_DISCOVERY_TAG",       CFG_STR,   O(n8n_discovery_tag),    "orchestrator", 0, 0, 0, W },
    { "WATCH_SECONDS",           CFG_INT,   O(watch_seconds),        "60", 10, 3600, 0, W },
    { "WATCH_WINDOW_MINUTES",    CFG_INT,   O(watch_window_minutes), "15", 1, 240, 0, W|R },
    { "WATCH_HISTORY_DAYS",      CFG_INT,   O(watch_history_days),   "91", 1, 366, 0, W|R },
    { "WATCH_EVENT_SHARE",       CFG_DBL,   O(watch_event_share),    "0.32", 0.01, 1, 0, W|R },
    { "DEXSCREENER_BUDGET",      CFG_STR,   O(budget[FEED_DEXSCREENER]), "300/minute", 0, 0, 0, W },
    { "PUMPFUN_BUDGET",          CFG_STR,   O(budget[FEED_PUMPFUN]),  "60/minute", 0, 0, 0, W },
    { "TRADERMADE_BUDGET",       CFG_STR,   O(budget[FEED_TRADERMADE]), "1000/month", 0, 0, 0, W },
    { "BIRDEYE_BUDGET",          CFG_STR,   O(budget[FEED_BIRDEYE]),  "60/minute,30000/month", 0, 0, 0, W },
};

#undef W
#undef A
#undef R
#undef C

#define CFG_NVARS (sizeof cfg_vars / sizeof cfg_vars[0])

size_t cfg_count(void) { return CFG_NVARS; }
const char *cfg_name(size_t i) { return i < CFG_NVARS ? cfg_vars[i].name : NULL; }
int cfg_is_secret(size_t i) { return i < CFG_NVARS && (cfg_vars[i].flags & CFG_SECRET); }
unsigned cfg_progs(size_t i) { return i < CFG_NVARS ? cfg_vars[i].progs : 0; }

static const char *cfg_env(const char *name, void *ctx)
{
    (void)ctx;
    return getenv(name);
}

/* How many bytes of val (valid UTF-8) a message quotes: at most max, never
 * cutting a character. */
static int cfg_shown(const char *val, size_t max)
{
    return (int)utf8_cut(val, strlen(val), max);
}

/* Every value, whatever its type: no control character, valid UTF-8 (the
 * messages may quote it).  Returns 0 or -1 with err set. */
static int cfg_check_text(const struct cfg_var *v, const char *val, char *err, size_t errlen)
{
    for (const char *p = val; *p; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f) {
            snprintf(err, errlen, "%s: contains a control character", v->name);
            return -1;
        }
    }
    if (!utf8_valid(val, strlen(val))) {
        snprintf(err, errlen, "%s: not valid UTF-8", v->name);
        return -1;
    }
    return 0;
}

/* A CFG_INT or CFG_DBL value, in [min, max], into field.  Returns 0 or -1
 * with err set (a secret's value not quoted). */
static int cfg_set_number(char *field, const struct cfg_var *v, const char *val, char *err, size_t errlen)
{
    const char *shown = (v->flags & CFG_SECRET) ? "(hidden)" : val;
    char *end;
    errno = 0;
    if (v->type == CFG_INT) {
        long n = strtol(val, &end, 10);
        if (errno || end == val || *end || n < (long)v->min || n > (long)v->max) {
            snprintf(err, errlen, "%s: expected an integer from %.0f to %.0f, got \"%.*s\"",
                     v->name, v->min, v->max, cfg_shown(shown, 40), shown);
            return -1;
        }
        *(long *)(void *)field = n;
        return 0;
    }
    double d = strtod(val, &end);
    if (errno || end == val || *end || !isfinite(d) || d < v->min || d > v->max) {
        snprintf(err, errlen, "%s: expected a number from %g to %g, got \"%.*s\"",
                 v->name, v->min, v->max, cfg_shown(shown, 40), shown);
        return -1;
    }
    *(double *)(void *)field = d;
    return 0;
}

/* CFG_URL: http:// or https:// with a host, no space, quote or control
 * character (or nothing).  Returns 0 or -1 with err set. */
static int cfg_check_url(const struct cfg_var *v, const char *val, char *err, size_t errlen)
{
    if (*val && strncmp(val, "http://", 7) && strncmp(val, "https://", 8)) {
        snprintf(err, errlen, "%s: expected an http:// or https:// URL (or nothing), got \"%.*s\"",
                 v->name, cfg_shown(val, 60), val);
        return -1;
    }
    /* "http://" alone would lose its slashes below and become "http:" */
    if (*val && (val[val[4] == 's' ? 8 : 7] == '\0' || val[val[4] == 's' ? 8 : 7] == '/')) {
        snprintf(err, errlen, "%s: URL has no host, got \"%.*s\"", v->name, cfg_shown(val, 60), val);
        return -1;
    }
    if (strpbrk(val, " \t\r\n\"'<>\\")) {
        snprintf(err, errlen, "%s: URL contains a space, quote or control character", v->name);
        return -1;
    }
    return 0;
}

/* The checks of the string types (CFG_LEVEL, CFG_PATH, CFG_ADDR, CFG_URL;
 * CFG_STR takes anything).  *val may become the canonical spelling (a
 * static string).  Returns 0 or -1 with err set. */
static int cfg_check_string(const struct cfg_var *v, const char **val, char *err, size_t errlen)
{
    switch (v->type) {
    case CFG_LEVEL: {
        /* the seed's INFO, DEBUG, WARNING and ERROR too: stored as the
         * lower-case name log_level_parse() knows */
        static const char *const levels[][2] = {
            { "debug", "debug" }, { "info", "info" }, { "warn", "warn" }, { "warning", "warn" },
            { "error", "error" },
        };
        const char *canon = NULL;
        for (size_t k = 0; k < sizeof levels / sizeof levels[0]; k++)
            if (strcasecmp(*val, levels[k][0]) == 0)
                canon = levels[k][1];
        if (!canon) {
            snprintf(err, errlen, "%s: expected debug, info, warn (or warning) or error, in any case, got \"%.*s\"",
                     v->name, cfg_shown(*val, 40), *val);
            return -1;
        }
        *val = canon;
        return 0;
    }
    case CFG_PATH:
        if (**val && **val != '/') {
            snprintf(err, errlen, "%s: expected an absolute path (or nothing), got \"%.*s\"", v->name,
                     cfg_shown(*val, 60), *val);
            return -1;
        }
        return 0;
    case CFG_ADDR: {
        unsigned char a[16];
        if (inet_pton(AF_INET, *val, a) != 1 && inet_pton(AF_INET6, *val, a) != 1) {
            snprintf(err, errlen, "%s: expected an IPv4 or IPv6 address such as 127.0.0.1, 0.0.0.0 or ::, got \"%.*s\"",
                     v->name, cfg_shown(*val, 60), *val);
            return -1;
        }
        return 0;
    }
    case CFG_URL:
        return cfg_check_url(v, *val, err, errlen);
    case CFG_INT:
    case CFG_DBL:
    case CFG_STR:
        break;
    }
    return 0;
}

/* Parse one value into its field.  Returns 0 or -1 with err set. */
static int cfg_set(struct cfg *c, const struct cfg_var *v, const char *val,
                   char *err, size_t errlen)
{
    char *field = (char *)c + v->off;
    if (cfg_check_text(v, val, err, errlen) < 0)
        return -1;
    if (v->type == CFG_INT || v->type == CFG_DBL)
        return cfg_set_number(field, v, val, err, errlen);
    if (cfg_check_string(v, &val, err, errlen) < 0)
        return -1;
    size_t n = strlen(val);
    if (n > CFG_MAX_VALUE) {
        snprintf(err, errlen, "%s: longer than %d bytes", v->name, CFG_MAX_VALUE);
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

/* Read the secret of variable var (for the message) from path into out
 * (at most CFG_MAX_VALUE bytes and a terminating NUL), without its trailing
 * newlines.  Only a regular file is read (a FIFO could block the start).
 * Returns 0, or -1 with err naming var and path (never the contents). */
static int cfg_read_file(const char *var, const char *path, char *out, size_t cap, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot read %.200s: %s", var, path, strerror(errno));
        return -1;
    }
    struct stat sb;
    if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
        snprintf(err, errlen, "%s: %.200s is not a regular file", var, path);
        close(fd);
        return -1;
    }
    size_t len = 0;
    for (;;) {
        ssize_t r = read(fd, out + len, cap - 1 - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(err, errlen, "%s: cannot read %.200s: %s", var, path, strerror(errno));
            close(fd);
            return -1;
        }
        if (r == 0)
            break;
        len += (size_t)r;
        if (len == cap - 1) {
            char extra;
            ssize_t more;
            while ((more = read(fd, &extra, 1)) < 0 && errno == EINTR)
                ;
            if (more != 0) {
                snprintf(err, errlen, "%s: %.200s is larger than %zu bytes", var, path, cap - 1);
                close(fd);
                return -1;
            }
            break;
        }
    }
    close(fd);
    if (memchr(out, '\0', len)) {
        snprintf(err, errlen, "%s: %.200s contains a NUL byte", var, path);
        return -1;
    }
    while (len > 0 && (out[len - 1] == '\n' || out[len - 1] == '\r'))
        len--;
    out[len] = '\0';
    return 0;
}

/* The value of v for a load by progs: the environment's (or its X_FILE's,
 * read into secret), else the default.  Returns the value (borrowed from
 * get, secret or the table) or NULL with err set; *from_file tells the
 * caller to wipe secret after use. */
static const char *cfg_lookup(const struct cfg_var *v, unsigned progs, cfg_getter get, void *ctx,
                              char *secret, size_t cap, int *from_file, char *err, size_t errlen)
{
    *from_file = 0;
    if (!(v->progs & progs))
        return v->def;                      /* another program's setting: not even looked at */
    const char *val = get(v->name, ctx);
    if (v->flags & CFG_SECRET) {
        char fname[96];
        snprintf(fname, sizeof fname, "%s_FILE", v->name);
        const char *path = get(fname, ctx);
        if (path && *path) {
            if (val && *val) {
                snprintf(err, errlen, "%s and %s are both set: set only one of them", v->name, fname);
                return NULL;
            }
            if (cfg_read_file(fname, path, secret, cap, err, errlen) < 0)
                return NULL;
            *from_file = 1;
            return secret;
        }
    }
    return val ? val : v->def;
}

static int cfg_load_checked(struct cfg *c, unsigned progs, cfg_getter get, void *ctx, char *err, size_t errlen)
{
    char secret[CFG_MAX_VALUE + 2];         /* one file's contents; wiped after use */
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < CFG_NVARS; i++) {
        int from_file;
        const char *val = cfg_lookup(&cfg_vars[i], progs, get, ctx, secret, sizeof secret, &from_file, err, errlen);
        int rc = val ? cfg_set(c, &cfg_vars[i], val, err, errlen) : -1;
        if (from_file)
            explicit_bzero(secret, sizeof secret);   /* not elided like a memset before return */
        if (rc < 0) {
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
    if (c->decision_retention_days * 86400L <= c->track_timeout_seconds) {
        snprintf(err, errlen, "DECISION_RETENTION_DAYS (%ld) must be longer than TRACK_TIMEOUT_SECONDS (%ld s)",
                 c->decision_retention_days, c->track_timeout_seconds);
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

/* Messages name values and paths from outside, cut at a byte count: the
 * message is made valid UTF-8 here, once, so that it can be logged as is. */
int cfg_load_from_prog(struct cfg *c, unsigned progs, cfg_getter get, void *ctx, char *err, size_t errlen)
{
    if (errlen > 0)
        err[0] = '\0';
    int rc = cfg_load_checked(c, progs, get, ctx, err, errlen);
    if (rc < 0 && errlen > 0) {
        if (!err[0])
            snprintf(err, errlen, "invalid configuration");
        utf8_clean(err);
    }
    return rc;
}

int cfg_load_from(struct cfg *c, cfg_getter get, void *ctx, char *err, size_t errlen)
{
    return cfg_load_from_prog(c, CFG_PROG_ALL, get, ctx, err, errlen);
}

int cfg_load_prog(struct cfg *c, unsigned progs, char *err, size_t errlen)
{
    return cfg_load_from_prog(c, progs, cfg_env, NULL, err, errlen);
}

int cfg_load(struct cfg *c, char *err, size_t errlen)
{
    return cfg_load_from(c, cfg_env, NULL, err, errlen);
}

void cfg_free(struct cfg *c)
{
    for (size_t i = 0; i < CFG_NVARS; i++) {
        const struct cfg_var *v = &cfg_vars[i];
        if (v->type != CFG_INT && v->type != CFG_DBL) {
            char **p = (char **)(void *)((char *)c + v->off);
            free(*p);
            *p = NULL;
        }
    }
}
