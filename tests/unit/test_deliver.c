/* Unit tests of worker/deliver.c's pure parts: WORKFLOW_CONCURRENCY
 * parsing, error kinds and what is retried, backoff with jitter and
 * retry-after, the circuit breaker's states; act_retry_after_ms; and a
 * local deliver (the replay's) through a test transport, without a
 * database. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "act.h"
#include "cfg.h"
#include "deliver.h"
#include "follow.h"
#include "learn.h"
#include "http.h"
#include "log.h"
#include "store.h"
#include "seed.h"

/* Parse spec, expecting success. */
static void policy_ok(const char *spec, int out[CATALOG_SLOTS])
{
    char err[200] = "";
    int rc = deliver_policy_parse(spec, 1, out, err, sizeof err);
    if (rc != 0)
        print_error("unexpected error for \"%s\": %s\n", spec, err);
    assert_int_equal(rc, 0);
}

/* Parse spec, expecting failure with a message containing want. */
static void policy_bad(const char *spec, const char *want)
{
    int out[CATALOG_SLOTS];
    char err[200] = "";
    int rc = deliver_policy_parse(spec, 1, out, err, sizeof err);
    if (rc != -1)
        print_error("accepted \"%s\"\n", spec);
    assert_int_equal(rc, -1);
    if (!strstr(err, want))
        print_error("for \"%s\": message \"%s\" lacks \"%s\"\n", spec, err, want);
    assert_non_null(strstr(err, want));
    assert_non_null(strstr(err, "WORKFLOW_CONCURRENCY"));
}

static void test_policy_parse(void **state)
{
    (void)state;
    int p[CATALOG_SLOTS];
    policy_ok("deep-market-analysis=forbid,default=allow", p);
    for (int w = 0; w < WF_COUNT; w++)
        assert_int_equal(p[w], w == WF_DEEP_ANALYSIS ? DELIVER_FORBID : DELIVER_ALLOW);
    /* nothing said: the catalog's own (deep-market-analysis forbid) */
    policy_ok("", p);
    for (int w = 0; w < WF_COUNT; w++)
        assert_int_equal(p[w], w == WF_DEEP_ANALYSIS ? DELIVER_FORBID : DELIVER_ALLOW);
    /* a name overrides the catalog, the others keep theirs */
    policy_ok("crypto-light-monitoring=replace", p);
    assert_int_equal(p[WF_CRYPTO_LIGHT], DELIVER_REPLACE);
    assert_int_equal(p[WF_DEEP_ANALYSIS], DELIVER_FORBID);
    assert_int_equal(p[WF_CRYPTO_NORMAL], DELIVER_ALLOW);
    /* "default" overrides every workflow it does not name */
    policy_ok("default=allow", p);
    assert_int_equal(p[WF_DEEP_ANALYSIS], DELIVER_ALLOW);
    /* after a reload removed a named workflow: ignored, not an error */
    char err[200];
    assert_int_equal(deliver_policy_parse("gone-workflow=forbid,crypto-normal-scan=forbid", 0, p, err, sizeof err), 0);
    assert_int_equal(p[WF_CRYPTO_NORMAL], DELIVER_FORBID);
    /* default applies to the others, wherever it stands; spaces are fine */
    policy_ok(" default = replace , crypto-normal-scan=allow ,health-monitor-check= forbid ", p);
    assert_int_equal(p[WF_CRYPTO_NORMAL], DELIVER_ALLOW);
    assert_int_equal(p[WF_HEALTH_CHECK], DELIVER_FORBID);
    assert_int_equal(p[WF_CRYPTO_AGGRESSIVE], DELIVER_REPLACE);
    assert_int_equal(p[WF_DEEP_ANALYSIS], DELIVER_REPLACE);
    assert_string_equal(deliver_policy_name(DELIVER_FORBID), "forbid");
    assert_string_equal(deliver_policy_name(DELIVER_REPLACE), "replace");
    assert_string_equal(deliver_policy_name(DELIVER_ALLOW), "allow");
}

static void test_policy_bad(void **state)
{
    (void)state;
    policy_bad("deep-market-analysis=never", "unknown policy \"never\"");
    policy_bad("moon-scan=forbid", "\"moon-scan\" is not a workflow");
    policy_bad("deep-market-analysis", "expected name=policy");
    policy_bad("deep-market-analysis=forbid,", "ends with a comma");
    policy_bad("deep-market-analysis=forbid,,default=allow", "expected name=policy");
    policy_bad("default=allow,default=forbid", "\"default\" given twice");
    policy_bad("crypto-normal-scan=allow,crypto-normal-scan=forbid", "given twice");
    policy_bad("=forbid", "is not a workflow");
    policy_bad("crypto-normal-scan=FORBID", "unknown policy");
    char long_spec[1100];
    memset(long_spec, 'x', sizeof long_spec - 1);
    long_spec[sizeof long_spec - 1] = '\0';
    policy_bad(long_spec, "longer than");
}

