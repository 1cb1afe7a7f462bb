/* llm: decisions from an OpenAI-compatible chat-completions API.
 *
 * Providers are tried in order (Groq, then OpenAI, then any other
 * OpenAI-compatible base URL), each with its own circuit breaker and
 * rate-limit state read from the x-ratelimit-* and retry-after headers.
 * Within one cycle's time budget: 5xx and timeouts are retried with
 * backoff, json_validate_failed once, 429 waits for retry-after when it
 * fits, anything else fails over.  An answer is accepted only when
 * llm_parse_answer() and decide_validate() accept it; the caller falls back
 * to its own policy otherwise.  Budgets (calls per hour, tokens per day)
 * stop calls before the provider would say 429. */
#ifndef LLM_H
#define LLM_H

#include "breaker.h"
#include <time.h>

#include "cfg.h"
#include "decide.h"

enum llm_err {
    LLM_OK = 0,
    LLM_ENOTCONFIGURED,   /* no provider has a key / URL */
    LLM_EBUDGET,          /* our own budget (calls/hour, tokens/day) is spent */
    LLM_ECIRCUIT,         /* every provider's circuit is open or rate limited */
    LLM_ERATELIMIT,       /* 429 */
    LLM_ETIMEOUT,         /* no answer in time */
    LLM_ETRANSPORT,       /* connection, DNS, TLS */
    LLM_ESERVER,          /* 5xx */
    LLM_EREQUEST,         /* other 4xx: key, model, request size */
    LLM_EJSONMODE,        /* 400 json_validate_failed */
    LLM_EMALFORMED,       /* the API's body is not a chat completion */
    LLM_ELENGTH,          /* finish_reason "length": truncated answer */
    LLM_EEMPTY,           /* no content */
    LLM_EINVALID,         /* content not valid decision JSON */
    LLM_EREJECTED         /* valid JSON but outside the menu */
};
#define LLM_ERR_COUNT 15

/* A short stable name: "ok", "not_configured", "budget", "circuit_open",
 * "rate_limited", "timeout", "transport", "server_error", "request_error",
 * "json_validate_failed", "malformed", "length", "empty", "invalid", "rejected". */
const char *llm_strerror(enum llm_err e);

#define LLM_MAX_PROVIDERS 3
#define LLM_MAX_CALLS 8

struct llm_provider {
    char name[16];            /* "groq", "openai", "custom" */
    const char *base_url;     /* borrowed from cfg */
    const char *api_key;      /* borrowed from cfg; may be "" for local servers */
    const char *model;        /* borrowed from cfg */
    struct breaker breaker;   /* LLM_BREAKER_FAILURES, LLM_BREAKER_COOLDOWN_SECONDS (shared/breaker.h) */
    /* rate limits read from the provider's headers */
    long remaining_requests;  /* -1 unknown */
    long remaining_tokens;    /* -1 unknown */
    time_t requests_reset_at;
    time_t tokens_reset_at;
    time_t retry_after_until;
    double retry_after_s;     /* the last 429's retry-after, seconds (sub-second precision) */
};

/* One HTTP attempt, for the audit and the metrics. */
struct llm_call {
    char provider[16];
    char model[64];
    long http_status;
    enum llm_err err;
    double latency_ms;
    long prompt_tokens;
    long completion_tokens;
    char error[160];
};

struct llm_outcome {
    enum llm_err err;         /* LLM_OK when a choice was accepted */
    char detail[256];         /* why not, for the decision's audit */
    char provider[16];        /* who answered last ("" when nobody was called) */
    char model[64];
    char *raw;                /* the last answer's content (bounded), caller frees; may be NULL */
    long prompt_tokens;       /* sums over the calls */
    long completion_tokens;
    double latency_ms;
    int ncalls;
    struct llm_call calls[LLM_MAX_CALLS];
};

struct llm_client {
    const struct cfg *cfg;
    int nproviders;
    struct llm_provider providers[LLM_MAX_PROVIDERS];
    /* budget: calls in the last hour (timestamps ring) and tokens today (UTC) */
    int ncalls_hour;
    time_t call_times[4096];
    long tokens_today;
    long day;                 /* days since epoch of tokens_today */
    time_t clock;             /* the newest time the budget has seen (a replay's is simulated) */
};

/* Set up providers from cfg (borrowed, must outlive the client). */
void llm_init(struct llm_client *cl, const struct cfg *c);

/* Nonzero when at least one provider is configured. */
int llm_configured(const struct llm_client *cl);

