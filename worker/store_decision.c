/* store_decision: a decision's write (store.h): its row bound column by
 * column from a named table, its triggers, probes, LLM calls, learning
 * state and worker_state, in one transaction. */
#include "config.h"
#include "store.h"
#include "store_sql.h"
#include "store_batch.h"
#include "fault.h"
#include "log.h"
#include "status.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char SQL_DECISION_IDS[] =
    "SELECT nextval('decisions_id_seq') AS id, "
    "       array_to_string(array(SELECT nextval('triggers_id_seq') FROM generate_series(1, $1::int)), ',') "
    "       AS trigger_ids";
static const char SQL_INSERT_TRIGGER[] =
    "INSERT INTO triggers (id, decision_id, workflow, idempotency_key, payload, status, finished_at) "
    "VALUES ($1, $2, $3, $4, $5::jsonb, $6, CASE WHEN $6 = 'dry_run' THEN now() END)";
static const char SQL_INSERT_PROBE[] =
    "INSERT INTO probes (cycle_id, source, probed_at, ok, latency_ms, http_status, error) "
    "VALUES ($1, $2, to_timestamp($3), $4, $5, nullif($6, 0), nullif($7, ''))";
static const char SQL_INSERT_LLM_CALL[] =
    "INSERT INTO llm_calls (decision_id, provider, model, http_status, outcome, latency_ms, "
    "                       prompt_tokens, completion_tokens, error) "
    "VALUES ($1, $2, $3, nullif($4::int, 0), $5, $6, $7, $8, nullif($9, ''))";
static const char SQL_UPDATE_LLM_STATE[] =
    "UPDATE worker_state SET llm = $1::jsonb WHERE id = 1";
static const char SQL_UPDATE_STATE[] =
    "UPDATE worker_state SET current_mode = $1, last_decision_id = $2, next_decision_at = to_timestamp($3), "
    "       system_load = $4, market_volatility = $5, sources = $6::jsonb, dry_run = $7, "
    "       heartbeat_at = now() "
    " WHERE id = 1";
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
static const char SQL_TRIGGER_OUTCOME[] =
    "UPDATE triggers SET opportunities = $2::int, outcome_at = to_timestamp($3) WHERE idempotency_key = $1";

/* How a record's field becomes its column's text parameter. */
enum store_kind {
    STORE_K_TEXT,              /* const char *, NULL: null */
    STORE_K_LL,                /* long long */
    STORE_K_LL0,               /* long long, 0: null */
    STORE_K_TIME,              /* time_t (epoch seconds) */
    STORE_K_TIME0,             /* time_t, 0: null */
    STORE_K_LONG,              /* long */
    STORE_K_LONGN,             /* long, negative: null */
    STORE_K_BOOL,              /* int: "t" / "f" */
    STORE_K_TRI,               /* int: 1 "t", 0 "f", negative null */
    STORE_K_SESSIONS           /* the sessions[] names as a text[] literal */
};

/* The columns of a decisions row: each column's name, the SQL of its value
 * (with its own parameter, $1 for the first, $2 for the next...), its kind
 * and the record field it comes from.  One list gives both the INSERT
 * statement (a literal, put together by the preprocessor) and the table
 * that binds the record's fields to its parameters; a test checks that the
 * n-th value names $n (store_decision_cols_ok).  A new column is one line
 * here and one field in struct store_decision_rec. */
#define STORE_DECISION_FIRST(X) \
    X("id", "$1::bigint", STORE_K_LL, id)
#define STORE_DECISION_REST(X) \
    X("cycle_id", "$2", STORE_K_TEXT, cycle_id) \
    X("decided_at", "to_timestamp($3::bigint)", STORE_K_TIME, decided_at) \
    X("mode", "$4", STORE_K_TEXT, mode) \
    X("intensity", "$5", STORE_K_TEXT, intensity) \
    X("source", "$6", STORE_K_TEXT, source) \
    X("reason", "$7", STORE_K_TEXT, reason) \
    X("inputs", "$8::jsonb", STORE_K_TEXT, inputs) \
    X("menu", "$9::jsonb", STORE_K_TEXT, menu) \
    X("sessions", "$10::text[]", STORE_K_SESSIONS, sessions) \
    X("session", "$11", STORE_K_TEXT, session) \
    X("prev_mode", "nullif($12, '')", STORE_K_TEXT, prev_mode) \
    X("next_seconds", "$13::int", STORE_K_LONG, next_seconds) \
    X("next_decision_at", "to_timestamp($14::bigint)", STORE_K_TIME, next_decision_at) \
    X("dry_run", "$15::boolean", STORE_K_BOOL, dry_run) \
    X("status", "$16", STORE_K_TEXT, status) \
    X("completed_at", "to_timestamp($17::bigint)", STORE_K_TIME0, completed_at) \
    X("llm_outcome", "$18", STORE_K_TEXT, llm_outcome) \
    X("llm_detail", "$19", STORE_K_TEXT, llm_detail) \
    X("llm_provider", "$20", STORE_K_TEXT, llm_provider) \
    X("llm_model", "$21", STORE_K_TEXT, llm_model) \
    X("llm_raw", "$22", STORE_K_TEXT, llm_raw) \
    X("llm_prompt_tokens", "$23::int", STORE_K_LONGN, llm_prompt_tokens) \
    X("llm_completion_tokens", "$24::int", STORE_K_LONGN, llm_completion_tokens) \
    X("llm_latency_ms", "$25::int", STORE_K_LONGN, llm_latency_ms) \
    X("prompt_version", "$26", STORE_K_TEXT, prompt_version) \
    X("prompt_hash", "$27", STORE_K_TEXT, prompt_hash) \
    X("shadow", "$28::jsonb", STORE_K_TEXT, shadow) \
    X("agreement", "$29::boolean", STORE_K_TRI, agreement) \
    X("run_id", "$30::bigint", STORE_K_LL0, run_id) \
    X("wake", "$31", STORE_K_TEXT, wake) \
    X("wake_detail", "$32::jsonb", STORE_K_TEXT, wake_detail)
