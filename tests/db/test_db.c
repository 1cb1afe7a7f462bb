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
#include <time.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <libpq-fe.h>

#include "act.h"
#include "catalog.h"
#include "db.h"
#include "decide.h"
#include "log.h"
#include "record.h"
#include "store.h"
#include "store_sql.h"
#include "../unit/seed.h"

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

/* Run sql with n $n parameters; fail the test on error. */
static void test_sqlp(PGconn *c, const char *sql, int n, const char *const *vals)
{
    PGresult *r = PQexecParams(c, sql, n, NULL, vals, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        fail_msg("SQL failed: %s: %s", sql, PQresultErrorMessage(r));
    PQclear(r);
}

/* The single value of a one-row query with n $n parameters, as a long long. */
static long long test_valuep(PGconn *c, const char *sql, int n, const char *const *vals)
{
    PGresult *r = PQexecParams(c, sql, n, NULL, vals, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
        fail_msg("query failed: %s: %s", sql, PQresultErrorMessage(r));
    long long v = PQgetisnull(r, 0, 0) ? -1 : strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return v;
}

/* The single value of a one-row query, as a long long. */
static long long test_value(PGconn *c, const char *sql)
{
    return test_valuep(c, sql, 0, NULL);
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
    test_sql(admin, "TRUNCATE control_commands, triggers, probes, decisions, replay_runs, decision_gaps, workers "
                    "RESTART IDENTITY CASCADE");
    test_sql(admin, "UPDATE leader_lease SET epoch = 0, holder = NULL, backend_pid = NULL, acquired_at = NULL, "
                    "renewed_at = NULL, expires_at = NULL, released_at = NULL");
    test_sql(admin, "UPDATE worker_state SET running = true, pid = NULL, heartbeat_at = NULL, "
                    "current_mode = NULL, last_decision_id = NULL, next_decision_at = NULL, sources = '{}'");
    test_sql(admin, "UPDATE workflow_state SET available = true, unavailable_since = NULL, unavailable_reason = NULL, "
                    "circuit = 'closed', consecutive_failures = 0, open_until = NULL, circuit_opened_at = NULL, "
                    "circuit_opens = 0, running = 0, n8n_id = NULL, n8n_name = NULL, n8n_active = NULL, n8n_seen_at = NULL");
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
    assert_int_equal(record_decision(worker, "cyc1", &s, &m, &ch, 0, NULL, &d), 0);
    assert_int_equal(d.id, 1);
    assert_int_equal(d.ntriggers, ch.nwf);
    assert_int_equal(d.next_at, s.now + ch.next_seconds);

    assert_int_equal(test_value(admin, "SELECT count(*) FROM decisions WHERE status = 'pending' AND mode = 'hybrid'"), 1);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM triggers WHERE decision_id = 1 AND status = 'pending'"), ch.nwf);
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
    test_sql(admin, "INSERT INTO decisions (id, cycle_id, mode, intensity, source, reason, inputs, menu, session, "
                    "next_seconds, next_decision_at) VALUES (1000, 'x', 'standby', 'light', 'fallback', 'x', '{}', "
                    "'{}', 'closed', 60, now())");
    const char *path[1] = { catalog_name(ch.wf[0]) };
    test_sqlp(admin, "INSERT INTO triggers (decision_id, workflow, idempotency_key, payload) "
                     "VALUES (1000, $1, 'orch-1-' || $1, '{}')", 1, path);
    assert_int_equal(record_decision(worker, "cyc2", &s, &m, &ch, 0, NULL, &d), -1);
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
    assert_int_equal(record_decision(worker, "cyc3", &s, &m, &ch, 0, NULL, &d), 0);
    assert_int_equal(store_mark_sending(worker, d.id), 0);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM triggers WHERE status = 'sending' AND attempts = 1 "
                                       "AND started_at IS NOT NULL"), d.ntriggers);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM decisions WHERE status = 'acting'"), 1);
    struct act_job ok = { .status = ACT_SENT, .http_status = 200, .latency_ms = 12.4 };
    snprintf(ok.response, sizeof ok.response, "{\"message\":\"Workflow was started\"}");
    struct act_job gone = { .status = ACT_UNAVAILABLE, .http_status = 404, .latency_ms = 3 };
    snprintf(gone.error, sizeof gone.error, "webhook not registered");
    assert_int_equal(store_trigger_result(worker, d.t[0].id, act_status_name(ok.status), &ok), 0);
    assert_int_equal(store_trigger_result(worker, d.t[1].id, act_status_name(gone.status), &gone), 0);
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
    assert_int_equal(record_decision(worker, "cyc4", &s, &m, &ch, 1, NULL, &d), 0);
    store_decision_clear(&d);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM decisions WHERE status = 'dry_run' AND dry_run "
                                       "AND completed_at = decided_at"), 1);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM triggers WHERE status <> 'dry_run' OR finished_at IS NULL"), 0);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM worker_state WHERE dry_run"), 1);

    ch.mode = MODE_STANDBY;
    ch.nwf = 0;
    assert_int_equal(record_decision(worker, "cyc5", &s, &m, &ch, 0, NULL, &d), 0);
    store_decision_clear(&d);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM decisions WHERE status = 'no_action' AND prev_mode = 'hybrid'"), 0);
    /* prev_mode comes from history, which the cycle fills: */
    s.history.last_mode[0] = '\0';
    snprintf(s.history.last_mode, sizeof s.history.last_mode, "hybrid");
    assert_int_equal(record_decision(worker, "cyc6", &s, &m, &ch, 0, NULL, &d), 0);
    store_decision_clear(&d);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM decisions WHERE status = 'no_action' AND prev_mode = 'hybrid'"), 1);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM decisions WHERE status = 'no_action' AND completed_at IS NULL"), 0);
}

/* Decision 1 (acting) with triggers in every unfinished state, decision 2
 * (succeeded), and a replay's decision 3 whose rows are not the worker's. */
