/* Telegram alerts (worker/alert.c): the message text (HTML escaping, UTF-8
 * repair, the 4096 cut), the queue (bounded, oldest dropped), the pace (one
 * message a second, a 429's retry_after honoured with the message kept),
 * failures, and the token never reaching a log line.  Against a scripted
 * server in a thread, and against the project's stand-in
 * (tests/standin/standin.py, started here) for the Bot API's own checks. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "alert.h"
#include "utf8.h"
#include "http.h"
#include "log.h"

#ifndef TOP_SRCDIR
#define TOP_SRCDIR ".."
#endif

#define TOKEN "123456:SECRETtok_en-XYZ"
#define CHAT "-1001234567890"

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- stderr capture: every log line of a test goes to a temp file ------- */

static int cap_saved = -1;
static char cap_path[64];

static void cap_start(void)
{
    snprintf(cap_path, sizeof cap_path, "/tmp/test_alert_log.XXXXXX");
    int fd = mkstemp(cap_path);
    assert_true(fd >= 0);
    fflush(stderr);
    cap_saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    close(fd);
}

/* Restore stderr; returns what was logged (caller frees).  The token must
 * not be in it, whatever the test. */
static char *cap_stop(void)
{
    fflush(stderr);
    dup2(cap_saved, STDERR_FILENO);
    close(cap_saved);
    cap_saved = -1;
    FILE *f = fopen(cap_path, "r");
    assert_non_null(f);
    char *buf = calloc(1, 1 << 20);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    buf[n] = '\0';
    fclose(f);
    unlink(cap_path);
    if (strstr(buf, TOKEN) || strstr(buf, "SECRETtok"))
        fail_msg("the bot token reached the log:\n%s", buf);
    return buf;
}

/* Per-test teardown: after a failure inside a capture, put stderr back and
 * show what was captured (cmocka's message is in it); stop a stand-in left
 * running. */
static pid_t standin_pid = -1;

static int cap_teardown(void **state)
{
    (void)state;
    if (cap_saved >= 0) {
        dup2(cap_saved, STDERR_FILENO);
        close(cap_saved);
        cap_saved = -1;
        FILE *f = fopen(cap_path, "r");
        if (f) {
            char line[4096];
            while (fgets(line, sizeof line, f))
                fputs(line, stderr);
            fclose(f);
        }
        unlink(cap_path);
    }
    if (standin_pid > 0) {
        kill(standin_pid, SIGTERM);
        waitpid(standin_pid, NULL, 0);
        standin_pid = -1;
    }
    return 0;
}

