/* orch-worker: the decision daemon.
 *
 * Exactly one worker acts per database: the leader (worker/lease.c).
 * Others wait as standbys, take the lease when the leader dies or freezes,
 * and take over what it left (store_takeover_recover: half-sent triggers
 * reconciled by the claims of their keys, the outbox sent, decisions that
 * were due and missed recorded as a gap).
 *
 * The leader's loop never blocks for long: control commands (LISTEN
 * orch_control, the control_commands table is the truth) are acted on at
 * once, also while a decision is being made (the idle hook that
 * shared/http.c calls every 50 ms while a probe or an LLM call waits); a
 * command is done in the same transaction as what it did (a force: the
 * decision it made).  The webhooks go out through the outbox without
 * waiting and each answer is recorded as it arrives.  Between decisions
 * the loop sends the retries that are due, handles the results and
 * claims workflows posted back (LISTEN orch_results, orch_claims),
 * follows running executions (follow.c), beats the heart, prunes old rows
 * and sends queued Telegram alerts.  The leader also answers the commands
 * of its Telegram chat (telegram.c): the long poll lives in a pool of its
 * own that the loop waits on beside the webhooks', so that it never holds
 * anything up; /pause, /resume and /force become control commands.
 *
 * Signals (signalfd): SIGTERM or SIGINT ends the worker within 2 s at any
 * point: a decision under way is abandoned before it records anything,
 * webhooks in flight get up to a second to answer (the others stay
 * 'sending' for the next leader to reconcile), the lease is released so a
 * standby takes over at once.  SIGHUP reopens LOG_FILE (logrotate) and
 * reloads the workflow catalog (CATALOG_FILE) between decisions, as the
 * control command reload_catalog does (worker/catalog_live.c). */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "alert.h"
#include "catalog.h"
#include "catalog_live.h"
#include "cfg.h"
#include "cycle.h"
#include "db.h"
#include "deliver.h"
#include "fault.h"
#include "follow.h"
#include "http.h"
#include "learn.h"
#include "lease.h"
#include "log.h"
#include "outbox.h"
#include "store.h"
#include "telegram.h"
#include "watch_live.h"
#include "usage.h"
#include "timeutil.h"

#define WORKER_RETRY_SECONDS 30
#define WORKER_PRUNE_SECONDS 3600
#define WORKER_STALE_WORKERS_S 86400     /* forget workers not heard from for a day */
#define WORKER_ALERT_BUDGET_MS 1500      /* Telegram sending per loop turn, at most */
#define WORKER_STOP_BUDGET_MS 1800       /* from SIGTERM to exit, at most */
#define WORKER_STOP_ANSWERS_MS 1000      /* of which waiting for webhook answers */
#define WORKER_WAIT_MAX_MS 1000          /* the loop looks around at least this often */
#define WORKER_FORCE_TRIES 3             /* a forced decision that cannot be recorded fails then */

struct worker {
    const struct cfg *cfg;
    PGconn *db;
    int sigfd;
    volatile int stop;            /* SIGTERM or SIGINT */
    volatile int abandon;         /* stop, or the lease was lost: abandon the decision under way */
    struct lease lease;
    struct cycle_ctx cycle;
    struct learn learn;
    struct alert alert;
    struct telegram tg;           /* the chat's commands (the leader's) */
    struct deliver deliver;
    struct follow follow;
    struct outbox outbox;
    struct watch_live wl;         /* the minute-by-minute watch */
    time_t watch_saved;           /* its state was last saved */
    int wake_next;                /* enum sense_wake of the next scheduled decision (startup after a takeover) */
    struct deliver_transport transport;
    struct catalog_live catalog;
    struct usage usage;
    int reload_due;               /* SIGHUP: reload the catalog between decisions */
    long long reload_cmd;         /* the newest reload_catalog command accepted and not done (0: none) */
    int dry_run;
    int running;                  /* worker_state.running (start/stop) */
    time_t next_at;               /* the next decision */
    long long force_upto;         /* the newest force command accepted (0: none) */
    long long force_done;         /* the newest one a decision answered: pending while force_upto is newer */
    int force_failures;
    int commands_due;             /* look at control_commands */
    int in_answers;               /* worker_answers is running (not re-entered by the idle hook) */
    int in_commands;              /* worker_commands is running */
    int in_cycle;                 /* a decision is being made (the idle hook records answers) */
    int claims_due;               /* reconcile triggers whose key was claimed */
    double beat_ms;               /* last heartbeat (monotonic) */
    time_t last_prune;
    time_t last_history;           /* the last retention pass (store_prune_history) */
    char alerts_saved[768];       /* worker_state.alerts as last written */
};

