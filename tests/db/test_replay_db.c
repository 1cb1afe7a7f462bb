/* Database tests of the replay's batched writer (worker/store_batch.c)
 * against a real, throwaway PostgreSQL (started by tests/db/run.sh, which
 * exports PGHOST and PGDATABASE): a replay stored through it writes the
 * same rows as the unbatched path (decisions with their inputs and
 * history, triggers, learning state); a failed statement fails the batch,
 * rolls its transaction back and leaves the connection usable; the
 * statements of a rolled-back savepoint are dropped; a settlement is not
 * waited for but checked (a wrong expectation fails the batch); staged
 * rows reach the tables once final, in their last state, and the rest at
 * the end; a statement the writer does not know ends the staging. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <libpq-fe.h>

#include "cfg.h"
#include "learn.h"
#include "log.h"
#include "replay.h"
#include "store.h"
#include "store_batch.h"
#include "store_sql.h"
#include "catalog_live.h"
#include "../unit/seed.h"
#include "db_conn.h"

static PGconn *admin;     /* superuser: inspection */
static PGconn *worker;    /* role orch_worker, as orch-replay runs */
static struct cfg g_cfg;

/* The same with the ids ids[0 .. n) (at most 4) as $1 .. $n. */
static long long test_value_ids(PGconn *c, const char *sql, int n, const long long *ids)
{
    char buf[4][24];
    const char *vals[4];
    if (n > 4)
        fail_msg("test_value_ids: %d parameters, at most 4", n);
    for (int i = 0; i < n; i++) {
        snprintf(buf[i], sizeof buf[i], "%lld", ids[i]);
        vals[i] = buf[i];
    }
    return test_valuep(c, sql, n, vals);
}

/* Each test starts from empty tables and fresh sequences. */
static int reset(void **state)
{
    (void)state;
    PGresult *r = PQexec(admin, "TRUNCATE control_commands, results, triggers, probes, llm_calls, decisions, replay_runs, "
                                "learning_state RESTART IDENTITY CASCADE");
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        fprintf(stderr, "reset: %s", PQresultErrorMessage(r));
    PQclear(r);
    return ok ? 0 : -1;
}

static const char *env(const char *name, void *ctx)
{
    (void)ctx;
    return strcmp(name, "N8N_BASE_URL") == 0 ? "http://replay.invalid" : NULL;
}

/* 100 quarter-hours of a quiet crypto walk from 2025-01-06 with ten burst
 * windows (as tests/unit/test_replay.c). */
static void synthetic(struct replay_series *s)
{
    static const int burst_at[10] = { 5, 12, 20, 33, 41, 50, 62, 77, 84, 96 };
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "SYNUSDT");
    s->market = LEARN_CRYPTO;
    s->n = 1500;
    s->t = malloc(s->n * sizeof *s->t);
    s->o = malloc(s->n * sizeof(double));
    s->h = malloc(s->n * sizeof(double));
    s->l = malloc(s->n * sizeof(double));
    s->c = malloc(s->n * sizeof(double));
    assert_true(s->t && s->o && s->h && s->l && s->c);
    double p = 100;
    unsigned x = 7;
    for (size_t i = 0; i < s->n; i++) {
        int w = (int)(i / 15), burst = 0;
        for (int k = 0; k < 10; k++)
            burst |= burst_at[k] == w;
        x = x * 1103515245u + 12345u;
        double step = ((x >> 16) & 1 ? 1 : -1) * (burst ? 50e-4 : 1e-4);
        s->t[i] = 1736121600 + (time_t)i * 60;
        s->o[i] = p;
        p *= 1 + step;
        s->c[i] = p;
        s->h[i] = (s->o[i] > p ? s->o[i] : p) * 1.00001;
        s->l[i] = (s->o[i] < p ? s->o[i] : p) * 0.99999;
    }
    assert_int_equal(replay_prepare(s, g_cfg.learn_window_minutes * 60), 0);
}

