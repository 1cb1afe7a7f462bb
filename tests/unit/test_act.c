/* Unit tests for worker/act.c: the webhook body, the idempotency key, the
 * classification of answers, and act_fire_many() against a tiny HTTP
 * listener running in a thread of this process. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "act.h"
#include "http.h"
#include "log.h"
#include "seed.h"

/* ---- a decision to send ---------------------------------------------------- */

static void snap_example(struct sense_snapshot *s)
{
    seed_snapshot(s);
    s->market.pairs = 3;
    s->market.crypto_volatility = 4.25;
    s->market.volume_m5_usd = 23505.26;
    s->market.txns_m5 = 7990;
    s->market.new_pairs_1h = 2;
    s->market.forex_valid = 1;
    s->market.nquotes = 1;
    snprintf(s->market.quotes[0].pair, sizeof s->market.quotes[0].pair, "EURUSD");
    s->market.quotes[0].mid = 1.085;
    s->market.forex_move_bp = 3.5;
    s->market.volatility = 4.25;
    s->load1 = 0.5;
    s->ncpu = 2;
    s->load_per_core = 0.25;
}

static void choice_example(struct decide_choice *ch)
{
    memset(ch, 0, sizeof *ch);
    ch->mode = MODE_HYBRID;
    ch->intensity = INTENSITY_AGGRESSIVE;
    ch->source = SOURCE_FALLBACK;
    ch->nwf = 2;
    ch->wf[0] = WF_CRYPTO_AGGRESSIVE;
    ch->wf[1] = WF_FOREX_LONDON;
    ch->next_seconds = 120;
    snprintf(ch->reason, sizeof ch->reason, "hybrid/aggressive: \"quoted\" volatility 4.25%%");
}

static json_object *field(json_object *o, const char *key)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(o, key, &v))
        fail_msg("payload has no \"%s\"", key);
    return v;
}

static const char *str_field(json_object *o, const char *key)
{
    json_object *v = field(o, key);
    if (!json_object_is_type(v, json_type_string))
        fail_msg("\"%s\" is not a string", key);
    return json_object_get_string(v);
}

/* ---- act_key ------------------------------------------------------------------ */

static void test_key_format(void **state)
{
    (void)state;
    char key[128];
    act_key(42, "crypto-normal-scan", key, sizeof key);
    assert_string_equal(key, "orch-42-crypto-normal-scan");
    act_key(9007199254740993LL, "deep-market-analysis", key, sizeof key);
    assert_string_equal(key, "orch-9007199254740993-deep-market-analysis");
    /* the same decision and workflow always give the same key; others differ */
    char a[128], b[128];
    act_key(7, "forex-london-session", a, sizeof a);
    act_key(7, "forex-london-session", b, sizeof b);
    assert_string_equal(a, b);
    for (int w = 0; w < WF_COUNT; w++)
        for (int v = 0; v < WF_COUNT; v++) {
            act_key(7, catalog_name(w), a, sizeof a);
            act_key(w == v ? 8 : 7, catalog_name(v), b, sizeof b);
            assert_true(strcmp(a, b) != 0);
        }
    /* truncated, terminated, never past cap */
    char small[12];
    memset(small, 'Z', sizeof small);
    act_key(42, "crypto-normal-scan", small, 8);
    assert_string_equal(small, "orch-42");
    assert_int_equal(small[8], 'Z');
}

/* ---- the payload ------------------------------------------------------------- */

