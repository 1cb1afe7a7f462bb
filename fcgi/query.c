/* query: the API's SQL; see query.h. */
#include "config.h"
#include "query.h"
#include "learning.h"
#include "db.h"
#include "log.h"
#include "results.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every statement shows live decisions only: replay runs (worker/orch-replay,
 * sql/003_learning.sql) store theirs with run_id set, and their triggers.
 *
 * Columns are read by name: each reader looks up the names it needs once
 * per result (query_cols, PQfnumber) and reads through those numbers; a
 * name the result lacks fails the read (logged as query.no_column).  The
 * statements that answer one JSON document built by name in SQL (the
 * watch, the leader, /workflows/available) and the replay picture have a
 * single column, read as column 0. */

/* A macro's value as a string literal (QUERY_RAW_MAX in SQL text). */
#define QUERY_STR_(x) #x
#define QUERY_STR(x) QUERY_STR_(x)
#define QUERY_STREAK_MAX 10000      /* fallback_streak is counted up to this */
#define QUERY_RAW_COL "left(llm_raw, " QUERY_STR(QUERY_RAW_MAX) ")"

/* A timestamptz column as "2026-11-23T21:50:00.123Z" (NULL stays NULL). */
#define ISO(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

static const char SQL_SESSION_TIMEOUT[] =
    "SET statement_timeout = '5s'";
/* ISO-8601 UTC text of a timestamptz expression, for JSON built in SQL */
#define QUERY_ISO(x) "to_char((" x ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
static const char SQL_STATE_WORKER[] =
    "SELECT running, dry_run, pid, hostname, version, "
    "       " ISO("started_at") " AS started_at, " ISO("heartbeat_at") " AS heartbeat_at, "
    "       extract(epoch FROM clock_timestamp() - heartbeat_at) AS heartbeat_age, "
    "       " ISO("next_decision_at") " AS next_decision_at, "
    "       extract(epoch FROM next_decision_at - clock_timestamp()) AS next_in, "
    "       system_load, market_volatility, sources::text AS sources, llm::text AS llm, alerts::text AS alerts, "
    "       n8n::text AS n8n, learning::text AS learning, catalog::text AS catalog "
    "  FROM worker_state WHERE id = 1";
/* The newest decision, and how many of the newest decisions in a row the
 * LLM failed on: the decisions after the newest one on which it did not
 * (decisions_live_llm_ok), counted up to QUERY_STREAK_MAX. */
static const char SQL_STATE_LAST[] =
    "SELECT id, " ISO("decided_at") " AS decided_at, mode, intensity, source, reason, status, session, "
    "       " ISO("next_decision_at") " AS next_decision_at, llm_outcome, "
    "       extract(epoch FROM next_decision_at - clock_timestamp()) AS next_in, "
    "       (SELECT count(*) FROM (SELECT 1 FROM decisions f "
    "                               WHERE f.run_id IS NULL "
    "                                 AND f.id > coalesce((SELECT max(id) FROM decisions "
    "                                                       WHERE run_id IS NULL "
    "                                                         AND llm_outcome IN ('ok','not_configured')), 0) "
    "                               LIMIT " QUERY_STR(QUERY_STREAK_MAX) ") s) AS fallback_streak, "
    "       extract(epoch FROM decided_at) AS decided_epoch "
    "  FROM decisions WHERE run_id IS NULL ORDER BY id DESC LIMIT 1";
/* Every count over the whole history comes from the totals of
 * sql/007_history.sql (a few dozen rows whatever the history); the 24-hour
 * figures from the rows of the last 24 hours, through their time index. */
static const char SQL_STATE_DECISIONS[] =
    "SELECT mode, source, status, llm_outcome, sum(decisions) AS decisions, sum(switches) AS switches, "
    "       sum(agreed) AS agreed, sum(compared) AS compared "
    "  FROM history_decision_totals GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4";
static const char SQL_STATE_DECISIONS_24H[] =
    "SELECT count(*) AS decisions, count(*) FILTER (WHERE agreement) AS agreed, "
    "       count(*) FILTER (WHERE agreement IS NOT NULL) AS compared "
    "  FROM decisions WHERE run_id IS NULL AND decided_at > now() - interval '24 hours'";
/* Per workflow: the workflows of the catalog in force by name, the others
 * (removed from it, their history kept) together as QUERY_REMOVED, so
 * that the label sets stay bounded (at most CATALOG_MAX + 1 workflows). */
#define QUERY_WF_LABEL "CASE WHEN coalesce(w.present_in_catalog, false) THEN t.workflow ELSE '" QUERY_REMOVED "' END"
static const char SQL_STATE_TRIGGERS[] =
    "SELECT " QUERY_WF_LABEL " AS workflow, t.status, t.outcome, sum(t.triggers) AS triggers, "
    "       sum(t.retries) AS retries, sum(t.durations) AS durations, sum(t.duration_ms_sum) AS duration_ms_sum, "
    "       sum(t.le_100ms) AS le_100ms, sum(t.le_500ms) AS le_500ms, sum(t.le_1s) AS le_1s, "
    "       sum(t.le_2500ms) AS le_2500ms, sum(t.le_5s) AS le_5s, sum(t.le_10s) AS le_10s, sum(t.le_30s) AS le_30s, "
    "       sum(t.le_60s) AS le_60s, sum(t.le_120s) AS le_120s, sum(t.opportunities) AS opportunities "
    "  FROM history_trigger_totals t LEFT JOIN workflows w ON w.name = t.workflow "
    " GROUP BY 1, 2, 3 ORDER BY 1, 2, 3";
static const char SQL_STATE_LLM[] =
    "SELECT provider, outcome, sum(calls) AS calls, sum(prompt_tokens) AS prompt_tokens, "
    "       sum(completion_tokens) AS completion_tokens, sum(le_100ms) AS le_100ms, sum(le_250ms) AS le_250ms, "
    "       sum(le_500ms) AS le_500ms, sum(le_1s) AS le_1s, sum(le_2500ms) AS le_2500ms, sum(le_5s) AS le_5s, "
    "       sum(le_10s) AS le_10s, sum(latency_ms_sum) AS latency_ms_sum "
    "  FROM history_llm_totals GROUP BY 1, 2 ORDER BY 1, 2";
/* live calls only: not those of a replay's decisions */
static const char SQL_STATE_LLM_24H[] =
    "SELECT c.provider, c.outcome, count(*) AS calls, "
    "       coalesce(sum(c.prompt_tokens + c.completion_tokens), 0) AS tokens "
    "  FROM llm_calls c "
    " WHERE c.called_at > now() - interval '24 hours' "
    "   AND NOT EXISTS (SELECT 1 FROM decisions d WHERE d.id = c.decision_id AND d.run_id IS NOT NULL) "
    " GROUP BY 1, 2 ORDER BY 1, 2";
/* The watch: its figures now (worker_state.watch, written by the worker
 * every WATCH_SECONDS), the live scorecard of the last 30 days (watch_days,
 * through its day index) and the last 24 hours' decisions by why they were
 * made (decisions_live_time_wake, index only). */
static const char SQL_STATE_WATCH[] =
    "SELECT jsonb_build_object("
    "  'now', (SELECT watch FROM worker_state WHERE id = 1), "
    "  'days', (SELECT coalesce(jsonb_agg(jsonb_build_object("
    "      'market', market, 'day', to_char(day, 'YYYY-MM-DD'), 'windows', windows, 'top', top, "
    "      'covered', covered, 'runs', runs, 'wakes', wakes, 'cron5_runs', cron5_runs, "
    "      'equal_runs_covered', round(equal_runs_covered::numeric, 2), "
    "      'latency_median_minutes', CASE WHEN latency_median_minutes >= 0 "
    "                                     THEN round(latency_median_minutes::numeric, 1) END) "
    "      ORDER BY day, market), '[]'::jsonb) "
    "      FROM watch_days WHERE day > (now() AT TIME ZONE 'UTC')::date - " QUERY_STR(QUERY_WATCH_DAYS) "), "
    "  'decisions_24h', (SELECT coalesce(jsonb_object_agg(wake, n), '{}'::jsonb) "
    "      FROM (SELECT wake, count(*) AS n FROM decisions "
    "             WHERE run_id IS NULL AND decided_at > now() - interval '24 hours' GROUP BY wake) s))::text";

static const char SQL_STATE_RESULTS[] =
    "SELECT status, sum(results) AS results FROM history_result_totals GROUP BY 1 ORDER BY 1 LIMIT 8";
/* the workflows of the catalog in force, in its order, with their state */
static const char SQL_WF_STATES[] =
    "SELECT w.name, s.workflow IS NOT NULL AS present, coalesce(s.available, true) AS available, "
    "       " ISO("s.unavailable_since") " AS unavailable_since, s.unavailable_reason, "
    "       coalesce(s.circuit, 'closed') AS circuit, coalesce(s.consecutive_failures, 0) AS consecutive_failures, "
    "       " ISO("s.open_until") " AS open_until, coalesce(s.circuit_opens, 0) AS circuit_opens, "
    "       coalesce(s.concurrency, w.concurrency) AS concurrency, coalesce(s.running, 0) AS running, "
    "       s.n8n_id, s.n8n_name, s.n8n_active, " ISO("s.n8n_seen_at") " AS n8n_seen_at "
    "  FROM workflows w LEFT JOIN workflow_state s ON s.workflow = w.name "
    " WHERE w.present_in_catalog ORDER BY w.catalog_order, w.name LIMIT " QUERY_STR(CATALOG_MAX);
static const char SQL_RECORD_RESULT[] =
    "SELECT verdict, coalesce(result_id, 0) AS result_id, coalesce(trigger_outcome, '') AS trigger_outcome, "
    "       coalesce(mismatch, '') AS mismatch "
    "  FROM record_result($1::bigint, $2, $3::bigint, $4, $5, $6, $7::int, $8::int, $9, $10::jsonb)";
static const char SQL_CLAIM[] =
    "SELECT verdict, coalesce(trigger_id, 0) AS trigger_id, coalesce(decision_id, 0) AS decision_id, "
    "       coalesce(execution_id, '') AS execution_id, "
    "       coalesce(to_char(claimed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), '') AS claimed_at "
    "  FROM claim_trigger($1, $2, nullif($3, ''))";
/* The columns of a decision item; detail columns follow (see query_decision_row). */
#define QUERY_DECISION_COLS \
    "id, cycle_id, " ISO("decided_at") " AS decided_at, mode, intensity, source, reason, session, " \
    "array_to_json(sessions)::text AS sessions, status, dry_run, next_seconds, " \
    ISO("next_decision_at") " AS next_decision_at, " ISO("completed_at") " AS completed_at, " \
    "llm_outcome, llm_detail, llm_provider, llm_model, prompt_version, prompt_hash, " \
    "llm_prompt_tokens, llm_completion_tokens, llm_latency_ms, shadow::text AS shadow, agreement, " \
    "wake, wake_detail::text AS wake_detail, "
static const char SQL_DECISIONS[] =
    "SELECT " QUERY_DECISION_COLS
    "       CASE WHEN $4::boolean THEN inputs::text END AS inputs, CASE WHEN $4::boolean THEN menu::text END AS menu, "
    "       CASE WHEN $4::boolean THEN " QUERY_RAW_COL " END AS raw_output "
    "  FROM decisions "
    " WHERE run_id IS NULL AND ($1::bigint IS NULL OR id < $1::bigint) AND ($2::text IS NULL OR mode = $2::text) "
    " ORDER BY id DESC LIMIT $3::int";
