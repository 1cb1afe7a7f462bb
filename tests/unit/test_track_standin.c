/* Following n8n executions (worker/track.c, track_stop.c) against the
 * project's stand-in (tests/standin/standin.py, started here): fetches,
 * workflow lists and stopping executions as the stand-in's n8n answers. */

#include "track_rig.h"

/* ---- against the stand-in ------------------------------------------------------------- */

/* Webhook answers, every status, a running execution, a pruned one, the
 * workflow list across pages and the API failing alone, against one
 * stand-in process.  Longer than 80 lines on purpose: the steps run in
 * order on the stand-in's state (its execution counter and configuration),
 * and one process started once keeps the test fast. */
static void against_the_standin(void **state)
{
    (void)state;
    struct standin si;
    standin_start(&si);
    char base[96];
    snprintf(base, sizeof base, "%s/n8n", si.base);
    struct cfg c;
    memset(&c, 0, sizeof c);
    c.n8n_base_url = base;                 /* API: base + /api/v1 */
    c.n8n_api_url = "";
    c.n8n_api_key = KEY;
    c.webhook_timeout_ms = 3000;
    cap_start();

    /* "Immediately" mode: no id to follow */
    char *ans = standin_call(&si, "POST", "/n8n/webhook/crypto-normal-scan", "{\"trigger_id\":1}");
    assert_null(track_parse_webhook_answer(ans));
    free(ans);

    /* our workflows' early answer: one execution per status */
    free(standin_call(&si, "POST", "/_standin/config",
                      "{\"n8n_respond\":\"accepted\",\"n8n_api_key\":\"" KEY "\","
                      "\"n8n_exec_status\":[\"success\",\"error\",\"crashed\",\"canceled\",\"waiting\",\"new\",\"unknown\"]}"));
    static const char *const want[] = { "success", "error", "crashed", "canceled", "waiting", "new", "unknown" };
    char *ids[7];
    for (int i = 0; i < 7; i++) {
        char body[128];
        snprintf(body, sizeof body, "{\"trigger_id\":%d,\"idempotency_key\":\"orch-1-w%d\"}", i + 2, i);
        ans = standin_call(&si, "POST", "/n8n/webhook/forex-london-session", body);
        ids[i] = track_parse_webhook_answer(ans);
        assert_non_null(ids[i]);
        free(ans);
    }
    struct track_exec outs[7];
    enum track_err errs[7];
    assert_int_equal(track_fetch_many(&c, (const char *const *)ids, 7, outs, errs), 7);
    time_t now = time(NULL);
    for (int i = 0; i < 7; i++) {
        assert_string_equal(track_status_name(outs[i].status), want[i]);
        assert_string_equal(outs[i].workflow_id, "orchForexLondonS");
        assert_string_equal(outs[i].mode, "webhook");
        if (outs[i].status != TRACK_STATUS_NEW)
            assert_true(outs[i].started_ms / 1000 >= now - 60 && outs[i].started_ms / 1000 <= now + 1);
        else
            assert_true(outs[i].started_ms == 0);      /* startedAt null */
        free(ids[i]);
    }
    assert_string_equal(track_outcome(outs[0].status, now, now, 1800), "succeeded");
    assert_string_equal(track_outcome(outs[1].status, now, now, 1800), "failed");
    assert_null(track_outcome(outs[4].status, now, now, 1800));

    /* running for a second, then success */
    free(standin_call(&si, "POST", "/_standin/config", "{\"n8n_exec_status\":\"success\",\"n8n_exec_seconds\":1}"));
    ans = standin_call(&si, "POST", "/n8n/webhook/crypto-light-monitoring", "{}");
    char *id = track_parse_webhook_answer(ans);
    free(ans);
    assert_non_null(id);
    struct track_exec e;
    assert_int_equal(track_fetch(&c, id, &e), TRACK_OK);
    assert_int_equal(e.status, TRACK_STATUS_RUNNING);
    assert_true(e.stopped_ms == 0);
    /* polled with a deadline: the stand-in ends it a second after its start */
    for (int tries = 0; tries < 300; tries++) {
        assert_int_equal(track_fetch(&c, id, &e), TRACK_OK);
        if (e.status != TRACK_STATUS_RUNNING)
            break;
        usleep(50 * 1000);
    }
    assert_int_equal(e.status, TRACK_STATUS_SUCCESS);
    assert_true(e.finished);
    assert_true(e.stopped_ms - e.started_ms >= 999 && e.stopped_ms - e.started_ms <= 1001);
    free(id);

    /* pruned, wrong key, workflows across pages */
    assert_int_equal(track_fetch(&c, "99999", &e), TRACK_EGONE);
    free(standin_call(&si, "POST", "/_standin/config", "{\"n8n_page_max\":3}"));
    struct track_workflows w;
    assert_int_equal(track_list_workflows(&c, &w), TRACK_OK);
    assert_int_equal(w.n, 8);
    for (size_t i = 0; i < w.n; i++) {
        assert_string_equal(w.items[i].webhook_path, w.items[i].name);
        assert_true(w.items[i].active);
    }
    assert_string_equal(w.items[0].id, "orchCryptoAggres");
    track_workflows_free(&w);
    c.n8n_api_key = "wrong-key";
    assert_int_equal(track_fetch(&c, "1", &e), TRACK_ECONFIG);
    assert_int_equal(e.http_status, 401);
    assert_int_equal(track_list_workflows(&c, &w), TRACK_ECONFIG);
    /* the API failing alone, webhooks untouched */
    c.n8n_api_key = KEY;
    free(standin_call(&si, "POST", "/_standin/config", "{\"behaviour\":{\"n8n:api\":\"503\"}}"));
    assert_int_equal(track_fetch(&c, "1", &e), TRACK_ERETRY);
    free(standin_call(&si, "POST", "/_standin/config", "{\"behaviour\":{\"n8n:api\":\"malformed\"}}"));
    assert_int_equal(track_fetch(&c, "1", &e), TRACK_EINVALID);
    ans = standin_call(&si, "POST", "/n8n/webhook/crypto-light-monitoring", "{}");
    id = track_parse_webhook_answer(ans);
    assert_non_null(id);
    free(id);
    free(ans);
    free(cap_stop());
    standin_stop(&si);
}

