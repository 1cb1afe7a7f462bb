/* store: the worker's SQL (store.h): running a statement, transactions
 * and refusals (store_sql.h), then the worker's row, its history and
 * commands, learning state, replay runs and retention.  The other sections
 * are siblings: store_decision.c (decisions and triggers), store_deliver.c
 * (delivery and workflow state), store_follow.c (following executions),
 * store_leader.c, store_catalog.c, store_watch.c, store_telegram.c. */
#include "config.h"
#include "store.h"
#include "status.h"
#include "store_sql.h"
#include "store_batch.h"
#include "db.h"
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
    "RETURNING running, coalesce(extract(epoch FROM next_decision_at)::bigint, 0) AS next_at";
static const char SQL_WORKER_STOP[] =
    "UPDATE worker_state SET pid = NULL, heartbeat_at = NULL WHERE id = 1";
static const char SQL_HEARTBEAT[] =
    "UPDATE worker_state SET heartbeat_at = now() WHERE id = 1";
/* live decisions only: replay runs (run_id set) are not the worker's history */
static const char SQL_HISTORY_COUNTS[] =
    "SELECT count(*) AS decisions, "
    "       count(*) FILTER (WHERE status IN ('succeeded','partial','failed')) AS acted, "
    "       count(*) FILTER (WHERE status = 'succeeded') AS succeeded "
    "  FROM decisions WHERE decided_at > to_timestamp($1) - interval '24 hours' AND run_id IS NULL";
static const char SQL_HISTORY_RECENT[] =
    "SELECT id, mode, status FROM decisions WHERE run_id IS NULL ORDER BY id DESC LIMIT 5";
/* a replay's history is its own run's */
static const char SQL_HISTORY_COUNTS_RUN[] =
    "SELECT count(*) AS decisions, "
    "       count(*) FILTER (WHERE status IN ('succeeded','partial','failed')) AS acted, "
    "       count(*) FILTER (WHERE status = 'succeeded') AS succeeded "
    "  FROM decisions WHERE run_id = $2 AND decided_at > to_timestamp($1) - interval '24 hours' "
    "   AND decided_at <= to_timestamp($1)";
static const char SQL_HISTORY_RECENT_RUN[] =
    "SELECT id, mode, status FROM decisions WHERE run_id = $1 ORDER BY id DESC LIMIT 5";
static const char SQL_LLM_USAGE[] =
    "SELECT extract(epoch FROM c.called_at)::bigint AS at, c.prompt_tokens + c.completion_tokens AS tokens "
    "  FROM llm_calls c LEFT JOIN decisions d ON d.id = c.decision_id "
    " WHERE c.called_at > now() - interval '25 hours' AND d.run_id IS NULL "   /* a replay's calls are its own */
    " ORDER BY c.called_at";
static const char SQL_TAKE_COMMANDS[] =
    "SELECT id, command FROM control_commands WHERE status = 'pending' AND accepted_at IS NULL ORDER BY id LIMIT $1";
const char STORE_SQL_UPSERT_LEARNING[] =
    "INSERT INTO learning_state (scope, state, updated_at) VALUES ($1, $2::jsonb, to_timestamp($3)) "
    "ON CONFLICT (scope) DO UPDATE SET state = EXCLUDED.state, updated_at = EXCLUDED.updated_at";
static const char SQL_LOAD_LEARNING[] =
    "SELECT state::text AS state FROM learning_state WHERE scope = $1";
const char STORE_SQL_UPDATE_LEARNING_SUMMARY[] =
    "UPDATE worker_state SET learning = $1::jsonb WHERE id = 1";
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

void store_note_status(PGconn *c, long long decision_id, const char *status)
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
        *running = strcmp(store_text(r, 0, store_col(r, "running")), "t") == 0;
        *next_at = (time_t)store_int(r, 0, store_col(r, "next_at"));
    } else {
        log_event(LOG_ERROR, "store.failed", "s:statement s:error", "worker_start", "worker_state row missing");
    }
    PQclear(r);
    return ok ? 0 : -1;
}