static const char SQL_DECISION_ONE[] =
    "SELECT " QUERY_DECISION_COLS " inputs::text AS inputs, menu::text AS menu, " QUERY_RAW_COL " AS raw_output "
    "  FROM decisions WHERE id = $1::bigint AND run_id IS NULL";
static const char SQL_DECISION_LLM_CALLS[] =
    "SELECT decision_id, provider, model, http_status, outcome, latency_ms, prompt_tokens, "
    "       completion_tokens, error "
    "  FROM llm_calls WHERE decision_id = ANY($1::bigint[]) "
    " ORDER BY decision_id DESC, id";
static const char SQL_DECISION_TRIGGERS[] =
    "SELECT decision_id, id, workflow, status, http_status, attempts, latency_ms, error, "
    "       " ISO("started_at") " AS started_at, " ISO("finished_at") " AS finished_at, "
    "       execution_id, outcome, opportunities, result->>'status' AS result_status, duration_ms, "
    "       " ISO("next_attempt_at") " AS next_attempt_at, last_error_kind AS error_kind, "
    "       " ISO("result_at") " AS result_at, execution_status "
    "  FROM triggers WHERE decision_id = ANY($1::bigint[]) "
    " ORDER BY decision_id DESC, id";
/* /workflows/available, built by name in SQL: the present catalog
 * workflows (sql/008_catalog.sql) in catalog order with their state, last
 * run and 24-hour counts, the removed ones, and worker_state's catalog,
 * n8n and learning documents.  The last live trigger of each workflow:
 * "workflow >= name AND workflow <= name" rather than "=", so that the
 * order asked for (workflow, id) can only come from triggers_workflow_id:
 * with "=" the planner may walk triggers_pkey backwards instead, through
 * the whole table for a workflow not triggered for a long time. */
#define QUERY_WF_STATE_JSON \
    "'available', coalesce(s.available, true) AND s.n8n_active IS DISTINCT FROM false, " \
    "'unavailable_since', " QUERY_ISO("s.unavailable_since") ", " \
    "'unavailable_reason', CASE WHEN NOT coalesce(s.available, true) THEN s.unavailable_reason " \
    "                           WHEN s.n8n_active IS NOT DISTINCT FROM false " \
    "                           THEN CASE WHEN s.n8n_id IS NULL THEN 'not found in n8n' ELSE 'inactive in n8n' END END, " \
    "'circuit', coalesce(s.circuit, 'closed'), 'consecutive_failures', coalesce(s.consecutive_failures, 0), " \
    "'open_until', " QUERY_ISO("s.open_until") ", 'circuit_opens', coalesce(s.circuit_opens, 0), " \
    "'concurrency', coalesce(s.concurrency, w.concurrency), 'running', coalesce(s.running, 0), " \
    "'n8n', CASE WHEN s.n8n_seen_at IS NOT NULL THEN jsonb_build_object('id', s.n8n_id, 'name', s.n8n_name, " \
    "       'active', s.n8n_active, 'seen_at', " QUERY_ISO("s.n8n_seen_at") ") END, " \
    "'n8n_status', CASE WHEN s.n8n_seen_at IS NULL THEN 'unknown' WHEN s.n8n_id IS NULL THEN 'missing' " \
    "                   WHEN s.n8n_active THEN 'active' ELSE 'inactive' END, "
static const char SQL_WORKFLOWS[] =
    "WITH c AS (SELECT t.workflow, count(*) AS runs, count(*) FILTER (WHERE t.status = 'sent') AS sent "
    "             FROM triggers t "
    "            WHERE t.created_at > now() - interval '24 hours' "
    "              AND NOT EXISTS (SELECT 1 FROM decisions d WHERE d.id = t.decision_id AND d.run_id IS NOT NULL) "
    "            GROUP BY t.workflow), "
    "     ws AS (SELECT dry_run, catalog, n8n, learning FROM worker_state WHERE id = 1) "
    "SELECT jsonb_build_object("
    "  'dry_run', coalesce((SELECT dry_run FROM ws), true), "
    "  'catalog', (SELECT catalog FROM ws), "
    "  'n8n', (SELECT n8n - 'workflows' - 'discovered' FROM ws), "
    "  'discovered', coalesce((SELECT n8n->'discovered' FROM ws), '[]'::jsonb), "
    "  'workflows', coalesce((SELECT jsonb_agg(jsonb_build_object("
    "      'name', w.name, 'path', w.name, 'title', w.title, 'market', w.market, 'intensity', w.intensity, "
    "      'sessions', to_jsonb(w.sessions), 'needs', to_jsonb(w.needs), 'enabled', w.enabled, "
    "      'parameters', w.parameters, 'cost', w.cost, 'min_interval_seconds', w.min_interval_seconds, "
    "      'max_runs_per_day', w.max_runs_per_day, 'expects_result', w.expects_result, "
    "      'timeout_seconds', w.timeout_seconds, 'claims', w.claims, " QUERY_WF_STATE_JSON
    "      'learned', (SELECT learning->'workflows'->w.name FROM ws), "
    "      'last_run', (SELECT jsonb_build_object('trigger_id', t.id, 'decision_id', t.decision_id, "
    "                          'status', t.status, 'http_status', t.http_status, "
    "                          'at', " QUERY_ISO("coalesce(t.finished_at, t.started_at, t.created_at)") ", "
    "                          'execution_id', t.execution_id, 'outcome', t.outcome, 'opportunities', t.opportunities) "
    "                     FROM triggers t "
    "                    WHERE t.workflow >= w.name AND t.workflow <= w.name "
    "                      AND NOT EXISTS (SELECT 1 FROM decisions d "
    "                                       WHERE d.id = t.decision_id AND d.run_id IS NOT NULL) "
    "                    ORDER BY t.workflow, t.id DESC LIMIT 1), "
    "      'runs_24h', coalesce(c.runs, 0), 'succeeded_24h', coalesce(c.sent, 0)) ORDER BY w.catalog_order) "
    "    FROM workflows w LEFT JOIN workflow_state s ON s.workflow = w.name LEFT JOIN c ON c.workflow = w.name "
    "   WHERE w.present_in_catalog), '[]'::jsonb), "
    "  'removed', coalesce((SELECT jsonb_agg(jsonb_build_object('name', r.name, 'title', r.title, "
    "      'market', r.market, 'last_seen', " QUERY_ISO("r.last_seen") ") ORDER BY r.last_seen DESC) "
    "    FROM (SELECT * FROM workflows WHERE NOT present_in_catalog ORDER BY last_seen DESC LIMIT 50) r), "
    "    '[]'::jsonb))::text";
static const char SQL_CONTROL_INSERT[] =
    "INSERT INTO control_commands (command, requested_by) VALUES ($1, $2) "
    "RETURNING id, " ISO("requested_at") " AS requested_at";
static const char SQL_CONTROL_GET[] =
    "SELECT id AS command_id, command, status, " ISO("requested_at") " AS requested_at, "
    "       " ISO("processed_at") " AS processed_at, result, decision_id "
    "  FROM control_commands WHERE id = $1::bigint";

/* The replay runs (sql/003_learning.sql), read by name into a struct
 * learning_run that learning_run_json (learning.c) shapes into an item;
 * $1: one id or NULL for all, $2: the row limit, $3: with params.  files
 * loses its server paths (only the file name is shown). */
static const char SQL_REPLAYS[] =
    "SELECT r.id, " ISO("r.started_at") " AS created_at, " ISO("r.finished_at") " AS finished_at, r.label, r.seed, "
    "       r.status, " ISO("r.data_from") " AS data_from, " ISO("r.data_to") " AS data_to, "
    "       (SELECT coalesce(jsonb_agg(jsonb_build_object('file', regexp_replace(f->>'path', '^.*/', ''), "
    "                                                     'instrument', f->'instrument', 'market', f->'market', "
    "                                                     'bars', f->'bars', 'first', f->'first', 'last', f->'last') "
    "                                  ORDER BY o), '[]'::jsonb) "
    "          FROM jsonb_array_elements(CASE WHEN jsonb_typeof(r.files) = 'array' THEN r.files "
    "                                         ELSE '[]'::jsonb END) WITH ORDINALITY AS x(f, o))::text AS files, "
    "       r.timings::text AS timings, r.scorecard::text AS scorecard, r.error, "
    "       CASE WHEN $3::boolean THEN r.params::text END AS params, r.svg IS NOT NULL AS has_svg "
    "  FROM replay_runs r "
    " WHERE ($1::bigint IS NULL OR r.id = $1::bigint) "
    " ORDER BY r.id DESC LIMIT $2::int";
static const char SQL_REPLAY_SVG[] =
    "SELECT svg FROM replay_runs WHERE id = $1::bigint";

/* The statements of the cache fills, with sample parameters. */
static const char *const query_sample_page[] = { NULL, NULL, "51", "f" };
static const char *const query_sample_ids[] = { "{1,2,3,4,5,6,7,8,9,10}" };
static const struct query_stmt query_fill[] = {
    { "state_worker", SQL_STATE_WORKER, 0, NULL },
    { "state_last", SQL_STATE_LAST, 0, NULL },
    { "state_decisions", SQL_STATE_DECISIONS, 0, NULL },
    { "state_decisions_24h", SQL_STATE_DECISIONS_24H, 0, NULL },
    { "state_triggers", SQL_STATE_TRIGGERS, 0, NULL },
    { "state_llm", SQL_STATE_LLM, 0, NULL },
    { "state_llm_24h", SQL_STATE_LLM_24H, 0, NULL },
    { "state_results", SQL_STATE_RESULTS, 0, NULL },
    { "wf_states", SQL_WF_STATES, 0, NULL },
    { "state_watch", SQL_STATE_WATCH, 0, NULL },
    { "decisions", SQL_DECISIONS, 4, query_sample_page },
    { "decision_triggers", SQL_DECISION_TRIGGERS, 1, query_sample_ids },
    { "decision_llm_calls", SQL_DECISION_LLM_CALLS, 1, query_sample_ids },
    { "workflows", SQL_WORKFLOWS, 0, NULL },
    { NULL, NULL, 0, NULL },
};

const struct query_stmt *query_fill_statements(void)
{
    return query_fill;
}

const int query_llm_bucket_ms[QUERY_LLM_BUCKETS] = { 100, 250, 500, 1000, 2500, 5000, 10000 };
const int query_exec_bucket_ms[QUERY_EXEC_BUCKETS] = { 100, 500, 1000, 2500, 5000, 10000, 30000, 60000, 120000 };

/* Run one statement with text parameters.  Returns the result (caller
 * PQclears) when it succeeded, else NULL after logging. */