static struct act_job job(enum act_status st, int terr, long http)
{
    struct act_job j;
    memset(&j, 0, sizeof j);
    j.status = st;
    j.transport_err = terr;
    j.http_status = http;
    j.retry_after_ms = -1;
    return j;
}

static void test_kinds(void **state)
{
    (void)state;
    struct act_job j = job(ACT_SENT, HTTP_OK, 200);
    assert_int_equal(deliver_kind_of(&j), DELIVER_KIND_NONE);
    assert_null(deliver_kind_name(DELIVER_KIND_NONE));
    j = job(ACT_FAILED, HTTP_ETIMEOUT, 0);
    assert_int_equal(deliver_kind_of(&j), DELIVER_KIND_TIMEOUT);
    j = job(ACT_FAILED, HTTP_ECONNECT, 0);
    assert_int_equal(deliver_kind_of(&j), DELIVER_KIND_TRANSPORT);
    j = job(ACT_FAILED, HTTP_OK, 500);
    assert_int_equal(deliver_kind_of(&j), DELIVER_KIND_SERVER_ERROR);
    j = job(ACT_FAILED, HTTP_OK, 503);
    assert_int_equal(deliver_kind_of(&j), DELIVER_KIND_SERVER_ERROR);
    j = job(ACT_FAILED, HTTP_OK, 429);
    assert_int_equal(deliver_kind_of(&j), DELIVER_KIND_RATE_LIMITED);
    j = job(ACT_UNAVAILABLE, HTTP_OK, 404);
    assert_int_equal(deliver_kind_of(&j), DELIVER_KIND_NOT_REGISTERED);
    j = job(ACT_FAILED, HTTP_OK, 403);
    assert_int_equal(deliver_kind_of(&j), DELIVER_KIND_CLIENT_ERROR);
    j = job(ACT_FAILED, HTTP_OK, 422);
    assert_int_equal(deliver_kind_of(&j), DELIVER_KIND_CLIENT_ERROR);
    /* n8n answered, but more than the worker reads: its execution may run, never sent again */
    j = job(ACT_FAILED, HTTP_ETOOBIG, 500);
    assert_int_equal(deliver_kind_of(&j), DELIVER_KIND_TOO_BIG);
    assert_false(deliver_retryable(DELIVER_KIND_TOO_BIG));

    assert_true(deliver_retryable(DELIVER_KIND_TRANSPORT));
    assert_true(deliver_retryable(DELIVER_KIND_TIMEOUT));
    assert_true(deliver_retryable(DELIVER_KIND_SERVER_ERROR));
    assert_true(deliver_retryable(DELIVER_KIND_RATE_LIMITED));
    assert_false(deliver_retryable(DELIVER_KIND_CLIENT_ERROR));
    assert_false(deliver_retryable(DELIVER_KIND_NOT_REGISTERED));
    assert_false(deliver_retryable(DELIVER_KIND_NONE));
    /* the names are the CHECK constraint's */
    const char *names[] = { "transport", "timeout", "server_error", "rate_limited", "client_error",
                            "not_registered", "circuit_open", "concurrency", "too_big" };
    for (int k = DELIVER_KIND_TRANSPORT; k < DELIVER_KIND_COUNT; k++)
        assert_string_equal(deliver_kind_name(k), names[k - 1]);
}