static int count_of(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* ---- a scripted Bot API ------------------------------------------------ */

struct step {
    int status;
    const char *headers;        /* extra header lines ending in \r\n, or NULL */
    const char *body;
};

#define MAX_SEEN 128

struct server {
    int fd, port;
    pthread_t thread;
    const struct step *steps;
    int nsteps;
    pthread_mutex_t mu;
    int served;
    char path[MAX_SEEN][256];
    char *body[MAX_SEEN];
    long long at[MAX_SEEN];      /* arrival, now_ms() */
};

static void *server_main(void *arg)
{
    struct server *sv = arg;
    for (;;) {
        int c = accept(sv->fd, NULL, NULL);
        if (c < 0)
            return NULL;
        char buf[65536];
        size_t n = 0, need = 0;
        ssize_t k;
        while (n < sizeof buf - 1 && (k = read(c, buf + n, sizeof buf - 1 - n)) > 0) {
            n += (size_t)k;
            buf[n] = '\0';
            char *end = strstr(buf, "\r\n\r\n");
            if (end) {
                char *cl = strcasestr(buf, "Content-Length:");
                need = (size_t)(end + 4 - buf) + (cl ? (size_t)strtoul(cl + 15, NULL, 10) : 0);
                if (n >= need)
                    break;
            }
        }
        buf[n] = '\0';
        pthread_mutex_lock(&sv->mu);
        int i = sv->served++;
        const struct step *st = &sv->steps[i < sv->nsteps ? i : sv->nsteps - 1];
        if (i < MAX_SEEN) {
            sv->at[i] = now_ms();
            char *sp = strchr(buf, ' ');
            char *sp2 = sp ? strchr(sp + 1, ' ') : NULL;
            if (sp && sp2)
                snprintf(sv->path[i], sizeof sv->path[i], "%.*s", (int)(sp2 - sp - 1), sp + 1);
            char *b = strstr(buf, "\r\n\r\n");
            sv->body[i] = strdup(b ? b + 4 : "");
        }
        pthread_mutex_unlock(&sv->mu);
        char head[1024];
        int hl = snprintf(head, sizeof head,
                          "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n%sConnection: close\r\n\r\n",
                          st->status, strlen(st->body), st->headers ? st->headers : "");
        ssize_t w = send(c, head, (size_t)hl, MSG_NOSIGNAL);
        w = send(c, st->body, strlen(st->body), MSG_NOSIGNAL);
        (void)w;
        close(c);
    }
}

static void server_start(struct server *sv, const struct step *steps, int n)
{
    memset(sv, 0, sizeof *sv);
    pthread_mutex_init(&sv->mu, NULL);
    sv->steps = steps;
    sv->nsteps = n;
    sv->fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(sv->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    assert_int_equal(bind(sv->fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t al = sizeof a;
    getsockname(sv->fd, (struct sockaddr *)&a, &al);
    sv->port = ntohs(a.sin_port);
    assert_int_equal(listen(sv->fd, 16), 0);
    pthread_create(&sv->thread, NULL, server_main, sv);
}

static void server_stop(struct server *sv)
{
    shutdown(sv->fd, SHUT_RDWR);
    close(sv->fd);
    pthread_join(sv->thread, NULL);
    for (int i = 0; i < MAX_SEEN; i++)
        free(sv->body[i]);
    pthread_mutex_destroy(&sv->mu);
}

static int served(struct server *sv)
{
    pthread_mutex_lock(&sv->mu);
    int n = sv->served;
    pthread_mutex_unlock(&sv->mu);
    return n;
}

#define OK_BODY "{\"ok\":true,\"result\":{\"message_id\":1,\"chat\":{\"id\":-1001234567890,\"type\":\"supergroup\"},\"date\":1,\"text\":\"x\"}}"
static const struct step ok_steps[] = { { 200, NULL, OK_BODY } };

/* ---- set-up ------------------------------------------------------------ */

struct rig {
    struct cfg cfg;
    char base[64];
    struct server sv;
    struct alert a;
};

static struct cfg base_cfg(void)
{
    struct cfg c;
    memset(&c, 0, sizeof c);
    c.telegram_bot_token = TOKEN;
    c.telegram_chat_id = CHAT;
    c.telegram_base_url = "https://api.telegram.org";
    c.alert_fallback_streak = 5;
    return c;
}

static void rig_up(struct rig *r, const struct step *steps, int n)
{
    memset(r, 0, sizeof *r);
    server_start(&r->sv, steps, n);
    snprintf(r->base, sizeof r->base, "http://127.0.0.1:%d", r->sv.port);
    r->cfg = base_cfg();
    r->cfg.telegram_base_url = r->base;
    assert_int_equal(alert_init(&r->a, &r->cfg), 0);
    assert_true(alert_enabled(&r->a));
}

static void rig_down(struct rig *r)
{
    alert_free(&r->a);
    server_stop(&r->sv);
}

/* The i-th request's JSON body (caller puts). */
static json_object *request_json(struct server *sv, int i)
{
    assert_true(i < served(sv));
    json_object *o = json_tokener_parse(sv->body[i]);
    assert_non_null(o);
    return o;
}

static const char *jstr(json_object *o, const char *key)
{
    json_object *v;
    assert_true(json_object_object_get_ex(o, key, &v));
    return json_object_get_string(v);
}

/* UTF-16 units of a UTF-8 string. */
static size_t units16(const char *s)
{
    size_t u = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p & 0xc0) != 0x80)
            u += (*p >= 0xf0) ? 2 : 1;
    }
    return u;
}

/* ---- tests --------------------------------------------------------------- */

static void sends_chat_id_text_and_parse_mode(void **state)
{
    (void)state;
    struct rig r;
    cap_start();
    rig_up(&r, ok_steps, 1);
    assert_int_equal(alert_post(&r.a, ALERT_MODE_SWITCH, "hello <world> & \"friends\""), 0);
    assert_int_equal(alert_queued(&r.a), 1);
    assert_int_equal(alert_flush(&r.a, 3000), 0);
    assert_int_equal(served(&r.sv), 1);
    assert_string_equal(r.sv.path[0], "/bot" TOKEN "/sendMessage");
    json_object *o = request_json(&r.sv, 0);
    json_object *chat;
    assert_true(json_object_object_get_ex(o, "chat_id", &chat));
    assert_true(json_object_is_type(chat, json_type_int));
    assert_true(json_object_get_int64(chat) == -1001234567890LL);
    assert_string_equal(jstr(o, "text"), "hello &lt;world&gt; &amp; &quot;friends&quot;");
    assert_string_equal(jstr(o, "parse_mode"), "HTML");
    json_object *dn;
    assert_true(json_object_object_get_ex(o, "disable_notification", &dn));
    assert_false(json_object_get_boolean(dn));
    json_object_put(o);
    assert_int_equal(r.a.stats.sent, 1);
    assert_int_equal(r.a.stats.failed, 0);
    rig_down(&r);
    char *log = cap_stop();
    assert_int_equal(count_of(log, "\"event\":\"alert.sent\""), 1);
    assert_non_null(strstr(log, "\"chat_id\":\"" CHAT "\""));
    assert_non_null(strstr(log, "\"kind\":\"mode_switch\""));
    free(log);
}

static void channel_chat_id_is_a_string(void **state)
{
    (void)state;
    struct rig r;
    cap_start();
    memset(&r, 0, sizeof r);
    server_start(&r.sv, ok_steps, 1);
    snprintf(r.base, sizeof r.base, "http://127.0.0.1:%d", r.sv.port);
    r.cfg = base_cfg();
    r.cfg.telegram_base_url = r.base;
    r.cfg.telegram_chat_id = "@orch_alerts";
    assert_int_equal(alert_init(&r.a, &r.cfg), 0);
    assert_int_equal(alert_worker_started(&r.a, "version 0.1.0, pid 42"), 0);
    assert_int_equal(alert_flush(&r.a, 3000), 0);
    json_object *o = request_json(&r.sv, 0);
    assert_string_equal(jstr(o, "chat_id"), "@orch_alerts");
    assert_string_equal(jstr(o, "text"), "<b>Worker started</b>\nversion 0.1.0, pid 42");
    json_object *dn;
    assert_true(json_object_object_get_ex(o, "disable_notification", &dn));
    assert_true(json_object_get_boolean(dn));      /* started: silent */
    json_object_put(o);
    rig_down(&r);
    free(cap_stop());
}

static void html_escaping_and_utf8_repair(void **state)
{
    (void)state;
    char out[256];
    int cut;
    assert_int_equal(alert_html_escape("a<b>&\"c\"'", 100, out, sizeof out, &cut), 29);
    assert_string_equal(out, "a&lt;b&gt;&amp;&quot;c&quot;'");
    assert_int_equal(cut, 0);
    /* control characters dropped, newline and tab kept, DEL and C1 dropped */
    alert_html_escape("a\x01\x1b[31mb\n\tc\x7f\xc2\x85" "d", 100, out, sizeof out, &cut);
    assert_string_equal(out, "a[31mb\n\tcd");
    /* invalid UTF-8: lone continuation, truncated sequence, overlong, surrogate */
    alert_html_escape("x\x80y\xe2\x82z\xc0\xafw\xed\xa0\x80v", 100, out, sizeof out, &cut);
    assert_string_equal(out, "x\xef\xbf\xbdy\xef\xbf\xbdz\xef\xbf\xbd\xef\xbf\xbdw\xef\xbf\xbdv");
    /* units: U+00E9 one, U+1F600 two */
    assert_int_equal(alert_html_escape("\xc3\xa9\xf0\x9f\x98\x80", 100, out, sizeof out, &cut), 3);
    /* never half an entity or half a character */
    assert_int_equal(alert_html_escape("ab&cd", 4, out, sizeof out, &cut), 2);
    assert_string_equal(out, "ab");
    assert_int_equal(cut, 1);
    assert_int_equal(alert_html_escape("a\xf0\x9f\x98\x80", 2, out, sizeof out, &cut), 1);
    assert_string_equal(out, "a");
    assert_int_equal(cut, 1);
    /* a small buffer cuts too, and stays terminated */
    char tiny[4];
    alert_html_escape("abcdef", 100, tiny, sizeof tiny, &cut);
    assert_string_equal(tiny, "abc");
    assert_int_equal(cut, 1);
    alert_html_escape(NULL, 10, out, sizeof out, &cut);
    assert_string_equal(out, "");

    /* the helpers: fields escaped, the tags ours */
    struct cfg c = base_cfg();
    struct alert a;
    cap_start();
    assert_int_equal(alert_init(&a, &c), 0);
    assert_int_equal(alert_mode_switch(&a, "crypto", "forex<script>", "London opened & <b>volatility</b> fell"), 0);
    assert_string_equal(alert_queue_text(&a, 0),
                        "<b>Mode switch</b>: crypto \xe2\x86\x92 forex&lt;script&gt;\nLondon opened &amp; &lt;b&gt;volatility&lt;/b&gt; fell");
    assert_int_equal(alert_workflow_failed(&a, "crypto-normal-scan", "timed_out", "45", "no end after 1800 s"), 0);
    assert_string_equal(alert_queue_text(&a, 1),
                        "<b>Workflow failed</b>: crypto-normal-scan (timed_out)\nn8n execution 45\nno end after 1800 s");
    assert_int_equal(alert_workflow_failed(&a, "forex-asia-session", "unavailable", NULL, NULL), 0);
    assert_string_equal(alert_queue_text(&a, 2), "<b>Workflow failed</b>: forex-asia-session (unavailable)");
    assert_int_equal(alert_circuit_open(&a, "groq", 3, 300), 0);
    assert_string_equal(alert_queue_text(&a, 3),
                        "<b>Circuit open</b>: groq after 3 consecutive failures; next try in 300 s");
    assert_int_equal(alert_worker_stopped(&a, "SIGTERM"), 0);
    /* a stopping worker's last word goes first (its flush has a short budget) */
    assert_string_equal(alert_queue_text(&a, 0), "<b>Worker stopped</b>\nSIGTERM");
    assert_string_equal(alert_queue_text(&a, 4),
                        "<b>Circuit open</b>: groq after 3 consecutive failures; next try in 300 s");
    /* the fallback streak alerts once, when it reaches ALERT_FALLBACK_STREAK */
    assert_int_equal(alert_llm_fallback_streak(&a, 0, NULL), 0);
    assert_int_equal(alert_llm_fallback_streak(&a, 4, "timeout"), 0);
    assert_int_equal(alert_llm_fallback_streak(&a, 5, "groq: HTTP 503"), 1);
    assert_int_equal(alert_llm_fallback_streak(&a, 6, "timeout"), 0);
    assert_int_equal(alert_queued(&a), 6);
    assert_string_equal(alert_queue_text(&a, 5),
                        "<b>LLM fallback streak</b>: 5 decisions in a row made by the fallback policy, not the LLM\n"
                        "last LLM error: groq: HTTP 503");
    assert_null(alert_queue_text(&a, 6));
    /* nothing visible: Telegram refuses an empty text */
    assert_int_equal(alert_post(&a, ALERT_MODE_SWITCH, " \x01\n"), 0);
    assert_string_equal(alert_queue_text(&a, 6), "(empty)");
    assert_int_equal(alert_post(&a, ALERT_MODE_SWITCH, NULL), -1);
    assert_string_equal(alert_kind_name(ALERT_LLM_FALLBACK_STREAK), "llm_fallback_streak");
    assert_string_equal(alert_kind_name(ALERT_KIND_COUNT), "unknown");
    alert_free(&a);
    alert_free(&a);                     /* twice: a no-op */
    free(cap_stop());
}

static void text_cut_at_4096_units(void **state)
{
    (void)state;
    struct cfg c = base_cfg();
    struct alert a;
    assert_int_equal(alert_init(&a, &c), 0);
    static char big[20000];

    memset(big, 'x', 4096);
    big[4096] = '\0';
    assert_int_equal(alert_post(&a, ALERT_MODE_SWITCH, big), 0);      /* exactly the limit: kept whole */
    assert_string_equal(alert_queue_text(&a, 0), big);

    memset(big, 'y', 5000);
    big[5000] = '\0';
    assert_int_equal(alert_post(&a, ALERT_MODE_SWITCH, big), 0);
    const char *t = alert_queue_text(&a, 1);
    assert_int_equal(units16(t), 4096);
    assert_int_equal(strlen(t), 4095 + 3);
    assert_string_equal(t + 4095, "\xe2\x80\xa6");                     /* ends with an ellipsis */

    for (int i = 0; i < 3000; i++)
        big[i] = '&';
    big[3000] = '\0';
    assert_int_equal(alert_post(&a, ALERT_MODE_SWITCH, big), 0);
    t = alert_queue_text(&a, 2);
    assert_true(units16(t) <= 4096);
    assert_int_equal(strlen(t), 819 * 5 + 3);                           /* 819 whole "&amp;" */
    assert_null(strstr(t, "&amp\xe2"));

    size_t k = 0;
    for (int i = 0; i < 3000; i++) {
        memcpy(big + k, "\xf0\x9f\x98\x80", 4);                         /* U+1F600: two units */
        k += 4;
    }
    big[k] = '\0';
    assert_int_equal(alert_post(&a, ALERT_MODE_SWITCH, big), 0);
    t = alert_queue_text(&a, 3);
    assert_true(units16(t) <= 4096);
    assert_int_equal(units16(t), 2047 * 2 + 1);

    /* a helper's long free text: the tags survive, the text is cut */
    memset(big, 'z', 6000);
    big[6000] = '\0';
    assert_int_equal(alert_workflow_failed(&a, "crypto-normal-scan", "failed", "7", big), 0);
    t = alert_queue_text(&a, 4);
    assert_int_equal(units16(t), 4096);
    assert_non_null(strstr(t, "<b>Workflow failed</b>: crypto-normal-scan (failed)\n"));
    alert_free(&a);
}

static void one_message_per_second(void **state)
{
    (void)state;
    struct rig r;
    cap_start();
    rig_up(&r, ok_steps, 1);
    assert_int_equal(alert_post(&r.a, ALERT_CIRCUIT_OPEN, "first"), 0);
    assert_int_equal(alert_post(&r.a, ALERT_CIRCUIT_OPEN, "second"), 0);
    assert_int_equal(alert_post(&r.a, ALERT_CIRCUIT_OPEN, "third"), 0);
    /* a short budget: the first goes, the rest waits, and the call keeps to its budget */
    long long t0 = now_ms();
    assert_int_equal(alert_flush(&r.a, 500), 2);
    assert_true(now_ms() - t0 < 800);
    assert_int_equal(served(&r.sv), 1);
    /* enough budget: the other two, a second apart */
    assert_int_equal(alert_flush(&r.a, 5000), 0);
    assert_int_equal(served(&r.sv), 3);
    assert_true(r.sv.at[1] - r.sv.at[0] >= 950);
    assert_true(r.sv.at[2] - r.sv.at[1] >= 950);
    json_object *o = request_json(&r.sv, 2);
    assert_string_equal(jstr(o, "text"), "third");                      /* in order */
    json_object_put(o);
    assert_int_equal(r.a.stats.sent, 3);
    /* budget 0 sends nothing */
    assert_int_equal(alert_post(&r.a, ALERT_CIRCUIT_OPEN, "fourth"), 0);
    assert_int_equal(alert_flush(&r.a, 0), 1);
    assert_int_equal(served(&r.sv), 3);
    rig_down(&r);
    free(cap_stop());
}

static void rate_limit_429_waits_retry_after_and_keeps_the_message(void **state)
{
    (void)state;
    static const struct step steps[] = {
        { 429, NULL, "{\"ok\":false,\"error_code\":429,\"description\":\"Too Many Requests: retry after 2\",\"parameters\":{\"retry_after\":2}}" },
        { 200, NULL, OK_BODY },
    };
    struct rig r;
    cap_start();
    rig_up(&r, steps, 2);
    assert_int_equal(alert_post(&r.a, ALERT_WORKFLOW_FAILED, "keep me"), 0);
    long long t0 = now_ms();
    assert_int_equal(alert_flush(&r.a, 1500), 1);            /* 429: kept, and no wait past the budget */
    assert_true(now_ms() - t0 < 1800);
    assert_int_equal(served(&r.sv), 1);
    assert_int_equal(r.a.stats.rate_limited, 1);
    assert_int_equal(r.a.stats.sent, 0);
    assert_string_equal(alert_queue_text(&r.a, 0), "keep me");
    assert_int_equal(alert_flush(&r.a, 5000), 0);
    assert_int_equal(served(&r.sv), 2);
    assert_true(r.sv.at[1] - r.sv.at[0] >= 1950);            /* not before retry_after */
    json_object *o = request_json(&r.sv, 1);
    assert_string_equal(jstr(o, "text"), "keep me");
    json_object_put(o);
    assert_int_equal(r.a.stats.sent, 1);
    assert_int_equal(r.a.stats.failed, 0);
    rig_down(&r);
    char *log = cap_stop();
    assert_non_null(strstr(log, "\"event\":\"alert.rate_limited\""));
    assert_non_null(strstr(log, "\"retry_after\":2"));
    free(log);
}

static void retry_after_header_when_the_body_has_none(void **state)
{
    (void)state;
    static const struct step steps[] = {
        { 429, "Retry-After: 1\r\n", "{\"ok\":false,\"error_code\":429,\"description\":\"Too Many Requests\"}" },
        { 200, NULL, OK_BODY },
    };
    struct rig r;
    cap_start();
    rig_up(&r, steps, 2);
    assert_int_equal(alert_post(&r.a, ALERT_WORKFLOW_FAILED, "x"), 0);
    assert_int_equal(alert_flush(&r.a, 4000), 0);
    assert_int_equal(served(&r.sv), 2);
    assert_true(r.sv.at[1] - r.sv.at[0] >= 950);
    assert_true(r.sv.at[1] - r.sv.at[0] < 2500);
    rig_down(&r);
    free(cap_stop());
}

static void a_200_that_is_not_ok_is_not_sent(void **state)
{
    (void)state;
    static const struct step steps[] = {
        { 200, NULL, "{\"ok\":false,\"error_code\":400,\"description\":\"Bad Request: message text is empty\"}" },
        { 200, NULL, "<html>a captive portal</html>" },
    };
    struct rig r;
    cap_start();
    rig_up(&r, steps, 2);
    assert_int_equal(alert_post(&r.a, ALERT_WORKFLOW_FAILED, "a"), 0);
    assert_int_equal(alert_post(&r.a, ALERT_WORKFLOW_FAILED, "b"), 0);
    assert_int_equal(alert_flush(&r.a, 4000), 0);
    assert_int_equal(served(&r.sv), 2);
    assert_int_equal(r.a.stats.sent, 0);
    assert_int_equal(r.a.stats.failed, 2);
    rig_down(&r);
    char *log = cap_stop();
    assert_int_equal(count_of(log, "\"event\":\"alert.sent\""), 0);
    assert_int_equal(count_of(log, "\"event\":\"alert.failed\""), 2);
    free(log);
}

static void full_queue_drops_the_oldest(void **state)
{
    (void)state;
    struct cfg c = base_cfg();
    struct alert a;
    cap_start();
    assert_int_equal(alert_init(&a, &c), 0);
    char text[32];
    for (int i = 0; i < ALERT_QUEUE_MAX + 6; i++) {
        snprintf(text, sizeof text, "message %d", i);
        assert_int_equal(alert_post(&a, ALERT_MODE_SWITCH, text), 0);
    }
    assert_int_equal(alert_queued(&a), ALERT_QUEUE_MAX);
    assert_int_equal(a.stats.dropped, 6);
    assert_string_equal(alert_queue_text(&a, 0), "message 6");
    assert_string_equal(alert_queue_text(&a, ALERT_QUEUE_MAX - 1), "message 69");
    alert_free(&a);
    char *log = cap_stop();
    assert_int_equal(count_of(log, "\"event\":\"alert.dropped\""), 6);
    assert_non_null(strstr(log, "\"dropped\":6"));
    free(log);
}

static void permanent_errors_fail_the_message_at_once(void **state)
{
    (void)state;
    static const struct step steps[] = {
        { 400, NULL, "{\"ok\":false,\"error_code\":400,\"description\":\"Bad Request: chat not found\"}" },
        /* an answer that quotes the token: scrubbed before it is logged */
        { 401, NULL, "{\"ok\":false,\"error_code\":401,\"description\":\"Unauthorized: /bot" TOKEN "/sendMessage " TOKEN "\"}" },
    };
    struct rig r;
    cap_start();
    rig_up(&r, steps, 2);
    assert_int_equal(alert_post(&r.a, ALERT_WORKFLOW_FAILED, "a"), 0);
    assert_int_equal(alert_post(&r.a, ALERT_WORKFLOW_FAILED, "b"), 0);
    assert_int_equal(alert_flush(&r.a, 4000), 0);
    assert_int_equal(served(&r.sv), 2);
    assert_int_equal(r.a.stats.failed, 2);
    assert_int_equal(r.a.stats.sent, 0);
    rig_down(&r);
    char *log = cap_stop();                 /* fails if the token is there */
    assert_int_equal(count_of(log, "\"event\":\"alert.failed\""), 2);
    assert_non_null(strstr(log, "check TELEGRAM_CHAT_ID"));
    assert_non_null(strstr(log, "check TELEGRAM_BOT_TOKEN"));
    assert_non_null(strstr(log, "/bot<token>/sendMessage <token>"));
    assert_non_null(strstr(log, "\"will_retry\":false"));
    free(log);
}

static void server_errors_retried_then_given_up(void **state)
{
    (void)state;
    static const struct step steps[] = {
        { 502, NULL, "{\"ok\":false,\"error_code\":502,\"description\":\"Bad Gateway\"}" },
        { 500, NULL, "<html>oops</html>" },
        { 503, NULL, "" },
        { 200, NULL, OK_BODY },
    };
    struct rig r;
    cap_start();
    rig_up(&r, steps, 4);
    assert_int_equal(alert_post(&r.a, ALERT_CIRCUIT_OPEN, "lost"), 0);
    assert_int_equal(alert_post(&r.a, ALERT_CIRCUIT_OPEN, "next"), 0);
    assert_int_equal(alert_flush(&r.a, 8000), 0);
    assert_int_equal(served(&r.sv), 4);
    assert_true(r.sv.at[1] - r.sv.at[0] >= 950);            /* a growing pause */
    assert_true(r.sv.at[2] - r.sv.at[1] >= 1950);
    assert_int_equal(r.a.stats.failed, 1);
    assert_int_equal(r.a.stats.sent, 1);
    json_object *o = request_json(&r.sv, 3);
    assert_string_equal(jstr(o, "text"), "next");
    json_object_put(o);
    rig_down(&r);
    char *log = cap_stop();
    assert_int_equal(count_of(log, "\"will_retry\":true"), 2);
    assert_int_equal(count_of(log, "\"will_retry\":false"), 1);
    assert_non_null(strstr(log, "Bad Gateway"));
    free(log);
}

static void unreachable_server_logs_no_url(void **state)
{
    (void)state;
    /* a port nobody listens on: libcurl's error names the host and port;
     * whatever it says, only the static error name is logged */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    socklen_t sl = sizeof sa;
    getsockname(fd, (struct sockaddr *)&sa, &sl);
    char base[64];
    snprintf(base, sizeof base, "http://127.0.0.1:%d", ntohs(sa.sin_port));
    close(fd);
    struct cfg c = base_cfg();
    c.telegram_base_url = base;
    struct alert a;
    cap_start();
    assert_int_equal(alert_init(&a, &c), 0);
    assert_int_equal(alert_post(&a, ALERT_WORKER_STARTED, "x"), 0);
    long long t0 = now_ms();
    assert_int_equal(alert_flush(&a, 1500), 1);             /* kept for a retry */
    assert_true(now_ms() - t0 < 1900);
    alert_free(&a);
    char *log = cap_stop();
    assert_non_null(strstr(log, "\"error\":\"could not connect\""));
    assert_null(strstr(log, "/bot"));
    free(log);

    char s[200];
    snprintf(s, sizeof s, "Failed to connect to https://api.telegram.org/bot%s/sendMessage: token %s", TOKEN, TOKEN);
    alert_scrub(s, sizeof s, TOKEN);
    assert_string_equal(s, "Failed to connect to https://api.telegram.org/bot<token>/sendMessage: token <token>");
    snprintf(s, sizeof s, "GET /bot9:other?x=1");
    alert_scrub(s, sizeof s, NULL);
    assert_string_equal(s, "GET /bot<token>?x=1");
    char small[12];
    snprintf(small, sizeof small, "/bot1:a/x");
    alert_scrub(small, sizeof small, "1:a");
    assert_string_equal(small, "/bot<token>");
}

static void configuration_checks(void **state)
{
    (void)state;
    struct cfg c = base_cfg();
    struct alert a;
    cap_start();
    /* disabled: everything a no-op */
    c.telegram_bot_token = "";
    c.telegram_chat_id = "";
    assert_int_equal(alert_init(&a, &c), 0);
    assert_false(alert_enabled(&a));
    assert_int_equal(alert_post(&a, ALERT_MODE_SWITCH, "x"), 0);
    assert_int_equal(alert_mode_switch(&a, "a", "b", "c"), 0);
    assert_int_equal(alert_llm_fallback_streak(&a, 5, NULL), 0);
    assert_int_equal(alert_queued(&a), 0);
    assert_int_equal(alert_flush(&a, 1000), 0);
    alert_free(&a);
    /* one without the other */
    c.telegram_bot_token = TOKEN;
    assert_int_equal(alert_init(&a, &c), -1);
    c.telegram_bot_token = "";
    c.telegram_chat_id = CHAT;
    assert_int_equal(alert_init(&a, &c), -1);
    /* malformed token and chat id */
    c.telegram_bot_token = "SECRETtok/../x";
    assert_int_equal(alert_init(&a, &c), -1);
    c.telegram_bot_token = "123456:SECRETtok en";
    assert_int_equal(alert_init(&a, &c), -1);
    c.telegram_bot_token = TOKEN;
    c.telegram_chat_id = "12ab";
    assert_int_equal(alert_init(&a, &c), -1);
    c.telegram_chat_id = "@";
    assert_int_equal(alert_init(&a, &c), -1);
    alert_free(&a);
    char *log = cap_stop();
    assert_int_equal(count_of(log, "\"event\":\"alert.invalid_config\""), 6);
    assert_non_null(strstr(log, "\"variable\":\"TELEGRAM_CHAT_ID\""));
    assert_non_null(strstr(log, "\"variable\":\"TELEGRAM_BOT_TOKEN\""));
    free(log);
}

/* ---- against the stand-in ------------------------------------------------ */

struct standin {
    pid_t pid;
    int port;
    char base[64];
};

static void standin_start(struct standin *s)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    s->pid = fork();
    assert_true(s->pid >= 0);
    if (s->pid == 0) {
        dup2(p[1], STDOUT_FILENO);
        close(p[0]);
        close(p[1]);
        execlp("python3", "python3", TOP_SRCDIR "/tests/standin/standin.py", "--port", "0", "--quiet",
               (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    char line[256];
    size_t n = 0;
    struct pollfd pf = { .fd = p[0], .events = POLLIN };
    while (n < sizeof line - 1 && poll(&pf, 1, 15000) > 0) {
        ssize_t k = read(p[0], line + n, 1);
        if (k <= 0 || line[n] == '\n')
            break;
        n++;
    }
    line[n] = '\0';
    close(p[0]);
    if (sscanf(line, "standin listening on 127.0.0.1:%d", &s->port) != 1)
        fail_msg("the stand-in did not start (python3 %s): \"%s\"", TOP_SRCDIR "/tests/standin/standin.py", line);
    snprintf(s->base, sizeof s->base, "http://127.0.0.1:%d", s->port);
    standin_pid = s->pid;
}

static void standin_stop(struct standin *s)
{
    kill(s->pid, SIGTERM);
    int st;
    waitpid(s->pid, &st, 0);
    standin_pid = -1;
}

/* A request to the stand-in's control API; returns the answer's body (caller frees). */
static char *standin_call(struct standin *s, const char *method, const char *path, const char *body)
{
    char url[256];
    snprintf(url, sizeof url, "%s%s", s->base, path);
    struct http_req req = { .method = method, .url = url, .body = body, .timeout_ms = 5000 };
    struct http_resp r;
    assert_int_equal(http_perform(&req, &r), HTTP_OK);
    if (r.status != 200)
        fail_msg("%s %s -> %ld: %s", method, path, r.status, r.body);
    char *out = strdup(r.body);
    http_resp_free(&r);
    return out;
}

static void against_the_standin(void **state)
{
    (void)state;
    struct standin si;
    standin_start(&si);
    char base[96];
    snprintf(base, sizeof base, "%s/telegram", si.base);
    struct cfg c = base_cfg();
    c.telegram_base_url = base;
    struct alert a;
    cap_start();
    assert_int_equal(alert_init(&a, &c), 0);

    /* the Bot API's HTML parser accepts what we escape, and the 4096 cut */
    const char *nasty = "load < 0.9 & <b>not bold</b> \"q\" 'x' \xc3\xa9 \xf0\x9f\x98\x80 </i> <a href=x>";
    assert_int_equal(alert_mode_switch(&a, "crypto", "<forex>", nasty), 0);
    static char big[9000];
    for (int i = 0; i < 8000; i++)
        big[i] = "<&>x"[i % 4];
    big[8000] = '\0';
    assert_int_equal(alert_post(&a, ALERT_WORKFLOW_FAILED, big), 0);
    assert_int_equal(alert_flush(&a, 5000), 0);
    assert_int_equal(a.stats.sent, 2);
    assert_int_equal(a.stats.failed, 0);
    char *reqs = standin_call(&si, "GET", "/_standin/requests?prefix=/telegram/", NULL);
    json_object *arr = json_tokener_parse(reqs);
    assert_non_null(arr);
    assert_int_equal(json_object_array_length(arr), 2);
    json_object *b0 = json_object_object_get(json_object_array_get_idx(arr, 0), "body");
    assert_string_equal(json_object_get_string(json_object_object_get(b0, "parse_mode")), "HTML");
    assert_non_null(strstr(json_object_get_string(json_object_object_get(b0, "text")), "load &lt; 0.9 &amp;"));
    json_object_put(arr);
    free(reqs);

    /* flood control: retry_after honoured, the message kept and sent after */
    free(standin_call(&si, "POST", "/_standin/reset", "{}"));
    free(standin_call(&si, "POST", "/_standin/config",
                      "{\"behaviour\":{\"telegram\":[\"429\",\"ok\"]},\"telegram_retry_after\":1}"));
    assert_int_equal(alert_post(&a, ALERT_CIRCUIT_OPEN, "after the flood"), 0);
    assert_int_equal(alert_flush(&a, 5000), 0);
    assert_int_equal(a.stats.rate_limited, 1);
    assert_int_equal(a.stats.sent, 3);
    reqs = standin_call(&si, "GET", "/_standin/requests?prefix=/telegram/", NULL);
    arr = json_tokener_parse(reqs);
    assert_int_equal(json_object_array_length(arr), 2);
    double t0 = json_object_get_double(json_object_object_get(json_object_array_get_idx(arr, 0), "time"));
    double t1 = json_object_get_double(json_object_object_get(json_object_array_get_idx(arr, 1), "time"));
    assert_true(t1 - t0 >= 0.95);
    json_object_put(arr);
    free(reqs);

    /* a token the Bot API refuses: failed, with a hint, and never logged */
    free(standin_call(&si, "POST", "/_standin/reset", "{}"));
    free(standin_call(&si, "POST", "/_standin/config", "{\"telegram_token\":\"9:other\"}"));
    assert_int_equal(alert_post(&a, ALERT_CIRCUIT_OPEN, "refused"), 0);
    assert_int_equal(alert_flush(&a, 3000), 0);
    assert_int_equal(a.stats.failed, 1);
    alert_free(&a);
    char *log = cap_stop();
    assert_non_null(strstr(log, "\"status\":401"));
    assert_non_null(strstr(log, "check TELEGRAM_BOT_TOKEN"));
    free(log);
    standin_stop(&si);
}

/* Telegram's answers are outside input: bounded, cleaned, clamped. */
static void answers_checked(void **state)
{
    (void)state;
    int ok;
    char desc[32];
    long ra;
    const char *b = "{\"ok\":false,\"error_code\":429,\"description\":\"Too Many \xff\\u0007Requests: retry after 1e300\","
                    "\"parameters\":{\"retry_after\":99999999999999}}";
    alert_parse_answer(b, strlen(b), NULL, &ok, desc, sizeof desc, &ra);
    assert_int_equal(ok, 0);
    assert_int_equal(ra, ALERT_RETRY_AFTER_MAX);
    assert_true(utf8_valid(desc, strlen(desc)));
    assert_null(strchr(desc, '\x07'));
    assert_int_equal(strncmp(desc, "Too Many ? Requests", 19), 0);
    alert_parse_answer("{\"ok\":true}", 11, "99999999999999999999999", &ok, desc, sizeof desc, &ra);
    assert_int_equal(ok, 1);
    assert_int_equal(ra, ALERT_RETRY_AFTER_MAX);
    alert_parse_answer("{\"ok\":\"yes\",\"parameters\":{\"retry_after\":-4}}", 44, "1e3", &ok, desc, sizeof desc, &ra);
    assert_int_equal(ok, 0);
    assert_int_equal(ra, -1);
    alert_parse_answer("<html>", 6, "7", &ok, desc, sizeof desc, &ra);
    assert_int_equal(ra, 7);
    assert_string_equal(desc, "");
}

int main(void)
{
    if (http_global_init() != 0)
        return 1;
    log_init("test_alert", LOG_DEBUG);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(answers_checked),
        cmocka_unit_test_teardown(sends_chat_id_text_and_parse_mode, cap_teardown),
        cmocka_unit_test_teardown(channel_chat_id_is_a_string, cap_teardown),
        cmocka_unit_test_teardown(html_escaping_and_utf8_repair, cap_teardown),
        cmocka_unit_test_teardown(text_cut_at_4096_units, cap_teardown),
        cmocka_unit_test_teardown(one_message_per_second, cap_teardown),
        cmocka_unit_test_teardown(rate_limit_429_waits_retry_after_and_keeps_the_message, cap_teardown),
        cmocka_unit_test_teardown(retry_after_header_when_the_body_has_none, cap_teardown),
        cmocka_unit_test_teardown(a_200_that_is_not_ok_is_not_sent, cap_teardown),
        cmocka_unit_test_teardown(full_queue_drops_the_oldest, cap_teardown),
        cmocka_unit_test_teardown(permanent_errors_fail_the_message_at_once, cap_teardown),
        cmocka_unit_test_teardown(server_errors_retried_then_given_up, cap_teardown),
        cmocka_unit_test_teardown(unreachable_server_logs_no_url, cap_teardown),
        cmocka_unit_test_teardown(configuration_checks, cap_teardown),
        cmocka_unit_test_teardown(against_the_standin, cap_teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    http_global_cleanup();
    return rc;
}