static PGresult *query_run(PGconn *c, const char *name, const char *sql, int n, const char *const *vals)
{
    PGresult *r = PQexecParams(c, sql, n, NULL, vals, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
        return r;
    char msg[300];
    snprintf(msg, sizeof msg, "%s", r ? PQresultErrorMessage(r) : PQerrorMessage(c));
    msg[strcspn(msg, "\n")] = '\0';
    log_event(LOG_ERROR, "query.failed", "s:statement s:error b:connection_ok", name, msg,
              PQstatus(c) == CONNECTION_OK);
    PQclear(r);
    return NULL;
}

/* Run a statement without parameters as the prepared statement
 * "query_<name>" (the state is read every few seconds: its statements are
 * planned once per connection, by query_session_setup, not at every read),
 * preparing it again when the connection lost it.  name must be unique to
 * sql.  Returns the
 * result (caller PQclears) or NULL after logging. */
static PGresult *query_run_prepared(PGconn *c, const char *name, const char *sql)
{
    char stmt[64];
    snprintf(stmt, sizeof stmt, "query_%s", name);
    for (int attempt = 0; attempt < 2; attempt++) {
        PGresult *r = PQexecPrepared(c, stmt, 0, NULL, NULL, NULL, 0);
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
            return r;
        const char *code = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
        int missing = attempt == 0 && code && strcmp(code, "26000") == 0;   /* not prepared on this connection yet */
        PQclear(r);
        if (!missing)
            break;
        r = PQprepare(c, stmt, sql, 0, NULL);
        st = PQresultStatus(r);
        PQclear(r);
        if (st != PGRES_COMMAND_OK)
            break;
    }
    return query_run(c, name, sql, 0, NULL);      /* logs the failure, or works unprepared */
}

/* The number of column name in r (statement stmt), or -1 after logging
 * that r lacks it (the statement and its reader disagree). */
static int query_col(const PGresult *r, const char *stmt, const char *name)
{
    int col = name ? PQfnumber(r, name) : -1;
    if (col < 0)
        log_event(LOG_ERROR, "query.no_column", "s:statement s:column", stmt, name ? name : "(unnamed)");
    return col;
}

/* The column numbers of names[0 .. n) in r into col[0 .. n), looked up
 * once per result.  Returns 0, or -1 (logged) when one is missing. */
static int query_cols(const PGresult *r, const char *stmt, const char *const *names, int n, int *col)
{
    for (int i = 0; i < n; i++)
        if ((col[i] = query_col(r, stmt, names[i])) < 0)
            return -1;
    return 0;
}

/* A column read into a JSON member of the same name. */
struct query_member {
    const char *name;
    int integer;                 /* 1: a JSON integer, 0: a JSON string */
};
#define QUERY_MEMBERS_MAX 24     /* members of one table, at most */
#define QUERY_NMEMBERS(m) ((int)(sizeof m / sizeof m[0]))

/* The columns of m[0 .. n) (n <= QUERY_MEMBERS_MAX) in r into col.
 * Returns 0, or -1 (logged) when one is missing. */
static int query_member_cols(const PGresult *r, const char *stmt, const struct query_member *m, int n, int *col)
{
    if (n > QUERY_MEMBERS_MAX)
        return -1;
    for (int i = 0; i < n; i++)
        if ((col[i] = query_col(r, stmt, m[i].name)) < 0)
            return -1;
    return 0;
}

/* Column value as a string, NULL when SQL NULL.  Borrowed from r. */
static const char *query_val(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

/* Column as a long long (0 when NULL or unparsable). */
static long long query_ll(const PGresult *r, int row, int col)
{
    const char *s = query_val(r, row, col);
    if (!s)
        return 0;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    return errno || end == s ? 0 : v;
}

/* Column as a double, NAN when NULL or unparsable. */
static double query_dbl(const PGresult *r, int row, int col)
{
    const char *s = query_val(r, row, col);
    if (!s)
        return NAN;
    char *end;
    double d = strtod(s, &end);
    return end == s ? NAN : d;
}

/* Column as 0/1 from a boolean ('t'/'f'); NULL gives 0. */
static int query_bool(const PGresult *r, int row, int col)
{
    const char *s = query_val(r, row, col);
    return s && s[0] == 't';
}

/* Copy a column into out (cap bytes), "" for NULL, truncating. */
static void query_copy(char *out, size_t cap, const PGresult *r, int row, int col)
{
    const char *s = query_val(r, row, col);
    snprintf(out, cap, "%s", s ? s : "");
}

/* A text column as a JSON string (caller frees), NULL (JSON null) for SQL
 * NULL. */
static json_object *query_jstr(const PGresult *r, int row, int col)
{
    const char *s = query_val(r, row, col);
    return s ? json_object_new_string_len(s, PQgetlength(r, row, col)) : NULL;
}

/* An integer column as a JSON int64 (caller frees), NULL for SQL NULL. */
static json_object *query_jint(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : json_object_new_int64(query_ll(r, row, col));
}

/* A boolean column as a JSON boolean (caller frees), NULL for SQL NULL. */
static json_object *query_jbool(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : json_object_new_boolean(query_bool(r, row, col));
}

/* Row i of r as an object with a member per entry of m[0 .. n) (col:
 * their columns), SQL NULL as JSON null.  Returns it (caller frees) or
 * NULL. */
static json_object *query_members(const PGresult *r, int i, const struct query_member *m, int n, const int *col)
{
    json_object *o = json_object_new_object();
    for (int k = 0; o && k < n; k++)
        json_object_object_add(o, m[k].name, m[k].integer ? query_jint(r, i, col[k]) : query_jstr(r, i, col[k]));
    return o;
}

/* A json/jsonb column parsed; NULL for SQL NULL or (never expected)
 * unparsable text. */
static json_object *query_jparse(const PGresult *r, int row, int col)
{
    const char *s = query_val(r, row, col);
    if (!s)
        return NULL;
    json_tokener *tok = json_tokener_new();
    if (!tok)
        return NULL;
    json_object *o = json_tokener_parse_ex(tok, s, PQgetlength(r, row, col));
    if (json_tokener_get_error(tok) != json_tokener_success) {
        json_object_put(o);
        o = NULL;
    }
    json_tokener_free(tok);
    return o;
}

json_object *query_json_double(double d)
{
    if (!isfinite(d))
        return NULL;
    char buf[40];
    snprintf(buf, sizeof buf, "%.15g", d);
    return json_object_new_double_s(d, buf);
}

json_object *query_json_pgnum(const char *text)
{
    if (!text || !*text)
        return NULL;
    char *end;
    double d = strtod(text, &end);
    if (end == text || *end || !isfinite(d))
        return NULL;
    return json_object_new_double_s(d, text);
}

int query_session_setup(PGconn *c, int listen)
{
    if (db_exec(c, SQL_SESSION_TIMEOUT) < 0)
        return -1;
    /* the statements without parameters, planned once per connection */
    for (const struct query_stmt *s = query_fill; s->name; s++) {
        if (s->nparams)
            continue;
        char stmt[64];
        snprintf(stmt, sizeof stmt, "query_%s", s->name);
        PGresult *r = PQprepare(c, stmt, s->sql, 0, NULL);
        int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        if (!ok) {
            char msg[300];
            snprintf(msg, sizeof msg, "%s", PQresultErrorMessage(r));
            msg[strcspn(msg, "\n")] = '\0';
            log_event(LOG_ERROR, "query.failed", "s:statement s:error b:connection_ok", s->name, msg,
                      PQstatus(c) == CONNECTION_OK);
        }
        PQclear(r);
        if (!ok)
            return -1;
    }
    return listen ? db_listen(c, "orch_state") : 0;
}

void query_state_clear(struct query_state *st)
{
    json_object_put(st->sources);
    json_object_put(st->llm);
    json_object_put(st->last_decision);
    json_object_put(st->alerts);
    json_object_put(st->n8n);
    json_object_put(st->learning);
    json_object_put(st->leader);
    json_object_put(st->watch);
    json_object_put(st->catalog);
    free(st->trig);
    free(st->out);
    free(st->wf);
    memset(st, 0, sizeof *st);
}

/* Flatten worker_state.sources into st->source[]. */
static void query_sources_flatten(struct query_state *st)
{
    for (int f = 0; f < FEED_COUNT; f++) {
        struct query_source *q = &st->source[f];
        json_object *s, *v;
        q->configured = 0;
        q->ok = -1;
        q->latency_ms = NAN;
        if (!json_object_object_get_ex(st->sources, catalog_feed_name(f), &s) ||
            !json_object_is_type(s, json_type_object))
            continue;
        if (json_object_object_get_ex(s, "configured", &v) && json_object_is_type(v, json_type_boolean))
            q->configured = json_object_get_boolean(v);
        if (json_object_object_get_ex(s, "ok", &v) && json_object_is_type(v, json_type_boolean))
            q->ok = json_object_get_boolean(v);
        if (json_object_object_get_ex(s, "latency_ms", &v) &&
            (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)))
            q->latency_ms = json_object_get_double(v);
    }
}

/* A number member of obj as a double, NAN when absent or not a number. */
static double query_member_num(json_object *obj, const char *key)
{
    json_object *v;
    if (!json_object_object_get_ex(obj, key, &v) ||
        !(json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)))
        return NAN;
    return json_object_get_double(v);
}

/* Flatten worker_state.llm into st (budget use, circuits). */
static void query_llm_flatten(struct query_state *st)
{
    json_object *ps, *p, *v;
    st->llm_calls_last_hour = query_member_num(st->llm, "calls_last_hour");
    st->llm_tokens_today = query_member_num(st->llm, "tokens_today");
    st->nllm_providers = 0;
    if (!json_object_object_get_ex(st->llm, "providers", &ps) || !json_object_is_type(ps, json_type_array))
        return;
    for (size_t i = 0; i < json_object_array_length(ps) && st->nllm_providers < QUERY_MAX_LLM_PROVIDERS; i++) {
        p = json_object_array_get_idx(ps, i);
        if (!json_object_is_type(p, json_type_object) || !json_object_object_get_ex(p, "name", &v) ||
            !json_object_is_type(v, json_type_string) || !*json_object_get_string(v))
            continue;
        struct query_llm_provider *q = &st->llm_provider[st->nllm_providers++];
        snprintf(q->name, sizeof q->name, "%s", json_object_get_string(v));
        q->circuit_open = json_object_object_get_ex(p, "circuit", &v) && json_object_is_type(v, json_type_string) &&
                          strcmp(json_object_get_string(v), "open") == 0;
    }
}

/* A json column that must hold an object: parsed, or a new empty object
 * when it is NULL or anything else.  Returns it (caller frees) or NULL
 * when out of memory. */
static json_object *query_jobject(const PGresult *r, int row, int col)
{
    json_object *o = query_jparse(r, row, col);
    if (o && json_object_is_type(o, json_type_object))
        return o;
    json_object_put(o);
    return json_object_new_object();
}

/* The columns of SQL_STATE_WORKER. */
enum query_worker_col {
    QUERY_W_RUNNING = 0, QUERY_W_DRY_RUN, QUERY_W_PID, QUERY_W_HOSTNAME, QUERY_W_VERSION, QUERY_W_STARTED_AT,
    QUERY_W_HEARTBEAT_AT, QUERY_W_HEARTBEAT_AGE, QUERY_W_NEXT_DECISION_AT, QUERY_W_NEXT_IN, QUERY_W_SYSTEM_LOAD,
    QUERY_W_MARKET_VOLATILITY, QUERY_W_SOURCES, QUERY_W_LLM, QUERY_W_ALERTS, QUERY_W_N8N, QUERY_W_LEARNING,
    QUERY_W_CATALOG, QUERY_W_COUNT
};
static const char *const query_worker_cols[QUERY_W_COUNT] = {
    [QUERY_W_RUNNING] = "running", [QUERY_W_DRY_RUN] = "dry_run", [QUERY_W_PID] = "pid",
    [QUERY_W_HOSTNAME] = "hostname", [QUERY_W_VERSION] = "version", [QUERY_W_STARTED_AT] = "started_at",
    [QUERY_W_HEARTBEAT_AT] = "heartbeat_at", [QUERY_W_HEARTBEAT_AGE] = "heartbeat_age",
    [QUERY_W_NEXT_DECISION_AT] = "next_decision_at", [QUERY_W_NEXT_IN] = "next_in",
    [QUERY_W_SYSTEM_LOAD] = "system_load", [QUERY_W_MARKET_VOLATILITY] = "market_volatility",
    [QUERY_W_SOURCES] = "sources", [QUERY_W_LLM] = "llm", [QUERY_W_ALERTS] = "alerts", [QUERY_W_N8N] = "n8n",
    [QUERY_W_LEARNING] = "learning", [QUERY_W_CATALOG] = "catalog",
};

