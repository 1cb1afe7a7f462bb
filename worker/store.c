/* store: the worker's SQL; see store.h. */
#include "config.h"
#include "store.h"
#include "status.h"
#include "store_sql.h"
#include "store_batch.h"
#include "db.h"
#include "catalog.h"
#include "learn.h"
#include "log.h"
#include "utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char SQL_WORKER_START[] =
    "UPDATE worker_state SET pid = $1, hostname = $2, version = $3, started_at = now(), "
    "       heartbeat_at = now(), dry_run = $4 "
    " WHERE id = 1 "
    "RETURNING running, coalesce(extract(epoch FROM next_decision_at)::bigint, 0)";
static const char SQL_WORKER_STOP[] =
    "UPDATE worker_state SET pid = NULL, heartbeat_at = NULL WHERE id = 1";
static const char SQL_HEARTBEAT[] =
    "UPDATE worker_state SET heartbeat_at = now() WHERE id = 1";
/* live decisions only: replay runs (run_id set) are not the worker's history */
static const char SQL_HISTORY_COUNTS[] =
    "SELECT count(*), "
    "       count(*) FILTER (WHERE status IN ('succeeded','partial','failed')), "
    "       count(*) FILTER (WHERE status = 'succeeded') "
    "  FROM decisions WHERE decided_at > to_timestamp($1) - interval '24 hours' AND run_id IS NULL";
static const char SQL_HISTORY_RECENT[] =
    "SELECT id, mode, status FROM decisions WHERE run_id IS NULL ORDER BY id DESC LIMIT 5";
/* a replay's history is its own run's */
static const char SQL_HISTORY_COUNTS_RUN[] =
    "SELECT count(*), "
    "       count(*) FILTER (WHERE status IN ('succeeded','partial','failed')), "
    "       count(*) FILTER (WHERE status = 'succeeded') "
    "  FROM decisions WHERE run_id = $2 AND decided_at > to_timestamp($1) - interval '24 hours' "
    "   AND decided_at <= to_timestamp($1)";
static const char SQL_HISTORY_RECENT_RUN[] =
    "SELECT id, mode, status FROM decisions WHERE run_id = $1 ORDER BY id DESC LIMIT 5";
static const char SQL_LLM_USAGE[] =
    "SELECT extract(epoch FROM c.called_at)::bigint, c.prompt_tokens + c.completion_tokens "
    "  FROM llm_calls c LEFT JOIN decisions d ON d.id = c.decision_id "
    " WHERE c.called_at > now() - interval '25 hours' AND d.run_id IS NULL "   /* a replay's calls are its own */
    " ORDER BY c.called_at";
static const char SQL_MARK_SENDING[] =
    "UPDATE triggers SET status = 'sending', attempts = attempts + 1, started_at = now() "
    " WHERE decision_id = $1 AND status = 'pending'";
static const char SQL_MARK_ACTING[] =
    "UPDATE decisions SET status = 'acting' WHERE id = $1";
static const char SQL_TRIGGER_RESULT[] =
    "UPDATE triggers SET status = $2, http_status = nullif($3, 0), latency_ms = $4, "
    "       error = nullif($5, ''), response = nullif($6, ''), finished_at = now() "
    " WHERE id = $1";
static const char SQL_DECISION_DONE[] =
    "UPDATE decisions SET status = $2, completed_at = now() WHERE id = $1";
static const char SQL_TAKE_COMMANDS[] =
    "SELECT id, command FROM control_commands WHERE status = 'pending' AND accepted_at IS NULL ORDER BY id LIMIT $1";
const char STORE_SQL_UPSERT_LEARNING[] =
    "INSERT INTO learning_state (scope, state, updated_at) VALUES ($1, $2::jsonb, to_timestamp($3)) "
    "ON CONFLICT (scope) DO UPDATE SET state = EXCLUDED.state, updated_at = EXCLUDED.updated_at";
static const char SQL_LOAD_LEARNING[] =
    "SELECT state::text FROM learning_state WHERE scope = $1";
const char STORE_SQL_UPDATE_LEARNING_SUMMARY[] =
    "UPDATE worker_state SET learning = $1::jsonb WHERE id = 1";
static const char SQL_TRIGGER_OUTCOME[] =
    "UPDATE triggers SET opportunities = $2::int, outcome_at = to_timestamp($3) WHERE idempotency_key = $1";
static const char SQL_REPLAY_BEGIN[] =
    "INSERT INTO replay_runs (label, seed, params, files, data_from, data_to) "
    "VALUES ($1, $2::bigint, $3::jsonb, $4::jsonb, to_timestamp($5), to_timestamp($6)) RETURNING id";
static const char SQL_REPLAY_FINISH[] =
    "UPDATE replay_runs SET status = $2, finished_at = now(), timings = $3::jsonb, scorecard = $4::jsonb, "
    "       svg = $5, error = nullif($6, '') "
    " WHERE id = $1";
static const char SQL_REPLAY_SESSION[] =
    "SET synchronous_commit = off";
/* A replay writes many large JSON inputs: lz4 compresses them at a
 * fraction of pglz's cost (the values are the same; only their storage
 * differs), where the server has it. */
static const char SQL_REPLAY_COMPRESSION[] =
    "SELECT set_config('default_toast_compression', 'lz4', false) FROM pg_settings "
    " WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)";
static const char SQL_PRUNE_PROBES[] =
    "DELETE FROM probes WHERE probed_at < now() - make_interval(hours => $1)";

/* ---- delivery, workflow state, results and tracking (004_n8n) ---------------- */

/* The learning context of a trigger: its decision's intensity, the band
 * and fresh exposure its market (its catalog row's, sql/008_catalog.sql)
 * had when the decision was made, and the decision's session label. */
#define STORE_LEARN_MARKET \
    "(SELECT CASE w.market WHEN 'crypto' THEN 'crypto' ELSE 'forex' END FROM workflows w WHERE w.name = t.workflow)"
#define STORE_LEARN_COLS \
    "d.intensity, " \
    "d.inputs #>> ARRAY['learning','markets', " STORE_LEARN_MARKET ", 'activity','band'], " \
    "d.inputs #>> ARRAY['learning','markets', " STORE_LEARN_MARKET ", 'fresh_exposure'], d.session "
static const char SQL_WF_LOAD[] =
    "SELECT workflow, available, circuit, consecutive_failures, "
    "       coalesce(extract(epoch FROM open_until)::bigint, 0), "
    "       coalesce(extract(epoch FROM circuit_opened_at)::bigint, 0), circuit_opens, "
    "       coalesce(extract(epoch FROM unavailable_since)::bigint, 0), "
    "       CASE WHEN n8n_id IS NULL THEN -1 WHEN n8n_active THEN 1 WHEN NOT n8n_active THEN 0 ELSE -1 END, "
    "       coalesce(extract(epoch FROM n8n_seen_at)::bigint, 0) "
    "  FROM workflow_state";
