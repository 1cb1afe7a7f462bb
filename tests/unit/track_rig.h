/* track_rig.h: what test_track.c and test_track_standin.c share -- the
 * capture of stderr (the API key must never be logged), a scripted n8n API
 * with one thread per connection, and the execution objects it serves. */
#ifndef TRACK_RIG_H
#define TRACK_RIG_H

#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
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

#include "http.h"
#include "log.h"
#include "track.h"
#include "track_stop.h"
#include "track_workflows.h"
#include "utf8.h"
#include "seed.h"

#define KEY "n8n_api_SECRETkey_42"

#define CAP_PREFIX "/tmp/test_track_log"
#define CAP_SECRET KEY
#define CAP_SECRET_PART "SECRETkey"
#define CAP_SECRET_WHAT "the API key"
#include "harness.h"

/* ---- a scripted n8n API, one thread per connection ------------------------ */

struct route {
    const char *target;       /* "GET /api/v1/executions/1": exact request line target */
    int status;
    const char *body;
    int delay_ms;
};

/* A dynamic answer for targets no route matches: fills status and returns
 * a body (caller frees), or NULL for the default 404. */
typedef char *(*dyn_fn)(const char *target, int *status);

#define MAX_CONN 256

struct server {
    int fd, port;
    pthread_t thread;
    const struct route *routes;
    int nroutes;
    dyn_fn dyn;
    pthread_mutex_t mu;
    int served, active, max_active;
    char last_headers[16384];
    char targets[64][600];
    pthread_t conns[MAX_CONN];
    int nconns;
};

struct conn {
    struct server *sv;
    int fd;
};

static inline void *conn_main(void *arg)
{
    struct conn *cn = arg;
    struct server *sv = cn->sv;
    int c = cn->fd;
    free(cn);
    char buf[16384];
    harness_read_request(c, buf, sizeof buf);
    char target[600] = "";
    char *sp = strchr(buf, ' ');
    char *sp2 = sp ? strchr(sp + 1, ' ') : NULL;
    if (sp && sp2)
        snprintf(target, sizeof target, "%.*s %.*s", (int)(sp - buf), buf, (int)(sp2 - sp - 1), sp + 1);
    pthread_mutex_lock(&sv->mu);
    int idx = sv->served++;
    if (++sv->active > sv->max_active)
        sv->max_active = sv->active;
    snprintf(sv->last_headers, sizeof sv->last_headers, "%s", buf);
    if (idx < 64)
        snprintf(sv->targets[idx], sizeof sv->targets[idx], "%s", target);
    pthread_mutex_unlock(&sv->mu);

    int status = 404, delay = 0;
    const char *body = "{\"message\":\"Not Found\"}";
    char *dyn = NULL;
    int found = 0;
    for (int i = 0; i < sv->nroutes; i++) {
        if (strcmp(sv->routes[i].target, target) == 0) {
            status = sv->routes[i].status;
            body = sv->routes[i].body;
            delay = sv->routes[i].delay_ms;
            found = 1;
            break;
        }
    }
    if (!found && sv->dyn && (dyn = sv->dyn(target, &status)))
        body = dyn;
    if (delay)
        usleep((useconds_t)delay * 1000);
    harness_answer(c, status, NULL, body);
    free(dyn);
    pthread_mutex_lock(&sv->mu);
    sv->active--;
    pthread_mutex_unlock(&sv->mu);
    return NULL;
}

static inline void *server_main(void *arg)
{
    struct server *sv = arg;
    for (;;) {
        int c = accept(sv->fd, NULL, NULL);
        if (c < 0)
            return NULL;
        struct conn *cn = malloc(sizeof *cn);
        cn->sv = sv;
        cn->fd = c;
        pthread_mutex_lock(&sv->mu);
        int slot = sv->nconns < MAX_CONN ? sv->nconns++ : -1;
        pthread_mutex_unlock(&sv->mu);
        if (slot < 0) {
            close(c);
            free(cn);
            continue;
        }
        pthread_create(&sv->conns[slot], NULL, conn_main, cn);
    }
}

static inline void server_start(struct server *sv, const struct route *routes, int n, dyn_fn dyn)
{
    memset(sv, 0, sizeof *sv);
    pthread_mutex_init(&sv->mu, NULL);
    sv->routes = routes;
    sv->nroutes = n;
    sv->dyn = dyn;
    harness_serve(64, &sv->fd, &sv->port, &sv->thread, server_main, sv);
}

static inline void server_stop(struct server *sv)
{
    harness_unserve(sv->fd, sv->thread);
    for (int i = 0; i < sv->nconns; i++)
        pthread_join(sv->conns[i], NULL);
    pthread_mutex_destroy(&sv->mu);
}

/* A configuration pointing at the server: N8N_BASE_URL set, the API URL derived. */
struct rig {
    struct cfg cfg;
    char base[64];
    struct server sv;
};

static inline void rig_up(struct rig *r, const struct route *routes, int n, dyn_fn dyn)
{
    memset(r, 0, sizeof *r);
    server_start(&r->sv, routes, n, dyn);
    snprintf(r->base, sizeof r->base, "http://127.0.0.1:%d", r->sv.port);
    r->cfg.n8n_base_url = r->base;
    r->cfg.n8n_api_url = "";
    r->cfg.n8n_api_key = KEY;
    r->cfg.webhook_timeout_ms = 1000;
    r->cfg.track_timeout_seconds = 1800;
}

#define EXEC(id, status, finished, stopped) \
    "{\"id\":\"" id "\",\"finished\":" finished ",\"mode\":\"webhook\",\"status\":\"" status "\"," \
    "\"startedAt\":\"2025-03-17T09:00:00.000Z\",\"stoppedAt\":" stopped ",\"workflowId\":\"orchCryptoNormal\"," \
    "\"retryOf\":null,\"retrySuccessId\":null,\"waitTill\":null,\"customData\":{}}"
#define STOPPED "\"2025-03-17T09:00:57.250Z\""

#endif