/* The worker_state row.  Returns 0 or -1. */
static int query_state_worker(PGconn *c, struct query_state *st)
{
    int col[QUERY_W_COUNT];
    PGresult *r = query_run_prepared(c, "state_worker", SQL_STATE_WORKER);
    if (!r)
        return -1;
    st->heartbeat_age = NAN;
    st->next_in = NAN;
    if (query_cols(r, "state_worker", query_worker_cols, QUERY_W_COUNT, col) < 0) {
        PQclear(r);
        return -1;
    }
    if (PQntuples(r) == 1) {
        st->running = query_bool(r, 0, col[QUERY_W_RUNNING]);
        st->dry_run = query_bool(r, 0, col[QUERY_W_DRY_RUN]);
        st->pid = query_ll(r, 0, col[QUERY_W_PID]);
        query_copy(st->hostname, sizeof st->hostname, r, 0, col[QUERY_W_HOSTNAME]);
        query_copy(st->version, sizeof st->version, r, 0, col[QUERY_W_VERSION]);
        query_copy(st->started_at, sizeof st->started_at, r, 0, col[QUERY_W_STARTED_AT]);
        query_copy(st->heartbeat_at, sizeof st->heartbeat_at, r, 0, col[QUERY_W_HEARTBEAT_AT]);
        st->heartbeat_age = query_dbl(r, 0, col[QUERY_W_HEARTBEAT_AGE]);
        query_copy(st->next_decision_at, sizeof st->next_decision_at, r, 0, col[QUERY_W_NEXT_DECISION_AT]);
        st->next_in = query_dbl(r, 0, col[QUERY_W_NEXT_IN]);
        query_copy(st->system_load, sizeof st->system_load, r, 0, col[QUERY_W_SYSTEM_LOAD]);
        query_copy(st->market_volatility, sizeof st->market_volatility, r, 0, col[QUERY_W_MARKET_VOLATILITY]);
        st->sources = query_jobject(r, 0, col[QUERY_W_SOURCES]);
        st->llm = query_jobject(r, 0, col[QUERY_W_LLM]);
        st->alerts = query_jobject(r, 0, col[QUERY_W_ALERTS]);
        st->n8n = query_jobject(r, 0, col[QUERY_W_N8N]);
        st->learning = query_jobject(r, 0, col[QUERY_W_LEARNING]);
        st->catalog = query_jobject(r, 0, col[QUERY_W_CATALOG]);
    } else {
        st->sources = json_object_new_object();
        st->llm = json_object_new_object();
        st->alerts = json_object_new_object();
        st->n8n = json_object_new_object();
        st->learning = json_object_new_object();
        st->catalog = json_object_new_object();
    }
    PQclear(r);
    if (!st->sources || !st->llm || !st->alerts || !st->n8n || !st->learning || !st->catalog)
        return -1;
    query_sources_flatten(st);
    query_llm_flatten(st);
    return 0;
}

/* The columns of SQL_STATE_LAST: from the id to llm_outcome the members
 * of /status's last_decision, named alike (the id an integer, the others
 * strings), then the rest. */
enum query_last_col {
    QUERY_L_ID = 0, QUERY_L_DECIDED_AT, QUERY_L_MODE, QUERY_L_INTENSITY, QUERY_L_SOURCE, QUERY_L_REASON,
    QUERY_L_STATUS, QUERY_L_SESSION, QUERY_L_NEXT_DECISION_AT, QUERY_L_LLM_OUTCOME, QUERY_L_NEXT_IN,
    QUERY_L_FALLBACK_STREAK, QUERY_L_DECIDED_EPOCH, QUERY_L_COUNT
};
static const char *const query_last_cols[QUERY_L_COUNT] = {
    [QUERY_L_ID] = "id", [QUERY_L_DECIDED_AT] = "decided_at", [QUERY_L_MODE] = "mode",
    [QUERY_L_INTENSITY] = "intensity", [QUERY_L_SOURCE] = "source", [QUERY_L_REASON] = "reason",
    [QUERY_L_STATUS] = "status", [QUERY_L_SESSION] = "session", [QUERY_L_NEXT_DECISION_AT] = "next_decision_at",
    [QUERY_L_LLM_OUTCOME] = "llm_outcome", [QUERY_L_NEXT_IN] = "next_in",
    [QUERY_L_FALLBACK_STREAK] = "fallback_streak", [QUERY_L_DECIDED_EPOCH] = "decided_epoch",
};

/* The newest decision.  Returns 0 or -1. */
static int query_state_last(PGconn *c, struct query_state *st)
{
    int col[QUERY_L_COUNT];
    PGresult *r = query_run_prepared(c, "state_last", SQL_STATE_LAST);
    if (!r)
        return -1;
    st->last_decision_epoch = NAN;
    if (query_cols(r, "state_last", query_last_cols, QUERY_L_COUNT, col) < 0) {
        PQclear(r);
        return -1;
    }
    if (PQntuples(r) == 1) {
        json_object *o = json_object_new_object();
        if (!o) {
            PQclear(r);
            return -1;
        }
        json_object_object_add(o, query_last_cols[QUERY_L_ID], query_jint(r, 0, col[QUERY_L_ID]));
        for (int i = QUERY_L_DECIDED_AT; i <= QUERY_L_LLM_OUTCOME; i++)
            json_object_object_add(o, query_last_cols[i], query_jstr(r, 0, col[i]));
        st->last_decision = o;
        if (!st->next_decision_at[0]) {
            query_copy(st->next_decision_at, sizeof st->next_decision_at, r, 0, col[QUERY_L_NEXT_DECISION_AT]);
            st->next_in = query_dbl(r, 0, col[QUERY_L_NEXT_IN]);
        }
        st->fallback_streak = query_ll(r, 0, col[QUERY_L_FALLBACK_STREAK]);
        st->last_decision_epoch = query_dbl(r, 0, col[QUERY_L_DECIDED_EPOCH]);
    }
    PQclear(r);
    return 0;
}

/* Swap two array elements of n bytes (at most 256). */
static void query_swap(void *a, void *b, size_t n)
{
    unsigned char t[256];
    if (n > sizeof t)
        return;
    memcpy(t, a, n);
    memcpy(a, b, n);
    memcpy(b, t, n);
}

/* The columns of SQL_STATE_DECISIONS and (the last three) SQL_STATE_DECISIONS_24H. */
enum query_count_col {
    QUERY_N_MODE = 0, QUERY_N_SOURCE, QUERY_N_STATUS, QUERY_N_LLM_OUTCOME, QUERY_N_SWITCHES, QUERY_N_DECISIONS,
    QUERY_N_AGREED, QUERY_N_COMPARED, QUERY_N_COUNT
};
static const char *const query_count_cols[QUERY_N_COUNT] = {
    [QUERY_N_MODE] = "mode", [QUERY_N_SOURCE] = "source", [QUERY_N_STATUS] = "status",
    [QUERY_N_LLM_OUTCOME] = "llm_outcome", [QUERY_N_SWITCHES] = "switches", [QUERY_N_DECISIONS] = "decisions",
    [QUERY_N_AGREED] = "agreed", [QUERY_N_COMPARED] = "compared",
};

/* Decision counts: the totals by mode, source, status and LLM outcome, and
 * the last 24 hours.  Returns 0 or -1. */
static int query_state_counts(PGconn *c, struct query_state *st)
{
    int col[QUERY_N_COUNT];
    PGresult *r = query_run_prepared(c, "state_decisions", SQL_STATE_DECISIONS);
    if (!r)
        return -1;
    if (query_cols(r, "state_decisions", query_count_cols, QUERY_N_COUNT, col) < 0) {
        PQclear(r);
        return -1;
    }
    for (int i = 0; i < PQntuples(r); i++) {
        int m = catalog_mode_parse(PQgetvalue(r, i, col[QUERY_N_MODE]));
        const char *src = PQgetvalue(r, i, col[QUERY_N_SOURCE]), *status = PQgetvalue(r, i, col[QUERY_N_STATUS]);
        const char *llm = PQgetvalue(r, i, col[QUERY_N_LLM_OUTCOME]);
        long long n = query_ll(r, i, col[QUERY_N_DECISIONS]);
        int ok = strcmp(status, "succeeded") == 0, partial = strcmp(status, "partial") == 0;
        int failed = strcmp(status, "failed") == 0;
        st->decisions += n;
        st->mode_switches += query_ll(r, i, col[QUERY_N_SWITCHES]);
        st->agreed += query_ll(r, i, col[QUERY_N_AGREED]);
        st->compared += query_ll(r, i, col[QUERY_N_COMPARED]);
        st->succeeded += ok ? n : 0;
        st->partial += partial ? n : 0;
        st->failed += failed ? n : 0;
        for (int s = 0; s < SOURCE_COUNT; s++)
            if (strcmp(src, catalog_source_name(s)) == 0) {
                st->by_source[s] += n;
                if (m >= 0)
                    st->mode_source[m][s] += n;
            }
        if (m >= 0 && (ok || partial || failed)) {
            st->mode_acted[m] += n;
            st->mode_succeeded[m] += ok ? n : 0;
        }
        int k = 0;
        while (k < st->nllm_outcome && strcmp(st->llm_outcome[k].outcome, llm) != 0)
            k++;
        if (k == st->nllm_outcome) {
            if (k >= (int)(sizeof st->llm_outcome / sizeof st->llm_outcome[0]))
                continue;
            snprintf(st->llm_outcome[k].outcome, sizeof st->llm_outcome[0].outcome, "%s", llm);
            st->llm_outcome[k].n = 0;
            st->nllm_outcome++;
        }
        st->llm_outcome[k].n += n;
    }
    PQclear(r);
    int kept = 0;
    for (int i = 0; i < st->nllm_outcome; i++)
        if (st->llm_outcome[i].n != 0)
            st->llm_outcome[kept++] = st->llm_outcome[i];
    st->nllm_outcome = kept;
    /* the totals come ordered by mode first: order the LLM outcomes by name */
    for (int a = 1; a < st->nllm_outcome; a++)
        for (int b = a; b > 0 && strcmp(st->llm_outcome[b - 1].outcome, st->llm_outcome[b].outcome) > 0; b--) {
            query_swap(&st->llm_outcome[b], &st->llm_outcome[b - 1], sizeof st->llm_outcome[0]);
        }
    r = query_run_prepared(c, "state_decisions_24h", SQL_STATE_DECISIONS_24H);
    if (!r)
        return -1;
    int rc = query_cols(r, "state_decisions_24h", query_count_cols + QUERY_N_DECISIONS,
                        QUERY_N_COUNT - QUERY_N_DECISIONS, col + QUERY_N_DECISIONS);
    if (rc == 0 && PQntuples(r) == 1) {
        st->decisions_24h = query_ll(r, 0, col[QUERY_N_DECISIONS]);
        st->agreed_24h = query_ll(r, 0, col[QUERY_N_AGREED]);
        st->compared_24h = query_ll(r, 0, col[QUERY_N_COMPARED]);
    }
    PQclear(r);
    return rc;
}

