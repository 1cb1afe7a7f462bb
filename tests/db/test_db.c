/* Database tests: the worker's store.c and the schema against a real,
 * throwaway PostgreSQL (started by tests/db/run.sh, which exports PGHOST
 * and PGDATABASE).  Each test starts from empty tables. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <libpq-fe.h>

#include "catalog.h"
#include "db.h"
#include "decide.h"
#include "log.h"
#include "store.h"

static PGconn *admin;     /* superuser: setup and inspection */
static PGconn *worker;    /* role orch_worker, as the worker runs */

static PGconn *test_connect(const char *user)
{
    char info[512];
    const char *host = getenv("PGHOST");
    const char *db = getenv("PGDATABASE");
    snprintf(info, sizeof info, "host=%s dbname=%s user=%s", host ? host : "/tmp", db ? db : "orchestrator", user);
    PGconn *c = PQconnectdb(info);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "cannot connect as %s: %s", user, PQerrorMessage(c));
        PQfinish(c);
        return NULL;
    }
    return c;
}

/* Run sql as admin; fail the test on error. */
static void test_sql(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        fail_msg("SQL failed: %s: %s", sql, PQresultErrorMessage(r));
    PQclear(r);
}

/* The single value of a one-row query, as a long long. */
static long long test_value(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
        fail_msg("query failed: %s: %s", sql, PQresultErrorMessage(r));
    long long v = PQgetisnull(r, 0, 0) ? -1 : strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return v;
}

/* The single text value of a one-row query into out. */
static void test_text(PGconn *c, const char *sql, char *out, size_t cap)
{
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
        fail_msg("query failed: %s: %s", sql, PQresultErrorMessage(r));
    snprintf(out, cap, "%s", PQgetisnull(r, 0, 0) ? "(null)" : PQgetvalue(r, 0, 0));
    PQclear(r);
}

static int reset(void **state)
{
    (void)state;
    test_sql(admin, "TRUNCATE control_commands, triggers, probes, decisions RESTART IDENTITY CASCADE");
    test_sql(admin, "UPDATE worker_state SET running = true, pid = NULL, heartbeat_at = NULL, "
                    "current_mode = NULL, last_decision_id = NULL, next_decision_at = NULL, sources = '{}'");
    return 0;
}

/* A weekday afternoon in London with New York open and DexScreener healthy. */
static void test_snapshot(struct sense_snapshot *s)
{
    memset(s, 0, sizeof *s);
    s->now = 1773763200 + 14 * 3600;      /* 2026-03-17 14:00 UTC, a Tuesday */
    s->sessions.market_open = 1;
    s->sessions.open[SESSION_LONDON] = 1;
    s->sessions.open[SESSION_NEWYORK] = 1;
    s->sessions.nopen = 2;
    s->session_label = "london_newyork";
    s->probes[FEED_DEXSCREENER] = (struct sense_probe){ .configured = 1, .ok = 1, .http_status = 200, .latency_ms = 42 };
    s->probes[FEED_PUMPFUN] = (struct sense_probe){ .configured = 1, .ok = 0, .http_status = 403, .latency_ms = 12 };
    snprintf(s->probes[FEED_PUMPFUN].error, sizeof s->probes[0].error, "HTTP 403");
    s->market.crypto_valid = 1;
    s->market.pairs = 3;
    s->market.crypto_volatility = 1.5;
    s->market.volatility = 1.5;
    s->load1 = 0.2;
    s->ncpu = 2;
    s->load_per_core = 0.1;
}

static struct cfg test_cfg = {
    .decision_min_seconds = 60, .decision_max_seconds = 3600,
    .load_high = 0.9, .volatility_high = 3.0, .volatility_low = 0.5,
};

static void decide_for(const struct sense_snapshot *s, struct decide_menu *m, struct decide_choice *ch)
{
    char err[200];
    decide_menu_build(&test_cfg, s, m);
    decide_fallback(&test_cfg, s, m, ch);
    assert_int_equal(decide_validate(m, ch, err, sizeof err), 0);
}

