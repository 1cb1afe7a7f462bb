/* Following n8n executions (worker/track.c, track_stop.c) against the
 * project's stand-in (tests/standin/standin.py, started here): fetches,
 * workflow lists and stopping executions as the stand-in's n8n answers. */

#include "track_rig.h"
#include "track_find.h"

/* ---- against the stand-in ------------------------------------------------------------- */

/* Start the stand-in and point c at its n8n (base: its URL, base_cap
 * bytes; the API at base + /api/v1, key KEY). */
static void standin_n8n(struct standin *si, char *base, size_t base_cap, struct cfg *c)
{
    standin_start(si);
    snprintf(base, base_cap, "%s/n8n", si->base);
    memset(c, 0, sizeof *c);
    c->n8n_base_url = base;
    c->n8n_api_url = "";
    c->n8n_api_key = KEY;
    c->webhook_timeout_ms = 3000;
}


/* Webhook answers, every status, a running execution, a pruned one, the
 * workflow list across pages and the API failing alone, against one
 * stand-in process.  Longer than 80 lines on purpose: the steps run in
 * order on the stand-in's state (its execution counter and configuration),
 * and one process started once keeps the test fast. */
static void against_the_standin(void **state)
{
    (void)state;
    struct standin si;
    char base[96];
    struct cfg c;
    standin_n8n(&si, base, sizeof base, &c);
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
    char base[96];
    struct cfg c;
    standin_n8n(&si, base, sizeof base, &c);
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

/* An execution found by the key it received: among several of the same
 * workflow, across pages (n8n_page_max 2), not found when no execution
 * carries it (the window read to its start), undecided when the window
 * starts before the pages read, and a refused key reported. */
static void find_by_key_against_the_standin(void **state)
{
    (void)state;
    struct standin si;
    char base[96];
    struct cfg c;
    standin_n8n(&si, base, sizeof base, &c);
    free(standin_call(&si, "POST", "/_standin/config",
                      "{\"n8n_respond\":\"accepted\",\"n8n_api_key\":\"" KEY "\",\"n8n_page_max\":2}"));
    char *ids[5];
    for (int i = 0; i < 5; i++) {
        char body[160];
        snprintf(body, sizeof body, "{\"trigger_id\":%d,\"idempotency_key\":\"orch-7%d-crypto-normal-scan\"}", i, i);
        char *ans = standin_call(&si, "POST", "/n8n/webhook/crypto-normal-scan", body);
        ids[i] = track_parse_webhook_answer(ans);
        assert_non_null(ids[i]);
        free(ans);
    }
    /* another workflow's execution carrying a key of the same shape */
    free(standin_call(&si, "POST", "/n8n/webhook/crypto-light-monitoring",
                      "{\"idempotency_key\":\"orch-99-crypto-light-monitoring\"}"));
    long long since = ((long long)time(NULL) - 120) * 1000;
    struct track_found fd;
    cap_start();
    /* the oldest: on the third page (2 a page, newest first) */
    assert_int_equal(track_find_key(&c, "orchCryptoNormal", "orch-70-crypto-normal-scan", since, &fd), TRACK_OK);
    assert_int_equal(fd.result, TRACK_FOUND);
    assert_string_equal(fd.execution_id, ids[0]);
    assert_int_equal(fd.pages, 3);
    assert_int_equal(fd.executions, 5);
    /* the newest, on the first page */
    assert_int_equal(track_find_key(&c, "orchCryptoNormal", "orch-74-crypto-normal-scan", since, &fd), TRACK_OK);
    assert_int_equal(fd.result, TRACK_FOUND);
    assert_string_equal(fd.execution_id, ids[4]);
    assert_int_equal(fd.pages, 1);
    /* a key no execution of this workflow received: every page read */
    assert_int_equal(track_find_key(&c, "orchCryptoNormal", "orch-99-crypto-light-monitoring", since, &fd), TRACK_OK);
    assert_int_equal(fd.result, TRACK_NOT_FOUND);
    assert_int_equal(fd.executions, 5);
    /* a prefix of a key is not the key */
    assert_int_equal(track_find_key(&c, "orchCryptoNormal", "orch-7-crypto-normal", since, &fd), TRACK_OK);
    assert_int_equal(fd.result, TRACK_NOT_FOUND);
    /* the window starts after every execution: the first page decides */
    assert_int_equal(track_find_key(&c, "orchCryptoNormal", "orch-99-x-y-z", since + 3600000, &fd), TRACK_OK);
    assert_int_equal(fd.result, TRACK_NOT_FOUND);
    assert_int_equal(fd.pages, 1);
    /* an execution still running lists no data (as n8n 1.x): its key is not
     * found, and no other key is ruled out while it runs */
    free(standin_call(&si, "POST", "/_standin/config", "{\"n8n_exec_seconds\":60}"));
    free(standin_call(&si, "POST", "/n8n/webhook/crypto-normal-scan", "{\"idempotency_key\":\"orch-80-crypto-normal-scan\"}"));
    assert_int_equal(track_find_key(&c, "orchCryptoNormal", "orch-80-crypto-normal-scan", since, &fd), TRACK_OK);
    assert_int_equal(fd.result, TRACK_UNDECIDED);
    assert_int_equal(fd.unreadable, 1);
    assert_int_equal(track_find_key(&c, "orchCryptoNormal", "orch-99-crypto-light-monitoring", since, &fd), TRACK_OK);
    assert_int_equal(fd.result, TRACK_UNDECIDED);
    /* ... but one that started before the window does not hold the answer back */
    assert_int_equal(track_find_key(&c, "orchCryptoNormal", "orch-99-x-y-z", since + 3600000, &fd), TRACK_OK);
    assert_int_equal(fd.result, TRACK_NOT_FOUND);
    /* bad inputs are refused before any request */
    assert_int_equal(track_find_key(&c, "bad/id", "orch-70-crypto-normal-scan", since, &fd), TRACK_EINVALID);
    assert_int_equal(track_find_key(&c, "orchCryptoNormal", "short", since, &fd), TRACK_EINVALID);
    /* the API refusing the key: a configuration error, said so */
    free(standin_call(&si, "POST", "/_standin/config", "{\"n8n_api_key\":\"another\"}"));
    assert_int_equal(track_find_key(&c, "orchCryptoNormal", "orch-70-crypto-normal-scan", since, &fd), TRACK_ECONFIG);
    assert_int_equal(fd.result, TRACK_UNDECIDED);
    /* a key without the list's scope: said which scope */
    free(standin_call(&si, "POST", "/_standin/config", "{\"n8n_api_key\":null,\"behaviour\":{\"n8n:api\":\"403\"}}"));
    assert_int_equal(track_find_key(&c, "orchCryptoNormal", "orch-70-crypto-normal-scan", since, &fd), TRACK_ECONFIG);
    assert_non_null(strstr(fd.error, "execution:list"));
    char *log = cap_stop();
    assert_null(strstr(log, KEY));
    assert_non_null(strstr(log, "\"event\":\"track.find_failed\""));
    free(log);
    for (int i = 0; i < 5; i++)
        free(ids[i]);
    standin_stop(&si);
}

/* One page parsed: the key found only as a whole string value, the cursor
 * kept, an older execution seen, and answers that are not n8n's refused. */
static void find_page_parse(void **state)
{
    (void)state;
    struct track_found fd;
    char cursor[64];
    int older = 0;
    const char *page = "{\"data\":[{\"id\":\"12\",\"status\":\"success\",\"startedAt\":\"2025-03-17T09:00:00.000Z\","
                       "\"data\":{\"resultData\":{\"runData\":{\"Webhook\":[{\"data\":{\"main\":[[{\"json\":{"
                       "\"headers\":{\"idempotency-key\":\"orch-5-wf-a\"},\"body\":{\"note\":\"orch-5-wf-ab\"}}}]]}}]}}}},"
                       "{\"id\":11,\"status\":\"error\",\"startedAt\":\"2025-03-17T08:00:00.000Z\",\"data\":[\"orch-4-wf-a\"]}],"
                       "\"nextCursor\":\"abc\"}";
    memset(&fd, 0, sizeof fd);
    assert_int_equal(track_find_page(page, strlen(page), "orch-4-wf-a", 0, &fd, &older, cursor, sizeof cursor), TRACK_OK);
    assert_int_equal(fd.result, TRACK_FOUND);
    assert_string_equal(fd.execution_id, "11");
    assert_string_equal(fd.status, "error");
    memset(&fd, 0, sizeof fd);
    fd.result = TRACK_UNDECIDED;
    long long t0900 = 1742202000000LL;         /* 2025-03-17T09:00:00Z */
    assert_int_equal(track_find_page(page, strlen(page), "orch-5-wf-a-b", t0900, &fd, &older, cursor, sizeof cursor),
                     TRACK_OK);
    assert_int_equal(fd.result, TRACK_UNDECIDED);
    assert_int_equal(fd.executions, 2);
    assert_int_equal(older, 1);                /* 08:00 is before the window */
    assert_string_equal(cursor, "abc");
    /* 12 has ended with its data (success): ruled out; 11 is before the window */
    assert_int_equal(fd.unreadable, 0);
    /* one running in the window, without data: not ruled out */
    const char *running = "{\"data\":[{\"id\":\"13\",\"status\":\"running\",\"startedAt\":\"2025-03-17T09:05:00.000Z\"},"
                          "{\"id\":\"14\",\"status\":\"success\",\"startedAt\":\"2025-03-17T09:06:00.000Z\"}],"
                          "\"nextCursor\":null}";
    memset(&fd, 0, sizeof fd);
    older = 0;
    assert_int_equal(track_find_page(running, strlen(running), "orch-5-wf-a-b", t0900, &fd, &older, cursor, sizeof cursor),
                     TRACK_OK);
    assert_int_equal(fd.unreadable, 2);        /* 13 runs; 14 ended without its data */
    /* an execution carrying the key but without a valid id cannot be tied to it: not ruled out */
    const char *noid = "{\"data\":[{\"id\":\"a/b\",\"status\":\"success\",\"startedAt\":\"2025-03-17T09:05:00.000Z\","
                       "\"data\":{\"k\":\"orch-5-wf-a-b\"}}],\"nextCursor\":null}";
    memset(&fd, 0, sizeof fd);
    fd.result = TRACK_UNDECIDED;
    assert_int_equal(track_find_page(noid, strlen(noid), "orch-5-wf-a-b", t0900, &fd, &older, cursor, sizeof cursor),
                     TRACK_OK);
    assert_int_equal(fd.result, TRACK_UNDECIDED);
    assert_string_equal(fd.execution_id, "");
    assert_int_equal(fd.unreadable, 1);
    assert_int_equal(older, 0);
    assert_string_equal(cursor, "");
    static const char *const bad[] = { "[]", "{\"data\":{}}", "{\"data\":[],\"nextCursor\":5}", "not json",
                                       "{\"data\":[]} x" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&fd, 0, sizeof fd);
        assert_int_equal(track_find_page(bad[i], strlen(bad[i]), "orch-4-wf-a", 0, &fd, &older, cursor, sizeof cursor),
                         TRACK_EINVALID);
        assert_true(fd.error[0] != '\0');
    }
}

int main(void)
{
    seed_install();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(against_the_standin, cap_teardown),
        cmocka_unit_test_teardown(stop_against_the_standin, cap_teardown),
        cmocka_unit_test_teardown(find_by_key_against_the_standin, cap_teardown),
        cmocka_unit_test(find_page_parse),
    };
    return harness_main("test_track_standin", LOG_DEBUG, tests, sizeof tests / sizeof tests[0]);
}
