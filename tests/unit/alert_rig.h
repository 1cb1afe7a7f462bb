/* alert_rig.h: what test_alert.c and test_alert_standin.c share -- the
 * capture of stderr (the token must never be logged), a scripted Bot API in
 * a thread, and the alert set up against it. */
#ifndef ALERT_RIG_H
#define ALERT_RIG_H

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

#define TOKEN "123456:SECRETtok_en-XYZ"
#define CHAT "-1001234567890"

#define CAP_PREFIX "/tmp/test_alert_log"
#define CAP_SECRET TOKEN
#define CAP_SECRET_PART "SECRETtok"
#define CAP_SECRET_WHAT "the bot token"
#include "harness.h"

static inline int count_of(const char *hay, const char *needle)
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

static inline void *server_main(void *arg)
{
    struct server *sv = arg;
    for (;;) {
        int c = accept(sv->fd, NULL, NULL);
        if (c < 0)
            return NULL;
        char buf[65536];
        harness_read_request(c, buf, sizeof buf);
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
        harness_answer(c, st->status, st->headers, st->body);
    }
}

static inline void server_start(struct server *sv, const struct step *steps, int n)
{
    memset(sv, 0, sizeof *sv);
    pthread_mutex_init(&sv->mu, NULL);
    sv->steps = steps;
    sv->nsteps = n;
    harness_serve(16, &sv->fd, &sv->port, &sv->thread, server_main, sv);
}

static inline void server_stop(struct server *sv)
{
    harness_unserve(sv->fd, sv->thread);
    for (int i = 0; i < MAX_SEEN; i++)
        free(sv->body[i]);
    pthread_mutex_destroy(&sv->mu);
}

static inline int served(struct server *sv)
{
    pthread_mutex_lock(&sv->mu);
    int n = sv->served;
    pthread_mutex_unlock(&sv->mu);
    return n;
}

#define OK_BODY "{\"ok\":true,\"result\":{\"message_id\":1,\"chat\":{\"id\":-1001234567890,\"type\":\"supergroup\"},\"date\":1,\"text\":\"x\"}}"
static const struct step ok_steps[] __attribute__((unused)) = { { 200, NULL, OK_BODY } };

/* ---- set-up ------------------------------------------------------------ */

struct rig {
    struct cfg cfg;
    char base[64];
    struct server sv;
    struct alert a;
};

static inline struct cfg base_cfg(void)
{
    struct cfg c;
    memset(&c, 0, sizeof c);
    c.telegram_bot_token = TOKEN;
    c.telegram_chat_id = CHAT;
    c.telegram_base_url = "https://api.telegram.org";
    c.alert_fallback_streak = 5;
    return c;
}

static inline void rig_up(struct rig *r, const struct step *steps, int n)
{
    memset(r, 0, sizeof *r);
    server_start(&r->sv, steps, n);
    snprintf(r->base, sizeof r->base, "http://127.0.0.1:%d", r->sv.port);
    r->cfg = base_cfg();
    r->cfg.telegram_base_url = r->base;
    assert_int_equal(alert_init(&r->a, &r->cfg), 0);
    assert_true(alert_enabled(&r->a));
}

static inline void rig_down(struct rig *r)
{
    alert_free(&r->a);
    server_stop(&r->sv);
}

/* The i-th request's JSON body (caller puts). */
static inline json_object *request_json(struct server *sv, int i)
{
    assert_true(i < served(sv));
    json_object *o = json_tokener_parse(sv->body[i]);
    assert_non_null(o);
    return o;
}

static inline const char *jstr(json_object *o, const char *key)
{
    json_object *v;
    assert_true(json_object_object_get_ex(o, key, &v));
    return json_object_get_string(v);
}

/* UTF-16 units of a UTF-8 string. */
static inline size_t units16(const char *s)
{
    size_t u = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p & 0xc0) != 0x80)
            u += (*p >= 0xf0) ? 2 : 1;
    }
    return u;
}

#endif