#define STORE_NAME0_(name, value, kind, field) name
#define STORE_VALUE0_(name, value, kind, field) value
#define STORE_NAME_(name, value, kind, field) ", " name
#define STORE_VALUE_(name, value, kind, field) ", " value
#define STORE_ENTRY_(name, value, kind, field) { name, value, kind, offsetof(struct store_decision_rec, field) },

/* a fixed address: the replay's batched writer prepares statements by address */
static const char SQL_INSERT_DECISION[] =
    "INSERT INTO decisions (" STORE_DECISION_FIRST(STORE_NAME0_) STORE_DECISION_REST(STORE_NAME_) ") "
    "VALUES (" STORE_DECISION_FIRST(STORE_VALUE0_) STORE_DECISION_REST(STORE_VALUE_) ")";

static const struct store_col {
    const char *name;
    const char *value;
    enum store_kind kind;
    size_t off;
} store_decision_cols[] = { STORE_DECISION_FIRST(STORE_ENTRY_) STORE_DECISION_REST(STORE_ENTRY_) };
#define STORE_NCOLS ((int)(sizeof store_decision_cols / sizeof store_decision_cols[0]))

int store_decision_cols_ok(char *why, size_t cap)
{
    for (int i = 0; i < STORE_NCOLS; i++) {
        char want[16];
        snprintf(want, sizeof want, "$%d", i + 1);
        const char *v = store_decision_cols[i].value, *at = strstr(v, want);
        /* "$1" must not be the start of "$12" */
        if (!at || (at[strlen(want)] >= '0' && at[strlen(want)] <= '9') || strchr(at + 1, '$')) {
            snprintf(why, cap, "column %d (%s): its value \"%s\" does not name %s alone", i + 1,
                     store_decision_cols[i].name, v, want);
            return 0;
        }
        if (!strstr(SQL_INSERT_DECISION, store_decision_cols[i].name)) {
            snprintf(why, cap, "column %s is not in the statement", store_decision_cols[i].name);
            return 0;
        }
    }
    if (cap)
        why[0] = '\0';
    return 1;
}

/* The Postgres array literal of names[0..n): {london,newyork}. */
static void store_text_array(const char *const *names, int n, char *out, size_t cap)
{
    size_t k = (size_t)snprintf(out, cap, "{");
    for (int i = 0; i < n && k < cap; i++)
        k += (size_t)snprintf(out + k, cap - k, "%s%s", i ? "," : "", names[i]);
    if (k < cap)
        snprintf(out + k, cap - k, "}");
}

/* Column k of rec as text into buf (cap bytes); returns the parameter
 * (buf, a field's own text, or NULL for SQL NULL). */
static const char *store_col_value(const struct store_decision_rec *rec, const struct store_col *k, char *buf,
                                   size_t cap)
{
    const char *p = (const char *)rec + k->off;
    long long ll;
    long l;
    int i;
    switch (k->kind) {
    case STORE_K_TEXT:
        return *(const char *const *)(const void *)p;
    case STORE_K_LL:
    case STORE_K_LL0:
        memcpy(&ll, p, sizeof ll);
        if (k->kind == STORE_K_LL0 && ll == 0)
            return NULL;
        snprintf(buf, cap, "%lld", ll);
        return buf;
    case STORE_K_TIME:
    case STORE_K_TIME0: {
        time_t t;
        memcpy(&t, p, sizeof t);
        if (k->kind == STORE_K_TIME0 && t == 0)
            return NULL;
        snprintf(buf, cap, "%lld", (long long)t);
        return buf;
    }
    case STORE_K_LONG:
    case STORE_K_LONGN:
        memcpy(&l, p, sizeof l);
        if (k->kind == STORE_K_LONGN && l < 0)
            return NULL;
        snprintf(buf, cap, "%ld", l);
        return buf;
    case STORE_K_BOOL:
    case STORE_K_TRI:
        memcpy(&i, p, sizeof i);
        return k->kind == STORE_K_TRI && i < 0 ? NULL : i ? "t" : "f";
    case STORE_K_SESSIONS:
        store_text_array(rec->sessions, rec->nsessions, buf, cap);
        return buf;
    }
    return NULL;
}

