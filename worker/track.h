/* track: follow n8n executions to their end through n8n's public REST API.
 *
 *   GET {api}/executions/{id}            X-N8N-API-KEY: <N8N_API_KEY>
 *   GET {api}/workflows?limit=250[&cursor=...]
 *
 * {api} is N8N_API_URL, or N8N_BASE_URL + "/api/v1" when N8N_API_URL is
 * empty (see track_api_url).  Tracking is on when an API URL results and
 * N8N_API_KEY is set (track_enabled); without it a trigger's end is known
 * only from the result the workflow posts back, or from the timeout.
 *
 * Our workflows answer their webhook at once with
 * {"accepted":true,"execution_id":"45",...}; track_parse_webhook_answer()
 * takes the id from that.  n8n's "Immediately" mode answers
 * {"message":"Workflow was started"}: no id, nothing to follow.
 *
 * track_fetch() reads one execution; its statuses (n8n 1.x): new, running,
 * waiting (not finished), success, error, crashed, canceled, unknown.
 * track_outcome() turns a status, the trigger's start and the clock into the
 * trigger's final outcome.  Every answer read has a hard size cap; ids are
 * checked ([A-Za-z0-9_-], at most TRACK_ID_MAX) before they go into a URL.
 * Log events: track.fetched (debug), track.gone (info), track.fetch_failed
 * (warn), track.invalid_answer (warn), track.config_error (error),
 * track.workflows (info), track.workflows_failed (warn).  Neither the key
 * nor a URL is ever logged.
 *
 * ---- What the caller (worker cycle + store) does ------------------------
 *
 * Columns it needs (a new migration; opportunities and outcome_at exist
 * since 003_learning.sql):
 *   triggers.execution_id         text         n8n execution id from the webhook answer; NULL: unknown
 *   triggers.execution_status     text         last status n8n reported: track_status_name() values or 'gone'
 *   triggers.execution_started_at timestamptz  n8n startedAt
 *   triggers.execution_stopped_at timestamptz  n8n stoppedAt (duration metric: stopped - started)
 *   triggers.n8n_workflow_id      text         n8n workflowId of the execution
 *   triggers.outcome              text         CHECK (outcome IN ('succeeded','failed','crashed','canceled','timed_out')); NULL while open
 *   triggers.outcome_at           timestamptz  (exists) when the outcome was set
 *   triggers.opportunities        integer      (exists) from the workflow's posted result
 *   triggers.result_at            timestamptz  when the posted result arrived (result endpoint)
 *   triggers.tracked_at           timestamptz  last poll;  triggers.track_errors integer NOT NULL DEFAULT 0
 *   index: ON triggers (id) WHERE status = 'sent' AND outcome IS NULL
 *   worker_state.n8n_workflows    jsonb        track_workflows_json(), for /workflows/available
 *   worker_state.n8n_workflows_at timestamptz  when it was read
 *
 * 1. After act_fire_many(): for each job with status ACT_SENT store
 *    execution_id = track_parse_webhook_answer(job.response) (NULL is fine).
 * 2. Each cycle, when track_enabled(): load the open triggers (status 'sent',
 *    outcome NULL, execution_id NOT NULL, execution_status <> 'gone'; at
 *    most a few dozen, oldest first) and track_fetch_many() them.  Per id:
 *    - TRACK_OK: store execution_status/started/stopped/workflow id, and
 *      outcome = track_outcome(status, triggers.started_at, now,
 *      TRACK_TIMEOUT_SECONDS); a non-NULL outcome closes the trigger
 *      (outcome_at = now); 'failed', 'crashed', 'timed_out' also
 *      alert_workflow_failed().
 *    - TRACK_EGONE: the execution no longer exists (pruned, or n8n saves no
 *      data for that status).  Store execution_status 'gone' and stop
 *      polling it; the posted result, if it comes, or the timeout (step 3)
 *      closes it.
 *    - TRACK_ECONFIG: the key or the URL is wrong (logged with a clear
 *      message); stop this pass, show it in /status; retry next cycle.
 *    - TRACK_ERETRY, TRACK_EINVALID: track_errors + 1; try next cycle.
 * 3. Every open trigger that is not followed (no key, no execution id,
 *    'gone', failing polls): outcome = track_outcome(TRACK_STATUS_UNKNOWN,
 *    started_at, now, timeout), i.e. 'timed_out' once TRACK_TIMEOUT_SECONDS
 *    have passed, unless the posted result closed it first (its status
 *    'success' -> 'succeeded', 'error' -> 'failed').
 * 4. At worker start the same pass runs before the first decision: triggers
 *    left open by a previous run are reconciled, not forgotten.
 * 5. Every few minutes (and at start), track_list_workflows() ->
 *    worker_state.n8n_workflows, which the API merges with the catalog by
 *    webhook_path (or name, which our exports set to the path).
 * The functions keep no state between calls. */
