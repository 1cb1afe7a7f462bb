/* deliver: how a decision's triggers reach n8n, and what each workflow's
 * recent deliveries say about it.
 *
 * For every trigger of a decision, in order:
 *  1. circuit breaker (per workflow): after WORKFLOW_BREAKER_FAILURES
 *     failures in a row the circuit opens for
 *     WORKFLOW_BREAKER_COOLDOWN_SECONDS; triggers meanwhile are recorded as
 *     'skipped' (last_error_kind 'circuit_open').  When the cooldown has
 *     passed exactly one trigger goes through (half open: the probe, its
 *     retries included); every other trigger of the workflow is refused
 *     like an open circuit's until the probe's outcome is known -- its
 *     success closes the circuit, its failure opens it again, an end that
 *     is neither (superseded, not sent) lets the next trigger probe -- or
 *     until TRACK_TIMEOUT_SECONDS have passed without one.  The probe is
 *     kept in memory: after a restart a half-open circuit admits a new one.
 *     A failure is a delivery that
 *     failed for good (after its retries; a 404 is not one, see 3) or an
 *     execution that ended failed, crashed, canceled (not by our own
 *     'replace') or timed out; a success is an execution that succeeded,
 *     or, when its end cannot be followed (no N8N_API_KEY), an accepted
 *     delivery.
 *  2. concurrency policy (the catalog entry's "concurrency"; the
 *     WORKFLOW_CONCURRENCY setting, e.g. "deep-market-analysis=forbid",
 *     overrides it per name, and its "default=..." overrides every workflow
 *     it does not name): 'forbid' skips the
 *     trigger (last_error_kind 'concurrency') while a previous trigger of
 *     the workflow is still running (no outcome, started less than its
 *     timeout -- the entry's timeout_seconds, else TRACK_TIMEOUT_SECONDS --
 *     ago, and sent, being sent, with a retry
 *     scheduled, or left 'unknown' by a stopped worker); a due retry is
 *     checked the same way and skipped when another one runs.  'replace'
 *     sends it and, once n8n accepted it, marks the running ones
 *     'superseded' and stops their n8n executions through n8n's internal
 *     REST API when N8N_OWNER_EMAIL / N8N_OWNER_PASSWORD are set
 *     (track_stop_execution; triggers.stop_outcome 'stopped', or 'ended'
 *     when it had ended); without them, or when the stop fails, the older
 *     execution goes on running in n8n: stop_outcome 'not_stopped', a
 *     warning in the log (workflow.superseded) and in /status
 *     (n8n.replace).  'allow' sends it.
 *  3. delivery: the POST (act_fire_many, all of a decision's triggers in
 *     parallel).  A 404 "not registered" makes the workflow unavailable
 *     (workflow_state, /status, /workflows/available) until a later
 *     trigger of it is accepted.  Transport errors, timeouts, 5xx and 429
 *     are retried up to WEBHOOK_MAX_ATTEMPTS tries in all; other 4xx are
 *     not, nor an answer too large to read (n8n answered: a 2xx counts as
 *     accepted, its execution id unknown; last_error_kind 'too_big').
 *
 * The decision menu leaves out (deliver_menu_blocked) a workflow whose
 * circuit is open or half open with its probe running, one that n8n's
 * workflow list shows inactive, and one that answered 404 -- until n8n's
 * list shows it active again or WORKFLOW_BREAKER_COOLDOWN_SECONDS have
 * passed since (then one trigger may find out).
 *
 * Retries do not hold the loop: a retryable failure records the trigger as
 * 'retrying' with next_attempt_at = now + backoff (WEBHOOK_RETRY_BASE_MS
 * doubling per attempt, capped at WEBHOOK_RETRY_MAX_MS, "equal jitter":
 * half fixed, half random; at least a 429's retry-after, and a retry-after
 * longer than WEBHOOK_RETRY_MAX_MS gives up at once), and the worker's main
 * loop sends it when due (deliver_retry_due).  The decision stays 'acting'
 * until none of its triggers is pending, sending or retrying; it is then
 * settled from its triggers (store_decision_settle).  A trigger whose
 * result arrived before its retry was due is not sent again.
 *
 * The commit-before-send guarantee holds for every attempt: a trigger is
 * committed 'sending' (attempts + 1) before its POST.  Circuits and
 * availability live in workflow_state and are reloaded at start.
 *
 * The POSTs go through a transport (struct deliver_transport): the real
 * webhooks (act_fire_many) live; the replay passes the cycle's act seam,
 * whose simulated workflows answer without a network, so that the replay
 * runs this same code.  A replay's deliver is local (deliver_set_local):
 * its circuits, availability and running triggers live in memory only --
 * workflow_state and other runs' triggers belong to the live worker and
 * are neither read nor written -- and with the memory sink (--no-db,
 * sink.h) nothing leaves the process. */
