/* cfg: the environment, read once at startup into one struct.
 *
 * Every variable is declared in one table (cfg.c) with its type, default,
 * bounds and the programs that read it; an invalid value makes the load fail
 * with a message naming the variable.  Secrets are flagged so that nothing
 * ever prints them.
 *
 * Each program reads only its own settings (cfg_load_prog): the others keep
 * their defaults without the environment being looked at, so orch-api never
 * holds an LLM key or the Telegram token, and a bad worker-only value does
 * not stop it.
 *
 * Every secret X may instead come from a file named by X_FILE (systemd's
 * LoadCredential=, Docker or Kubernetes secrets): X and X_FILE both set is
 * an error; the file must be a regular file of at most 4097 bytes; trailing
 * newlines (\n, \r\n) are stripped; the contents are then checked like
 * the value itself.  An unreadable file is a startup error naming X_FILE. */
#ifndef CFG_H
#define CFG_H

#include <stddef.h>

#include "catalog.h"

struct cfg {
    /* database */
    char *database_url;          /* DATABASE_URL: worker's libpq conninfo */
    char *api_database_url;      /* API_DATABASE_URL: FastCGI's conninfo */
    /* API */
    char *api_token;             /* ORCHESTRATOR_API_TOKEN (secret); empty: control disabled */
    long  port;                  /* ORCHESTRATOR_PORT */
    char *listen;                /* ORCHESTRATOR_LISTEN: the address nginx listens on (render.sh) */
    char *log_level;             /* LOG_LEVEL: debug|info|warn|error (any case, "warning" = warn) */
    char *log_file;              /* LOG_FILE: absolute path the JSON lines go to; empty: stderr */
    /* orchctl */
    char *url;                   /* ORCH_URL: the API's base URL as orchctl reaches it */
    /* n8n */
    char *n8n_base_url;          /* N8N_BASE_URL; empty: dry run */
    char *n8n_auth_header;       /* N8N_WEBHOOK_AUTH_HEADER: header name sent with webhooks */
    char *n8n_auth_value;        /* N8N_WEBHOOK_AUTH_VALUE (secret) */
    long  webhook_timeout_ms;    /* WEBHOOK_TIMEOUT_MS */
    /* market sources */
    char *dexscreener_base_url;  /* DEXSCREENER_BASE_URL; empty: disabled */
    char *dexscreener_query;     /* DEXSCREENER_QUERY */
    char *pumpfun_base_url;      /* PUMPFUN_BASE_URL; empty: disabled */
    char *tradermade_base_url;   /* TRADERMADE_BASE_URL */
    char *tradermade_api_key;    /* TRADERMADE_API_KEY (secret); empty: source unconfigured */
    char *forex_pairs;           /* FOREX_PAIRS: comma separated, e.g. EURUSD,GBPUSD */
    char *birdeye_base_url;      /* BIRDEYE_BASE_URL */
    char *birdeye_api_key;       /* BIRDEYE_API_KEY (secret); empty: source unconfigured */
    long  probe_timeout_ms;      /* PROBE_TIMEOUT_MS */
    long  feed_timeout_ms[FEED_COUNT]; /* DEXSCREENER_/PUMPFUN_/TRADERMADE_/BIRDEYE_TIMEOUT_MS; 0: PROBE_TIMEOUT_MS */
    /* decision policy */
    long  decision_min_seconds;  /* DECISION_MIN_SECONDS */
    long  decision_max_seconds;  /* DECISION_MAX_SECONDS */
    double load_high;            /* LOAD_HIGH: 1-minute load per core that forbids aggressive */
    double volatility_high;      /* VOLATILITY_HIGH: crypto |m5 change| % for aggressive */
    double volatility_low;       /* VOLATILITY_LOW: below this, light */
    /* learning (worker/learn.c) */
    long  learn_seed;            /* LEARN_SEED: keys the Thompson draws (a replay repeats for a fixed seed) */
    double learn_half_life_hours;/* LEARN_HALF_LIFE_HOURS: evidence loses half its weight in this time */
    double learn_run_cost;       /* LEARN_RUN_COST: opportunities a normal run must be expected to find */
    double learn_epsilon;        /* LEARN_EPSILON: exploration probability per decision */
    long  learn_max_stale_minutes; /* LEARN_MAX_STALE_MINUTES: scan an open market at least this often */
    long  learn_window_minutes;  /* LEARN_WINDOW_MINUTES: how long one scan watches its market */
    /* LLM (OpenAI-compatible chat completions) */
    char *groq_api_key;          /* GROQ_API_KEY (secret); empty: Groq not used */
    char *groq_base_url;         /* GROQ_BASE_URL */
    char *groq_model;            /* GROQ_MODEL */
    char *openai_api_key;        /* OPENAI_API_KEY (secret); empty: OpenAI not used */
    char *openai_base_url;       /* OPENAI_BASE_URL */
    char *openai_model;          /* OPENAI_MODEL */
    char *llm_base_url;          /* LLM_BASE_URL: any other OpenAI-compatible server; empty: none */
    char *llm_api_key;           /* LLM_API_KEY (secret), optional for local servers */
    char *llm_model;             /* LLM_MODEL */
    char *llm_prompt_file;       /* LLM_PROMPT_FILE: the prompt template */
    long  llm_timeout_ms;        /* LLM_TIMEOUT_MS: one request */
    long  llm_cycle_budget_ms;   /* LLM_CYCLE_BUDGET_MS: all attempts of one cycle */
    long  llm_max_calls_per_hour;   /* LLM_MAX_CALLS_PER_HOUR; 0 disables the LLM */
    long  llm_max_tokens_per_day;   /* LLM_MAX_TOKENS_PER_DAY */
    long  llm_max_completion_tokens;/* LLM_MAX_COMPLETION_TOKENS */
    double llm_temperature;      /* LLM_TEMPERATURE */
    long  llm_breaker_failures;  /* LLM_BREAKER_FAILURES: consecutive failures that open the circuit */
    long  llm_breaker_cooldown_seconds; /* LLM_BREAKER_COOLDOWN_SECONDS */
    /* worker housekeeping */
    long  heartbeat_seconds;     /* HEARTBEAT_SECONDS */
    long  probe_retention_hours; /* PROBE_RETENTION_HOURS */
    /* retention of the growing tables (worker/store.c store_prune_history, sql/007_history.sql) */
    long  decision_retention_days;  /* DECISION_RETENTION_DAYS: decisions, with their triggers, results, LLM calls, commands */
    long  result_retention_days;    /* RESULT_RETENTION_DAYS: results posted to POST /results */
    long  llm_call_retention_days;  /* LLM_CALL_RETENTION_DAYS: llm_calls */
    long  command_retention_days;   /* COMMAND_RETENTION_DAYS: control_commands no longer pending */
    long  retention_batch_rows;     /* RETENTION_BATCH_ROWS: rows of each kind per pruning transaction */
    long  retention_budget_ms;      /* RETENTION_BUDGET_MS: time one pruning pass may take */
    long  retention_interval_seconds; /* RETENTION_INTERVAL_SECONDS: time between pruning passes */
    /* alerts (worker/alert.c) */
    char *telegram_bot_token;    /* TELEGRAM_BOT_TOKEN (secret); empty (with TELEGRAM_CHAT_ID): no alerts */
    char *telegram_chat_id;      /* TELEGRAM_CHAT_ID: -100123... or @channel */
    char *telegram_base_url;     /* TELEGRAM_BASE_URL */
    long  telegram_commands;     /* TELEGRAM_COMMANDS: 1 answer the chat's commands (getUpdates), 0 alerts only */
    long  telegram_poll_seconds; /* TELEGRAM_POLL_SECONDS: getUpdates long-poll timeout */
    long  alert_fallback_streak; /* ALERT_FALLBACK_STREAK: consecutive fallback decisions that alert */
    /* n8n execution tracking (worker/track.c) */
    char *n8n_api_url;           /* N8N_API_URL; empty: N8N_BASE_URL + "/api/v1" */
    char *n8n_api_key;           /* N8N_API_KEY (secret); empty: executions not tracked */
    char *n8n_owner_email;       /* N8N_OWNER_EMAIL: n8n login that may stop executions ('replace') */
    char *n8n_owner_password;    /* N8N_OWNER_PASSWORD (secret); empty: 'replace' cannot stop executions */
    long  track_timeout_seconds; /* TRACK_TIMEOUT_SECONDS: a trigger running longer is 'timed_out' */
    long  track_poll_seconds;    /* TRACK_POLL_SECONDS: how often running executions are looked at */
    long  n8n_workflows_refresh_seconds; /* N8N_WORKFLOWS_REFRESH_SECONDS: n8n's workflow list, re-read */
    /* results posted back by the workflows (POST /results) */
    char *results_token;         /* ORCH_RESULTS_TOKEN (secret); empty: POST /results answers 503 */
    /* delivery (worker/deliver.c) */
    long  webhook_max_attempts;  /* WEBHOOK_MAX_ATTEMPTS: tries of one trigger (network errors, 5xx, 429) */
    long  webhook_retry_base_ms; /* WEBHOOK_RETRY_BASE_MS: first backoff; doubles, with jitter */
    long  webhook_retry_max_ms;  /* WEBHOOK_RETRY_MAX_MS: longest wait; a longer retry-after gives up */
    long  workflow_breaker_failures;          /* WORKFLOW_BREAKER_FAILURES: failures in a row that open a circuit */
    long  workflow_breaker_cooldown_seconds;  /* WORKFLOW_BREAKER_COOLDOWN_SECONDS */
    char *workflow_concurrency;  /* WORKFLOW_CONCURRENCY: overrides the catalog's concurrency,
                                  * "name=forbid|allow|replace,...[,default=...]"; "": the catalog's */
    /* one leader, exactly-once delivery (worker/lease.c, worker/outbox.c) */
    long  leader_takeover_seconds; /* LEADER_TAKEOVER_SECONDS: the lease's time to live */
    long  outbox_max_age_seconds;  /* OUTBOX_MAX_AGE_SECONDS: a trigger never sent is sent after a
                                    * takeover only this long after its decision */
    char *workflow_claims;       /* WORKFLOW_CLAIMS: overrides the catalog's "claims": "all", "none"
                                  * or the names of the workflows that claim their idempotency key
                                  * (POST /claims) when they start; "": the catalog's */
    /* the workflow catalog (worker/catalog_file.c) */
    char *catalog_file;          /* CATALOG_FILE: the catalog (JSON); default the shipped seed */
    double run_budget_per_hour;  /* RUN_BUDGET_PER_HOUR: catalog costs of the runs of an hour, at most; 0: none */
    char *n8n_discovery_tag;     /* N8N_DISCOVERY_TAG: n8n workflows with this tag are offered as catalog
                                  * entries (discovery); "": none */
    /* the minute-by-minute watch (worker/watch.c, worker/watch_live.c) */
    long  watch_seconds;         /* WATCH_SECONDS: how often the watch samples the markets */
    long  watch_window_minutes;  /* WATCH_WINDOW_MINUTES: the windows it scores */
    long  watch_history_days;    /* WATCH_HISTORY_DAYS: the history its thresholds are learned from */
    double watch_event_share;    /* WATCH_EVENT_SHARE: the share of windows whose peak crosses */
    char *budget[FEED_COUNT];    /* DEXSCREENER_BUDGET, ...: "N/minute,N/day,N/month" request budgets */
};

