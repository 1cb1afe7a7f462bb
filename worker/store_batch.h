/* store_batch: the replay's batched writer (worker/store.h; the replay only).
 *
 * The live path spends one round trip on every statement of a decision
 * (its history, the insert, a sequence value per trigger, savepoints, the
 * updates of the act): about 400 replay decisions per second.  Attached to
 * the replay's connection (orch-replay, one per process), this writer
 * changes how store.c's statements travel, not what they write:
 *
 *  - statements whose answer nobody waits for (store_cmd: the inserts of
 *    decisions, triggers and LLM calls, the updates of delivery, outcomes,
 *    settling and learning) are kept in memory, in order, with copies of
 *    their parameters, and sent all at once in libpq's pipeline mode, as
 *    prepared statements, when an answer is needed or the batch commits:
 *    one round trip for many statements;
 *  - a statement whose answer is needed (store_run: a decision's
 *    settlement, which sets its status) goes at the end of that pipeline;
 *  - the ids of decisions and triggers are reserved from their sequences
 *    in blocks (one round trip per block), so that a decision's insert,
 *    with its id ($28 of SQL_INSERT_DECISION_ID: the same columns and
 *    values as the live insert, store.c), need not wait for its answer;
 *  - savepoints (store_begin) become marks in the queue: a rollback drops
 *    the statements queued since the mark; when some of them were sent
 *    already, the batch is poisoned: it fails and its transaction is
 *    rolled back at the next commit;
 *  - the run's history that a decision's inputs carry (store_history_run:
 *    its decisions of the last 24 hours, the last 5 with their status) is
 *    answered from what this writer wrote: every decision it inserted and
 *    every status store.c set (store_batch_note_status); after a statement
 *    the writer does not know (one that could change a status behind its
 *    back) the history is read from the database again.
 *
 * A failed statement is logged once (store.failed, with its name) when its
 * pipeline is read; the call that needed the answer, or the next commit,
 * returns -1 and the rest of the transaction is rolled back: a replay that
 * fails loses up to one batch (REPLAY_BATCH decisions), never part of a
 * decision.  Times that SQL takes from now() are the transaction's start,
 * as in the live path. */
#ifndef STORE_BATCH_H
#define STORE_BATCH_H

#include <libpq-fe.h>
#include <time.h>

#include "sense.h"

struct store_batch;

/* Attach a batched writer to c for replay run run_id (whose decisions it
 * will all write).  Returns it (free with store_batch_free), or NULL when
 * out of memory or another one is attached. */
struct store_batch *store_batch_new(PGconn *c, long long run_id);

/* Send what is queued and detach.  Returns 0, or -1 when a statement
 * failed (logged). */
int store_batch_finish(struct store_batch *b) __attribute__((warn_unused_result));

/* Detach and free; what is still queued is sent first (a failure is
 * logged).  NULL is a no-op. */
void store_batch_free(struct store_batch *b);

/* ---- for store.c ---------------------------------------------------------- */

/* The writer attached to c, or NULL (borrowed). */
struct store_batch *store_batch_of(PGconn *c);

/* Queue a statement whose result is not needed (vals copied; NULL entries
 * are SQL NULL).  Returns 0, or -1 when the batch failed or is out of
 * memory. */
int store_batch_queue(struct store_batch *b, const char *name, const char *sql, int n, const char *const *vals);

/* Send the queue and this statement, and return its result (caller
 * PQclears), or NULL when it or a queued one failed (logged). */
PGresult *store_batch_run(struct store_batch *b, const char *name, const char *sql, int n, const char *const *vals);

/* A savepoint's mark; store_batch_release forgets the innermost,
 * store_batch_rewind drops what was queued since it (or poisons the batch
 * when some of it was sent).  Return 0 or -1. */
int store_batch_mark(struct store_batch *b);
void store_batch_release(struct store_batch *b);
void store_batch_rewind(struct store_batch *b);

/* The next reserved id of table "decisions" (triggers 0) or "triggers"
 * (triggers 1), reserving a block when none is left.  Returns it, or 0. */
long long store_batch_next_id(struct store_batch *b, int triggers);

/* A decision written: id, its time, its mode and status names. */
int store_batch_note_decision(struct store_batch *b, long long id, time_t at, const char *mode, const char *status);

/* Decision id's status is now status (no-op unless b wrote it). */
void store_batch_note_status(struct store_batch *b, long long id, const char *status);

/* The history of run run_id as of now, as store_history_run reads it.
 * Returns 0, or -1 when this writer cannot answer (another run, or an
 * unknown statement ran: read the database). */
int store_batch_history(struct store_batch *b, long long run_id, time_t now, struct sense_history *h);

#endif
