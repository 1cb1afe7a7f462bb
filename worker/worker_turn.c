/* worker_turn: the leader's turn of the loop -- deciding (forces
 * included), following executions, the chat's commands, the watch's
 * wake-ups, pruning and the alert counters.  See worker.h. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "fault.h"
#include "log.h"
#include "store.h"
#include "timeutil.h"
#include "worker.h"

#define WORKER_RETRY_SECONDS 30
#define WORKER_PRUNE_SECONDS 3600
#define WORKER_STALE_WORKERS_S 86400     /* forget workers not heard from for a day */
#define WORKER_FORCE_TRIES 3             /* a forced decision that cannot be recorded fails then */

/* ---- deciding ---------------------------------------------------------------------- */

/* Force commands accepted and not answered yet? */
int worker_forced(const struct worker *w) { return w->force_upto > w->force_done; }

/* Run a cycle woken by wake (answering every force command accepted so
 * far) and schedule the next one.  Returns the decision id or 0. */
long long worker_decide(struct worker *w, const struct sense_wake_info *wake)
{
    long long upto = worker_forced(w) ? w->force_upto : 0;
    struct cycle_result res;
    w->cycle.sink = sink_pg(w->db);
    w->cycle.force_upto = upto;
    w->cycle.wake = *wake;
    w->cycle.watch = &w->wl.watch;
    time_t now = tu_now();
    FAULT("cycle.start");
    w->in_cycle = 1;
    int rc = cycle_run(&w->cycle, now, upto, &res);
    w->in_cycle = 0;
    worker_probes_spent(w, now);
    w->cycle.force_upto = 0;
    if (rc < 0) {
        if (worker_fenced(w) || w->stop)
            return 0;
        w->next_at = now + WORKER_RETRY_SECONDS;
        if (upto && ++w->force_failures >= WORKER_FORCE_TRIES) {
            /* answered, so that they are not tried for ever */
            long n = store_commands_fail_forces(w->db, upto, "the decision could not be recorded");
            if (n >= 0) {
                log_event(LOG_WARN, "control.failed", "i:commands i:up_to_command_id", (long long)n, upto);
                w->force_done = upto;
                w->force_failures = 0;
            }
        }
        return 0;
    }
    FAULT("cycle.done");
    /* those accepted meanwhile wait for the next decision */
    if (upto > w->force_done)
        w->force_done = upto;
    w->force_failures = 0;
    w->next_at = res.next_at;
    return res.decision_id;
}

/* Between decisions: results posted back, due retries, running executions
 * and n8n's workflow list.  Returns 0 or -1 (database error). */
static int worker_follow(struct worker *w, time_t now)
{
    if (follow_results(&w->follow, w->db, now) < 0)
        return -1;
    if (w->cycle.deliver && deliver_retry_due(&w->deliver, w->db, now) < 0)
        return -1;
    FAULT("follow.retries");
    if (follow_track(&w->follow, w->db, now) < 0)
        return -1;
    return follow_sync_workflows(&w->follow, w->db, now);
}

/* Write the alert counters (and those of the chat's commands) to
 * worker_state.alerts when they changed.  Returns 0 or -1. */
int worker_save_alerts(struct worker *w)
{
    if (!alert_enabled(&w->alert))
        return 0;
    const struct alert_stats *s = &w->alert.stats;
    char cmds[400], json[sizeof w->alerts_saved];
    telegram_stats_json(&w->tg, cmds, sizeof cmds);
    snprintf(json, sizeof json,
             "{\"enabled\":true,\"sent\":%lld,\"failed\":%lld,\"dropped\":%lld,\"rate_limited\":%lld,\"queued\":%lld,"
             "\"commands\":%s}",
             s->sent, s->failed, s->dropped, s->rate_limited, (long long)alert_queued(&w->alert), cmds);
    if (strcmp(json, w->alerts_saved) == 0)
        return 0;
    if (store_worker_alerts(w->db, json) < 0)
        return -1;
    snprintf(w->alerts_saved, sizeof w->alerts_saved, "%s", json);
    return 0;
}

/* The chat's commands: the leader's turn of telegram.c.  A statement of
 * its own that failed for another reason than the connection or the fence
 * (telegram.c tries again in a second) does not hold up the rest of the
 * turn: decisions and the API's commands go on.  Returns 0, 1 when the
 * worker stepped down (fenced), or -1 when the connection is broken. */