static void test_backoff(void **state)
{
    (void)state;
    /* equal jitter: half fixed, half random */
    assert_int_equal(deliver_backoff_ms(1, 1000, 30000, -1, 0.0), 500);
    assert_int_equal(deliver_backoff_ms(1, 1000, 30000, -1, 0.999999), 999);
    assert_int_equal(deliver_backoff_ms(2, 1000, 30000, -1, 0.0), 1000);
    assert_int_equal(deliver_backoff_ms(3, 1000, 30000, -1, 0.5), 3000);
    /* doubling stops at the cap */
    assert_int_equal(deliver_backoff_ms(10, 1000, 30000, -1, 0.0), 15000);
    assert_int_equal(deliver_backoff_ms(1000, 1000, 30000, -1, 0.999), 29985);
    for (int a = 1; a < 40; a++) {
        long w = deliver_backoff_ms(a, 250, 60000, -1, 0.7);
        assert_true(w >= 125 && w <= 60000);
    }
    /* retry-after is a floor; longer than the cap: give up */
    assert_int_equal(deliver_backoff_ms(1, 1000, 30000, 2000, 0.0), 2000);
    assert_int_equal(deliver_backoff_ms(3, 1000, 30000, 2000, 0.5), 3000);
    assert_int_equal(deliver_backoff_ms(1, 1000, 30000, 30000, 0.0), 30000);
    assert_int_equal(deliver_backoff_ms(1, 1000, 30000, 30001, 0.0), -1);
    /* bad jitter values are treated as 0 */
    assert_int_equal(deliver_backoff_ms(1, 1000, 30000, -1, 1.5), 500);
    assert_int_equal(deliver_backoff_ms(0, 1000, 30000, -1, 0.0), 500);
}

static void test_retry_after(void **state)
{
    (void)state;
    time_t now = 784111777;                         /* Sun, 06 Nov 1994 08:49:37 GMT */
    assert_int_equal(act_retry_after_ms(NULL, now), -1);
    assert_int_equal(act_retry_after_ms("", now), -1);
    assert_int_equal(act_retry_after_ms("2", now), 2000);
    assert_int_equal(act_retry_after_ms(" 15 ", now), 15000);
    assert_int_equal(act_retry_after_ms("0", now), 0);
    assert_int_equal(act_retry_after_ms("-3", now), -1);
    assert_int_equal(act_retry_after_ms("1.5", now), -1);
    assert_int_equal(act_retry_after_ms("99999999999", now), 86400000);
    assert_int_equal(act_retry_after_ms("Sun, 06 Nov 1994 08:49:47 GMT", now), 10000);
    assert_int_equal(act_retry_after_ms("Sun, 06 Nov 1994 08:49:00 GMT", now), 0);   /* past: now */
    assert_int_equal(act_retry_after_ms("Sun, 06 Nov 1994 08:49:47 PST", now), -1);
    assert_int_equal(act_retry_after_ms("yesterday", now), -1);
}

static void test_circuit(void **state)
{
    (void)state;
    struct breaker c;
    memset(&c, 0, sizeof c);
    time_t t = 1000;
    assert_true(breaker_allow(&c, t, 1, 600));
    assert_int_equal(breaker_record(&c, 0, t, 3, 60), 0);
    assert_int_equal(breaker_record(&c, 0, t, 3, 60), 0);
    /* a success resets the count */
    assert_int_equal(breaker_record(&c, 1, t, 3, 60), 0);
    assert_int_equal(c.failures, 0);
    assert_int_equal(breaker_record(&c, 0, t, 3, 60), 0);
    assert_int_equal(breaker_record(&c, 0, t, 3, 60), 0);
    assert_int_equal(breaker_record(&c, 0, t + 1, 3, 60), 1);   /* the third opens it */
    assert_int_equal(c.state, BREAKER_OPEN);
    assert_int_equal(c.open_until, t + 61);
    assert_int_equal(c.opens, 1);
    assert_string_equal(breaker_name(c.state), "open");
    assert_false(breaker_allow(&c, t + 30, 1, 600));
    assert_false(breaker_allow(&c, t + 60, 1, 600));
    /* a late failure while open does not open it again */
    assert_int_equal(breaker_record(&c, 0, t + 40, 3, 60), 0);
    assert_int_equal(c.opens, 1);
    /* cooldown over: half open lets one through */
    assert_true(breaker_allow(&c, t + 61, 2, 600));
    assert_int_equal(c.state, BREAKER_HALF_OPEN);
    assert_string_equal(breaker_name(c.state), "half_open");
    /* its failure opens it again at once */
    assert_int_equal(breaker_record(&c, 0, t + 62, 3, 60), 1);
    assert_int_equal(c.state, BREAKER_OPEN);
    assert_int_equal(c.opens, 2);
    assert_true(breaker_allow(&c, t + 200, 3, 600));
    /* its success closes it */
    assert_int_equal(breaker_record(&c, 1, t + 201, 3, 60), 0);
    assert_int_equal(c.state, BREAKER_CLOSED);
    assert_int_equal(c.failures, 0);
    assert_string_equal(breaker_name(c.state), "closed");
    /* threshold 1: the first failure opens */
    memset(&c, 0, sizeof c);
    assert_int_equal(breaker_record(&c, 0, t, 1, 5), 1);
}

