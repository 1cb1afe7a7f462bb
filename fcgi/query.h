/* query: every SQL statement the API runs, and the only place that reads
 * query results.
 *
 * Statement texts are named constants at the top of the query*.c file that
 * reads them (query.c, query_state.c, query_totals.c, query_decisions.c,
 * query_replays.c; query_sql.h is what they share), values always go as $n
 * parameters, and columns are read by name.  Each function logs its own
 * failure once ("query.failed" with the statement's name) and returns -1;
 * the caller looks at PQstatus() to tell a lost connection (503) from
 * anything else.  Timestamps come back as ISO-8601 UTC strings with a 'Z'. */
#ifndef QUERY_H
#define QUERY_H

#include <json-c/json.h>
#include <libpq-fe.h>

#include "catalog.h"
#include "params.h"

#define QUERY_TS_MAX         32     /* "2026-11-23T21:50:00.123Z" and its NUL */
#define QUERY_MAX_TRIGGER_GROUPS ((CATALOG_MAX + 1) * 16)   /* (workflow, status) pairs read, at most */
#define QUERY_REMOVED "(removed)"   /* the label of the workflows no longer in the catalog, together */
#define QUERY_MAX_LLM_GROUPS 64     /* (provider, outcome) pairs of llm_calls read for /metrics */
#define QUERY_MAX_LLM_PROVIDERS 8   /* providers of worker_state.llm read for /metrics */
#define QUERY_RAW_MAX 8192          /* characters of a model's raw answer the API returns */
#define QUERY_LLM_BUCKETS 7         /* finite buckets of the LLM latency histogram */
#define QUERY_EXEC_BUCKETS 9        /* finite buckets of the execution duration histogram */
#define QUERY_MAX_RESULT_GROUPS 8   /* result statuses read for /metrics */

/* Upper bounds (milliseconds) of the finite buckets of
 * orchestrator_llm_latency_seconds; +Inf is the call count. */
extern const int query_llm_bucket_ms[QUERY_LLM_BUCKETS];

/* Upper bounds (milliseconds) of the finite buckets of
 * orchestrator_execution_duration_seconds. */
extern const int query_exec_bucket_ms[QUERY_EXEC_BUCKETS];

/* A workflow of the catalog in force (sql/008_catalog.sql) with its
 * workflow_state row and per-workflow trigger figures. */
struct query_wf_state {
    char workflow[CATALOG_NAME_MAX + 1];
    int present;                 /* its workflow_state row exists */
    int available;
    char unavailable_since[QUERY_TS_MAX];   /* "" when null */
    char unavailable_reason[256];
    char circuit[12];            /* closed, open, half_open */
    long long consecutive_failures;
    char open_until[QUERY_TS_MAX];
    long long circuit_opens;
    char concurrency[12];
    long long running;
    char n8n_id[72];             /* "" when not listed or not synced */
    char n8n_name[136];
    int n8n_active;              /* 1, 0, or -1 when unknown */
    char n8n_seen_at[QUERY_TS_MAX];
    long long retries;           /* sum of attempts - 1 over its live triggers */
};

/* One entry of worker_state.sources, flattened for /metrics. */
struct query_source {
    int configured;              /* 0 or 1 */
    int ok;                      /* 1, 0, or -1 when null (not probed) */
    double latency_ms;           /* NAN when null */
};

/* Triggers counted per workflow (QUERY_REMOVED for the ones no longer in
 * the catalog) and status. */
struct query_trigger_group {
    char workflow[CATALOG_NAME_MAX + 1];
    char status[16];
    long long n;
    long long retries;           /* sum of attempts - 1 */
};

/* LLM calls of one provider with one outcome (over all of llm_calls). */
struct query_llm_group {
    char provider[32];
    char outcome[24];
    long long calls, prompt_tokens, completion_tokens;
    long long calls_24h, tokens_24h;         /* called in the last 24 hours */
    long long bucket[QUERY_LLM_BUCKETS];     /* calls with latency_ms <= query_llm_bucket_ms[i] */
    double latency_ms_sum;
};

/* One provider of worker_state.llm, flattened for /metrics. */
struct query_llm_provider {
    char name[32];
    int circuit_open;            /* 1 when its circuit is "open" */
};

/* Everything /status, /health and /metrics show, read in one go.
 * Fill with query_state(), release with query_state_clear(). */
#define QUERY_WATCH_DAYS 30             /* days of the live scorecard /status and the dashboard show */

