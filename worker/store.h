/* store: the worker's only SQL writer (and the reads it needs).
 *
 * A leaf: it binds and writes plain records that the worker prepared
 * (worker/record.c builds a decision's), and reads rows back as plain
 * structs.  Every statement is a named constant next to the functions that
 * use it, with $n parameters.  A decision, its triggers, the cycle's probes
 * and the worker state are committed in one transaction before any webhook
 * is sent. */
#ifndef STORE_H
#define STORE_H

#include <libpq-fe.h>
#include <stddef.h>
#include <time.h>

#include "act_job.h"

#define STORE_MAX_TRIGGERS 16      /* a decision's triggers, at most (decide.h's DECIDE_MAX_WF) */
#define STORE_MAX_RECENT 5         /* recent decisions in a history */
#define STORE_MAX_PROBES 16        /* probes of one cycle, at most */
#define STORE_MAX_LLM_CALLS 8      /* LLM calls of one decision, at most (llm.h's LLM_MAX_CALLS) */
#define STORE_MAX_SESSIONS 8       /* open sessions of one decision, at most */

struct store_trigger {
    long long id;
    int wf;                    /* registry slot (catalog.h) */
    char key[96];              /* idempotency key */
    char *payload;             /* JSON text, owned (store_decision_clear frees) */
};

/* A recorded decision and its triggers, as the delivery sends them. */
struct store_decision {
    long long id;
    time_t next_at;
    int intensity;             /* the decision's, enum catalog_intensity */
    int ntriggers;
    struct store_trigger t[STORE_MAX_TRIGGERS];
};

/* ---- a decision's write: plain records, every pointer borrowed ---------------- */

struct store_probe_rec {       /* one probe of the cycle (probes) */
    const char *source;        /* the feed's name */
    int ok;
    long latency_ms;
    long http_status;          /* 0: none */
    const char *error;         /* "" or NULL: none */
};

struct store_llm_call_rec {    /* one call to an LLM (llm_calls) */
    const char *provider, *model;
    long http_status;          /* 0: none */
    const char *outcome;       /* llm_strerror's word */
    long latency_ms, prompt_tokens, completion_tokens;
    const char *error;         /* "" or NULL: none */
};

struct store_trigger_rec {     /* one trigger (triggers) */
    long long id;              /* reserved beforehand (store_decision_ids) */
    const char *workflow;      /* the catalog name (webhook path) */
    const char *key;           /* idempotency key */
    const char *payload;       /* JSON text */
};

/* A decisions row and what its transaction writes besides.  Text is
 * borrowed; NULL text is SQL NULL; a number marked "-1: null" is NULL when
 * negative.  store_decision binds each column by its name
 * (store_decision_cols in store_decision.c). */
struct store_decision_rec {
    long long id;              /* reserved beforehand (store_decision_ids) */
    const char *cycle_id;
    time_t decided_at;
    const char *mode, *intensity, *source, *reason;
    const char *inputs;        /* JSON text */
    const char *menu;          /* JSON text */
    const char *sessions[STORE_MAX_SESSIONS];   /* the open sessions' names */
    int nsessions;
    const char *session;       /* the session label */
    const char *prev_mode;     /* "" or NULL: none */
    long next_seconds;
    time_t next_decision_at;
    int dry_run;
    const char *status;        /* the decision's status name */
    time_t completed_at;       /* 0: null (open) */
    const char *llm_outcome, *llm_detail, *llm_provider, *llm_model, *llm_raw;
    long llm_prompt_tokens, llm_completion_tokens, llm_latency_ms;   /* -1: null */
    const char *prompt_version, *prompt_hash;
    const char *shadow;        /* JSON text, or NULL */
    int agreement;             /* 1, 0, or -1: null */
    long long run_id;          /* 0: live (null) */
    const char *wake;          /* why now */
    const char *wake_detail;   /* JSON text */
    /* the rest of the transaction */
    const char *trigger_status;    /* "pending" or "dry_run" */
    int ntriggers;
    struct store_trigger_rec t[STORE_MAX_TRIGGERS];
    int nprobes;
    struct store_probe_rec probes[STORE_MAX_PROBES];
    int ncalls;
    struct store_llm_call_rec calls[STORE_MAX_LLM_CALLS];
    const char *learn_scope;   /* learning_state.scope, or NULL: not saved */
    const char *learn_state;   /* JSON text saved under learn_scope as of decided_at, or NULL */
    const char *learn_summary; /* JSON for worker_state.learning, or NULL: unchanged */
    const char *llm_state;     /* JSON for worker_state.llm, or NULL: unchanged */
    const char *sources;       /* JSON for worker_state.sources; NULL: worker_state is left alone
                                * (a replay's decision) */
    double load, volatility;   /* worker_state.system_load, market_volatility (with sources) */
    long long force_upto;      /* the force commands this decision answers: every one
                                * accepted and pending with an id up to this, closed in its
                                * transaction (store_commands_claim_decision); 0: none */
};