/* The columns of SQL_STATE_TRIGGERS; the buckets follow, one a bound of
 * query_exec_bucket_ms (query_exec_bucket_cols). */
enum query_trigger_col {
    QUERY_T_WORKFLOW = 0, QUERY_T_STATUS, QUERY_T_OUTCOME, QUERY_T_TRIGGERS, QUERY_T_RETRIES, QUERY_T_DURATIONS,
    QUERY_T_DURATION_MS_SUM, QUERY_T_OPPORTUNITIES, QUERY_T_BUCKET, QUERY_T_COUNT = QUERY_T_BUCKET + QUERY_EXEC_BUCKETS
};
static const char *const query_trigger_cols[QUERY_T_COUNT] = {
    [QUERY_T_WORKFLOW] = "workflow", [QUERY_T_STATUS] = "status", [QUERY_T_OUTCOME] = "outcome",
    [QUERY_T_TRIGGERS] = "triggers", [QUERY_T_RETRIES] = "retries", [QUERY_T_DURATIONS] = "durations",
    [QUERY_T_DURATION_MS_SUM] = "duration_ms_sum", [QUERY_T_OPPORTUNITIES] = "opportunities",
    [QUERY_T_BUCKET] = "le_100ms", "le_500ms", "le_1s", "le_2500ms", "le_5s", "le_10s", "le_30s", "le_60s", "le_120s",
};

/* Trigger counts per workflow and status and per workflow and execution
 * outcome, execution durations and reported opportunities, from the
 * totals.  Returns 0 or -1. */
static int query_state_triggers(PGconn *c, struct query_state *st)
{
    int col[QUERY_T_COUNT];
    PGresult *r = query_run_prepared(c, "state_triggers", SQL_STATE_TRIGGERS);
    if (!r)
        return -1;
    if (query_cols(r, "state_triggers", query_trigger_cols, QUERY_T_COUNT, col) < 0) {
        PQclear(r);
        return -1;
    }
    int rows = PQntuples(r);
    st->trig = calloc(rows ? (size_t)rows : 1, sizeof *st->trig);
    st->out = calloc(rows ? (size_t)rows : 1, sizeof *st->out);
    if (!st->trig || !st->out) {
        PQclear(r);
        return -1;
    }
    for (int i = 0; i < rows; i++) {
        const char *wf = PQgetvalue(r, i, col[QUERY_T_WORKFLOW]), *status = PQgetvalue(r, i, col[QUERY_T_STATUS]);
        long long n = query_ll(r, i, col[QUERY_T_TRIGGERS]);
        /* rows come ordered by workflow and status: one group per pair */
        struct query_trigger_group *g = st->ntrig > 0 ? &st->trig[st->ntrig - 1] : NULL;
        if (!g || strcmp(g->workflow, wf) != 0 || strcmp(g->status, status) != 0) {
            g = NULL;
            if (st->ntrig < QUERY_MAX_TRIGGER_GROUPS) {
                g = &st->trig[st->ntrig++];
                snprintf(g->workflow, sizeof g->workflow, "%s", wf);
                snprintf(g->status, sizeof g->status, "%s", status);
            }
        }
        if (g) {
            g->n += n;
            g->retries += query_ll(r, i, col[QUERY_T_RETRIES]);
        }
        if (!PQgetisnull(r, i, col[QUERY_T_OUTCOME]) && n != 0) {
            const char *outcome = PQgetvalue(r, i, col[QUERY_T_OUTCOME]);
            int k = 0;
            while (k < st->nout && !(strcmp(st->out[k].workflow, wf) == 0 && strcmp(st->out[k].outcome, outcome) == 0))
                k++;
            if (k == st->nout && k < rows) {
                snprintf(st->out[k].workflow, sizeof st->out[0].workflow, "%s", wf);
                snprintf(st->out[k].outcome, sizeof st->out[0].outcome, "%s", outcome);
                st->out[k].n = 0;
                st->nout++;
            }
            if (k < st->nout)
                st->out[k].n += n;
        }
        st->exec_count += query_ll(r, i, col[QUERY_T_DURATIONS]);
        st->exec_ms_sum += (double)query_ll(r, i, col[QUERY_T_DURATION_MS_SUM]);
        for (int b = 0; b < QUERY_EXEC_BUCKETS; b++)
            st->exec_bucket[b] += query_ll(r, i, col[QUERY_T_BUCKET + b]);
        st->opportunities += query_ll(r, i, col[QUERY_T_OPPORTUNITIES]);
    }
    PQclear(r);
    /* groups whose deltas add up to nothing (a status passed through) are left out */
    int kept = 0;
    for (int i = 0; i < st->ntrig; i++)
        if (st->trig[i].n != 0 || st->trig[i].retries != 0)
            st->trig[kept++] = st->trig[i];
    st->ntrig = kept;
    /* outcomes ordered by workflow, then outcome */
    for (int a = 1; a < st->nout; a++)
        for (int b = a; b > 0; b--) {
            int cmp = strcmp(st->out[b - 1].workflow, st->out[b].workflow);
            if (cmp < 0 || (cmp == 0 && strcmp(st->out[b - 1].outcome, st->out[b].outcome) <= 0))
                break;
            query_swap(&st->out[b], &st->out[b - 1], sizeof st->out[0]);
        }
    return 0;
}

/* The columns of SQL_STATE_LLM; the buckets follow, one a bound of
 * query_llm_bucket_ms.  SQL_STATE_LLM_24H has the first three and tokens. */
enum query_llm_col {
    QUERY_C_PROVIDER = 0, QUERY_C_OUTCOME, QUERY_C_CALLS, QUERY_C_TOKENS, QUERY_C_PROMPT_TOKENS,
    QUERY_C_COMPLETION_TOKENS, QUERY_C_LATENCY_MS_SUM, QUERY_C_BUCKET, QUERY_C_COUNT = QUERY_C_BUCKET + QUERY_LLM_BUCKETS
};
static const char *const query_llm_cols[QUERY_C_COUNT] = {
    [QUERY_C_PROVIDER] = "provider", [QUERY_C_OUTCOME] = "outcome", [QUERY_C_CALLS] = "calls",
    [QUERY_C_TOKENS] = "tokens", [QUERY_C_PROMPT_TOKENS] = "prompt_tokens",
    [QUERY_C_COMPLETION_TOKENS] = "completion_tokens", [QUERY_C_LATENCY_MS_SUM] = "latency_ms_sum",
    [QUERY_C_BUCKET] = "le_100ms", "le_250ms", "le_500ms", "le_1s", "le_2500ms", "le_5s", "le_10s",
};

/* The LLM calls of the last 24 hours into st->llm_group (after the
 * totals).  Returns 0 or -1. */
static int query_state_llm_24h(PGconn *c, struct query_state *st)
{
    int col[QUERY_C_COUNT];
    PGresult *r = query_run_prepared(c, "state_llm_24h", SQL_STATE_LLM_24H);
    if (!r)
        return -1;
    if (query_cols(r, "state_llm_24h", query_llm_cols, QUERY_C_TOKENS + 1, col) < 0) {
        PQclear(r);
        return -1;
    }
    for (int i = 0; i < PQntuples(r); i++) {
        const char *p = PQgetvalue(r, i, col[QUERY_C_PROVIDER]), *o = PQgetvalue(r, i, col[QUERY_C_OUTCOME]);
        int k = 0;
        while (k < st->nllm && !(strcmp(st->llm_group[k].provider, p) == 0 && strcmp(st->llm_group[k].outcome, o) == 0))
            k++;
        if (k == st->nllm) {                /* not in the totals yet (not compacted): a group of its own */
            if (k >= QUERY_MAX_LLM_GROUPS)
                continue;
            memset(&st->llm_group[k], 0, sizeof st->llm_group[k]);
            snprintf(st->llm_group[k].provider, sizeof st->llm_group[k].provider, "%s", p);
            snprintf(st->llm_group[k].outcome, sizeof st->llm_group[k].outcome, "%s", o);
            st->nllm++;
        }
        st->llm_group[k].calls_24h = query_ll(r, i, col[QUERY_C_CALLS]);
        st->llm_group[k].tokens_24h = query_ll(r, i, col[QUERY_C_TOKENS]);
    }
    PQclear(r);
    return 0;
}

/* LLM calls by provider and outcome: the totals, and the last 24 hours.
 * Returns 0 or -1. */
static int query_state_llm(PGconn *c, struct query_state *st)
{
    int col[QUERY_C_COUNT];
    PGresult *r = query_run_prepared(c, "state_llm", SQL_STATE_LLM);
    if (!r)
        return -1;
    col[QUERY_C_TOKENS] = -1;                  /* not a column of the totals */
    if (query_cols(r, "state_llm", query_llm_cols, QUERY_C_TOKENS, col) < 0 ||
        query_cols(r, "state_llm", query_llm_cols + QUERY_C_PROMPT_TOKENS, QUERY_C_COUNT - QUERY_C_PROMPT_TOKENS,
                   col + QUERY_C_PROMPT_TOKENS) < 0) {
        PQclear(r);
        return -1;
    }
    for (int i = 0; i < PQntuples(r) && st->nllm < QUERY_MAX_LLM_GROUPS; i++) {
        if (query_ll(r, i, col[QUERY_C_CALLS]) == 0)          /* deltas that add up to nothing */
            continue;
        struct query_llm_group *g = &st->llm_group[st->nllm++];
        query_copy(g->provider, sizeof g->provider, r, i, col[QUERY_C_PROVIDER]);
        query_copy(g->outcome, sizeof g->outcome, r, i, col[QUERY_C_OUTCOME]);
        g->calls = query_ll(r, i, col[QUERY_C_CALLS]);
        g->prompt_tokens = query_ll(r, i, col[QUERY_C_PROMPT_TOKENS]);
        g->completion_tokens = query_ll(r, i, col[QUERY_C_COMPLETION_TOKENS]);
        for (int b = 0; b < QUERY_LLM_BUCKETS; b++)
            g->bucket[b] = query_ll(r, i, col[QUERY_C_BUCKET + b]);
        double sum = query_dbl(r, i, col[QUERY_C_LATENCY_MS_SUM]);
        g->latency_ms_sum = isnan(sum) ? 0 : sum;
    }
    PQclear(r);
    return query_state_llm_24h(c, st);
}

/* The columns of SQL_WF_STATES. */
enum query_wf_col {
    QUERY_F_NAME = 0, QUERY_F_PRESENT, QUERY_F_AVAILABLE, QUERY_F_UNAVAILABLE_SINCE, QUERY_F_UNAVAILABLE_REASON,
    QUERY_F_CIRCUIT, QUERY_F_CONSECUTIVE_FAILURES, QUERY_F_OPEN_UNTIL, QUERY_F_CIRCUIT_OPENS, QUERY_F_CONCURRENCY,
    QUERY_F_RUNNING, QUERY_F_N8N_ID, QUERY_F_N8N_NAME, QUERY_F_N8N_ACTIVE, QUERY_F_N8N_SEEN_AT, QUERY_F_COUNT
};
static const char *const query_wf_cols[QUERY_F_COUNT] = {
    [QUERY_F_NAME] = "name", [QUERY_F_PRESENT] = "present", [QUERY_F_AVAILABLE] = "available",
    [QUERY_F_UNAVAILABLE_SINCE] = "unavailable_since", [QUERY_F_UNAVAILABLE_REASON] = "unavailable_reason",
    [QUERY_F_CIRCUIT] = "circuit", [QUERY_F_CONSECUTIVE_FAILURES] = "consecutive_failures",
    [QUERY_F_OPEN_UNTIL] = "open_until", [QUERY_F_CIRCUIT_OPENS] = "circuit_opens",
    [QUERY_F_CONCURRENCY] = "concurrency", [QUERY_F_RUNNING] = "running", [QUERY_F_N8N_ID] = "n8n_id",
    [QUERY_F_N8N_NAME] = "n8n_name", [QUERY_F_N8N_ACTIVE] = "n8n_active", [QUERY_F_N8N_SEEN_AT] = "n8n_seen_at",
};