static const char SQL_WF_POLICY[] =
    "UPDATE workflow_state SET concurrency = $2, updated_at = now() "
    " WHERE workflow = $1 AND concurrency IS DISTINCT FROM $2";
static const char SQL_WF_CIRCUIT[] =
    "UPDATE workflow_state SET circuit = $2, consecutive_failures = $3::int, "
    "       open_until = CASE WHEN $4::bigint > 0 THEN to_timestamp($4::bigint) END, "
    "       circuit_opened_at = CASE WHEN $5::bigint > 0 THEN to_timestamp($5::bigint) END, "
    "       circuit_opens = $6::int, updated_at = now() "
    " WHERE workflow = $1";
static const char SQL_WF_AVAILABLE[] =
    "UPDATE workflow_state SET available = $2::boolean, "
    "       unavailable_since = CASE WHEN $2::boolean THEN NULL ELSE coalesce(unavailable_since, now()) END, "
    "       unavailable_reason = CASE WHEN $2::boolean THEN NULL ELSE $3 END, updated_at = now() "
    " WHERE workflow = $1";
/* a workflow's own timeout (its catalog row), else $1 (TRACK_TIMEOUT_SECONDS) */
#define STORE_TIMEOUT(wf) "coalesce(nullif(" wf ".timeout_seconds, 0), $1::int)"
static const char SQL_WF_RUNNING[] =
    "UPDATE workflow_state w SET running = c.n, updated_at = now() "
    "  FROM (SELECT s.workflow, count(t.id)::int AS n FROM workflow_state s "
    "          JOIN workflows wf ON wf.name = s.workflow "
    "          LEFT JOIN triggers t ON t.workflow = s.workflow AND t.status = 'sent' AND t.outcome IS NULL "
    "                              AND t.started_at > now() - make_interval(secs => " STORE_TIMEOUT("wf") ") "
    "         GROUP BY s.workflow) c "
    " WHERE w.workflow = c.workflow AND w.running <> c.n";
/* running for concurrency 'forbid': sent, or on its way (sending, a retry
 * scheduled), or sent by a worker that stopped before it knew (unknown),
 * without an outcome, started within the window */
static const char SQL_RUNNING_TRIGGER[] =
    "SELECT id, coalesce(execution_id, ''), status FROM triggers "
    " WHERE workflow = $1 AND status IN ('sent','sending','retrying','unknown') AND outcome IS NULL "
    "   AND id <> $3::bigint "
    "   AND coalesce(started_at, created_at) > now() - make_interval(secs => $2::int) "
    " ORDER BY id DESC LIMIT 1";
static const char SQL_TRIGGER_SKIP[] =
    "UPDATE triggers SET status = 'skipped', last_error_kind = $2, error = $3, finished_at = now() "
    " WHERE id = $1 AND status = 'pending'";
/* one attempt's outcome: sent, retrying (next_attempt_at), failed, unavailable */
static const char SQL_TRIGGER_ATTEMPT[] =
    "UPDATE triggers SET status = $2, http_status = nullif($3::int, 0), latency_ms = $4::int, "
    "       error = nullif($5, ''), response = nullif($6, ''), last_error_kind = nullif($7, ''), "
    "       next_attempt_at = CASE WHEN $8::bigint > 0 THEN to_timestamp($8::bigint / 1000.0) END, "
    "       execution_id = coalesce(execution_id, nullif($9, '')), "
    "       finished_at = CASE WHEN $2 = 'retrying' THEN NULL ELSE now() END "
    " WHERE id = $1";
/* concurrency 'replace': the running triggers a newer one replaces */
static const char SQL_REPLACE_TARGETS[] =
    "SELECT id, coalesce(execution_id, '') FROM triggers "
    " WHERE workflow = $1 AND status = 'sent' AND outcome IS NULL AND id < $2::bigint "
    " ORDER BY id LIMIT $3::int";
static const char SQL_SUPERSEDE_ONE[] =
    "UPDATE triggers SET outcome = 'superseded', outcome_at = now(), stop_outcome = nullif($3, ''), "
    "       execution_status = coalesce(nullif($4, ''), execution_status), tracked_at = now(), "
    "       error = left(coalesce(error || '; ', '') || 'superseded by trigger #' || $2 || "
    "                    CASE WHEN $5 <> '' THEN ': ' || $5 ELSE '' END, 1000) "
    " WHERE id = $1 AND status = 'sent' AND outcome IS NULL";
/* concurrency 'forbid' in the retry path: a due retry not sent */
static const char SQL_RETRY_SKIP[] =
    "UPDATE triggers SET status = 'skipped', last_error_kind = $2, next_attempt_at = NULL, finished_at = now(), "
    "       error = left(coalesce(error || '; ', '') || $3, 1000) "
    " WHERE id = $1 AND status = 'retrying'";
/* A decision is settled once none of its triggers is open: succeeded when
 * every trigger that counts went well, partial when some did, failed when
 * none did; skipped-by-policy triggers do not count (all of them: no_action).
 * A canceled execution (not by our own 'replace', which gives 'superseded')
 * failed.  A trigger a stopped worker left 'unknown' is open until its end
 * is known (a result arrived: good; timed out: bad), and an 'interrupted'
 * decision is settled again then. */
#define STORE_BAD_OUTCOMES "('failed','crashed','timed_out','canceled')"
static const char SQL_DECISION_SETTLE[] =
    "WITH c AS ("
    "  SELECT count(*) FILTER (WHERE status IN ('sent','unknown') AND outcome IS NOT NULL "
    "                                AND outcome NOT IN " STORE_BAD_OUTCOMES " "
    "                             OR (status = 'sent' AND outcome IS NULL)) AS good, "
    "         count(*) FILTER (WHERE status IN ('failed','unavailable','abandoned') "
    "                             OR (status = 'skipped' AND last_error_kind = 'circuit_open') "
    "                             OR outcome IN " STORE_BAD_OUTCOMES ") AS bad, "
    "         count(*) FILTER (WHERE status IN ('pending','sending','retrying') "
    "                             OR (status = 'unknown' AND outcome IS NULL)) AS open "
    "    FROM triggers WHERE decision_id = $1) "
    "UPDATE decisions d SET status = CASE WHEN c.good > 0 AND c.bad = 0 THEN 'succeeded' "
    "                                     WHEN c.good > 0 THEN 'partial' WHEN c.bad > 0 THEN 'failed' "
    "                                     ELSE 'no_action' END, "
    "       completed_at = coalesce(d.completed_at, now()) "
    "  FROM c "
    " WHERE d.id = $1 AND c.open = 0 "
    "   AND d.status IN ('acting','succeeded','partial','failed','no_action','interrupted') "
    "RETURNING d.status";
