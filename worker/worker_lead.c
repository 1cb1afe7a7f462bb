/* worker_lead: leadership -- the lease's steps, taking over what the
 * previous leader left, stepping down when fenced.  See worker.h. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "fault.h"
#include "log.h"
#include "store.h"
#include "timeutil.h"
#include "worker.h"

/* ---- leadership ---------------------------------------------------------------- */

void worker_register(struct worker *w)
{
    const char *role = lease_leader(&w->lease) ? "leader" : "standby";
    if (store_worker_register(w->db, w->lease.id, role, w->lease.epoch) < 0)
        log_event(LOG_WARN, "worker.register_failed", "s:role", role);
}

/* Stop acting: another worker holds the lease. */
void worker_step_down(struct worker *w)
{
    /* what it holds is the new leader's to reconcile (worker_answers drops
     * it at its next step when it is recording one right now) */
    if (!w->in_answers)
        outbox_clear(&w->outbox);
    telegram_stop(&w->tg);
    lease_drop(&w->lease, w->db);
    w->force_upto = w->force_done = 0;
    w->force_failures = 0;
    w->abandon = 1;
    if (worker_db_ok(w))
        worker_register(w);
}

/* After any store call: step down when the database fenced this worker. */
int worker_fenced(struct worker *w)
{
    if (!store_fenced())
        return 0;
    worker_step_down(w);
    return 1;
}

/* The learning state as the last leader saved it (the priors when none
 * or unusable). */
static void worker_learn_load(struct worker *w)
{
    learn_init(&w->learn, w->cfg);
    char *saved = NULL;
    if (store_learning_load(w->db, "live", &saved) < 0) {
        log_event(LOG_WARN, "learn.load_failed", "s:detail", "the learning state could not be read: starting from the priors");
    } else if (saved) {
        json_object *j = json_tokener_parse(saved);
        if (!j || learn_from_json(&w->learn, j) < 0)
            log_event(LOG_WARN, "learn.load_failed", "s:detail", "the saved learning state is not usable: starting from the priors");
        else
            log_event(LOG_INFO, "learn.loaded", "i:observations", w->learn.nobs);
        json_object_put(j);
    }
    free(saved);
}

/* Load what a leader needs and take over what the previous one left.
 * Returns 0, or -1 (a database error: try again). */
/* store_usage_load's and store_llm_usage's hands: a past run into the
 * usage tally, a past LLM call into the budgets. */
static void worker_usage_note(void *u, int wf, double cost, time_t at) { usage_note(u, wf, cost, at); }
static void worker_llm_note(void *cl, time_t at, long tokens) { llm_budget_add(cl, at, tokens); }

static int worker_take_over(struct worker *w, const struct store_lease *seen)
{
    const struct cfg *c = w->cfg;
    FAULT("takeover.start");
    if (store_worker_start(w->db, w->dry_run, &w->running, &w->next_at) < 0)
        return -1;
    const char *claiming[CATALOG_MAX];
    int nclaiming = catalog_live_claiming(c, claiming);
    struct store_recovery rec;
    if (store_takeover_recover(w->db, claiming, nclaiming, c->outbox_max_age_seconds, &rec) < 0)
        return -1;
    FAULT("takeover.recovered");
    if (rec.proven || rec.resent || rec.unknown || rec.outbox || rec.stale || rec.settled)
        log_event(LOG_WARN, "worker.recovered",
                  "i:epoch i:delivered i:resent i:unknown i:outbox i:abandoned i:decisions_settled",
                  w->lease.epoch, (long long)rec.proven, (long long)rec.resent, (long long)rec.unknown,
                  (long long)rec.outbox, (long long)rec.stale, (long long)rec.settled);
    if (rec.running || rec.retrying)
        log_event(LOG_INFO, "worker.reconciling", "i:executions_running i:retries_scheduled s:detail",
                  rec.running, rec.retrying, "executions left running are followed again; retries go on");
    /* the catalog in force is this leader's: into the workflows table first
     * (the policies and the triggers refer to its rows) */
    if (catalog_live_sync(&w->catalog, w->db, 1, 0, NULL, NULL) < 0)
        return -1;
    if (w->cycle.deliver && deliver_load(&w->deliver, w->db) < 0)
        return -1;
    usage_clear(&w->usage);
    long runs = store_usage_load(w->db, worker_usage_note, &w->usage);
    if (runs < 0)
        return -1;
    worker_learn_load(w);
    worker_watch_load(w);
    w->wake_next = SENSE_WAKE_STARTUP;
    if (llm_configured(&w->cycle.llm) && store_llm_usage(w->db, worker_llm_note, &w->cycle.llm) < 0)
        log_event(LOG_WARN, "llm.usage_unknown", "s:detail", "past LLM calls could not be read: budgets start at zero");
    struct store_gap gap;
    long grace = c->leader_takeover_seconds + 5;
    int g = store_gap_check(w->db, w->lease.id, w->lease.epoch, grace, c->decision_min_seconds, &gap);
    if (g < 0)
        return -1;
    if (g == 1) {
        char from[32], to[32], detail[200];
        tu_iso8601(gap.from, from);
        tu_iso8601(gap.to, to);
        snprintf(detail, sizeof detail, "no decision from %s to %s: %lld decision(s) missed at one every %ld s; "
                 "deciding now", from, to, gap.missed, gap.interval_s);
        log_event(LOG_WARN, "decision.gap", "i:gap_id s:from s:to i:missed i:interval_seconds", gap.id, from, to,
                  gap.missed, (long long)gap.interval_s);
        alert_decisions_missed(&w->alert, detail);
    }
    if (seen->holder[0] && strcmp(seen->why, "released") != 0) {
        char detail[320];
        snprintf(detail, sizeof detail, "%s took over from %s (%s; last renewed %.0f s before)", w->lease.id,
                 seen->holder, seen->why, seen->renewed_age_s);
        alert_leader_changed(&w->alert, detail);
    }
    /* the force and reload commands a previous leader accepted are this one's to answer */
    if (store_forces_pending(w->db, &w->force_upto) < 0 || store_reloads_pending(w->db, &w->reload_cmd) < 0)
        return -1;
    w->force_done = 0;
    w->force_failures = 0;
    w->commands_due = 1;
    w->claims_due = 1;
    w->abandon = w->stop;
    worker_register(w);
    return 0;
}

/* One lease step when due.  Returns 0, or -1 on a database error. */
int worker_lease(struct worker *w, int force)
{
    struct store_lease seen;
    memset(&seen, 0, sizeof seen);
    int ev = lease_step(&w->lease, w->db, force, &seen);
    if (ev < 0)
        return -1;
    if (ev == LEASE_LOST) {
        worker_step_down(w);
    } else if (ev == LEASE_TAKEN) {
        if (worker_take_over(w, &seen) < 0) {
            /* the lease is ours; the takeover is tried again at the next step */
            log_event(LOG_ERROR, "leader.takeover_failed", "i:epoch", w->lease.epoch);
            lease_drop(&w->lease, w->db);
            return worker_fenced(w) ? 0 : -1;
        }
    }
    return 0;
}
