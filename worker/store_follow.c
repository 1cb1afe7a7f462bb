/* store_follow: following executions (store.h, sql/004_n8n.sql): the
 * triggers whose outcome or result is not handled yet, what n8n says of
 * an execution, time-outs, and n8n's view in workflow_state and
 * worker_state. */
#include "config.h"
#include "store.h"
#include "store_sql.h"
#include "catalog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char SQL_UNSETTLED[] =
    "SELECT t.id, t.decision_id, t.workflow, t.status, coalesce(t.outcome, '') AS outcome, "
    "       t.outcome IS NOT NULL AND t.settled_at IS NULL AS need_settle, "
    "       t.result_at IS NOT NULL AND t.learned_at IS NULL AS need_learn, "
    "       coalesce(t.opportunities, -1) AS opportunities, "
    "       coalesce(t.result->>'status', '') AS result_status, "
    "       coalesce(left(coalesce(t.result->>'error', t.error), 240), '') AS error, "
    "       coalesce(t.execution_id, '') AS execution_id, extract(epoch FROM t.created_at)::bigint AS created, "
    STORE_LEARN_COLS
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
    "SELECT id, execution_id, extract(epoch FROM coalesce(started_at, created_at))::bigint AS started "
    "  FROM triggers "
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

int store_unsettled(PGconn *c, struct store_unsettled *out, int max)
{
    char lim[16];
    snprintf(lim, sizeof lim, "%d", max);
    const char *v[] = { lim };
    PGresult *r = store_run(c, "unsettled", SQL_UNSETTLED, 1, v);
    if (!r)
        return -1;
    enum { U_ID, U_DECISION_ID, U_WORKFLOW, U_STATUS, U_OUTCOME, U_NEED_SETTLE, U_NEED_LEARN,
           U_OPPORTUNITIES, U_RESULT_STATUS, U_ERROR, U_EXECUTION_ID, U_CREATED, U_NCOLS };
    static const char *const names[U_NCOLS] = { "id", "decision_id", "workflow", "status", "outcome",
                                                 "need_settle", "need_learn", "opportunities", "result_status",
                                                 "error", "execution_id", "created" };
    int col[U_NCOLS];
    struct store_learn_at learn;
    store_cols(r, names, U_NCOLS, col);
    store_learn_find(r, &learn);
    int n = 0;
    for (int i = 0; i < PQntuples(r) && n < max; i++) {
        struct store_unsettled *u = &out[n];
        memset(u, 0, sizeof *u);
        u->wf = catalog_slot(store_text(r, i, col[U_WORKFLOW]));
        u->id = store_int(r, i, col[U_ID]);
        if (u->wf < 0)
            continue;
        u->decision_id = store_int(r, i, col[U_DECISION_ID]);
        snprintf(u->status, sizeof u->status, "%s", store_text(r, i, col[U_STATUS]));
        snprintf(u->outcome, sizeof u->outcome, "%s", store_text(r, i, col[U_OUTCOME]));
        u->need_settle = strcmp(store_text(r, i, col[U_NEED_SETTLE]), "t") == 0;
        u->need_learn = strcmp(store_text(r, i, col[U_NEED_LEARN]), "t") == 0;
        u->opportunities = (int)store_int(r, i, col[U_OPPORTUNITIES]);
        snprintf(u->result_status, sizeof u->result_status, "%s", store_text(r, i, col[U_RESULT_STATUS]));
        snprintf(u->error, sizeof u->error, "%s", store_text(r, i, col[U_ERROR]));
        snprintf(u->execution_id, sizeof u->execution_id, "%s", store_text(r, i, col[U_EXECUTION_ID]));
        u->created = (time_t)store_int(r, i, col[U_CREATED]);
        store_learn_row(r, i, &learn, &u->ctx);
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
    int n = 0, cid = store_col(r, "id"), cx = store_col(r, "execution_id"), cs = store_col(r, "started");
    for (int i = 0; i < PQntuples(r) && n < max; i++) {
        out[n].id = store_int(r, i, cid);
        snprintf(out[n].execution_id, sizeof out[n].execution_id, "%s", store_text(r, i, cx));
        out[n].started = (time_t)store_int(r, i, cs);
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

/* ---- unknown triggers looked up in n8n ------------------------------------------ */

static const char SQL_UNKNOWN_OPEN[] =
    "SELECT t.id, t.decision_id, t.workflow, t.idempotency_key, w.n8n_id, "
    "       ((extract(epoch FROM t.created_at) - $3::int) * 1000)::bigint AS since_ms, "
    "       extract(epoch FROM now() - t.created_at)::bigint AS age_s "
    "  FROM triggers t JOIN workflow_state w ON w.workflow = t.workflow JOIN decisions d ON d.id = t.decision_id "
    " WHERE t.status = 'unknown' AND t.execution_id IS NULL AND t.execution_status IS NULL "
    "   AND t.track_errors < $4::int AND t.created_at > now() - make_interval(secs => $5::int) "
    "   AND (t.tracked_at IS NULL OR t.tracked_at < now() - make_interval(secs => $2::int)) "
    "   AND w.n8n_id IS NOT NULL AND d.run_id IS NULL "
    " ORDER BY t.id LIMIT $1::int";
/* $2 what, $3 execution id, $4 the note.  A found execution's status is
 * left to the tracking pass, which records it with its times and outcome,
 * also when it has ended already. */
static const char SQL_UNKNOWN_FOUND[] =
    "UPDATE triggers SET tracked_at = now(), "
    "       status = CASE $2 WHEN 'found' THEN 'sent' WHEN 'resend' THEN 'retrying' ELSE status END, "
    "       execution_id = CASE WHEN $2 = 'found' THEN $3 ELSE execution_id END, "
    "       execution_status = CASE $2 WHEN 'found' THEN NULL WHEN 'missing' THEN 'not_found' "
    "                          ELSE execution_status END, "
    "       track_errors = CASE WHEN $2 = 'failed' THEN track_errors + 1 ELSE 0 END, "
    "       next_attempt_at = CASE WHEN $2 = 'resend' THEN now() ELSE next_attempt_at END, "
    "       finished_at = CASE WHEN $2 = 'resend' THEN NULL ELSE finished_at END, "
    "       error = CASE WHEN $2 IN ('failed','wait') THEN error ELSE left(coalesce(error || '; ', '') || $4, 1000) END "
    " WHERE id = $1 AND status = 'unknown' RETURNING decision_id";
/* a trigger sent again: its decision acts again until it is settled */
static const char SQL_UNKNOWN_REOPEN[] =
    "UPDATE decisions SET status = 'acting' WHERE id = $1 AND status IN ('succeeded','partial','failed','interrupted')";

int store_unknown_open(PGconn *c, struct store_unknown *out, int max, long retry_s, long max_age_s)
{
    char lim[16], retry[24], margin[16], tries[16], age[24];
    snprintf(lim, sizeof lim, "%d", max);
    snprintf(retry, sizeof retry, "%ld", retry_s);
    snprintf(margin, sizeof margin, "%d", STORE_FIND_MARGIN_S);
    snprintf(tries, sizeof tries, "%d", STORE_FIND_TRIES);
    snprintf(age, sizeof age, "%ld", max_age_s);
    const char *v[] = { lim, retry, margin, tries, age };
    PGresult *r = store_run(c, "unknown_open", SQL_UNKNOWN_OPEN, 5, v);
    if (!r)
        return -1;
    static const char *const names[] = { "id", "decision_id", "workflow", "idempotency_key", "n8n_id",
                                         "since_ms", "age_s" };
    int col[7];
    store_cols(r, names, 7, col);
    int n = 0;
    for (int i = 0; i < PQntuples(r) && n < max; i++) {
        struct store_unknown *u = &out[n++];
        u->id = store_int(r, i, col[0]);
        u->decision_id = store_int(r, i, col[1]);
        u->wf = catalog_slot(store_text(r, i, col[2]));
        snprintf(u->key, sizeof u->key, "%s", store_text(r, i, col[3]));
        snprintf(u->n8n_id, sizeof u->n8n_id, "%s", store_text(r, i, col[4]));
        u->since_ms = store_int(r, i, col[5]);
        u->age_s = (long)store_int(r, i, col[6]);
    }
    PQclear(r);
    return n;
}

int store_unknown_found(PGconn *c, long long trigger_id, enum store_find what, const char *execution_id,
                        const char *note)
{
    static const char *const words[] = { "found", "resend", "missing", "failed", "wait" };
    char id[24];
    snprintf(id, sizeof id, "%lld", trigger_id);
    const char *v[] = { id, words[what], execution_id ? execution_id : "", note ? note : "" };
    int nested;
    if (store_begin(c, &nested) < 0)
        return -1;
    PGresult *r = store_run(c, "unknown_found", SQL_UNKNOWN_FOUND, 4, v);
    if (!r) {
        store_rollback(c, nested);
        return -1;
    }
    int changed = PQntuples(r) == 1;
    char did[24];
    snprintf(did, sizeof did, "%s", changed ? PQgetvalue(r, 0, 0) : "0");
    PQclear(r);
    const char *dv[] = { did };
    if (changed && what == STORE_FIND_RESEND && store_cmd(c, "unknown_reopen", SQL_UNKNOWN_REOPEN, 1, dv) < 0) {
        store_rollback(c, nested);
        return -1;
    }
    if (store_commit(c, nested) < 0)
        return -1;
    return changed;
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