/* Replay s stored as a new run, batched or not; returns the run id. */
static long long replay_stored(struct replay_series *s, int batched)
{
    long long run_id = 0;
    assert_int_equal(store_replay_begin(worker, batched ? "batched" : "unbatched", 1, "{}", "[]", s->t[0],
                                        s->t[0] + 100 * 900, &run_id), 0);
    struct store_batch *b = NULL;
    if (batched)
        assert_non_null(b = store_batch_new(worker, run_id));
    struct replay r;
    memset(&r, 0, sizeof r);
    r.s = s;
    r.ns = 1;
    r.from = s->t[0];
    r.to = s->t[0] + 100 * 900;
    r.window_s = g_cfg.learn_window_minutes * 60;
    struct learn l;
    learn_init(&l, &g_cfg);
    struct cycle_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    char scope[32], err[256];
    snprintf(scope, sizeof scope, "%lld", run_id);
    ctx.cfg = &g_cfg;
    ctx.learn = &l;
    ctx.sink = sink_pg(worker);
    ctx.run_id = run_id;
    ctx.learn_scope = scope;
    ctx.learn_save_every = 100;
    if (replay_run(&r, &ctx, err, sizeof err) != 0)
        fail_msg("replay_run: %s", err);
    if (b) {
        assert_int_equal(store_batch_finish(b), 0);
        store_batch_free(b);
    }
    assert_null(store_batch_of(worker));
    assert_true(r.decisions > 30 && r.nscans > 10);     /* the watch wakes it about once an hour */
    replay_free(&r);
    return run_id;
}

/* Rows of run a that run b does not have, normalised: ids relative to
 * the run's first (in the inputs' history too), the run id out of keys
 * and payloads, wall-clock times as null or not. */
static long long rows_differ(long long a, long long b)
{
    static const char sql[] =
        "WITH d AS (SELECT run_id, id - min(id) OVER (PARTITION BY run_id) AS k, cycle_id, decided_at, mode, "
        "       intensity, source, reason, menu, sessions, session, prev_mode, next_seconds, next_decision_at, "
        "       dry_run, status, llm_outcome, llm_detail, shadow, agreement, completed_at IS NULL AS open, "
        "       inputs #- '{history,recent}' AS inputs, "
        "       (SELECT jsonb_agg(jsonb_build_object('k', (e->>'id')::bigint - (SELECT min(id) FROM decisions x "
        "          WHERE x.run_id = d0.run_id), 'mode', e->'mode', 'status', e->'status')) "
        "          FROM jsonb_array_elements(inputs #> '{history,recent}') e) AS recent "
        "  FROM decisions d0 WHERE run_id IN ($1::bigint, $2::bigint)), "
        "t AS (SELECT d.run_id, t.id - min(t.id) OVER (PARTITION BY d.run_id) AS k, "
        "       d.id - min(d.id) OVER (PARTITION BY d.run_id) AS dk, t.workflow, "
        "       regexp_replace(t.idempotency_key, '^replay-[0-9]+-', '') AS key, "
        "       t.payload - 'decision_id' - 'trigger_id' - 'idempotency_key' AS payload, t.status, t.http_status, "
        "       t.attempts, t.latency_ms, t.error, t.response, t.opportunities, t.outcome_at, t.execution_id, "
        "       t.outcome, t.last_error_kind, t.started_at IS NULL AS s0, t.finished_at IS NULL AS f0, "
        "       t.settled_at IS NULL AS st0, t.learned_at IS NULL AS l0 "
        "  FROM triggers t JOIN decisions d ON d.id = t.decision_id WHERE d.run_id IN ($1::bigint, $2::bigint)) "
        "SELECT (SELECT count(*) FROM (SELECT k, cycle_id, decided_at, mode, intensity, source, reason, menu, "
        "          sessions, session, prev_mode, next_seconds, next_decision_at, dry_run, status, llm_outcome, "
        "          llm_detail, shadow, agreement, open, inputs, recent FROM d WHERE run_id = $1::bigint "
        "        EXCEPT ALL SELECT k, cycle_id, decided_at, mode, intensity, source, reason, menu, sessions, "
        "          session, prev_mode, next_seconds, next_decision_at, dry_run, status, llm_outcome, llm_detail, "
        "          shadow, agreement, open, inputs, recent FROM d WHERE run_id = $2::bigint) x) "
        "     + (SELECT count(*) FROM (SELECT k, dk, workflow, key, payload, status, http_status, attempts, "
        "          latency_ms, error, response, opportunities, outcome_at, execution_id, outcome, last_error_kind, "
        "          s0, f0, st0, l0 FROM t WHERE run_id = $1::bigint "
        "        EXCEPT ALL SELECT k, dk, workflow, key, payload, status, http_status, attempts, latency_ms, error, "
        "          response, opportunities, outcome_at, execution_id, outcome, last_error_kind, s0, f0, st0, l0 "
        "          FROM t WHERE run_id = $2::bigint) y)";
    return test_value_ids(admin, sql, 2, (const long long[]){ a, b });
}