/* The catalog's workflows with their workflow_state rows into st->wf (in
 * catalog order), and each one's retries from st->trig.  Returns 0 or -1. */
static int query_wf_states(PGconn *c, struct query_state *st)
{
    int col[QUERY_F_COUNT];
    PGresult *r = query_run_prepared(c, "wf_states", SQL_WF_STATES);
    if (!r)
        return -1;
    if (query_cols(r, "wf_states", query_wf_cols, QUERY_F_COUNT, col) < 0) {
        PQclear(r);
        return -1;
    }
    int n = PQntuples(r);
    st->wf = calloc(n ? (size_t)n : 1, sizeof *st->wf);
    for (int i = 0; st->wf && i < n; i++) {
        struct query_wf_state *q = &st->wf[st->nwf++];
        query_copy(q->workflow, sizeof q->workflow, r, i, col[QUERY_F_NAME]);
        q->present = query_bool(r, i, col[QUERY_F_PRESENT]);
        q->available = query_bool(r, i, col[QUERY_F_AVAILABLE]);
        query_copy(q->unavailable_since, sizeof q->unavailable_since, r, i, col[QUERY_F_UNAVAILABLE_SINCE]);
        query_copy(q->unavailable_reason, sizeof q->unavailable_reason, r, i, col[QUERY_F_UNAVAILABLE_REASON]);
        query_copy(q->circuit, sizeof q->circuit, r, i, col[QUERY_F_CIRCUIT]);
        q->consecutive_failures = query_ll(r, i, col[QUERY_F_CONSECUTIVE_FAILURES]);
        query_copy(q->open_until, sizeof q->open_until, r, i, col[QUERY_F_OPEN_UNTIL]);
        q->circuit_opens = query_ll(r, i, col[QUERY_F_CIRCUIT_OPENS]);
        query_copy(q->concurrency, sizeof q->concurrency, r, i, col[QUERY_F_CONCURRENCY]);
        q->running = query_ll(r, i, col[QUERY_F_RUNNING]);
        query_copy(q->n8n_id, sizeof q->n8n_id, r, i, col[QUERY_F_N8N_ID]);
        query_copy(q->n8n_name, sizeof q->n8n_name, r, i, col[QUERY_F_N8N_NAME]);
        q->n8n_active = PQgetisnull(r, i, col[QUERY_F_N8N_ACTIVE]) ? -1 : query_bool(r, i, col[QUERY_F_N8N_ACTIVE]);
        query_copy(q->n8n_seen_at, sizeof q->n8n_seen_at, r, i, col[QUERY_F_N8N_SEEN_AT]);
        for (int k = 0; k < st->ntrig; k++)
            if (strcmp(st->trig[k].workflow, q->workflow) == 0)
                q->retries += st->trig[k].retries;
    }
    PQclear(r);
    return st->wf ? 0 : -1;
}

/* Results by status, from the totals.  Returns 0 or -1. */
static int query_state_results(PGconn *c, struct query_state *st)
{
    static const char *const names[] = { "status", "results" };
    int col[2];
    PGresult *r = query_run_prepared(c, "state_results", SQL_STATE_RESULTS);
    if (!r)
        return -1;
    int rc = query_cols(r, "state_results", names, 2, col);
    for (int i = 0; rc == 0 && i < PQntuples(r) && st->nresult < QUERY_MAX_RESULT_GROUPS; i++) {
        query_copy(st->result_group[st->nresult].status, sizeof st->result_group[0].status, r, i, col[0]);
        st->result_group[st->nresult].n = query_ll(r, i, col[1]);
        st->nresult++;
    }
    PQclear(r);
    return rc;
}

/* The leader, the standbys (heard from within a minute) and the missed
 * decisions, as one JSON object built by name (sql/006_leader.sql). */
static const char SQL_STATE_LEADER[] =
    "SELECT jsonb_build_object("
    "  'leader', (SELECT CASE WHEN l.holder IS NULL OR l.released_at IS NOT NULL THEN NULL ELSE jsonb_build_object("
    "      'worker', l.holder, 'epoch', l.epoch, 'since', " QUERY_ISO("l.acquired_at") ", "
    "      'renewed_at', " QUERY_ISO("l.renewed_at") ", 'expires_at', " QUERY_ISO("l.expires_at") ", "
    "      'expired', l.expires_at < now(), 'hostname', w.hostname, 'pid', w.pid, 'version', w.version) END "
    "      FROM leader_lease l LEFT JOIN workers w ON w.id = l.holder WHERE l.id = 1), "
    "  'epoch', (SELECT epoch FROM leader_lease WHERE id = 1), "
    "  'standbys', (SELECT coalesce(jsonb_agg(jsonb_build_object('worker', id, 'hostname', hostname, 'pid', pid, "
    "      'version', version, 'since', " QUERY_ISO("role_since") ", 'heartbeat_at', " QUERY_ISO("heartbeat_at") ") "
    "      ORDER BY role_since), '[]'::jsonb) "
    "      FROM workers WHERE role = 'standby' AND heartbeat_at > now() - interval '1 minute'), "
    "  'gaps', (SELECT jsonb_build_object('count', count(*), 'missed_decisions', coalesce(sum(missed), 0)) "
    "      FROM decision_gaps), "
    "  'last_gap', (SELECT jsonb_build_object('from', " QUERY_ISO("gap_from") ", 'to', " QUERY_ISO("gap_to") ", "
    "      'missed', missed, 'interval_seconds', interval_seconds, 'detected_at', " QUERY_ISO("detected_at") ", "
    "      'detected_by', detected_by) FROM decision_gaps ORDER BY id DESC LIMIT 1))::text";

/* st->watch from SQL_STATE_WATCH.  Returns 0 or -1. */
static int query_state_watch(PGconn *c, struct query_state *st)
{
    PGresult *r = query_run_prepared(c, "state_watch", SQL_STATE_WATCH);
    if (!r)
        return -1;
    if (PQntuples(r) == 1 && !PQgetisnull(r, 0, 0))
        st->watch = json_tokener_parse(PQgetvalue(r, 0, 0));
    PQclear(r);
    if (!st->watch)
        st->watch = json_object_new_object();
    return st->watch ? 0 : -1;
}

/* st->leader from SQL_STATE_LEADER.  Returns 0 or -1. */
static int query_state_leader(PGconn *c, struct query_state *st)
{
    PGresult *r = query_run(c, "state_leader", SQL_STATE_LEADER, 0, NULL);
    if (!r)
        return -1;
    if (PQntuples(r) == 1 && !PQgetisnull(r, 0, 0))
        st->leader = json_tokener_parse(PQgetvalue(r, 0, 0));
    PQclear(r);
    if (!st->leader)
        st->leader = json_object_new_object();
    return st->leader ? 0 : -1;
}

int query_state(PGconn *c, struct query_state *st)
{
    memset(st, 0, sizeof *st);
    if (query_state_worker(c, st) < 0 || query_state_last(c, st) < 0 || query_state_leader(c, st) < 0 ||
        query_state_watch(c, st) < 0 ||
        query_state_counts(c, st) < 0 || query_state_triggers(c, st) < 0 || query_state_llm(c, st) < 0 ||
        query_wf_states(c, st) < 0 || query_state_results(c, st) < 0) {
        query_state_clear(st);
        return -1;
    }
    return 0;
}

/* The columns of SQL_DECISIONS and SQL_DECISION_ONE. */
enum query_decision_col {
    QUERY_D_ID = 0, QUERY_D_CYCLE_ID, QUERY_D_DECIDED_AT, QUERY_D_MODE, QUERY_D_INTENSITY, QUERY_D_SOURCE,
    QUERY_D_REASON, QUERY_D_SESSION, QUERY_D_SESSIONS, QUERY_D_STATUS, QUERY_D_DRY_RUN, QUERY_D_NEXT_SECONDS,
    QUERY_D_NEXT_DECISION_AT, QUERY_D_COMPLETED_AT, QUERY_D_LLM_OUTCOME, QUERY_D_LLM_DETAIL, QUERY_D_LLM_PROVIDER,
    QUERY_D_LLM_MODEL, QUERY_D_PROMPT_VERSION, QUERY_D_PROMPT_HASH, QUERY_D_PROMPT_TOKENS,
    QUERY_D_COMPLETION_TOKENS, QUERY_D_LATENCY_MS, QUERY_D_SHADOW, QUERY_D_AGREEMENT, QUERY_D_WAKE,
    QUERY_D_WAKE_DETAIL, QUERY_D_INPUTS, QUERY_D_MENU, QUERY_D_RAW_OUTPUT, QUERY_D_COUNT
};
static const char *const query_decision_cols[QUERY_D_COUNT] = {
    [QUERY_D_ID] = "id", [QUERY_D_CYCLE_ID] = "cycle_id", [QUERY_D_DECIDED_AT] = "decided_at",
    [QUERY_D_MODE] = "mode", [QUERY_D_INTENSITY] = "intensity", [QUERY_D_SOURCE] = "source",
    [QUERY_D_REASON] = "reason", [QUERY_D_SESSION] = "session", [QUERY_D_SESSIONS] = "sessions",
    [QUERY_D_STATUS] = "status", [QUERY_D_DRY_RUN] = "dry_run", [QUERY_D_NEXT_SECONDS] = "next_seconds",
    [QUERY_D_NEXT_DECISION_AT] = "next_decision_at", [QUERY_D_COMPLETED_AT] = "completed_at",
    [QUERY_D_LLM_OUTCOME] = "llm_outcome", [QUERY_D_LLM_DETAIL] = "llm_detail",
    [QUERY_D_LLM_PROVIDER] = "llm_provider", [QUERY_D_LLM_MODEL] = "llm_model",
    [QUERY_D_PROMPT_VERSION] = "prompt_version", [QUERY_D_PROMPT_HASH] = "prompt_hash",
    [QUERY_D_PROMPT_TOKENS] = "llm_prompt_tokens", [QUERY_D_COMPLETION_TOKENS] = "llm_completion_tokens",
    [QUERY_D_LATENCY_MS] = "llm_latency_ms", [QUERY_D_SHADOW] = "shadow", [QUERY_D_AGREEMENT] = "agreement",
    [QUERY_D_WAKE] = "wake", [QUERY_D_WAKE_DETAIL] = "wake_detail", [QUERY_D_INPUTS] = "inputs",
    [QUERY_D_MENU] = "menu", [QUERY_D_RAW_OUTPUT] = "raw_output",
};

/* A trigger of a decision: the columns of SQL_DECISION_TRIGGERS after
 * decision_id, each a member of the same name. */
static const struct query_member query_trigger_members[] = {
    { "id", 1 }, { "workflow", 0 }, { "status", 0 }, { "http_status", 1 }, { "attempts", 1 }, { "latency_ms", 1 },
    { "error", 0 }, { "started_at", 0 }, { "finished_at", 0 }, { "execution_id", 0 }, { "outcome", 0 },
    { "opportunities", 1 }, { "result_status", 0 }, { "duration_ms", 1 }, { "next_attempt_at", 0 },
    { "error_kind", 0 }, { "result_at", 0 }, { "execution_status", 0 },
};