/* Half open admits exactly one probe until its outcome: with tracking a
 * success arrives only at the execution's end, and meanwhile every other
 * trigger is refused; the probe's own retries pass. */
static void test_half_open_one_probe(void **state)
{
    (void)state;
    struct breaker c;
    memset(&c, 0, sizeof c);
    time_t t = 5000;
    assert_int_equal(breaker_record(&c, 0, t, 1, 60), 1);
    assert_false(breaker_allow(&c, t + 10, 100, 600));
    assert_true(breaker_allow(&c, t + 60, 101, 600));     /* the probe */
    assert_int_equal(c.state, BREAKER_HALF_OPEN);
    assert_int_equal(c.probe_id, 101);
    assert_false(breaker_allow(&c, t + 61, 102, 600));    /* a second one is refused */
    assert_false(breaker_allow(&c, t + 300, 103, 600));
    assert_true(breaker_allow(&c, t + 301, 101, 600));    /* the probe's retry passes */
    /* a probe that ends without a verdict (superseded, not sent) lets the next one probe */
    breaker_release(&c, 999);
    assert_false(breaker_allow(&c, t + 302, 104, 600));
    breaker_release(&c, 101);
    assert_true(breaker_allow(&c, t + 303, 104, 600));
    assert_false(breaker_allow(&c, t + 304, 105, 600));
    /* a probe whose end never comes stops blocking after probe_timeout_s */
    assert_true(breaker_allow(&c, t + 303 + 600, 106, 600));
    assert_int_equal(c.probe_id, 106);
    /* its success closes the circuit: everything goes again */
    assert_int_equal(breaker_record(&c, 1, t + 1000, 1, 60), 0);
    assert_int_equal(c.state, BREAKER_CLOSED);
    assert_true(breaker_allow(&c, t + 1001, 107, 600));
    assert_true(breaker_allow(&c, t + 1001, 108, 600));
    /* its failure opens it again, and the next probe waits for the cooldown */
    assert_int_equal(breaker_record(&c, 0, t + 1002, 1, 60), 1);
    assert_true(breaker_allow(&c, t + 1062, 109, 600));
    assert_int_equal(breaker_record(&c, 0, t + 1063, 1, 60), 1);
    assert_false(breaker_allow(&c, t + 1064, 110, 600));
}

/* ---- a local deliver (the replay's) through a test transport ------------- */

struct fake_net {
    int calls, sent;
    long answer;                /* HTTP status every job gets */
    long long last_trigger;
    const char *response;       /* the answer's body (NULL: empty) */
};

static void fake_fire(void *user, struct act_job *jobs, int n)
{
    struct fake_net *f = user;
    f->calls++;
    for (int i = 0; i < n; i++) {
        jobs[i].transport_err = HTTP_OK;
        jobs[i].http_status = f->answer;
        jobs[i].retry_after_ms = -1;
        jobs[i].status = f->answer / 100 == 2 ? ACT_SENT : ACT_FAILED;
        snprintf(jobs[i].error, sizeof jobs[i].error, "%s", f->answer / 100 == 2 ? "" : "HTTP 400");
        snprintf(jobs[i].response, sizeof jobs[i].response, "%s", f->response ? f->response : "");
        f->sent++;
        f->last_trigger = jobs[i].trigger_id;
    }
}

static const char *local_env(const char *name, void *ctx)
{
    (void)ctx;
    if (strcmp(name, "N8N_BASE_URL") == 0)
        return "http://replay.invalid";
    if (strcmp(name, "WORKFLOW_BREAKER_FAILURES") == 0)
        return "2";
    return NULL;
}

/* Decision sd recorded in the sink s, its triggers 'pending'. */
static void sink_record(const struct sink *s, const struct store_decision *sd)
{
    static struct store_decision_rec rec;
    memset(&rec, 0, sizeof rec);
    rec.id = sd->id;
    rec.status = "pending";
    rec.trigger_status = "pending";
    for (int i = 0; i < sd->ntriggers; i++)
        rec.t[rec.ntriggers++] = (struct store_trigger_rec){ sd->t[i].id, catalog_name(sd->t[i].wf), sd->t[i].key,
                                                             sd->t[i].payload };
    assert_int_equal(sink_decision(s, &rec), 0);
}

/* One decision with one trigger of workflow wf (ids id, id + 1), recorded in s. */
static void one_trigger(const struct sink *s, struct store_decision *sd, long long id, int wf)
{
    memset(sd, 0, sizeof *sd);
    sd->id = id;
    sd->ntriggers = 1;
    sd->t[0].id = id + 1;
    sd->t[0].wf = wf;
    snprintf(sd->t[0].key, sizeof sd->t[0].key, "k-%lld", id);
    sd->t[0].payload = (char *)"{}";
    sink_record(s, sd);
}