#ifndef TRACK_H
#define TRACK_H

#include <json-c/json.h>
#include <stddef.h>
#include <time.h>

#include "cfg.h"

#define TRACK_ID_MAX 64                        /* execution and workflow ids */
#define TRACK_NAME_MAX 128                     /* workflow names and webhook paths (bytes) */
#define TRACK_PARALLEL_MAX 16                  /* requests in flight in track_fetch_many */
#define TRACK_PAGE_LIMIT 250                   /* n8n's largest page */
#define TRACK_MAX_PAGES 20                     /* pages read by track_list_workflows */
#define TRACK_EXEC_MAX_BYTES (256 * 1024)      /* one execution's answer */
#define TRACK_PAGE_MAX_BYTES (8 * 1024 * 1024) /* one page of workflows (they include their nodes) */
#define TRACK_DEFAULT_TIMEOUT_MS 10000         /* per request when WEBHOOK_TIMEOUT_MS is 0 */

enum track_status {
    TRACK_STATUS_NEW = 0,
    TRACK_STATUS_RUNNING,
    TRACK_STATUS_WAITING,
    TRACK_STATUS_SUCCESS,
    TRACK_STATUS_ERROR,
    TRACK_STATUS_CRASHED,
    TRACK_STATUS_CANCELED,
    TRACK_STATUS_UNKNOWN
};

/* n8n's string for s: "new", "running", "waiting", "success", "error",
 * "crashed", "canceled", "unknown" (static). */
const char *track_status_name(enum track_status s);

/* The status named s; NULL or any other string gives TRACK_STATUS_UNKNOWN. */
enum track_status track_status_parse(const char *s);

enum track_err {
    TRACK_OK = 0,
    TRACK_EDISABLED,   /* no API URL or no N8N_API_KEY */
    TRACK_EGONE,       /* 404: the execution does not exist (any more) */
    TRACK_ECONFIG,     /* 401/403, or no n8n API at that URL: fix the configuration */
    TRACK_ERETRY,      /* timeout, transport error, 429 or 5xx: try later */
    TRACK_EINVALID     /* a bad id, another 4xx, or an answer that is not what n8n sends */
};

/* A static string naming e. */
const char *track_strerror(enum track_err e);

struct track_exec {
    char id[TRACK_ID_MAX + 1];
    enum track_status status;
    int finished;                          /* n8n's flag: true only for success */
    char mode[32];                         /* webhook, trigger, manual, ... */
    char workflow_id[TRACK_ID_MAX + 1];
    char retry_of[TRACK_ID_MAX + 1];       /* "" when null */
    long long started_ms;                  /* ms since the epoch; 0 when null */
    long long stopped_ms;                  /* 0 while running */
    long long wait_till_ms;                /* 0 when null */
    long http_status;                      /* 0 without an answer */
    char error[256];                       /* why, when not TRACK_OK (no secret, no URL) */
};

