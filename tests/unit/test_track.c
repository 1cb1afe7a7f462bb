/* Following n8n executions (worker/track.c): the webhook's answer, the
 * execution object and its times, every status and the outcome rule, the
 * API's errors (404, 401, 403, 5xx, timeouts, malformed answers), parallel
 * fetches, and the workflow list with its cursors; against a scripted
 * server in threads (track_rig.h).  Against the project's stand-in:
 * test_track_standin.c. */

#include "track_rig.h"

/* ---- pure functions ------------------------------------------------------------ */

static void webhook_answer_gives_the_execution_id(void **state)
{
    (void)state;
    static const struct { const char *body; const char *want; } cases[] = {
        { "{\"accepted\":true,\"execution_id\":\"45\",\"trigger_id\":31,\"idempotency_key\":\"orch-12-crypto-normal-scan\","
          "\"workflow\":\"crypto-normal-scan\",\"probe\":false}", "45" },
        { "{\"accepted\":true,\"execution_id\":123}", "123" },
        { "{\"executionId\":\"7\"}", "7" },
        { "[{\"execution_id\":\"9\",\"accepted\":true}]", "9" },
        { " \n{\"execution_id\":\"abc_DEF-1\"}\n ", "abc_DEF-1" },
        { "{\"execution_id\":\"1234567890123456789012345678901234567890123456789012345678901234\"}",
          "1234567890123456789012345678901234567890123456789012345678901234" },
        /* no id */
        { "{\"message\":\"Workflow was started\"}", NULL },
        { "{\"accepted\":true,\"execution_id\":null}", NULL },
        { "{\"execution_id\":\"\"}", NULL },
        { "[]", NULL },
        { "[1]", NULL },
        { "\"123\"", NULL },
        { "123", NULL },
        /* malformed or unsafe */
        { "{\"execution_id\":\"../../workflows\"}", NULL },
        { "{\"execution_id\":\"1 OR 1\"}", NULL },
        { "{\"execution_id\":\"1?x=2\"}", NULL },
        { "{\"execution_id\":\"12345678901234567890123456789012345678901234567890123456789012345\"}", NULL },
        { "{\"execution_id\":-3}", NULL },
        { "{\"execution_id\":1.5}", NULL },
        { "{\"execution_id\":true}", NULL },
        { "{\"execution_id\":{\"id\":\"1\"}}", NULL },
        { "{\"execution_id\":\"1\"", NULL },
        { "{\"execution_id\":\"1\"} trailing", NULL },
        { "<html>Bad Gateway</html>", NULL },
        { "", NULL },
        { "Workflow was started", NULL },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *id = track_parse_webhook_answer(cases[i].body);
        if (!cases[i].want && id)
            fail_msg("case %zu: expected no id, got \"%s\": %s", i, id, cases[i].body);
        if (cases[i].want && (!id || strcmp(id, cases[i].want) != 0))
            fail_msg("case %zu: expected \"%s\", got %s: %s", i, cases[i].want, id ? id : "NULL", cases[i].body);
        free(id);
    }
    assert_null(track_parse_webhook_answer(NULL));
}

