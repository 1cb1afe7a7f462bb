/* query: the API's SQL -- running statements, reading columns by name,
 * the session, the cache fill's statement list, and the statements of
 * /workflows/available, POST /results, POST /claims and the control
 * commands; see query.h.  The state read is in query_state.c and
 * query_totals.c, the decision pages in query_decisions.c, the replay runs
 * in query_replays.c (query_sql.h joins them). */
#include "config.h"
#include "query.h"
#include "query_sql.h"
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

static const char SQL_SESSION_TIMEOUT[] =
    "SET statement_timeout = '5s'";

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

static const char SQL_RECORD_RESULT[] =
    "SELECT verdict, coalesce(result_id, 0) AS result_id, coalesce(trigger_outcome, '') AS trigger_outcome, "
    "       coalesce(mismatch, '') AS mismatch "
    "  FROM record_result($1::bigint, $2, $3::bigint, $4, $5, $6, $7::int, $8::int, $9, $10::jsonb)";

static const char SQL_CLAIM[] =
    "SELECT verdict, coalesce(trigger_id, 0) AS trigger_id, coalesce(decision_id, 0) AS decision_id, "
    "       coalesce(execution_id, '') AS execution_id, "
    "       coalesce(to_char(claimed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), '') AS claimed_at "
    "  FROM claim_trigger($1, $2, nullif($3, ''))";

static const char SQL_CONTROL_INSERT[] =
    "INSERT INTO control_commands (command, requested_by) VALUES ($1, $2) "
    "RETURNING id, " ISO("requested_at") " AS requested_at";

static const char SQL_CONTROL_GET[] =
    "SELECT id AS command_id, command, status, " ISO("requested_at") " AS requested_at, "
    "       " ISO("processed_at") " AS processed_at, result, decision_id, requested_by "
    "  FROM control_commands WHERE id = $1::bigint";

/* The newest control command the worker has carried out or taken up
 * (stop, start, a force once its decision is made): the point in the
 * worker's history an answer built afterwards reflects at least (see
 * api_fetch).  The primary key read backwards, past the few pending ones. */
static const char SQL_APPLIED[] =
    "SELECT coalesce(max(id), 0) AS applied FROM control_commands WHERE status <> 'pending'";

/* The statements of the cache fills, with sample parameters. */
static const char *const query_sample_page[] = { NULL, NULL, "51", "f" };

static const char *const query_sample_ids[] = { "{1,2,3,4,5,6,7,8,9,10}" };

static const struct query_stmt query_fill[] = {
    { "state_worker", QUERY_SQL_STATE_WORKER, 0, NULL },
    { "state_last", QUERY_SQL_STATE_LAST, 0, NULL },
    { "state_decisions", QUERY_SQL_STATE_DECISIONS, 0, NULL },
    { "state_decisions_24h", QUERY_SQL_STATE_DECISIONS_24H, 0, NULL },
    { "state_triggers", QUERY_SQL_STATE_TRIGGERS, 0, NULL },
    { "state_llm", QUERY_SQL_STATE_LLM, 0, NULL },
    { "state_llm_24h", QUERY_SQL_STATE_LLM_24H, 0, NULL },
    { "state_results", QUERY_SQL_STATE_RESULTS, 0, NULL },
    { "wf_states", QUERY_SQL_WF_STATES, 0, NULL },
    { "state_watch", QUERY_SQL_STATE_WATCH, 0, NULL },
    { "decisions", QUERY_SQL_DECISIONS, 4, query_sample_page },
    { "decision_triggers", QUERY_SQL_DECISION_TRIGGERS, 1, query_sample_ids },
    { "decision_llm_calls", QUERY_SQL_DECISION_LLM_CALLS, 1, query_sample_ids },
    { "workflows", SQL_WORKFLOWS, 0, NULL },
    { "applied", SQL_APPLIED, 0, NULL },
    { NULL, NULL, 0, NULL },
};

const struct query_stmt *query_fill_statements(void)
{
    return query_fill;
}

const int query_llm_bucket_ms[QUERY_LLM_BUCKETS] = { 100, 250, 500, 1000, 2500, 5000, 10000 };

const int query_exec_bucket_ms[QUERY_EXEC_BUCKETS] = { 100, 500, 1000, 2500, 5000, 10000, 30000, 60000, 120000 };

/* See query_sql.h. */
PGresult *query_run(PGconn *c, const char *name, const char *sql, int n, const char *const *vals)
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

