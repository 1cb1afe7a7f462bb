/* worker: what the files of orch-worker share (not for other modules).
 *
 * main.c            start, the loop, the stop (the daemon's overview is there)
 * worker_io.c       signals, the connection and its notifications, the outbox's
 *                   answers, the idle hook
 * worker_lead.c     leadership: the lease's steps, the takeover, stepping down
 * worker_control.c  control commands, claims posted back, the catalog reload
 * worker_turn.c     the leader's turn: deciding, following, the chat, pruning
 * worker_watch.c    the watch's turn, its saved history and budgets
 *
 * Every function takes the one struct worker of the process (borrowed). */
#ifndef WORKER_H
#define WORKER_H

#include <libpq-fe.h>
#include <time.h>

#include "alert.h"
#include "catalog_live.h"
#include "cfg.h"
#include "cycle.h"
#include "deliver.h"
#include "follow.h"
#include "learn.h"
#include "lease.h"
#include "outbox.h"
#include "sense.h"
#include "telegram.h"
#include "usage.h"
#include "watch_live.h"

struct worker {
    const struct cfg *cfg;
    PGconn *db;
    int sigfd;
    int once;                     /* --once: one decision, then the end */
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

/* ---- worker_io.c ---- */

/* Read the signals that arrived.  Returns 1 when the worker must stop. */
int worker_signals(struct worker *w);
/* Connect and LISTEN.  Returns the connection (caller closes with
 * PQfinish) or NULL (logged). */
PGconn *worker_connect(const struct cfg *c);
/* Is the connection there and usable? */
int worker_db_ok(const struct worker *w);
/* Read the notifications that arrived.  Returns 0, or -1 when the
 * connection is broken. */
int worker_notifies(struct worker *w);
/* deliver's transport (user: the worker): start one POST without waiting.
 * Returns 0 or what outbox_fail returns. */
int worker_start_post(void *user, const struct outbox_item *it);
/* Record the webhook answers that arrived, not re-entered.  Returns 0, or
 * -1 on a database error (the unrecorded ones are kept for later). */
int worker_answers(struct worker *w);
/* shared/http.c's idle hook (user: the worker).  Returns nonzero to
 * abandon the request under way. */
int worker_idle(void *user);

/* ---- worker_lead.c ---- */

/* Record this worker's role (leader or standby) in workers (a failure is logged). */
void worker_register(struct worker *w);
/* Stop acting: another worker holds the lease. */
void worker_step_down(struct worker *w);
/* After any store call: step down when the database fenced this worker.
 * Returns 1 when it did, else 0. */
int worker_fenced(struct worker *w);
/* One lease step when due (force: now), taking over when the lease was
 * taken.  Returns 0, or -1 on a database error. */
int worker_lease(struct worker *w, int force);

/* ---- worker_control.c ---- */

/* Act on the pending control commands, not re-entered.  Returns 0 or -1. */
int worker_commands(struct worker *w);
/* Triggers found delivered by the claim of their key.  Returns 0 or -1. */
int worker_claims(struct worker *w);
/* Reload the catalog (SIGHUP or reload_catalog commands).  Returns 0, or
 * -1 on a database error (done again). */
int worker_reload(struct worker *w);

/* ---- worker_turn.c ---- */

/* Force commands accepted and not answered yet? */
int worker_forced(const struct worker *w);
/* Run a cycle woken by wake and schedule the next one.  Returns the
 * decision id or 0. */
long long worker_decide(struct worker *w, const struct sense_wake_info *wake);
/* Write the alert counters to worker_state.alerts when they changed.
 * Returns 0 or -1. */
int worker_save_alerts(struct worker *w);
/* The leader's turn of the loop.  Returns 0, or -1 on a database error. */
int worker_lead(struct worker *w);

/* ---- worker_watch.c ---- */

/* Load the watch's saved history and budgets (a fresh one when none or unusable). */
void worker_watch_load(struct worker *w);
/* Save the watch's history and budgets.  Returns 0 or -1. */
int worker_watch_save(struct worker *w, time_t now);
/* The decisions' probes count in the sources' budgets. */
void worker_probes_spent(struct worker *w, time_t now);
/* The watch's turn.  Returns 0, or -1 on a database error. */
int worker_watch(struct worker *w, time_t now);

#endif