static void iso_times(void **state)
{
    (void)state;
    long long ms = -1;
    assert_int_equal(track_parse_time("2025-03-17T09:00:00.123Z", &ms), 0);
    assert_true(ms == 1742202000123LL);
    assert_int_equal(track_parse_time("2025-03-17T09:00:00Z", &ms), 0);
    assert_true(ms == 1742202000000LL);
    assert_int_equal(track_parse_time("2025-03-17T10:00:00.5+01:00", &ms), 0);
    assert_true(ms == 1742202000500LL);
    assert_int_equal(track_parse_time("2025-03-17T03:30:00.123456-0530", &ms), 0);
    assert_true(ms == 1742202000123LL);
    assert_int_equal(track_parse_time("2025-03-17 09:00:00", &ms), 0);
    assert_true(ms == 1742202000000LL);
    assert_int_equal(track_parse_time("2024-02-29T00:00:00.000Z", &ms), 0);
    assert_true(ms == 1709164800000LL);
    assert_int_equal(track_parse_time("1970-01-01T00:00:00.000Z", &ms), 0);
    assert_true(ms == 0);
    assert_int_equal(track_parse_time("2000-01-01T00:00:00Z", &ms), 0);
    assert_true(ms == 946684800000LL);
    static const char *const bad[] = {
        "", "2025-03-17", "2025-02-29T00:00:00Z", "2025-13-01T00:00:00Z", "2025-04-31T00:00:00Z",
        "2025-03-17T24:00:00Z", "2025-03-17T09:60:00Z", "2025-03-17T09:00:00.Z", "2025-03-17T09:00:00Zx",
        "2025-03-17T09:00:00+1", "25-03-17T09:00:00Z", "2025-3-17T09:00:00Z", "yesterday",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (track_parse_time(bad[i], &ms) != -1)
            fail_msg("accepted \"%s\"", bad[i]);
    assert_int_equal(track_parse_time(NULL, &ms), -1);
}

static void execution_objects(void **state)
{
    (void)state;
    static const struct { const char *name; enum track_status st; } all[] = {
        { "new", TRACK_STATUS_NEW }, { "running", TRACK_STATUS_RUNNING }, { "waiting", TRACK_STATUS_WAITING },
        { "success", TRACK_STATUS_SUCCESS }, { "error", TRACK_STATUS_ERROR }, { "crashed", TRACK_STATUS_CRASHED },
        { "canceled", TRACK_STATUS_CANCELED }, { "unknown", TRACK_STATUS_UNKNOWN },
    };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        assert_int_equal(track_status_parse(all[i].name), all[i].st);
        assert_string_equal(track_status_name(all[i].st), all[i].name);
    }
    assert_int_equal(track_status_parse("cancelled"), TRACK_STATUS_UNKNOWN);
    assert_int_equal(track_status_parse(NULL), TRACK_STATUS_UNKNOWN);

    struct track_exec e;
    const char *ok = EXEC("45", "success", "true", STOPPED);
    assert_int_equal(track_parse_execution(ok, strlen(ok), &e), TRACK_OK);
    assert_string_equal(e.id, "45");
    assert_int_equal(e.status, TRACK_STATUS_SUCCESS);
    assert_true(e.finished);
    assert_string_equal(e.mode, "webhook");
    assert_string_equal(e.workflow_id, "orchCryptoNormal");
    assert_true(e.started_ms == 1742202000000LL);
    assert_true(e.stopped_ms == 1742202057250LL);
    assert_true(e.wait_till_ms == 0);
    assert_string_equal(e.retry_of, "");

    /* numeric ids (older n8n), retryOf, waitTill */
    const char *num = "{\"id\":46,\"finished\":false,\"mode\":\"retry\",\"status\":\"waiting\",\"startedAt\":\"2025-03-17T09:00:00.000Z\","
                      "\"stoppedAt\":null,\"workflowId\":7,\"retryOf\":45,\"waitTill\":\"2025-03-17T10:00:00.000Z\"}";
    assert_int_equal(track_parse_execution(num, strlen(num), &e), TRACK_OK);
    assert_string_equal(e.id, "46");
    assert_string_equal(e.workflow_id, "7");
    assert_string_equal(e.retry_of, "45");
    assert_int_equal(e.status, TRACK_STATUS_WAITING);
    assert_true(e.stopped_ms == 0);
    assert_true(e.wait_till_ms == 1742205600000LL);

    /* no status field (n8n before 1.0): derived */
    static const struct { const char *body; enum track_status st; int finished; } derived[] = {
        { "{\"id\":\"1\",\"finished\":true,\"stoppedAt\":\"2025-03-17T09:00:01Z\"}", TRACK_STATUS_SUCCESS, 1 },
        { "{\"id\":\"1\",\"finished\":false,\"stoppedAt\":\"2025-03-17T09:00:01Z\"}", TRACK_STATUS_ERROR, 0 },
        { "{\"id\":\"1\",\"finished\":false,\"stoppedAt\":null,\"waitTill\":\"2025-03-17T09:00:01Z\"}", TRACK_STATUS_WAITING, 0 },
        { "{\"id\":\"1\",\"finished\":false,\"stoppedAt\":null}", TRACK_STATUS_RUNNING, 0 },
        { "{\"id\":\"1\",\"status\":null}", TRACK_STATUS_RUNNING, 0 },
        { "{\"id\":\"1\",\"status\":\"success\"}", TRACK_STATUS_SUCCESS, 1 },        /* finished from status */
        { "{\"id\":\"1\",\"status\":\"paused-by-martians\"}", TRACK_STATUS_UNKNOWN, 0 },
        /* an unreadable time is not fatal: the status is what counts */
        { "{\"id\":\"1\",\"status\":\"error\",\"startedAt\":\"soon\",\"stoppedAt\":42}", TRACK_STATUS_ERROR, 0 },
    };
    for (size_t i = 0; i < sizeof derived / sizeof derived[0]; i++) {
        if (track_parse_execution(derived[i].body, strlen(derived[i].body), &e) != TRACK_OK)
            fail_msg("derived %zu refused: %s", i, e.error);
        if (e.status != derived[i].st || e.finished != derived[i].finished)
            fail_msg("derived %zu: status %s finished %d", i, track_status_name(e.status), e.finished);
    }

    static const char *const bad[] = {
        "", "null", "[]", "[" EXEC("1", "success", "true", STOPPED) "]", "{\"finished\":true}",
        "{\"id\":null,\"status\":\"success\"}", "{\"id\":\"../1\",\"status\":\"success\"}",
        "{\"id\":\"1\",\"status\":3}", "{\"id\":\"1\",\"status\":[\"success\"]}", "{\"id\":\"1\",\"status\":\"succ",
        "<!DOCTYPE html><html><body>n8n</body></html>", "{\"id\":\"1\"} {\"id\":\"2\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (track_parse_execution(bad[i], strlen(bad[i]), &e) != TRACK_EINVALID)
            fail_msg("bad %zu accepted: %s", i, bad[i]);
        assert_true(e.error[0] != '\0');
    }
}

