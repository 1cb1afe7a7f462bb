/* deliver: a decision's triggers through their gates (breaker, then
 * concurrency policy), committed 'sending' and POSTed, the decision
 * settled; see deliver.h.  The pure parts live in deliver_policy.c, the
 * per-workflow state in deliver_state.c, the recording of answers in
 * deliver_answer.c and the retries in deliver_retry.c. */
#include "config.h"
#include "deliver.h"
#include "deliver_answer.h"
#include "deliver_state.h"
#include "fault.h"
#include "log.h"
#include "outbox.h"
#include "sink.h"
#include "store.h"
#include "status.h"
#include "timeutil.h"

#include <stdio.h>
#include <string.h>

/* The status the settlement rule (decision_status_settle, status.h) gives
 * a decision whose triggers ended as sent[] says: what the sink's
 * settlement should give (the replay's batched writer goes on with it
 * without waiting for the database, and the memory sink checks it); bad[i]
 * marks a trigger that counts as failed (a circuit-open skip among the
 * skipped).  Writes "acting" while a retry is pending. */
static void deliver_settle_local(const struct store_decision *sd, const int *sent, const int *bad, char status[16])
{
    struct trigger_state t[STORE_MAX_TRIGGERS];
    int n = sd->ntriggers < STORE_MAX_TRIGGERS ? sd->ntriggers : STORE_MAX_TRIGGERS;
    for (int i = 0; i < n; i++) {
        int s = sent[i] >= DELIVER_SENT_OK ? TRIGGER_SENT
              : sent[i] == DELIVER_SENT_RETRYING ? TRIGGER_RETRYING
              : sent[i] == DELIVER_SENT_FAILED ? TRIGGER_FAILED
              : sent[i] == DELIVER_SENT_UNAVAILABLE ? TRIGGER_UNAVAILABLE : TRIGGER_SKIPPED;
        t[i] = (struct trigger_state){ .status = s, .outcome = -1, .circuit_open = s == TRIGGER_SKIPPED && bad[i] };
    }
    snprintf(status, 16, "%s", decision_status_name(decision_status_settle(t, n)));
}

/* A local d: the newest trigger of wf other than except still running
 * at now (sent, end not known, within TRACK_TIMEOUT_SECONDS), or 0. */
static long long deliver_running_local(const struct deliver *d, int wf, long long except, time_t now)
{
    long long id = d->running_id[wf];
    if (!id || id == except || now - d->running_at[wf] >= deliver_timeout(d, wf))
        return 0;
    return id;
}

/* deliver_decision's gate for trigger t: the workflow's breaker, then its
 * concurrency policy (forbid: not while one of its runs is running).
 * Returns 0 to send it, 1 when it was skipped (recorded; *bad set when it
 * counts as failed, the circuit being open), or -1 on a database error. */
static int deliver_gate(struct deliver *d, const struct sink *s, const struct store_trigger *t, time_t now, int *bad)
{
    PGconn *db = sink_db(s);
    const char *path = catalog_name(t->wf);
    struct breaker *c = &d->circuit[t->wf];
    char err[256];
    int was = c->state;
    if (!breaker_allow(c, now, t->id, d->cfg->track_timeout_seconds)) {
        char until[32];
        tu_iso8601(c->open_until, until);
        if (c->state == BREAKER_HALF_OPEN)
            snprintf(err, sizeof err, "skipped: circuit half open, probe trigger #%lld running "
                     "(one trigger until its outcome is known)", c->probe_id);
        else
            snprintf(err, sizeof err, "skipped: circuit open after %ld failures in a row, until %s "
                     "(WORKFLOW_BREAKER_COOLDOWN_SECONDS)", c->failures, until);
        log_event(LOG_WARN, "hook.skipped", "s:workflow i:trigger_id s:kind", path, t->id, "circuit_open");
        if (sink_trigger_skip(s, t->id, deliver_kind_name(DELIVER_KIND_CIRCUIT_OPEN), err) < 0)
            return -1;
        *bad = 1;
        return 1;
    }
    if (c->state != was) {
        log_event(LOG_INFO, "workflow.circuit_half_open", "s:workflow i:trigger_id", path, t->id);
        if (deliver_save_circuit(d, db, t->wf) < 0)
            return -1;
    }
    if (d->policy[t->wf] != DELIVER_FORBID)
        return 0;
    long long rid = 0;
    char eid[72] = "", rst[16] = "sent";
    int r;
    if (deliver_shared(d, db))
        r = store_running_trigger(db, t->wf, deliver_timeout(d, t->wf), t->id, &rid, eid, sizeof eid, rst);
    else
        r = (rid = deliver_running_local(d, t->wf, t->id, now)) != 0;
    if (r < 0)
        return -1;
    if (r != 1)
        return 0;
    /* not sent: if it was the circuit's probe, the next one may probe */
    breaker_release(c, t->id);
    snprintf(err, sizeof err, "skipped: trigger #%lld (%s%s%s) of this workflow is still running "
             "(concurrency forbid)", rid, rst, *eid ? ", execution " : "", eid);
    log_event(LOG_INFO, "hook.skipped", "s:workflow i:trigger_id s:kind i:running_trigger_id",
              path, t->id, "concurrency", rid);
    if (sink_trigger_skip(s, t->id, deliver_kind_name(DELIVER_KIND_CONCURRENCY), err) < 0)
        return -1;
    return 1;
}