/* The programs, as a mask: which settings a load reads. */
enum cfg_prog {
    CFG_PROG_WORKER = 1u << 0,   /* orch-worker */
    CFG_PROG_API    = 1u << 1,   /* orch-api */
    CFG_PROG_REPLAY = 1u << 2,   /* orch-replay */
    CFG_PROG_CTL    = 1u << 3,   /* orchctl */
};
#define CFG_PROG_ALL 0xfu

/* A source of variables: returns the value of name or NULL when unset. */
typedef const char *(*cfg_getter)(const char *name, void *ctx);

/* Fill c from the process environment with the settings of the programs in
 * progs (a mask of CFG_PROG_*); every other field gets its default.
 * Returns 0, or -1 with a message naming the variable in err.  On failure c
 * holds nothing to free. */
int cfg_load_prog(struct cfg *c, unsigned progs, char *err, size_t errlen) __attribute__((warn_unused_result));

/* Same, reading variables through get(name, ctx): tests, and orchctl's
 * environment-then-file lookup. */
int cfg_load_from_prog(struct cfg *c, unsigned progs, cfg_getter get, void *ctx, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* cfg_load_prog / cfg_load_from_prog with CFG_PROG_ALL: every setting. */
int cfg_load(struct cfg *c, char *err, size_t errlen) __attribute__((warn_unused_result));
int cfg_load_from(struct cfg *c, cfg_getter get, void *ctx, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Free the strings of c (not c itself).  cfg_free on a zeroed cfg is a no-op. */
void cfg_free(struct cfg *c);

/* Number of variables in the table, and the i-th one's name and whether it
 * is a secret: used by the README check and by tests. */
size_t cfg_count(void);
const char *cfg_name(size_t i);
int cfg_is_secret(size_t i);
/* The CFG_PROG_* mask of the programs that read the i-th variable (0 past the end). */
unsigned cfg_progs(size_t i);

#endif
