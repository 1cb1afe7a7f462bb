/* follow: n8n executions followed to their end, and what they found.
 *
 * Run from the worker's main loop, between decisions:
 *  - follow_results(): every trigger whose outcome or posted result the
 *    worker has not handled yet (store_unsettled): the run's end feeds
 *    learning -- success when its end was being followed (not counted at
 *    delivery), failure for failed, crashed, timed_out or canceled (no
 *    opportunities then), and the opportunities of a result whose status
 *    is success -- saved under learn_scope in the same transaction that
 *    marks the trigger learned; an outcome counts in the workflow's circuit
 *    breaker (succeeded: success; failed, crashed, timed_out, canceled by
 *    someone else than our 'replace': failure, and a Telegram alert;
 *    superseded: neither), and the decision is settled again from its
 *    triggers (an 'interrupted' one too).  Results arrive through
 *    POST /results (record_result() NOTIFYs orch_results, which wakes the
 *    loop).
 *  - follow_track(): every TRACK_POLL_SECONDS, when N8N_API_KEY is set, the
 *    sent triggers with an execution id whose end n8n has not shown yet (at
 *    most FOLLOW_POLL_MAX, least recently looked at first; a result posted
 *    back may have given the outcome already: n8n's status is still
 *    recorded, the outcome kept) are looked up through n8n's public API
 *    (track_fetch_many) and their status, times and outcome recorded.
 *    Before that, triggers left 'unknown' (a worker died while sending to
 *    a workflow that does not claim its key) are looked up among n8n's
 *    executions by their key (track_find.h, at most FOLLOW_FIND_MAX a
 *    pass): found -> 'sent' with that execution, followed from here; none
 *    since it was decided -> sent again while younger than
 *    OUTBOX_MAX_AGE_SECONDS, else left unknown with the reason.
 *    Then triggers running longer than TRACK_TIMEOUT_SECONDS become
 *    'timed_out' when their end could have been known: those with an
 *    execution id when tracking, all of them when ORCH_RESULTS_TOKEN is set
 *    (a workflow should have posted its result); the others stay without
 *    an outcome (and stop counting as running for the concurrency policy).  After a worker
 *    restart the triggers a previous worker left running are simply looked
 *    at again: reconciled, not abandoned.
 *  - follow_sync_workflows(): every N8N_WORKFLOWS_REFRESH_SECONDS (and
 *    after a catalog reload), when N8N_API_KEY is set, n8n's workflow list
 *    (id, name, active, tags, webhook node) is matched to the catalog by
 *    webhook path (or name) into workflow_state, and the whole list with
 *    the time and any error into worker_state.n8n, which
 *    /workflows/available and /status show (the API never calls n8n):
 *    "catalog": {"missing": [...], "inactive": [...]} names the catalog
 *    entries n8n does not list or lists inactive, and "discovered" the
 *    active n8n workflows tagged N8N_DISCOVERY_TAG with a POST webhook
 *    whose path is not in the catalog, each with a ready-to-use catalog
 *    entry ({"path", "n8n_id", "n8n_name", "entry": {...}, "guessed":
 *    [the fields not read from its tags]}; at most FOLLOW_DISCOVERED_MAX).
 * Each pass is bounded (a few dozen rows, requests in parallel with
 * WEBHOOK_TIMEOUT_MS each). */
#ifndef FOLLOW_H
#define FOLLOW_H

#include <libpq-fe.h>
#include <time.h>

#include "alert.h"
#include "cfg.h"
#include "deliver.h"
#include "learn.h"
#include "sink.h"
#include "store.h"

#define FOLLOW_BATCH 32            /* rows handled per query */
#define FOLLOW_POLL_MAX 32         /* executions looked at per pass */
#define FOLLOW_FIND_MAX 4          /* unknown triggers looked up among n8n's executions per pass */
#define FOLLOW_SYNC_RETRY_SECONDS 30   /* after a failed workflow list, try again this soon */
#define FOLLOW_DISCOVERED_MAX 100      /* discovered workflows listed, at most */

struct follow {
    const struct cfg *cfg;     /* borrowed */
    struct deliver *deliver;   /* borrowed */
    struct learn *learn;       /* borrowed, may be NULL */
    struct alert *alert;       /* borrowed, may be NULL */
    int tracking;              /* N8N_API_KEY set (track_enabled) */
    int results_expected;      /* ORCH_RESULTS_TOKEN set */
    const char *learn_scope;   /* where follow_handle saves what it learned ("live"), NULL: not saved */
    time_t next_poll_at;       /* 0: at once */
    time_t next_sync_at;
};

/* Set f up; d is required, l and a may be NULL.  Everything is due at once. */
void follow_init(struct follow *f, const struct cfg *c, struct deliver *d, struct learn *l, struct alert *a);

/* Handle one trigger's outcome and/or result (u as store_unsettled gives
 * it): its opportunities learned (u->need_learn), its end counted in the
 * workflow's breaker with an alert when it failed and its decision settled
 * again (u->need_settle), and the trigger marked handled.  The replay calls
 * this when a simulated workflow's window has passed, as follow_results()
 * does live; everything goes through the sink s (sink.h: the memory one
 * keeps only the decision's settlement).  Returns 0 or -1 (database
 * error). */
int follow_handle(struct follow *f, const struct sink *s, const struct store_unsettled *u, time_t now)
    __attribute__((warn_unused_result));

/* Handle outcomes and results not handled yet.  Returns how many triggers
 * were handled, or -1 on a database error. */
int follow_results(struct follow *f, PGconn *db, time_t now);

/* When due: look at running executions, time out the ones past
 * TRACK_TIMEOUT_SECONDS, then follow_results().  Returns how many outcomes
 * were found, or -1 on a database error. */
int follow_track(struct follow *f, PGconn *db, time_t now);

/* When due: read n8n's workflow list into workflow_state and
 * worker_state.n8n (without tracking: records that the API is not
 * configured, once).  Returns 0, or -1 on a database error (an n8n error
 * is recorded, not returned). */
int follow_sync_workflows(struct follow *f, PGconn *db, time_t now);

/* Read n8n's workflow list again at the next pass (after a catalog reload). */
void follow_resync(struct follow *f);

/* The earliest time a pass is due (0: nothing scheduled). */
time_t follow_next_due(const struct follow *f);

#endif