/* deliver_decision without a transport's start: the n jobs (triggers
 * go[]) fired and waited for, their outcomes recorded into sent[], the
 * decision settled into status.  Returns 0. */
static int deliver_decision_sync(struct deliver *d, const struct sink *s, const struct store_decision *sd, time_t now,
                                 const struct deliver_transport *tp, struct act_job *jobs, const int *go, int n,
                                 int *sent, const int *bad, char status[16])
{
    if (n > 0 && tp && tp->fire)
        tp->fire(tp->user, jobs, n);
    else if (n > 0)
        act_fire_many(d->cfg, jobs, n);
    for (int k = 0; k < n; k++) {
        const struct store_trigger *t = &sd->t[go[k]];
        int r = deliver_attempted(d, s, t->id, t->wf, &jobs[k], 1, now);
        if (r == -2)
            log_event(LOG_ERROR, "cycle.result_not_recorded", "i:trigger_id", t->id);
        sent[go[k]] = r == -2 ? DELIVER_SENT_OK : r;
    }
    /* what the rule should give: the replay's batched writer goes on with
     * it and checks the database's answer when it arrives */
    char local[16], st[16];
    deliver_settle_local(sd, sent, bad, local);
    int settled = sink_settle(s, sd->id, local, st, sizeof st);
    if (settled == 1)
        snprintf(status, 16, "%s", st);
    PGconn *db = sink_db(s);
    if (deliver_shared(d, db) && store_wf_running(db, d->cfg->track_timeout_seconds) < 0)
        log_event(LOG_WARN, "workflow.running_not_counted", NULL);
    return 0;
}

int deliver_decision(struct deliver *d, const struct sink *s, const struct store_decision *sd, time_t now,
                     const struct deliver_transport *tp, int *sent, char status[16])
{
    struct act_job jobs[DECIDE_MAX_WF];
    int go[DECIDE_MAX_WF], bad[DECIDE_MAX_WF], n = 0;
    memset(jobs, 0, sizeof jobs);
    memset(bad, 0, sizeof bad);
    snprintf(status, 16, "%s", decision_status_name(DECISION_ACTING));
    for (int i = 0; i < sd->ntriggers; i++) {
        const struct store_trigger *t = &sd->t[i];
        sent[i] = DELIVER_SENT_SKIPPED;
        int g = deliver_gate(d, s, t, now, &bad[i]);
        if (g < 0)
            return -1;
        if (g > 0)
            continue;
        go[n] = i;
        jobs[n].workflow = catalog_name(t->wf);
        jobs[n].payload = t->payload;
        jobs[n].key = t->key;
        jobs[n].trigger_id = t->id;
        jobs[n].decision_id = sd->id;
        n++;
    }
    /* commit 'sending' (attempts 1) before any POST */
    FAULT("deliver.before_sending");
    if (sink_mark_sending(s, sd->id) < 0)
        return -1;
    FAULT("deliver.marked_sending");
    if (!(n > 0 && tp && tp->start))
        return deliver_decision_sync(d, s, sd, now, tp, jobs, go, n, sent, bad, status);
    /* live: the POSTs go out without waiting; each answer is recorded
     * as it arrives (deliver_completed) */
    for (int k = 0; k < n; k++) {
        const struct store_trigger *t = &sd->t[go[k]];
        struct outbox_item it;
        deliver_item(d, &it, t->id, sd->id, t->wf, 1, sd->intensity, t->key, t->payload, now);
        if (tp->start(tp->user, &it) < 0)
            log_event(LOG_ERROR, "hook.not_started", "s:workflow i:trigger_id", jobs[k].workflow, t->id);
        sent[go[k]] = DELIVER_SENT_RETRYING;
    }
    return 0;
}