static const char SQL_DUE_RETRIES[] =
    "SELECT t.id, t.decision_id, t.workflow, t.idempotency_key, t.payload::text, t.attempts, "
    "       t.result_at IS NOT NULL, " STORE_LEARN_COLS
    "  FROM triggers t JOIN decisions d ON d.id = t.decision_id "
    " WHERE t.status = 'retrying' AND t.next_attempt_at <= to_timestamp($1::bigint) "
    " ORDER BY t.next_attempt_at, t.id LIMIT $2::int";
static const char SQL_NEXT_RETRY[] =
    "SELECT coalesce(ceil(extract(epoch FROM min(next_attempt_at)))::bigint, 0) FROM triggers WHERE status = 'retrying'";
static const char SQL_RETRY_SENDING[] =
    "UPDATE triggers SET status = 'sending', attempts = attempts + 1, next_attempt_at = NULL "
    " WHERE id = $1 AND status = 'retrying'";
static const char SQL_DELIVERED_BY_RESULT[] =
    "UPDATE triggers SET status = 'sent', next_attempt_at = NULL, finished_at = now(), "
    "       error = left(coalesce(error || '; ', '') || 'not retried: its result arrived', 1000) "
    " WHERE id = $1 AND status = 'retrying'";
static const char SQL_UNSETTLED[] =
    "SELECT t.id, t.decision_id, t.workflow, t.status, coalesce(t.outcome, ''), "
    "       t.outcome IS NOT NULL AND t.settled_at IS NULL, "
    "       t.result_at IS NOT NULL AND t.learned_at IS NULL, coalesce(t.opportunities, -1), "
    "       coalesce(t.result->>'status', ''), coalesce(left(coalesce(t.result->>'error', t.error), 240), ''), "
    "       coalesce(t.execution_id, ''), extract(epoch FROM t.created_at)::bigint, " STORE_LEARN_COLS
    "  FROM triggers t JOIN decisions d ON d.id = t.decision_id "
    " WHERE ((t.outcome IS NOT NULL AND t.settled_at IS NULL) OR (t.result_at IS NOT NULL AND t.learned_at IS NULL)) "
    "   AND d.run_id IS NULL "
    " ORDER BY t.id LIMIT $1::int";
static const char SQL_TRIGGER_SETTLED[] =
    "UPDATE triggers SET settled_at = CASE WHEN $2::boolean THEN coalesce(settled_at, now()) ELSE settled_at END, "
    "       learned_at = CASE WHEN $3::boolean THEN coalesce(learned_at, now()) ELSE learned_at END "
    " WHERE id = $1";
/* Executions whose end n8n has not shown yet: also those whose outcome a
 * posted result already gave (the report comes before the workflow's last
 * node), for STORE_TRACK_AFTER_OUTCOME, so that n8n's own status is known. */
#define STORE_TRACK_AFTER_OUTCOME "interval '10 minutes'"
static const char SQL_OPEN_TRACKED[] =
    "SELECT id, execution_id, extract(epoch FROM coalesce(started_at, created_at))::bigint FROM triggers "
    " WHERE status = 'sent' AND execution_id IS NOT NULL "
    "   AND (execution_status IS NULL OR execution_status IN ('new','running','waiting','unknown')) "
    "   AND (outcome IS NULL OR (outcome <> 'superseded' AND outcome_at > now() - " STORE_TRACK_AFTER_OUTCOME ")) "
    " ORDER BY coalesce(tracked_at, '-infinity'::timestamptz), id LIMIT $1::int";
/* A superseded trigger is not followed any more (its stop said how its
 * execution ended): a look that was on its way when it was superseded
 * (answers are recorded while a request waits) changes nothing. */
static const char SQL_TRACK_UPDATE[] =
    "UPDATE triggers SET execution_status = $2, tracked_at = now(), track_errors = 0, "
    "       execution_started_at = CASE WHEN $3::bigint > 0 THEN to_timestamp($3::bigint / 1000.0) END, "
    "       execution_stopped_at = CASE WHEN $4::bigint > 0 THEN to_timestamp($4::bigint / 1000.0) END, "
    "       n8n_workflow_id = coalesce(nullif($5, ''), n8n_workflow_id), "
    "       duration_ms = coalesce(duration_ms, CASE WHEN $3::bigint > 0 AND $4::bigint >= $3::bigint "
    "                                                THEN ($4::bigint - $3::bigint)::int END), "
    "       outcome = coalesce(outcome, nullif($6, '')), "
    "       outcome_at = CASE WHEN outcome IS NULL AND $6 <> '' THEN now() ELSE outcome_at END "
    " WHERE id = $1 AND outcome IS DISTINCT FROM 'superseded'";
static const char SQL_TRACK_FAILED[] =
    "UPDATE triggers SET tracked_at = now(), track_errors = track_errors + 1, "
    "       execution_status = CASE WHEN $2::boolean THEN 'gone' ELSE execution_status END "
    " WHERE id = $1";
/* only triggers whose end could have been known: with an execution id to
 * follow, or any of a workflow that expects_result when results are
 * expected ($2); and those a stopped worker left 'unknown' (delivered or
 * not, their end never comes now); after the workflow's own timeout */
static const char SQL_TIME_OUT[] =
    "UPDATE triggers t SET outcome = 'timed_out', outcome_at = now(), "
    "       error = left(coalesce(t.error || '; ', '') || 'no end known after ' || " STORE_TIMEOUT("w") " || ' s', 1000) "
    "  FROM workflows w "
    " WHERE w.name = t.workflow AND t.status IN ('sent','unknown') AND t.outcome IS NULL "
    "   AND coalesce(t.started_at, t.created_at) < now() - make_interval(secs => " STORE_TIMEOUT("w") ") "
    "   AND (($2::boolean AND w.expects_result) OR t.execution_id IS NOT NULL OR t.status = 'unknown')";
static const char SQL_WF_N8N[] =
    "UPDATE workflow_state SET n8n_id = nullif($2, ''), n8n_name = nullif($3, ''), "
    "       n8n_active = CASE $4 WHEN 't' THEN true WHEN 'f' THEN false END, n8n_seen_at = now(), updated_at = now() "
    " WHERE workflow = $1";
static const char SQL_WORKER_N8N[] =
    "UPDATE worker_state SET n8n = $1::jsonb WHERE id = 1";
static const char SQL_WORKER_ALERTS[] =
    "UPDATE worker_state SET alerts = $1::jsonb WHERE id = 1";