static void batched_rows_are_the_unbatched_ones(void **state)
{
    (void)state;
    struct replay_series s;
    synthetic(&s);
    long long a = replay_stored(&s, 0), b = replay_stored(&s, 1);
    const long long ids[2] = { a, b };
    long long n = test_value_ids(admin, "SELECT count(*) FROM decisions WHERE run_id = $1::bigint", 1, &ids[0]);
    assert_int_equal(test_value_ids(admin, "SELECT count(*) FROM decisions WHERE run_id = $1::bigint", 1, &ids[1]), n);
    assert_true(test_value_ids(admin, "SELECT count(*) FROM triggers t JOIN decisions d ON d.id = t.decision_id "
                                      "WHERE d.run_id = $1::bigint AND t.status = 'sent' AND t.opportunities IS NOT NULL",
                               1, &ids[1]) > 10);
    /* the history in the inputs is not empty: what the writer remembered */
    assert_true(test_value_ids(admin, "SELECT count(*) FROM decisions WHERE run_id = $1::bigint "
                                      "AND (inputs #>> '{history,acted_24h}')::int > 0", 1, &ids[1]) > 0);
    assert_int_equal(rows_differ(a, b), 0);
    assert_int_equal(rows_differ(b, a), 0);
    assert_int_equal(test_value_ids(admin, "SELECT count(DISTINCT md5(state::text)) FROM learning_state "
                                           "WHERE scope IN ($1::bigint::text, $2::bigint::text)", 2, ids), 1);
    replay_series_free(&s);
}

static const char SQL_BAD[] = "INSERT INTO decisions (cycle_id, mode) VALUES ($1, $2)";   /* NOT NULL columns missing */
static const char SQL_LABEL[] = "INSERT INTO replay_runs (label, seed) VALUES ($1, 1)";

static void failed_statement_fails_the_batch(void **state)
{
    (void)state;
    long long before = test_value(admin, "SELECT count(*) FROM replay_runs");
    struct store_batch *b = store_batch_new(worker, 1);
    assert_non_null(b);
    assert_null(store_batch_new(worker, 2));                 /* one per process */
    assert_int_equal(store_batch_begin(worker), 0);
    const char *v[] = { "batch-ok" };
    assert_int_equal(store_cmd(worker, "label", SQL_LABEL, 1, v), 0);      /* queued: fine so far */
    const char *bad[] = { "c", "crypto" };
    assert_int_equal(store_cmd(worker, "bad_insert", SQL_BAD, 2, bad), 0); /* the failure shows later */
    assert_int_equal(store_batch_commit(worker), -1);
    assert_int_equal(store_cmd(worker, "label", SQL_LABEL, 1, v), -1);     /* the batch has failed */
    assert_int_equal(store_batch_finish(b), -1);
    store_batch_free(b);
    /* nothing of it was kept, and the connection works */
    assert_int_equal(test_value(admin, "SELECT count(*) FROM replay_runs"), before);
    assert_int_equal(store_cmd(worker, "label", SQL_LABEL, 1, v), 0);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM replay_runs"), before + 1);
}

static void savepoint_rollback_drops_or_poisons(void **state)
{
    (void)state;
    long long before = test_value(admin, "SELECT count(*) FROM replay_runs");
    struct store_batch *b = store_batch_new(worker, 1);
    assert_non_null(b);
    assert_int_equal(store_batch_begin(worker), 0);
    int nested;
    assert_int_equal(store_begin(worker, &nested), 0);       /* a mark, nothing sent */
    store_rollback(worker, nested);                          /* nothing since: nothing lost */
    const char *v[] = { "kept" };
    assert_int_equal(store_cmd(worker, "label", SQL_LABEL, 1, v), 0);
    PGresult *r = store_run(worker, "count", "SELECT count(*) FROM replay_runs WHERE label = $1", 1, v);
    assert_non_null(r);                                      /* the queue went first, in order */
    assert_int_equal(strtoll(PQgetvalue(r, 0, 0), NULL, 10), 1);
    PQclear(r);
    assert_int_equal(store_batch_commit(worker), 0);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM replay_runs"), before + 1);
    /* a rollback after statements went out: the whole transaction goes */
    assert_int_equal(store_batch_begin(worker), 0);
    assert_int_equal(store_begin(worker, &nested), 0);
    assert_int_equal(store_cmd(worker, "label", SQL_LABEL, 1, v), 0);
    store_rollback(worker, nested);
    assert_int_equal(store_batch_commit(worker), -1);
    assert_int_equal(store_batch_finish(b), -1);
    store_batch_free(b);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM replay_runs"), before + 1);
}