/* An LLM call of a decision: the columns of SQL_DECISION_LLM_CALLS after
 * decision_id. */
static const struct query_member query_llm_call_members[] = {
    { "provider", 0 }, { "model", 0 }, { "http_status", 1 }, { "outcome", 0 }, { "latency_ms", 1 },
    { "prompt_tokens", 1 }, { "completion_tokens", 1 }, { "error", 0 },
};

/* Add key: v to o; on light pages (full 0) a JSON null is left out. */
static void query_add(json_object *o, const char *key, json_object *v, int full)
{
    if (v || full)
        json_object_object_add(o, key, v);
}

/* The "audit" object of row i of SQL_DECISIONS (col: its columns), with an
 * empty "llm_calls" array.  With detail every member is there (raw_output
 * included); on light pages null members are left out and the shadow
 * choice loses its reason (the decision's own reason carries the fallback
 * policy's when it decided).  Returns it (caller frees) or NULL. */
static json_object *query_audit(const PGresult *r, const int *col, int i, int detail)
{
    json_object *a = json_object_new_object();
    json_object *calls = json_object_new_array();
    if (!a || !calls) {
        json_object_put(a);
        json_object_put(calls);
        return NULL;
    }
    query_add(a, "llm_outcome", query_jstr(r, i, col[QUERY_D_LLM_OUTCOME]), detail);
    query_add(a, "llm_detail", query_jstr(r, i, col[QUERY_D_LLM_DETAIL]), detail);
    query_add(a, "provider", query_jstr(r, i, col[QUERY_D_LLM_PROVIDER]), detail);
    query_add(a, "model", query_jstr(r, i, col[QUERY_D_LLM_MODEL]), detail);
    query_add(a, "prompt_version", query_jstr(r, i, col[QUERY_D_PROMPT_VERSION]), detail);
    query_add(a, "prompt_hash", query_jstr(r, i, col[QUERY_D_PROMPT_HASH]), detail);
    if (detail)
        json_object_object_add(a, "raw_output", query_jstr(r, i, col[QUERY_D_RAW_OUTPUT]));
    query_add(a, "prompt_tokens", query_jint(r, i, col[QUERY_D_PROMPT_TOKENS]), detail);
    query_add(a, "completion_tokens", query_jint(r, i, col[QUERY_D_COMPLETION_TOKENS]), detail);
    query_add(a, "latency_ms", query_jint(r, i, col[QUERY_D_LATENCY_MS]), detail);
    json_object *shadow = query_jparse(r, i, col[QUERY_D_SHADOW]);
    if (shadow && !detail && json_object_is_type(shadow, json_type_object))
        json_object_object_del(shadow, "reason");
    query_add(a, "shadow", shadow, detail);
    query_add(a, "agreement", query_jbool(r, i, col[QUERY_D_AGREEMENT]), detail);
    json_object_object_add(a, "llm_calls", calls);
    return a;
}

/* Row i of SQL_DECISIONS (or SQL_DECISION_ONE; col: its columns) as the
 * API's decision object, with empty "triggers" and audit.llm_calls arrays;
 * "inputs" and "menu" only when detail.  Returns it (caller frees) or NULL. */
static json_object *query_decision_row(const PGresult *r, const int *col, int i, int detail)
{
    /* the members that are the column of the same name, in the answer's order */
    static const struct { int col, integer; } plain[] = {
        { QUERY_D_ID, 1 }, { QUERY_D_CYCLE_ID, 0 }, { QUERY_D_DECIDED_AT, 0 }, { QUERY_D_MODE, 0 },
        { QUERY_D_INTENSITY, 0 }, { QUERY_D_SOURCE, 0 }, { QUERY_D_REASON, 0 }, { QUERY_D_SESSION, 0 },
    };
    json_object *o = json_object_new_object();
    json_object *trig = json_object_new_array();
    json_object *audit = query_audit(r, col, i, detail);
    if (!o || !trig || !audit) {
        json_object_put(o);
        json_object_put(trig);
        json_object_put(audit);
        return NULL;
    }
    for (size_t k = 0; k < sizeof plain / sizeof plain[0]; k++) {
        int c = col[plain[k].col];
        json_object_object_add(o, query_decision_cols[plain[k].col],
                               plain[k].integer ? query_jint(r, i, c) : query_jstr(r, i, c));
    }
    json_object *ses = query_jparse(r, i, col[QUERY_D_SESSIONS]);
    json_object_object_add(o, "sessions", ses ? ses : json_object_new_array());
    json_object_object_add(o, "status", query_jstr(r, i, col[QUERY_D_STATUS]));
    json_object_object_add(o, "dry_run", query_jbool(r, i, col[QUERY_D_DRY_RUN]));
    json_object_object_add(o, "next_seconds", query_jint(r, i, col[QUERY_D_NEXT_SECONDS]));
    json_object_object_add(o, "next_decision_at", query_jstr(r, i, col[QUERY_D_NEXT_DECISION_AT]));
    json_object_object_add(o, "completed_at", query_jstr(r, i, col[QUERY_D_COMPLETED_AT]));
    /* why it was made when it was: scheduled, event (the watch's signal,
     * value and threshold in wake_detail), control or startup */
    json_object_object_add(o, "wake", query_jstr(r, i, col[QUERY_D_WAKE]));
    query_add(o, "wake_detail", query_jparse(r, i, col[QUERY_D_WAKE_DETAIL]), detail);
    if (detail) {
        json_object_object_add(o, "inputs", query_jparse(r, i, col[QUERY_D_INPUTS]));
        json_object_object_add(o, "menu", query_jparse(r, i, col[QUERY_D_MENU]));
    }
    json_object_object_add(o, "triggers", trig);
    json_object_object_add(o, "audit", audit);
    return o;
}

/* Append the rows of t (statement stmt; a column decision_id, ordered by
 * decision id descending like the n rows of r, whose ids are in column
 * rid) as objects of the members m[0 .. nm) to the arrays at key of the
 * matching decisions of arr: the decision object's own member when in is
 * NULL, else the member of its member in ("audit").  Returns 0 or -1. */
static int query_attach(const PGresult *r, int rid, int n, json_object *arr, const PGresult *t, const char *stmt,
                        const struct query_member *m, int nm, const char *in, const char *key)
{
    int col[QUERY_MEMBERS_MAX], did_col = query_col(t, stmt, "decision_id");
    if (did_col < 0 || query_member_cols(t, stmt, m, nm, col) < 0)
        return -1;
    int d = 0;
    for (int i = 0; i < PQntuples(t); i++) {
        long long did = query_ll(t, i, did_col);
        while (d < n && query_ll(r, d, rid) > did)
            d++;
        if (d >= n)
            break;
        if (query_ll(r, d, rid) != did)
            continue;
        json_object *parent = json_object_array_get_idx(arr, (size_t)d), *list = NULL;
        if (in && !json_object_object_get_ex(parent, in, &parent))
            return -1;
        json_object_object_get_ex(parent, key, &list);
        json_object *o = query_members(t, i, m, nm, col);
        if (!o || !list || json_object_array_add(list, o) < 0) {
            json_object_put(o);
            return -1;
        }
    }
    return 0;
}

/* Give every decision of arr "opportunities": the sum of its triggers'
 * reported opportunities, null while none reported. */
static void query_decisions_opportunities(json_object *arr)
{
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
        json_object *d = json_object_array_get_idx(arr, i), *tl = NULL;
        long long sum = 0;
        int any = 0;
        if (json_object_object_get_ex(d, "triggers", &tl))
            for (size_t k = 0; k < json_object_array_length(tl); k++) {
                json_object *v = NULL;
                if (json_object_object_get_ex(json_object_array_get_idx(tl, k), "opportunities", &v) &&
                    json_object_is_type(v, json_type_int)) {
                    sum += json_object_get_int64(v);
                    any = 1;
                }
            }
        json_object_object_add(d, "opportunities", any ? json_object_new_int64(sum) : NULL);
    }
}

/* Fill the triggers and LLM calls of the n decisions of r (items of arr;
 * their ids in column rid).  ids is the '{...}' array of their ids.
 * Returns 0 or -1. */
static int query_decisions_attach(PGconn *c, const PGresult *r, int rid, int n, json_object *arr, const char *ids)
{
    const char *tv[1] = { ids };
    if (n == 0)
        return 0;
    PGresult *t = query_run(c, "decision_triggers", SQL_DECISION_TRIGGERS, 1, tv);
    if (!t)
        return -1;
    int rc = query_attach(r, rid, n, arr, t, "decision_triggers", query_trigger_members,
                          QUERY_NMEMBERS(query_trigger_members), NULL, "triggers");
    PQclear(t);
    if (rc < 0)
        return -1;
    query_decisions_opportunities(arr);
    t = query_run(c, "decision_llm_calls", SQL_DECISION_LLM_CALLS, 1, tv);
    if (!t)
        return -1;
    rc = query_attach(r, rid, n, arr, t, "decision_llm_calls", query_llm_call_members,
                      QUERY_NMEMBERS(query_llm_call_members), "audit", "llm_calls");
    PQclear(t);
    return rc;
}

int query_decisions(PGconn *c, const struct params_decisions *p, json_object **list, long long *next_before)
{
    char before[24], limit[16];
    /* room for PARAMS_LIMIT_MAX ids of up to 19 digits, commas and braces */
    char ids[PARAMS_LIMIT_MAX * 20 + 4];
    int col[QUERY_D_COUNT];
    PGresult *r = NULL;
    json_object *arr = NULL;
    int rc = -1;

    *list = NULL;
    *next_before = 0;
    if (p->limit < 1 || p->limit > PARAMS_LIMIT_MAX)
        return -1;
    snprintf(before, sizeof before, "%lld", p->before);
    snprintf(limit, sizeof limit, "%d", p->limit + 1);    /* one more: is there a next page? */
    const char *vals[4] = { p->before > 0 ? before : NULL,
                            p->mode >= 0 ? catalog_mode_name(p->mode) : NULL, limit, p->detail ? "t" : "f" };
    r = query_run(c, "decisions", SQL_DECISIONS, 4, vals);
    if (!r || query_cols(r, "decisions", query_decision_cols, QUERY_D_COUNT, col) < 0)
        goto done;
    int n = PQntuples(r);
    if (n > p->limit) {
        n = p->limit;
        *next_before = query_ll(r, n - 1, col[QUERY_D_ID]);
    }
    arr = json_object_new_array_ext(n);
    if (!arr)
        goto done;
    size_t len = 0;
    ids[len++] = '{';
    for (int i = 0; i < n; i++) {
        json_object *o = query_decision_row(r, col, i, p->detail);
        if (!o || json_object_array_add(arr, o) < 0) {
            json_object_put(o);
            goto done;
        }
        int w = snprintf(ids + len, sizeof ids - len, "%s%lld", i ? "," : "", query_ll(r, i, col[QUERY_D_ID]));
        if (w < 0 || (size_t)w >= sizeof ids - len)
            goto done;
        len += (size_t)w;
    }
    ids[len++] = '}';
    ids[len] = '\0';
    if (query_decisions_attach(c, r, col[QUERY_D_ID], n, arr, ids) < 0)
        goto done;
    *list = arr;
    arr = NULL;
    rc = 0;
done:
    PQclear(r);
    json_object_put(arr);
    if (rc < 0)
        *next_before = 0;
    return rc;
}