/* Stopping an execution through n8n's internal REST API (the stand-in's
 * copy of n8n 1.123's /rest/login and /rest/executions/{id}/stop): the
 * owner's session is taken from the Set-Cookie header (longer than the
 * plain headers keep), reused, renewed once on a 401; an ended execution
 * is "ended"; a refused login fails without the password in the log. */
static void stop_against_the_standin(void **state)
{
    (void)state;
    struct standin si;
    standin_start(&si);
    char base[96];
    snprintf(base, sizeof base, "%s/n8n", si.base);
    struct cfg c;
    memset(&c, 0, sizeof c);
    c.n8n_base_url = base;
    c.n8n_api_url = "";
    c.n8n_api_key = KEY;
    c.webhook_timeout_ms = 3000;
    c.n8n_owner_email = "";
    c.n8n_owner_password = "";
    struct track_stopper st;
    track_stopper_init(&st, &c);
    char status[32], err[200];
    assert_false(track_stop_enabled(&c));
    assert_int_equal(track_stop_execution(&st, "1", status, sizeof status, err, sizeof err), TRACK_STOP_DISABLED);
    assert_non_null(strstr(err, "N8N_OWNER_EMAIL"));
    c.n8n_owner_email = "owner@x.invalid";
    c.n8n_owner_password = "Secret-Pw-123";
    assert_true(track_stop_enabled(&c));
    free(standin_call(&si, "POST", "/_standin/config",
                      "{\"n8n_respond\":\"accepted\",\"n8n_exec_seconds\":60,"
                      "\"n8n_owner\":{\"email\":\"owner@x.invalid\",\"password\":\"Secret-Pw-123\"}}"));
    char *ids[2];
    for (int i = 0; i < 2; i++) {
        char *ans = standin_call(&si, "POST", "/n8n/webhook/crypto-light-monitoring", "{}");
        ids[i] = track_parse_webhook_answer(ans);
        assert_non_null(ids[i]);
        free(ans);
    }
    cap_start();
    assert_int_equal(track_stop_execution(&st, ids[0], status, sizeof status, err, sizeof err), TRACK_STOP_STOPPED);
    assert_string_equal(status, "canceled");
    assert_int_equal(st.logins, 1);
    assert_non_null(st.session);
    assert_true(strncmp(st.session, "sess-", 5) == 0);
    struct track_exec e;
    assert_int_equal(track_fetch(&c, ids[0], &e), TRACK_OK);
    assert_int_equal(e.status, TRACK_STATUS_CANCELED);
    /* an ended execution: nothing to stop */
    assert_int_equal(track_stop_execution(&st, ids[0], status, sizeof status, err, sizeof err), TRACK_STOP_ENDED);
    assert_int_equal(st.logins, 1);                     /* the session was reused */
    /* the session no longer valid (n8n restarted): one login more */
    free(standin_call(&si, "POST", "/_standin/reset", ""));
    free(standin_call(&si, "POST", "/_standin/config",
                      "{\"n8n_respond\":\"accepted\",\"n8n_exec_seconds\":60,"
                      "\"n8n_owner\":{\"email\":\"owner@x.invalid\",\"password\":\"Secret-Pw-123\"}}"));
    char *ans = standin_call(&si, "POST", "/n8n/webhook/crypto-light-monitoring", "{}");
    free(ids[1]);
    ids[1] = track_parse_webhook_answer(ans);
    free(ans);
    assert_int_equal(track_stop_execution(&st, ids[1], status, sizeof status, err, sizeof err), TRACK_STOP_STOPPED);
    assert_int_equal(st.logins, 2);
    /* a wrong password: refused, said so */
    free(standin_call(&si, "POST", "/_standin/config", "{\"n8n_owner\":{\"email\":\"owner@x.invalid\",\"password\":\"other\"}}"));
    track_stopper_free(&st);
    assert_null(st.session);
    assert_int_equal(track_stop_execution(&st, ids[1], status, sizeof status, err, sizeof err), TRACK_STOP_FAILED);
    assert_non_null(strstr(err, "login refused (HTTP 401"));
    assert_int_equal(track_stop_execution(&st, "not/an/id", status, sizeof status, err, sizeof err), TRACK_STOP_FAILED);
    char *log = cap_stop();
    assert_null(strstr(log, "Secret-Pw-123"));
    assert_null(strstr(log, "sess-"));
    assert_non_null(strstr(log, "\"event\":\"track.stopped\""));
    assert_non_null(strstr(log, "\"event\":\"track.stop_failed\""));
    free(log);
    track_stopper_free(&st);
    free(ids[0]);
    free(ids[1]);
    standin_stop(&si);
}

int main(void)
{
    seed_install();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(against_the_standin, cap_teardown),
        cmocka_unit_test_teardown(stop_against_the_standin, cap_teardown),
    };
    return harness_main("test_track_standin", LOG_DEBUG, tests, sizeof tests / sizeof tests[0]);
}