static void worker_usage(FILE *out)
{
    fprintf(out,
            "usage: orch-worker [--once | --check-catalog FILE]\n"
            "  The orchestrator's decision worker.  Configuration comes from the\n"
            "  environment (see env.example); logs are JSON lines on stderr.\n"
            "  --once                wait to be leader, run one decision cycle and exit\n"
            "  --check-catalog FILE  validate a workflow catalog, print the verdict and exit (0 valid, 1 not)\n"
            "  --version             print the version\n");
}

/* ---- signals --------------------------------------------------------------------- */

/* Read the signals that arrived.  Returns 1 when the worker must stop. */
static int worker_signals(struct worker *w)
{
    struct signalfd_siginfo si;
    while (w->sigfd >= 0 && read(w->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
            if (!w->stop)
                log_event(LOG_INFO, "worker.stopping", "i:signal", (long long)si.ssi_signo);
            w->stop = 1;
            w->abandon = 1;
        } else if (si.ssi_signo == SIGHUP) {
            /* logrotate moved LOG_FILE away: write to a new one */
            if (log_reopen() < 0)
                log_event(LOG_ERROR, "log.reopen_failed", "s:error", strerror(errno));
            else
                log_event(LOG_INFO, "log.reopened", NULL);
            log_event(LOG_INFO, "worker.sighup", "s:detail", "reloading the catalog");
            w->reload_due = 1;
        }
    }
    return w->stop;
}

/* ---- the database ---------------------------------------------------------------- */

/* Connect and LISTEN.  Returns the connection or NULL (logged). */
static PGconn *worker_connect(const struct cfg *c)
{
    PGconn *db = db_connect(c->database_url, "orch-worker");
    if (!db)
        return NULL;
    char sql[96];
    /* a frozen worker must not keep the lease row locked in an open transaction */
    snprintf(sql, sizeof sql, "SET idle_in_transaction_session_timeout = '%lds'",
             c->leader_takeover_seconds / 2 > 1 ? c->leader_takeover_seconds / 2 : 1);
    if (db_exec(db, sql) < 0 || db_listen(db, "orch_control") < 0 || db_listen(db, "orch_results") < 0 ||
        db_listen(db, "orch_claims") < 0) {
        PQfinish(db);
        return NULL;
    }
    log_event(LOG_INFO, "db.connected", "i:backend_pid", (long long)PQbackendPID(db));
    return db;
}

static int worker_db_ok(const struct worker *w)
{
    return w->db && PQstatus(w->db) == CONNECTION_OK;
}

/* Read the notifications that arrived: which tables to look at.  Returns
 * 0, or -1 when the connection is broken. */
static int worker_notifies(struct worker *w)
{
    if (!PQconsumeInput(w->db))
        return -1;
    PGnotify *n;
    while ((n = PQnotifies(w->db))) {
        if (strcmp(n->relname, "orch_control") == 0)
            w->commands_due = 1;
        else if (strcmp(n->relname, "orch_claims") == 0)
            w->claims_due = 1;
        PQfreemem(n);
    }
    return 0;
}

/* ---- leadership ---------------------------------------------------------------- */

static void worker_register(struct worker *w)
{
    const char *role = lease_leader(&w->lease) ? "leader" : "standby";
    if (store_worker_register(w->db, w->lease.id, role, w->lease.epoch) < 0)
        log_event(LOG_WARN, "worker.register_failed", "s:role", role);
}

/* Stop acting: another worker holds the lease. */
static void worker_step_down(struct worker *w)
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
static int worker_fenced(struct worker *w)
{
    if (!store_fenced())
        return 0;
    worker_step_down(w);
    return 1;
}

/* The watch's history as the last leader saved it (a fresh one when none
 * or unusable). */
static void worker_watch_load(struct worker *w)
{
    char *state = NULL, *budgets = NULL;
    if (store_watch_load(w->db, &state, &budgets) < 0) {
        log_event(LOG_WARN, "watch.load_failed", "s:detail", "the watch's history could not be read: it starts afresh");
        return;
    }
    time_t now = tu_now();
    watch_live_free(&w->wl);
    char err[200];
    if (watch_live_init(&w->wl, w->cfg, err, sizeof err) < 0)
        log_event(LOG_ERROR, "watch.init_failed", "s:error", err);
    json_object *j = state ? json_tokener_parse(state) : NULL;
    if (j && watch_from_json(&w->wl.watch, j) < 0)
        log_event(LOG_WARN, "watch.load_failed", "s:detail", "the saved watch state is not usable: it starts afresh");
    else if (j)
        log_event(LOG_INFO, "watch.loaded", "i:instruments", (long long)w->wl.watch.nin);
    json_object_put(j);
    j = budgets ? json_tokener_parse(budgets) : NULL;
    watch_live_budgets_restore(&w->wl, j, now);
    json_object_put(j);
    free(state);
    free(budgets);
    w->watch_saved = now;
}