static const char SQL_WORKER_N8N_KEY[] =
    "UPDATE worker_state SET n8n = n8n || jsonb_build_object($1::text, $2::jsonb) WHERE id = 1";

static const char SQL_BEGIN[] = "BEGIN";
static const char SQL_COMMIT[] = "COMMIT";
static const char SQL_ROLLBACK[] = "ROLLBACK";
static const char SQL_SAVEPOINT[] = "SAVEPOINT store_tx";
static const char SQL_RELEASE[] = "RELEASE SAVEPOINT store_tx";
static const char SQL_ROLLBACK_TO[] = "ROLLBACK TO SAVEPOINT store_tx";

/* With the replay's batched writer a savepoint is a mark in its queue
 * (store_batch.h): the statements are queued, not run. */
int store_begin(PGconn *c, int *nested)
{
    struct store_batch *b = store_batch_of(c);
    if (b) {
        *nested = 1;
        return store_batch_mark(b);
    }
    *nested = PQtransactionStatus(c) == PQTRANS_INTRANS;
    return db_exec(c, *nested ? SQL_SAVEPOINT : SQL_BEGIN);
}

int store_commit(PGconn *c, int nested)
{
    struct store_batch *b = store_batch_of(c);
    if (b) {
        store_batch_release(b);
        return 0;
    }
    return db_exec(c, nested ? SQL_RELEASE : SQL_COMMIT);
}

void store_rollback(PGconn *c, int nested)
{
    struct store_batch *b = store_batch_of(c);
    if (b)
        store_batch_rewind(b);
    else if (db_exec(c, nested ? SQL_ROLLBACK_TO : SQL_ROLLBACK) < 0)
        log_event(LOG_ERROR, "store.rollback_failed", NULL);
}

/* Tell the replay's batched writer (if c has one) that a decision's status changed. */
static void store_note_status(PGconn *c, long long decision_id, const char *status)
{
    struct store_batch *b = store_batch_of(c);
    if (b)
        store_batch_note_status(b, decision_id, status);
}

static int store_fenced_flag;

int store_fenced(void)
{
    int f = store_fenced_flag;
    store_fenced_flag = 0;
    return f;
}

/* The last refused statement: its SQLSTATE and message (store_refused). */
static char store_last_state[8];
static char store_last_error[200];

void store_refused_clear(void)
{
    store_last_state[0] = '\0';
}

int store_refused(char *why, size_t cap)
{
    /* 22: data exception (bad JSON, encoding, out of range), 54: program
     * limit exceeded, 23514: a CHECK, 42804: a datatype mismatch */
    int content = strncmp(store_last_state, "22", 2) == 0 || strncmp(store_last_state, "54", 2) == 0 ||
                  strcmp(store_last_state, "23514") == 0 || strcmp(store_last_state, "42804") == 0;
    if (content && cap)
        snprintf(why, cap, "%s: %s", store_last_state, store_last_error);
    return content;
}

PGresult *store_checked(PGresult *r, const char *name)
{
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return r;
    const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    snprintf(store_last_state, sizeof store_last_state, "%s", state ? state : "");
    utf8_copy_clean(store_last_error, sizeof store_last_error, PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY)
                                                               ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : "");
    if (state && strcmp(state, STORE_SQLSTATE_FENCED) == 0) {
        store_fenced_flag = 1;
        log_event(LOG_WARN, "store.fenced", "s:statement s:detail", name,
                  "another worker took the leader lease: nothing written");
        PQclear(r);
        return NULL;
    }
    char msg[300];
    snprintf(msg, sizeof msg, "%s", PQresultErrorMessage(r));
    msg[strcspn(msg, "\n")] = '\0';
    log_event(LOG_ERROR, "store.failed", "s:statement s:error", name, msg);
    PQclear(r);
    return NULL;
}

PGresult *store_run(PGconn *c, const char *name, const char *sql, int n, const char *const *vals)
{
    struct store_batch *b = store_batch_of(c);
    if (b)
        return store_batch_run(b, name, sql, n, vals);
    return store_checked(PQexecParams(c, sql, n, NULL, vals, NULL, NULL, 0), name);
}

/* With the replay's batched writer the statement is queued (store_batch.h). */
int store_cmd(PGconn *c, const char *name, const char *sql, int n, const char *const *vals)
{
    struct store_batch *b = store_batch_of(c);
    if (b)
        return store_batch_queue(b, name, sql, n, vals);
    PGresult *r = store_run(c, name, sql, n, vals);
    if (!r)
        return -1;
    PQclear(r);
    return 0;
}