/* The API base into out: N8N_API_URL, else N8N_BASE_URL + "/api/v1".
 * Returns 0, or -1 when neither is set or it does not fit (out = ""). */
int track_api_url(const struct cfg *c, char *out, size_t cap);

/* Nonzero when an API URL results and N8N_API_KEY is set. */
int track_enabled(const struct cfg *c);

/* The execution id in a webhook answer: "execution_id" (or "executionId"),
 * a string or an integer, in a JSON object (or the first object of an
 * array).  Returns a string (caller frees), or NULL when there is none
 * ("Immediately" mode), it is null, malformed or not a valid id, or the
 * body is not JSON. */
char *track_parse_webhook_answer(const char *body);

/* GET {api}/executions/{execution_id}.  Fills *out (zeroed first; out->error
 * says why on failure) and returns TRACK_OK or the reason; logs failures. */
enum track_err track_fetch(const struct cfg *c, const char *execution_id, struct track_exec *out)
    __attribute__((warn_unused_result));

/* The same for n ids, TRACK_PARALLEL_MAX at a time in parallel: outs[i] and
 * errs[i] answer ids[i].  Returns how many are TRACK_OK. */
size_t track_fetch_many(const struct cfg *c, const char *const *ids, size_t n,
                        struct track_exec *outs, enum track_err *errs);

/* Parse one execution object (exposed for tests).  Returns TRACK_OK or
 * TRACK_EINVALID with out->error set.  Without a "status" field (n8n before
 * 1.0) the status is derived: finished -> success, stoppedAt -> error,
 * waitTill -> waiting, else running. */
enum track_err track_parse_execution(const char *body, size_t len, struct track_exec *out)
    __attribute__((warn_unused_result));

#define TRACK_TAGS_MAX 8                       /* tags kept per workflow */
#define TRACK_TAG_MAX 40                       /* bytes of a tag name kept */

struct track_workflow {
    char id[TRACK_ID_MAX + 1];
    char name[TRACK_NAME_MAX + 1];         /* cut at a character boundary */
    int active;
    int archived;                          /* isArchived (n8n >= 1.9x), 0 when absent */
    char webhook_path[TRACK_NAME_MAX + 1]; /* path of its first POST Webhook node, else of its first
                                            * Webhook node; "" when none */
    char webhook_method[8];                /* that node's httpMethod ("GET" when it sets none, n8n's
                                            * default), "" when none */
    int ntags;
    char tags[TRACK_TAGS_MAX][TRACK_TAG_MAX + 1];   /* its tags' names (the first TRACK_TAGS_MAX) */
};

struct track_workflows {
    struct track_workflow *items;          /* owned; track_workflows_free */
    size_t n;
    int truncated;                         /* more than TRACK_MAX_PAGES pages: the rest not read */
    char error[256];                       /* why, when not TRACK_OK */
};

/* GET {api}/workflows?limit=250, following nextCursor for at most
 * TRACK_MAX_PAGES pages, into *out (zeroed first; on failure it holds no
 * items and out->error says why).  Returns TRACK_OK or the reason. */
enum track_err track_list_workflows(const struct cfg *c, struct track_workflows *out)
    __attribute__((warn_unused_result));

/* Parse one page of GET {api}/workflows (body of len bytes) and append its
 * workflows to w (w->items grown by realloc, *cap its capacity; at most
 * TRACK_MAX_WORKFLOWS in all); the next cursor into cursor (cursor_cap
 * bytes, "" when none; printable ASCII only).  Names and paths are cut at
 * TRACK_NAME_MAX bytes on a character boundary, bytes that are not UTF-8
 * become '?', control characters spaces; workflows without a valid id are
 * left out.  Returns TRACK_OK or TRACK_EINVALID with w->error set. */
enum track_err track_parse_workflows(const char *body, size_t len, struct track_workflows *w, size_t *cap,
                                     char *cursor, size_t cursor_cap) __attribute__((warn_unused_result));