/* Count a past call (from the database at startup) in the budget. */
void llm_budget_add(struct llm_client *cl, time_t at, long tokens);

/* Calls in the hour before now, and tokens spent today (UTC). */
int llm_calls_last_hour(struct llm_client *cl, time_t now);
long llm_tokens_today(struct llm_client *cl, time_t now);

/* Ask for a decision.  system and user are the prompt's two messages.
 * now is the cycle's clock (simulated in a replay): every budget, rate
 * limit and circuit uses it plus the real time elapsed since the call began.
 * Providers are tried in order; one that fails (timeout, transport, 5xx
 * after its retries, 4xx, a body that is not a completion) or whose model
 * answers nothing usable (invalid, rejected, cut off, empty) hands over to
 * the next while the budget lasts.  On LLM_OK *out holds a validated choice
 * (source SOURCE_LLM); otherwise *out is untouched and oc->detail says why
 * (the last provider's failure).  Never takes longer than budget_ms.  Free
 * oc->raw with llm_outcome_clear. */
enum llm_err llm_decide(struct llm_client *cl, const char *system, const char *user,
                        const struct decide_menu *menu, time_t now, long budget_ms,
                        struct decide_choice *out, struct llm_outcome *oc);

void llm_outcome_clear(struct llm_outcome *oc);

/* Parse a model's answer text (possibly wrapped in ``` fences, <think>
 * blocks or prose) into *ch and validate it against menu.  Returns LLM_OK,
 * LLM_EEMPTY, LLM_EINVALID or LLM_EREJECTED with the cause in err. */
enum llm_err llm_parse_answer(const char *content, const struct decide_menu *menu,
                              struct decide_choice *ch, char *err, size_t errlen);

/* Parse a rate-limit duration such as "2m59.56s", "7.66s", "1h2m", "250ms".
 * Returns seconds (finite, possibly huge: callers clamp), or -1 when
 * malformed or not finite. */
double llm_parse_duration(const char *s);

/* ---- What the provider's answers may say (checked, clamped, fuzzed) ---- */

#define LLM_MAX_BODY (512 * 1024)      /* largest answer read from a provider */
#define LLM_MAX_RAW 8192               /* bytes of the model's answer kept (audit, parsing) */
#define LLM_MAX_HOLD_SECONDS 3600      /* longest a 429's retry-after holds a provider back */
#define LLM_MAX_RESET_SECONDS 86400    /* longest x-ratelimit-reset-* believed */
#define LLM_MAX_REMAINING 1000000000L  /* x-ratelimit-remaining-* counts are clamped to this */
#define LLM_MAX_CALL_TOKENS 10000000L  /* usage.*_tokens of one answer are clamped to this */

/* The rate-limit headers of one answer (each NULL when absent). */
struct llm_limit_headers {
    const char *remaining_requests, *remaining_tokens;   /* x-ratelimit-remaining-* */
    const char *reset_requests, *reset_tokens;           /* x-ratelimit-reset-*: "2m59.56s" */
    const char *retry_after;                             /* retry-after: seconds */
};

/* (worker/llm_http.c) Read the headers of an answer with HTTP status `status` that arrived at
 * now into p's rate-limit state.  Counts must be digits only (clamped to
 * LLM_MAX_REMAINING); durations must parse (llm_parse_duration) and are
 * clamped to LLM_MAX_RESET_SECONDS, a 429's retry-after to
 * LLM_MAX_HOLD_SECONDS (logged as llm.retry_after_clamped; a 429 without a
 * usable one holds back 5 s).  Anything else is ignored. */
void llm_read_limits(struct llm_provider *p, long status, const struct llm_limit_headers *h, time_t now);

/* (worker/llm_http.c) Classify a chat-completions answer (status, body of len bytes): fills
 * call->error and the token counts (clamped to LLM_MAX_CALL_TOKENS) and, on
 * a completion with content (or json_validate_failed's failed_generation),
 * *content (at most 8192 bytes, valid UTF-8; caller frees; NULL otherwise).
 * Returns LLM_OK, or LLM_ERATELIMIT, LLM_ESERVER, LLM_EJSONMODE,
 * LLM_EREQUEST, LLM_EMALFORMED, LLM_ELENGTH or LLM_EEMPTY. */
enum llm_err llm_parse_completion(long status, const char *body, size_t len, struct llm_call *call, char **content);

/* A circuit breaker's state for display: "closed", "open" or "half_open". */
const char *llm_circuit_state(const struct llm_provider *p, time_t now);

#endif