#ifndef DELIVER_H
#define DELIVER_H

#include "breaker.h"
#include <libpq-fe.h>
#include <stddef.h>
#include <time.h>

#include "act.h"
#include "alert.h"
#include "track.h"
#include "track_stop.h"
#include "catalog.h"
#include "cfg.h"
#include "decide.h"
#include "learn.h"
#include "deliver_policy.h"
#include "sink.h"

struct store_decision;

/* What deliver_decision() says of each trigger (sent[i]). */
enum deliver_sent {
    DELIVER_SENT_FOLLOWED = 2,  /* accepted; its end will be known (tracked or reported):
                                 * the run's success is learned then */
    DELIVER_SENT_OK = 1,        /* accepted; its end cannot be followed: this is its success */
    DELIVER_SENT_FAILED = 0,    /* failed for good */
    DELIVER_SENT_RETRYING = -1, /* a retry is scheduled, or the POST is under way (start) */
    DELIVER_SENT_SKIPPED = -2,  /* not sent: circuit or concurrency policy */
    DELIVER_SENT_UNAVAILABLE = -3   /* 404 not registered: the workflow, not the run, failed */
};

/* What concurrency 'replace' did to the executions it replaced. */
struct deliver_stops {
    long long stopped, ended, not_stopped;
    time_t last_at;             /* 0: never */
    char last_error[200];       /* why the last one was not stopped ("" when it was) */
};

struct outbox_item;

/* How a delivery's POSTs go out.  Either fire(user, jobs, n) sends the n
 * jobs (in parallel) and fills each job's results before it returns, as
 * act_fire_many() does (the replay), or start(user, it) starts one POST
 * without waiting (the live worker: worker/outbox.c) and its answer is
 * recorded later by deliver_completed().  start returns 0, or -1 when the
 * POST could not be started (recorded then as a transport failure). */
struct deliver_transport {
    void (*fire)(void *user, struct act_job *jobs, int n);
    int (*start)(void *user, const struct outbox_item *it);
    void *user;
};

/* What n8n's workflow list says of a workflow (deliver.n8n_list). */
enum deliver_n8n { DELIVER_N8N_UNKNOWN = 0, DELIVER_N8N_ACTIVE, DELIVER_N8N_INACTIVE };

/* Per workflow, indexed by registry slot (catalog.h); every zeroed entry
 * means "nothing known": a slot the registry adds later needs no setup. */
struct deliver {
    const struct cfg *cfg;      /* borrowed */
    int policy[CATALOG_SLOTS];  /* enum deliver_policy (deliver_catalog) */
    struct breaker circuit[CATALOG_SLOTS];   /* per workflow (shared/breaker.h) */
    int unavailable[CATALOG_SLOTS];  /* 1 after a 404, until a trigger is accepted */
    struct alert *alert;        /* borrowed, may be NULL */
    struct learn *learn;        /* borrowed, may be NULL */
    int tracking;               /* executions can be followed (track_enabled) */
    unsigned long long rng;     /* jitter */
    time_t next_retry_at;       /* earliest next_attempt_at known, 0: none */
    int local;                  /* deliver_set_local(): state in memory only (the replay) */
    long long running_id[CATALOG_SLOTS];  /* local: the newest trigger sent whose end is not known, 0: none */
    time_t running_at[CATALOG_SLOTS];     /* local: when it was sent */
    int results_expected;       /* ORCH_RESULTS_TOKEN set: the end of a workflow that expects_result will be known */
    time_t unavailable_at[CATALOG_SLOTS]; /* when it last answered 404 (0: never, or available) */
    int n8n_list[CATALOG_SLOTS];          /* enum deliver_n8n */
    time_t n8n_seen_at[CATALOG_SLOTS];    /* when that list was read, 0: never */
    struct track_stopper stopper;    /* concurrency 'replace': n8n's owner session */
    struct deliver_stops stops;
    const struct deliver_transport *transport;   /* retries go out through it; NULL: act_fire_many */
};

/* Take the policies from the catalog in force (and WORKFLOW_CONCURRENCY):
 * at start (strict) and after every reload.  Returns 0, or -1 with err. */
int deliver_catalog(struct deliver *d, int strict, char *err, size_t errlen) __attribute__((warn_unused_result));

/* Write every present workflow's policy into workflow_state and what
 * 'replace' can do into worker_state.n8n (live).  Returns 0 or -1. */
int deliver_publish_policies(struct deliver *d, PGconn *db) __attribute__((warn_unused_result));

/* How long a trigger of wf may run before it times out: its catalog
 * entry's timeout_seconds, else TRACK_TIMEOUT_SECONDS. */
long deliver_timeout(const struct deliver *d, int wf);