/* Issue 10: workflow names and execution modes are stored: they get the
 * same UTF-8 cleaning and bounds as the rest of the text from outside. */
static void names_and_modes_cleaned(void **state)
{
    (void)state;
    struct track_exec e;
    const char *body = "{\"id\":\"45\",\"status\":\"success\",\"mode\":\"web\xc5\x01hook\xff\"}";
    assert_int_equal(track_parse_execution(body, strlen(body), &e), TRACK_OK);
    assert_string_equal(e.mode, "web? hook?");
    char big[512];
    snprintf(big, sizeof big, "{\"id\":\"45\",\"status\":\"success\",\"mode\":\"%s\"}",
             "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
             "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9");
    assert_int_equal(track_parse_execution(big, strlen(big), &e), TRACK_OK);
    assert_true(strlen(e.mode) <= sizeof e.mode - 1);
    assert_true(utf8_valid(e.mode, strlen(e.mode)));

    struct track_workflows w;
    memset(&w, 0, sizeof w);
    size_t cap = 0;
    char cursor[64];
    const char *page = "{\"data\":[{\"id\":\"w1\",\"name\":\"EU\xc5 scan\\u0007\",\"active\":true,"
                       "\"nodes\":[{\"type\":\"n8n-nodes-base.webhook\",\"parameters\":{\"path\":\"p\xff\\n\"}}]},"
                       "{\"id\":\"w2\",\"name\":7,\"active\":\"yes\"},{\"id\":\"../x\",\"name\":\"bad id\"}],"
                       "\"nextCursor\":\"abc\"}";
    assert_int_equal(track_parse_workflows(page, strlen(page), &w, &cap, cursor, sizeof cursor), TRACK_OK);
    assert_int_equal(w.n, 2);
    assert_string_equal(w.items[0].name, "EU? scan ");
    assert_string_equal(w.items[0].webhook_path, "p? ");
    assert_true(w.items[0].active);
    assert_string_equal(w.items[1].name, "");
    assert_false(w.items[1].active);
    assert_string_equal(cursor, "abc");
    /* a cursor goes into a URL: printable ASCII only */
    const char *badcur = "{\"data\":[],\"nextCursor\":\"a\xc3\xa9\"}";
    assert_int_equal(track_parse_workflows(badcur, strlen(badcur), &w, &cap, cursor, sizeof cursor), TRACK_EINVALID);
    track_workflows_free(&w);
}

static void outcome_rule(void **state)
{
    (void)state;
    time_t t0 = 1742202000;
    long to = 1800;
    /* final statuses end the trigger whatever the time */
    assert_string_equal(track_outcome(TRACK_STATUS_SUCCESS, t0, t0 + 5, to), "succeeded");
    assert_string_equal(track_outcome(TRACK_STATUS_ERROR, t0, t0 + 5, to), "failed");
    assert_string_equal(track_outcome(TRACK_STATUS_CRASHED, t0, t0 + 5, to), "crashed");
    assert_string_equal(track_outcome(TRACK_STATUS_CANCELED, t0, t0 + 5, to), "canceled");
    assert_string_equal(track_outcome(TRACK_STATUS_SUCCESS, t0, t0 + 99999, to), "succeeded");
    assert_string_equal(track_outcome(TRACK_STATUS_ERROR, t0, t0 + 99999, to), "failed");
    /* the others stay open until the timeout, then time out */
    const enum track_status open[] = { TRACK_STATUS_NEW, TRACK_STATUS_RUNNING, TRACK_STATUS_WAITING, TRACK_STATUS_UNKNOWN };
    for (size_t i = 0; i < sizeof open / sizeof open[0]; i++) {
        assert_null(track_outcome(open[i], t0, t0, to));
        assert_null(track_outcome(open[i], t0, t0 + to - 1, to));
        assert_string_equal(track_outcome(open[i], t0, t0 + to, to), "timed_out");
        assert_string_equal(track_outcome(open[i], t0, t0 + 10 * to, to), "timed_out");
        assert_null(track_outcome(open[i], t0, t0 - 60, to));      /* a clock step back: still open */
    }
}