long store_affected(PGconn *c, const char *name, const char *sql, int n, const char *const *vals)
{
    PGresult *r = store_run(c, name, sql, n, vals);
    if (!r)
        return -1;
    long k = strtol(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    return k;
}

int store_worker_start(PGconn *c, int dry_run, int *running, time_t *next_at)
{
    char pid[24], host[256] = "";
    snprintf(pid, sizeof pid, "%ld", (long)getpid());
    gethostname(host, sizeof host - 1);
    const char *v[] = { pid, host, PACKAGE_VERSION, dry_run ? "t" : "f" };
    PGresult *r = store_run(c, "worker_start", SQL_WORKER_START, 4, v);
    if (!r)
        return -1;
    int ok = PQntuples(r) == 1;
    if (ok) {
        *running = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
        *next_at = (time_t)strtoll(PQgetvalue(r, 0, 1), NULL, 10);
    } else {
        log_event(LOG_ERROR, "store.failed", "s:statement s:error", "worker_start", "worker_state row missing");
    }
    PQclear(r);
    return ok ? 0 : -1;
}

int store_worker_stop(PGconn *c) { return store_cmd(c, "worker_stop", SQL_WORKER_STOP, 0, NULL); }
int store_heartbeat(PGconn *c) { return store_cmd(c, "heartbeat", SQL_HEARTBEAT, 0, NULL); }

long long store_int(PGresult *r, int i, int j)
{
    if (PQgetisnull(r, i, j))
        return 0;
    return strtoll(PQgetvalue(r, i, j), NULL, 10);
}

int store_history(PGconn *c, time_t now, struct store_history *h)
{
    return store_history_run(c, 0, now, h);
}

int store_history_run(PGconn *c, long long run_id, time_t now, struct store_history *h)
{
    memset(h, 0, sizeof *h);
    if (!c)
        return 0;
    struct store_batch *b = run_id ? store_batch_of(c) : NULL;
    if (b && store_batch_history(b, run_id, now, h) == 0)
        return 0;                      /* what the batched writer wrote, without a round trip */
    char ts[24], run[24];
    snprintf(ts, sizeof ts, "%lld", (long long)now);
    snprintf(run, sizeof run, "%lld", run_id);
    const char *v[] = { ts, run };
    PGresult *r = run_id ? store_run(c, "history_counts_run", SQL_HISTORY_COUNTS_RUN, 2, v)
                         : store_run(c, "history_counts", SQL_HISTORY_COUNTS, 1, v);
    if (!r)
        return -1;
    h->decisions_24h = (int)store_int(r, 0, 0);
    h->acted_24h = (int)store_int(r, 0, 1);
    h->succeeded_24h = (int)store_int(r, 0, 2);
    PQclear(r);
    const char *rv[] = { run };
    r = run_id ? store_run(c, "history_recent_run", SQL_HISTORY_RECENT_RUN, 1, rv)
               : store_run(c, "history_recent", SQL_HISTORY_RECENT, 0, NULL);
    if (!r)
        return -1;
    for (int i = 0; i < PQntuples(r) && i < STORE_MAX_RECENT; i++) {
        struct store_recent *e = &h->recent[h->nrecent++];
        e->id = store_int(r, i, 0);
        snprintf(e->mode, sizeof e->mode, "%s", PQgetvalue(r, i, 1));
        snprintf(e->status, sizeof e->status, "%s", PQgetvalue(r, i, 2));
    }
    if (h->nrecent)
        snprintf(h->last_mode, sizeof h->last_mode, "%s", h->recent[0].mode);
    PQclear(r);
    return 0;
}

int store_llm_usage(PGconn *c, void (*add)(void *arg, time_t at, long tokens), void *arg)
{
    PGresult *r = store_run(c, "llm_usage", SQL_LLM_USAGE, 0, NULL);
    if (!r)
        return -1;
    for (int i = 0; i < PQntuples(r); i++)
        add(arg, (time_t)store_int(r, i, 0), (long)store_int(r, i, 1));
    PQclear(r);
    return 0;
}

int store_mark_sending(PGconn *c, long long decision_id)
{
    if (!c)
        return 0;
    char id[24];
    snprintf(id, sizeof id, "%lld", decision_id);
    const char *v[] = { id };
    int nested;
    if (store_begin(c, &nested) < 0)
        return -1;
    if (store_cmd(c, "mark_sending", SQL_MARK_SENDING, 1, v) < 0 ||
        store_cmd(c, "mark_acting", SQL_MARK_ACTING, 1, v) < 0) {
        store_rollback(c, nested);
        return -1;
    }
    if (store_commit(c, nested) < 0)
        return -1;
    store_note_status(c, decision_id, decision_status_name(DECISION_ACTING));
    return 0;
}

int store_trigger_result(PGconn *c, long long trigger_id, const char *status, const struct act_job *job)
{
    if (!c)
        return 0;
    char id[24], st[24], lat[24];
    snprintf(id, sizeof id, "%lld", trigger_id);
    snprintf(st, sizeof st, "%ld", job->http_status);
    snprintf(lat, sizeof lat, "%ld", (long)(job->latency_ms + 0.5));
    const char *v[] = { id, status, st, lat, job->error, job->response };
    return store_cmd(c, "trigger_result", SQL_TRIGGER_RESULT, 6, v);
}

int store_decision_done(PGconn *c, long long decision_id, const char *status)
{
    if (!c)
        return 0;
    char id[24];
    snprintf(id, sizeof id, "%lld", decision_id);
    const char *v[] = { id, status };
    if (store_cmd(c, "decision_done", SQL_DECISION_DONE, 2, v) < 0)
        return -1;
    store_note_status(c, decision_id, status);
    return 0;
}

int store_take_commands(PGconn *c, struct store_cmd *cmds, int max)
{
    char lim[16];
    snprintf(lim, sizeof lim, "%d", max);
    const char *v[] = { lim };
    PGresult *r = store_run(c, "take_commands", SQL_TAKE_COMMANDS, 1, v);
    if (!r)
        return -1;
    int n = 0;
    for (int i = 0; i < PQntuples(r) && n < max; i++) {
        const char *name = PQgetvalue(r, i, 1);
        cmds[n].id = store_int(r, i, 0);
        if (strcmp(name, "start") == 0)
            cmds[n].cmd = STORE_CMD_START;
        else if (strcmp(name, "stop") == 0)
            cmds[n].cmd = STORE_CMD_STOP;
        else if (strcmp(name, "reload_catalog") == 0)
            cmds[n].cmd = STORE_CMD_RELOAD;
        else
            cmds[n].cmd = STORE_CMD_FORCE;
        n++;
    }
    PQclear(r);
    return n;
}


long store_prune_probes(PGconn *c, long hours)
{
    char h[24];
    snprintf(h, sizeof h, "%ld", hours);
    const char *v[] = { h };
    return store_affected(c, "prune_probes", SQL_PRUNE_PROBES, 1, v);
}

int store_trigger_outcome(PGconn *c, const char *key, int opportunities, time_t at)
{
    if (!c)
        return 0;
    char n[24], ts[24];
    snprintf(n, sizeof n, "%d", opportunities);
    snprintf(ts, sizeof ts, "%lld", (long long)at);
    const char *v[] = { key, n, ts };
    return store_cmd(c, "trigger_outcome", SQL_TRIGGER_OUTCOME, 3, v);
}

int store_learning_load(PGconn *c, const char *scope, char **state)
{
    *state = NULL;
    const char *v[] = { scope };
    PGresult *r = store_run(c, "load_learning", SQL_LOAD_LEARNING, 1, v);
    if (!r)
        return -1;
    int rc = 0;
    if (PQntuples(r) == 1 && !PQgetisnull(r, 0, 0)) {
        *state = strdup(PQgetvalue(r, 0, 0));
        if (!*state)
            rc = -1;
    }
    PQclear(r);
    return rc;
}

int store_replay_begin(PGconn *c, const char *label, long long seed, const char *params, const char *files,
                       time_t from, time_t to, long long *run_id)
{
    *run_id = 0;
    if (store_cmd(c, "replay_session", SQL_REPLAY_SESSION, 0, NULL) < 0 ||
        store_cmd(c, "replay_compression", SQL_REPLAY_COMPRESSION, 0, NULL) < 0)
        return -1;
    char sd[24], f[24], t[24];
    snprintf(sd, sizeof sd, "%lld", seed);
    snprintf(f, sizeof f, "%lld", (long long)from);
    snprintf(t, sizeof t, "%lld", (long long)to);
    const char *v[] = { label, sd, params, files, f, t };
    PGresult *r = store_run(c, "replay_begin", SQL_REPLAY_BEGIN, 6, v);
    if (!r)
        return -1;
    int ok = PQntuples(r) == 1;
    if (ok)
        *run_id = store_int(r, 0, 0);
    PQclear(r);
    return ok ? 0 : -1;
}

int store_replay_finish(PGconn *c, long long run_id, const char *status, const char *timings,
                        const char *scorecard, const char *svg, const char *error)
{
    char id[24];
    snprintf(id, sizeof id, "%lld", run_id);
    const char *v[] = { id, status, timings, scorecard, svg, error ? error : "" };
    return store_cmd(c, "replay_finish", SQL_REPLAY_FINISH, 6, v);
}

int store_learning_save(PGconn *c, const char *scope, const char *state, time_t at)
{
    char ts[24];
    snprintf(ts, sizeof ts, "%lld", (long long)at);
    const char *v[] = { scope, state, ts };
    return store_cmd(c, "upsert_learning", STORE_SQL_UPSERT_LEARNING, 3, v);
}

/* ---- delivery, workflow state, results and tracking ----------------------------- */

int store_wf_load(PGconn *c, struct store_wf_state *out)
{
    memset(out, 0, sizeof *out * CATALOG_SLOTS);
    PGresult *r = store_run(c, "wf_load", SQL_WF_LOAD, 0, NULL);
    if (!r)
        return -1;
    for (int i = 0; i < PQntuples(r); i++) {
        int w = catalog_workflow_parse(PQgetvalue(r, i, 0));
        if (w < 0)
            continue;
        struct store_wf_state *s = &out[w];
        s->present = 1;
        s->available = strcmp(PQgetvalue(r, i, 1), "t") == 0;
        snprintf(s->circuit, sizeof s->circuit, "%s", PQgetvalue(r, i, 2));
        s->failures = (long)store_int(r, i, 3);
        s->open_until = (time_t)store_int(r, i, 4);
        s->opened_at = (time_t)store_int(r, i, 5);
        s->opens = (long)store_int(r, i, 6);
        s->unavailable_since = (time_t)store_int(r, i, 7);
        s->n8n_active = (int)store_int(r, i, 8);
        s->n8n_seen_at = (time_t)store_int(r, i, 9);
    }
    PQclear(r);
    return 0;
}

int store_wf_policy(PGconn *c, int wf, const char *policy)
{
    const char *v[] = { catalog_name(wf), policy };
    return store_cmd(c, "wf_policy", SQL_WF_POLICY, 2, v);
}

int store_wf_circuit(PGconn *c, int wf, const char *state, long failures, time_t open_until, time_t opened_at,
                     long opens)
{
    char f[24], u[24], o[24], n[24];
    snprintf(f, sizeof f, "%ld", failures);
    snprintf(u, sizeof u, "%lld", (long long)open_until);
    snprintf(o, sizeof o, "%lld", (long long)opened_at);
    snprintf(n, sizeof n, "%ld", opens);
    const char *v[] = { catalog_name(wf), state, f, u, o, n };
    return store_cmd(c, "wf_circuit", SQL_WF_CIRCUIT, 6, v);
}

int store_wf_available(PGconn *c, int wf, int available, const char *reason)
{
    const char *v[] = { catalog_name(wf), available ? "t" : "f", reason };
    return store_cmd(c, "wf_available", SQL_WF_AVAILABLE, 3, v);
}

int store_wf_running(PGconn *c, long window_s)
{
    char w[24];
    snprintf(w, sizeof w, "%ld", window_s);
    const char *v[] = { w };
    return store_cmd(c, "wf_running", SQL_WF_RUNNING, 1, v);
}

int store_running_trigger(PGconn *c, int wf, long window_s, long long except_id, long long *id,
                          char *execution_id, size_t cap, char status[16])
{
    status[0] = '\0';
    char w[24], x[24];
    snprintf(w, sizeof w, "%ld", window_s);
    snprintf(x, sizeof x, "%lld", except_id);
    const char *v[] = { catalog_name(wf), w, x };
    *id = 0;
    if (cap)
        execution_id[0] = '\0';
    PGresult *r = store_run(c, "running_trigger", SQL_RUNNING_TRIGGER, 3, v);
    if (!r)
        return -1;
    int found = PQntuples(r) == 1;
    if (found) {
        *id = store_int(r, 0, 0);
        if (cap)
            snprintf(execution_id, cap, "%s", PQgetvalue(r, 0, 1));
        snprintf(status, 16, "%s", PQgetvalue(r, 0, 2));
    }
    PQclear(r);
    return found;
}

int store_trigger_skip(PGconn *c, long long trigger_id, const char *kind, const char *error)
{
    char id[24];
    snprintf(id, sizeof id, "%lld", trigger_id);
    const char *v[] = { id, kind, error };
    return store_cmd(c, "trigger_skip", SQL_TRIGGER_SKIP, 3, v);
}

int store_trigger_attempt(PGconn *c, long long trigger_id, const char *status, const struct act_job *job,
                          const char *kind, long long next_attempt_ms, const char *execution_id)
{
    char id[24], st[24], lat[24], next[24];
    snprintf(id, sizeof id, "%lld", trigger_id);
    snprintf(st, sizeof st, "%ld", job->http_status);
    snprintf(lat, sizeof lat, "%ld", (long)(job->latency_ms + 0.5));
    snprintf(next, sizeof next, "%lld", next_attempt_ms);
    const char *v[] = { id, status, st, lat, job->error, job->response, kind ? kind : "", next,
                        execution_id ? execution_id : "" };
    return store_cmd(c, "trigger_attempt", SQL_TRIGGER_ATTEMPT, 9, v);
}

int store_replace_targets(PGconn *c, int wf, long long trigger_id, struct store_open *out, int max)
{
    char id[24], lim[16];
    snprintf(id, sizeof id, "%lld", trigger_id);
    snprintf(lim, sizeof lim, "%d", max);
    const char *v[] = { catalog_name(wf), id, lim };
    PGresult *r = store_run(c, "replace_targets", SQL_REPLACE_TARGETS, 3, v);
    if (!r)
        return -1;
    int n = 0;
    for (int i = 0; i < PQntuples(r) && n < max; i++) {
        out[n].id = store_int(r, i, 0);
        snprintf(out[n].execution_id, sizeof out[n].execution_id, "%s", PQgetvalue(r, i, 1));
        out[n].started = 0;
        n++;
    }
    PQclear(r);
    return n;
}

int store_supersede_one(PGconn *c, long long trigger_id, long long by_id, const char *stop_outcome,
                        const char *exec_status, const char *note)
{
    char id[24], by[24];
    snprintf(id, sizeof id, "%lld", trigger_id);
    snprintf(by, sizeof by, "%lld", by_id);
    const char *v[] = { id, by, stop_outcome ? stop_outcome : "", exec_status ? exec_status : "", note ? note : "" };
    return store_cmd(c, "supersede_one", SQL_SUPERSEDE_ONE, 5, v);
}

int store_retry_skip(PGconn *c, long long trigger_id, const char *kind, const char *error)
{
    char id[24];
    snprintf(id, sizeof id, "%lld", trigger_id);
    const char *v[] = { id, kind, error };
    return store_cmd(c, "retry_skip", SQL_RETRY_SKIP, 3, v);
}

int store_decision_settle(PGconn *c, long long decision_id, char *status, size_t cap)
{
    return store_decision_settle_expect(c, decision_id, NULL, status, cap);
}

int store_decision_settle_expect(PGconn *c, long long decision_id, const char *expect, char *status, size_t cap)
{
    char id[24];
    snprintf(id, sizeof id, "%lld", decision_id);
    const char *v[] = { id };
    if (cap)
        status[0] = '\0';
    struct store_batch *b = store_batch_of(c);
    int queued = b ? store_batch_settle(b, "decision_settle", SQL_DECISION_SETTLE, v, decision_id, expect, status, cap)
                   : -2;
    if (queued != -2)
        return queued;
    PGresult *r = store_run(c, "decision_settle", SQL_DECISION_SETTLE, 1, v);
    if (!r)
        return -1;
    int settled = PQntuples(r) == 1;
    if (settled && cap)
        snprintf(status, cap, "%s", PQgetvalue(r, 0, 0));
    if (settled)
        store_note_status(c, decision_id, PQgetvalue(r, 0, 0));
    PQclear(r);
    return settled;
}

/* The learning context columns (intensity, band, exposure, session) at
 * column j of row i into *intensity, *band (-1 unknown), *exposure and
 * *bucket (-1 unknown). */
static void store_learn_cols(PGresult *r, int i, int j, int *intensity, int *band, double *exposure, int *bucket)
{
    *bucket = PQgetisnull(r, i, j + 3) ? -1 : learn_bucket(PQgetvalue(r, i, j + 3));
    *intensity = catalog_intensity_parse(PQgetvalue(r, i, j));
    *band = -1;
    const char *b = PQgetvalue(r, i, j + 1);
    for (int k = 0; k < LEARN_BAND_COUNT; k++)
        if (strcmp(b, learn_band_name(k)) == 0)
            *band = k;
    *exposure = PQgetisnull(r, i, j + 2) ? 0 : strtod(PQgetvalue(r, i, j + 2), NULL);
}

int store_due_retries(PGconn *c, time_t now, struct store_retry *out, int max)
{
    char ts[24], lim[16];
    snprintf(ts, sizeof ts, "%lld", (long long)now);
    snprintf(lim, sizeof lim, "%d", max);
    const char *v[] = { ts, lim };
    PGresult *r = store_run(c, "due_retries", SQL_DUE_RETRIES, 2, v);
    if (!r)
        return -1;
    int n = 0;
    for (int i = 0; i < PQntuples(r) && n < max; i++) {
        struct store_retry *t = &out[n];
        memset(t, 0, sizeof *t);
        t->wf = catalog_slot(PQgetvalue(r, i, 2));
        if (t->wf < 0)
            continue;
        t->id = store_int(r, i, 0);
        t->decision_id = store_int(r, i, 1);
        snprintf(t->key, sizeof t->key, "%s", PQgetvalue(r, i, 3));
        t->payload = strdup(PQgetvalue(r, i, 4));
        if (!t->payload) {
            store_retries_clear(out, n);
            PQclear(r);
            return -1;
        }
        t->attempts = (int)store_int(r, i, 5);
        t->has_result = strcmp(PQgetvalue(r, i, 6), "t") == 0;
        store_learn_cols(r, i, 7, &t->intensity, &t->band, &t->exposure, &t->bucket);
        n++;
    }
    PQclear(r);
    return n;
}

void store_retries_clear(struct store_retry *rows, int n)
{
    for (int i = 0; i < n; i++) {
        free(rows[i].payload);
        rows[i].payload = NULL;
    }
}

int store_next_retry(PGconn *c, time_t *at)
{
    *at = 0;
    PGresult *r = store_run(c, "next_retry", SQL_NEXT_RETRY, 0, NULL);
    if (!r)
        return -1;
    *at = (time_t)store_int(r, 0, 0);
    PQclear(r);
    return 0;
}

int store_retry_sending(PGconn *c, long long trigger_id)
{
    char id[24];
    snprintf(id, sizeof id, "%lld", trigger_id);
    const char *v[] = { id };
    long n = store_affected(c, "retry_sending", SQL_RETRY_SENDING, 1, v);
    return n < 0 ? -1 : n == 1 ? 0 : 1;
}

int store_delivered_by_result(PGconn *c, long long trigger_id)
{
    char id[24];
    snprintf(id, sizeof id, "%lld", trigger_id);
    const char *v[] = { id };
    return store_cmd(c, "delivered_by_result", SQL_DELIVERED_BY_RESULT, 1, v);
}

int store_unsettled(PGconn *c, struct store_unsettled *out, int max)
{
    char lim[16];
    snprintf(lim, sizeof lim, "%d", max);
    const char *v[] = { lim };
    PGresult *r = store_run(c, "unsettled", SQL_UNSETTLED, 1, v);
    if (!r)
        return -1;
    int n = 0;
    for (int i = 0; i < PQntuples(r) && n < max; i++) {
        struct store_unsettled *u = &out[n];
        memset(u, 0, sizeof *u);
        u->wf = catalog_slot(PQgetvalue(r, i, 2));
        u->id = store_int(r, i, 0);
        if (u->wf < 0)
            continue;
        u->decision_id = store_int(r, i, 1);
        snprintf(u->status, sizeof u->status, "%s", PQgetvalue(r, i, 3));
        snprintf(u->outcome, sizeof u->outcome, "%s", PQgetvalue(r, i, 4));
        u->need_settle = strcmp(PQgetvalue(r, i, 5), "t") == 0;
        u->need_learn = strcmp(PQgetvalue(r, i, 6), "t") == 0;
        u->opportunities = (int)store_int(r, i, 7);
        snprintf(u->result_status, sizeof u->result_status, "%s", PQgetvalue(r, i, 8));
        snprintf(u->error, sizeof u->error, "%s", PQgetvalue(r, i, 9));
        snprintf(u->execution_id, sizeof u->execution_id, "%s", PQgetvalue(r, i, 10));
        u->created = (time_t)store_int(r, i, 11);
        store_learn_cols(r, i, 12, &u->intensity, &u->band, &u->exposure, &u->bucket);
        n++;
    }
    PQclear(r);
    return n;
}

int store_trigger_settled(PGconn *c, long long trigger_id, int settled, int learned)
{
    return store_trigger_handled(c, trigger_id, settled, learned, NULL, NULL, NULL, 0);
}

int store_trigger_handled(PGconn *c, long long trigger_id, int settled, int learned, const char *scope,
                          const char *state, const char *summary, time_t at)
{
    char id[24], ts[24];
    snprintf(id, sizeof id, "%lld", trigger_id);
    snprintf(ts, sizeof ts, "%lld", (long long)at);
    const char *v[] = { id, settled ? "t" : "f", learned ? "t" : "f" };
    if (!scope || !state)
        return store_cmd(c, "trigger_settled", SQL_TRIGGER_SETTLED, 3, v);
    /* what was learned is saved with the mark that it was learned */
    int nested;
    if (store_begin(c, &nested) < 0)
        return -1;
    const char *lv[] = { scope, state, ts };
    const char *sv[] = { summary };
    if (store_cmd(c, "trigger_settled", SQL_TRIGGER_SETTLED, 3, v) < 0 ||
        store_cmd(c, "upsert_learning", STORE_SQL_UPSERT_LEARNING, 3, lv) < 0 ||
        (summary && store_cmd(c, "update_learning_summary", STORE_SQL_UPDATE_LEARNING_SUMMARY, 1, sv) < 0)) {
        store_rollback(c, nested);
        return -1;
    }
    return store_commit(c, nested);
}

int store_open_tracked(PGconn *c, struct store_open *out, int max)
{
    char lim[16];
    snprintf(lim, sizeof lim, "%d", max);
    const char *v[] = { lim };
    PGresult *r = store_run(c, "open_tracked", SQL_OPEN_TRACKED, 1, v);
    if (!r)
        return -1;
    int n = 0;
    for (int i = 0; i < PQntuples(r) && n < max; i++) {
        out[n].id = store_int(r, i, 0);
        snprintf(out[n].execution_id, sizeof out[n].execution_id, "%s", PQgetvalue(r, i, 1));
        out[n].started = (time_t)store_int(r, i, 2);
        n++;
    }
    PQclear(r);
    return n;
}

int store_track_update(PGconn *c, long long trigger_id, const char *exec_status, long long started_ms,
                       long long stopped_ms, const char *n8n_workflow_id, const char *outcome)
{
    char id[24], a[24], b[24];
    snprintf(id, sizeof id, "%lld", trigger_id);
    snprintf(a, sizeof a, "%lld", started_ms);
    snprintf(b, sizeof b, "%lld", stopped_ms);
    const char *v[] = { id, exec_status, a, b, n8n_workflow_id ? n8n_workflow_id : "", outcome ? outcome : "" };
    return store_cmd(c, "track_update", SQL_TRACK_UPDATE, 6, v);
}

int store_track_failed(PGconn *c, long long trigger_id, int gone)
{
    char id[24];
    snprintf(id, sizeof id, "%lld", trigger_id);
    const char *v[] = { id, gone ? "t" : "f" };
    return store_cmd(c, "track_failed", SQL_TRACK_FAILED, 2, v);
}

long store_time_out(PGconn *c, long timeout_s, int results_expected)
{
    char t[24];
    snprintf(t, sizeof t, "%ld", timeout_s);
    const char *v[] = { t, results_expected ? "t" : "f" };
    return store_affected(c, "time_out", SQL_TIME_OUT, 2, v);
}

int store_wf_n8n(PGconn *c, int wf, const char *n8n_id, const char *name, int active)
{
    const char *v[] = { catalog_name(wf), n8n_id, name, active < 0 ? "" : active ? "t" : "f" };
    return store_cmd(c, "wf_n8n", SQL_WF_N8N, 4, v);
}

int store_worker_n8n(PGconn *c, const char *json)
{
    const char *v[] = { json };
    return store_cmd(c, "worker_n8n", SQL_WORKER_N8N, 1, v);
}

int store_worker_n8n_key(PGconn *c, const char *key, const char *json)
{
    const char *v[] = { key, json };
    return store_cmd(c, "worker_n8n_key", SQL_WORKER_N8N_KEY, 2, v);
}

int store_worker_alerts(PGconn *c, const char *json)
{
    const char *v[] = { json };
    return store_cmd(c, "worker_alerts", SQL_WORKER_ALERTS, 1, v);
}

/* ---- retention (sql/007_history.sql) ------------------------------------------
 * Kept together at the end of the file: the statements, then the function. */

static const char SQL_HISTORY_COMPACT[] =
    "SELECT history_compact()";
static const char SQL_HISTORY_PRUNE[] =
    "SELECT decisions, triggers, results, llm_calls, commands "
    "  FROM history_prune($1::int, $2::int, $3::int, $4::int, $5::int)";

/* Monotonic milliseconds. */
static double store_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

long long store_prune_history(PGconn *c, const struct store_retention *rt, struct store_pruned *out)
{
    char dd[24], rd[24], ld[24], cd[24], batch[24];
    struct store_pruned sum = { 0, 0, 0, 0, 0, 0 };
    double t0 = store_ms();

    if (out)
        *out = sum;
    PGresult *r = store_run(c, "history_compact", SQL_HISTORY_COMPACT, 0, NULL);
    if (!r)
        return -1;
    PQclear(r);
    snprintf(dd, sizeof dd, "%ld", rt->decision_days);
    snprintf(rd, sizeof rd, "%ld", rt->result_days);
    snprintf(ld, sizeof ld, "%ld", rt->llm_call_days);
    snprintf(cd, sizeof cd, "%ld", rt->command_days);
    snprintf(batch, sizeof batch, "%ld", rt->batch_rows);
    const char *v[] = { dd, rd, ld, cd, batch };
    for (;;) {
        r = store_run(c, "history_prune", SQL_HISTORY_PRUNE, 5, v);
        if (!r)
            return -1;
        long long n[5] = { 0, 0, 0, 0, 0 };
        if (PQntuples(r) == 1)
            for (int i = 0; i < 5; i++)
                n[i] = store_int(r, 0, i);
        PQclear(r);
        sum.decisions += n[0];
        sum.triggers += n[1];
        sum.results += n[2];
        sum.llm_calls += n[3];
        sum.commands += n[4];
        sum.batches++;
        /* a batch that was not full: nothing more is due */
        int more = 0;
        for (int i = 0; i < 5; i++)
            if (n[i] >= rt->batch_rows)
                more = 1;
        if (!more || store_ms() - t0 >= (double)rt->budget_ms)
            break;
    }
    long long total = sum.decisions + sum.triggers + sum.results + sum.llm_calls + sum.commands;
    if (total > 0)
        log_event(LOG_INFO, "history.pruned", "i:decisions i:triggers i:results i:llm_calls i:commands i:batches i:ms",
                  sum.decisions, sum.triggers, sum.results, sum.llm_calls, sum.commands, sum.batches,
                  (long long)(store_ms() - t0));
    if (out)
        *out = sum;
    return total;
}