static void takeover_fixture(void)
{
    test_sql(admin, "INSERT INTO replay_runs (id, seed) VALUES (1, 1)");
    test_sql(admin, "INSERT INTO decisions (id, cycle_id, mode, intensity, source, reason, inputs, menu, session, "
                    "next_seconds, next_decision_at, status, decided_at, run_id) VALUES "
                    "(1, 'c', 'crypto', 'normal', 'fallback', 'r', '{}', '{}', 'closed', 60, now(), 'acting', now(), NULL), "
                    "(2, 'c', 'crypto', 'normal', 'fallback', 'r', '{}', '{}', 'closed', 60, now(), 'succeeded', now(), NULL), "
                    "(3, 'c', 'crypto', 'normal', 'fallback', 'r', '{}', '{}', 'closed', 60, now(), 'acting', now(), 1), "
                    "(4, 'c', 'crypto', 'normal', 'fallback', 'r', '{}', '{}', 'closed', 60, now(), 'pending', "
                    " now() - interval '2 hours', NULL)");
    test_sql(admin, "INSERT INTO triggers (id, decision_id, workflow, idempotency_key, payload, status, claimed_at, "
                    "claimed_execution_id, created_at) VALUES "
                    "(1, 1, 'crypto-normal-scan', 'k1', '{}', 'sending', now(), '41', now()), "     /* claimed */
                    "(2, 1, 'crypto-light-monitoring', 'k2', '{}', 'sending', NULL, NULL, now()), " /* claims, not claimed */
                    "(3, 1, 'health-monitor-check', 'k3', '{}', 'sending', NULL, NULL, now()), "    /* does not claim */
                    "(4, 1, 'deep-market-analysis', 'k4', '{}', 'pending', NULL, NULL, now()), "    /* outbox */
                    "(5, 2, 'crypto-normal-scan', 'k5', '{}', 'sent', NULL, NULL, now()), "
                    "(6, 3, 'crypto-normal-scan', 'k6', '{}', 'sending', NULL, NULL, now()), "      /* a replay's */
                    "(7, 4, 'crypto-normal-scan', 'k7', '{}', 'pending', NULL, NULL, now() - interval '2 hours')");
}

static void takeover_reconciles_what_a_dead_leader_left(void **state)
{
    (void)state;
    takeover_fixture();
    const char *claiming[] = { "crypto-normal-scan", "crypto-light-monitoring", "deep-market-analysis" };
    struct store_recovery rec;
    assert_int_equal(store_takeover_recover(worker, claiming, 3, 900, &rec), 0);
    assert_int_equal(rec.proven, 1);
    assert_int_equal(rec.resent, 1);
    assert_int_equal(rec.unknown, 1);
    assert_int_equal(rec.outbox, 1);
    assert_int_equal(rec.stale, 1);
    /* claimed: delivered, with the execution id the claim gave */
    assert_int_equal(test_value(admin, "SELECT count(*) FROM triggers WHERE id = 1 AND status = 'sent' "
                                       "AND execution_id = '41'"), 1);
    /* never claimed by a workflow that claims: sent again now */
    assert_int_equal(test_value(admin, "SELECT count(*) FROM triggers WHERE id = 2 AND status = 'retrying' "
                                       "AND next_attempt_at <= now()"), 1);
    /* a workflow that does not claim: unknown, never sent again */
    assert_int_equal(test_value(admin, "SELECT count(*) FROM triggers WHERE id = 3 AND status = 'unknown'"), 1);
    /* the outbox: committed, never sent: sent now */
    assert_int_equal(test_value(admin, "SELECT count(*) FROM triggers WHERE id = 4 AND status = 'retrying' "
                                       "AND attempts = 0"), 1);
    /* too old to be worth sending */
    assert_int_equal(test_value(admin, "SELECT count(*) FROM triggers WHERE id = 7 AND status = 'abandoned'"), 1);
    /* its decision had nothing open left: settled (failed) */
    assert_int_equal(test_value(admin, "SELECT count(*) FROM decisions WHERE id = 4 AND status = 'failed'"), 1);
    /* decision 1 still has triggers to send: acting */
    assert_int_equal(test_value(admin, "SELECT count(*) FROM decisions WHERE id = 1 AND status = 'acting'"), 1);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM triggers WHERE id = 5 AND status = 'sent'"), 1);
    /* the replay's rows are its own */
    assert_int_equal(test_value(admin, "SELECT count(*) FROM triggers WHERE id = 6 AND status = 'sending'"), 1);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM decisions WHERE id = 3 AND status = 'acting'"), 1);
    /* a second takeover finds nothing more to do */
    assert_int_equal(store_takeover_recover(worker, claiming, 3, 900, &rec), 0);
    assert_int_equal(rec.proven + rec.resent + rec.unknown + rec.outbox + rec.stale, 0);
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
    /* done exactly once, with the running flag in the same transaction */
    assert_int_equal(store_command_running(worker, cmds[0].id, 0, "stopped"), 1);
    assert_int_equal(store_command_running(worker, cmds[0].id, 0, "stopped"), 0);
    assert_int_equal(store_take_commands(worker, cmds, 4), 1);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM worker_state WHERE NOT running"), 1);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM control_commands WHERE status = 'done' "
                                       "AND result = 'stopped' AND processed_at IS NOT NULL AND accepted_at IS NOT NULL"), 1);
    /* a force is accepted at once, and done by the decision that answers it */
    long long force = cmds[0].id;
    assert_int_equal(store_commands_accept(worker, &force, 1), 0);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM control_commands WHERE status = 'pending' "
                                       "AND accepted_at IS NOT NULL"), 1);
    struct sense_snapshot s;
    struct decide_menu m;
    struct decide_choice ch;
    struct store_decision d;
    test_snapshot(&s);
    decide_for(&s, &m, &ch);
    struct record_audit audit = { .agreement = -1, .force_upto = force };
    assert_int_equal(record_decision(worker, "cycf", &s, &m, &ch, 0, &audit, &d), 0);
    char fs[24], ds[24];
    snprintf(fs, sizeof fs, "%lld", force);
    snprintf(ds, sizeof ds, "%lld", d.id);
    const char *ids[2] = { fs, ds };
    assert_int_equal(test_valuep(admin, "SELECT count(*) FROM control_commands WHERE id = $1::bigint "
                                        "AND status = 'done' AND decision_id = $2::bigint", 2, ids), 1);
    store_decision_clear(&d);
    test_sql(worker, "UNLISTEN *");
    PQfinish(api);
}