static void api_url_and_enabled(void **state)
{
    (void)state;
    struct cfg c;
    memset(&c, 0, sizeof c);
    char url[128];
    c.n8n_base_url = "";
    c.n8n_api_url = "";
    c.n8n_api_key = KEY;
    assert_int_equal(track_api_url(&c, url, sizeof url), -1);
    assert_string_equal(url, "");
    assert_false(track_enabled(&c));
    c.n8n_base_url = "http://127.0.0.1:5678";
    assert_int_equal(track_api_url(&c, url, sizeof url), 0);
    assert_string_equal(url, "http://127.0.0.1:5678/api/v1");
    assert_true(track_enabled(&c));
    c.n8n_api_url = "https://n8n.example/custom/api/v1/";
    assert_int_equal(track_api_url(&c, url, sizeof url), 0);
    assert_string_equal(url, "https://n8n.example/custom/api/v1");
    assert_int_equal(track_api_url(&c, url, 10), -1);
    c.n8n_api_key = "";
    assert_false(track_enabled(&c));
    struct track_exec e;
    assert_int_equal(track_fetch(&c, "1", &e), TRACK_EDISABLED);
    assert_non_null(strstr(e.error, "N8N_API_KEY"));
    struct track_workflows w;
    assert_int_equal(track_list_workflows(&c, &w), TRACK_EDISABLED);
    assert_int_equal(w.n, 0);
    track_workflows_free(&w);
    assert_string_equal(track_strerror(TRACK_EGONE), "execution not found");
}

/* ---- against the scripted server ---------------------------------------------- */

static const struct route exec_routes[] = {
    { "GET /api/v1/executions/1", 200, EXEC("1", "success", "true", STOPPED), 0 },
    { "GET /api/v1/executions/2", 200, EXEC("2", "error", "false", STOPPED), 0 },
    { "GET /api/v1/executions/3", 200, EXEC("3", "crashed", "false", STOPPED), 0 },
    { "GET /api/v1/executions/4", 200, EXEC("4", "canceled", "false", STOPPED), 0 },
    { "GET /api/v1/executions/5", 200, EXEC("5", "running", "false", "null"), 0 },
    { "GET /api/v1/executions/6", 200, EXEC("6", "waiting", "false", "null"), 0 },
    { "GET /api/v1/executions/7", 200, EXEC("7", "new", "false", "null"), 0 },
    { "GET /api/v1/executions/8", 200, EXEC("8", "unknown", "false", "null"), 0 },
    { "GET /api/v1/executions/404", 404, "{\"message\":\"Not Found\"}", 0 },
    { "GET /api/v1/executions/nopublicapi", 404, "<!DOCTYPE html><pre>Cannot GET /api/v1/executions/nopublicapi</pre>", 0 },
    { "GET /api/v1/executions/cannot", 404, "{\"code\":404,\"message\":\"Cannot GET /api/v1/executions/cannot\"}", 0 },
    { "GET /api/v1/executions/401", 401, "{\"message\":\"unauthorized\"}", 0 },
    { "GET /api/v1/executions/403", 403, "{\"message\":\"Forbidden\"}", 0 },
    { "GET /api/v1/executions/500", 500, "{\"message\":\"Internal Server Error\"}", 0 },
    { "GET /api/v1/executions/502", 502, "<html>Bad Gateway</html>", 0 },
    { "GET /api/v1/executions/503", 503, "", 0 },
    { "GET /api/v1/executions/429", 429, "{\"message\":\"Too Many Requests\"}", 0 },
    { "GET /api/v1/executions/400", 400, "{\"message\":\"request/params/id must be integer\"}", 0 },
    { "GET /api/v1/executions/slow", 200, EXEC("slow", "success", "true", STOPPED), 2500 },
    { "GET /api/v1/executions/truncated", 200, "{\"id\":\"truncated\",\"status\":\"succ", 0 },
    { "GET /api/v1/executions/html", 200, "<!DOCTYPE html><html><body>n8n editor</body></html>", 0 },
    { "GET /api/v1/executions/empty", 200, "", 0 },
    { "GET /api/v1/executions/other", 200, EXEC("99", "success", "true", STOPPED), 0 },
};
#define NROUTES ((int)(sizeof exec_routes / sizeof exec_routes[0]))