int store_decision_ids(PGconn *c, long long run_id, int ntriggers, long long *id, long long *tids)
{
    *id = 0;
    if (ntriggers < 0 || ntriggers > STORE_MAX_TRIGGERS)
        return -1;
    struct store_batch *b = run_id ? store_batch_of(c) : NULL;
    if (b) {
        if ((*id = store_batch_next_id(b, 0)) <= 0)
            return -1;
        for (int i = 0; i < ntriggers; i++)
            if ((tids[i] = store_batch_next_id(b, 1)) <= 0)
                return -1;
        return 0;
    }
    char n[16];
    snprintf(n, sizeof n, "%d", ntriggers);
    const char *v[] = { n };
    PGresult *r = store_run(c, "decision_ids", SQL_DECISION_IDS, 1, v);
    if (!r)
        return -1;
    int ok = PQntuples(r) == 1;
    if (ok) {
        *id = store_int(r, 0, store_col(r, "id"));
        const char *s = store_text(r, 0, store_col(r, "trigger_ids"));
        for (int i = 0; i < ntriggers && ok; i++) {
            char *end;
            tids[i] = strtoll(s, &end, 10);
            ok = end != s && tids[i] > 0 && (*end == ',' || (*end == '\0' && i == ntriggers - 1));
            s = *end ? end + 1 : end;
        }
    }
    PQclear(r);
    if (!ok)
        log_event(LOG_ERROR, "store.failed", "s:statement s:error", "decision_ids", "unexpected answer");
    return ok ? 0 : -1;
}

/* The decision's triggers, probes and LLM calls (decision id id, text).
 * Returns 0 or -1. */
static int store_decision_rows(PGconn *c, const struct store_decision_rec *rec, const char *id)
{
    char ts[24];
    snprintf(ts, sizeof ts, "%lld", (long long)rec->decided_at);
    for (int i = 0; i < rec->ntriggers; i++) {
        const struct store_trigger_rec *t = &rec->t[i];
        char tid[24];
        snprintf(tid, sizeof tid, "%lld", t->id);
        const char *tv[] = { tid, id, t->workflow, t->key, t->payload, rec->trigger_status };
        if (store_cmd(c, "insert_trigger", SQL_INSERT_TRIGGER, 6, tv) < 0)
            return -1;
    }
    for (int i = 0; i < rec->nprobes; i++) {
        const struct store_probe_rec *p = &rec->probes[i];
        char lat[24], st[24];
        snprintf(lat, sizeof lat, "%ld", p->latency_ms);
        snprintf(st, sizeof st, "%ld", p->http_status);
        const char *v[] = { rec->cycle_id, p->source, ts, p->ok ? "t" : "f", lat, st, p->error };
        if (store_cmd(c, "insert_probe", SQL_INSERT_PROBE, 7, v) < 0)
            return -1;
    }
    for (int i = 0; i < rec->ncalls; i++) {
        const struct store_llm_call_rec *k = &rec->calls[i];
        char hs[24], kl[24], kp[24], kc[24];
        snprintf(hs, sizeof hs, "%ld", k->http_status);
        snprintf(kl, sizeof kl, "%ld", k->latency_ms);
        snprintf(kp, sizeof kp, "%ld", k->prompt_tokens);
        snprintf(kc, sizeof kc, "%ld", k->completion_tokens);
        const char *kv[] = { id, k->provider, k->model, hs, k->outcome, kl, kp, kc, k->error };
        if (store_cmd(c, "insert_llm_call", SQL_INSERT_LLM_CALL, 9, kv) < 0)
            return -1;
    }
    return 0;
}

/* The learning state and worker_state of the decision (id, text).
 * Returns 0 or -1. */
