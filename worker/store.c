/* store: the worker's SQL; see store.h. */
#include "config.h"
#include "store.h"
#include "db.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char SQL_RECOVER_SENDING[] =
    "UPDATE triggers SET status = 'unknown', finished_at = now(), "
    "       error = 'worker stopped while sending: delivery unknown' "
    " WHERE status = 'sending'";
static const char SQL_RECOVER_PENDING[] =
    "UPDATE triggers SET status = 'abandoned', finished_at = now(), "
    "       error = 'worker stopped before sending' "
    " WHERE status = 'pending'";
static const char SQL_RECOVER_DECISIONS[] =
    "UPDATE decisions SET status = 'interrupted', completed_at = now() "
    " WHERE status IN ('pending', 'acting')";
static const char SQL_WORKER_START[] =
    "UPDATE worker_state SET pid = $1, hostname = $2, version = $3, started_at = now(), "
    "       heartbeat_at = now(), dry_run = $4 "
    " WHERE id = 1 "
    "RETURNING running, coalesce(extract(epoch FROM next_decision_at)::bigint, 0)";
static const char SQL_WORKER_STOP[] =
    "UPDATE worker_state SET pid = NULL, heartbeat_at = NULL WHERE id = 1";
static const char SQL_HEARTBEAT[] =
    "UPDATE worker_state SET heartbeat_at = now() WHERE id = 1";
static const char SQL_SET_RUNNING[] =
    "UPDATE worker_state SET running = $1, heartbeat_at = now() WHERE id = 1";
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
static const char SQL_INSERT_DECISION[] =
    "INSERT INTO decisions (cycle_id, decided_at, mode, intensity, source, reason, inputs, menu, "
    "                       sessions, session, prev_mode, next_seconds, next_decision_at, dry_run, status, "
    "                       llm_outcome, llm_detail, llm_provider, llm_model, llm_raw, llm_prompt_tokens, "
    "                       llm_completion_tokens, llm_latency_ms, prompt_version, prompt_hash, shadow, agreement, run_id, "
    "                       completed_at) "
    "VALUES ($1, to_timestamp($2), $3, $4, $5, $6, $7::jsonb, $8::jsonb, $9::text[], $10, "
    "        nullif($11, ''), $12::int, to_timestamp($2) + make_interval(secs => $12::int), $13, $14::text, "
    "        $15, $16, $17, $18, $19, $20::int, $21::int, $22::int, $23, $24, $25::jsonb, $26::boolean, "
    "        nullif($27::bigint, 0), "
    "        CASE WHEN $14::text IN ('dry_run', 'no_action') THEN to_timestamp($2) END) "
    "RETURNING id, extract(epoch FROM next_decision_at)::bigint";
static const char SQL_INSERT_LLM_CALL[] =
    "INSERT INTO llm_calls (decision_id, provider, model, http_status, outcome, latency_ms, "
    "                       prompt_tokens, completion_tokens, error) "
    "VALUES ($1, $2, $3, nullif($4::int, 0), $5, $6, $7, $8, nullif($9, ''))";
static const char SQL_LLM_USAGE[] =
    "SELECT extract(epoch FROM called_at)::bigint, prompt_tokens + completion_tokens "
    "  FROM llm_calls WHERE called_at > now() - interval '25 hours' ORDER BY called_at";
static const char SQL_UPDATE_LLM_STATE[] =
    "UPDATE worker_state SET llm = $1::jsonb WHERE id = 1";
static const char SQL_NEXT_TRIGGER_ID[] =
    "SELECT nextval('triggers_id_seq')";
static const char SQL_INSERT_TRIGGER[] =
    "INSERT INTO triggers (id, decision_id, workflow, idempotency_key, payload, status, finished_at) "
    "VALUES ($1, $2, $3, $4, $5::jsonb, $6, CASE WHEN $6 = 'dry_run' THEN now() END)";
static const char SQL_INSERT_PROBE[] =
    "INSERT INTO probes (cycle_id, source, probed_at, ok, latency_ms, http_status, error) "
    "VALUES ($1, $2, to_timestamp($3), $4, $5, nullif($6, 0), nullif($7, ''))";
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
static const char SQL_TAKE_COMMANDS[] =
    "SELECT id, command FROM control_commands WHERE status = 'pending' ORDER BY id LIMIT $1";
static const char SQL_COMMAND_DONE[] =
    "UPDATE control_commands SET status = $2, result = $3, processed_at = now(), "
    "       decision_id = nullif($4::bigint, 0) "
    " WHERE id = $1";