/* Reserve the ids of a decision of replay run run_id (0: live) and of its
 * ntriggers triggers (at most STORE_MAX_TRIGGERS) into *id and tids[]:
 * one round trip, or the replay's batched writer's blocks.  Ids of a
 * decision that is not written are lost (a gap).  Returns 0 or -1. */
int store_decision_ids(PGconn *c, long long run_id, int ntriggers, long long *id, long long *tids)
    __attribute__((warn_unused_result));

/* Write rec in one transaction: the decision, its triggers (status
 * rec->trigger_status; dry_run ones finished), the force commands it
 * answers, the probes, the LLM calls, the learning state, and worker_state
 * (rec->sources set).  Returns 0 or -1 (nothing written; see
 * store_decision_refused). */
int store_decision(PGconn *c, const struct store_decision_rec *rec) __attribute__((warn_unused_result));

/* Nonzero when the decision insert's n-th value names its own parameter
 * $n alone and every column is in the statement (for the tests); else 0
 * with why (cap bytes). */
int store_decision_cols_ok(char *why, size_t cap);

/* After store_decision failed: nonzero when the database refused the
 * record for its content (not the connection, not the fence, not inside
 * a batch or an open transaction), with why (cap bytes): "SQLSTATE:
 * message".  A record without what was refused may then be written. */
int store_decision_refused(PGconn *c, char *why, size_t cap);

/* Free a decision's payloads (the caller's copies). */
void store_decision_clear(struct store_decision *d);

/* ---- the worker, its history and commands ------------------------------------ */

enum store_command { STORE_CMD_START, STORE_CMD_STOP, STORE_CMD_FORCE, STORE_CMD_RELOAD };

struct store_cmd {
    long long id;
    enum store_command cmd;
};

/* The recent decisions, as the snapshot's history (sense.h) takes them. */
struct store_recent {
    long long id;
    char mode[12];
    char status[16];
};

struct store_history {
    int decisions_24h;
    int acted_24h;
    int succeeded_24h;
    int nrecent;
    struct store_recent recent[STORE_MAX_RECENT];   /* newest first */
    char last_mode[12];         /* "" when none */
};

/* Register this worker in worker_state and read the persisted running flag
 * and next decision time (0 when none).  Returns 0 or -1. */
int store_worker_start(PGconn *c, int dry_run, int *running, time_t *next_at) __attribute__((warn_unused_result));

/* Clear pid and heartbeat on a clean stop.  Returns 0 or -1. */
int store_worker_stop(PGconn *c) __attribute__((warn_unused_result));

int store_heartbeat(PGconn *c) __attribute__((warn_unused_result));

/* Fill h from the live decisions of the last 24 hours (replay rows are
 * not the worker's history).  Returns 0 or -1. */
int store_history(PGconn *c, time_t now, struct store_history *h) __attribute__((warn_unused_result));

/* The same for replay run run_id (0: live), as of simulated time now.
 * Returns 0 or -1. */
int store_history_run(PGconn *c, long long run_id, time_t now, struct store_history *h)
    __attribute__((warn_unused_result));

/* Hand every LLM call of the last 25 hours to add(arg, when, tokens), oldest
 * first (the budgets).  Returns 0 or -1. */
int store_llm_usage(PGconn *c, void (*add)(void *arg, time_t at, long tokens), void *arg)
    __attribute__((warn_unused_result));

/* Before sending: the decision's pending triggers become 'sending' (attempts
 * + 1) and the decision 'acting', committed.  Returns 0 or -1. */
int store_mark_sending(PGconn *c, long long decision_id) __attribute__((warn_unused_result));

/* Record one delivery outcome: status (act_status_name's word) and the
 * answer in job.  Returns 0 or -1. */
int store_trigger_result(PGconn *c, long long trigger_id, const char *status, const struct act_job *job)
    __attribute__((warn_unused_result));

/* Close the decision with status ("succeeded", "partial", "failed").  Returns 0 or -1. */
int store_decision_done(PGconn *c, long long decision_id, const char *status) __attribute__((warn_unused_result));

/* Up to max pending control commands the worker has not accepted yet
 * (accepted_at null), oldest first.  Returns how many, or -1. */
int store_take_commands(PGconn *c, struct store_cmd *cmds, int max);