static void fetch_every_status(void **state)
{
    (void)state;
    struct rig r;
    cap_start();
    rig_up(&r, exec_routes, NROUTES, NULL);
    static const struct { const char *id; enum track_status st; const char *outcome; } want[] = {
        { "1", TRACK_STATUS_SUCCESS, "succeeded" }, { "2", TRACK_STATUS_ERROR, "failed" },
        { "3", TRACK_STATUS_CRASHED, "crashed" }, { "4", TRACK_STATUS_CANCELED, "canceled" },
        { "5", TRACK_STATUS_RUNNING, NULL }, { "6", TRACK_STATUS_WAITING, NULL },
        { "7", TRACK_STATUS_NEW, NULL }, { "8", TRACK_STATUS_UNKNOWN, NULL },
    };
    time_t now = time(NULL);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        struct track_exec e;
        assert_int_equal(track_fetch(&r.cfg, want[i].id, &e), TRACK_OK);
        assert_string_equal(e.id, want[i].id);
        assert_int_equal(e.status, want[i].st);
        assert_int_equal(e.http_status, 200);
        assert_int_equal(e.finished, want[i].st == TRACK_STATUS_SUCCESS);
        const char *oc = track_outcome(e.status, now - 60, now, r.cfg.track_timeout_seconds);
        if (want[i].outcome)
            assert_string_equal(oc, want[i].outcome);
        else
            assert_null(oc);
        /* still open, but past the timeout */
        if (!want[i].outcome)
            assert_string_equal(track_outcome(e.status, now - 1800, now, r.cfg.track_timeout_seconds), "timed_out");
    }
    /* the request: path, key header, Accept */
    assert_string_equal(r.sv.targets[0], "GET /api/v1/executions/1");
    assert_non_null(strstr(r.sv.last_headers, "X-N8N-API-KEY: " KEY "\r\n"));
    assert_non_null(strstr(r.sv.last_headers, "Accept: application/json\r\n"));
    server_stop(&r.sv);
    char *log = cap_stop();
    free(log);
}

static void fetch_errors(void **state)
{
    (void)state;
    struct rig r;
    cap_start();
    rig_up(&r, exec_routes, NROUTES, NULL);
    static const struct { const char *id; enum track_err err; long http; const char *msg; } want[] = {
        { "404", TRACK_EGONE, 404, "pruned" },
        { "nopublicapi", TRACK_ECONFIG, 404, "N8N_API_URL" },
        { "cannot", TRACK_ECONFIG, 404, "public API" },
        { "401", TRACK_ECONFIG, 401, "check N8N_API_KEY" },
        { "403", TRACK_ECONFIG, 403, "execution:read" },
        { "500", TRACK_ERETRY, 500, "HTTP 500" },
        { "502", TRACK_ERETRY, 502, "HTTP 502" },
        { "503", TRACK_ERETRY, 503, "HTTP 503" },
        { "429", TRACK_ERETRY, 429, "HTTP 429" },
        { "slow", TRACK_ERETRY, 0, "timeout" },
        { "400", TRACK_EINVALID, 400, "HTTP 400" },
        { "truncated", TRACK_EINVALID, 200, "not a JSON object" },
        { "html", TRACK_EINVALID, 200, "not a JSON object" },
        { "empty", TRACK_EINVALID, 200, "not a JSON object" },
        { "other", TRACK_EINVALID, 200, "execution 99" },
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        struct track_exec e;
        enum track_err got = track_fetch(&r.cfg, want[i].id, &e);
        if (got != want[i].err)
            fail_msg("%s: expected %s, got %s (%s)", want[i].id, track_strerror(want[i].err), track_strerror(got), e.error);
        assert_int_equal(e.http_status, want[i].http);
        assert_string_equal(e.id, want[i].id);
        assert_int_equal(e.status, TRACK_STATUS_UNKNOWN);
        if (!strstr(e.error, want[i].msg))
            fail_msg("%s: error \"%s\" lacks \"%s\"", want[i].id, e.error, want[i].msg);
    }
    /* ids that cannot go into a URL are refused before any request */
    int before = r.sv.served;
    struct track_exec e;
    assert_int_equal(track_fetch(&r.cfg, "../workflows", &e), TRACK_EINVALID);
    assert_int_equal(track_fetch(&r.cfg, "", &e), TRACK_EINVALID);
    assert_int_equal(track_fetch(&r.cfg, NULL, &e), TRACK_EINVALID);
    assert_int_equal(r.sv.served, before);
    server_stop(&r.sv);
    /* nobody listening */
    assert_int_equal(track_fetch(&r.cfg, "1", &e), TRACK_ERETRY);
    assert_non_null(strstr(e.error, "could not connect"));
    char *log = cap_stop();            /* fails if the key is there */
    assert_non_null(strstr(log, "\"event\":\"track.gone\""));
    assert_non_null(strstr(log, "\"event\":\"track.config_error\""));
    assert_non_null(strstr(log, "\"event\":\"track.fetch_failed\""));
    assert_non_null(strstr(log, "\"event\":\"track.invalid_answer\""));
    assert_null(strstr(log, "127.0.0.1"));    /* no URL in the log */
    free(log);
}