static void lease_fences_the_previous_leader(void **state)
{
    (void)state;
    PGconn *w1 = test_connect("orch_worker"), *w2 = test_connect("orch_worker");
    assert_non_null(w1);
    assert_non_null(w2);
    struct store_lease seen;
    assert_int_equal(store_lease_take(w1, "w1", 15, &seen), 1);
    assert_int_equal(seen.epoch, 1);
    assert_string_equal(seen.why, "first");
    /* held by a live leader: the other waits */
    assert_int_equal(store_lease_take(w2, "w2", 15, &seen), 0);
    assert_string_equal(seen.holder, "w1");
    assert_int_equal(store_lease_renew(w1, "w1", 1, 15), 1);
    assert_int_equal(store_worker_register(w1, "w1", "leader", 1), 0);
    assert_int_equal(store_heartbeat(w1), 0);                  /* the leader writes */
    /* the lease expires (w1 frozen): w2 takes it with the next epoch */
    test_sql(admin, "UPDATE leader_lease SET expires_at = now() - interval '1 second'");
    assert_int_equal(store_lease_take(w2, "w2", 15, &seen), 1);
    assert_int_equal(seen.epoch, 2);
    assert_string_equal(seen.why, "expired");
    assert_string_equal(seen.holder, "w1");
    /* w1 wakes up: every write it tries is refused, it cannot renew */
    (void)store_fenced();
    assert_int_equal(store_heartbeat(w1), -1);
    assert_int_equal(store_fenced(), 1);
    assert_int_equal(store_fenced(), 0);                       /* read once */
    assert_int_equal(store_command_claim(w1, 1, "done", "x", 0), -1);
    assert_int_equal(store_lease_renew(w1, "w1", 1, 15), 0);
    assert_int_equal(store_heartbeat(w2), 0);                  /* the new leader writes */
    /* w1 unfenced (a standby) may register itself */
    store_lease_forget(w1);
    assert_int_equal(store_worker_register(w1, "w1", "standby", 0), 0);
    /* the leader's session ends (a killed worker): taken at once */
    PQfinish(w2);
    for (int i = 0; i < 50; i++) {      /* the server notices the closed session within moments */
        if (test_value(admin, "SELECT count(*) FROM pg_stat_activity a JOIN leader_lease l ON a.pid = l.backend_pid") == 0)
            break;
        struct timespec ts = { 0, 100 * 1000000L };
        nanosleep(&ts, NULL);
    }
    assert_int_equal(store_lease_take(w1, "w1", 15, &seen), 1);
    assert_int_equal(seen.epoch, 3);
    assert_string_equal(seen.why, "session_gone");
    /* a clean stop releases it */
    assert_int_equal(store_lease_release(w1, "w1", 3), 0);
    PGconn *w3 = test_connect("orch_worker");
    assert_int_equal(store_lease_take(w3, "w3", 15, &seen), 1);
    assert_string_equal(seen.why, "released");
    assert_int_equal(test_value(admin, "SELECT count(*) FROM workers WHERE id = 'w1' AND role = 'standby'"), 1);
    /* sessions that are not fenced (the API, the replay, psql) are not refused */
    assert_int_equal(store_heartbeat(worker), 0);
    store_lease_forget(w3);
    PQfinish(w3);
    PQfinish(w1);
}

static void claims_make_the_orchestrator_the_idempotency_authority(void **state)
{
    (void)state;
    takeover_fixture();
    PGconn *api = test_connect("orch_api");
    assert_non_null(api);
    char v[64];
    /* k5 (sent): the first claim wins, the same execution again is fine, another is a duplicate */
    test_text(api, "SELECT verdict || ' ' || execution_id FROM claim_trigger('k5', 'e1', 'crypto-normal-scan')", v, sizeof v);
    assert_string_equal(v, "claimed e1");
    test_text(api, "SELECT verdict || ' ' || execution_id FROM claim_trigger('k5', 'e1', 'crypto-normal-scan')", v, sizeof v);
    assert_string_equal(v, "claimed e1");
    test_text(api, "SELECT verdict || ' ' || execution_id FROM claim_trigger('k5', 'e2', NULL)", v, sizeof v);
    assert_string_equal(v, "duplicate e1");
    assert_int_equal(test_value(admin, "SELECT claims FROM triggers WHERE id = 5"), 3);
    test_text(api, "SELECT verdict FROM claim_trigger('nope', 'e1', NULL)", v, sizeof v);
    assert_string_equal(v, "unknown_key");
    test_text(api, "SELECT verdict FROM claim_trigger('k2', 'e3', 'health-monitor-check')", v, sizeof v);
    assert_string_equal(v, "mismatch");
    test_text(api, "SELECT verdict FROM claim_trigger('k4', 'e3', NULL)", v, sizeof v);    /* pending */
    assert_string_equal(v, "not_sent");
    test_text(api, "SELECT verdict FROM claim_trigger('k6', 'e3', NULL)", v, sizeof v);    /* a replay's */
    assert_string_equal(v, "unknown_key");
    /* a trigger given up on ('unknown') whose key is then claimed was delivered */
    test_sql(admin, "UPDATE triggers SET status = 'unknown' WHERE id = 3");
    test_text(api, "SELECT verdict FROM claim_trigger('k3', 'e9', NULL)", v, sizeof v);
    assert_string_equal(v, "claimed");
    struct store_claimed rows[4];
    assert_int_equal(store_claims_reconcile(worker, rows, 4), 1);
    assert_int_equal(rows[0].id, 3);
    assert_int_equal(rows[0].decision_id, 1);
    assert_int_equal(rows[0].wf, WF_HEALTH_CHECK);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM triggers WHERE id = 3 AND status = 'sent' "
                                       "AND execution_id = 'e9'"), 1);
    assert_int_equal(store_claims_reconcile(worker, rows, 4), 0);
    /* the API may call claim_trigger, not write triggers itself */
    PGresult *r = PQexec(api, "UPDATE triggers SET claimed_at = now() WHERE id = 2");
    assert_int_equal(PQresultStatus(r), PGRES_FATAL_ERROR);
    PQclear(r);
    PQfinish(api);
}

