/* query: the API's SQL; see query.h. */
#include "config.h"
#include "query.h"
#include "db.h"
#include "log.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A timestamptz column as "2026-11-23T21:50:00.123Z" (NULL stays NULL). */
#define ISO(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

static const char SQL_SESSION_TIMEOUT[] =
    "SET statement_timeout = '5s'";
static const char SQL_STATE_WORKER[] =
    "SELECT running, dry_run, pid, hostname, version, "
    "       " ISO("started_at") ", " ISO("heartbeat_at") ", "
    "       extract(epoch FROM clock_timestamp() - heartbeat_at), "
    "       " ISO("next_decision_at") ", "
    "       extract(epoch FROM next_decision_at - clock_timestamp()), "
    "       system_load, market_volatility, sources::text "
    "  FROM worker_state WHERE id = 1";
static const char SQL_STATE_LAST[] =
    "SELECT id, " ISO("decided_at") ", mode, intensity, source, reason, status, session, "
    "       " ISO("next_decision_at") ", "
    "       extract(epoch FROM next_decision_at - clock_timestamp()) "
    "  FROM decisions ORDER BY id DESC LIMIT 1";
static const char SQL_STATE_COUNTS[] =
    "SELECT mode, source, count(*), "
    "       count(*) FILTER (WHERE decided_at > now() - interval '24 hours'), "
    "       count(*) FILTER (WHERE prev_mode IS NOT NULL AND prev_mode <> mode), "
    "       count(*) FILTER (WHERE status = 'succeeded'), "
    "       count(*) FILTER (WHERE status = 'partial'), "
    "       count(*) FILTER (WHERE status = 'failed') "
    "  FROM decisions GROUP BY mode, source";
static const char SQL_STATE_TRIGGERS[] =
    "SELECT workflow, status, count(*) FROM triggers "
    " GROUP BY workflow, status ORDER BY workflow, status LIMIT 128";
static const char SQL_DECISIONS[] =
    "SELECT id, cycle_id, " ISO("decided_at") ", mode, intensity, source, reason, session, "
    "       array_to_json(sessions)::text, status, dry_run, next_seconds, "
    "       " ISO("next_decision_at") ", " ISO("completed_at") ", inputs::text "
    "  FROM decisions "
    " WHERE ($1::bigint IS NULL OR id < $1::bigint) AND ($2::text IS NULL OR mode = $2::text) "
    " ORDER BY id DESC LIMIT $3::int";
static const char SQL_DECISION_TRIGGERS[] =
    "SELECT decision_id, id, workflow, status, http_status, attempts, latency_ms, error, "
    "       " ISO("started_at") ", " ISO("finished_at") " "
    "  FROM triggers WHERE decision_id = ANY($1::bigint[]) "
    " ORDER BY decision_id DESC, id";
static const char SQL_WORKFLOWS[] =
    "SELECT w.name, l.id, l.decision_id, l.status, l.http_status, " ISO("l.at") ", "
    "       coalesce(c.runs, 0), coalesce(c.sent, 0), "
    "       (SELECT dry_run FROM worker_state WHERE id = 1) "
    "  FROM unnest($1::text[]) WITH ORDINALITY AS w(name, ord) "
    "  LEFT JOIN LATERAL (SELECT t.id, t.decision_id, t.status, t.http_status, "
    "                            coalesce(t.finished_at, t.started_at, t.created_at) AS at "
    "                       FROM triggers t WHERE t.workflow = w.name "
    "                      ORDER BY t.id DESC LIMIT 1) l ON true "
    "  LEFT JOIN (SELECT workflow, count(*) AS runs, count(*) FILTER (WHERE status = 'sent') AS sent "
    "               FROM triggers WHERE created_at > now() - interval '24 hours' "
    "              GROUP BY workflow) c ON c.workflow = w.name "
    " ORDER BY w.ord";
static const char SQL_CONTROL_INSERT[] =
    "INSERT INTO control_commands (command, requested_by) VALUES ($1, $2) "
    "RETURNING id, " ISO("requested_at");

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

int query_session_setup(PGconn *c)
{
    if (db_exec(c, SQL_SESSION_TIMEOUT) < 0)
        return -1;
    return db_listen(c, "orch_state");
}