/* The opportunities a run found (the trigger with idempotency key `key`),
 * reported at `at`.  Returns 0 or -1. */
int store_trigger_outcome(PGconn *c, const char *key, int opportunities, time_t at)
    __attribute__((warn_unused_result));

/* The learning state saved under scope, as JSON text in *state (caller
 * frees; NULL when none was saved).  Returns 0 or -1. */
int store_learning_load(PGconn *c, const char *scope, char **state) __attribute__((warn_unused_result));

/* Save a learning state (JSON text) under scope as of `at`, outside a
 * decision (the replay's last).  Returns 0 or -1. */
int store_learning_save(PGconn *c, const char *scope, const char *state, time_t at) __attribute__((warn_unused_result));

/* Start a replay run: this session commits asynchronously (SET
 * synchronous_commit = off), a replay_runs row is inserted with status
 * 'running' and its id put in *run_id.  params and files are JSON text.
 * Returns 0 or -1. */
int store_replay_begin(PGconn *c, const char *label, long long seed, const char *params, const char *files,
                       time_t from, time_t to, long long *run_id) __attribute__((warn_unused_result));

/* Close a replay run: status 'succeeded' or 'failed', timings and
 * scorecard as JSON text, the SVG picture, an error text or NULL.
 * Returns 0 or -1. */
int store_replay_finish(PGconn *c, long long run_id, const char *status, const char *timings,
                        const char *scorecard, const char *svg, const char *error) __attribute__((warn_unused_result));

/* A batch: several decisions in one transaction (the replay only; each
 * decision is all-or-nothing through a savepoint).  With the batched
 * writer attached to c (store_batch.h, where these live) BEGIN is queued
 * and the commit sends the batch in one round trip; a failure rolls back
 * the whole batch.  Returns 0 or -1. */
int store_batch_begin(PGconn *c) __attribute__((warn_unused_result));
int store_batch_commit(PGconn *c) __attribute__((warn_unused_result));

/* The replay's decisions below decision_id (0: every one written so far)
 * and their triggers will not change any more: with the batched writer
 * they go to the tables, in their final state, at the next commit
 * (store_batch.h).  No-op otherwise. */
void store_batch_final_below(PGconn *c, long long decision_id);

/* Delete probes older than hours.  Returns the number deleted, or -1. */
long store_prune_probes(PGconn *c, long hours);

/* ---- delivery, workflow state (store_deliver.c), results and tracking
 * (store_follow.c, sql/004_n8n.sql) ----
 * The functions below need a database (c non-NULL); each returns -1 on a
 * database error (logged once). */

/* One workflow_state row as the worker reloads it. */
struct store_wf_state {
    int present;               /* the row exists */
    int available;
    char circuit[12];          /* "closed", "open", "half_open" */
    long failures;
    time_t open_until, opened_at;   /* 0: null */
    long opens;
    time_t unavailable_since;  /* 0: null */
    int n8n_active;            /* n8n's workflow list: 1 active, 0 inactive, -1 not listed or not known */
    time_t n8n_seen_at;        /* when n8n's list was last read for it, 0: never */
};

/* The learning context of a trigger's decision, as its row holds it (the
 * worker turns the names into its own indices: learn_ctx_parse). */
struct store_learn_ctx {
    int intensity;             /* the decision's, enum catalog_intensity (-1 unknown) */
    char band[16];             /* its market's activity band then ("quiet", ...; "" unknown) */
    char session[32];          /* the decision's session label ("" unknown) */
    double exposure;           /* its market's fresh exposure then */
};

/* A retry that is due (store_due_retries). */
struct store_retry {
    long long id, decision_id;
    int wf;                    /* registry slot */
    char key[96];
    char *payload;             /* owned: store_retries_clear */
    int attempts;              /* tries so far */
    int has_result;            /* a result arrived meanwhile: do not send again */
    struct store_learn_ctx ctx;   /* what learning knew when the decision was made */
};

/* A trigger whose outcome or posted result the worker has not handled yet. */
struct store_unsettled {
    long long id, decision_id;
    int wf;
    char status[16];
    char outcome[16];          /* "" while unknown */
    int need_settle;           /* outcome known, not yet acted on (breaker, alert, decision) */
    int need_learn;            /* a result arrived, its opportunities not yet learned */
    int opportunities;         /* -1 when none posted */
    char result_status[8];     /* "success", "error" or "" */
    char error[256];           /* the result's error, else the trigger's */
    char execution_id[72];
    time_t created;
    struct store_learn_ctx ctx;   /* as in struct store_retry */
};