/* The memory sink settles a decision by the rule, from what it was told:
 * sent, failed and a circuit-open skip -> partial; a retry open -> not
 * settled; an expectation that disagrees is an error; ids count up. */
static void test_memory_sink(void **state)
{
    (void)state;
    log_init("test", LOG_ERROR);
    struct sink_memory mem;
    sink_mem_reset(&mem);
    struct sink s = sink_mem(&mem);
    assert_null(sink_db(&s));
    assert_false(sink_documents(&s));
    long long id, tids[3];
    assert_int_equal(sink_decision_ids(&s, 0, 3, &id, tids), 0);
    assert_true(id == 1 && tids[0] == 2 && tids[2] == 4);
    struct store_decision sd;
    memset(&sd, 0, sizeof sd);
    sd.id = id;
    sd.ntriggers = 3;
    for (int i = 0; i < 3; i++) {
        sd.t[i].id = tids[i];
        sd.t[i].wf = WF_CRYPTO_NORMAL;
    }
    sink_record(&s, &sd);
    char st[16];
    struct act_job j;
    memset(&j, 0, sizeof j);
    assert_int_equal(sink_trigger_skip(&s, tids[2], "circuit_open", "open"), 0);
    assert_int_equal(sink_mark_sending(&s, id), 0);
    assert_int_equal(sink_settle(&s, id, NULL, st, sizeof st), 0);          /* two still sending */
    assert_int_equal(sink_trigger_attempt(&s, tids[0], "sent", &j, NULL, 0, NULL), 0);
    assert_int_equal(sink_trigger_attempt(&s, tids[1], "retrying", &j, "server_error", 1, NULL), 0);
    assert_int_equal(sink_settle(&s, id, "acting", st, sizeof st), 0);      /* a retry is open */
    assert_int_equal(sink_trigger_attempt(&s, tids[1], "failed", &j, "server_error", 0, NULL), 0);
    assert_int_equal(sink_settle(&s, id, "succeeded", st, sizeof st), -1);  /* not what the rule gives */
    assert_int_equal(sink_settle(&s, id, "partial", st, sizeof st), 1);
    assert_string_equal(st, "partial");
    assert_int_equal(sink_settle(&s, 999, NULL, st, sizeof st), 0);         /* never recorded */
    assert_int_equal(sink_trigger_attempt(&s, tids[0], "no-such-status", &j, NULL, 0, NULL), -1);
    struct store_history h;
    h.decisions_24h = 7;
    assert_int_equal(sink_history(&s, 0, 0, &h), 0);
    assert_int_equal(h.decisions_24h, 0);
    /* a zeroed sink refuses every write */
    struct sink none;
    memset(&none, 0, sizeof none);
    assert_int_equal(sink_mark_sending(&none, id), -1);
    assert_int_equal(sink_decision_ids(&none, 0, 1, &id, tids), -1);
}

/* Without a database: the concurrency policy sees the running executions
 * in memory until their end is noted, the breaker opens on the simulated
 * clock, and the decision's status is worked out from its triggers. */