/* ---- the staging and the settlements not waited for -------------------------- */

static const char SQL_T_DECISION[] =
    "INSERT INTO decisions (id, cycle_id, mode, intensity, source, reason, inputs, menu, session, next_seconds, "
    "                       next_decision_at, status, run_id) "
    "VALUES ($1::bigint, 'test', 'crypto', 'normal', 'fallback', 'test', '{}', '{}', 'closed', 900, now(), "
    "        'acting', $2::bigint)";
static const char SQL_T_TRIGGER[] =
    "INSERT INTO triggers (id, decision_id, workflow, idempotency_key, payload, status) "
    "VALUES ($1::bigint, $2::bigint, (SELECT min(name) FROM workflows), 'test-' || $1, '{}', 'sent')";

static long long new_run(const char *label)
{
    long long run_id = 0;
    assert_int_equal(store_replay_begin(worker, label, 1, "{}", "[]", 1736121600, 1736125200, &run_id), 0);
    return run_id;
}

/* A decision 'acting' with one trigger 'sent' written through writer b
 * (under the statement names of store.c's, which it knows).  Returns its id. */
static long long staged_decision(struct store_batch *b, long long run_id)
{
    long long d = store_batch_next_id(b, 0), t = store_batch_next_id(b, 1);
    assert_true(d > 0 && t > 0);
    char ds[24], ts[24], rs[24];
    snprintf(ds, sizeof ds, "%lld", d);
    snprintf(ts, sizeof ts, "%lld", t);
    snprintf(rs, sizeof rs, "%lld", run_id);
    const char *dv[] = { ds, rs }, *tv[] = { ts, ds };
    assert_int_equal(store_cmd(worker, "insert_decision", SQL_T_DECISION, 2, dv), 0);
    assert_int_equal(store_cmd(worker, "insert_trigger", SQL_T_TRIGGER, 2, tv), 0);
    assert_int_equal(store_batch_note_decision(b, d, 1736121600, "crypto", "acting"), 0);
    return d;
}

/* What the admin sees of run_id: decisions, triggers, decisions with status. */
static long long count_run(long long run_id, const char *what, const char *status)
{
    char rs[24];
    snprintf(rs, sizeof rs, "%lld", run_id);
    const char *vals[2] = { rs, status };
    if (strcmp(what, "triggers") == 0)
        return test_valuep(admin, "SELECT count(*) FROM triggers t JOIN decisions d ON d.id = t.decision_id "
                                        "WHERE d.run_id = $1::bigint", 1, vals);
    if (status)
        return test_valuep(admin, "SELECT count(*) FROM decisions WHERE run_id = $1::bigint AND status = $2",
                                 2, vals);
    return test_valuep(admin, "SELECT count(*) FROM decisions WHERE run_id = $1::bigint", 1, vals);
}

/* No staging on the worker's connection (asked through the writer when
 * one is attached). */
static void assert_unstaged(void)
{
    PGresult *r = store_run(worker, "staging", "SELECT count(*) FROM pg_class WHERE relpersistence = 't' "
                                               "AND relname IN ('decisions', 'triggers', 'llm_calls')", 0, NULL);
    assert_non_null(r);
    assert_string_equal(PQgetvalue(r, 0, 0), "0");
    PQclear(r);
}

static void settlement_is_checked_not_waited_for(void **state)
{
    (void)state;
    long long run = new_run("settle");
    struct store_batch *b = store_batch_new(worker, run);
    assert_non_null(b);
    char st[16];
    assert_int_equal(store_batch_begin(worker), 0);
    long long d1 = staged_decision(b, run);
    /* the expected status is the answer at once; the database agrees at the commit */
    assert_int_equal(store_decision_settle_expect(worker, d1, "succeeded", st, sizeof st), 1);
    assert_string_equal(st, "succeeded");
    /* no expectation: no change from what the writer noted */
    assert_int_equal(store_decision_settle(worker, d1, st, sizeof st), 1);
    assert_string_equal(st, "succeeded");
    store_batch_final_below(worker, 0);
    assert_int_equal(store_batch_commit(worker), 0);
    assert_int_equal(count_run(run, "decisions", "succeeded"), 1);
    /* an expectation the database's rule does not give fails the batch */
    assert_int_equal(store_batch_begin(worker), 0);
    long long d2 = staged_decision(b, run);
    assert_int_equal(store_decision_settle_expect(worker, d2, "failed", st, sizeof st), 1);
    assert_string_equal(st, "failed");
    assert_int_equal(store_batch_commit(worker), -1);
    assert_int_equal(store_batch_finish(b), -1);
    store_batch_free(b);
    assert_int_equal(count_run(run, "decisions", NULL), 1);
    assert_unstaged();
}