/* An execution to look at (store_open_tracked). */
struct store_open {
    long long id;
    char execution_id[72];
    time_t started;            /* when the trigger was first sent */
};

/* Every row of workflow_state into out[registry slot] (out has
 * CATALOG_SLOTS entries, catalog.h; rows of names this process does not
 * know, and slots without a row, stay zeroed).  Returns 0 or -1. */
int store_wf_load(PGconn *c, struct store_wf_state *out) __attribute__((warn_unused_result));

/* workflow_state.concurrency of wf = policy.  Returns 0 or -1. */
int store_wf_policy(PGconn *c, int wf, const char *policy) __attribute__((warn_unused_result));

/* The circuit breaker of wf (open_until / opened_at 0: null).  Returns 0 or -1. */
int store_wf_circuit(PGconn *c, int wf, const char *state, long failures, time_t open_until, time_t opened_at,
                     long opens) __attribute__((warn_unused_result));

/* Availability of wf; reason (why unavailable) is kept while unavailable.
 * Returns 0 or -1. */
int store_wf_available(PGconn *c, int wf, int available, const char *reason) __attribute__((warn_unused_result));

/* Recount workflow_state.running: triggers sent, without outcome, started
 * within their workflow's timeout (else window_s).  Returns 0 or -1. */
int store_wf_running(PGconn *c, long window_s) __attribute__((warn_unused_result));

/* The newest running trigger of wf other than except_id (no outcome,
 * started within window_s, and sent, sending, with a retry scheduled, or
 * left 'unknown' by a stopped worker): *id, its execution id (cap bytes,
 * "" when unknown) and its status.  Returns 1 found, 0 none, -1 error. */
int store_running_trigger(PGconn *c, int wf, long window_s, long long except_id, long long *id,
                          char *execution_id, size_t cap, char status[16]);

/* A pending trigger not sent: status 'skipped' with last_error_kind kind
 * and error.  Returns 0 or -1. */
int store_trigger_skip(PGconn *c, long long trigger_id, const char *kind, const char *error)
    __attribute__((warn_unused_result));

/* One attempt's outcome: status ("sent", "retrying", "failed",
 * "unavailable"), the answer in job, kind (NULL: none), the next attempt's
 * time in ms since the epoch (0: none) and the execution id from the
 * answer (NULL: unknown; an id already known is kept).  Returns 0 or -1. */
int store_trigger_attempt(PGconn *c, long long trigger_id, const char *status, const struct act_job *job,
                          const char *kind, long long next_attempt_ms, const char *execution_id)
    __attribute__((warn_unused_result));

/* Concurrency 'replace': up to max running triggers of wf (sent, no
 * outcome) older than trigger_id, oldest first, into out (id and
 * execution id; started 0).  Returns how many, or -1. */
int store_replace_targets(PGconn *c, int wf, long long trigger_id, struct store_open *out, int max);

/* One of them replaced by trigger by_id: outcome 'superseded', its
 * stop_outcome ("stopped", "ended", "not_stopped"; NULL: none), n8n's
 * status when the stop told it (NULL: unchanged) and a note for its error
 * text (NULL: none).  Returns 0 or -1. */
int store_supersede_one(PGconn *c, long long trigger_id, long long by_id, const char *stop_outcome,
                        const char *exec_status, const char *note) __attribute__((warn_unused_result));

/* A due retry not sent (concurrency 'forbid'): status 'skipped' with
 * last_error_kind kind, error appended.  Returns 0 or -1. */
int store_retry_skip(PGconn *c, long long trigger_id, const char *kind, const char *error)
    __attribute__((warn_unused_result));

/* Settle a decision from its triggers when none is open any more: its
 * triggers read, the rule applied (decision_status_settle, status.h) and
 * the status written, in one transaction; status (cap bytes) gets the new
 * status.  Returns 1 settled, 0 still open (or not an acting or settled
 * decision), -1 error. */
int store_decision_settle(PGconn *c, long long decision_id, char *status, size_t cap);

/* store_decision_settle by a caller that knows what the rule should give
 * (expect: a status name; NULL: no change).  Live, expect is not used.
 * With the replay's batched writer (store_batch.h) the settlement is not
 * waited for: expect is its answer at once, and the database's answer,
 * read later, must be the same or the batch fails.  store_decision_settle
 * is this with NULL. */
int store_decision_settle_expect(PGconn *c, long long decision_id, const char *expect, char *status, size_t cap);

/* Up to max retries due at now, oldest first.  Returns how many (free
 * their payloads with store_retries_clear), or -1. */
int store_due_retries(PGconn *c, time_t now, struct store_retry *out, int max);
void store_retries_clear(struct store_retry *rows, int n);