static void test_local_deliver(void **state)
{
    (void)state;
    log_init("test", LOG_ERROR);
    struct cfg c;
    char err[256];
    assert_int_equal(cfg_load_from(&c, local_env, NULL, err, sizeof err), 0);
    struct deliver d;
    assert_int_equal(deliver_init(&d, &c, NULL, NULL, err, sizeof err), 0);
    deliver_set_local(&d, 1);
    struct fake_net net = { .answer = 200 };
    const struct deliver_transport tp = { fake_fire, NULL, &net };
    struct store_decision sd;
    int sent[WF_COUNT];
    char st[16];
    time_t t0 = 1736000000;
    struct sink_memory mem;
    sink_mem_reset(&mem);
    struct sink s = sink_mem(&mem);

    /* deep-market-analysis is "forbid" by default: a second one waits for the first's end */
    one_trigger(&s, &sd, 10, WF_DEEP_ANALYSIS);
    assert_int_equal(deliver_decision(&d, &s, &sd, t0, &tp, sent, st), 0);
    assert_int_equal(sent[0], 1);
    assert_string_equal(st, "succeeded");
    assert_int_equal(net.last_trigger, 11);
    one_trigger(&s, &sd, 20, WF_DEEP_ANALYSIS);
    assert_int_equal(deliver_decision(&d, &s, &sd, t0 + 60, &tp, sent, st), 0);
    assert_int_equal(sent[0], -2);                          /* skipped: still running */
    assert_string_equal(st, "no_action");
    assert_int_equal(net.sent, 1);
    assert_int_equal(deliver_note_outcome(&d, NULL, WF_DEEP_ANALYSIS, 11, 1, t0 + 900), 0);
    one_trigger(&s, &sd, 30, WF_DEEP_ANALYSIS);
    assert_int_equal(deliver_decision(&d, &s, &sd, t0 + 960, &tp, sent, st), 0);
    assert_int_equal(sent[0], 1);
    /* a running execution whose end never came counts for TRACK_TIMEOUT_SECONDS only */
    one_trigger(&s, &sd, 40, WF_DEEP_ANALYSIS);
    assert_int_equal(deliver_decision(&d, &s, &sd, t0 + 960 + c.track_timeout_seconds, &tp, sent, st), 0);
    assert_int_equal(sent[0], 1);

    /* "allow": a scan goes out while another runs; two failures open the breaker */
    net.answer = 400;
    for (int k = 0; k < 2; k++) {
        one_trigger(&s, &sd, 100 + 10 * k, WF_CRYPTO_NORMAL);
        assert_int_equal(deliver_decision(&d, &s, &sd, t0 + k, &tp, sent, st), 0);
        assert_int_equal(sent[0], 0);                       /* a 400 is not retried */
        assert_string_equal(st, "failed");
    }
    assert_int_equal(d.circuit[WF_CRYPTO_NORMAL].state, BREAKER_OPEN);
    int before = net.sent;
    one_trigger(&s, &sd, 200, WF_CRYPTO_NORMAL);
    assert_int_equal(deliver_decision(&d, &s, &sd, t0 + 10, &tp, sent, st), 0);
    assert_int_equal(sent[0], -2);
    assert_string_equal(st, "failed");                      /* a circuit-open skip counts as failed */
    assert_int_equal(net.sent, before);
    /* after the cooldown (simulated clock) one goes through, half open, and closes it */
    net.answer = 200;
    one_trigger(&s, &sd, 210, WF_CRYPTO_NORMAL);
    assert_int_equal(deliver_decision(&d, &s, &sd, t0 + 1 + c.workflow_breaker_cooldown_seconds, &tp, sent, st), 0);
    assert_int_equal(sent[0], 1);
    assert_int_equal(d.circuit[WF_CRYPTO_NORMAL].state, BREAKER_CLOSED);

    /* with tracking the probe's success arrives at its execution's end:
     * until then a second trigger is refused, not let through */
    net.answer = 400;
    for (int k = 0; k < 2; k++) {
        one_trigger(&s, &sd, 300 + 10 * k, WF_CRYPTO_LIGHT);
        assert_int_equal(deliver_decision(&d, &s, &sd, t0 + k, &tp, sent, st), 0);
    }
    assert_int_equal(d.circuit[WF_CRYPTO_LIGHT].state, BREAKER_OPEN);
    d.tracking = 1;
    net.answer = 200;
    net.response = "{\"accepted\":true,\"execution_id\":\"55\"}";
    time_t th = t0 + 1 + c.workflow_breaker_cooldown_seconds;
    one_trigger(&s, &sd, 400, WF_CRYPTO_LIGHT);
    assert_int_equal(deliver_decision(&d, &s, &sd, th, &tp, sent, st), 0);
    assert_int_equal(sent[0], DELIVER_SENT_OK);             /* the probe */
    assert_int_equal(d.circuit[WF_CRYPTO_LIGHT].state, BREAKER_HALF_OPEN);
    before = net.sent;
    one_trigger(&s, &sd, 410, WF_CRYPTO_LIGHT);
    assert_int_equal(deliver_decision(&d, &s, &sd, th + 5, &tp, sent, st), 0);
    assert_int_equal(sent[0], DELIVER_SENT_SKIPPED);        /* a second one is refused */
    assert_string_equal(st, "failed");
    assert_int_equal(net.sent, before);
    assert_int_equal(d.circuit[WF_CRYPTO_LIGHT].probe_id, 401);
    /* the probe's execution succeeded: closed, the next one goes */
    assert_int_equal(deliver_note_outcome(&d, NULL, WF_CRYPTO_LIGHT, 401, 1, th + 30), 0);
    assert_int_equal(d.circuit[WF_CRYPTO_LIGHT].state, BREAKER_CLOSED);
    one_trigger(&s, &sd, 420, WF_CRYPTO_LIGHT);
    assert_int_equal(deliver_decision(&d, &s, &sd, th + 31, &tp, sent, st), 0);
    assert_int_equal(sent[0], DELIVER_SENT_OK);
    assert_int_equal(net.sent, before + 1);
    deliver_free(&d);
    cfg_free(&c);
}