static void decision_and_triggers_committed_together(void **state)
{
    (void)state;
    struct sense_snapshot s;
    struct decide_menu m;
    struct decide_choice ch;
    struct store_decision d;
    test_snapshot(&s);
    decide_for(&s, &m, &ch);
    assert_true(ch.nwf >= 2);
    assert_int_equal(store_decision(worker, "cyc1", &s, &m, &ch, 0, NULL, &d), 0);
    assert_int_equal(d.id, 1);
    assert_int_equal(d.ntriggers, ch.nwf);
    assert_int_equal(d.next_at, s.now + ch.next_seconds);

    assert_int_equal(test_value(admin, "SELECT count(*) FROM decisions WHERE status = 'pending' AND mode = 'hybrid'"), 1);
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM triggers WHERE decision_id = 1 AND status = 'pending'");
    assert_int_equal(test_value(admin, sql), ch.nwf);
    assert_int_equal(test_value(admin, "SELECT count(DISTINCT idempotency_key) FROM triggers"), ch.nwf);
    /* the payload stored is the payload that will be sent */
    assert_int_equal(test_value(admin, "SELECT count(*) FROM triggers WHERE (payload->>'decision_id')::int = 1 "
                                       "AND payload->>'idempotency_key' = idempotency_key "
                                       "AND (payload->>'trigger_id')::int = id"), ch.nwf);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM probes WHERE cycle_id = 'cyc1'"), 2);
    assert_int_equal(test_value(admin, "SELECT last_decision_id FROM worker_state"), 1);
    char txt[256];
    test_text(admin, "SELECT sources->'dexscreener'->>'ok' FROM worker_state", txt, sizeof txt);
    assert_string_equal(txt, "true");
    test_text(admin, "SELECT session || ' ' || array_to_string(sessions, ',') FROM decisions", txt, sizeof txt);
    assert_string_equal(txt, "london_newyork london,newyork");
    test_text(admin, "SELECT inputs->'market'->'crypto'->>'pairs' FROM decisions", txt, sizeof txt);
    assert_string_equal(txt, "3");
    store_decision_clear(&d);
}

static void failed_insert_leaves_nothing(void **state)
{
    (void)state;
    struct sense_snapshot s;
    struct decide_menu m;
    struct decide_choice ch;
    struct store_decision d;
    test_snapshot(&s);
    decide_for(&s, &m, &ch);
    /* occupy the idempotency key the next decision's first trigger will want */
    char sql[512];
    test_sql(admin, "INSERT INTO decisions (id, cycle_id, mode, intensity, source, reason, inputs, menu, session, "
                    "next_seconds, next_decision_at) VALUES (1000, 'x', 'standby', 'light', 'fallback', 'x', '{}', "
                    "'{}', 'closed', 60, now())");
    snprintf(sql, sizeof sql, "INSERT INTO triggers (decision_id, workflow, idempotency_key, payload) "
             "VALUES (1000, '%s', 'orch-1-%s', '{}')", catalog_workflow(ch.wf[0])->path, catalog_workflow(ch.wf[0])->path);
    test_sql(admin, sql);
    assert_int_equal(store_decision(worker, "cyc2", &s, &m, &ch, 0, NULL, &d), -1);
    assert_int_equal(d.ntriggers, 0);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM decisions WHERE id <> 1000"), 0);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM probes"), 0);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM worker_state WHERE last_decision_id IS NULL"), 1);
    /* the connection is usable again afterwards */
    assert_int_equal(store_heartbeat(worker), 0);
}