/* The earliest next_attempt_at of a retrying trigger (seconds, rounded up;
 * 0 when none) in *at.  Returns 0 or -1. */
int store_next_retry(PGconn *c, time_t *at) __attribute__((warn_unused_result));

/* A due retry becomes 'sending' (attempts + 1), committed before its POST.
 * Returns 0, 1 when it is no longer retrying (leave it), or -1. */
int store_retry_sending(PGconn *c, long long trigger_id);

/* A retrying trigger whose result arrived: 'sent', not sent again.
 * Returns 0 or -1. */
int store_delivered_by_result(PGconn *c, long long trigger_id) __attribute__((warn_unused_result));

/* Up to max live triggers with an outcome or result not yet handled,
 * oldest first.  Returns how many, or -1. */
int store_unsettled(PGconn *c, struct store_unsettled *out, int max);

/* Mark a trigger's outcome handled (settled) and/or its result learned.
 * Returns 0 or -1. */
int store_trigger_settled(PGconn *c, long long trigger_id, int settled, int learned)
    __attribute__((warn_unused_result));

/* The same, and in the same transaction the learning state (JSON text)
 * saved under scope as of at, and the summary (JSON text, may be NULL)
 * into worker_state.learning: what a result taught is never marked learned
 * without being saved.  scope or state NULL: store_trigger_settled.
 * Returns 0 or -1 (nothing written). */
int store_trigger_handled(PGconn *c, long long trigger_id, int settled, int learned, const char *scope,
                          const char *state, const char *summary, time_t at) __attribute__((warn_unused_result));

/* Up to max sent triggers with an execution id whose end n8n has not
 * shown yet (no outcome, or an outcome a posted result gave in the last ten
 * minutes: n8n's own status is still wanted), least recently looked at
 * first.  Returns how many, or -1. */
int store_open_tracked(PGconn *c, struct store_open *out, int max);

/* What n8n said of a trigger's execution: its status word, start and stop
 * (ms since the epoch, 0: null), n8n workflow id, and the outcome it comes
 * to (NULL while running; an outcome already set is kept).  Returns 0 or -1. */
int store_track_update(PGconn *c, long long trigger_id, const char *exec_status, long long started_ms,
                       long long stopped_ms, const char *n8n_workflow_id, const char *outcome)
    __attribute__((warn_unused_result));

/* A look that failed; gone: the execution does not exist (not looked at
 * again).  Returns 0 or -1. */
int store_track_failed(PGconn *c, long long trigger_id, int gone) __attribute__((warn_unused_result));

/* Running triggers started more than their workflow's timeout_seconds
 * (catalog) ago, else timeout_s, get outcome 'timed_out': those with an
 * execution id, or all of a workflow that expects_result when
 * results_expected (it should have posted one).  Returns how many, or -1. */
long store_time_out(PGconn *c, long timeout_s, int results_expected);

/* A trigger left 'unknown' (its POST may have reached n8n when its worker
 * died) to look up among n8n's executions (track_find.h). */
struct store_unknown {
    long long id, decision_id;
    int wf;                        /* registry slot, -1 when the registry is full */
    char key[96];                  /* idempotency key */
    char n8n_id[72];               /* its workflow's n8n id (workflow_state) */
    long long since_ms;            /* its creation less STORE_FIND_MARGIN_S, ms since the epoch */
    long age_s;                    /* seconds since its creation */
};
#define STORE_FIND_TRIES 5         /* failed lookups before one is left unknown */
#define STORE_FIND_MARGIN_S 120    /* n8n's clock may differ from PostgreSQL's by this much */

/* Up to max live 'unknown' triggers without an execution id, not looked up
 * yet (or whose last lookup failed, fewer than STORE_FIND_TRIES times, or
 * had to wait, more than retry_s ago), decided less than max_age_s ago,
 * whose workflow n8n listed (an n8n id), oldest first.  Returns how many,
 * or -1. */
int store_unknown_open(PGconn *c, struct store_unknown *out, int max, long retry_s, long max_age_s);

/* What the lookup of an unknown trigger found: found (execution_id) ->
 * 'sent' with that execution, followed to its end from here (the tracking
 * pass reads its status);
 * not found and resend -> 'retrying' now (sent again, its decision acting
 * again; the attempt's own error replaces the note then); not found otherwise -> stays 'unknown', looked up no more
 * (execution_status 'not_found'); failed -> the failure counted; wait (an
 * execution of the window still running) -> looked up again later.  note is
 * appended to the trigger's error.  Returns 1 when the trigger changed,
 * 0 when it was no longer 'unknown', -1 on a database error. */
