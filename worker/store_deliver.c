/* store_deliver: delivery and workflow state (store.h, sql/004_n8n.sql):
 * the workflows' breakers, availability and policies, a trigger's
 * attempts, skips, retries and replacements, and a decision's settlement. */
#include "config.h"
#include "store.h"
#include "store_sql.h"
#include "store_batch.h"
#include "status.h"
#include "catalog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char SQL_WF_LOAD[] =
    "SELECT workflow, available, circuit, consecutive_failures, "
    "       coalesce(extract(epoch FROM open_until)::bigint, 0) AS open_until, "
    "       coalesce(extract(epoch FROM circuit_opened_at)::bigint, 0) AS opened_at, circuit_opens, "
    "       coalesce(extract(epoch FROM unavailable_since)::bigint, 0) AS unavailable_since, "
    "       CASE WHEN n8n_id IS NULL THEN -1 WHEN n8n_active THEN 1 WHEN NOT n8n_active THEN 0 ELSE -1 END "
    "       AS n8n_active, "
    "       coalesce(extract(epoch FROM n8n_seen_at)::bigint, 0) AS n8n_seen_at "
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
    "SELECT id, coalesce(execution_id, '') AS execution_id, status FROM triggers "
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
    "SELECT id, coalesce(execution_id, '') AS execution_id FROM triggers "
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
/* A decision's settlement: its status and its triggers' (one row per
 * trigger; one row of NULLs when it has none), the decision locked; the
 * rule is decision_status_settle (status.h); the write keeps it only if the
 * decision may still be settled. */
const char STORE_SQL_SETTLE_READ[] =
    "SELECT d.status AS decision_status, t.status AS trigger_status, t.outcome, "
    "       coalesce(t.last_error_kind = 'circuit_open', false) AS circuit_open "
    "  FROM decisions d LEFT JOIN triggers t ON t.decision_id = d.id "
    " WHERE d.id = $1::bigint FOR UPDATE OF d";
const char STORE_SQL_SETTLE_WRITE[] =
    "UPDATE decisions SET status = $2, completed_at = coalesce(completed_at, now()) "
    " WHERE id = $1::bigint AND status IN ('acting','succeeded','partial','failed','no_action','interrupted')";
static const char SQL_DUE_RETRIES[] =
    "SELECT t.id, t.decision_id, t.workflow, t.idempotency_key, t.payload::text, t.attempts, "
    "       t.result_at IS NOT NULL AS has_result, " STORE_LEARN_COLS
    "  FROM triggers t JOIN decisions d ON d.id = t.decision_id "
    " WHERE t.status = 'retrying' AND t.next_attempt_at <= to_timestamp($1::bigint) "
    " ORDER BY t.next_attempt_at, t.id LIMIT $2::int";
static const char SQL_NEXT_RETRY[] =
    "SELECT coalesce(ceil(extract(epoch FROM min(next_attempt_at)))::bigint, 0) AS next_at "
    "  FROM triggers WHERE status = 'retrying'";
static const char SQL_RETRY_SENDING[] =
    "UPDATE triggers SET status = 'sending', attempts = attempts + 1, next_attempt_at = NULL "
    " WHERE id = $1 AND status = 'retrying'";
static const char SQL_DELIVERED_BY_RESULT[] =
    "UPDATE triggers SET status = 'sent', next_attempt_at = NULL, finished_at = now(), "
    "       error = left(coalesce(error || '; ', '') || 'not retried: its result arrived', 1000) "
    " WHERE id = $1 AND status = 'retrying'";