static void fetch_many_in_parallel(void **state)
{
    (void)state;
    /* 20 ids, each answered after 300 ms: sequentially 6 s */
    static struct route routes[20];
    static char targets[20][64], bodies[20][512];
    static const char *const sts[] = { "success", "error", "crashed", "canceled", "running", "waiting", "new", "unknown" };
    for (int i = 0; i < 20; i++) {
        snprintf(targets[i], sizeof targets[i], "GET /api/v1/executions/%d", 100 + i);
        char id[8];
        snprintf(id, sizeof id, "%d", 100 + i);
        snprintf(bodies[i], sizeof bodies[i],
                 "{\"id\":\"%s\",\"finished\":%s,\"mode\":\"webhook\",\"status\":\"%s\",\"startedAt\":\"2025-03-17T09:00:00.000Z\","
                 "\"stoppedAt\":null,\"workflowId\":\"w%d\"}", id, i % 8 == 0 ? "true" : "false", sts[i % 8], i);
        routes[i] = (struct route){ targets[i], 200, bodies[i], 300 };
    }
    routes[7] = (struct route){ targets[7], 404, "{\"message\":\"Not Found\"}", 300 };
    struct rig r;
    cap_start();
    rig_up(&r, routes, 20, NULL);
    const char *ids[22];
    char idbuf[20][8];
    for (int i = 0; i < 20; i++) {
        snprintf(idbuf[i], sizeof idbuf[i], "%d", 100 + i);
        ids[i] = idbuf[i];
    }
    ids[20] = "bad/id";
    ids[21] = "100";                                   /* the same id twice is fine */
    struct track_exec outs[22];
    enum track_err errs[22];
    long long t0 = now_ms();
    size_t ok = track_fetch_many(&r.cfg, ids, 22, outs, errs);
    long long took = now_ms() - t0;
    assert_int_equal(ok, 20);                          /* 22 - the 404 - the bad id */
    assert_true(took < 1500);
    assert_true(r.sv.max_active >= 4);
    for (int i = 0; i < 20; i++) {
        if (i == 7) {
            assert_int_equal(errs[i], TRACK_EGONE);
            continue;
        }
        assert_int_equal(errs[i], TRACK_OK);
        assert_string_equal(outs[i].id, ids[i]);
        assert_int_equal(outs[i].status, track_status_parse(sts[i % 8]));
        char wf[8];
        snprintf(wf, sizeof wf, "w%d", i);
        assert_string_equal(outs[i].workflow_id, wf);
    }
    assert_int_equal(errs[20], TRACK_EINVALID);
    assert_int_equal(errs[21], TRACK_OK);
    assert_int_equal(outs[21].status, TRACK_STATUS_SUCCESS);
    assert_int_equal(r.sv.served, 21);
    assert_int_equal(track_fetch_many(&r.cfg, ids, 0, outs, errs), 0);
    server_stop(&r.sv);
    free(cap_stop());
}

/* ---- workflows ------------------------------------------------------------------- */