static void delivery_outcomes_recorded(void **state)
{
    (void)state;
    struct sense_snapshot s;
    struct decide_menu m;
    struct decide_choice ch;
    struct store_decision d;
    test_snapshot(&s);
    decide_for(&s, &m, &ch);
    assert_int_equal(store_decision(worker, "cyc3", &s, &m, &ch, 0, NULL, &d), 0);
    assert_int_equal(store_mark_sending(worker, d.id), 0);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM triggers WHERE status = 'sending' AND attempts = 1 "
                                       "AND started_at IS NOT NULL"), d.ntriggers);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM decisions WHERE status = 'acting'"), 1);
    struct act_job ok = { .status = ACT_SENT, .http_status = 200, .latency_ms = 12.4 };
    snprintf(ok.response, sizeof ok.response, "{\"message\":\"Workflow was started\"}");
    struct act_job gone = { .status = ACT_UNAVAILABLE, .http_status = 404, .latency_ms = 3 };
    snprintf(gone.error, sizeof gone.error, "webhook not registered");
    assert_int_equal(store_trigger_result(worker, d.t[0].id, &ok), 0);
    assert_int_equal(store_trigger_result(worker, d.t[1].id, &gone), 0);
    assert_int_equal(store_decision_done(worker, d.id, "partial"), 0);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM triggers WHERE status = 'sent' AND http_status = 200 "
                                       "AND latency_ms = 12 AND response LIKE '%started%' AND finished_at IS NOT NULL"), 1);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM triggers WHERE status = 'unavailable' AND http_status = 404 "
                                       "AND error = 'webhook not registered'"), 1);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM decisions WHERE status = 'partial' "
                                       "AND completed_at IS NOT NULL"), 1);
    store_decision_clear(&d);
}

static void dry_run_and_no_action(void **state)
{
    (void)state;
    struct sense_snapshot s;
    struct decide_menu m;
    struct decide_choice ch;
    struct store_decision d;
    test_snapshot(&s);
    decide_for(&s, &m, &ch);
    assert_int_equal(store_decision(worker, "cyc4", &s, &m, &ch, 1, NULL, &d), 0);
    store_decision_clear(&d);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM decisions WHERE status = 'dry_run' AND dry_run "
                                       "AND completed_at = decided_at"), 1);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM triggers WHERE status <> 'dry_run' OR finished_at IS NULL"), 0);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM worker_state WHERE dry_run"), 1);

    ch.mode = MODE_STANDBY;
    ch.nwf = 0;
    assert_int_equal(store_decision(worker, "cyc5", &s, &m, &ch, 0, NULL, &d), 0);
    store_decision_clear(&d);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM decisions WHERE status = 'no_action' AND prev_mode = 'hybrid'"), 0);
    /* prev_mode comes from history, which the cycle fills: */
    s.history.last_mode[0] = '\0';
    snprintf(s.history.last_mode, sizeof s.history.last_mode, "hybrid");
    assert_int_equal(store_decision(worker, "cyc6", &s, &m, &ch, 0, NULL, &d), 0);
    store_decision_clear(&d);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM decisions WHERE status = 'no_action' AND prev_mode = 'hybrid'"), 1);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM decisions WHERE status = 'no_action' AND completed_at IS NULL"), 0);
}

static void recovery_marks_unfinished_work(void **state)
{
    (void)state;
    test_sql(admin, "INSERT INTO decisions (id, cycle_id, mode, intensity, source, reason, inputs, menu, session, "
                    "next_seconds, next_decision_at, status) VALUES (1, 'c', 'crypto', 'normal', 'fallback', 'r', '{}', "
                    "'{}', 'closed', 60, now(), 'acting'), (2, 'c', 'crypto', 'normal', 'fallback', 'r', '{}', '{}', "
                    "'closed', 60, now(), 'succeeded')");
    test_sql(admin, "INSERT INTO triggers (decision_id, workflow, idempotency_key, payload, status) VALUES "
                    "(1, 'crypto-normal-scan', 'k1', '{}', 'sending'), (1, 'health-monitor-check', 'k2', '{}', 'pending'), "
                    "(2, 'crypto-normal-scan', 'k3', '{}', 'sent')");
    assert_int_equal(store_recover(worker), 0);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM triggers WHERE idempotency_key = 'k1' AND status = 'unknown'"), 1);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM triggers WHERE idempotency_key = 'k2' AND status = 'abandoned'"), 1);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM triggers WHERE idempotency_key = 'k3' AND status = 'sent'"), 1);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM decisions WHERE id = 1 AND status = 'interrupted'"), 1);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM decisions WHERE id = 2 AND status = 'succeeded'"), 1);
    /* running it again changes nothing */
    assert_int_equal(store_recover(worker), 0);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM triggers WHERE status IN ('pending','sending')"), 0);
}