/* What the decision menu must leave out: open circuits, a half-open
 * circuit's running probe, workflows n8n lists inactive, a 404 until n8n
 * lists it active again or the cooldown has passed. */
static void test_menu_blocked(void **state)
{
    (void)state;
    log_init("test", LOG_ERROR);
    struct cfg c;
    char err[256], why[120];
    assert_int_equal(cfg_load_from(&c, local_env, NULL, err, sizeof err), 0);
    struct deliver d;
    assert_int_equal(deliver_init(&d, &c, NULL, NULL, err, sizeof err), 0);
    time_t t = 1736000000;
    for (int w = 0; w < WF_COUNT; w++)
        assert_false(deliver_menu_blocked(&d, w, t, why, sizeof why));
    /* open circuit */
    struct breaker *cc = &d.circuit[WF_CRYPTO_NORMAL];
    assert_int_equal(breaker_record(cc, 0, t, 1, 300), 1);
    assert_true(deliver_menu_blocked(&d, WF_CRYPTO_NORMAL, t + 1, why, sizeof why));
    assert_non_null(strstr(why, "crypto-normal-scan: circuit open until"));
    /* cooldown over: on the menu (the next trigger probes) ... */
    assert_false(deliver_menu_blocked(&d, WF_CRYPTO_NORMAL, t + 300, why, sizeof why));
    /* ... and off it while the probe runs */
    assert_true(breaker_allow(cc, t + 300, 77, c.track_timeout_seconds));
    assert_true(deliver_menu_blocked(&d, WF_CRYPTO_NORMAL, t + 301, why, sizeof why));
    assert_non_null(strstr(why, "probe trigger #77"));
    assert_int_equal(deliver_note_outcome(&d, NULL, WF_CRYPTO_NORMAL, 77, 1, t + 302), 0);
    assert_false(deliver_menu_blocked(&d, WF_CRYPTO_NORMAL, t + 302, why, sizeof why));
    /* inactive in n8n's list */
    deliver_note_n8n(&d, WF_FOREX_LONDON, 0, t);
    assert_true(deliver_menu_blocked(&d, WF_FOREX_LONDON, t, why, sizeof why));
    assert_non_null(strstr(why, "inactive in n8n"));
    deliver_note_n8n(&d, WF_FOREX_LONDON, 1, t + 5);
    assert_false(deliver_menu_blocked(&d, WF_FOREX_LONDON, t + 5, why, sizeof why));
    /* a 404: off until n8n lists it active after it, or the cooldown has passed */
    d.unavailable[WF_DEEP_ANALYSIS] = 1;
    d.unavailable_at[WF_DEEP_ANALYSIS] = t;
    deliver_note_n8n(&d, WF_DEEP_ANALYSIS, 1, t - 10);
    assert_true(deliver_menu_blocked(&d, WF_DEEP_ANALYSIS, t + 1, why, sizeof why));
    assert_non_null(strstr(why, "not registered in n8n (404)"));
    assert_false(deliver_menu_blocked(&d, WF_DEEP_ANALYSIS, t + c.workflow_breaker_cooldown_seconds, why, sizeof why));
    deliver_note_n8n(&d, WF_DEEP_ANALYSIS, 1, t + 2);
    assert_false(deliver_menu_blocked(&d, WF_DEEP_ANALYSIS, t + 3, why, sizeof why));
    deliver_free(&d);
    cfg_free(&c);
}

static const char *results_env(const char *name, void *ctx)
{
    (void)ctx;
    if (strcmp(name, "N8N_BASE_URL") == 0)
        return "http://n8n.invalid";
    if (strcmp(name, "ORCH_RESULTS_TOKEN") == 0)
        return "results-token";
    return NULL;
}