static void missed_decisions_are_recorded_as_a_gap(void **state)
{
    (void)state;
    struct store_gap gap;
    /* due 10 minutes ago at one every 120 s: 6 decisions missed */
    test_sql(admin, "INSERT INTO decisions (cycle_id, mode, intensity, source, reason, inputs, menu, session, "
                    "next_seconds, next_decision_at) VALUES ('c', 'standby', 'light', 'fallback', 'r', '{}', '{}', "
                    "'closed', 120, now())");
    test_sql(admin, "UPDATE worker_state SET running = true, next_decision_at = now() - interval '600 seconds'");
    assert_int_equal(store_gap_check(worker, "w1", 7, 20, 60, &gap), 1);
    assert_int_equal(gap.missed, 6);
    assert_int_equal(gap.interval_s, 120);
    assert_true(gap.to - gap.from >= 600 && gap.to - gap.from <= 602);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM decision_gaps WHERE missed = 6 AND interval_seconds = 120 "
                                       "AND detected_by = 'w1' AND epoch = 7"), 1);
    assert_int_equal(test_value(admin, "SELECT sum(missed_decisions) FROM decision_gaps_per_day"), 6);
    /* late by less than the grace (a takeover): no gap */
    test_sql(admin, "UPDATE worker_state SET next_decision_at = now() - interval '10 seconds'");
    assert_int_equal(store_gap_check(worker, "w1", 7, 20, 60, &gap), 0);
    /* stopped by a control command: not a gap */
    test_sql(admin, "UPDATE worker_state SET running = false, next_decision_at = now() - interval '1 day'");
    assert_int_equal(store_gap_check(worker, "w1", 7, 20, 60, &gap), 0);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM decision_gaps"), 1);
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
    struct store_history h;
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

/* The worker reads columns by name (store_sql.h): looked up once per
 * result, in whatever order the statement gives them; a name the result
 * lacks is -1 and reads as NULL. */