void query_state_clear(struct query_state *st)
{
    json_object_put(st->sources);
    json_object_put(st->last_decision);
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

/* The worker_state row.  Returns 0 or -1. */
static int query_state_worker(PGconn *c, struct query_state *st)
{
    PGresult *r = query_run(c, "state_worker", SQL_STATE_WORKER, 0, NULL);
    if (!r)
        return -1;
    st->heartbeat_age = NAN;
    st->next_in = NAN;
    if (PQntuples(r) == 1) {
        st->running = query_bool(r, 0, 0);
        st->dry_run = query_bool(r, 0, 1);
        st->pid = query_ll(r, 0, 2);
        query_copy(st->hostname, sizeof st->hostname, r, 0, 3);
        query_copy(st->version, sizeof st->version, r, 0, 4);
        query_copy(st->started_at, sizeof st->started_at, r, 0, 5);
        query_copy(st->heartbeat_at, sizeof st->heartbeat_at, r, 0, 6);
        st->heartbeat_age = query_dbl(r, 0, 7);
        query_copy(st->next_decision_at, sizeof st->next_decision_at, r, 0, 8);
        st->next_in = query_dbl(r, 0, 9);
        query_copy(st->system_load, sizeof st->system_load, r, 0, 10);
        query_copy(st->market_volatility, sizeof st->market_volatility, r, 0, 11);
        st->sources = query_jparse(r, 0, 12);
    }
    PQclear(r);
    if (!st->sources || !json_object_is_type(st->sources, json_type_object)) {
        json_object_put(st->sources);
        st->sources = json_object_new_object();
        if (!st->sources)
            return -1;
    }
    query_sources_flatten(st);
    return 0;
}

/* The newest decision.  Returns 0 or -1. */
static int query_state_last(PGconn *c, struct query_state *st)
{
    static const char *const keys[] = { "id", "decided_at", "mode", "intensity", "source",
                                        "reason", "status", "session", "next_decision_at" };
    PGresult *r = query_run(c, "state_last", SQL_STATE_LAST, 0, NULL);
    if (!r)
        return -1;
    if (PQntuples(r) == 1) {
        json_object *o = json_object_new_object();
        if (!o) {
            PQclear(r);
            return -1;
        }
        json_object_object_add(o, keys[0], query_jint(r, 0, 0));
        for (int i = 1; i < 9; i++)
            json_object_object_add(o, keys[i], query_jstr(r, 0, i));
        st->last_decision = o;
        if (!st->next_decision_at[0]) {
            query_copy(st->next_decision_at, sizeof st->next_decision_at, r, 0, 8);
            st->next_in = query_dbl(r, 0, 9);
        }
    }
    PQclear(r);
    return 0;
}

/* Decision counts.  Returns 0 or -1. */
static int query_state_counts(PGconn *c, struct query_state *st)
{
    PGresult *r = query_run(c, "state_counts", SQL_STATE_COUNTS, 0, NULL);
    if (!r)
        return -1;
    for (int i = 0; i < PQntuples(r); i++) {
        int m = catalog_mode_parse(PQgetvalue(r, i, 0));
        const char *src = PQgetvalue(r, i, 1);
        long long n = query_ll(r, i, 2), ok = query_ll(r, i, 5);
        long long partial = query_ll(r, i, 6), failed = query_ll(r, i, 7);
        st->decisions += n;
        st->decisions_24h += query_ll(r, i, 3);
        st->mode_switches += query_ll(r, i, 4);
        st->succeeded += ok;
        st->partial += partial;
        st->failed += failed;
        for (int s = 0; s < SOURCE_COUNT; s++)
            if (strcmp(src, catalog_source_name(s)) == 0)
                st->by_source[s] += n;
        if (m >= 0) {
            st->mode_acted[m] += ok + partial + failed;
            st->mode_succeeded[m] += ok;
        }
    }
    PQclear(r);
    return 0;
}

/* Trigger counts per workflow and status.  Returns 0 or -1. */
static int query_state_triggers(PGconn *c, struct query_state *st)
{
    PGresult *r = query_run(c, "state_triggers", SQL_STATE_TRIGGERS, 0, NULL);
    if (!r)
        return -1;
    for (int i = 0; i < PQntuples(r) && st->ntrig < QUERY_MAX_TRIGGER_GROUPS; i++) {
        struct query_trigger_group *g = &st->trig[st->ntrig++];
        query_copy(g->workflow, sizeof g->workflow, r, i, 0);
        query_copy(g->status, sizeof g->status, r, i, 1);
        g->n = query_ll(r, i, 2);
    }
    PQclear(r);
    return 0;
}

int query_state(PGconn *c, struct query_state *st)
{
    memset(st, 0, sizeof *st);
    if (query_state_worker(c, st) < 0 || query_state_last(c, st) < 0 ||
        query_state_counts(c, st) < 0 || query_state_triggers(c, st) < 0) {
        query_state_clear(st);
        return -1;
    }
    return 0;
}

/* One row of SQL_DECISIONS as the API's decision object, with an empty
 * "triggers" array.  Returns it (caller frees) or NULL. */
static json_object *query_decision_row(const PGresult *r, int i)
{
    json_object *o = json_object_new_object();
    json_object *trig = json_object_new_array();
    if (!o || !trig) {
        json_object_put(o);
        json_object_put(trig);
        return NULL;
    }
    json_object_object_add(o, "id", query_jint(r, i, 0));
    json_object_object_add(o, "cycle_id", query_jstr(r, i, 1));
    json_object_object_add(o, "decided_at", query_jstr(r, i, 2));
    json_object_object_add(o, "mode", query_jstr(r, i, 3));
    json_object_object_add(o, "intensity", query_jstr(r, i, 4));
    json_object_object_add(o, "source", query_jstr(r, i, 5));
    json_object_object_add(o, "reason", query_jstr(r, i, 6));
    json_object_object_add(o, "session", query_jstr(r, i, 7));
    json_object *ses = query_jparse(r, i, 8);
    json_object_object_add(o, "sessions", ses ? ses : json_object_new_array());
    json_object_object_add(o, "status", query_jstr(r, i, 9));
    json_object_object_add(o, "dry_run", query_jbool(r, i, 10));
    json_object_object_add(o, "next_seconds", query_jint(r, i, 11));
    json_object_object_add(o, "next_decision_at", query_jstr(r, i, 12));
    json_object_object_add(o, "completed_at", query_jstr(r, i, 13));
    json_object_object_add(o, "inputs", query_jparse(r, i, 14));
    json_object_object_add(o, "triggers", trig);
    return o;
}

/* One row of SQL_DECISION_TRIGGERS as a trigger object.  Returns it
 * (caller frees) or NULL. */
static json_object *query_trigger_row(const PGresult *r, int i)
{
    json_object *o = json_object_new_object();
    if (!o)
        return NULL;
    json_object_object_add(o, "id", query_jint(r, i, 1));
    json_object_object_add(o, "workflow", query_jstr(r, i, 2));
    json_object_object_add(o, "status", query_jstr(r, i, 3));
    json_object_object_add(o, "http_status", query_jint(r, i, 4));
    json_object_object_add(o, "attempts", query_jint(r, i, 5));
    json_object_object_add(o, "latency_ms", query_jint(r, i, 6));
    json_object_object_add(o, "error", query_jstr(r, i, 7));
    json_object_object_add(o, "started_at", query_jstr(r, i, 8));
    json_object_object_add(o, "finished_at", query_jstr(r, i, 9));
    return o;
}

int query_decisions(PGconn *c, const struct params_decisions *p, json_object **list, long long *next_before)
{
    char before[24], limit[16];
    /* room for PARAMS_LIMIT_MAX ids of up to 19 digits, commas and braces */
    char ids[PARAMS_LIMIT_MAX * 20 + 4];
    PGresult *r = NULL, *t = NULL;
    json_object *arr = NULL;
    int rc = -1;

    *list = NULL;
    *next_before = 0;
    if (p->limit < 1 || p->limit > PARAMS_LIMIT_MAX)
        return -1;
    snprintf(before, sizeof before, "%lld", p->before);
    snprintf(limit, sizeof limit, "%d", p->limit + 1);    /* one more: is there a next page? */
    const char *vals[3] = { p->before > 0 ? before : NULL,
                            p->mode >= 0 ? catalog_mode_name(p->mode) : NULL, limit };
    r = query_run(c, "decisions", SQL_DECISIONS, 3, vals);
    if (!r)
        goto done;
    int n = PQntuples(r);
    if (n > p->limit) {
        n = p->limit;
        *next_before = query_ll(r, n - 1, 0);
    }
    arr = json_object_new_array_ext(n);
    if (!arr)
        goto done;
    size_t len = 0;
    ids[len++] = '{';
    for (int i = 0; i < n; i++) {
        json_object *o = query_decision_row(r, i);
        if (!o || json_object_array_add(arr, o) < 0) {
            json_object_put(o);
            goto done;
        }
        int w = snprintf(ids + len, sizeof ids - len, "%s%lld", i ? "," : "", query_ll(r, i, 0));
        if (w < 0 || (size_t)w >= sizeof ids - len)
            goto done;
        len += (size_t)w;
    }
    ids[len++] = '}';
    ids[len] = '\0';
    if (n > 0) {
        const char *tv[1] = { ids };
        t = query_run(c, "decision_triggers", SQL_DECISION_TRIGGERS, 1, tv);
        if (!t)
            goto done;
        /* both are ordered by decision id descending: walk them together */
        int d = 0;
        for (int i = 0; i < PQntuples(t); i++) {
            long long did = query_ll(t, i, 0);
            while (d < n && query_ll(r, d, 0) > did)
                d++;
            if (d >= n)
                break;
            if (query_ll(r, d, 0) != did)
                continue;
            json_object *trig = NULL;
            json_object_object_get_ex(json_object_array_get_idx(arr, (size_t)d), "triggers", &trig);
            json_object *o = query_trigger_row(t, i);
            if (!o || !trig || json_object_array_add(trig, o) < 0) {
                json_object_put(o);
                goto done;
            }
        }
    }
    *list = arr;
    arr = NULL;
    rc = 0;
done:
    PQclear(r);
    PQclear(t);
    json_object_put(arr);
    if (rc < 0)
        *next_before = 0;
    return rc;
}

int query_workflows(PGconn *c, struct query_workflow out[WF_COUNT], int *dry_run)
{
    char names[WF_COUNT * 48 + 4];
    size_t len = 0;

    names[len++] = '{';
    for (int w = 0; w < WF_COUNT; w++) {
        int k = snprintf(names + len, sizeof names - len, "%s%s", w ? "," : "", catalog_workflow(w)->path);
        if (k < 0 || (size_t)k >= sizeof names - len)
            return -1;
        len += (size_t)k;
    }
    names[len++] = '}';
    names[len] = '\0';

    const char *vals[1] = { names };
    PGresult *r = query_run(c, "workflows", SQL_WORKFLOWS, 1, vals);
    if (!r)
        return -1;
    memset(out, 0, sizeof *out * WF_COUNT);
    *dry_run = 0;
    for (int i = 0; i < PQntuples(r); i++) {
        int w = catalog_workflow_parse(PQgetvalue(r, i, 0));
        if (w < 0)
            continue;
        struct query_workflow *q = &out[w];
        q->last_trigger_id = query_ll(r, i, 1);
        q->last_decision_id = query_ll(r, i, 2);
        query_copy(q->last_status, sizeof q->last_status, r, i, 3);
        q->last_http_status = (long)query_ll(r, i, 4);
        query_copy(q->last_at, sizeof q->last_at, r, i, 5);
        q->runs_24h = query_ll(r, i, 6);
        q->succeeded_24h = query_ll(r, i, 7);
        *dry_run = query_bool(r, i, 8);
    }
    PQclear(r);
    return 0;
}

int query_control_insert(PGconn *c, const char *command, const char *requested_by,
                         long long *id, char requested_at[QUERY_TS_MAX])
{
    const char *vals[2] = { command, requested_by };
    PGresult *r = query_run(c, "control_insert", SQL_CONTROL_INSERT, 2, vals);
    if (!r)
        return -1;
    int rc = -1;
    if (PQntuples(r) == 1) {
        *id = query_ll(r, 0, 0);
        query_copy(requested_at, QUERY_TS_MAX, r, 0, 1);
        rc = 0;
    }
    PQclear(r);
    return rc;
}