static void control_commands_wake_the_worker(void **state)
{
    (void)state;
    PGconn *api = test_connect("orch_api");
    assert_non_null(api);
    assert_int_equal(db_listen(worker, "orch_control"), 0);
    assert_int_equal(db_drain_notifies(worker), 0);
    test_sql(api, "INSERT INTO control_commands (command, requested_by) VALUES ('stop', '127.0.0.1')");
    test_sql(api, "INSERT INTO control_commands (command, requested_by) VALUES ('force_decision', '127.0.0.1')");
    assert_int_equal(db_wait(worker, 2000), 1);
    assert_true(db_drain_notifies(worker) >= 1);
    struct store_cmd cmds[4];
    assert_int_equal(store_take_commands(worker, cmds, 4), 2);
    assert_int_equal(cmds[0].cmd, STORE_CMD_STOP);
    assert_int_equal(cmds[1].cmd, STORE_CMD_FORCE);
    assert_int_equal(store_command_done(worker, cmds[0].id, "done", "stopped", 0), 0);
    assert_int_equal(store_set_running(worker, 0), 0);
    assert_int_equal(store_take_commands(worker, cmds, 4), 1);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM worker_state WHERE NOT running"), 1);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM control_commands WHERE status = 'done' "
                                       "AND result = 'stopped' AND processed_at IS NOT NULL"), 1);
    test_sql(worker, "UNLISTEN *");
    PQfinish(api);
}

static void api_role_reads_but_cannot_write(void **state)
{
    (void)state;
    PGconn *api = test_connect("orch_api");
    assert_non_null(api);
    const char *denied[] = {
        "INSERT INTO decisions (cycle_id, mode, intensity, source, reason, inputs, menu, session, next_seconds, "
        "next_decision_at) VALUES ('x', 'standby', 'light', 'fallback', 'x', '{}', '{}', 'closed', 60, now())",
        "UPDATE worker_state SET running = false",
        "DELETE FROM control_commands",
        "UPDATE control_commands SET status = 'done'",
        "INSERT INTO triggers (decision_id, workflow, idempotency_key, payload) VALUES (1, 'crypto-normal-scan', 'k', '{}')",
    };
    for (size_t i = 0; i < sizeof denied / sizeof denied[0]; i++) {
        PGresult *r = PQexec(api, denied[i]);
        assert_int_equal(PQresultStatus(r), PGRES_FATAL_ERROR);
        assert_non_null(strstr(PQresultErrorMessage(r), "permission denied"));
        PQclear(r);
    }
    PGresult *r = PQexec(api, "SELECT running FROM worker_state");
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    PQclear(r);
    PQfinish(api);
}

static void schema_rejects_bad_values(void **state)
{
    (void)state;
    const char *bad[] = {
        "INSERT INTO decisions (cycle_id, mode, intensity, source, reason, inputs, menu, session, next_seconds, "
        "next_decision_at) VALUES ('x', 'moon', 'light', 'fallback', 'x', '{}', '{}', 'closed', 60, now())",
        "INSERT INTO decisions (cycle_id, mode, intensity, source, reason, inputs, menu, session, next_seconds, "
        "next_decision_at) VALUES ('x', 'crypto', 'light', 'fallback', 'x', '{}', '{}', 'closed', 0, now())",
        "INSERT INTO control_commands (command) VALUES ('self_destruct')",
        "INSERT INTO probes (source, ok) VALUES ('nasdaq', true)",
        "INSERT INTO worker_state (id) VALUES (2)",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        PGresult *r = PQexec(admin, bad[i]);
        assert_int_equal(PQresultStatus(r), PGRES_FATAL_ERROR);
        PQclear(r);
    }
}