struct query_state {
    /* worker_state */
    int running, dry_run;
    long long pid;                        /* 0 when null */
    char hostname[256], version[64];      /* "" when null */
    char started_at[QUERY_TS_MAX];        /* "" when null */
    char heartbeat_at[QUERY_TS_MAX];      /* "" when null */
    double heartbeat_age;                 /* seconds at fetch time, database clock; NAN without heartbeat */
    char next_decision_at[QUERY_TS_MAX];  /* worker_state's, else the last decision's; "" when neither */
    double next_in;                       /* seconds from fetch until next_decision_at; NAN when unknown */
    char system_load[32];                 /* as PostgreSQL prints it; "" when null */
    char market_volatility[32];
    json_object *sources;                 /* worker_state.sources (owned), never NULL after success */
    struct query_source source[FEED_COUNT];
    json_object *llm;                     /* worker_state.llm (owned), an object, never NULL after success */
    double llm_calls_last_hour;           /* from worker_state.llm; NAN when absent */
    double llm_tokens_today;
    int nllm_providers;
    struct query_llm_provider llm_provider[QUERY_MAX_LLM_PROVIDERS];
    /* the newest decision: {id,decided_at,mode,intensity,source,reason,status,
     * session,next_decision_at,llm_outcome} (owned), NULL when there is none */
    json_object *last_decision;
    long long fallback_streak;            /* newest decisions in a row whose LLM failed (outcome not ok/not_configured) */
    double last_decision_epoch;           /* the newest decision's decided_at, Unix seconds; NAN when none */
    /* counts over all decisions */
    long long decisions, decisions_24h, mode_switches;
    long long by_source[SOURCE_COUNT];
    long long succeeded, partial, failed;
    long long mode_acted[MODE_COUNT], mode_succeeded[MODE_COUNT];
    long long mode_source[MODE_COUNT][SOURCE_COUNT];   /* decisions by mode and by who made them */
    long long agreed, compared;           /* decisions with agreement true / not null */
    long long agreed_24h, compared_24h;   /* the same over the last 24 hours */
    int ntrig;
    struct query_trigger_group *trig;     /* owned, ntrig of them */
    /* live triggers by workflow and execution outcome (succeeded, failed, ...) */
    int nout;
    struct query_outcome_group { char workflow[CATALOG_NAME_MAX + 1]; char outcome[16]; long long n; } *out;  /* owned */
    /* live decisions by llm_outcome (ok, not_configured, budget, ...) */
    int nllm_outcome;
    struct { char outcome[24]; long long n; } llm_outcome[16];
    /* llm_calls by provider and outcome */
    int nllm;
    struct query_llm_group llm_group[QUERY_MAX_LLM_GROUPS];
    /* workflows (004_n8n, 008_catalog): the catalog in force in its order,
     * results, execution durations, alerts, n8n's API */
    int nwf;
    struct query_wf_state *wf;            /* owned, nwf of them */
    int nresult;
    struct { char status[16]; long long n; } result_group[QUERY_MAX_RESULT_GROUPS];
    long long exec_bucket[QUERY_EXEC_BUCKETS];  /* executions with duration_ms <= query_exec_bucket_ms[i] */
    long long exec_count;                       /* executions with a known duration */
    double exec_ms_sum;
    long long opportunities;                    /* reported by results, all live triggers */
    json_object *alerts;                        /* worker_state.alerts (owned), an object after success */
    json_object *n8n;                           /* worker_state.n8n (owned), an object after success */
    json_object *learning;                      /* worker_state.learning (owned), an object after success ({} until learned) */
    json_object *catalog;                       /* worker_state.catalog (owned), an object after success ({} before 008) */
    json_object *leader;                        /* {"leader": {...}|null, "epoch", "standbys": [...], "gaps":
                                                 * {"count","missed_decisions"}, "last_gap": {...}|null} (owned) */
    json_object *watch;                         /* {"now": worker_state.watch, "days": [the live scorecard, last
                                                 * QUERY_WATCH_DAYS days], "decisions_24h": {wake: n}} (owned) */
};

/* What record_result() answered (sql/004_n8n.sql). */
struct query_result_rec {
    char outcome[24];            /* recorded, extra, duplicate, conflict, unknown_trigger, mismatch */
    long long result_id;         /* 0 when none */
    char trigger_outcome[16];    /* the trigger's outcome afterwards, "" when none */
    char mismatch[24];           /* the field that differs, for 'mismatch' */
};

/* One statement of a cache fill, for the tests that EXPLAIN them. */
struct query_stmt {
    const char *name, *sql;
    int nparams;
    const char *const *params;   /* sample values (NULL: SQL NULL) */
};

/* The statements a cache fill runs (/status, /metrics, /health,
 * /decisions?limit=50 and /workflows/available), ending with a NULL name.
 * Static. */
const struct query_stmt *query_fill_statements(void);

/* Per-connection setup: statement timeout, and LISTEN orch_state when
 * listen (the cache's refresher: a connection that never reads its
 * notifications must not LISTEN).  Returns 0 or -1 (logged). */
int query_session_setup(PGconn *c, int listen) __attribute__((warn_unused_result));

/* Read worker state, last decision and counts into *st (zeroed first).
 * Returns 0, or -1 with *st holding nothing to free.  On success the caller
 * releases *st with query_state_clear(). */