/* Save the watch's history and budgets (every window, and at a clean
 * stop).  Returns 0 or -1. */
static int worker_watch_save(struct worker *w, time_t now)
{
    json_object *st = watch_to_json(&w->wl.watch), *bu = watch_live_budgets_json(&w->wl);
    int rc = st && bu ? store_watch_save(w->db, json_object_to_json_string_ext(st, JSON_C_TO_STRING_PLAIN),
                                         json_object_to_json_string_ext(bu, JSON_C_TO_STRING_PLAIN)) : -1;
    json_object_put(st);
    json_object_put(bu);
    if (rc == 0)
        w->watch_saved = now;
    return rc;
}

/* Load what a leader needs and take over what the previous one left.
 * Returns 0, or -1 (a database error: try again). */
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
    long runs = store_usage_load(w->db, &w->usage);
    if (runs < 0)
        return -1;
    learn_init(&w->learn, c);
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
    worker_watch_load(w);
    w->wake_next = SENSE_WAKE_STARTUP;
    if (llm_configured(&w->cycle.llm) && store_llm_usage(w->db, &w->cycle.llm) < 0)
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
static int worker_lease(struct worker *w, int force)
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

/* ---- the outbox -------------------------------------------------------------------- */

/* deliver's transport: start one POST without waiting.  Nothing leaves
 * the machine unless this worker holds a lease it renewed recently. */
static int worker_start_post(void *user, const struct outbox_item *it)
{
    struct worker *w = user;
    if (!lease_valid(&w->lease)) {
        int ev = worker_db_ok(w) ? lease_step(&w->lease, w->db, 1, NULL) : -1;
        if (ev == LEASE_LOST || !lease_leader(&w->lease)) {
            worker_step_down(w);
            return 0;                 /* the new leader reconciles it */
        }
        if (ev < 0 || !lease_valid(&w->lease))
            return outbox_fail(&w->outbox, it, "not sent: the leader lease could not be confirmed");
    }
    FAULT("post.before_start");
    if (outbox_start(&w->outbox, it) < 0)
        return outbox_fail(&w->outbox, it, "not sent: too many webhooks in flight, or out of memory");
    FAULT("post.started");
    return 0;
}

/* worker_answers' body. */
static int worker_answers_once(struct worker *w)
{
    outbox_pump(&w->outbox);
    const struct outbox_item *it;
    while ((it = outbox_next(&w->outbox))) {
        if (w->stop && it->job.transport_err == HTTP_EABORTED) {
            /* abandoned at exit: left 'sending' for the next leader */
            outbox_pop(&w->outbox);
            continue;
        }
        if (!lease_leader(&w->lease)) {
            outbox_clear(&w->outbox);
            return 0;
        }
        FAULT("answer.before_record");
        if (deliver_completed(&w->deliver, w->db, it, tu_now()) < 0) {
            if (worker_fenced(w))
                continue;               /* not leader any more: dropped at the next step */
            return -1;
        }
        outbox_pop(&w->outbox);
        FAULT("answer.recorded");
    }
    return 0;
}

/* Record the answers that arrived.  Returns 0, or -1 on a database error
 * (the unrecorded ones are kept for later). */
static int worker_answers(struct worker *w)
{
    /* recording an answer may block on n8n (concurrency 'replace' stops an
     * execution): the idle hook must not record the same answer meanwhile */
    if (w->in_answers)
        return 0;
    w->in_answers = 1;
    int rc = worker_answers_once(w);
    w->in_answers = 0;
    return rc;
}

/* ---- commands -------------------------------------------------------------------- */

/* Act on the pending control commands: start and stop at once (done in
 * the same transaction as the running flag), a force accepted and
 * answered by the next decision.  Returns 0 or -1 (database error). */