#define WF(id, name, active, path) \
    "{\"id\":" id ",\"name\":\"" name "\",\"active\":" active ",\"isArchived\":false,\"createdAt\":\"2025-03-17T09:00:00.000Z\"," \
    "\"nodes\":[{\"name\":\"Start\",\"type\":\"n8n-nodes-base.code\",\"parameters\":{\"path\":\"not-this\"}}," \
    "{\"name\":\"Webhook\",\"type\":\"n8n-nodes-base.webhook\",\"parameters\":{\"httpMethod\":\"POST\",\"path\":\"" path "\"," \
    "\"options\":{\"a\":{\"b\":{\"c\":{\"d\":[1,[2,[3]]]}}}}}}],\"connections\":{},\"settings\":{},\"tags\":[]}"

#define LONG_NAME "@LONG@"      /* replaced by a name of 127 bytes + an e-acute across byte 128 */

static void list_workflows_follows_cursors(void **state)
{
    (void)state;
    /* page 2 carries a name whose 129th byte is inside a character */
    static const char page2_tpl[] =
        "{\"data\":[" WF("12", LONG_NAME, "true", "deep-market-analysis") ","
        "{\"id\":\"plain\",\"name\":\"No webhook\",\"active\":true,\"isArchived\":true,\"nodes\":[]}],\"nextCursor\":null}";
    static char page2[sizeof page2_tpl + 200], long_name[160];
    int k = snprintf(long_name, sizeof long_name, "Caf\xc3\xa9");
    memset(long_name + k, 'a', 127 - (size_t)k);
    snprintf(long_name + 127, sizeof long_name - 127, "\xc3\xa9\xc3\xa9");
    const char *at = strstr(page2_tpl, LONG_NAME);
    snprintf(page2, sizeof page2, "%.*s%s%s", (int)(at - page2_tpl), page2_tpl, long_name, at + strlen(LONG_NAME));
    const struct route wf_routes[] = {
        { "GET /api/v1/workflows?limit=250", 200,
          "{\"data\":[" WF("\"orchCryptoNormal\"", "crypto-normal-scan", "true", "crypto-normal-scan") ","
          WF("\"orchForexAsiaSes\"", "forex-asia-session", "false", "forex-asia-session") ","
          "{\"name\":\"no id\",\"active\":true}," "\"not an object\"],\"nextCursor\":\"c+/2==\"}", 0 },
        { "GET /api/v1/workflows?limit=250&cursor=c%2B%2F2%3D%3D", 200, page2, 0 },
    };
    struct rig r;
    cap_start();
    rig_up(&r, wf_routes, 2, NULL);
    struct track_workflows w;
    assert_int_equal(track_list_workflows(&r.cfg, &w), TRACK_OK);
    assert_int_equal(r.sv.served, 2);
    assert_int_equal(w.n, 4);
    assert_false(w.truncated);
    assert_string_equal(w.items[0].id, "orchCryptoNormal");
    assert_string_equal(w.items[0].name, "crypto-normal-scan");
    assert_true(w.items[0].active);
    assert_false(w.items[0].archived);
    assert_string_equal(w.items[0].webhook_path, "crypto-normal-scan");
    assert_false(w.items[1].active);
    assert_string_equal(w.items[1].webhook_path, "forex-asia-session");
    assert_string_equal(w.items[2].id, "12");
    /* cut at a character boundary: 127 bytes, not half an e-acute */
    assert_int_equal(strlen(w.items[2].name), 127);
    assert_int_equal(strncmp(w.items[2].name, long_name, 127), 0);
    assert_string_equal(w.items[2].webhook_path, "deep-market-analysis");
    assert_string_equal(w.items[3].id, "plain");
    assert_true(w.items[3].archived);
    assert_string_equal(w.items[3].webhook_path, "");
    assert_non_null(strstr(r.sv.last_headers, "X-N8N-API-KEY: " KEY "\r\n"));

    json_object *j = track_workflows_json(&w);
    assert_int_equal(json_object_array_length(j), 4);
    json_object *first = json_object_array_get_idx(j, 0);
    assert_string_equal(json_object_get_string(json_object_object_get(first, "webhook_path")), "crypto-normal-scan");
    assert_true(json_object_get_boolean(json_object_object_get(first, "active")));
    json_object_put(j);
    track_workflows_free(&w);
    track_workflows_free(&w);          /* twice: a no-op */
    server_stop(&r.sv);
    char *log = cap_stop();
    assert_non_null(strstr(log, "\"event\":\"track.workflows\""));
    assert_non_null(strstr(log, "\"count\":4"));
    free(log);
}