/* Free the items; on a zeroed or freed list a no-op. */
void track_workflows_free(struct track_workflows *w);

/* Nonzero when w carries the tag named tag (tag "" or NULL: never). */
int track_workflow_tagged(const struct track_workflow *w, const char *tag);

/* [{"id","name","active","archived","webhook_path","webhook_method","tags"}, ...]
 * for worker_state (caller puts), or NULL on allocation failure. */
json_object *track_workflows_json(const struct track_workflows *w);

/* The trigger's final outcome from its execution's status:
 *   success -> "succeeded", error -> "failed", crashed -> "crashed",
 *   canceled -> "canceled"; new, running, waiting, unknown -> "timed_out"
 *   once now - started >= timeout_seconds, else NULL (still open).
 * started is when the trigger was fired.  Static strings. */
const char *track_outcome(enum track_status st, time_t started, time_t now, long timeout_seconds);

/* ---- stopping an execution (concurrency 'replace') ------------------------
 *
 * n8n 1.123's public API has no stop; its internal REST API has, with the
 * owner's session (checked against dist/auth/auth.controller.js and
 * dist/executions/executions.controller.js of n8n 1.123.81):
 *   POST {N8N_BASE_URL}/rest/login  {"emailOrLdapLoginId":..., "password":...}
 *        -> 200, Set-Cookie: n8n-auth=<session>
 *   POST {N8N_BASE_URL}/rest/executions/{id}/stop   Cookie: n8n-auth=<session>
 *        -> 200 {"data":{"mode","startedAt","stoppedAt","finished","status":"canceled"}}
 *        an execution that already ended: an error answer; 401: log in again.
 * Used only when N8N_OWNER_EMAIL and N8N_OWNER_PASSWORD are set
 * (track_stop_enabled).  The password and the session are secrets: never
 * logged, the session kept in memory only and wiped when freed.  The
 * login is cached and made again once when n8n answers 401. */

struct track_stopper {
    const struct cfg *cfg;     /* borrowed */
    char *session;             /* the n8n-auth cookie value (SECRET), NULL: not logged in */
    long long logins;          /* logins made, for tests */
};

enum track_stop {
    TRACK_STOP_STOPPED = 0,    /* n8n stopped it (its status now in *status, "canceled") */
    TRACK_STOP_ENDED,          /* it had already ended (or n8n no longer has it) */
    TRACK_STOP_DISABLED,       /* N8N_OWNER_EMAIL / N8N_OWNER_PASSWORD or N8N_BASE_URL not set */
    TRACK_STOP_FAILED          /* login refused, n8n unreachable, or another answer: err says why */
};

/* Nonzero when N8N_BASE_URL, N8N_OWNER_EMAIL and N8N_OWNER_PASSWORD are set. */
int track_stop_enabled(const struct cfg *c);

/* Set s up (nothing logged in yet). */
void track_stopper_init(struct track_stopper *s, const struct cfg *c);

/* Wipe and free the session; on a zeroed or freed stopper a no-op. */
void track_stopper_free(struct track_stopper *s);

/* Stop execution execution_id (checked like every id).  status (scap
 * bytes) gets n8n's status word after the stop ("canceled"; "" when not
 * known), err (errlen bytes) why it failed (no secret, no URL).  Logs
 * track.stopped (info) or track.stop_failed (warn).  Returns the outcome. */
enum track_stop track_stop_execution(struct track_stopper *s, const char *execution_id, char *status, size_t scap,
                                     char *err, size_t errlen);

/* ISO 8601 time as n8n writes it ("2025-03-17T09:00:00.123Z"; also
 * without fraction, with +hh:mm / -hhmm offsets) into ms since the epoch:
 * tu_parse_iso8601 of shared/timeutil.h.  Returns 0 or -1. */
int track_parse_time(const char *s, long long *ms);

#endif