enum store_find { STORE_FIND_FOUND, STORE_FIND_RESEND, STORE_FIND_MISSING, STORE_FIND_FAILED, STORE_FIND_WAIT };
int store_unknown_found(PGconn *c, long long trigger_id, enum store_find what, const char *execution_id,
                        const char *note) __attribute__((warn_unused_result));

/* What n8n's workflow list says of catalog workflow wf: its id and name
 * ("" when not listed) and active (1, 0, -1 unknown).  Returns 0 or -1. */
int store_wf_n8n(PGconn *c, int wf, const char *n8n_id, const char *name, int active)
    __attribute__((warn_unused_result));

/* worker_state.n8n and worker_state.alerts (JSON text).  Returns 0 or -1. */
int store_worker_n8n(PGconn *c, const char *json) __attribute__((warn_unused_result));
int store_worker_alerts(PGconn *c, const char *json) __attribute__((warn_unused_result));

/* worker_state.n8n[key] = json (JSON text), the rest of it kept.  Returns 0 or -1. */
int store_worker_n8n_key(PGconn *c, const char *key, const char *json) __attribute__((warn_unused_result));

/* ---- the leader lease, workers, takeover, claims, commands, gaps ----------
 * (store_leader.c, sql/006_leader.sql).  Need a database; -1 is a database
 * error (logged once). */

#define STORE_MAX_COMMANDS 16      /* commands handled per turn, at most */

/* What store_lease_take saw and did. */
struct store_lease {
    long long epoch;               /* taken: the new epoch; else the current one */
    char holder[128];              /* the holder before (taken) or now (not taken), "" when none */
    const char *why;               /* taken: "first", "released", "session_gone" or "expired"
                                    * (static); NULL when a live leader holds it */
    double renewed_age_s;          /* seconds since the holder last renewed (-1: never) */
};

/* Take the lease for worker me (for ttl_s) when it is free: never held,
 * released, expired, or its holder's database session is gone.  The
 * epoch is incremented and this session fenced with it
 * (orch.leader_epoch).  Returns 1 taken, 0 held by a live leader, -1. */
int store_lease_take(PGconn *c, const char *me, long ttl_s, struct store_lease *out)
    __attribute__((warn_unused_result));

/* Renew the lease me holds with epoch for ttl_s more, and (re)fence this
 * session with it.  Returns 1 kept, 0 lost (another worker took it), -1. */
int store_lease_renew(PGconn *c, const char *me, long long epoch, long ttl_s)
    __attribute__((warn_unused_result));

/* Give the lease up (a clean stop) so that a standby takes over at once,
 * and unfence this session.  Returns 0 or -1. */
int store_lease_release(PGconn *c, const char *me, long long epoch);

/* Unfence this session (no longer leader); errors are ignored. */
void store_lease_forget(PGconn *c);

/* Insert or refresh worker me's row in workers: role ("leader",
 * "standby", "stopped"), the epoch it leads with (0: none), heartbeat now.
 * Returns 0 or -1. */
int store_worker_register(PGconn *c, const char *me, const char *role, long long epoch)
    __attribute__((warn_unused_result));

/* Forget workers not heard from in max_age_s.  Returns how many, or -1. */
long store_workers_prune(PGconn *c, long max_age_s);

/* What a new leader found of the previous one's unfinished work. */
struct store_recovery {
    long proven;       /* 'sending' triggers whose key was claimed or result arrived: sent */
    long resent;       /* 'sending', never claimed, the workflow claims: to be sent again */
    long unknown;      /* 'sending', the workflow does not claim: unknown */
    long outbox;       /* 'pending' (never sent): to be sent now */
    long stale;        /* 'pending' older than the outbox's age limit: abandoned */
    long settled;      /* open decisions settled from their final triggers */
    long long running; /* executions left running (followed again) */
    long long retrying;/* retries scheduled (sent when due) */
};

/* A new leader takes over what dead leaders left (live rows only): see
 * struct store_recovery.  claiming[] are the workflow paths that claim
 * their key when they start.  Returns 0 or -1. */
int store_takeover_recover(PGconn *c, const char *const *claiming, int nclaiming, long outbox_max_age_s,
                           struct store_recovery *out) __attribute__((warn_unused_result));

/* A trigger found delivered by the claim of its key. */
struct store_claimed {
    long long id, decision_id;
    int wf;                        /* registry slot, -1 when the registry is full */
};

/* Triggers 'unknown', 'retrying' or 'failed' whose key a workflow claimed
 * become 'sent' (up to max, into out).  Returns how many, or -1. */