static void test_payload_fields(void **state)
{
    (void)state;
    struct sense_snapshot s;
    struct decide_choice ch;
    snap_example(&s);
    choice_example(&ch);
    char key[128];
    act_key(42, "crypto-aggressive-scan", key, sizeof key);
    json_object *p = act_payload(&s, &ch, 42, 7, "crypto-aggressive-scan", key, s.now + 120, 0);
    assert_non_null(p);
    /* what the webhook receives is text: read it back from the text */
    json_object *r = json_tokener_parse(json_object_to_json_string_ext(p, JSON_C_TO_STRING_PLAIN));
    assert_non_null(r);

    json_object *v = field(r, "decision_id");
    assert_true(json_object_is_type(v, json_type_int));
    assert_int_equal(json_object_get_int64(v), 42);
    v = field(r, "trigger_id");
    assert_true(json_object_is_type(v, json_type_int));
    assert_int_equal(json_object_get_int64(v), 7);
    assert_string_equal(str_field(r, "idempotency_key"), "orch-42-crypto-aggressive-scan");
    assert_string_equal(str_field(r, "workflow"), "crypto-aggressive-scan");
    assert_string_equal(str_field(r, "mode"), "hybrid");
    assert_string_equal(str_field(r, "intensity"), "aggressive");
    assert_string_equal(str_field(r, "source"), "fallback");
    assert_string_equal(str_field(r, "session"), "london_newyork");
    assert_string_equal(str_field(r, "reason"), "hybrid/aggressive: \"quoted\" volatility 4.25%");
    assert_string_equal(str_field(r, "next_decision_at"), "2026-02-11T14:02:00Z");
    assert_string_equal(str_field(r, "decided_at"), "2026-02-11T14:00:00Z");
    assert_true(strncmp(str_field(r, "sent_by"), PACKAGE_NAME "/", strlen(PACKAGE_NAME) + 1) == 0);

    v = field(r, "dry_run");
    assert_true(json_object_is_type(v, json_type_boolean));
    assert_false(json_object_get_boolean(v));

    v = field(r, "sessions");
    assert_true(json_object_is_type(v, json_type_array));
    assert_int_equal(json_object_array_length(v), 2);
    assert_string_equal(json_object_get_string(json_object_array_get_idx(v, 0)), "london");
    assert_string_equal(json_object_get_string(json_object_array_get_idx(v, 1)), "newyork");

    /* the market context: the snapshot's own market object */
    json_object *mk = field(r, "market");
    assert_true(json_object_is_type(mk, json_type_object));
    json_object *cr = field(mk, "crypto");
    assert_int_equal(json_object_get_int(field(cr, "pairs")), 3);
    assert_float_equal(json_object_get_double(field(cr, "volatility_m5_pct")), 4.25, 1e-9);
    assert_int_equal(json_object_get_int64(field(cr, "txns_m5")), 7990);
    json_object *fx = field(mk, "forex");
    assert_float_equal(json_object_get_double(field(field(fx, "quotes"), "EURUSD")), 1.085, 1e-9);
    json_object *full = sense_to_json(&s), *want;
    assert_true(json_object_object_get_ex(full, "market", &want));
    assert_string_equal(json_object_to_json_string_ext(mk, JSON_C_TO_STRING_PLAIN),
                        json_object_to_json_string_ext(want, JSON_C_TO_STRING_PLAIN));
    json_object_put(full);
    /* the payload does not carry the whole snapshot (history, sources) */
    assert_false(json_object_object_get_ex(r, "history", &v));
    assert_false(json_object_object_get_ex(r, "sources", &v));

    json_object_put(r);
    json_object_put(p);
}

static void test_payload_dry_run_and_closed(void **state)
{
    (void)state;
    struct sense_snapshot s;
    struct decide_choice ch;
    snap_example(&s);
    memset(&s.sessions, 0, sizeof s.sessions);
    s.session_label = NULL;                    /* never sensed: reported as closed */
    choice_example(&ch);
    ch.mode = MODE_STANDBY;
    ch.intensity = INTENSITY_LIGHT;
    ch.source = SOURCE_FORCED;
    char key[128];
    act_key(1, "health-monitor-check", key, sizeof key);
    json_object *p = act_payload(&s, &ch, 1, 2, "health-monitor-check", key, 0, 1);
    assert_non_null(p);
    assert_true(json_object_get_boolean(field(p, "dry_run")));
    assert_true(json_object_is_type(field(p, "dry_run"), json_type_boolean));
    assert_string_equal(str_field(p, "session"), "closed");
    assert_int_equal(json_object_array_length(field(p, "sessions")), 0);
    assert_string_equal(str_field(p, "mode"), "standby");
    assert_string_equal(str_field(p, "source"), "forced");
    assert_string_equal(str_field(p, "next_decision_at"), "1970-01-01T00:00:00Z");
    json_object_put(p);
}