static void columns_read_by_name(void **state)
{
    (void)state;
    PGresult *r = store_run(worker, "columns", "SELECT 'x' AS b, 7 AS a, NULL::int AS n", 0, NULL);
    assert_non_null(r);
    int a = store_col(r, "a"), b = store_col(r, "b"), n = store_col(r, "n");
    assert_int_equal(a, 1);
    assert_int_equal(b, 0);
    assert_int_equal(store_int(r, 0, a), 7);
    assert_string_equal(store_text(r, 0, b), "x");
    assert_int_equal(store_null(r, 0, b), 0);
    assert_int_equal(store_null(r, 0, n), 1);
    assert_int_equal(store_int(r, 0, n), 0);
    assert_string_equal(store_text(r, 0, n), "");
    /* a missing column: logged (store.no_column), reads as NULL */
    int missing = store_col(r, "missing");
    assert_int_equal(missing, -1);
    assert_int_equal(store_null(r, 0, missing), 1);
    assert_int_equal(store_int(r, 0, missing), 0);
    assert_string_equal(store_text(r, 0, missing), "");
    static const char *const names[] = { "n", "missing", "a" };
    int col[3];
    assert_int_equal(store_cols(r, names, 3, col), -1);
    assert_int_equal(col[0], 2);
    assert_int_equal(col[1], -1);
    assert_int_equal(col[2], 1);
    static const char *const present[] = { "a", "b" };
    assert_int_equal(store_cols(r, present, 2, col), 0);
    assert_int_equal(col[0], 1);
    assert_int_equal(col[1], 0);
    PQclear(r);
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


/* ---- 004_n8n: results, delivery state, settling ------------------------------------- */

/* One decision (id 1) with triggers 1 (crypto-normal-scan, key k1) and 2
 * (health-monitor-check, key k2), both 'sent'. */
static void n8n_fixture(void)
{
    test_sql(admin, "INSERT INTO decisions (id, cycle_id, mode, intensity, source, reason, inputs, menu, session, "
                    "next_seconds, next_decision_at, status) VALUES (1, 'c', 'crypto', 'normal', 'fallback', 'r', "
                    "'{\"learning\":{\"markets\":{\"crypto\":{\"activity\":{\"band\":\"elevated\"},"
                    "\"fresh_exposure\":0.5}}}}', '{}', 'london', 60, now(), 'acting')");
    test_sql(admin, "INSERT INTO triggers (id, decision_id, workflow, idempotency_key, payload, status, attempts, started_at) VALUES "
                    "(1, 1, 'crypto-normal-scan', 'k1', '{}', 'sent', 1, now()), "
                    "(2, 1, 'health-monitor-check', 'k2', '{}', 'sent', 1, now())");
}

/* record_result through the API role with its ten arguments as $n
 * parameters (NULL: SQL NULL), as query.c calls it:
 * "outcome result_id trigger_outcome mismatch". */
static void api_record(PGconn *api, const char *const args[10], char *out, size_t cap)
{
    PGresult *r = PQexecParams(api, "SELECT verdict || ' ' || coalesce(result_id, 0) || ' ' || "
                               "coalesce(trigger_outcome, '-') || ' ' || coalesce(mismatch, '-') "
                               "FROM record_result($1::bigint, $2, $3::bigint, $4, $5, $6, $7::int, $8::int, $9, $10::jsonb)",
                               10, NULL, args, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
        fail_msg("record_result failed: %s", PQresultErrorMessage(r));
    snprintf(out, cap, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
}

/* record_result with those arguments is refused by the function itself. */
static void api_record_refused(PGconn *api, const char *const args[10])
{
    PGresult *r = PQexecParams(api, "SELECT * FROM record_result($1::bigint, $2, $3::bigint, $4, $5, $6, $7::int, "
                               "$8::int, $9, $10::jsonb)", 10, NULL, args, NULL, NULL, 0);
    assert_int_equal(PQresultStatus(r), PGRES_FATAL_ERROR);
    PQclear(r);
}

static void results_recorded_once(void **state)
{
    (void)state;
    n8n_fixture();
    PGconn *api = test_connect("orch_api");
    assert_non_null(api);
    assert_int_equal(db_listen(worker, "orch_results"), 0);
    assert_true(db_drain_notifies(worker) >= 0);
    char txt[256];
    const char *const good[10] = { "1", "k1", "1", "crypto-normal-scan", "45", "success", "3", "57", NULL,
                                   "{\"status\":\"success\",\"opportunities\":3}" };
    api_record(api, good, txt, sizeof txt);
    assert_string_equal(txt, "recorded 1 succeeded -");
    assert_int_equal(test_value(admin, "SELECT count(*) FROM triggers WHERE id = 1 AND opportunities = 3 "
                                       "AND execution_id = '45' AND outcome = 'succeeded' AND duration_ms = 57 "
                                       "AND result->>'status' = 'success' AND result_at IS NOT NULL"), 1);
    assert_int_equal(db_wait(worker, 2000), 1);
    assert_true(db_drain_notifies(worker) >= 1);
    /* the same again: nothing changes */
    test_sql(admin, "UPDATE triggers SET settled_at = now(), learned_at = now() WHERE id = 1");
    api_record(api, good, txt, sizeof txt);
    assert_string_equal(txt, "duplicate 1 succeeded -");
    assert_int_equal(test_value(admin, "SELECT count(*) FROM results"), 1);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM triggers WHERE id = 1 AND settled_at IS NOT NULL"), 1);
    /* the same execution with another result: conflict */
    api_record(api, (const char *const[10]){ "1", "k1", "1", "crypto-normal-scan", "45", "error", "0", "57", "x", "{}" }, txt, sizeof txt);
    assert_string_equal(txt, "conflict 1 succeeded -");
    /* another execution of the trigger: kept aside */
    api_record(api, (const char *const[10]){ "1", "k1", "1", "crypto-normal-scan", "46", "error", "0", "10", "boom", "{}" }, txt, sizeof txt);
    assert_string_equal(txt, "extra 2 succeeded -");
    assert_int_equal(test_value(admin, "SELECT opportunities FROM triggers WHERE id = 1"), 3);
    /* mismatches and unknown triggers */
    api_record(api, (const char *const[10]){ "1", "k2", "1", "crypto-normal-scan", "47", "success", "0", "1", NULL, "{}" }, txt, sizeof txt);
    assert_string_equal(txt, "mismatch 0 - idempotency_key");
    api_record(api, (const char *const[10]){ "1", "k1", "2", "crypto-normal-scan", "47", "success", "0", "1", NULL, "{}" }, txt, sizeof txt);
    assert_string_equal(txt, "mismatch 0 - decision_id");
    api_record(api, (const char *const[10]){ "1", "k1", "1", "crypto-light-monitoring", "47", "success", "0", "1", NULL, "{}" }, txt, sizeof txt);
    assert_string_equal(txt, "mismatch 0 - workflow");
    api_record(api, (const char *const[10]){ "99", "k1", "1", "crypto-normal-scan", "47", "success", "0", "1", NULL, "{}" }, txt, sizeof txt);
    assert_string_equal(txt, "unknown_trigger 0 - -");
    /* an error result makes the outcome failed */
    api_record(api, (const char *const[10]){ "2", "k2", "1", "health-monitor-check", "48", "error", "0", "9", "tradermade: HTTP 500", "{}" }, txt, sizeof txt);
    assert_string_equal(txt, "recorded 3 failed -");
    /* invalid values are refused by the function itself */
    api_record_refused(api, (const char *const[10]){ "1", "k1", "1", "crypto-normal-scan", "49", "maybe", "0", "1",
                                                     NULL, "{}" });
    api_record_refused(api, (const char *const[10]){ "1", "k1", "1", "crypto-normal-scan", "49", "success", "-1", "1",
                                                     NULL, "{}" });
    PGresult *r;
    /* the API role writes only through the function */
    const char *denied[] = {
        "UPDATE triggers SET outcome = 'succeeded' WHERE id = 2",
        "INSERT INTO results (trigger_id, execution_id, status, opportunities, duration_ms, body) "
        "VALUES (1, '9', 'success', 1, 1, '{}')",
        "UPDATE workflow_state SET available = false",
    };
    for (size_t i = 0; i < sizeof denied / sizeof denied[0]; i++) {
        r = PQexec(api, denied[i]);
        assert_int_equal(PQresultStatus(r), PGRES_FATAL_ERROR);
        assert_non_null(strstr(PQresultErrorMessage(r), "permission denied"));
        PQclear(r);
    }
    test_sql(worker, "UNLISTEN *");
    PQfinish(api);
}

static void decisions_settle_from_triggers(void **state)
{
    (void)state;
    n8n_fixture();
    char st[16];
    test_sql(admin, "UPDATE triggers SET status = 'retrying', next_attempt_at = now() WHERE id = 2");
    assert_int_equal(store_decision_settle(worker, 1, st, sizeof st), 0);       /* a retry is open */
    test_sql(admin, "UPDATE triggers SET status = 'sent', next_attempt_at = NULL WHERE id = 2");
    assert_int_equal(store_decision_settle(worker, 1, st, sizeof st), 1);
    assert_string_equal(st, "succeeded");
    test_sql(admin, "UPDATE triggers SET outcome = 'failed' WHERE id = 2");
    assert_int_equal(store_decision_settle(worker, 1, st, sizeof st), 1);
    assert_string_equal(st, "partial");
    test_sql(admin, "UPDATE triggers SET outcome = 'timed_out' WHERE id = 1");
    assert_int_equal(store_decision_settle(worker, 1, st, sizeof st), 1);
    assert_string_equal(st, "failed");
    /* skipped by policy does not count; skipped by an open circuit does */
    test_sql(admin, "UPDATE triggers SET outcome = NULL WHERE id = 1");
    test_sql(admin, "UPDATE triggers SET status = 'skipped', outcome = NULL, last_error_kind = 'concurrency' WHERE id = 2");
    assert_int_equal(store_decision_settle(worker, 1, st, sizeof st), 1);
    assert_string_equal(st, "succeeded");
    test_sql(admin, "UPDATE triggers SET last_error_kind = 'circuit_open' WHERE id = 2");
    assert_int_equal(store_decision_settle(worker, 1, st, sizeof st), 1);
    assert_string_equal(st, "partial");
    test_sql(admin, "UPDATE triggers SET status = 'skipped', last_error_kind = 'concurrency'");
    assert_int_equal(store_decision_settle(worker, 1, st, sizeof st), 1);
    assert_string_equal(st, "no_action");
    assert_int_equal(test_value(admin, "SELECT count(*) FROM decisions WHERE completed_at IS NOT NULL"), 1);
    /* a canceled execution (not our own 'replace': that is 'superseded') failed */
    test_sql(admin, "UPDATE triggers SET status = 'sent', last_error_kind = NULL, outcome = 'succeeded' WHERE id = 1");
    test_sql(admin, "UPDATE triggers SET status = 'sent', last_error_kind = NULL, outcome = 'canceled' WHERE id = 2");
    assert_int_equal(store_decision_settle(worker, 1, st, sizeof st), 1);
    assert_string_equal(st, "partial");
    test_sql(admin, "UPDATE triggers SET outcome = 'superseded' WHERE id = 2");
    assert_int_equal(store_decision_settle(worker, 1, st, sizeof st), 1);
    assert_string_equal(st, "succeeded");
    /* a decision a stopped worker left 'interrupted': its 'unknown' trigger keeps it
     * open until its end is known, then it is settled again */
    test_sql(admin, "UPDATE decisions SET status = 'interrupted'");
    test_sql(admin, "UPDATE triggers SET status = 'unknown', outcome = NULL WHERE id = 2");
    assert_int_equal(store_decision_settle(worker, 1, st, sizeof st), 0);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM decisions WHERE status = 'interrupted'"), 1);
    test_sql(admin, "UPDATE triggers SET outcome = 'succeeded', result_at = now() WHERE id = 2");   /* its result came */
    assert_int_equal(store_decision_settle(worker, 1, st, sizeof st), 1);
    assert_string_equal(st, "succeeded");
    test_sql(admin, "UPDATE decisions SET status = 'interrupted'");
    test_sql(admin, "UPDATE triggers SET outcome = 'timed_out' WHERE id = 2");
    assert_int_equal(store_decision_settle(worker, 1, st, sizeof st), 1);
    assert_string_equal(st, "partial");
    /* dry runs and other closed statuses are still left alone */
    test_sql(admin, "UPDATE decisions SET status = 'dry_run'");
    assert_int_equal(store_decision_settle(worker, 1, st, sizeof st), 0);
}

static void retries_and_workflow_state(void **state)
{
    (void)state;
    n8n_fixture();
    test_sql(admin, "UPDATE triggers SET status = 'retrying', attempts = 1, next_attempt_at = now() - interval '1 s' WHERE id = 1");
    test_sql(admin, "UPDATE triggers SET status = 'retrying', attempts = 2, next_attempt_at = now() + interval '1 hour' WHERE id = 2");
    time_t at = 0;
    assert_int_equal(store_next_retry(worker, &at), 0);
    assert_true(at > 0 && at <= time(NULL) + 1);
    struct store_retry rows[4];
    int n = store_due_retries(worker, time(NULL), rows, 4);
    assert_int_equal(n, 1);
    assert_int_equal(rows[0].id, 1);
    assert_int_equal(rows[0].wf, WF_CRYPTO_NORMAL);
    assert_int_equal(rows[0].attempts, 1);
    assert_int_equal(rows[0].has_result, 0);
    assert_int_equal(rows[0].ctx.intensity, INTENSITY_NORMAL);
    assert_string_equal(rows[0].ctx.band, "elevated");
    assert_true(rows[0].ctx.exposure > 0.49 && rows[0].ctx.exposure < 0.51);
    assert_string_equal(rows[0].payload, "{}");
    store_retries_clear(rows, n);
    assert_int_equal(store_retry_sending(worker, 1), 0);
    assert_int_equal(store_retry_sending(worker, 1), 1);    /* no longer retrying */
    assert_int_equal(test_value(admin, "SELECT attempts FROM triggers WHERE id = 1 AND status = 'sending'"), 2);
    struct act_job j;
    memset(&j, 0, sizeof j);
    j.http_status = 200;
    snprintf(j.response, sizeof j.response, "{\"accepted\":true,\"execution_id\":\"77\"}");
    assert_int_equal(store_trigger_attempt(worker, 1, "sent", &j, NULL, 0, "77"), 0);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM triggers WHERE id = 1 AND status = 'sent' "
                                       "AND execution_id = '77' AND last_error_kind IS NULL AND finished_at IS NOT NULL"), 1);
    /* a takeover keeps retries scheduled and the decision acting */
    struct store_recovery rec;
    assert_int_equal(store_takeover_recover(worker, NULL, 0, 900, &rec), 0);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM decisions WHERE status = 'acting'"), 1);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM triggers WHERE id = 2 AND status = 'retrying'"), 1);
    /* a result that arrives before the retry ends it */
    test_sql(admin, "UPDATE triggers SET result_at = now(), next_attempt_at = now() WHERE id = 2");
    n = store_due_retries(worker, time(NULL) + 1, rows, 4);
    assert_int_equal(n, 1);
    assert_int_equal(rows[0].has_result, 1);
    store_retries_clear(rows, n);
    assert_int_equal(store_delivered_by_result(worker, 2), 0);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM triggers WHERE id = 2 AND status = 'sent'"), 1);

    /* workflow_state: circuit, availability, running, n8n */
    assert_int_equal(store_wf_circuit(worker, WF_CRYPTO_NORMAL, "open", 3, 2000000000, 1999999000, 1), 0);
    assert_int_equal(store_wf_available(worker, WF_HEALTH_CHECK, 0, "webhook not registered"), 0);
    assert_int_equal(store_wf_running(worker, 3600), 0);
    assert_int_equal(store_wf_n8n(worker, WF_CRYPTO_NORMAL, "orchCryptoNormal", "crypto-normal-scan", 1), 0);
    assert_int_equal(store_wf_policy(worker, WF_DEEP_ANALYSIS, "forbid"), 0);
    static struct store_wf_state ws[CATALOG_SLOTS];
    assert_int_equal(store_wf_load(worker, ws), 0);
    assert_true(ws[WF_CRYPTO_NORMAL].present);
    assert_string_equal(ws[WF_CRYPTO_NORMAL].circuit, "open");
    assert_int_equal(ws[WF_CRYPTO_NORMAL].failures, 3);
    assert_int_equal(ws[WF_CRYPTO_NORMAL].open_until, 2000000000);
    assert_int_equal(ws[WF_HEALTH_CHECK].available, 0);
    assert_true(ws[WF_HEALTH_CHECK].unavailable_since > 0);     /* when the 404 came: the menu's cooldown */
    assert_int_equal(ws[WF_CRYPTO_NORMAL].n8n_active, 1);
    assert_true(ws[WF_CRYPTO_NORMAL].n8n_seen_at > 0);
    assert_int_equal(ws[WF_HEALTH_CHECK].n8n_active, -1);       /* never read from n8n's list */
    /* not in n8n's list: not known (the 404 tells), not "inactive" */
    assert_int_equal(store_wf_n8n(worker, WF_FOREX_ASIA, "", "", 0), 0);
    assert_int_equal(store_wf_n8n(worker, WF_FOREX_LONDON, "orchForexLondonS", "forex-london-session", 0), 0);
    assert_int_equal(store_wf_load(worker, ws), 0);
    assert_int_equal(ws[WF_FOREX_ASIA].n8n_active, -1);
    assert_int_equal(ws[WF_FOREX_LONDON].n8n_active, 0);
    assert_int_equal(test_value(admin, "SELECT running FROM workflow_state WHERE workflow = 'crypto-normal-scan'"), 1);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM workflow_state WHERE unavailable_since IS NOT NULL "
                                       "AND unavailable_reason = 'webhook not registered'"), 1);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM workflow_state WHERE n8n_active AND n8n_id = 'orchCryptoNormal'"), 1);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM workflow_state WHERE concurrency = 'forbid'"), 1);
    assert_int_equal(store_wf_available(worker, WF_HEALTH_CHECK, 1, NULL), 0);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM workflow_state WHERE NOT available OR unavailable_since IS NOT NULL"), 0);
    /* the running trigger, concurrency replace, timeouts */
    long long rid = 0;
    char eid[72], rst[16];
    assert_int_equal(store_running_trigger(worker, WF_CRYPTO_NORMAL, 3600, 99, &rid, eid, sizeof eid, rst), 1);
    assert_int_equal(rid, 1);
    assert_string_equal(eid, "77");
    assert_string_equal(rst, "sent");
    assert_int_equal(store_running_trigger(worker, WF_CRYPTO_NORMAL, 3600, 1, &rid, eid, sizeof eid, rst), 0);
    /* 'forbid' also sees a trigger on its way: sending, retrying, or left unknown by a stopped worker */
    static const char *const ways[] = { "sending", "retrying", "unknown" };
    for (int k = 0; k < 3; k++) {
        test_sqlp(admin, "UPDATE triggers SET status = $1 WHERE id = 1", 1, &ways[k]);
        assert_int_equal(store_running_trigger(worker, WF_CRYPTO_NORMAL, 3600, 99, &rid, eid, sizeof eid, rst), 1);
        assert_string_equal(rst, ways[k]);
    }
    test_sql(admin, "UPDATE triggers SET status = 'sent' WHERE id = 1");
    /* 'replace': the running older ones, superseded one by one with what the stop did */
    struct store_open old[4];
    assert_int_equal(store_replace_targets(worker, WF_CRYPTO_NORMAL, 5, old, 4), 1);
    assert_int_equal(old[0].id, 1);
    assert_string_equal(old[0].execution_id, "77");
    assert_int_equal(store_replace_targets(worker, WF_CRYPTO_NORMAL, 1, old, 4), 0);
    assert_int_equal(store_supersede_one(worker, 1, 5, "stopped", "canceled", "n8n execution 77 stopped (canceled)"), 0);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM triggers WHERE id = 1 AND outcome = 'superseded' "
                                       "AND stop_outcome = 'stopped' AND execution_status = 'canceled' "
                                       "AND error LIKE '%superseded by trigger #5: n8n execution 77 stopped%'"), 1);
    assert_int_equal(store_replace_targets(worker, WF_CRYPTO_NORMAL, 5, old, 4), 0);
    test_sql(admin, "UPDATE triggers SET started_at = now() - interval '2 hours' WHERE id = 2");
    assert_int_equal(store_time_out(worker, 3600, 0), 0);     /* no execution id, no result expected */
    assert_int_equal(store_time_out(worker, 3600, 1), 1);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM triggers WHERE id = 2 AND outcome = 'timed_out'"), 1);
    /* a trigger a stopped worker left 'unknown' times out too (it was never 'sent') */
    test_sql(admin, "UPDATE triggers SET status = 'unknown', outcome = NULL, started_at = now() - interval '2 hours' WHERE id = 2");
    assert_int_equal(store_time_out(worker, 3600, 0), 1);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM triggers WHERE id = 2 AND status = 'unknown' AND outcome = 'timed_out'"), 1);
    /* a due retry that 'forbid' does not send */
    test_sql(admin, "UPDATE triggers SET status = 'retrying', outcome = NULL, next_attempt_at = now() WHERE id = 2");
    assert_int_equal(store_retry_skip(worker, 2, "concurrency", "retry not sent: trigger #1 runs"), 0);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM triggers WHERE id = 2 AND status = 'skipped' "
                                       "AND last_error_kind = 'concurrency' AND next_attempt_at IS NULL"), 1);
    /* an answer too large to read is a kind of its own */
    test_sql(admin, "UPDATE triggers SET last_error_kind = 'too_big' WHERE id = 2");
}

