/* Database tests of delivery: results posted once, decisions settled from
 * their triggers, retries and workflow state, outcomes and tracking --
 * store_deliver.c and store_follow.c against a real, throwaway PostgreSQL
 * (tests/db/run.sh).  Each test starts from empty tables. */
#include "config.h"

#include "db_rig.h"

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

int main(void)
{
    seed_install();
    log_init("test_db_deliver", LOG_ERROR);
    const char *super = getenv("PGUSER") ? getenv("PGUSER") : "postgres";
    admin = test_connect(super);
    worker = test_connect("orch_worker");
    if (!admin || !worker) {
        fprintf(stderr, "test_db_deliver: no database: run through tests/db/run.sh\n");
        return 1;
    }
    const struct CMUnitTest tests[] = {
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