static const char *params_env(const char *name, void *ctx)
{
    (void)ctx;
    if (strcmp(name, "DEXSCREENER_QUERY") == 0)
        return " SOL/USDC , pump,,bad\"quote, WETH/USDC,a,b,c,d";
    if (strcmp(name, "FOREX_PAIRS") == 0)
        return "EURUSD,USDJPY";
    return NULL;
}

/* A JSON array of strings as "a|b|c". */
static void join_strings(json_object *arr, char *out, size_t cap)
{
    out[0] = '\0';
    for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
        size_t n = strlen(out);
        snprintf(out + n, cap - n, "%s%s", i ? "|" : "", json_object_get_string(json_object_array_get_idx(arr, i)));
    }
}

/* The scan parameters every body carries: crypto scans the DexScreener
 * queries and a limit by intensity, forex sessions the pairs, deep
 * analysis both, the health check none. */
static void test_payload_parameters(void **state)
{
    (void)state;
    struct cfg c;
    char err[256], buf[256];
    assert_int_equal(cfg_load_from(&c, params_env, NULL, err, sizeof err), 0);
    struct sense_snapshot s;
    struct decide_choice ch;
    snap_example(&s);
    choice_example(&ch);
    /* without settings no parameters (the old body) */
    json_object *p = act_payload(&s, &ch, 1, 2, "crypto-normal-scan", "k", 0, 0);
    assert_false(json_object_object_get_ex(p, "parameters", NULL));
    json_object_put(p);
    s.cfg = &c;
    ch.intensity = INTENSITY_AGGRESSIVE;
    p = act_payload(&s, &ch, 1, 2, "crypto-aggressive-scan", "k", 0, 0);
    json_object *pa = field(p, "parameters");
    join_strings(field(pa, "queries"), buf, sizeof buf);
    assert_string_equal(buf, "SOL/USDC|pump|WETH/USDC|a|b");      /* trimmed, bad ones left out, 5 at most */
    assert_int_equal(json_object_get_int64(field(pa, "limit")), 50);
    assert_false(json_object_object_get_ex(pa, "pairs", NULL));
    json_object_put(p);
    ch.intensity = INTENSITY_LIGHT;
    p = act_payload(&s, &ch, 1, 2, "crypto-light-monitoring", "k", 0, 0);
    assert_int_equal(json_object_get_int64(field(field(p, "parameters"), "limit")), 10);
    json_object_put(p);
    ch.intensity = INTENSITY_NORMAL;
    p = act_payload(&s, &ch, 1, 2, "forex-london-session", "k", 0, 0);
    pa = field(p, "parameters");
    join_strings(field(pa, "pairs"), buf, sizeof buf);
    assert_string_equal(buf, "EURUSD|USDJPY");
    assert_false(json_object_object_get_ex(pa, "queries", NULL));
    json_object_put(p);
    p = act_payload(&s, &ch, 1, 2, "deep-market-analysis", "k", 0, 0);
    pa = field(p, "parameters");
    assert_int_equal(json_object_array_length(field(pa, "pairs")), 2);
    assert_int_equal(json_object_array_length(field(pa, "queries")), 5);
    assert_int_equal(json_object_get_int64(field(pa, "limit")), 25);
    json_object_put(p);
    p = act_payload(&s, &ch, 1, 2, "health-monitor-check", "k", 0, 0);
    assert_int_equal(json_object_object_length(field(p, "parameters")), 0);
    json_object_put(p);
    assert_null(act_parameters(&c, "no-such-workflow", INTENSITY_NORMAL));
    assert_null(act_parameters(NULL, "crypto-normal-scan", INTENSITY_NORMAL));
    cfg_free(&c);
}