/* See query_sql.h. */
PGresult *query_run_prepared(PGconn *c, const char *name, const char *sql)
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

/* See query_sql.h. */
PGresult *query_read(PGconn *c, const char *name, const char *sql, const char *const *names, int n, int *col)
{
    PGresult *r = query_run_prepared(c, name, sql);
    if (r && query_cols(r, name, names, n, col) < 0) {
        PQclear(r);
        return NULL;
    }
    return r;
}

/* See query_sql.h. */
int query_col(const PGresult *r, const char *stmt, const char *name)
{
    int col = name ? PQfnumber(r, name) : -1;
    if (col < 0)
        log_event(LOG_ERROR, "query.no_column", "s:statement s:column", stmt, name ? name : "(unnamed)");
    return col;
}

/* See query_sql.h. */
int query_cols(const PGresult *r, const char *stmt, const char *const *names, int n, int *col)
{
    for (int i = 0; i < n; i++)
        if ((col[i] = query_col(r, stmt, names[i])) < 0)
            return -1;
    return 0;
}

/* See query_sql.h. */
int query_member_cols(const PGresult *r, const char *stmt, const struct query_member *m, int n, int *col)
{
    if (n > QUERY_MEMBERS_MAX)
        return -1;
    for (int i = 0; i < n; i++)
        if ((col[i] = query_col(r, stmt, m[i].name)) < 0)
            return -1;
    return 0;
}

/* See query_sql.h. */
const char *query_val(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

/* See query_sql.h. */
long long query_ll(const PGresult *r, int row, int col)
{
    const char *s = query_val(r, row, col);
    if (!s)
        return 0;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    return errno || end == s ? 0 : v;
}

/* See query_sql.h. */
double query_dbl(const PGresult *r, int row, int col)
{
    const char *s = query_val(r, row, col);
    if (!s)
        return NAN;
    char *end;
    double d = strtod(s, &end);
    return end == s ? NAN : d;
}

/* See query_sql.h. */
int query_bool(const PGresult *r, int row, int col)
{
    const char *s = query_val(r, row, col);
    return s && s[0] == 't';
}

/* See query_sql.h. */
void query_copy(char *out, size_t cap, const PGresult *r, int row, int col)
{
    const char *s = query_val(r, row, col);
    snprintf(out, cap, "%s", s ? s : "");
}

/* See query_sql.h. */
json_object *query_jstr(const PGresult *r, int row, int col)
{
    const char *s = query_val(r, row, col);
    return s ? json_object_new_string_len(s, PQgetlength(r, row, col)) : NULL;
}

/* See query_sql.h. */
json_object *query_jint(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : json_object_new_int64(query_ll(r, row, col));
}

/* See query_sql.h. */
json_object *query_jbool(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : json_object_new_boolean(query_bool(r, row, col));
}

/* See query_sql.h. */
json_object *query_members(const PGresult *r, int i, const struct query_member *m, int n, const int *col)
{
    json_object *o = json_object_new_object();
    for (int k = 0; o && k < n; k++)
        json_object_object_add(o, m[k].name, m[k].integer ? query_jint(r, i, col[k]) : query_jstr(r, i, col[k]));
    return o;
}

/* See query_sql.h. */
json_object *query_jparse(const PGresult *r, int row, int col)
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

/* See query_sql.h. */
json_object *query_jobject(const PGresult *r, int row, int col)
{
    json_object *o = query_jparse(r, row, col);
    if (o && json_object_is_type(o, json_type_object))
        return o;
    json_object_put(o);
    return json_object_new_object();
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

int query_applied(PGconn *c, long long *applied)
{
    static const char *const names[] = { "applied" };
    int col;
    PGresult *r = query_read(c, "applied", SQL_APPLIED, names, 1, &col);
    if (!r)
        return -1;
    int rc = PQntuples(r) == 1 ? 0 : -1;
    if (rc == 0)
        *applied = query_ll(r, 0, col);
    PQclear(r);
    return rc;
}

int query_control_get(PGconn *c, long long id, json_object **out)
{
    /* the columns of SQL_CONTROL_GET, each the member of the same name */
    static const struct query_member members[] = {
        { "command_id", 1 }, { "command", 0 }, { "status", 0 }, { "requested_at", 0 }, { "processed_at", 0 },
        { "result", 0 }, { "decision_id", 1 },
        /* who asked: the client's address (POST /control/...), or "telegram:<chat id>" */
        { "requested_by", 0 },
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