static int worker_commands_once(struct worker *w)
{
    struct store_cmd cmds[STORE_MAX_COMMANDS];
    int n = store_take_commands(w->db, cmds, STORE_MAX_COMMANDS);
    if (n < 0)
        return -1;
    w->commands_due = n == STORE_MAX_COMMANDS;
    long long accept[STORE_MAX_COMMANDS];
    int naccept = 0;
    for (int i = 0; i < n; i++) {
        if (cmds[i].cmd == STORE_CMD_RELOAD) {
            /* done between decisions (worker_reload), in the transaction that records what it did */
            if (cmds[i].id > w->reload_cmd)
                w->reload_cmd = cmds[i].id;
            accept[naccept++] = cmds[i].id;
            log_event(LOG_INFO, "control.accepted", "i:command_id s:command", cmds[i].id, "reload_catalog");
            continue;
        }
        if (cmds[i].cmd == STORE_CMD_FORCE) {
            /* answered by the next decision, with every force accepted before it */
            if (cmds[i].id > w->force_upto)
                w->force_upto = cmds[i].id;
            accept[naccept++] = cmds[i].id;
            log_event(LOG_INFO, "control.accepted", "i:command_id s:command", cmds[i].id, "force_decision");
            continue;
        }
        int start = cmds[i].cmd == STORE_CMD_START;
        const char *result = start ? (w->running ? "already running" : "started")
                                   : (w->running ? "stopped" : "already stopped");
        FAULT("command.before_apply");
        int r = store_command_running(w->db, cmds[i].id, start, result);
        if (r < 0)
            return -1;
        FAULT("command.applied");
        if (r == 1) {
            w->running = start;
            if (start && w->next_at > tu_now())
                w->next_at = tu_now();    /* started: decide now */
            log_event(LOG_INFO, "control.applied", "i:command_id s:command s:status s:result",
                      cmds[i].id, start ? "start" : "stop", "done", result);
        }
    }
    if (naccept && store_commands_accept(w->db, accept, naccept) < 0)
        return -1;
    FAULT("command.accepted");
    return 0;
}

/* Act on the pending control commands (worker_commands_once), not
 * re-entered by the idle hook.  Returns 0 or -1. */
static int worker_commands(struct worker *w)
{
    if (w->in_commands)
        return 0;
    w->in_commands = 1;
    int rc = worker_commands_once(w);
    w->in_commands = 0;
    return rc;
}

/* Triggers found delivered by the claim of their key.  Returns 0 or -1. */
static int worker_claims(struct worker *w)
{
    struct store_claimed rows[32];
    int n = store_claims_reconcile(w->db, rows, 32);
    if (n < 0)
        return -1;
    w->claims_due = n == 32;
    for (int i = 0; i < n; i++) {
        char st[16];
        log_event(LOG_INFO, "hook.claimed", "i:trigger_id i:decision_id s:detail", rows[i].id, rows[i].decision_id,
                  "its execution claimed the key: delivered");
        if (store_decision_settle(w->db, rows[i].decision_id, st, sizeof st) < 0)
            return -1;
    }
    return 0;
}

/* ---- the idle hook ------------------------------------------------------------------- */

/* Called by shared/http.c every 50 ms while a request waits: signals,
 * control commands, the lease and webhook answers are seen to at once.
 * Returns nonzero to abandon the request (the worker is stopping, or lost
 * the lease). */
static int worker_idle(void *user)
{
    struct worker *w = user;
    if (worker_signals(w))
        return 1;
    if (!worker_db_ok(w) || PQtransactionStatus(w->db) != PQTRANS_IDLE)
        return w->abandon;
    if (worker_notifies(w) < 0)
        return w->abandon;
    if (lease_leader(&w->lease)) {
        if (worker_lease(w, 0) < 0 && !lease_valid(&w->lease))
            w->abandon = 1;
        if (lease_leader(&w->lease)) {
            if (w->commands_due && worker_commands(w) < 0)
                worker_fenced(w);
            /* answers only while a decision waits on its probes or the LLM: a
             * pass that read n8n (follow_track) must not see a trigger change
             * under it before it writes what it read */
            if (w->in_cycle && lease_leader(&w->lease) && outbox_pending(&w->outbox) && worker_answers(w) < 0)
                worker_fenced(w);
        }
    }
    return w->abandon;
}

/* ---- deciding ---------------------------------------------------------------------- */

/* Force commands accepted and not answered yet? */
static int worker_forced(const struct worker *w) { return w->force_upto > w->force_done; }