/* ---- classification ------------------------------------------------------------ */

static void test_classify(void **state)
{
    (void)state;
    assert_int_equal(act_classify(1, 200, "{\"message\":\"Workflow was started\"}"), ACT_SENT);
    assert_int_equal(act_classify(1, 201, ""), ACT_SENT);
    assert_int_equal(act_classify(1, 204, NULL), ACT_SENT);
    assert_int_equal(act_classify(1, 299, ""), ACT_SENT);
    assert_int_equal(act_classify(1, 404,
        "{\"code\":404,\"message\":\"The requested webhook \\\"POST crypto-aggressive-scan\\\" is not registered.\"}"),
        ACT_UNAVAILABLE);
    assert_int_equal(act_classify(1, 404,
        "{\"code\":404,\"message\":\"This webhook is not registered for POST requests.\"}"), ACT_UNAVAILABLE);
    /* a 404 that is not n8n's "not registered": a wrong URL, a proxy page */
    assert_int_equal(act_classify(1, 404, ""), ACT_FAILED);
    assert_int_equal(act_classify(1, 404, NULL), ACT_FAILED);
    assert_int_equal(act_classify(1, 404, "<html><body>404 Not Found</body></html>"), ACT_FAILED);
    assert_int_equal(act_classify(1, 500, "{\"message\":\"Error in workflow\"}"), ACT_FAILED);
    assert_int_equal(act_classify(1, 502, ""), ACT_FAILED);
    assert_int_equal(act_classify(1, 503, ""), ACT_FAILED);
    assert_int_equal(act_classify(1, 400, ""), ACT_FAILED);
    assert_int_equal(act_classify(1, 401, ""), ACT_FAILED);
    assert_int_equal(act_classify(1, 403, ""), ACT_FAILED);
    assert_int_equal(act_classify(1, 429, ""), ACT_FAILED);
    assert_int_equal(act_classify(1, 301, ""), ACT_FAILED);
    assert_int_equal(act_classify(1, 100, ""), ACT_FAILED);
    assert_int_equal(act_classify(1, 0, ""), ACT_FAILED);
    /* no answer at all: failed, whatever status the struct held */
    assert_int_equal(act_classify(0, 0, NULL), ACT_FAILED);
    assert_int_equal(act_classify(0, 200, "ok"), ACT_FAILED);
    assert_int_equal(act_classify(0, 404, ""), ACT_FAILED);
}

static void test_status_names(void **state)
{
    (void)state;
    assert_string_equal(act_status_name(ACT_SENT), "sent");
    assert_string_equal(act_status_name(ACT_FAILED), "failed");
    assert_string_equal(act_status_name(ACT_UNAVAILABLE), "unavailable");
    assert_string_equal(act_status_name(ACT_DRY_RUN), "dry_run");
    assert_string_equal(act_status_name((enum act_status)99), "failed");
}

/* ---- a tiny HTTP listener ------------------------------------------------------- */

#define SRV_MAX 8

struct srv_req {
    char method[16];
    char path[256];
    char idem[256];
    char auth[256];
    char ctype[128];
    char body[8192];
};

struct srv {
    int fd;
    int port;
    int expect;
    int got;
    struct srv_req reqs[SRV_MAX];
    pthread_t thread;
};

static int listen_local(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t len = sizeof a;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 16) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
        close(fd);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return fd;
}