/* Should workflow wf be left off the decision menu at now?  Returns 1 with
 * the reason in why (cap bytes: "<path>: circuit open until ...", "...:
 * inactive in n8n", "...: not registered in n8n (404) ..."), else 0. */
int deliver_menu_blocked(const struct deliver *d, int wf, time_t now, char *why, size_t cap);

/* What n8n's workflow list (read at seen) says of wf: active 1, 0 or -1
 * (not listed / not known). */
void deliver_note_n8n(struct deliver *d, int wf, int active, time_t seen);

/* Will the end of an accepted trigger of wf (execution id from its
 * answer, NULL when none) be known -- tracked through the API, or reported
 * by a posted result (ORCH_RESULTS_TOKEN set and the entry
 * expects_result)?  A local d (the replay) counts success at delivery: 0. */
int deliver_end_followed(const struct deliver *d, int wf, const char *execution_id);

/* What concurrency 'replace' can do and did, for worker_state.n8n.replace
 * and /status: {"workflows":[...],"can_stop","detail","stopped","ended",
 * "not_stopped","last_error","last_at"}.  Caller frees. */
json_object *deliver_replace_json(const struct deliver *d);

/* Free what d holds (the n8n session); a no-op on a zeroed d. */
void deliver_free(struct deliver *d);

/* Set d up from c (retry bounds) and the catalog in force (policies,
 * WORKFLOW_CONCURRENCY); alert and learn may be NULL.  Returns 0, or -1
 * with a message naming the variable in err. */
int deliver_init(struct deliver *d, const struct cfg *c, struct alert *alert, struct learn *learn,
                 char *err, size_t errlen) __attribute__((warn_unused_result));

/* Make d local (the replay): circuits, availability and the running
 * triggers the concurrency policy looks at are kept in memory only, on
 * the caller's (simulated) clock; workflow_state is not touched, no other
 * trigger is superseded, and the jitter comes from seed, so that a replay
 * repeats exactly.  The decision's own rows are still written when a
 * database is given. */
void deliver_set_local(struct deliver *d, unsigned long long seed);

/* Load circuits and availability from workflow_state, write the policies
 * there (deliver_publish_policies), and find the earliest retry due.
 * Returns 0 or -1. */
int deliver_load(struct deliver *d, PGconn *db) __attribute__((warn_unused_result));

/* Deliver the committed 'pending' triggers of decision sd: breaker and
 * policy first (skipped ones recorded), then every other one committed
 * 'sending' and POSTed in parallel through tp (NULL: act_fire_many), each
 * outcome recorded (sent, retrying, failed, unavailable), and the decision
 * settled unless retries are pending, all through the sink s (sink.h).
 * sent[i] (for sd->t[i]) becomes an enum deliver_sent.  status (16 bytes)
 * gets the decision's status as the sink settled it ("acting" while
 * retries are pending).  A sink without a database (memory) only with a
 * local d.  Returns 0, or -1 when the triggers could not be marked
 * (nothing was sent). */
int deliver_decision(struct deliver *d, const struct sink *s, const struct store_decision *sd, time_t now,
                     const struct deliver_transport *tp, int *sent, char status[16])
    __attribute__((warn_unused_result));

/* Send the retries that are due at now (at most a few dozen, in parallel),
 * record them and settle their decisions.  Returns how many were sent, or
 * -1 on a database error. */
int deliver_retry_due(struct deliver *d, PGconn *db, time_t now);

/* When the next retry is due (0: none). */
time_t deliver_next_due(const struct deliver *d);

/* A retry is due at at (a trigger made 'retrying' elsewhere: an answer,
 * a lookup in n8n): the next retry pass comes no later. */
void deliver_note_retry(struct deliver *d, time_t at);

/* The answer to one POST started through a transport's start (it->job
 * holds it) arrived at now: record it (sent, retrying, failed,
 * unavailable), count it in the breaker, learn from it when its end
 * cannot be followed, and settle its decision.  Returns 0, or -1 when it
 * could not be recorded (a database error, or this worker was fenced):
 * nothing was counted, the caller keeps it and tries again. */
int deliver_completed(struct deliver *d, PGconn *db, const struct outbox_item *it, time_t now)
    __attribute__((warn_unused_result));

/* Retries (deliver_retry_due) and their answers go out through tp (live:
 * the worker's outbox); NULL: act_fire_many. */
void deliver_set_transport(struct deliver *d, const struct deliver_transport *tp);

/* The execution of trigger trigger_id of workflow wf ended (ok 1
 * succeeded, 0 failed, crashed, canceled or timed out, -1 neither:
 * superseded): count it in the breaker (and alert when it opens; -1 only
 * ends a half-open circuit's probe); a local d no longer counts it as
 * running.  Returns 0 or -1 (not recorded). */
int deliver_note_outcome(struct deliver *d, PGconn *db, int wf, long long trigger_id, int ok, time_t now);

#endif
