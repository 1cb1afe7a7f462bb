/* query_state: the read behind /status, /health and /metrics -- the
 * worker_state row, the newest decision, the catalog's workflows with
 * their state, the watch and the leader (the totals are in
 * query_totals.c); see query.h. */
#include "config.h"
#include "query.h"
#include "query_sql.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QUERY_STREAK_MAX 10000      /* fallback_streak is counted up to this */

const char QUERY_SQL_STATE_WORKER[] =
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
const char QUERY_SQL_STATE_LAST[] =
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

/* The watch: its figures now (worker_state.watch, written by the worker
 * every WATCH_SECONDS), the live scorecard of the last 30 days (watch_days,
 * through its day index) and the last 24 hours' decisions by why they were
 * made (decisions_live_time_wake, index only). */
const char QUERY_SQL_STATE_WATCH[] =
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

/* the workflows of the catalog in force, in its order, with their state */
const char QUERY_SQL_WF_STATES[] =
    "SELECT w.name, s.workflow IS NOT NULL AS present, coalesce(s.available, true) AS available, "
    "       " ISO("s.unavailable_since") " AS unavailable_since, s.unavailable_reason, "
    "       coalesce(s.circuit, 'closed') AS circuit, coalesce(s.consecutive_failures, 0) AS consecutive_failures, "
    "       " ISO("s.open_until") " AS open_until, coalesce(s.circuit_opens, 0) AS circuit_opens, "
    "       coalesce(s.concurrency, w.concurrency) AS concurrency, coalesce(s.running, 0) AS running, "
    "       s.n8n_id, s.n8n_name, s.n8n_active, " ISO("s.n8n_seen_at") " AS n8n_seen_at "
    "  FROM workflows w LEFT JOIN workflow_state s ON s.workflow = w.name "
    " WHERE w.present_in_catalog ORDER BY w.catalog_order, w.name LIMIT " QUERY_STR(CATALOG_MAX);

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

/* The columns of QUERY_SQL_STATE_WORKER. */
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
    PGresult *r = query_read(c, "state_worker", QUERY_SQL_STATE_WORKER, query_worker_cols, QUERY_W_COUNT, col);
    if (!r)
        return -1;
    st->heartbeat_age = NAN;
    st->next_in = NAN;
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

/* The columns of QUERY_SQL_STATE_LAST: from the id to llm_outcome the members
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
    PGresult *r = query_read(c, "state_last", QUERY_SQL_STATE_LAST, query_last_cols, QUERY_L_COUNT, col);
    if (!r)
        return -1;
    st->last_decision_epoch = NAN;
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

/* The columns of QUERY_SQL_WF_STATES. */
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
    PGresult *r = query_read(c, "wf_states", QUERY_SQL_WF_STATES, query_wf_cols, QUERY_F_COUNT, col);
    if (!r)
        return -1;
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

/* st->watch from QUERY_SQL_STATE_WATCH.  Returns 0 or -1. */
static int query_state_watch(PGconn *c, struct query_state *st)
{
    PGresult *r = query_run_prepared(c, "state_watch", QUERY_SQL_STATE_WATCH);
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