static void staged_rows_move_once_final(void **state)
{
    (void)state;
    long long run = new_run("staged");
    struct store_batch *b = store_batch_new(worker, run);
    assert_non_null(b);
    assert_int_equal(store_batch_begin(worker), 0);
    long long d1 = staged_decision(b, run), d2 = staged_decision(b, run);
    assert_int_equal(store_decision_done(worker, d1, "partial"), 0);
    store_batch_final_below(worker, d2);       /* d1 changes no more, d2 may */
    assert_int_equal(store_batch_commit(worker), 0);
    assert_int_equal(count_run(run, "decisions", "partial"), 1);
    assert_int_equal(count_run(run, "decisions", NULL), 1);
    assert_int_equal(count_run(run, "triggers", NULL), 1);
    /* d2 changes in the staging, and arrives as it ended */
    assert_int_equal(store_batch_begin(worker), 0);
    assert_int_equal(store_decision_done(worker, d2, "failed"), 0);
    assert_int_equal(store_batch_commit(worker), 0);
    assert_int_equal(count_run(run, "decisions", NULL), 1);
    assert_int_equal(store_batch_finish(b), 0);
    store_batch_free(b);
    assert_int_equal(count_run(run, "decisions", "failed"), 1);
    assert_int_equal(count_run(run, "decisions", NULL), 2);
    assert_int_equal(count_run(run, "triggers", NULL), 2);
    assert_unstaged();
}

static void unknown_statement_ends_the_staging(void **state)
{
    (void)state;
    long long run = new_run("unknown");
    struct store_batch *b = store_batch_new(worker, run);
    assert_non_null(b);
    assert_int_equal(store_batch_begin(worker), 0);
    long long d1 = staged_decision(b, run);
    assert_int_equal(store_decision_done(worker, d1, "partial"), 0);      /* prepared on the staging */
    /* a statement the writer does not know reads the tables: what was staged is there */
    char rs[24];
    snprintf(rs, sizeof rs, "%lld", run);
    const char *v[] = { rs };
    PGresult *r = store_run(worker, "count", "SELECT count(*) FROM decisions WHERE run_id = $1::bigint", 1, v);
    assert_non_null(r);
    assert_int_equal(strtoll(PQgetvalue(r, 0, 0), NULL, 10), 1);
    PQclear(r);
    assert_unstaged();
    /* the same prepared statement now writes the table */
    assert_int_equal(store_decision_done(worker, d1, "failed"), 0);
    assert_int_equal(store_batch_commit(worker), 0);
    assert_int_equal(store_batch_finish(b), 0);
    store_batch_free(b);
    assert_int_equal(count_run(run, "decisions", "failed"), 1);
    assert_int_equal(count_run(run, "triggers", NULL), 1);
}

int main(void)
{
    log_init("test_replay_db", LOG_ERROR);   /* the failures provoked below are logged */
    char err[256];
    if (cfg_load_from(&g_cfg, env, NULL, err, sizeof err) < 0) {
        fprintf(stderr, "test_replay_db: %s\n", err);
        return 1;
    }
    const char *super = getenv("PGUSER") ? getenv("PGUSER") : "postgres";
    admin = test_connect(super);
    worker = test_connect("orch_worker");
    if (!admin || !worker) {
        fprintf(stderr, "test_replay_db: no database: run through tests/db/run.sh\n");
        return 1;
    }
    /* the replay simulates the shipped catalog's workflows; their rows must exist */
    seed_install();
    char *entries = catalog_live_entries();
    if (!entries || store_catalog_ensure(worker, entries) < 0) {
        fprintf(stderr, "test_replay_db: the catalog's workflows could not be recorded\n");
        free(entries);
        return 1;
    }
    free(entries);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(batched_rows_are_the_unbatched_ones, reset),
        cmocka_unit_test_setup(failed_statement_fails_the_batch, reset),
        cmocka_unit_test_setup(savepoint_rollback_drops_or_poisons, reset),
        cmocka_unit_test_setup(settlement_is_checked_not_waited_for, reset),
        cmocka_unit_test_setup(staged_rows_move_once_final, reset),
        cmocka_unit_test_setup(unknown_statement_ends_the_staging, reset),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    PQfinish(admin);
    PQfinish(worker);
    cfg_free(&g_cfg);
    return rc;
}