static void outcomes_to_settle_and_tracking(void **state)
{
    (void)state;
    n8n_fixture();
    test_sql(admin, "UPDATE triggers SET execution_id = '45' WHERE id = 1");
    struct store_open open[4];
    assert_int_equal(store_open_tracked(worker, open, 4), 1);
    assert_string_equal(open[0].execution_id, "45");
    assert_int_equal(store_track_update(worker, 1, "running", 1773763200000LL, 0, "orchCryptoNormal", NULL), 0);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM triggers WHERE outcome IS NULL AND execution_status = 'running' "
                                       "AND n8n_workflow_id = 'orchCryptoNormal' AND tracked_at IS NOT NULL"), 1);
    struct store_unsettled u[4];
    assert_int_equal(store_unsettled(worker, u, 4), 0);
    assert_int_equal(store_track_update(worker, 1, "success", 1773763200000LL, 1773763201500LL, "orchCryptoNormal",
                                        "succeeded"), 0);
    assert_int_equal(test_value(admin, "SELECT duration_ms FROM triggers WHERE id = 1 AND outcome = 'succeeded'"), 1500);
    assert_int_equal(store_track_failed(worker, 2, 1), 0);
    assert_int_equal(store_open_tracked(worker, open, 4), 0);
    /* a result for trigger 2 arrives: both need handling */
    test_sql(admin, "UPDATE triggers SET result_at = now(), opportunities = 4, outcome = 'failed', "
                    "result = '{\"status\":\"error\",\"error\":\"dexscreener: HTTP 500\"}' WHERE id = 2");
    int n = store_unsettled(worker, u, 4);
    assert_int_equal(n, 2);
    assert_int_equal(u[0].id, 1);
    assert_true(u[0].need_settle);
    assert_false(u[0].need_learn);
    assert_string_equal(u[0].outcome, "succeeded");
    assert_int_equal(u[1].id, 2);
    assert_true(u[1].need_settle && u[1].need_learn);
    assert_int_equal(u[1].opportunities, 4);
    assert_string_equal(u[1].result_status, "error");
    assert_string_equal(u[1].error, "dexscreener: HTTP 500");
    assert_int_equal(store_trigger_settled(worker, 1, 1, 0), 0);
    /* what a result taught is saved in the same transaction as learned_at */
    assert_int_equal(store_trigger_handled(worker, 2, 1, 1, "live", "{\"version\":2,\"nobs\":7}",
                                           "{\"markets\":{}}", time(NULL)), 0);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM triggers WHERE id = 2 AND learned_at IS NOT NULL "
                                       "AND settled_at IS NOT NULL"), 1);
    assert_int_equal(test_value(admin, "SELECT (state->>'nobs')::int FROM learning_state WHERE scope = 'live'"), 7);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM worker_state WHERE learning ? 'markets'"), 1);
    /* not valid JSON: nothing of it is written, not even learned_at */
    test_sql(admin, "UPDATE triggers SET learned_at = NULL WHERE id = 2");
    assert_int_equal(store_trigger_handled(worker, 2, 1, 1, "live", "not json", NULL, time(NULL)), -1);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM triggers WHERE id = 2 AND learned_at IS NULL"), 1);
    assert_int_equal(store_trigger_settled(worker, 2, 1, 1), 0);
    assert_int_equal(store_unsettled(worker, u, 4), 0);
    assert_int_equal(store_worker_n8n(worker, "{\"api_configured\":true}"), 0);
    assert_int_equal(store_worker_n8n_key(worker, "replace", "{\"can_stop\":false}"), 0);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM worker_state WHERE (n8n->>'api_configured')::boolean "
                                       "AND n8n->'replace'->>'can_stop' = 'false'"), 1);
    assert_int_equal(store_worker_alerts(worker, "{\"sent\":2}"), 0);
    assert_int_equal(test_value(admin, "SELECT (alerts->>'sent')::int FROM worker_state"), 2);
}