static const char SQL_UPSERT_LEARNING[] =
    "INSERT INTO learning_state (scope, state, updated_at) VALUES ($1, $2::jsonb, to_timestamp($3)) "
    "ON CONFLICT (scope) DO UPDATE SET state = EXCLUDED.state, updated_at = EXCLUDED.updated_at";
static const char SQL_LOAD_LEARNING[] =
    "SELECT state::text FROM learning_state WHERE scope = $1";
static const char SQL_UPDATE_LEARNING_SUMMARY[] =
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
static const char SQL_PRUNE_PROBES[] =
    "DELETE FROM probes WHERE probed_at < now() - make_interval(hours => $1)";

static const char SQL_BEGIN[] = "BEGIN";
static const char SQL_COMMIT[] = "COMMIT";
static const char SQL_ROLLBACK[] = "ROLLBACK";
static const char SQL_SAVEPOINT[] = "SAVEPOINT store_tx";
static const char SQL_RELEASE[] = "RELEASE SAVEPOINT store_tx";
static const char SQL_ROLLBACK_TO[] = "ROLLBACK TO SAVEPOINT store_tx";

/* Open this function's transaction: a savepoint inside a batch (the
 * replay's), else a transaction.  Sets *nested.  Returns 0 or -1. */
static int store_begin(PGconn *c, int *nested)
{
    *nested = PQtransactionStatus(c) == PQTRANS_INTRANS;
    return db_exec(c, *nested ? SQL_SAVEPOINT : SQL_BEGIN);
}

static int store_commit(PGconn *c, int nested)
{
    return db_exec(c, nested ? SQL_RELEASE : SQL_COMMIT);
}

static void store_rollback(PGconn *c, int nested)
{
    if (db_exec(c, nested ? SQL_ROLLBACK_TO : SQL_ROLLBACK) < 0)
        log_event(LOG_ERROR, "store.rollback_failed", NULL);
}

int store_batch_begin(PGconn *c)
{
    return c ? db_exec(c, SQL_BEGIN) : 0;
}

int store_batch_commit(PGconn *c)
{
    return c && PQtransactionStatus(c) == PQTRANS_INTRANS ? db_exec(c, SQL_COMMIT) : 0;
}

/* Run a statement with text parameters.  Returns the result (caller
 * PQclears) when it succeeded, else NULL after logging. */
