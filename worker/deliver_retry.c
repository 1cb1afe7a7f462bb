/* deliver_retry: the retries of failed attempts, sent when due
 * (deliver_retry_due): each through its gate (its result arrived, the
 * breaker, concurrency forbid), committed 'sending' again, its answer
 * recorded and its decision settled; see deliver.h. */
#include "config.h"
#include "deliver.h"
#include "deliver_answer.h"
#include "deliver_state.h"
#include "fault.h"
#include "log.h"
#include "outbox.h"
#include "store.h"

#include <stdio.h>
#include <string.h>

#define DELIVER_RETRIES_PER_TURN 16     /* retries sent per loop turn, at most */

/* deliver_retry_due's gate for the due retry t: dropped when its result
 * arrived (the first attempt reached n8n), skipped when the workflow's
 * circuit is open or (forbid) one of its runs is running; each recorded
 * and its decision settled.  Returns 0 to send it, 1 when it was dropped
 * or skipped, or -1 on a database error. */
static int deliver_retry_gate(struct deliver *d, PGconn *db, const struct store_retry *t, time_t now)
{
    const char *path = catalog_name(t->wf);
    char st[16];
    if (t->has_result) {
        log_event(LOG_INFO, "hook.retry_dropped", "s:workflow i:trigger_id s:reason", path, t->id,
                  "its result arrived: the first attempt reached n8n");
        if (store_delivered_by_result(db, t->id) < 0 || store_decision_settle(db, t->decision_id, st, sizeof st) < 0)
            return -1;
        return 1;
    }
    struct breaker *c = &d->circuit[t->wf];
    int was = c->state;
    if (!breaker_allow(c, now, t->id, d->cfg->track_timeout_seconds)) {
        struct act_job j;
        memset(&j, 0, sizeof j);
        j.retry_after_ms = -1;
        snprintf(j.error, sizeof j.error, "retry not sent: circuit open after %ld failures in a row", c->failures);
        log_event(LOG_WARN, "hook.skipped", "s:workflow i:trigger_id s:kind", path, t->id, "circuit_open");
        if (store_trigger_attempt(db, t->id, "failed", &j, deliver_kind_name(DELIVER_KIND_CIRCUIT_OPEN), 0, NULL) < 0 ||
            store_decision_settle(db, t->decision_id, st, sizeof st) < 0)
            return -1;
        return 1;
    }
    if (c->state != was && deliver_save_circuit(d, db, t->wf) < 0)
        return -1;
    if (d->policy[t->wf] != DELIVER_FORBID)
        return 0;
    long long rid = 0;
    char eid[72] = "", rst[16] = "";
    int f = store_running_trigger(db, t->wf, deliver_timeout(d, t->wf), t->id, &rid, eid, sizeof eid, rst);
    if (f < 0)
        return -1;
    if (f != 1)
        return 0;
    char err[200];
    snprintf(err, sizeof err, "retry not sent: trigger #%lld (%s%s%s) of this workflow is running "
             "(concurrency forbid)", rid, rst, *eid ? ", execution " : "", eid);
    log_event(LOG_INFO, "hook.skipped", "s:workflow i:trigger_id s:kind i:running_trigger_id",
              path, t->id, "concurrency", rid);
    breaker_release(c, t->id);
    if (store_retry_skip(db, t->id, deliver_kind_name(DELIVER_KIND_CONCURRENCY), err) < 0 ||
        store_decision_settle(db, t->decision_id, st, sizeof st) < 0)
        return -1;
    return 1;
}

/* deliver_retry_due's outcomes of the n retries fired and waited for
 * (rows[go[k]], jobs[k]): recorded, learned from, their decisions
 * settled.  Returns 0 or -1 (database error). */
static int deliver_retry_record(struct deliver *d, PGconn *db, const struct store_retry *rows, const int *go,
                                const struct act_job *jobs, int n, time_t now)
{
    char st[16];
    for (int k = 0; k < n; k++) {
        const struct store_retry *t = &rows[go[k]];
        struct sink sk = sink_pg(db);
        int r = deliver_attempted(d, &sk, t->id, t->wf, &jobs[k], t->attempts + 1, now);
        if (r == -2)
            return -1;
        int band, bucket;
        learn_ctx_indices(t->ctx.band, t->ctx.session, &band, &bucket);
        deliver_learn_answer(d, t->wf, r, band, bucket, t->ctx.intensity, t->ctx.exposure, now);
        if (store_decision_settle(db, t->decision_id, st, sizeof st) < 0)
            return -1;
    }
    return 0;
}

int deliver_retry_due(struct deliver *d, PGconn *db, time_t now)
{
    if (!d->next_retry_at || now < d->next_retry_at)
        return 0;
    struct store_retry rows[DELIVER_RETRIES_PER_TURN];
    struct act_job jobs[DELIVER_RETRIES_PER_TURN];
    int go[DELIVER_RETRIES_PER_TURN], n = 0, n_async = 0;
    int nrows = store_due_retries(db, now, rows, DELIVER_RETRIES_PER_TURN);
    if (nrows < 0)
        return -1;
    memset(jobs, 0, sizeof jobs);
    for (int i = 0; i < nrows; i++) {
        struct store_retry *t = &rows[i];
        const char *path = catalog_name(t->wf);
        int g = deliver_retry_gate(d, db, t, now);
        if (g < 0)
            goto fail;
        if (g > 0)
            continue;
        FAULT("retry.before_sending");
        int r = store_retry_sending(db, t->id);
        if (r < 0)
            goto fail;
        if (r == 1)
            continue;
        FAULT("retry.marked_sending");
        if (d->transport && d->transport->start) {
            /* live: out without waiting; recorded by deliver_completed */
            struct outbox_item it;
            deliver_item(d, &it, t->id, t->decision_id, t->wf, t->attempts + 1, t->ctx.intensity, t->key, t->payload,
                         now);
            learn_ctx_indices(t->ctx.band, t->ctx.session, &it.band, &it.bucket);
            it.exposure = t->ctx.exposure;
            if (d->transport->start(d->transport->user, &it) < 0)
                log_event(LOG_ERROR, "hook.not_started", "s:workflow i:trigger_id", path, t->id);
            n_async++;
            continue;
        }
        go[n] = i;
        jobs[n].workflow = path;
        jobs[n].payload = t->payload;
        jobs[n].key = t->key;
        jobs[n].trigger_id = t->id;
        jobs[n].decision_id = t->decision_id;
        n++;
    }
    if (n > 0)
        act_fire_many(d->cfg, jobs, n);
    if (deliver_retry_record(d, db, rows, go, jobs, n, now) < 0)
        goto fail;
    store_retries_clear(rows, nrows);
    if (store_next_retry(db, &d->next_retry_at) < 0)
        return -1;
    if (n > 0 && store_wf_running(db, d->cfg->track_timeout_seconds) < 0)
        return -1;
    return n + n_async;
fail:
    store_retries_clear(rows, nrows);
    return -1;
}