static void migrations_recorded(void **state)
{
    (void)state;
    assert_true(test_value(admin, "SELECT count(*) FROM schema_migrations WHERE version = 1") == 1);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM worker_state"), 1);
}

int main(void)
{
    seed_install();
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
        cmocka_unit_test_setup(takeover_reconciles_what_a_dead_leader_left, reset),
        cmocka_unit_test_setup(lease_fences_the_previous_leader, reset),
        cmocka_unit_test_setup(claims_make_the_orchestrator_the_idempotency_authority, reset),
        cmocka_unit_test_setup(missed_decisions_are_recorded_as_a_gap, reset),
        cmocka_unit_test_setup(control_commands_wake_the_worker, reset),
        cmocka_unit_test_setup(api_role_reads_but_cannot_write, reset),
        cmocka_unit_test_setup(schema_rejects_bad_values, reset),
        cmocka_unit_test_setup(history_and_reporting_views, reset),
        cmocka_unit_test_setup(old_probes_pruned, reset),
        cmocka_unit_test_setup(columns_read_by_name, reset),
        cmocka_unit_test_setup(worker_registration, reset),
        cmocka_unit_test_setup(results_recorded_once, reset),
        cmocka_unit_test_setup(decisions_settle_from_triggers, reset),
        cmocka_unit_test_setup(retries_and_workflow_state, reset),
        cmocka_unit_test_setup(outcomes_to_settle_and_tracking, reset),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    PQfinish(worker);
    PQfinish(admin);
    return rc;
}