static int worker_telegram(struct worker *w)
{
    if (!telegram_enabled(&w->tg))
        return 0;
    struct telegram_self self = {
        .running = w->running, .next_at = w->next_at, .worker = w->lease.id, .leader_since = w->lease.role_since,
        .dry_run = w->dry_run, .llm_configured = llm_configured(&w->cycle.llm),
    };
    int n = telegram_turn(&w->tg, w->db, &self, tu_now());
    if (n > 0)
        w->commands_due = 1;            /* what the chat asked: at once (the NOTIFY follows) */
    if (n >= 0)
        return 0;
    if (!worker_db_ok(w))
        return -1;
    return worker_fenced(w);
}

/* The leader's turn of the loop.  Returns 0, or -1 on a database error. */
int worker_lead(struct worker *w)
{
    const struct cfg *c = w->cfg;
    if (!lease_valid(&w->lease))
        return 0;                     /* not sure of the lease: act on nothing */
    if (outbox_pending(&w->outbox) && worker_answers(w) < 0)
        return -1;
    int tg = worker_telegram(w);
    if (tg != 0)
        return tg < 0 ? -1 : 0;
    if (w->commands_due && worker_commands(w) < 0)
        return -1;
    if (w->claims_due && worker_claims(w) < 0)
        return -1;
    if (!lease_leader(&w->lease))
        return 0;
    if ((w->reload_due || w->reload_cmd) && worker_reload(w) < 0)
        return -1;
    if (worker_follow(w, tu_now()) < 0)
        return -1;
    time_t now = tu_now();
    if (worker_watch(w, now) < 0)
        return -1;
    struct sense_wake_info wake = { .kind = w->wake_next, .market = -1 };
    int due = worker_forced(w) || (w->running && now >= w->next_at);
    /* the watch wakes a decision early when a market's activity crosses
     * its threshold; a decision due anyway is told of the event too */
    struct watch_event ev;
    for (int m = 0; w->running && !w->stop && wake.kind != SENSE_WAKE_EVENT && m < LEARN_MARKET_COUNT; m++) {
        if (!watch_due(&w->wl.watch, m, now, &ev) || (due && ev.threshold < 0))
            continue;                 /* a first look is no news to a decision due anyway */
        due = 1;
        wake = (struct sense_wake_info){ .kind = SENSE_WAKE_EVENT, .market = m, .value = ev.score,
                                         .threshold = ev.threshold };
        snprintf(wake.signal, sizeof wake.signal, "activity:%.50s", ev.instrument);
        log_event(LOG_INFO, "watch.event", "s:market s:instrument d:activity d:threshold i:windows",
                  learn_market_name(m), ev.instrument, ev.score, ev.threshold, (long long)ev.windows);
    }
    if (!w->stop && lease_leader(&w->lease) && due) {
        w->abandon = 0;
        if (worker_decide(w, &wake) && wake.kind != SENSE_WAKE_EVENT)
            w->wake_next = SENSE_WAKE_SCHEDULED;
        w->abandon = w->stop;
        w->beat_ms = tu_mono_ms();
        return 0;
    }
    if (!lease_leader(&w->lease))
        return 0;
    if (now - w->last_prune >= WORKER_PRUNE_SECONDS) {
        long pruned = store_prune_probes(w->db, c->probe_retention_hours);
        if (pruned > 0)
            log_event(LOG_INFO, "probes.pruned", "i:rows i:older_than_hours", (long long)pruned,
                      (long long)c->probe_retention_hours);
        if (store_workers_prune(w->db, WORKER_STALE_WORKERS_S) < 0)
            return -1;
        w->last_prune = now;
    }
    if (now - w->last_history >= c->retention_interval_seconds) {
        /* logs what it pruned, or why it failed; a failure that is not the
         * connection's waits for the next pass */
        const struct store_retention rt = {
            .decision_days = c->decision_retention_days, .result_days = c->result_retention_days,
            .llm_call_days = c->llm_call_retention_days, .command_days = c->command_retention_days,
            .batch_rows = c->retention_batch_rows, .budget_ms = c->retention_budget_ms,
        };
        if (store_prune_history(w->db, &rt, NULL) < 0 && PQstatus(w->db) != CONNECTION_OK)
            return -1;
        w->last_history = now;
    }
    return worker_save_alerts(w);
}
