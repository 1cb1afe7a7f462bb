/* store_batch: the replay's batched writer (worker/store.h; the replay only).
 *
 * The live path spends one round trip on every statement of a decision
 * (its history, the insert, a sequence value per trigger, savepoints, the
 * updates of the act): about 400 replay decisions per second.  Attached to
 * the replay's connection (orch-replay, one per process), this writer
 * changes how store.c's statements travel, not what they write:
 *
 *  - the connection stays in libpq's pipeline mode: every statement is sent
 *    at once, as a prepared statement, and the server works on it while
 *    the replay computes the next decision; statements whose answer
 *    nobody waits for (store_cmd: the inserts of decisions, triggers and
 *    LLM calls, the updates of delivery, outcomes, settling and learning)
 *    are not waited for: their answers are read at the next sync;
 *  - a statement whose answer is needed (store_run: a decision's
 *    settlement, which sets its status) ends the pipeline's current part
 *    with a sync: one round trip for everything sent since the last one;
 *  - the ids of decisions and triggers are reserved from their sequences
 *    in blocks (one round trip per block), so that a decision's insert,
 *    with its id ($28 of SQL_INSERT_DECISION_ID: the same columns and
 *    values as the live insert, store.c), need not wait for its answer;
 *  - savepoints (store_begin) become marks: a rollback with nothing sent
 *    since its mark costs nothing; after statements went out it poisons
 *    the batch: it fails and its transaction is rolled back at the next
 *    commit (store_batch_commit);
 *  - the run's history that a decision's inputs carry (store_history_run:
 *    its decisions of the last 24 hours, the last 5 with their status) is
 *    answered from what this writer wrote: every decision it inserted and
 *    every status store.c set (store_batch_note_status); after a statement
 *    the writer does not know (one that could change a status behind its
 *    back) the history is read from the database again.
 *
 * The answers of statements nobody waits for are read off the socket as
 * they come (PQconsumeInput), so the server never blocks on us; a sync is
 * forced after STORE_BATCH_MAX_PENDING of them.  A failed statement is
 * logged once (store.failed, with its name) when its answer is read at a
 * sync; the call that needed an answer, or the next commit, returns -1
 * and the transaction is rolled back: a replay that fails loses up to one
 * batch (REPLAY_BATCH decisions), never part of a decision.  Times that
 * SQL takes from now() are the transaction's start, as in the live path. */
#ifndef STORE_BATCH_H
#define STORE_BATCH_H

#include <libpq-fe.h>
#include <time.h>

#include "sense.h"

struct store_batch;

/* Attach a batched writer to c (idle, no transaction open) for replay run
 * run_id, whose decisions it will all write, and put c in pipeline mode.
 * Until store_batch_finish, every statement on c goes through store.c.
 * Returns it (free with store_batch_free), or NULL when out of memory,
 * another one is attached or pipeline mode was refused (logged). */
struct store_batch *store_batch_new(PGconn *c, long long run_id);

/* Commit (or, after a failure, roll back) an open transaction, read every
 * answer, leave pipeline mode and detach.  Returns 0, or -1 when a
 * statement failed (logged). */
int store_batch_finish(struct store_batch *b) __attribute__((warn_unused_result));

/* store_batch_finish when still attached (a failure is logged), then
 * free.  NULL is a no-op. */
void store_batch_free(struct store_batch *b);

/* ---- for store.c ---------------------------------------------------------- */

/* The writer attached to c, or NULL (borrowed). */
struct store_batch *store_batch_of(PGconn *c);

/* Send a statement whose result is not needed (NULL entries of vals are
 * SQL NULL; sql must be a static string: prepared statements are known by
 * its address).  Returns 0, or -1 when the batch failed. */
int store_batch_queue(struct store_batch *b, const char *name, const char *sql, int n, const char *const *vals);

/* Send this statement and a sync, read every answer up to it, and return
 * its result (caller PQclears), or NULL when it or one sent before it
 * failed (logged). */
PGresult *store_batch_run(struct store_batch *b, const char *name, const char *sql, int n, const char *const *vals);

/* A savepoint's mark (0, or -1 when the batch failed); store_batch_release
 * forgets the innermost; store_batch_rewind poisons the batch when a
 * statement was sent since it. */
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