/* Every page names a new cursor: p1, p2, ... */
static char *endless_pages(const char *target, int *status)
{
    int page = 0;
    const char *c = strstr(target, "cursor=p");
    if (c) {
        char *end;
        long v = strtol(c + 8, &end, 10);
        assert_true(end != c + 8 && v >= 0 && v < 1000000);
        page = (int)v;
    }
    char *body = malloc(256);
    snprintf(body, 256, "{\"data\":[{\"id\":\"w%d\",\"name\":\"n%d\",\"active\":true}],\"nextCursor\":\"p%d\"}",
             page, page, page + 1);
    *status = 200;
    return body;
}

/* Page 1 points at itself. */
static char *same_cursor(const char *target, int *status)
{
    (void)target;
    *status = 200;
    return strdup("{\"data\":[],\"nextCursor\":\"again\"}");
}

static void list_workflows_bounds_and_errors(void **state)
{
    (void)state;
    struct rig r;
    struct track_workflows w;
    cap_start();
    rig_up(&r, NULL, 0, endless_pages);
    assert_int_equal(track_list_workflows(&r.cfg, &w), TRACK_OK);
    assert_int_equal(r.sv.served, TRACK_MAX_PAGES);
    assert_int_equal(w.n, TRACK_MAX_PAGES);
    assert_true(w.truncated);
    assert_string_equal(w.items[TRACK_MAX_PAGES - 1].id, "w19");
    track_workflows_free(&w);
    server_stop(&r.sv);

    rig_up(&r, NULL, 0, same_cursor);
    assert_int_equal(track_list_workflows(&r.cfg, &w), TRACK_EINVALID);
    assert_int_equal(r.sv.served, 2);
    assert_int_equal(w.n, 0);
    assert_null(w.items);
    assert_non_null(strstr(w.error, "same nextCursor"));
    server_stop(&r.sv);

    static const struct { int status; const char *body; enum track_err err; const char *msg; } cases[] = {
        { 401, "{\"message\":\"'X-N8N-API-KEY' header required\"}", TRACK_ECONFIG, "N8N_API_KEY" },
        { 403, "{\"message\":\"Forbidden\"}", TRACK_ECONFIG, "workflow:list" },
        { 404, "{\"message\":\"Not Found\"}", TRACK_ECONFIG, "N8N_API_URL" },
        { 500, "{}", TRACK_ERETRY, "HTTP 500" },
        { 200, "{\"data\":{}}", TRACK_EINVALID, "data" },
        { 200, "{\"data\":[],\"nextCursor\":5}", TRACK_EINVALID, "nextCursor" },
        { 200, "[{\"id\":\"1\"}]", TRACK_EINVALID, "data" },
        { 200, "{\"data\":[{\"id\":\"1\",\"name\":\"x\"", TRACK_EINVALID, "data" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct route one = { "GET /api/v1/workflows?limit=250", cases[i].status, cases[i].body, 0 };
        rig_up(&r, &one, 1, NULL);
        enum track_err got = track_list_workflows(&r.cfg, &w);
        if (got != cases[i].err)
            fail_msg("case %zu: expected %s, got %s (%s)", i, track_strerror(cases[i].err), track_strerror(got), w.error);
        if (!strstr(w.error, cases[i].msg))
            fail_msg("case %zu: error \"%s\" lacks \"%s\"", i, w.error, cases[i].msg);
        assert_int_equal(w.n, 0);
        track_workflows_free(&w);
        server_stop(&r.sv);
    }
    char *log = cap_stop();
    assert_non_null(strstr(log, "\"event\":\"track.workflows_failed\""));
    assert_non_null(strstr(log, "\"truncated\":true"));
    free(log);
}

int main(void)
{
    seed_install();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(webhook_answer_gives_the_execution_id, cap_teardown),
        cmocka_unit_test_teardown(iso_times, cap_teardown),
        cmocka_unit_test_teardown(execution_objects, cap_teardown),
        cmocka_unit_test_teardown(names_and_modes_cleaned, cap_teardown),
        cmocka_unit_test_teardown(outcome_rule, cap_teardown),
        cmocka_unit_test_teardown(api_url_and_enabled, cap_teardown),
        cmocka_unit_test_teardown(fetch_every_status, cap_teardown),
        cmocka_unit_test_teardown(fetch_errors, cap_teardown),
        cmocka_unit_test_teardown(fetch_many_in_parallel, cap_teardown),
        cmocka_unit_test_teardown(list_workflows_follows_cursors, cap_teardown),
        cmocka_unit_test_teardown(list_workflows_bounds_and_errors, cap_teardown),
    };
    return harness_main("test_track", LOG_DEBUG, tests, sizeof tests / sizeof tests[0]);
}