/* The value of header name in the request head, copied into out. */
static void head_value(const char *head, const char *name, char *out, size_t cap)
{
    out[0] = '\0';
    size_t nl = strlen(name);
    for (const char *line = strstr(head, "\r\n"); line && line[2]; line = strstr(line + 2, "\r\n")) {
        const char *h = line + 2;
        if (strncasecmp(h, name, nl) == 0 && h[nl] == ':') {
            const char *v = h + nl + 1;
            while (*v == ' ')
                v++;
            const char *e = strstr(v, "\r\n");
            size_t n = e ? (size_t)(e - v) : strlen(v);
            if (n >= cap)
                n = cap - 1;
            memcpy(out, v, n);
            out[n] = '\0';
            return;
        }
    }
}

static void srv_answer(int c, struct srv_req *rq)
{
    char buf[16384];
    size_t len = 0;
    char *end = NULL;
    while (len < sizeof buf - 1) {
        struct pollfd pfd = { .fd = c, .events = POLLIN };
        if (poll(&pfd, 1, 5000) <= 0)
            return;
        ssize_t n = read(c, buf + len, sizeof buf - 1 - len);
        if (n <= 0)
            return;
        len += (size_t)n;
        buf[len] = '\0';
        if ((end = strstr(buf, "\r\n\r\n")) != NULL) {
            char cl[32];
            *end = '\0';
            head_value(buf, "Content-Length", cl, sizeof cl);
            size_t want = (size_t)strtoul(cl, NULL, 10);
            size_t have = len - (size_t)(end + 4 - buf);
            *end = '\r';
            if (have >= want)
                break;
        }
    }
    if (!end)
        return;
    *end = '\0';
    sscanf(buf, "%15s %255s", rq->method, rq->path);
    head_value(buf, "Idempotency-Key", rq->idem, sizeof rq->idem);
    head_value(buf, "X-Orch-Auth", rq->auth, sizeof rq->auth);
    head_value(buf, "Content-Type", rq->ctype, sizeof rq->ctype);
    snprintf(rq->body, sizeof rq->body, "%s", end + 4);

    int status;
    const char *body;
    if (strcmp(rq->path, "/webhook/crypto-normal-scan") == 0) {
        status = 200;
        body = "{\"message\":\"Workflow was started\"}";
    } else if (strcmp(rq->path, "/webhook/forex-london-session") == 0) {
        status = 404;
        body = "{\"code\":404,\"message\":\"The requested webhook \\\"POST forex-london-session\\\" is not registered.\","
               "\"hint\":\"Click the 'Execute workflow' button on the canvas, then try again.\"}";
    } else if (strcmp(rq->path, "/webhook/deep-market-analysis") == 0) {
        status = 500;
        body = "{\"message\":\"Error in workflow\"}";
    } else if (strcmp(rq->path, "/webhook/health-monitor-check") == 0) {
        status = 429;
        body = "slow\r\ndown\tplease";
    } else {
        status = 400;
        body = "{\"message\":\"unexpected\"}";
    }
    char out[2048];
    int n = snprintf(out, sizeof out,
                     "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n%s", status, strlen(body), body);
    if (n > 0) {
        ssize_t w = write(c, out, (size_t)n);
        (void)w;
    }
}

static void *srv_main(void *arg)
{
    struct srv *s = arg;
    while (s->got < s->expect) {
        struct pollfd pfd = { .fd = s->fd, .events = POLLIN };
        if (poll(&pfd, 1, 10000) <= 0)
            break;
        int c = accept(s->fd, NULL, NULL);
        if (c < 0)
            break;
        srv_answer(c, &s->reqs[s->got]);
        s->got++;
        close(c);
    }
    return NULL;
}

static void srv_start(struct srv *s, int expect)
{
    memset(s, 0, sizeof *s);
    s->expect = expect;
    s->fd = listen_local(&s->port);
    assert_true(s->fd >= 0);
    assert_int_equal(pthread_create(&s->thread, NULL, srv_main, s), 0);
}

static void srv_stop(struct srv *s)
{
    pthread_join(s->thread, NULL);
    close(s->fd);
}