/* The decisions' probes count in the sources' budgets. */
static void worker_probes_spent(struct worker *w, time_t now)
{
    const struct cfg *c = w->cfg;
    if (*c->dexscreener_base_url && *c->dexscreener_query)
        watch_live_spend(&w->wl, FEED_DEXSCREENER, 2, now);     /* search and token profiles */
    if (*c->pumpfun_base_url)
        watch_live_spend(&w->wl, FEED_PUMPFUN, 1, now);
    if (*c->tradermade_base_url && *c->tradermade_api_key)
        watch_live_spend(&w->wl, FEED_TRADERMADE, 1, now);
    if (*c->birdeye_base_url && *c->birdeye_api_key)
        watch_live_spend(&w->wl, FEED_BIRDEYE, 1, now);
}

/* Run a cycle woken by wake (answering every force command accepted so
 * far) and schedule the next one.  Returns the decision id or 0. */
static long long worker_decide(struct worker *w, const struct sense_wake_info *wake)
{
    long long upto = worker_forced(w) ? w->force_upto : 0;
    struct cycle_result res;
    w->cycle.db = w->db;
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
static int worker_save_alerts(struct worker *w)
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

/* Store one day of the live scorecard (watch_days).  Returns 0 or -1. */
static int worker_watch_day(struct worker *w, const struct watch_day_result *d)
{
    struct store_watch_day sd = { d->market, d->day, d->windows, d->top, d->covered, d->runs, d->wakes, d->cron5_runs,
                                  d->equal_runs_covered, d->latency_median_minutes };
    return store_watch_day(w->db, &sd);
}

/* The watch's turn: sample the sources that are due, publish its figures
 * (worker_state.watch), store the live scorecard of a day that ended, and
 * every window save its history and the scorecard of the day so far.
 * Returns 0, or -1 on a database error. */
static int worker_watch(struct worker *w, time_t now)
{
    time_t next = watch_live_next(&w->wl);
    if (!next || now < next)
        return 0;
    if (watch_live_poll(&w->wl, now) <= 0)
        return 0;
    json_object *st = watch_live_json(&w->wl, now);
    int rc = st ? store_watch_status(w->db, json_object_to_json_string_ext(st, JSON_C_TO_STRING_PLAIN)) : 0;
    json_object_put(st);
    struct watch_day_result d;
    for (int m = 0; rc == 0 && m < LEARN_MARKET_COUNT; m++) {
        if (!watch_day_take(&w->wl.watch, m, &d))
            continue;
        rc = worker_watch_day(w, &d);
        log_event(LOG_INFO, "watch.day", "s:market i:windows i:top i:covered i:runs i:cron5_runs d:equal_runs_covered",
                  learn_market_name(m), (long long)d.windows, (long long)d.top, (long long)d.covered, (long long)d.runs,
                  (long long)d.cron5_runs, d.equal_runs_covered);
    }
    if (rc == 0 && now - w->watch_saved >= w->wl.watch.window_s) {
        for (int m = 0; rc == 0 && m < LEARN_MARKET_COUNT; m++) {
            watch_day_now(&w->wl.watch, m, &d);
            if (d.day && d.windows > 0)
                rc = worker_watch_day(w, &d);
        }
        if (rc == 0)
            rc = worker_watch_save(w, now);
    }
    return rc;
}

/* Reload the catalog (SIGHUP, or the reload_catalog commands up to
 * w->reload_cmd): put a valid file in force, or keep the running catalog
 * and say why (log, alert, worker_state.catalog); as leader, write it and
 * close the commands in one transaction.  Never inside a decision.
 * Returns 0, or -1 on a database error (the commands stay pending and the
 * reload is done again). */
static int worker_reload(struct worker *w)
{
    long long cmd = w->reload_cmd;
    char msg[CATALOG_FILE_ERR_MAX + 64];
    int ok = catalog_live_reload(&w->catalog, tu_now(), cmd ? "command" : "sighup", msg, sizeof msg) == 0;
    w->reload_due = 0;
    if (ok) {
        char err[300];
        if (deliver_catalog(&w->deliver, 0, err, sizeof err) < 0)
            log_event(LOG_WARN, "catalog.policies", "s:error", err);
        follow_resync(&w->follow);
    } else {
        alert_catalog_invalid(&w->alert, msg);
    }
    if (lease_leader(&w->lease) && worker_db_ok(w)) {
        if (catalog_live_sync(&w->catalog, w->db, ok, cmd, ok ? "done" : "failed", msg) < 0)
            return -1;
        if (ok && w->cycle.deliver && deliver_publish_policies(&w->deliver, w->db) < 0)
            return -1;
        if (cmd)
            log_event(LOG_INFO, "control.applied", "i:command_id s:command s:status s:result", cmd, "reload_catalog",
                      ok ? "done" : "failed", msg);
    }
    w->reload_cmd = 0;
    return 0;
}

/* The leader's turn of the loop.  Returns 0, or -1 on a database error. */
static int worker_lead(struct worker *w)
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
        if (store_prune_history(w->db, c, NULL) < 0 && PQstatus(w->db) != CONNECTION_OK)
            return -1;
        w->last_history = now;
    }
    return worker_save_alerts(w);
}

