/* outbox: the leader's webhooks in flight.
 *
 * A trigger is committed 'sending' before its POST starts (deliver.c);
 * outbox_start() then POSTs it without blocking (an http_pool driven by
 * the worker's loop), so that a slow n8n holds neither the decisions nor
 * the control commands.  Each answer is handed back as soon as it arrives
 * (outbox_next) and recorded by deliver_completed(); an answer that could
 * not be recorded yet (the database is away) stays at the head of the
 * queue and is recorded after the reconnect.  A worker that loses the
 * lease drops what it holds (outbox_clear): the new leader reconciles
 * those triggers from the database and the claims of their keys. */
#ifndef OUTBOX_H
#define OUTBOX_H

#include <time.h>

#include "act.h"
#include "cfg.h"
#include "http.h"

#define OUTBOX_MAX 256          /* POSTs in flight or waiting to be recorded, at most */

/* One POST of one trigger. */
struct outbox_item {
    long long trigger_id, decision_id;
    int wf;                     /* enum catalog_workflow */
    int attempts;               /* tries of the trigger so far, this one included */
    int intensity, band, bucket;/* learning context of its decision (-1: unknown) */
    double exposure;
    time_t at;                  /* when it was started (the caller's clock) */
    char key[96];
    char *payload;              /* owned */
    struct act_job job;         /* job.workflow/key/payload point into the item; results when ended */
    int ended;                  /* the answer (or the failure) is in job */
    struct outbox_item *next;   /* ended queue */
};

struct outbox {
    const struct cfg *cfg;      /* borrowed */
    struct http_pool *pool;
    struct outbox_item *head, *tail;   /* ended, oldest first */
    int inflight;               /* started, not ended */
    int queued;                 /* ended, not taken */
};

/* Set o up.  Returns 0 or -1 (out of memory). */
int outbox_init(struct outbox *o, const struct cfg *c) __attribute__((warn_unused_result));

/* Abandon the POSTs in flight and free everything; a zeroed o is a no-op. */
void outbox_free(struct outbox *o);

/* Start POSTing the trigger described by it (copied; payload duplicated).
 * Returns 0, or -1 when the outbox is full or out of memory (nothing
 * started: the caller records the failure). */
int outbox_start(struct outbox *o, const struct outbox_item *it) __attribute__((warn_unused_result));

/* Queue it as ended with a failure that was not a POST (transport error
 * error, HTTP_ECONNECT): it is recorded like an answer, and retried. */
int outbox_fail(struct outbox *o, const struct outbox_item *it, const char *error) __attribute__((warn_unused_result));

/* Move the POSTs on without waiting; ended ones join the queue. */
void outbox_pump(struct outbox *o);

/* The oldest ended item (borrowed), or NULL. */
const struct outbox_item *outbox_next(const struct outbox *o);

/* Forget the oldest ended item (it was recorded). */
void outbox_pop(struct outbox *o);

/* POSTs started and not handed back yet, and ended ones not taken. */
int outbox_pending(const struct outbox *o);

/* Abandon the POSTs in flight: they end with HTTP_EABORTED (to be recorded
 * or dropped by the caller). */
void outbox_abort(struct outbox *o);

/* Drop everything, the queue included (this worker lost the lease). */
void outbox_clear(struct outbox *o);

/* The pool, for the loop's wait (http_pool_wait). */
struct http_pool *outbox_pool(struct outbox *o);

#endif
