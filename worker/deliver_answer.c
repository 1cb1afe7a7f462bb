/* deliver_answer: one attempt's answer recorded -- sent, retrying,
 * failed or unavailable -- with what follows from it: availability, the
 * breaker, concurrency 'replace', alerts and learning; see deliver.h and
 * deliver_answer.h. */
#include "config.h"
#include "deliver.h"
#include "deliver_answer.h"
#include "sink.h"
#include "deliver_state.h"
#include "fault.h"
#include "log.h"
#include "outbox.h"
#include "status.h"
#include "store.h"
#include "timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A uniform number in [0,1) from d's generator (xorshift64*). */
static double deliver_rand(struct deliver *d)
{
    unsigned long long x = d->rng ? d->rng : 0x9e3779b97f4a7c15ULL;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    d->rng = x;
    return (double)((x * 0x2545F4914F6CDD1DULL) >> 11) / 9007199254740992.0;
}

/* Wall-clock milliseconds since the epoch. */
static long long deliver_now_ms(void)
{
    return tu_now_ms();
}

#define DELIVER_REPLACE_MAX 8       /* executions one trigger replaces, at most */

/* Concurrency 'replace': trigger tid of wf was accepted; supersede the
 * running older ones and stop their n8n executions when we can.
 * Returns 0 or -1 (database error). */
static int deliver_replace(struct deliver *d, PGconn *db, int wf, long long tid, time_t now)
{
    struct store_open old[DELIVER_REPLACE_MAX];
    int n = store_replace_targets(db, wf, tid, old, DELIVER_REPLACE_MAX);
    if (n <= 0)
        return n;
    const char *path = catalog_name(wf);
    for (int i = 0; i < n; i++) {
        char status[32] = "", err[200] = "", note[300];
        enum track_stop r;
        if (!old[i].execution_id[0]) {
            r = TRACK_STOP_FAILED;
            snprintf(err, sizeof err, "no execution id known: its n8n execution, if any, was not stopped");
        } else {
            r = track_stop_execution(&d->stopper, old[i].execution_id, status, sizeof status, err, sizeof err);
        }
        const char *so = r == TRACK_STOP_STOPPED ? "stopped" : r == TRACK_STOP_ENDED ? "ended" : "not_stopped";
        if (r == TRACK_STOP_STOPPED) {
            d->stops.stopped++;
            snprintf(note, sizeof note, "n8n execution %s stopped (%s)", old[i].execution_id, status[0] ? status : "?");
        } else if (r == TRACK_STOP_ENDED) {
            d->stops.ended++;
            snprintf(note, sizeof note, "n8n execution %s not stopped: %s", old[i].execution_id, err);
        } else {
            d->stops.not_stopped++;
            snprintf(note, sizeof note, "NOT stopped, it may still run in n8n: %s", err);
            snprintf(d->stops.last_error, sizeof d->stops.last_error, "%s", err);
        }
        d->stops.last_at = now;
        if (store_supersede_one(db, old[i].id, tid, so, r == TRACK_STOP_STOPPED && status[0] ? status : NULL, note) < 0)
            return -1;
        log_event(r == TRACK_STOP_FAILED || r == TRACK_STOP_DISABLED ? LOG_WARN : LOG_INFO, "workflow.superseded",
                  "s:workflow i:trigger_id i:superseded_trigger_id s:execution_id s:stop s:detail", path, tid,
                  old[i].id, old[i].execution_id[0] ? old[i].execution_id : NULL, so, note);
    }
    return deliver_publish_replace(d, db);
}

/* deliver_attempted when n8n accepted trigger tid (workflow wf): recorded
 * sent (with its execution id, when the answer gave one); availability,
 * breaker and the replace policy updated.  Returns DELIVER_SENT_FOLLOWED
 * or DELIVER_SENT_OK, or -2 on a database error. */