static const struct srv_req *srv_find(const struct srv *s, const char *path)
{
    for (int i = 0; i < s->got; i++)
        if (strcmp(s->reqs[i].path, path) == 0)
            return &s->reqs[i];
    return NULL;
}

/* A cfg pointing at base with the test's auth header. */
struct env_kv {
    const char *names[4];
    const char *values[4];
};

static const char *env_get(const char *name, void *ctx)
{
    const struct env_kv *e = ctx;
    for (int i = 0; i < 4 && e->names[i]; i++)
        if (strcmp(e->names[i], name) == 0)
            return e->values[i];
    return NULL;
}

static void cfg_for(struct cfg *c, const char *base, const char *timeout_ms)
{
    struct env_kv e = {
        { "N8N_BASE_URL", "N8N_WEBHOOK_AUTH_HEADER", "N8N_WEBHOOK_AUTH_VALUE", "WEBHOOK_TIMEOUT_MS" },
        { base, "X-Orch-Auth", "s3cret-value", timeout_ms },
    };
    char err[256];
    if (cfg_load_from(c, env_get, &e, err, sizeof err) != 0)
        fail_msg("cfg: %s", err);
}

static int group_setup(void **state)
{
    (void)state;
    log_init("test_act", LOG_ERROR);
    return http_global_init();
}

static int group_teardown(void **state)
{
    (void)state;
    http_global_cleanup();
    return 0;
}

static void test_fire_many(void **state)
{
    (void)state;
    struct srv s;
    srv_start(&s, 4);
    char base[64];
    snprintf(base, sizeof base, "http://127.0.0.1:%d", s.port);
    struct cfg c;
    cfg_for(&c, base, "5000");

    const char *wfs[] = { "crypto-normal-scan", "forex-london-session", "deep-market-analysis",
                          "health-monitor-check" };
    char keys[4][128];
    char *bodies[4];
    struct act_job jobs[4];
    struct sense_snapshot snap;
    struct decide_choice ch;
    snap_example(&snap);
    choice_example(&ch);
    memset(jobs, 0, sizeof jobs);
    for (int i = 0; i < 4; i++) {
        act_key(99, wfs[i], keys[i], sizeof keys[i]);
        json_object *p = act_payload(&snap, &ch, 99, 100 + i, wfs[i], keys[i], snap.now + 120, 0);
        bodies[i] = strdup(json_object_to_json_string_ext(p, JSON_C_TO_STRING_PLAIN));
        json_object_put(p);
        jobs[i].workflow = wfs[i];
        jobs[i].payload = bodies[i];
        jobs[i].key = keys[i];
        jobs[i].status = ACT_DRY_RUN;
    }
    act_fire_many(&c, jobs, 4);
    srv_stop(&s);
    assert_int_equal(s.got, 4);

    assert_int_equal(jobs[0].status, ACT_SENT);
    assert_int_equal(jobs[0].http_status, 200);
    assert_string_equal(jobs[0].error, "");
    assert_non_null(strstr(jobs[0].response, "Workflow was started"));
    assert_true(jobs[0].latency_ms >= 0);

    assert_int_equal(jobs[1].status, ACT_UNAVAILABLE);
    assert_int_equal(jobs[1].http_status, 404);
    assert_non_null(strstr(jobs[1].error, "not registered"));
    assert_non_null(strstr(jobs[1].response, "is not registered"));

    assert_int_equal(jobs[2].status, ACT_FAILED);
    assert_int_equal(jobs[2].http_status, 500);
    assert_non_null(strstr(jobs[2].error, "500"));

    assert_int_equal(jobs[3].status, ACT_FAILED);
    assert_int_equal(jobs[3].http_status, 429);
    /* the stored excerpt is one printable line */
    assert_string_equal(jobs[3].response, "slow  down please");

    for (int i = 0; i < 4; i++) {
        char path[128];
        snprintf(path, sizeof path, "/webhook/%s", wfs[i]);
        const struct srv_req *rq = srv_find(&s, path);
        if (!rq)
            fail_msg("no request for %s", path);
        assert_string_equal(rq->method, "POST");
        assert_string_equal(rq->idem, keys[i]);
        assert_string_equal(rq->auth, "s3cret-value");
        assert_non_null(strstr(rq->ctype, "application/json"));
        assert_string_equal(rq->body, bodies[i]);
        json_object *b = json_tokener_parse(rq->body);
        assert_non_null(b);
        assert_string_equal(str_field(b, "idempotency_key"), keys[i]);
        assert_string_equal(str_field(b, "workflow"), wfs[i]);
        assert_int_equal(json_object_get_int64(field(b, "trigger_id")), 100 + i);
        json_object_put(b);
        free(bodies[i]);
    }
    cfg_free(&c);
}

