/* record: what a decision writes, prepared by the worker for store.
 *
 * The cycle's snapshot, menu, choice and audit become one plain record
 * (struct store_decision_rec, store.h): the ids reserved first, then the
 * idempotency keys (act_key, act_replay_key), the webhook bodies
 * (act_payload) and the JSON of the inputs, menu, sources and shadow
 * choice.  store binds and writes it.  When the database refuses a record
 * for its content, a stripped one (without the inputs) is written instead. */
#ifndef RECORD_H
#define RECORD_H

#include <libpq-fe.h>

#include "decide.h"
#include "llm.h"
#include "sense.h"
#include "sink.h"
#include "store.h"

/* What a decision's audit trail records besides the choice itself. */
struct record_audit {
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
    long long *local_seq;                 /* a replay's decision count, for its keys (act_replay_key) */
    long long force_upto;                 /* the force commands this decision answers: every one
                                           * accepted and pending with an id up to this, closed in its
                                           * transaction (store_commands_claim_decision); 0: none */
};

/* Record the decision: insert it, one trigger per chosen workflow (status
 * 'pending', or 'dry_run'), the probes, the learning state (audit->learn_*),
 * and update worker_state, in one transaction (store_decision).  A replay
 * decision (audit->run_id) carries its run id and leaves probes and
 * worker_state alone.  When the database refuses it for its content
 * (store.content_refused is logged), it is recorded once more without its
 * inputs.  A sink that keeps no documents (the memory one, sink.h) gets
 * the ids, status and triggers only, the payloads built the same way.
 * audit may be NULL.  Fills *out (free its payloads with
 * store_decision_clear).  Returns 0 or -1 (nothing written). */
int record_decision(const struct sink *c, const char *cycle_id, const struct sense_snapshot *snap,
                    const struct decide_menu *menu, const struct decide_choice *ch, int dry_run,
                    const struct record_audit *audit, struct store_decision *out)
    __attribute__((warn_unused_result));

/* A store_history read from the database as the snapshot's history. */
void record_history(const struct store_history *from, struct sense_history *to);

#endif