int query_decision(PGconn *c, long long id, json_object **out)
{
    char idv[24], ids[32];
    int col[QUERY_D_COUNT];
    json_object *arr = NULL;
    int rc = -1;

    *out = NULL;
    snprintf(idv, sizeof idv, "%lld", id);
    snprintf(ids, sizeof ids, "{%lld}", id);
    const char *vals[1] = { idv };
    PGresult *r = query_run(c, "decision_one", SQL_DECISION_ONE, 1, vals);
    if (!r)
        return -1;
    if (query_cols(r, "decision_one", query_decision_cols, QUERY_D_COUNT, col) < 0)
        goto done;
    if (PQntuples(r) == 0) {
        rc = 0;
        goto done;
    }
    arr = json_object_new_array_ext(1);
    json_object *o = query_decision_row(r, col, 0, 1);
    if (!arr || !o || json_object_array_add(arr, o) < 0) {
        json_object_put(o);
        goto done;
    }
    if (query_decisions_attach(c, r, col[QUERY_D_ID], 1, arr, ids) < 0)
        goto done;
    *out = json_object_get(o);
    rc = 0;
done:
    PQclear(r);
    json_object_put(arr);
    return rc;
}

int query_workflows(PGconn *c, json_object **doc)
{
    *doc = NULL;
    PGresult *r = query_run_prepared(c, "workflows", SQL_WORKFLOWS);
    if (!r)
        return -1;
    if (PQntuples(r) == 1)
        *doc = query_jobject(r, 0, 0);
    PQclear(r);
    return *doc ? 0 : -1;
}

int query_record_result(PGconn *c, const struct results_in *in, const char *body_text, struct query_result_rec *out)
{
    char tid[24], did[24], opp[24], dur[24];
    memset(out, 0, sizeof *out);
    snprintf(tid, sizeof tid, "%lld", in->trigger_id);
    snprintf(did, sizeof did, "%lld", in->decision_id);
    snprintf(opp, sizeof opp, "%ld", in->opportunities);
    snprintf(dur, sizeof dur, "%lld", in->duration_ms);
    const char *vals[10] = { tid, in->idempotency_key, did, in->workflow, in->execution_id,
                             in->success ? "success" : "error", opp, dur, in->error, body_text };
    static const char *const names[] = { "verdict", "result_id", "trigger_outcome", "mismatch" };
    int col[4];
    PGresult *r = query_run(c, "record_result", SQL_RECORD_RESULT, 10, vals);
    if (!r)
        return -1;
    int rc = -1;
    if (query_cols(r, "record_result", names, 4, col) == 0 && PQntuples(r) == 1 && !PQgetisnull(r, 0, col[0])) {
        query_copy(out->outcome, sizeof out->outcome, r, 0, col[0]);
        out->result_id = query_ll(r, 0, col[1]);
        query_copy(out->trigger_outcome, sizeof out->trigger_outcome, r, 0, col[2]);
        query_copy(out->mismatch, sizeof out->mismatch, r, 0, col[3]);
        rc = 0;
    }
    PQclear(r);
    return rc;
}

int query_claim(PGconn *c, const char *key, const char *execution_id, const char *workflow,
                struct query_claim_rec *out)
{
    memset(out, 0, sizeof *out);
    const char *vals[3] = { key, execution_id, workflow ? workflow : "" };
    static const char *const names[] = { "verdict", "trigger_id", "decision_id", "execution_id", "claimed_at" };
    int col[5];
    PGresult *r = query_run(c, "claim", SQL_CLAIM, 3, vals);
    if (!r)
        return -1;
    int rc = -1;
    if (query_cols(r, "claim", names, 5, col) == 0 && PQntuples(r) == 1 && !PQgetisnull(r, 0, col[0])) {
        query_copy(out->verdict, sizeof out->verdict, r, 0, col[0]);
        out->trigger_id = query_ll(r, 0, col[1]);
        out->decision_id = query_ll(r, 0, col[2]);
        query_copy(out->execution_id, sizeof out->execution_id, r, 0, col[3]);
        query_copy(out->claimed_at, sizeof out->claimed_at, r, 0, col[4]);
        rc = 0;
    }
    PQclear(r);
    return rc;
}

int query_control_insert(PGconn *c, const char *command, const char *requested_by,
                         long long *id, char requested_at[QUERY_TS_MAX])
{
    static const char *const names[] = { "id", "requested_at" };
    int col[2];
    const char *vals[2] = { command, requested_by };
    PGresult *r = query_run(c, "control_insert", SQL_CONTROL_INSERT, 2, vals);
    if (!r)
        return -1;
    int rc = -1;
    if (query_cols(r, "control_insert", names, 2, col) == 0 && PQntuples(r) == 1) {
        *id = query_ll(r, 0, col[0]);
        query_copy(requested_at, QUERY_TS_MAX, r, 0, col[1]);
        rc = 0;
    }
    PQclear(r);
    return rc;
}

int query_control_get(PGconn *c, long long id, json_object **out)
{
    /* the columns of SQL_CONTROL_GET, each the member of the same name */
    static const struct query_member members[] = {
        { "command_id", 1 }, { "command", 0 }, { "status", 0 }, { "requested_at", 0 }, { "processed_at", 0 },
        { "result", 0 }, { "decision_id", 1 },
    };
    int col[QUERY_NMEMBERS(members)];
    char idv[24];
    *out = NULL;
    snprintf(idv, sizeof idv, "%lld", id);
    const char *vals[1] = { idv };
    PGresult *r = query_run(c, "control_get", SQL_CONTROL_GET, 1, vals);
    if (!r)
        return -1;
    int rc = query_member_cols(r, "control_get", members, QUERY_NMEMBERS(members), col);
    if (rc == 0 && PQntuples(r) == 1) {
        *out = query_members(r, 0, members, QUERY_NMEMBERS(members), col);
        if (!*out)
            rc = -1;
    }
    PQclear(r);
    return rc;
}

/* ---- replay runs (GET /replays) ------------------------------------------------- */

/* The columns of SQL_REPLAYS. */
enum query_replay_col {
    QUERY_R_ID = 0, QUERY_R_CREATED_AT, QUERY_R_FINISHED_AT, QUERY_R_LABEL, QUERY_R_SEED, QUERY_R_STATUS,
    QUERY_R_FROM, QUERY_R_TO, QUERY_R_FILES, QUERY_R_TIMINGS, QUERY_R_SCORECARD, QUERY_R_ERROR, QUERY_R_PARAMS,
    QUERY_R_HAS_SVG, QUERY_R_COUNT
};
static const char *const query_replay_cols[QUERY_R_COUNT] = {
    [QUERY_R_ID] = "id", [QUERY_R_CREATED_AT] = "created_at", [QUERY_R_FINISHED_AT] = "finished_at",
    [QUERY_R_LABEL] = "label", [QUERY_R_SEED] = "seed", [QUERY_R_STATUS] = "status", [QUERY_R_FROM] = "data_from",
    [QUERY_R_TO] = "data_to", [QUERY_R_FILES] = "files", [QUERY_R_TIMINGS] = "timings",
    [QUERY_R_SCORECARD] = "scorecard", [QUERY_R_ERROR] = "error", [QUERY_R_PARAMS] = "params",
    [QUERY_R_HAS_SVG] = "has_svg",
};

/* Row i of SQL_REPLAYS (col: its columns) as a /replays item (full: with
 * params and the whole scorecard), shaped by learning_run_json.  Returns
 * it (caller frees) or NULL. */
static json_object *query_replay_row(const PGresult *r, const int *col, int i, int full)
{
    const struct learning_run run = {
        .id = query_ll(r, i, col[QUERY_R_ID]),
        .seed = query_ll(r, i, col[QUERY_R_SEED]),
        .created_at = query_val(r, i, col[QUERY_R_CREATED_AT]),
        .finished_at = query_val(r, i, col[QUERY_R_FINISHED_AT]),
        .label = query_val(r, i, col[QUERY_R_LABEL]),
        .status = query_val(r, i, col[QUERY_R_STATUS]),
        .from = query_val(r, i, col[QUERY_R_FROM]),
        .to = query_val(r, i, col[QUERY_R_TO]),
        .error = query_val(r, i, col[QUERY_R_ERROR]),
        .files = query_val(r, i, col[QUERY_R_FILES]),
        .timings = query_val(r, i, col[QUERY_R_TIMINGS]),
        .scorecard = query_val(r, i, col[QUERY_R_SCORECARD]),
        .params = query_val(r, i, col[QUERY_R_PARAMS]),
        .has_svg = query_bool(r, i, col[QUERY_R_HAS_SVG]),
    };
    return learning_run_json(&run, full);
}

int query_replays(PGconn *c, int limit, json_object **out)
{
    char lim[16];
    snprintf(lim, sizeof lim, "%d", limit);
    const char *vals[3] = { NULL, lim, "false" };
    *out = NULL;
    int col[QUERY_R_COUNT];
    PGresult *r = query_run(c, "replays", SQL_REPLAYS, 3, vals);
    if (!r)
        return -1;
    if (query_cols(r, "replays", query_replay_cols, QUERY_R_COUNT, col) < 0) {
        PQclear(r);
        return -1;
    }
    json_object *root = json_object_new_object(), *list = json_object_new_array();
    if (!root || !list)
        goto fail;
    for (int i = 0; i < PQntuples(r); i++) {
        json_object *it = query_replay_row(r, col, i, 0);
        if (!it)
            goto fail;
        json_object_array_add(list, it);
    }
    json_object_object_add(root, "replays", list);
    json_object_object_add(root, "limit", json_object_new_int(limit));
    PQclear(r);
    *out = root;
    return 0;
fail:
    json_object_put(list);
    json_object_put(root);
    PQclear(r);
    log_event(LOG_ERROR, "api.oom", "s:what", "replays");
    return -1;
}

int query_replay(PGconn *c, long long id, json_object **out)
{
    char idt[24];
    snprintf(idt, sizeof idt, "%lld", id);
    const char *vals[3] = { idt, "1", "true" };
    *out = NULL;
    int col[QUERY_R_COUNT];
    PGresult *r = query_run(c, "replay_one", SQL_REPLAYS, 3, vals);
    if (!r)
        return -1;
    int rc = query_cols(r, "replay_one", query_replay_cols, QUERY_R_COUNT, col);
    if (rc == 0 && PQntuples(r) == 1) {
        *out = query_replay_row(r, col, 0, 1);
        if (!*out)
            rc = -1;
    }
    PQclear(r);
    return rc;
}

int query_replay_svg(PGconn *c, long long id, char **svg, size_t *len)
{
    char idt[24];
    snprintf(idt, sizeof idt, "%lld", id);
    const char *vals[1] = { idt };
    *svg = NULL;
    *len = 0;
    PGresult *r = query_run(c, "replay_svg", SQL_REPLAY_SVG, 1, vals);
    if (!r)
        return -1;
    int rc = 0;
    if (PQntuples(r) == 1 && !PQgetisnull(r, 0, 0)) {
        size_t n = (size_t)PQgetlength(r, 0, 0);
        if (n > LEARNING_SVG_MAX) {
            log_event(LOG_ERROR, "api.svg_too_large", "i:replay_id i:bytes", id, (long long)n);
            rc = -1;
        } else if ((*svg = malloc(n + 1)) != NULL) {
            memcpy(*svg, PQgetvalue(r, 0, 0), n + 1);
            *len = n;
        } else {
            rc = -1;
        }
    }
    PQclear(r);
    return rc;
}