static void test_fire_connection_refused(void **state)
{
    (void)state;
    int port;
    int fd = listen_local(&port);
    assert_true(fd >= 0);
    close(fd);                                 /* nobody listens there now */
    char base[64];
    snprintf(base, sizeof base, "http://127.0.0.1:%d", port);
    struct cfg c;
    cfg_for(&c, base, "2000");
    struct act_job job;
    memset(&job, 0, sizeof job);
    job.workflow = "crypto-normal-scan";
    job.payload = "{}";
    job.key = "orch-1-crypto-normal-scan";
    act_fire_many(&c, &job, 1);
    assert_int_equal(job.status, ACT_FAILED);
    assert_int_equal(job.http_status, 0);
    assert_non_null(strstr(job.error, "connect"));
    assert_null(strstr(job.error, "s3cret"));
    cfg_free(&c);
}

static void test_fire_timeout(void **state)
{
    (void)state;
    int port;
    int fd = listen_local(&port);              /* listens, never answers */
    assert_true(fd >= 0);
    char base[64];
    snprintf(base, sizeof base, "http://127.0.0.1:%d/", port);
    struct cfg c;
    cfg_for(&c, base, "300");
    struct act_job job;
    memset(&job, 0, sizeof job);
    job.workflow = "crypto-light-monitoring";
    job.payload = "{}";
    job.key = "orch-2-crypto-light-monitoring";
    act_fire_many(&c, &job, 1);
    close(fd);
    assert_int_equal(job.status, ACT_FAILED);
    assert_int_equal(job.http_status, 0);
    assert_non_null(strstr(job.error, "timeout"));
    assert_true(job.latency_ms < 5000);
    act_fire_many(&c, NULL, 0);                /* nothing to do: returns */
    cfg_free(&c);
}

/* The excerpt of an answer stored with the trigger: valid UTF-8 whatever
 * n8n sent (an answer with "\xc5\xff" failed the trigger's update). */
static void test_excerpt(void **state)
{
    (void)state;
    char out[8];
    act_excerpt(out, sizeof out, "ab\xc5\xff" "cd", 6);
    assert_string_equal(out, "ab??cd");
    act_excerpt(out, sizeof out, "a\0b\n", 4);
    assert_string_equal(out, "a b ");
    act_excerpt(out, sizeof out, "abcde\xc3\xa9" "f", 8);     /* 7 bytes of room: not inside the e-acute */
    assert_string_equal(out, "abcde\xc3\xa9");
    act_excerpt(out, sizeof out, "abcdef\xc3\xa9", 8);
    assert_string_equal(out, "abcdef");
    act_excerpt(out, sizeof out, "", 0);
    assert_string_equal(out, "");
}

int main(void)
{
    seed_install();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_excerpt),
        cmocka_unit_test(test_key_format),
        cmocka_unit_test(test_payload_fields),
        cmocka_unit_test(test_payload_dry_run_and_closed),
        cmocka_unit_test(test_payload_parameters),
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_status_names),
        cmocka_unit_test(test_fire_many),
        cmocka_unit_test(test_fire_connection_refused),
        cmocka_unit_test(test_fire_timeout),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