int store_claims_reconcile(PGconn *c, struct store_claimed *out, int max);

/* Note that the worker saw commands ids[0..n) (accepted_at).  Returns 0 or -1. */
int store_commands_accept(PGconn *c, const long long *ids, int n) __attribute__((warn_unused_result));

/* Close command id if it is still pending: status, result text, the
 * decision it made (0: none), in the caller's transaction if one is open.
 * Returns 1 closed now, 0 closed before, -1. */
int store_command_claim(PGconn *c, long long id, const char *status, const char *result, long long decision_id);

/* A start or stop command: close it and set worker_state.running in one
 * transaction.  Returns 1 done now, 0 done before (nothing changed), -1. */
int store_command_running(PGconn *c, long long id, int running, const char *result);

/* Inside store_decision's transaction: close every pending force command
 * with an id up to upto with the decision.  Returns 0 or -1. */
int store_commands_claim_decision(PGconn *c, long long upto, long long decision_id)
    __attribute__((warn_unused_result));

/* Close every pending force command with an id up to upto as failed with
 * result.  Returns how many, or -1. */
long store_commands_fail_forces(PGconn *c, long long upto, const char *result);

/* The newest pending force command (accepted or not, by any worker): a new
 * leader answers them all.  Returns 0 with *id (0: none), or -1. */
int store_forces_pending(PGconn *c, long long *id) __attribute__((warn_unused_result));

/* A gap: decisions that were due while no leader decided. */
struct store_gap {
    long long id;
    time_t from, to;               /* when the decision was due; now */
    long long missed;              /* decisions due in [from, to) at interval_s */
    long interval_s;               /* the last decision's next_seconds */
};

/* When the worker is running and its next decision was due more than
 * grace_s ago, record the gap (detected by me with epoch) in
 * decision_gaps.  default_interval_s counts the missed decisions when no
 * decision is known.  Returns 1 recorded (*out filled), 0 no gap, -1. */
int store_gap_check(PGconn *c, const char *me, long long epoch, long grace_s, long default_interval_s,
                    struct store_gap *out) __attribute__((warn_unused_result));

/* ---- the watch (store_watch.c, sql/009_watch.sql) ---------------------------- */

/* The watch's saved state and budget spend as JSON text (caller frees
 * both; NULL when none was saved).  Returns 0 or -1. */
int store_watch_load(PGconn *c, char **state, char **budgets) __attribute__((warn_unused_result));

/* Save them (state NULL: keep the saved state, only the budgets).  Returns 0 or -1. */
int store_watch_save(PGconn *c, const char *state, const char *budgets) __attribute__((warn_unused_result));

/* worker_state.watch = json (the figures /status shows).  Returns 0 or -1. */
int store_watch_status(PGconn *c, const char *json) __attribute__((warn_unused_result));

/* One day of the live scorecard (watch_days), inserted or replaced. */
struct store_watch_day {
    const char *market;            /* "crypto" or "forex" */
    time_t day;                    /* UTC midnight */
    int windows, top, covered, runs, wakes, cron5_runs;
    double equal_runs_covered, latency_median_minutes;   /* latency < 0: none */
};
int store_watch_day(PGconn *c, const struct store_watch_day *d) __attribute__((warn_unused_result));

/* ---- Telegram commands (store_telegram.c, sql/010_telegram.sql) ------------------- */

/* The getUpdates offset saved for bot bot_id (0 when none was saved, or it
 * was another bot's) into *offset.  Returns 0 or -1. */
int store_telegram_offset(PGconn *c, long long bot_id, long long *offset) __attribute__((warn_unused_result));

/* Save offset as bot bot_id's (never lowering a saved one of the same
 * bot).  Returns 0 or -1. */
int store_telegram_advance(PGconn *c, long long bot_id, long long offset) __attribute__((warn_unused_result));

/* In one transaction: record control command `command` ("stop", "start",
 * "force_decision") requested by requested_by, and save offset as in
 * store_telegram_advance.  *id gets the command's id.  Returns 0, or -1
 * (nothing written). */
int store_telegram_command(PGconn *c, const char *command, const char *requested_by, long long bot_id,
                           long long offset, long long *id) __attribute__((warn_unused_result));

/* What the chat's /status says of the decisions. */
struct store_tg_status {
    long long last_id;             /* the newest live decision, 0: none */
    time_t last_at;
    char mode[12], intensity[12], source[12], status[16], wake[12];
    char llm_outcome[24], llm_provider[24];
    int workflows;                 /* its triggers */
    long long wakes_today;         /* decisions the watch woke since UTC midnight */
    long long decisions_today;     /* live decisions since UTC midnight */
};
int store_telegram_status(PGconn *c, struct store_tg_status *out) __attribute__((warn_unused_result));

