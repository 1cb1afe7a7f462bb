/* worker_io: what the daemon's loop reads and waits on -- the signals
 * (signalfd), the database connection and its notifications, the
 * outbox's answers, and the idle hook that shared/http.c calls while a
 * request waits.  See worker.h. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "db.h"
#include "fault.h"
#include "http.h"
#include "log.h"
#include "timeutil.h"
#include "worker.h"

/* ---- signals --------------------------------------------------------------------- */

/* Read the signals that arrived.  Returns 1 when the worker must stop. */
int worker_signals(struct worker *w)
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
PGconn *worker_connect(const struct cfg *c)
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

int worker_db_ok(const struct worker *w)
{
    return w->db && PQstatus(w->db) == CONNECTION_OK;
}

/* Read the notifications that arrived: which tables to look at.  Returns
 * 0, or -1 when the connection is broken. */
int worker_notifies(struct worker *w)
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

/* ---- the outbox -------------------------------------------------------------------- */

/* deliver's transport: start one POST without waiting.  Nothing leaves
 * the machine unless this worker holds a lease it renewed recently. */
int worker_start_post(void *user, const struct outbox_item *it)
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
int worker_answers(struct worker *w)
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

/* ---- the idle hook ------------------------------------------------------------------- */

/* Called by shared/http.c every 50 ms while a request waits: signals,
 * control commands, the lease and webhook answers are seen to at once.
 * Returns nonzero to abandon the request (the worker is stopping, or lost
 * the lease). */
int worker_idle(void *user)
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