/* An ended execution as follow_handle gets it. */
static struct store_unsettled ended(long long id, const char *outcome, const char *result_status, int opportunities)
{
    struct store_unsettled u;
    memset(&u, 0, sizeof u);
    u.id = id;
    u.decision_id = 1;
    u.wf = WF_CRYPTO_NORMAL;
    snprintf(u.status, sizeof u.status, "sent");
    snprintf(u.outcome, sizeof u.outcome, "%s", outcome);
    snprintf(u.result_status, sizeof u.result_status, "%s", result_status);
    u.need_settle = 1;
    u.need_learn = opportunities >= 0;
    u.opportunities = opportunities;
    snprintf(u.execution_id, sizeof u.execution_id, "%lld", id + 100);
    u.ctx.intensity = INTENSITY_NORMAL;
    snprintf(u.ctx.band, sizeof u.ctx.band, "%s", learn_band_name(LEARN_USUAL));
    snprintf(u.ctx.session, sizeof u.ctx.session, "%s", learn_bucket_name(0));
    u.ctx.exposure = 1;
    return u;
}

/* A run whose end is followed learns its success at the end, not at
 * delivery; a failed, crashed, canceled or timed-out execution, or an
 * error result, is a failure and feeds no opportunities; our own
 * 'replace' (superseded) teaches nothing. */
static void test_follow_learns_ends(void **state)
{
    (void)state;
    log_init("test", LOG_ERROR);
    struct cfg c;
    char err[256];
    assert_int_equal(cfg_load_from(&c, results_env, NULL, err, sizeof err), 0);
    struct learn l;
    learn_init(&l, &c);
    struct deliver d;
    assert_int_equal(deliver_init(&d, &c, NULL, &l, err, sizeof err), 0);
    struct follow f;
    follow_init(&f, &c, &d, &l, NULL);
    struct sink_memory mem;
    sink_mem_reset(&mem);
    struct sink s = sink_mem(&mem);
    /* results expected: every accepted delivery's end will be known */
    assert_true(deliver_end_followed(&d, WF_CRYPTO_NORMAL, NULL));
    const struct learn_arm *a = &l.m[LEARN_CRYPTO].arm[LEARN_USUAL][INTENSITY_NORMAL];
    time_t t = 1736000000;
    struct store_unsettled u = ended(1, "failed", "error", 0);
    assert_int_equal(follow_handle(&f, &s, &u, t), 0);
    assert_float_equal(a->fail, 1, 1e-9);
    assert_float_equal(a->ok, 0, 1e-9);
    assert_float_equal(a->runs, 0, 1e-9);           /* the error result's 0 is not a scan that ran */
    u = ended(2, "succeeded", "success", 3);
    assert_int_equal(follow_handle(&f, &s, &u, t), 0);
    assert_float_equal(a->ok, 1, 1e-9);
    assert_float_equal(a->runs, 1, 1e-9);
    assert_float_equal(a->opps, 3, 1e-9);
    static const char *const bad[] = { "crashed", "canceled", "timed_out" };
    for (int k = 0; k < 3; k++) {
        u = ended(3 + k, bad[k], "", -1);
        assert_int_equal(follow_handle(&f, &s, &u, t), 0);
    }
    assert_float_equal(a->fail, 4, 1e-9);
    /* a result that says error while n8n said success: no opportunities */
    u = ended(8, "", "error", 2);
    u.need_settle = 0;
    assert_int_equal(follow_handle(&f, &s, &u, t), 0);
    assert_float_equal(a->opps, 3, 1e-9);
    u = ended(9, "superseded", "", -1);
    long long nobs = l.nobs;
    assert_int_equal(follow_handle(&f, &s, &u, t), 0);
    assert_int_equal(l.nobs, nobs);
    assert_float_equal(a->ok, 1, 1e-9);
    assert_float_equal(a->fail, 4, 1e-9);
    /* a local deliver (the replay) counts success at delivery: its reported end adds none */
    deliver_set_local(&d, 1);
    assert_false(deliver_end_followed(&d, WF_CRYPTO_NORMAL, "5"));
    u = ended(10, "succeeded", "success", 1);
    assert_int_equal(follow_handle(&f, &s, &u, t), 0);
    assert_float_equal(a->ok, 1, 1e-9);
    assert_float_equal(a->opps, 4, 1e-9);
    deliver_free(&d);
    cfg_free(&c);
}

int main(void)
{
    seed_install();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_policy_parse),
        cmocka_unit_test(test_policy_bad),
        cmocka_unit_test(test_kinds),
        cmocka_unit_test(test_backoff),
        cmocka_unit_test(test_retry_after),
        cmocka_unit_test(test_circuit),
        cmocka_unit_test(test_half_open_one_probe),
        cmocka_unit_test(test_menu_blocked),
        cmocka_unit_test(test_follow_learns_ends),
        cmocka_unit_test(test_memory_sink),
        cmocka_unit_test(test_local_deliver),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