/* One line of the chat's /decisions. */
struct store_tg_decision {
    long long id;
    time_t at;
    char mode[12], intensity[12], source[12], status[16], wake[12];
    int workflows;
};
/* The newest live decisions, up to max, newest first.  Returns how many, or -1. */
int store_telegram_decisions(PGconn *c, struct store_tg_decision *out, int max);

/* What became of a control command (for the reply to the chat). */
struct store_tg_command {
    long long id;
    char command[16];              /* "stop", "start", "force_decision", ... */
    char status[12];               /* "pending", "done", "failed" */
    char result[160];              /* "" when none; valid UTF-8 */
    long long decision_id;         /* 0: none */
    char mode[12], intensity[12];  /* its decision's, "" when none */
    int workflows;                 /* its decision's triggers */
};
/* Commands ids[0..n) (n <= 16) into out, in any order.  Returns how many, or -1. */
int store_telegram_commands(PGconn *c, const long long *ids, int n, struct store_tg_command *out);

/* Nonzero once (then cleared) when a statement was refused because this
 * worker is no longer the leader (the fence, SQLSTATE OR001). */
int store_fenced(void);

/* ---- retention (store.c, sql/007_history.sql) ------------------------------ */

/* What one store_prune_history() pass deleted. */
struct store_pruned {
    long long decisions, triggers, results, llm_calls, commands;
    long long batches;                    /* history_prune() calls (transactions) */
};

/* The horizons and limits of a retention pass (the *_RETENTION_* settings). */
struct store_retention {
    long decision_days, result_days, llm_call_days, command_days;
    long batch_rows;                      /* rows of each kind per transaction */
    long budget_ms;                       /* no new batch after this */
};

/* Retention (sql/007_history.sql): fold the API totals' deltas
 * (history_compact), then prune rows past their horizons
 * (DECISION_RETENTION_DAYS with their triggers, results, LLM calls and
 * commands; RESULT_, LLM_CALL_ and COMMAND_RETENTION_DAYS alone), rolled up
 * per day in the same transaction, RETENTION_BATCH_ROWS rows of each kind
 * per transaction, until a batch is not full or RETENTION_BUDGET_MS have
 * passed.  Logs "history.pruned" when anything went.  out (may be NULL)
 * gets the counts.  Returns the rows deleted, or -1 (logged; what earlier
 * batches did stays done). */
long long store_prune_history(PGconn *c, const struct store_retention *rt, struct store_pruned *out);

/* ---- the catalog (store_catalog.c, sql/008_catalog.sql) -------------------------- */

/* What a catalog load or reload writes, in one transaction. */
struct store_catalog {
    const char *entries;           /* JSON array of the present workflows' entries in catalog order
                                    * (catalog_file_entry_json, plus "order"), or NULL: the
                                    * catalog did not change (a reload that failed) */
    const char *status;            /* JSON for worker_state.catalog */
    long long command_id;          /* the reload_catalog commands this answers: every pending
                                    * one with an id up to this (0: none) */
    const char *command_status;    /* "done" or "failed" */
    const char *command_result;    /* its result text */
};

/* Put what the worker loaded into the database: the entries upserted into
 * workflows (present_in_catalog true, last_seen now; first_seen kept), the
 * other rows marked not present (their history stays), a workflow_state
 * row for every new one, worker_state.catalog = status, and the command
 * closed -- all in one transaction (fenced: the leader's).  Returns 0, or
 * -1 (nothing written). */
int store_catalog_sync(PGconn *c, const struct store_catalog *sc) __attribute__((warn_unused_result));

/* The newest pending reload_catalog command (accepted or not, by any
 * worker): a new leader answers them.  Returns 0 with *id (0: none), or -1. */
int store_reloads_pending(PGconn *c, long long *id) __attribute__((warn_unused_result));

/* Insert the workflows of entries (as for store_catalog_sync) that the
 * table does not have yet, not present (the replay: its triggers need
 * their rows; the live catalog is left alone).  Returns 0 or -1. */
int store_catalog_ensure(PGconn *c, const char *entries) __attribute__((warn_unused_result));

/* Hand every live run of the last 24 hours (triggers not skipped, with
 * their workflows' costs now) to note(arg, registry slot, cost, started);
 * runs of workflows this process does not know are left out.  Returns how
 * many were handed, or -1. */
long store_usage_load(PGconn *c, void (*note)(void *arg, int wf, double cost, time_t at), void *arg);

#endif