static int deliver_sent(struct deliver *d, const struct sink *s, long long tid, int wf, const struct act_job *job,
                        time_t now)
{
    PGconn *db = sink_db(s);
    const char *path = catalog_name(wf);
    char *eid = track_parse_webhook_answer(job->response);
    if (sink_trigger_attempt(s, tid, "sent", job, NULL, 0, eid) < 0) {
        free(eid);
        return -2;
    }
    int rc = 0;
    if (d->unavailable[wf]) {
        d->unavailable[wf] = 0;
        log_event(LOG_INFO, "workflow.available", "s:workflow i:trigger_id", path, tid);
        rc = deliver_shared(d, db) ? store_wf_available(db, wf, 1, NULL) : 0;
    }
    if (d->local) {
        /* running until its end is noted (deliver_note_outcome); a
         * replace supersedes the previous one in memory */
        d->running_id[wf] = tid;
        d->running_at[wf] = now;
    }
    /* without a way to follow the execution, an accepted delivery is the success we can see */
    if (rc == 0 && (!d->tracking || !eid))
        rc = deliver_breaker(d, db, wf, 1, now);
    if (rc == 0 && d->policy[wf] == DELIVER_REPLACE && deliver_shared(d, db))
        rc = deliver_replace(d, db, wf, tid, now);
    int followed = deliver_end_followed(d, wf, eid);
    free(eid);
    if (rc < 0)
        log_event(LOG_WARN, "workflow.state_not_saved", "s:workflow i:trigger_id", path, tid);
    return followed ? DELIVER_SENT_FOLLOWED : DELIVER_SENT_OK;
}

/* Record one attempt of trigger tid (workflow wf, attempts tries so far,
 * this one included) at now: sent, retrying, failed or unavailable; update
 * availability, breaker, the replace policy and alerts.  Returns
 * DELIVER_SENT_FOLLOWED or _OK (sent), _FAILED (for good), _RETRYING,
 * _UNAVAILABLE, or -2 on a database error. */
int deliver_attempted(struct deliver *d, const struct sink *s, long long tid, int wf, const struct act_job *job_in,
                             int attempts, time_t now)
{
    PGconn *db = sink_db(s);
    struct act_job job = *job_in;
    const char *path = catalog_name(wf);
    int kind = deliver_kind_of(&job);
    if (kind == DELIVER_KIND_NONE)
        return deliver_sent(d, s, tid, wf, &job, now);
    if (deliver_retryable(kind) && attempts < d->cfg->webhook_max_attempts) {
        long wait = deliver_backoff_ms(attempts, d->cfg->webhook_retry_base_ms, d->cfg->webhook_retry_max_ms,
                                       job.retry_after_ms, deliver_rand(d));
        if (wait >= 0) {
            long long at_ms = (d->local ? (long long)now * 1000LL : deliver_now_ms()) + wait;
            if (sink_trigger_attempt(s, tid, trigger_status_name(TRIGGER_RETRYING), &job, deliver_kind_name(kind), at_ms,
                                     NULL) < 0)
                return -2;
            deliver_note_retry(d, (time_t)((at_ms + 999) / 1000));
            log_event(LOG_INFO, "hook.retry_scheduled", "s:workflow i:trigger_id i:attempt s:kind i:wait_ms i:retry_after_ms",
                      path, tid, (long long)attempts, deliver_kind_name(kind), (long long)wait,
                      (long long)job.retry_after_ms);
            return -1;
        }
        size_t n = strlen(job.error);
        snprintf(job.error + n, sizeof job.error - n, "; retry-after %ld s exceeds WEBHOOK_RETRY_MAX_MS: not retried",
                 job.retry_after_ms / 1000);
    } else if (deliver_retryable(kind) && attempts > 1) {
        size_t n = strlen(job.error);
        snprintf(job.error + n, sizeof job.error - n, " (after %d attempts)", attempts);
    }
    const char *st = trigger_status_name(kind == DELIVER_KIND_NOT_REGISTERED ? TRIGGER_UNAVAILABLE : TRIGGER_FAILED);
    if (kind == DELIVER_KIND_TOO_BIG) {
        size_t n = strlen(job.error);
        snprintf(job.error + n, sizeof job.error - n, " (HTTP %ld): not retried, its execution may have started",
                 job.http_status);
    }
    if (sink_trigger_attempt(s, tid, st, &job, deliver_kind_name(kind), 0, NULL) < 0)
        return -2;
    int rc = 0;   /* the trigger is recorded: what follows may fail without undoing it */
    if (kind == DELIVER_KIND_NOT_REGISTERED) {
        d->unavailable_at[wf] = now;
        /* not the run's failure: the probe (if it was one) is over */
        breaker_release(&d->circuit[wf], tid);
        /* alerted once, when it becomes unavailable */
        if (!d->unavailable[wf]) {
            d->unavailable[wf] = 1;
            log_event(LOG_WARN, "workflow.unavailable", "s:workflow i:trigger_id s:error", path, tid, job.error);
            rc = deliver_shared(d, db) ? store_wf_available(db, wf, 0, job.error) : 0;
            alert_workflow_failed(d->alert, path, st, NULL, job.error);
        }
    } else {
        /* alerted each time: the breaker bounds how often */
        rc = deliver_breaker(d, db, wf, 0, now);
        alert_workflow_failed(d->alert, path, st, NULL, job.error);
    }
    if (rc < 0)
        log_event(LOG_WARN, "workflow.state_not_saved", "s:workflow i:trigger_id", path, tid);
    return kind == DELIVER_KIND_NOT_REGISTERED ? DELIVER_SENT_UNAVAILABLE : DELIVER_SENT_FAILED;
}

