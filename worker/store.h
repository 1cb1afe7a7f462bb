/* store: the worker's only SQL writer (and the reads it needs).
 *
 * Every statement is a named constant at the top of store.c, with $n
 * parameters.  A decision, its triggers, the cycle's probes and the worker
 * state are committed in one transaction before any webhook is sent. */
#ifndef STORE_H
#define STORE_H

#include <libpq-fe.h>
#include <time.h>

#include "act.h"
#include "llm.h"
#include "decide.h"
#include "sense.h"

struct store_trigger {
    long long id;
    int wf;                    /* enum catalog_workflow */
    char key[96];              /* idempotency key */
    char *payload;             /* JSON text, owned (store_decision_clear frees) */
};

struct store_decision {
    long long id;
    time_t next_at;
    int ntriggers;
    struct store_trigger t[WF_COUNT];
};

/* What a decision's audit trail records besides the choice itself. */
struct store_audit {
    const struct llm_outcome *llm;        /* NULL: no LLM configured */
    const char *prompt_version;           /* NULL when no prompt was built */
    const char *prompt_hash;
    const struct decide_choice *shadow;   /* the fallback policy's choice, or NULL */
    int agreement;                        /* 1/0, or -1 when the LLM did not decide */
    const char *llm_state;                /* JSON for worker_state.llm, or NULL */
    long long run_id;                     /* 0: live; else the replay run the decision belongs to
                                           * (then probes and worker_state are left alone) */
    const char *learn_scope;              /* learning_state.scope ("live" or the run id), or NULL */
    const char *learn_state;              /* learn_to_json text written under learn_scope, or NULL */
    const char *learn_summary;            /* learn_summary_json text for worker_state.learning (live), or NULL */
    long long *local_seq;                 /* ids when there is no database (c == NULL) */
};

enum store_command { STORE_CMD_START, STORE_CMD_STOP, STORE_CMD_FORCE };

struct store_cmd {
    long long id;
    enum store_command cmd;
};

/* Mark what a previous worker left unfinished: 'sending' triggers become
 * 'unknown', 'pending' ones 'abandoned', open decisions 'interrupted'.
 * Returns 0 or -1. */
int store_recover(PGconn *c) __attribute__((warn_unused_result));

/* Register this worker in worker_state and read the persisted running flag
 * and next decision time (0 when none).  Returns 0 or -1. */
int store_worker_start(PGconn *c, int dry_run, int *running, time_t *next_at) __attribute__((warn_unused_result));

/* Clear pid and heartbeat on a clean stop.  Returns 0 or -1. */
int store_worker_stop(PGconn *c) __attribute__((warn_unused_result));

int store_heartbeat(PGconn *c) __attribute__((warn_unused_result));
int store_set_running(PGconn *c, int running) __attribute__((warn_unused_result));

/* Fill snap->history from the live decisions of the last 24 hours (replay
 * rows are not the worker's history).  Returns 0 or -1. */
int store_history(PGconn *c, time_t now, struct sense_history *h) __attribute__((warn_unused_result));

/* The same for replay run run_id (0: live), as of simulated time now.
 * With c NULL (no database) the history is empty.  Returns 0 or -1. */
int store_history_run(PGconn *c, long long run_id, time_t now, struct sense_history *h)
    __attribute__((warn_unused_result));

/* Insert the decision, one trigger per chosen workflow (status 'pending',
 * or 'dry_run'), the probes, the learning state (audit->learn_*), and
 * update worker_state, in one transaction.  A replay decision
 * (audit->run_id) carries its run id and leaves probes and worker_state
 * alone.  With c NULL nothing is written: ids come from audit->local_seq
 * and the triggers and payloads are built the same way.  Fills *out (free
 * its payloads with store_decision_clear).  Returns 0 or -1 (nothing
 * written). */
int store_decision(PGconn *c, const char *cycle_id, const struct sense_snapshot *snap,
                   const struct decide_menu *menu, const struct decide_choice *ch,
                   int dry_run, const struct store_audit *audit, struct store_decision *out)
    __attribute__((warn_unused_result));

/* Count the LLM calls of the last 25 hours into cl's budget.  Returns 0 or -1. */
int store_llm_usage(PGconn *c, struct llm_client *cl) __attribute__((warn_unused_result));

void store_decision_clear(struct store_decision *d);

/* Before sending: the decision's pending triggers become 'sending' (attempts
 * + 1) and the decision 'acting', committed.  This and the two below are
 * no-ops returning 0 with c NULL.  Returns 0 or -1. */
int store_mark_sending(PGconn *c, long long decision_id) __attribute__((warn_unused_result));

/* Record one delivery outcome.  Returns 0 or -1. */
int store_trigger_result(PGconn *c, long long trigger_id, const struct act_job *job)
    __attribute__((warn_unused_result));

/* Close the decision with status ("succeeded", "partial", "failed").  Returns 0 or -1. */
int store_decision_done(PGconn *c, long long decision_id, const char *status) __attribute__((warn_unused_result));

/* Up to max pending control commands, oldest first.  Returns how many, or -1. */
int store_take_commands(PGconn *c, struct store_cmd *cmds, int max);

/* Close a command: status "done" or "failed", a result text, and the
 * decision it caused (0 for none).  Returns 0 or -1. */
int store_command_done(PGconn *c, long long id, const char *status, const char *result,
                       long long decision_id) __attribute__((warn_unused_result));

/* The opportunities a run found (the trigger with idempotency key `key`),
 * reported at `at`.  No-op without a database.  Returns 0 or -1. */
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
 * decision is still all-or-nothing through a savepoint).  No-ops without a
 * database.  Returns 0 or -1. */
int store_batch_begin(PGconn *c) __attribute__((warn_unused_result));
int store_batch_commit(PGconn *c) __attribute__((warn_unused_result));

/* Delete probes older than hours.  Returns the number deleted, or -1. */
long store_prune_probes(PGconn *c, long hours);

#endif