int store_wf_load(PGconn *c, struct store_wf_state *out)
{
    memset(out, 0, sizeof *out * CATALOG_SLOTS);
    PGresult *r = store_run(c, "wf_load", SQL_WF_LOAD, 0, NULL);
    if (!r)
        return -1;
    static const char *const names[] = { "workflow", "available", "circuit", "consecutive_failures",
                                          "open_until", "opened_at", "circuit_opens", "unavailable_since",
                                          "n8n_active", "n8n_seen_at" };
    int col[10];
    store_cols(r, names, 10, col);
    for (int i = 0; i < PQntuples(r); i++) {
        int w = catalog_workflow_parse(store_text(r, i, col[0]));
        if (w < 0)
            continue;
        struct store_wf_state *s = &out[w];
        s->present = 1;
        s->available = strcmp(store_text(r, i, col[1]), "t") == 0;
        snprintf(s->circuit, sizeof s->circuit, "%s", store_text(r, i, col[2]));
        s->failures = (long)store_int(r, i, col[3]);
        s->open_until = (time_t)store_int(r, i, col[4]);
        s->opened_at = (time_t)store_int(r, i, col[5]);
        s->opens = (long)store_int(r, i, col[6]);
        s->unavailable_since = (time_t)store_int(r, i, col[7]);
        s->n8n_active = (int)store_int(r, i, col[8]);
        s->n8n_seen_at = (time_t)store_int(r, i, col[9]);
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
        *id = store_int(r, 0, store_col(r, "id"));
        if (cap)
            snprintf(execution_id, cap, "%s", store_text(r, 0, store_col(r, "execution_id")));
        snprintf(status, 16, "%s", store_text(r, 0, store_col(r, "status")));
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
    int n = 0, cid = store_col(r, "id"), cx = store_col(r, "execution_id");
    for (int i = 0; i < PQntuples(r) && n < max; i++) {
        out[n].id = store_int(r, i, cid);
        snprintf(out[n].execution_id, sizeof out[n].execution_id, "%s", store_text(r, i, cx));
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

int store_settle_rows(PGresult *r)
{
    int n = PQntuples(r), cd = store_col(r, "decision_status"), cs = store_col(r, "trigger_status"),
        co = store_col(r, "outcome"), cc = store_col(r, "circuit_open");
    if (n < 1 || cd < 0 || cs < 0 || co < 0 || cc < 0 ||
        !decision_status_settleable(decision_status_parse(PQgetvalue(r, 0, cd))))
        return -1;
    struct trigger_state *t = calloc((size_t)n, sizeof *t);
    if (!t)
        return -1;
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (PQgetisnull(r, i, cs))        /* the decision without triggers */
            continue;
        t[k].status = trigger_status_parse(PQgetvalue(r, i, cs));
        t[k].outcome = PQgetisnull(r, i, co) ? -1 : trigger_outcome_parse(PQgetvalue(r, i, co));
        t[k].circuit_open = strcmp(PQgetvalue(r, i, cc), "t") == 0;
        k++;
    }
    int s = decision_status_settle(t, k);
    free(t);
    return s == DECISION_ACTING ? -1 : s;
}

int store_decision_settle_expect(PGconn *c, long long decision_id, const char *expect, char *status, size_t cap)
{
    char id[24];
    snprintf(id, sizeof id, "%lld", decision_id);
    const char *v[] = { id };
    if (cap)
        status[0] = '\0';
    struct store_batch *b = store_batch_of(c);
    int queued = b ? store_batch_settle(b, v, decision_id, expect, status, cap) : -2;
    if (queued != -2)
        return queued;
    /* read, apply the rule, write: in one transaction */
    int nested;
    if (store_begin(c, &nested) < 0)
        return -1;
    PGresult *r = store_run(c, "decision_settle", STORE_SQL_SETTLE_READ, 1, v);
    if (!r) {
        store_rollback(c, nested);
        return -1;
    }
    int s = store_settle_rows(r);
    PQclear(r);
    const char *name = decision_status_name(s);
    const char *wv[] = { id, name };
    if (s >= 0 && store_cmd(c, "decision_settle_write", STORE_SQL_SETTLE_WRITE, 2, wv) < 0) {
        store_rollback(c, nested);
        return -1;
    }
    if (store_commit(c, nested) < 0)
        return -1;
    if (s < 0)
        return 0;
    if (cap)
        snprintf(status, cap, "%s", name);
    store_note_status(c, decision_id, name);
    return 1;
}

void store_learn_find(const PGresult *r, struct store_learn_at *at)
{
    at->intensity = store_col(r, "learn_intensity");
    at->band = store_col(r, "learn_band");
    at->exposure = store_col(r, "learn_exposure");
    at->session = store_col(r, "learn_session");
}

void store_learn_row(const PGresult *r, int i, const struct store_learn_at *at, struct store_learn_ctx *ctx)
{
    ctx->intensity = catalog_intensity_parse(store_text(r, i, at->intensity));
    snprintf(ctx->band, sizeof ctx->band, "%s", store_text(r, i, at->band));
    ctx->exposure = store_null(r, i, at->exposure) ? 0 : strtod(PQgetvalue(r, i, at->exposure), NULL);
    snprintf(ctx->session, sizeof ctx->session, "%s", store_text(r, i, at->session));
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
    static const char *const names[] = { "id", "decision_id", "workflow", "idempotency_key", "payload",
                                          "attempts", "has_result" };
    int col[7];
    struct store_learn_at learn;
    store_cols(r, names, 7, col);
    store_learn_find(r, &learn);
    int n = 0;
    for (int i = 0; i < PQntuples(r) && n < max; i++) {
        struct store_retry *t = &out[n];
        memset(t, 0, sizeof *t);
        t->wf = catalog_slot(store_text(r, i, col[2]));
        if (t->wf < 0)
            continue;
        t->id = store_int(r, i, col[0]);
        t->decision_id = store_int(r, i, col[1]);
        snprintf(t->key, sizeof t->key, "%s", store_text(r, i, col[3]));
        t->payload = strdup(store_text(r, i, col[4]));
        if (!t->payload) {
            store_retries_clear(out, n);
            PQclear(r);
            return -1;
        }
        t->attempts = (int)store_int(r, i, col[5]);
        t->has_result = strcmp(store_text(r, i, col[6]), "t") == 0;
        store_learn_row(r, i, &learn, &t->ctx);
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
    *at = (time_t)store_int(r, 0, store_col(r, "next_at"));
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