/* The learning market of workflow wf, or -1. */
static int deliver_learn_market(int wf)
{
    const struct catalog_wf *w = catalog_workflow(wf);
    if (!w)
        return -1;
    return w->market == MARKET_CRYPTO ? LEARN_CRYPTO : w->market == MARKET_FOREX ? LEARN_FOREX : -1;
}

void deliver_learn_answer(struct deliver *d, int wf, int r, int band, int bucket, int intensity, double exposure,
                          time_t now)
{
    int m = deliver_learn_market(wf);
    /* a run's success: known now only when its end cannot be followed;
     * a 404 is the workflow's failure, not the run's */
    int ok = r == DELIVER_SENT_OK ? 1 : r == DELIVER_SENT_FAILED ? 0 : -1;
    if (ok >= 0 && d->learn && m >= 0 && band >= 0 && intensity >= 0)
        learn_observe(d->learn, m, band, bucket, intensity, ok, -1, exposure, now);
}

/* Describe one POST of trigger tid for a transport's start: its learning
 * context is its market's band, bucket and exposure now (-1: unknown). */
void deliver_item(const struct deliver *d, struct outbox_item *it, long long tid, long long did, int wf,
                         int attempts, int intensity, const char *key, const char *payload, time_t now)
{
    memset(it, 0, sizeof *it);
    it->trigger_id = tid;
    it->decision_id = did;
    it->wf = wf;
    it->attempts = attempts;
    it->intensity = intensity;
    it->band = it->bucket = -1;
    it->at = now;
    int m = deliver_learn_market(wf);
    if (d->learn && m >= 0) {
        it->band = d->learn->m[m].band;
        it->bucket = d->learn->m[m].bucket;
        it->exposure = d->learn->m[m].exposure;
    }
    snprintf(it->key, sizeof it->key, "%s", key);
    it->payload = (char *)payload;        /* copied by the transport */
    it->job.workflow = catalog_name(wf);
    it->job.key = it->key;
    it->job.payload = payload;
    it->job.trigger_id = tid;
    it->job.decision_id = did;
}

void deliver_set_transport(struct deliver *d, const struct deliver_transport *tp) { d->transport = tp; }

int deliver_completed(struct deliver *d, PGconn *db, const struct outbox_item *it, time_t now)
{
    struct sink sk = sink_pg(db);
    int r = deliver_attempted(d, &sk, it->trigger_id, it->wf, &it->job, it->attempts, now);
    if (r == -2)
        return -1;
    FAULT("answer.attempt_recorded");
    deliver_learn_answer(d, it->wf, r, it->band, it->bucket, it->intensity, it->exposure, now);
    char st[16];
    if (store_decision_settle(db, it->decision_id, st, sizeof st) < 0 ||
        (deliver_shared(d, db) && store_wf_running(db, d->cfg->track_timeout_seconds) < 0))
        log_event(LOG_WARN, "cycle.settle_failed", "i:decision_id", it->decision_id);
    return 0;
}