static void history_and_reporting_views(void **state)
{
    (void)state;
    test_sql(admin, "INSERT INTO decisions (cycle_id, decided_at, mode, intensity, source, reason, inputs, menu, session, "
                    "next_seconds, next_decision_at, status) SELECT 'c', now() - (i || ' minutes')::interval, "
                    "CASE WHEN i % 2 = 0 THEN 'crypto' ELSE 'forex' END, 'normal', "
                    "CASE WHEN i % 3 = 0 THEN 'forced' ELSE 'fallback' END, 'r', '{}', '{}', 'london', 60, now(), "
                    "CASE WHEN i % 4 = 0 THEN 'failed' ELSE 'succeeded' END FROM generate_series(1, 12) i");
    struct sense_history h;
    assert_int_equal(store_history(worker, time(NULL), &h), 0);
    assert_int_equal(h.decisions_24h, 12);
    assert_int_equal(h.acted_24h, 12);
    assert_int_equal(h.succeeded_24h, 9);
    assert_int_equal(h.nrecent, 5);
    assert_true(h.recent[0].id > h.recent[1].id);
    assert_string_equal(h.last_mode, h.recent[0].mode);
    /* crypto: i = 2,4,6,8,10,12 -> failed at 4,8,12 */
    assert_int_equal(test_value(admin, "SELECT succeeded FROM success_by_mode_session WHERE mode = 'crypto'"), 3);
    assert_int_equal(test_value(admin, "SELECT (success_rate_pct * 10)::int FROM success_by_mode_session "
                                       "WHERE mode = 'forex' AND session = 'london'"), 1000);
    assert_int_equal(test_value(admin, "SELECT sum(decisions) FROM decisions_per_day"), 12);
    assert_int_equal(test_value(admin, "SELECT sum(forced) FROM decisions_per_day"), 4);
}

static void old_probes_pruned(void **state)
{
    (void)state;
    test_sql(admin, "INSERT INTO probes (source, probed_at, ok) VALUES ('dexscreener', now() - interval '10 days', true), "
                    "('dexscreener', now() - interval '2 hours', true), ('pumpfun', now(), false)");
    assert_int_equal(store_prune_probes(worker, 24), 1);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM probes"), 2);
    assert_int_equal(store_prune_probes(worker, 1), 1);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM probes"), 1);
}

static void worker_registration(void **state)
{
    (void)state;
    int running = -1;
    time_t next = -1;
    test_sql(admin, "UPDATE worker_state SET running = false, next_decision_at = to_timestamp(2000000000)");
    assert_int_equal(store_worker_start(worker, 1, &running, &next), 0);
    assert_int_equal(running, 0);
    assert_int_equal(next, 2000000000);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM worker_state WHERE pid IS NOT NULL AND heartbeat_at IS NOT NULL "
                                       "AND dry_run AND version IS NOT NULL"), 1);
    assert_int_equal(store_worker_stop(worker), 0);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM worker_state WHERE pid IS NULL AND heartbeat_at IS NULL"), 1);
}

static void migrations_recorded(void **state)
{
    (void)state;
    assert_true(test_value(admin, "SELECT count(*) FROM schema_migrations WHERE version = 1") == 1);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM worker_state"), 1);
}

int main(void)
{
    log_init("test_db", LOG_ERROR);
    const char *super = getenv("PGUSER") ? getenv("PGUSER") : "postgres";
    admin = test_connect(super);
    worker = test_connect("orch_worker");
    if (!admin || !worker) {
        fprintf(stderr, "test_db: no database: run through tests/db/run.sh\n");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(migrations_recorded, reset),
        cmocka_unit_test_setup(decision_and_triggers_committed_together, reset),
        cmocka_unit_test_setup(failed_insert_leaves_nothing, reset),
        cmocka_unit_test_setup(delivery_outcomes_recorded, reset),
        cmocka_unit_test_setup(dry_run_and_no_action, reset),
        cmocka_unit_test_setup(recovery_marks_unfinished_work, reset),
        cmocka_unit_test_setup(control_commands_wake_the_worker, reset),
        cmocka_unit_test_setup(api_role_reads_but_cannot_write, reset),
        cmocka_unit_test_setup(schema_rejects_bad_values, reset),
        cmocka_unit_test_setup(history_and_reporting_views, reset),
        cmocka_unit_test_setup(old_probes_pruned, reset),
        cmocka_unit_test_setup(worker_registration, reset),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    PQfinish(worker);
    PQfinish(admin);
    return rc;
}