/* Milliseconds until something is due (at most WORKER_WAIT_MAX_MS). */
static long worker_wait_ms(struct worker *w)
{
    long ms = WORKER_WAIT_MAX_MS;
    long l = lease_due_ms(&w->lease);
    if (l < ms)
        ms = l;
    double b = w->beat_ms + (double)w->cfg->heartbeat_seconds * 1000.0 - tu_mono_ms();
    if (b < ms)
        ms = b < 0 ? 0 : (long)b;
    if (lease_leader(&w->lease)) {
        time_t now = tu_now();
        time_t dues[3] = { w->running ? w->next_at : 0, deliver_next_due(&w->deliver), follow_next_due(&w->follow) };
        for (int i = 0; i < 3; i++)
            if (dues[i] && (dues[i] - now) * 1000 < ms)
                ms = dues[i] <= now ? 0 : (long)(dues[i] - now) * 1000;
        time_t wn = watch_live_next(&w->wl);
        if (wn && (wn - now) * 1000 < ms)
            ms = wn <= now ? 0 : (long)(wn - now) * 1000;
        if (worker_forced(w) || w->commands_due || w->claims_due || w->reload_cmd || w->reload_due ||
            outbox_next(&w->outbox))
            ms = 0;
        long t = lease_valid(&w->lease) ? telegram_wait_ms(&w->tg) : ms;
        if (t < ms)
            ms = t;
    }
    if (alert_queued(&w->alert) > 0 && ms > 1000)
        ms = 1000;
    return ms;
}

/* ---- start and stop ------------------------------------------------------------------ */

/* The end: webhooks in flight get up to answers_ms to answer (a signal:
 * WORKER_STOP_ANSWERS_MS), the lease is released, the stop is recorded.
 * Returns rc, or 1 when the stop could not be recorded. */
static int worker_finish(struct worker *w, int rc, long answers_ms)
{
    double t0 = tu_mono_ms();
    http_set_idle(NULL, NULL);        /* from here on nothing is abandoned for the stop */
    telegram_stop(&w->tg);            /* the long poll open, if any: closed */
    if (lease_leader(&w->lease) && worker_db_ok(w)) {
        while (outbox_pending(&w->outbox) && tu_mono_ms() - t0 < (double)answers_ms) {
            int fds[1] = { PQsocket(w->db) };
            http_pool_wait(outbox_pool(&w->outbox), fds, 1, 50, NULL);
            if (worker_answers(w) < 0)
                break;
        }
        (void)worker_watch_save(w, tu_now());
        FAULT("stop.before_release");
        outbox_abort(&w->outbox);
        (void)worker_answers(w);      /* drops the abandoned ones */
        if (store_worker_stop(w->db) < 0)
            rc = 1;
        lease_release(&w->lease, w->db);
    }
    outbox_clear(&w->outbox);
    if (worker_db_ok(w) && store_worker_register(w->db, w->lease.id, "stopped", 0) < 0)
        rc = 1;
    alert_worker_stopped(&w->alert, w->stop ? "stopped by a signal" : "done");
    long left = WORKER_STOP_BUDGET_MS - (long)(tu_mono_ms() - t0);
    if (left < 300)
        left = 300;                   /* the stop alert gets a short chance in any case */
    if (left > 0)
        alert_flush(&w->alert, left);
    if (worker_db_ok(w) && worker_save_alerts(w) < 0)
        rc = 1;
    log_event(LOG_INFO, "worker.stop", "s:reason", w->stop ? "signal" : "done");
    return rc;
}