static PGresult *store_run(PGconn *c, const char *name, const char *sql, int n, const char *const *vals)
{
    PGresult *r = PQexecParams(c, sql, n, NULL, vals, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return r;
    char msg[300];
    snprintf(msg, sizeof msg, "%s", PQresultErrorMessage(r));
    msg[strcspn(msg, "\n")] = '\0';
    log_event(LOG_ERROR, "store.failed", "s:statement s:error", name, msg);
    PQclear(r);
    return NULL;
}

/* Run a statement whose result is not needed.  Returns 0 or -1. */
static int store_cmd(PGconn *c, const char *name, const char *sql, int n, const char *const *vals)
{
    PGresult *r = store_run(c, name, sql, n, vals);
    if (!r)
        return -1;
    PQclear(r);
    return 0;
}

static long store_affected(PGconn *c, const char *name, const char *sql, int n, const char *const *vals)
{
    PGresult *r = store_run(c, name, sql, n, vals);
    if (!r)
        return -1;
    long k = strtol(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    return k;
}

int store_recover(PGconn *c)
{
    long a = store_affected(c, "recover_sending", SQL_RECOVER_SENDING, 0, NULL);
    long b = store_affected(c, "recover_pending", SQL_RECOVER_PENDING, 0, NULL);
    long d = store_affected(c, "recover_decisions", SQL_RECOVER_DECISIONS, 0, NULL);
    if (a < 0 || b < 0 || d < 0)
        return -1;
    if (a || b || d)
        log_event(LOG_WARN, "worker.recovered", "i:triggers_unknown i:triggers_abandoned i:decisions_interrupted",
                  (long long)a, (long long)b, (long long)d);
    return 0;
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

int store_set_running(PGconn *c, int running)
{
    const char *v[] = { running ? "t" : "f" };
    return store_cmd(c, "set_running", SQL_SET_RUNNING, 1, v);
}

/* The integer in row i, column j of r (0 when NULL or not a number). */
static long long store_int(PGresult *r, int i, int j)
{
    if (PQgetisnull(r, i, j))
        return 0;
    return strtoll(PQgetvalue(r, i, j), NULL, 10);
}

int store_history(PGconn *c, time_t now, struct sense_history *h)
{
    return store_history_run(c, 0, now, h);
}

int store_history_run(PGconn *c, long long run_id, time_t now, struct sense_history *h)
{
    memset(h, 0, sizeof *h);
    if (!c)
        return 0;
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
    for (int i = 0; i < PQntuples(r) && i < SENSE_MAX_RECENT; i++) {
        struct sense_recent *e = &h->recent[h->nrecent++];
        e->id = store_int(r, i, 0);
        snprintf(e->mode, sizeof e->mode, "%s", PQgetvalue(r, i, 1));
        snprintf(e->status, sizeof e->status, "%s", PQgetvalue(r, i, 2));
    }
    if (h->nrecent)
        snprintf(h->last_mode, sizeof h->last_mode, "%s", h->recent[0].mode);
    PQclear(r);
    return 0;
}

void store_decision_clear(struct store_decision *d)
{
    for (int i = 0; i < d->ntriggers; i++) {
        free(d->t[i].payload);
        d->t[i].payload = NULL;
    }
    d->ntriggers = 0;
}

/* A choice as JSON (the shadow decision).  Caller frees. */
static json_object *store_choice_json(const struct decide_choice *ch)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "mode", json_object_new_string(catalog_mode_name(ch->mode)));
    json_object_object_add(o, "intensity", json_object_new_string(catalog_intensity_name(ch->intensity)));
    json_object *w = json_object_new_array();
    for (int i = 0; i < ch->nwf; i++)
        json_object_array_add(w, json_object_new_string(catalog_workflow(ch->wf[i])->path));
    json_object_object_add(o, "workflows", w);
    json_object_object_add(o, "next_seconds", json_object_new_int64(ch->next_seconds));
    json_object_object_add(o, "reason", json_object_new_string(ch->reason));
    return o;
}

/* Insert the probes of this cycle (configured sources only).  Returns 0 or -1. */
static int store_probes(PGconn *c, const char *cycle_id, const struct sense_snapshot *snap)
{
    char ts[24], lat[24], st[24];
    snprintf(ts, sizeof ts, "%lld", (long long)snap->now);
    for (int f = 0; f < FEED_COUNT; f++) {
        const struct sense_probe *p = &snap->probes[f];
        if (!p->configured)
            continue;
        snprintf(lat, sizeof lat, "%ld", (long)(p->latency_ms + 0.5));
        snprintf(st, sizeof st, "%ld", p->http_status);
        const char *v[] = { cycle_id, catalog_feed_name(f), ts, p->ok ? "t" : "f", lat, st, p->error };
        if (store_cmd(c, "insert_probe", SQL_INSERT_PROBE, 7, v) < 0)
            return -1;
    }
    return 0;
}

/* The Postgres array literal of the open sessions: {london,newyork}. */
static void store_sessions_array(const struct sense_snapshot *snap, char *out, size_t cap)
{
    size_t n = (size_t)snprintf(out, cap, "{");
    int first = 1;
    for (int s = 0; s < SESSION_COUNT && n < cap; s++) {
        if (!snap->sessions.open[s])
            continue;
        n += (size_t)snprintf(out + n, cap - n, "%s%s", first ? "" : ",", session_name(s));
        first = 0;
    }
    if (n < cap)
        snprintf(out + n, cap - n, "}");
}

/* Without a database (the replay's --no-db): ids from *seq, triggers and
 * payloads built exactly as below, nothing written.  Returns 0 or -1. */
static int store_decision_memory(const struct sense_snapshot *snap, const struct decide_choice *ch, int dry_run,
                                 long long *seq, struct store_decision *out)
{
    static long long fallback_seq;
    if (!seq)
        seq = &fallback_seq;
    out->id = ++*seq;
    out->next_at = snap->now + ch->next_seconds;
    for (int i = 0; i < ch->nwf; i++) {
        struct store_trigger *t = &out->t[out->ntriggers];
        t->wf = ch->wf[i];
        t->id = ++*seq;
        const char *path = catalog_workflow(t->wf)->path;
        act_key(out->id, path, t->key, sizeof t->key);
        json_object *p = act_payload(snap, ch, out->id, t->id, path, t->key, (long long)out->next_at, dry_run);
        t->payload = p ? strdup(json_object_to_json_string_ext(p, JSON_C_TO_STRING_PLAIN)) : NULL;
        json_object_put(p);
        if (!t->payload) {
            store_decision_clear(out);
            return -1;
        }
        out->ntriggers++;
    }
    return 0;
}

int store_decision(PGconn *c, const char *cycle_id, const struct sense_snapshot *snap,
                   const struct decide_menu *menu, const struct decide_choice *ch,
                   int dry_run, const struct store_audit *audit, struct store_decision *out)
{
    memset(out, 0, sizeof *out);
    const struct store_audit none = { .agreement = -1 };
    if (!audit)
        audit = &none;
    if (!c)
        return store_decision_memory(snap, ch, dry_run, audit->local_seq, out);
    json_object *inputs = sense_to_json(snap);
    json_object *menu_json = decide_menu_to_json(menu);
    json_object *sources = sense_sources_json(snap);
    json_object *shadow = NULL;
    int rc = -1;
    PGresult *r = NULL;
    if (!inputs || !menu_json || !sources)
        goto out;

    char ts[24], next[24], sess[96], load[32], vol[32], id[24], next_at[24], run[24];
    snprintf(ts, sizeof ts, "%lld", (long long)snap->now);
    snprintf(next, sizeof next, "%ld", ch->next_seconds);
    snprintf(load, sizeof load, "%.4f", snap->load1 >= 0 ? snap->load1 : 0.0);
    snprintf(vol, sizeof vol, "%.6f", snap->market.volatility);
    snprintf(run, sizeof run, "%lld", audit->run_id);
    store_sessions_array(snap, sess, sizeof sess);
    const char *status = ch->nwf == 0 ? "no_action" : dry_run ? "dry_run" : "pending";
    int live = audit->run_id == 0;

    int nested;
    if (store_begin(c, &nested) < 0)
        goto out;
    const struct llm_outcome *lo = audit->llm;
    char ptok[24], ctok[24], lat[24];
    snprintf(ptok, sizeof ptok, "%ld", lo ? lo->prompt_tokens : 0L);
    snprintf(ctok, sizeof ctok, "%ld", lo ? lo->completion_tokens : 0L);
    snprintf(lat, sizeof lat, "%ld", lo ? (long)(lo->latency_ms + 0.5) : 0L);
    shadow = audit->shadow ? store_choice_json(audit->shadow) : NULL;
    int called = lo && lo->ncalls > 0;
    const char *dv[] = {
        cycle_id, ts, catalog_mode_name(ch->mode), catalog_intensity_name(ch->intensity),
        catalog_source_name(ch->source), ch->reason,
        json_object_to_json_string_ext(inputs, JSON_C_TO_STRING_PLAIN),
        json_object_to_json_string_ext(menu_json, JSON_C_TO_STRING_PLAIN),
        sess, snap->session_label ? snap->session_label : "closed", snap->history.last_mode,
        next, dry_run ? "t" : "f", status,
        llm_strerror(lo ? lo->err : LLM_ENOTCONFIGURED),
        lo ? lo->detail : NULL,
        called ? lo->provider : NULL,
        called ? lo->model : NULL,
        lo ? lo->raw : NULL,
        called ? ptok : NULL, called ? ctok : NULL, called ? lat : NULL,
        audit->prompt_version, audit->prompt_hash,
        shadow ? json_object_to_json_string_ext(shadow, JSON_C_TO_STRING_PLAIN) : NULL,
        audit->agreement < 0 ? NULL : audit->agreement ? "t" : "f",
        run,
    };
    r = store_run(c, "insert_decision", SQL_INSERT_DECISION, 27, dv);
    if (!r || PQntuples(r) != 1)
        goto rollback;
    out->id = store_int(r, 0, 0);
    out->next_at = (time_t)store_int(r, 0, 1);
    PQclear(r);
    r = NULL;
    snprintf(id, sizeof id, "%lld", out->id);

    for (int i = 0; i < ch->nwf; i++) {
        struct store_trigger *t = &out->t[out->ntriggers];
        t->wf = ch->wf[i];
        const char *path = catalog_workflow(t->wf)->path;
        r = store_run(c, "next_trigger_id", SQL_NEXT_TRIGGER_ID, 0, NULL);
        if (!r || PQntuples(r) != 1)
            goto rollback;
        t->id = store_int(r, 0, 0);
        PQclear(r);
        r = NULL;
        act_key(out->id, path, t->key, sizeof t->key);
        json_object *p = act_payload(snap, ch, out->id, t->id, path, t->key, (long long)out->next_at, dry_run);
        if (!p)
            goto rollback;
        t->payload = strdup(json_object_to_json_string_ext(p, JSON_C_TO_STRING_PLAIN));
        json_object_put(p);
        if (!t->payload)
            goto rollback;
        out->ntriggers++;
        char tid[24];
        snprintf(tid, sizeof tid, "%lld", t->id);
        const char *tv[] = { tid, id, path, t->key, t->payload, dry_run ? "dry_run" : "pending" };
        if (store_cmd(c, "insert_trigger", SQL_INSERT_TRIGGER, 6, tv) < 0)
            goto rollback;
    }
    /* probes and worker_state describe the live worker, not a replay */
    if (live && store_probes(c, cycle_id, snap) < 0)
        goto rollback;
    for (int i = 0; lo && i < lo->ncalls; i++) {
        const struct llm_call *k = &lo->calls[i];
        char hs[24], kl[24], kp[24], kc[24];
        snprintf(hs, sizeof hs, "%ld", k->http_status);
        snprintf(kl, sizeof kl, "%ld", (long)(k->latency_ms + 0.5));
        snprintf(kp, sizeof kp, "%ld", k->prompt_tokens);
        snprintf(kc, sizeof kc, "%ld", k->completion_tokens);
        const char *kv[] = { id, k->provider, k->model, hs, llm_strerror(k->err), kl, kp, kc, k->error };
        if (store_cmd(c, "insert_llm_call", SQL_INSERT_LLM_CALL, 9, kv) < 0)
            goto rollback;
    }
    if (audit->learn_scope && audit->learn_state) {
        const char *lv[] = { audit->learn_scope, audit->learn_state, ts };
        if (store_cmd(c, "upsert_learning", SQL_UPSERT_LEARNING, 3, lv) < 0)
            goto rollback;
    }
    if (live && audit->learn_summary) {
        const char *lv[] = { audit->learn_summary };
        if (store_cmd(c, "update_learning_summary", SQL_UPDATE_LEARNING_SUMMARY, 1, lv) < 0)
            goto rollback;
    }
    if (live && audit->llm_state) {
        const char *lv[] = { audit->llm_state };
        if (store_cmd(c, "update_llm_state", SQL_UPDATE_LLM_STATE, 1, lv) < 0)
            goto rollback;
    }
    snprintf(next_at, sizeof next_at, "%lld", (long long)out->next_at);
    const char *sv[] = {
        catalog_mode_name(ch->mode), id, next_at, load, vol,
        json_object_to_json_string_ext(sources, JSON_C_TO_STRING_PLAIN), dry_run ? "t" : "f",
    };
    if (live && store_cmd(c, "update_state", SQL_UPDATE_STATE, 7, sv) < 0)
        goto rollback;
    if (store_commit(c, nested) < 0)
        goto rollback;
    rc = 0;
    goto out;
rollback:
    PQclear(r);
    r = NULL;
    store_rollback(c, nested);
    store_decision_clear(out);
    out->id = 0;
out:
    PQclear(r);
    json_object_put(inputs);
    json_object_put(menu_json);
    json_object_put(sources);
    json_object_put(shadow);
    return rc;
}

int store_llm_usage(PGconn *c, struct llm_client *cl)
{
    PGresult *r = store_run(c, "llm_usage", SQL_LLM_USAGE, 0, NULL);
    if (!r)
        return -1;
    for (int i = 0; i < PQntuples(r); i++)
        llm_budget_add(cl, (time_t)store_int(r, i, 0), (long)store_int(r, i, 1));
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
    return store_commit(c, nested);
}

int store_trigger_result(PGconn *c, long long trigger_id, const struct act_job *job)
{
    if (!c)
        return 0;
    char id[24], st[24], lat[24];
    snprintf(id, sizeof id, "%lld", trigger_id);
    snprintf(st, sizeof st, "%ld", job->http_status);
    snprintf(lat, sizeof lat, "%ld", (long)(job->latency_ms + 0.5));
    const char *v[] = { id, act_status_name(job->status), st, lat, job->error, job->response };
    return store_cmd(c, "trigger_result", SQL_TRIGGER_RESULT, 6, v);
}

int store_decision_done(PGconn *c, long long decision_id, const char *status)
{
    if (!c)
        return 0;
    char id[24];
    snprintf(id, sizeof id, "%lld", decision_id);
    const char *v[] = { id, status };
    return store_cmd(c, "decision_done", SQL_DECISION_DONE, 2, v);
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
        else
            cmds[n].cmd = STORE_CMD_FORCE;
        n++;
    }
    PQclear(r);
    return n;
}

int store_command_done(PGconn *c, long long id, const char *status, const char *result, long long decision_id)
{
    char ids[24], dids[24];
    snprintf(ids, sizeof ids, "%lld", id);
    snprintf(dids, sizeof dids, "%lld", decision_id);
    const char *v[] = { ids, status, result, dids };
    return store_cmd(c, "command_done", SQL_COMMAND_DONE, 4, v);
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
    if (store_cmd(c, "replay_session", SQL_REPLAY_SESSION, 0, NULL) < 0)
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
    return store_cmd(c, "upsert_learning", SQL_UPSERT_LEARNING, 3, v);
}
