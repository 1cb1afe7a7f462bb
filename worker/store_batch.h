/* store_batch: the replay's batched writer (worker/store.h; the replay only).
 *
 * The live path spends one round trip on every statement of a decision
 * (its history, the insert, a sequence value per trigger, savepoints, the
 * updates of the act): about 400 replay decisions per second.  Attached to
 * the replay's connection (orch-replay, one per process), this writer
 * changes how store.c's statements travel and where the replay's rows wait,
 * not what they write:
 *
 *  - the connection stays in libpq's pipeline mode: every statement goes
 *    out as a prepared statement, STORE_BATCH_FLUSH_EVERY at a time, and
 *    the server works on them while the replay computes the next decision;
 *    no statement of a decision waits for its answer (store_cmd: the
 *    inserts of decisions, triggers and LLM calls, the updates of
 *    delivery, outcomes, settling and learning): the answers are read at
 *    the next sync, which comes at a commit (one per REPLAY_BATCH
 *    decisions), at a block of ids, or after STORE_BATCH_MAX_PENDING;
 *  - a decision's settlement (the rule, decision_status_settle, applied
 *    to the rows the database reads) is not waited for either
 *    (store_batch_settle): the replay goes on
 *    with the status its caller expects -- at delivery the one
 *    deliver_settle_local gives for what was sent (what --no-db's memory
 *    sink must also reach, sink.h),
 *    afterwards no change -- and the rule on the database's rows, read
 *    before the COMMIT, must give the same, or the batch fails and is
 *    rolled back;
 *  - the replay's decisions, triggers and LLM calls are staged
 *    (store_stage.h): written to temporary tables of the same names, where
 *    store.c's statements, unchanged, write and update them with no WAL,
 *    triggers or the tables' dozen indexes, and moved to the tables in
 *    their final state -- one INSERT ... SELECT per table, inside the
 *    batch's transaction -- at the commit after the replay said they
 *    change no more (store_batch_final_below: their executions have all
 *    ended; a change after that fails the batch); the rest go at
 *    store_batch_finish, which drops the staging.  A statement the writer
 *    does not know ends the staging first (everything staged to the
 *    tables), as it could read or change the replay's rows behind its
 *    back;
 *  - the ids of decisions and triggers are reserved from their sequences
 *    in blocks (one round trip per block), so that a decision's insert,
 *    with its id (reserved before the record is built: store_decision_ids;
 *    the live insert is the same statement, store_decision.c), need not wait for its answer;
 *  - savepoints (store_begin) become marks: a rollback with nothing sent
 *    since its mark costs nothing; after statements went out it poisons
 *    the batch: it fails and its transaction is rolled back at the next
 *    commit (store_batch_commit);
 *  - the run's history that a decision's inputs carry (store_history_run:
 *    its decisions of the last 24 hours, the last 5 with their status) is
 *    answered from what this writer wrote: every decision it inserted and
 *    every status store.c set (store_batch_note_status) or a settlement
 *    took; after a statement the writer does not know the history is read
 *    from the database again.
 *
 * The answers of statements nobody waits for are read off the socket as
 * they come (PQconsumeInput, at each flush), so the server never blocks on
 * us.  A failed statement is logged once (store.failed, with its name)
 * when its answer is read at a sync; the call that needed an answer, or
 * the next commit, returns -1 and the transaction is rolled back: a
 * replay that fails loses up to one batch (REPLAY_BATCH decisions), never
 * part of a decision (rows staged by the batches committed before it
 * still go to the tables at store_batch_finish; a process that dies loses
 * them with its session).  Times that SQL takes from now() are the
 * transaction's start, as in the live path. */
#ifndef STORE_BATCH_H
#define STORE_BATCH_H

#include <libpq-fe.h>
#include <time.h>

#include "store.h"

struct store_batch;

/* Attach a batched writer to c (idle, no transaction open) for replay run
 * run_id, whose decisions it will all write: create the staging (a staging
 * an earlier writer left on c goes to the tables first) and put c in
 * pipeline mode.  Until store_batch_finish, every statement on c goes
 * through store.c.  Returns it (free with store_batch_free), or NULL when
 * out of memory, another one is attached, or the staging or pipeline mode
 * was refused (logged). */
struct store_batch *store_batch_new(PGconn *c, long long run_id);

/* Commit (or, after a failure, roll back) an open transaction, read every
 * answer, leave pipeline mode and detach, then move every staged row to
 * the tables and drop the staging.  Returns 0, or -1 when a statement
 * failed (logged). */
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

/* Send the settlement of decision id (vals: its id as text) without
 * waiting for it: its rows' read (STORE_SQL_SETTLE_READ) and, when the
 * replay's status is a settled one, the write of it.  The status the
 * replay takes as its answer is expect (NULL: the status noted so far),
 * noted at once and into status (cap bytes; "" when still open); the rule
 * applied to the rows the database read (store_settle_rows), at the next
 * sync, must give the same, or the batch fails (logged).  Returns 1
 * settled, 0 still open, -1 when the batch failed, -2 when id is not a
 * decision this writer wrote (settle it the unbatched way instead). */
int store_batch_settle(struct store_batch *b, const char *const *vals, long long id, const char *expect, char *status,
                       size_t cap);

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
int store_batch_history(struct store_batch *b, long long run_id, time_t now, struct store_history *h);

#endif