static int store_decision_state(PGconn *c, const struct store_decision_rec *rec, const char *id)
{
    char ts[24], next_at[24], load[32], vol[32];
    snprintf(ts, sizeof ts, "%lld", (long long)rec->decided_at);
    if (rec->learn_scope && rec->learn_state) {
        const char *lv[] = { rec->learn_scope, rec->learn_state, ts };
        if (store_cmd(c, "upsert_learning", STORE_SQL_UPSERT_LEARNING, 3, lv) < 0)
            return -1;
    }
    if (rec->learn_summary) {
        const char *lv[] = { rec->learn_summary };
        if (store_cmd(c, "update_learning_summary", STORE_SQL_UPDATE_LEARNING_SUMMARY, 1, lv) < 0)
            return -1;
    }
    if (rec->llm_state) {
        const char *lv[] = { rec->llm_state };
        if (store_cmd(c, "update_llm_state", SQL_UPDATE_LLM_STATE, 1, lv) < 0)
            return -1;
    }
    if (!rec->sources)
        return 0;
    snprintf(next_at, sizeof next_at, "%lld", (long long)rec->next_decision_at);
    snprintf(load, sizeof load, "%.4f", rec->load);
    snprintf(vol, sizeof vol, "%.6f", rec->volatility);
    const char *sv[] = { rec->mode, id, next_at, load, vol, rec->sources, rec->dry_run ? "t" : "f" };
    return store_cmd(c, "update_state", SQL_UPDATE_STATE, 7, sv);
}

int store_decision(PGconn *c, const struct store_decision_rec *rec)
{
    store_refused_clear();
    const char *sql = SQL_INSERT_DECISION;
    if (rec->ntriggers < 0 || rec->ntriggers > STORE_MAX_TRIGGERS || rec->nprobes < 0 ||
        rec->nprobes > STORE_MAX_PROBES || rec->ncalls < 0 || rec->ncalls > STORE_MAX_LLM_CALLS ||
        rec->nsessions < 0 || rec->nsessions > STORE_MAX_SESSIONS)
        return -1;
    char buf[STORE_NCOLS][96];
    const char *dv[STORE_NCOLS];
    for (int i = 0; i < STORE_NCOLS; i++)
        dv[i] = store_col_value(rec, &store_decision_cols[i], buf[i], sizeof buf[i]);
    char id[24];
    snprintf(id, sizeof id, "%lld", rec->id);
    struct store_batch *batch = rec->run_id ? store_batch_of(c) : NULL;

    int nested;
    if (store_begin(c, &nested) < 0)
        return -1;
    if (store_cmd(c, "insert_decision", sql, STORE_NCOLS, dv) < 0)
        goto rollback;
    FAULT("store.decision_inserted");
    /* the commands it answers are done exactly when it is recorded */
    if (rec->force_upto > 0 && store_commands_claim_decision(c, rec->force_upto, rec->id) < 0)
        goto rollback;
    if (store_decision_rows(c, rec, id) < 0 || store_decision_state(c, rec, id) < 0)
        goto rollback;
    FAULT("store.decision_before_commit");
    if (store_commit(c, nested) < 0)
        goto rollback;
    FAULT("store.decision_committed");
    if (batch && store_batch_note_decision(batch, rec->id, rec->decided_at, rec->mode, rec->status) < 0)
        log_event(LOG_WARN, "store.batch_history_from_db", "s:detail", "out of memory");
    return 0;
rollback:
    store_rollback(c, nested);
    return -1;
}

int store_decision_refused(PGconn *c, char *why, size_t cap)
{
    /* a write refused for its content (not the connection, not the fence) */
    return !store_batch_of(c) && PQstatus(c) == CONNECTION_OK && PQtransactionStatus(c) == PQTRANS_IDLE &&
           store_refused(why, cap);
}

void store_decision_clear(struct store_decision *d)
{
    for (int i = 0; i < d->ntriggers; i++) {
        free(d->t[i].payload);
        d->t[i].payload = NULL;
    }
    d->ntriggers = 0;
}

int store_mark_sending(PGconn *c, long long decision_id)
{
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
    char id[24], st[24], lat[24];
    snprintf(id, sizeof id, "%lld", trigger_id);
    snprintf(st, sizeof st, "%ld", job->http_status);
    snprintf(lat, sizeof lat, "%ld", (long)(job->latency_ms + 0.5));
    const char *v[] = { id, status, st, lat, job->error, job->response };
    return store_cmd(c, "trigger_result", SQL_TRIGGER_RESULT, 6, v);
}

int store_decision_done(PGconn *c, long long decision_id, const char *status)
{
    char id[24];
    snprintf(id, sizeof id, "%lld", decision_id);
    const char *v[] = { id, status };
    if (store_cmd(c, "decision_done", SQL_DECISION_DONE, 2, v) < 0)
        return -1;
    store_note_status(c, decision_id, status);
    return 0;
}

int store_trigger_outcome(PGconn *c, const char *key, int opportunities, time_t at)
{
    char n[24], ts[24];
    snprintf(n, sizeof n, "%d", opportunities);
    snprintf(ts, sizeof ts, "%lld", (long long)at);
    const char *v[] = { key, n, ts };
    return store_cmd(c, "trigger_outcome", SQL_TRIGGER_OUTCOME, 3, v);
}