int query_state(PGconn *c, struct query_state *st) __attribute__((warn_unused_result));

/* Free what *st owns and zero it; a zeroed state is a no-op. */
void query_state_clear(struct query_state *st);

/* One page of decisions, newest first, each with its triggers and its
 * "audit" (LLM outcome, provider, tokens, shadow choice, agreement and the
 * LLM calls; triggers and calls are fetched for the whole page in one
 * statement each).  With p->detail the items also carry "inputs", "menu"
 * and audit.raw_output; without (light pages) those are left out, and so
 * are the audit's null members and the shadow choice's reason.
 * On success *list is a JSON array (caller frees with json_object_put) and
 * *next_before the id to pass as ?before= for the next page, or 0 when
 * this is the last page.  Returns 0 or -1 (*list then NULL). */
int query_decisions(PGconn *c, const struct params_decisions *p, json_object **list,
                    long long *next_before) __attribute__((warn_unused_result));

/* One decision in full (as a detail page item), or *out NULL when there is
 * no decision with that id.  Caller frees *out.  Returns 0 or -1. */
int query_decision(PGconn *c, long long id, json_object **out) __attribute__((warn_unused_result));

/* The id of the newest control command that is no longer pending (0:
 * none), in *applied.  Returns 0 or -1. */
int query_applied(PGconn *c, long long *applied) __attribute__((warn_unused_result));

/* A control command as {command_id, command, status, requested_at,
 * processed_at, result, decision_id}, or *out NULL when there is none.
 * Caller frees *out.  Returns 0 or -1. */
int query_control_get(PGconn *c, long long id, json_object **out) __attribute__((warn_unused_result));

/* The /workflows/available document, built in SQL: {"dry_run", "catalog"
 * (worker_state.catalog), "n8n" (worker_state.n8n without its lists),
 * "discovered", "workflows": [the present catalog entries in catalog
 * order, each with its attributes, state, n8n_status, learned figures,
 * last run and 24-hour counts], "removed": [the newest 50 no longer in
 * it]}.  Returns 0 with *doc (caller frees), or -1. */
int query_workflows(PGconn *c, json_object **doc) __attribute__((warn_unused_result));

/* Record a result posted to POST /results (validated by results_parse)
 * through record_result(): body_text is the document as JSON text.
 * Returns 0 with *out filled, or -1. */
struct results_in;
int query_record_result(PGconn *c, const struct results_in *in, const char *body_text, struct query_result_rec *out)
    __attribute__((warn_unused_result));

/* What claim_trigger() answered a claim (sql/006_leader.sql). */
struct query_claim_rec {
    char verdict[16];            /* claimed, duplicate, unknown_key, mismatch, not_sent */
    long long trigger_id, decision_id;   /* 0 when unknown */
    char execution_id[72];       /* the claim's (a duplicate: the first one's) */
    char claimed_at[QUERY_TS_MAX];
};

/* Claim idempotency key for execution_id (workflow "" or NULL: not
 * checked) through claim_trigger().  Returns 0 with *out filled, or -1. */
int query_claim(PGconn *c, const char *key, const char *execution_id, const char *workflow,
                struct query_claim_rec *out) __attribute__((warn_unused_result));

/* Record a control command ('start', 'stop' or 'force_decision') from
 * requested_by (may be NULL).  Returns 0 with its id and requested_at
 * filled, or -1. */
int query_control_insert(PGconn *c, const char *command, const char *requested_by,
                         long long *id, char requested_at[QUERY_TS_MAX]) __attribute__((warn_unused_result));

/* A JSON number for d printed with at most 15 significant digits (no
 * 0.10000000000000001), or NULL (JSON null) when d is not finite.  Caller
 * frees (or hands it to a container). */
json_object *query_json_double(double d);

/* A JSON number for a value as PostgreSQL printed it (keeping its digits),
 * or NULL (JSON null) for "" or a non-finite value.  Caller frees. */
json_object *query_json_pgnum(const char *text);

/* Replay runs, newest first, at most limit, as {"replays": [...]}.
 * Returns 0 with *out set (caller frees), or -1 (logged as query.failed). */
int query_replays(PGconn *c, int limit, json_object **out) __attribute__((warn_unused_result));

/* One replay run: the list item plus "params" and the full "scorecard".
 * Returns 0 with *out set (caller frees) or NULL when there is no such run,
 * or -1 (logged). */
int query_replay(PGconn *c, long long id, json_object **out) __attribute__((warn_unused_result));

/* The SVG picture of a replay run.  Returns 0 with *svg (caller frees) and
 * *len set, *svg NULL when there is no such run or it has no picture
 * (yet); -1 (logged) on a database error or a picture over
 * LEARNING_SVG_MAX. */
int query_replay_svg(PGconn *c, long long id, char **svg, size_t *len) __attribute__((warn_unused_result));

#endif