int store_worker_stop(PGconn *c) { return store_cmd(c, "worker_stop", SQL_WORKER_STOP, 0, NULL); }
int store_heartbeat(PGconn *c) { return store_cmd(c, "heartbeat", SQL_HEARTBEAT, 0, NULL); }

int store_col(const PGresult *r, const char *name)
{
    int col = name ? PQfnumber(r, name) : -1;
    if (col < 0)
        log_event(LOG_ERROR, "store.no_column", "s:column", name ? name : "(unnamed)");
    return col;
}

int store_cols(const PGresult *r, const char *const *names, int n, int *col)
{
    int rc = 0;
    for (int k = 0; k < n; k++)
        if ((col[k] = store_col(r, names[k])) < 0)
            rc = -1;
    return rc;
}

int store_null(const PGresult *r, int i, int col)
{
    return col < 0 || PQgetisnull(r, i, col);
}

long long store_int(const PGresult *r, int i, int col)
{
    if (store_null(r, i, col))
        return 0;
    return strtoll(PQgetvalue(r, i, col), NULL, 10);
}

const char *store_text(const PGresult *r, int i, int col)
{
    return store_null(r, i, col) ? "" : PQgetvalue(r, i, col);
}

int store_history(PGconn *c, time_t now, struct store_history *h)
{
    return store_history_run(c, 0, now, h);
}

int store_history_run(PGconn *c, long long run_id, time_t now, struct store_history *h)
{
    memset(h, 0, sizeof *h);
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
    h->decisions_24h = (int)store_int(r, 0, store_col(r, "decisions"));
    h->acted_24h = (int)store_int(r, 0, store_col(r, "acted"));
    h->succeeded_24h = (int)store_int(r, 0, store_col(r, "succeeded"));
    PQclear(r);
    const char *rv[] = { run };
    r = run_id ? store_run(c, "history_recent_run", SQL_HISTORY_RECENT_RUN, 1, rv)
               : store_run(c, "history_recent", SQL_HISTORY_RECENT, 0, NULL);
    if (!r)
        return -1;
    static const char *const recent[] = { "id", "mode", "status" };
    int col[3];
    store_cols(r, recent, 3, col);
    for (int i = 0; i < PQntuples(r) && i < STORE_MAX_RECENT; i++) {
        struct store_recent *e = &h->recent[h->nrecent++];
        e->id = store_int(r, i, col[0]);
        snprintf(e->mode, sizeof e->mode, "%s", store_text(r, i, col[1]));
        snprintf(e->status, sizeof e->status, "%s", store_text(r, i, col[2]));
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
    int at = store_col(r, "at"), tokens = store_col(r, "tokens");
    for (int i = 0; i < PQntuples(r); i++)
        add(arg, (time_t)store_int(r, i, at), (long)store_int(r, i, tokens));
    PQclear(r);
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
    int n = 0, id = store_col(r, "id"), command = store_col(r, "command");
    for (int i = 0; i < PQntuples(r) && n < max; i++) {
        const char *name = store_text(r, i, command);
        cmds[n].id = store_int(r, i, id);
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

int store_learning_load(PGconn *c, const char *scope, char **state)
{
    *state = NULL;
    const char *v[] = { scope };
    PGresult *r = store_run(c, "load_learning", SQL_LOAD_LEARNING, 1, v);
    if (!r)
        return -1;
    int rc = 0;
    int col = store_col(r, "state");
    if (PQntuples(r) == 1 && !store_null(r, 0, col)) {
        *state = strdup(PQgetvalue(r, 0, col));
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
        *run_id = store_int(r, 0, store_col(r, "id"));
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
        static const char *const names[] = { "decisions", "triggers", "results", "llm_calls", "commands" };
        int col[5];
        long long n[5] = { 0, 0, 0, 0, 0 };
        store_cols(r, names, 5, col);
        if (PQntuples(r) == 1)
            for (int i = 0; i < 5; i++)
                n[i] = store_int(r, 0, col[i]);
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
