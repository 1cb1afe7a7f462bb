/* sink: where the decision cycle writes what it decided and what became
 * of it -- one interface, two backends.
 *
 *   sink_pg(db)    PostgreSQL through store.h: the worker, and a stored
 *                  replay (whose batched writer, store_batch.h, is attached
 *                  to db and seen by store.h alone).
 *   sink_mem(m)    nothing leaves the process (orch-replay --no-db): ids
 *                  from a counter, no history, no documents, and the
 *                  statuses of the last SINK_MEM_DECISIONS decisions'
 *                  triggers, so that a decision is settled by the same rule
 *                  (decision_status_settle, status.h) as the SQL one.
 *
 * The cycle (history, the decision's record), delivery (marking sending,
 * skips, attempts, settlement) and following (outcomes handled) write only
 * through a sink.  What exists only with a database -- workflow state
 * shared between workers, commands, the lease, n8n's view -- is reached
 * through sink_db(), which is NULL for the memory backend.
 *
 * A struct sink is a small value (an ops table and its context): make one
 * where it is needed, e.g. `struct sink s = sink_pg(w->db);`. */
#ifndef SINK_H
#define SINK_H

#include <libpq-fe.h>
#include <stddef.h>
#include <time.h>

#include "store.h"

#define SINK_MEM_DECISIONS 64      /* decisions whose triggers the memory backend keeps */

struct act_job;

struct sink_ops {
    const char *name;              /* "postgresql", "memory" */
    int documents;                 /* nonzero: it keeps a decision's documents (inputs, menu,
                                    * probes, LLM calls, learning state): the record builds them */
    int (*history)(void *ctx, long long run_id, time_t now, struct store_history *h);
    int (*decision_ids)(void *ctx, long long run_id, int ntriggers, long long *id, long long *tids);
    int (*decision)(void *ctx, const struct store_decision_rec *rec);
    int (*refused)(void *ctx, char *why, size_t cap);
    int (*mark_sending)(void *ctx, long long decision_id);
    int (*trigger_skip)(void *ctx, long long trigger_id, const char *kind, const char *error);
    int (*trigger_attempt)(void *ctx, long long trigger_id, const char *status, const struct act_job *job,
                           const char *kind, long long next_attempt_ms, const char *execution_id);
    int (*settle)(void *ctx, long long decision_id, const char *expect, char *status, size_t cap);
    int (*trigger_outcome)(void *ctx, const char *key, int opportunities, time_t at);
    int (*trigger_handled)(void *ctx, long long trigger_id, int settled, int learned, const char *scope,
                           const char *state, const char *summary, time_t at);
    int (*batch_begin)(void *ctx);
    void (*batch_final_below)(void *ctx, long long decision_id);
    int (*batch_commit)(void *ctx);
};

struct sink {
    const struct sink_ops *ops;
    void *ctx;                     /* borrowed: the PGconn, or the struct sink_memory */
};

/* The memory backend's state (zero it, or sink_mem_reset). */
struct sink_mem_decision {
    long long id;
    int ntriggers;
    long long tid[STORE_MAX_TRIGGERS];
    signed char status[STORE_MAX_TRIGGERS];       /* enum trigger_status */
    signed char circuit_open[STORE_MAX_TRIGGERS]; /* skipped because the circuit was open */
};
struct sink_memory {
    long long seq;                 /* the last id given (decisions and triggers share it) */
    struct sink_mem_decision ring[SINK_MEM_DECISIONS];
    int next;                      /* where the next decision goes in ring */
    long long settled;             /* decisions settled, for tests and reports */
};

/* The PostgreSQL backend on db (borrowed; not NULL). */
struct sink sink_pg(PGconn *db);

/* The memory backend on m (borrowed). */
struct sink sink_mem(struct sink_memory *m);
void sink_mem_reset(struct sink_memory *m);

/* The database behind s, or NULL (memory). */
PGconn *sink_db(const struct sink *s);

/* The operations, as store.h documents their PostgreSQL forms; each
 * returns what that one returns.  A sink without ops (zeroed) fails every
 * call with -1. */
int sink_history(const struct sink *s, long long run_id, time_t now, struct store_history *h);
int sink_decision_ids(const struct sink *s, long long run_id, int ntriggers, long long *id, long long *tids)
    __attribute__((warn_unused_result));
int sink_decision(const struct sink *s, const struct store_decision_rec *rec) __attribute__((warn_unused_result));
int sink_refused(const struct sink *s, char *why, size_t cap);
int sink_mark_sending(const struct sink *s, long long decision_id) __attribute__((warn_unused_result));
int sink_trigger_skip(const struct sink *s, long long trigger_id, const char *kind, const char *error)
    __attribute__((warn_unused_result));
int sink_trigger_attempt(const struct sink *s, long long trigger_id, const char *status, const struct act_job *job,
                         const char *kind, long long next_attempt_ms, const char *execution_id)
    __attribute__((warn_unused_result));
int sink_settle(const struct sink *s, long long decision_id, const char *expect, char *status, size_t cap);
int sink_trigger_outcome(const struct sink *s, const char *key, int opportunities, time_t at)
    __attribute__((warn_unused_result));
int sink_trigger_handled(const struct sink *s, long long trigger_id, int settled, int learned, const char *scope,
                         const char *state, const char *summary, time_t at) __attribute__((warn_unused_result));
int sink_batch_begin(const struct sink *s) __attribute__((warn_unused_result));
void sink_batch_final_below(const struct sink *s, long long decision_id);
int sink_batch_commit(const struct sink *s) __attribute__((warn_unused_result));

/* Nonzero when s keeps a decision's documents (sink_ops.documents). */
int sink_documents(const struct sink *s);

#endif
