/* outbox: the leader's webhooks in flight; see outbox.h. */
#include "config.h"
#include "outbox.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int outbox_init(struct outbox *o, const struct cfg *c)
{
    memset(o, 0, sizeof *o);
    o->cfg = c;
    o->pool = http_pool_new();
    return o->pool ? 0 : -1;
}

static void outbox_item_free(struct outbox_item *it)
{
    if (!it)
        return;
    free(it->payload);
    free(it);
}

/* A heap copy of it whose job points into itself, or NULL. */
static struct outbox_item *outbox_copy(const struct outbox_item *src)
{
    struct outbox_item *it = calloc(1, sizeof *it);
    if (!it)
        return NULL;
    *it = *src;
    it->next = NULL;
    it->ended = 0;
    it->payload = strdup(src->payload ? src->payload : "{}");
    if (!it->payload) {
        free(it);
        return NULL;
    }
    memset(&it->job, 0, sizeof it->job);
    it->job.workflow = src->job.workflow;      /* static: the catalog's path */
    it->job.key = it->key;
    it->job.payload = it->payload;
    it->job.trigger_id = it->trigger_id;
    it->job.decision_id = it->decision_id;
    it->job.retry_after_ms = -1;
    return it;
}

static void outbox_enqueue(struct outbox *o, struct outbox_item *it)
{
    it->ended = 1;
    it->next = NULL;
    if (o->tail)
        o->tail->next = it;
    else
        o->head = it;
    o->tail = it;
    o->queued++;
}

int outbox_start(struct outbox *o, const struct outbox_item *src)
{
    if (outbox_pending(o) >= OUTBOX_MAX)
        return -1;
    struct outbox_item *it = outbox_copy(src);
    if (!it)
        return -1;
    struct act_req ar;
    act_request(o->cfg, &it->job, &ar);
    if (http_pool_add(o->pool, &ar.req, it) < 0) {
        outbox_item_free(it);
        return -1;
    }
    o->inflight++;
    return 0;
}

int outbox_fail(struct outbox *o, const struct outbox_item *src, const char *error)
{
    struct outbox_item *it = outbox_copy(src);
    if (!it)
        return -1;
    it->job.status = ACT_FAILED;
    it->job.transport_err = HTTP_ECONNECT;
    snprintf(it->job.error, sizeof it->job.error, "%s", error);
    outbox_enqueue(o, it);
    return 0;
}

void outbox_pump(struct outbox *o)
{
    struct http_done done[16];
    int n;
    do {
        n = http_pool_run(o->pool, done, 16);
        for (int i = 0; i < n; i++) {
            struct outbox_item *it = done[i].user;
            act_answer(&it->job, &done[i].resp);
            http_resp_free(&done[i].resp);
            o->inflight--;
            outbox_enqueue(o, it);
        }
    } while (n == 16);
}

const struct outbox_item *outbox_next(const struct outbox *o) { return o->head; }

void outbox_pop(struct outbox *o)
{
    struct outbox_item *it = o->head;
    if (!it)
        return;
    o->head = it->next;
    if (!o->head)
        o->tail = NULL;
    o->queued--;
    outbox_item_free(it);
}

int outbox_pending(const struct outbox *o) { return o->inflight + o->queued; }

void outbox_abort(struct outbox *o)
{
    if (o->pool && o->inflight) {
        http_pool_abort(o->pool);
        outbox_pump(o);
    }
}

void outbox_clear(struct outbox *o)
{
    outbox_abort(o);
    while (o->head) {
        log_event(LOG_WARN, "hook.answer_dropped", "i:trigger_id s:detail", o->head->trigger_id,
                  "not recorded by this worker: the leader reconciles it");
        outbox_pop(o);
    }
}

struct http_pool *outbox_pool(struct outbox *o) { return o->pool; }

void outbox_free(struct outbox *o)
{
    if (!o || !o->pool)
        return;
    outbox_abort(o);
    while (o->head)
        outbox_pop(o);
    http_pool_free(o->pool);
    o->pool = NULL;
}