int main(int argc, char **argv)
{
    int once = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--once") == 0) {
            once = 1;
        } else if (strcmp(argv[i], "--check-catalog") == 0 && i + 1 < argc) {
            return catalog_live_check(argv[i + 1]);
        } else if (strcmp(argv[i], "--version") == 0) {
#ifdef ORCH_FAULT_INJECTION
            printf("orch-worker %s (fault-injection)\n", PACKAGE_VERSION);
#else
            printf("orch-worker %s\n", PACKAGE_VERSION);
#endif
            return 0;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            worker_usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "orch-worker: unknown argument \"%s\"\n", argv[i]);
            worker_usage(stderr);
            return 2;
        }
    }

    static struct worker w;
    struct cfg cfg;
    char err[512];
    if (cfg_load_prog(&cfg, CFG_PROG_WORKER, err, sizeof err) < 0) {
        fprintf(stderr, "orch-worker: configuration error: %s\n", err);
        return 1;
    }
    log_init("worker", log_level_parse(cfg.log_level));
    if (log_set_file(cfg.log_file) < 0) {
        cfg_free(&cfg);
        return 1;
    }
    if (http_global_init() < 0) {
        log_event(LOG_ERROR, "worker.fatal", "s:error", "libcurl initialisation failed");
        cfg_free(&cfg);
        return 1;
    }
    w.cfg = &cfg;
    w.sigfd = -1;

    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    sigprocmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    w.sigfd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC);
    if (w.sigfd < 0) {
        log_event(LOG_ERROR, "worker.fatal", "s:error", strerror(errno));
        http_global_cleanup();
        cfg_free(&cfg);
        return 1;
    }

    int rc = 1;
    if (catalog_live_start(&w.catalog, &cfg, tu_now(), err, sizeof err) < 0) {
        fprintf(stderr, "orch-worker: catalog error (CATALOG_FILE): %s\n", err);
        log_event(LOG_ERROR, "worker.fatal", "s:error", err);
        goto out_catalog;
    }
    if (usage_init(&w.usage) < 0) {
        log_event(LOG_ERROR, "worker.fatal", "s:error", "out of memory");
        goto out_catalog;
    }
    w.cycle.usage = &w.usage;
    w.cycle.cfg = &cfg;
    llm_init(&w.cycle.llm, &cfg);
    if (llm_configured(&w.cycle.llm)) {
        if (prompt_load(cfg.llm_prompt_file, &w.cycle.prompt, err, sizeof err) < 0) {
            fprintf(stderr, "orch-worker: configuration error: LLM_PROMPT_FILE: %s\n", err);
            goto out_prompt;
        }
        w.cycle.have_prompt = 1;
    }
    if (alert_init(&w.alert, &cfg) < 0) {
        fprintf(stderr, "orch-worker: configuration error: TELEGRAM_BOT_TOKEN / TELEGRAM_CHAT_ID (see the alert.invalid_config event)\n");
        goto out_prompt;
    }
    if (!once && telegram_init(&w.tg, &cfg, &w.alert) < 0) {
        log_event(LOG_ERROR, "worker.fatal", "s:error", "out of memory");
        goto out_alert;
    }
    if (deliver_init(&w.deliver, &cfg, &w.alert, &w.learn, err, sizeof err) < 0) {
        fprintf(stderr, "orch-worker: configuration error: %s\n", err);
        goto out_alert;
    }
    if (outbox_init(&w.outbox, &cfg) < 0) {
        log_event(LOG_ERROR, "worker.fatal", "s:error", "out of memory");
        goto out_deliver;
    }
    w.transport = (struct deliver_transport){ NULL, worker_start_post, &w };
    deliver_set_transport(&w.deliver, &w.transport);
    follow_init(&w.follow, &cfg, &w.deliver, &w.learn, &w.alert);
    w.follow.learn_scope = "live";
    w.cycle.alert = &w.alert;
    w.cycle.learn = &w.learn;
    w.cycle.learn_scope = "live";
    w.cycle.transport = &w.transport;
    w.cycle.stop = &w.abandon;
    w.dry_run = cfg.n8n_base_url[0] == '\0';
    if (!w.dry_run)
        w.cycle.deliver = &w.deliver;
    learn_init(&w.learn, &cfg);
    lease_init(&w.lease, cfg.leader_takeover_seconds);
    if (watch_live_init(&w.wl, &cfg, err, sizeof err) < 0) {
        fprintf(stderr, "orch-worker: configuration error: %s\n", err);
        rc = 1;
        goto out_outbox;
    }

    /* startup: the database may still be coming up; give it 30 s */
    for (int attempt = 0; attempt < 30 && !worker_signals(&w); attempt++) {
        if ((w.db = worker_connect(&cfg)))
            break;
        sleep(1);
    }
    if (!w.db) {
        log_event(LOG_ERROR, "worker.fatal", "s:error", w.stop ? "stopped before the database answered"
                                                              : "cannot use the database (see db.* events)");
        goto out_outbox;
    }
    http_set_idle(worker_idle, &w);
    log_event(LOG_INFO, "worker.start", "s:version s:worker b:dry_run b:once i:llm_providers s:prompt_version i:lease_seconds",
              PACKAGE_VERSION, w.lease.id, w.dry_run, once,
              (long long)(llm_configured(&w.cycle.llm) ? w.cycle.llm.nproviders : 0),
              w.cycle.have_prompt ? w.cycle.prompt.version : NULL, (long long)cfg.leader_takeover_seconds);
    if (w.dry_run)
        log_event(LOG_WARN, "worker.dry_run", "s:detail",
                  "N8N_BASE_URL is not set: triggers are recorded as dry runs and nothing is sent");
    {
        char detail[200];
        snprintf(detail, sizeof detail, "version %s, %s%s", PACKAGE_VERSION, w.lease.id,
                 w.dry_run ? ", dry run (no N8N_BASE_URL)" : "");
        alert_worker_started(&w.alert, detail);
    }
    worker_register(&w);

    rc = 0;
    int decided_once = 0;
    while (!w.stop) {
        if (!worker_db_ok(&w)) {
            log_event(LOG_WARN, "db.reconnecting", NULL);
            PQfinish(w.db);
            w.db = worker_connect(&cfg);
            if (!w.db) {
                int fds[1] = { w.sigfd };
                http_pool_wait(outbox_pool(&w.outbox), fds, 1, 1000, NULL);
                worker_signals(&w);
                outbox_pump(&w.outbox);      /* answers wait in memory until they can be recorded */
                continue;
            }
            log_event(LOG_INFO, "db.reconnected", NULL);
            w.commands_due = w.claims_due = 1;
            if (lease_leader(&w.lease))
                (void)worker_lease(&w, 1);  /* keep the lease (same epoch) or step down */
        }
        if (worker_signals(&w))
            break;
        if (worker_notifies(&w) < 0)
            continue;
        if (worker_lease(&w, 0) < 0 && !worker_db_ok(&w))
            continue;
        if (tu_mono_ms() - w.beat_ms >= (double)cfg.heartbeat_seconds * 1000.0) {
            worker_register(&w);
            if (lease_valid(&w.lease) && store_heartbeat(w.db) < 0 && worker_fenced(&w) == 0 && !worker_db_ok(&w))
                continue;
            w.beat_ms = tu_mono_ms();
        }
        if (once && lease_valid(&w.lease)) {
            /* --once: the leader's one decision, then the end */
            struct sense_wake_info wake = { .kind = SENSE_WAKE_STARTUP, .market = -1 };
            decided_once = worker_decide(&w, &wake) != 0;
            break;
        }
        if (w.reload_due && !lease_leader(&w.lease))
            (void)worker_reload(&w);      /* a standby: in memory; written when it leads */
        if (lease_leader(&w.lease) && worker_lead(&w) < 0) {
            if (!worker_fenced(&w) && worker_db_ok(&w))
                log_event(LOG_WARN, "worker.turn_failed", "s:detail", "a statement failed: trying again");
        }
        if (alert_queued(&w.alert) > 0)
            alert_flush(&w.alert, WORKER_ALERT_BUDGET_MS);
        if (w.stop)
            break;
        int fds[2] = { worker_db_ok(&w) ? PQsocket(w.db) : -1, w.sigfd };
        struct http_pool *pools[2] = { outbox_pool(&w.outbox), telegram_pool(&w.tg) };
        http_pool_wait_many(pools, 2, fds[0] >= 0 ? fds : fds + 1, fds[0] >= 0 ? 2 : 1, (int)worker_wait_ms(&w), NULL);
    }
    rc = worker_finish(&w, once && !decided_once ? 1 : 0,
                       once && !w.stop ? cfg.webhook_timeout_ms + 1000 : WORKER_STOP_ANSWERS_MS);

out_outbox:
    http_set_idle(NULL, NULL);
    watch_live_free(&w.wl);
    outbox_free(&w.outbox);
    PQfinish(w.db);
out_deliver:
    deliver_free(&w.deliver);
out_alert:
    telegram_free(&w.tg);
    alert_free(&w.alert);
out_prompt:
    prompt_free(&w.cycle.prompt);
out_catalog:
    usage_free(&w.usage);
    if (w.sigfd >= 0)
        close(w.sigfd);
    http_global_cleanup();
    cfg_free(&cfg);
    return rc;
}
