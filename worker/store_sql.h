/* store_sql: what the store_*.c files share (not for other modules).
 *
 * The worker's SQL lives in store.c and its siblings (store_*.c);
 * these helpers run one statement with $n text parameters and log a
 * failure once, with the statement's name. */
#ifndef STORE_SQL_H
#define STORE_SQL_H

#include <libpq-fe.h>
#include <stddef.h>

#include "store.h"

/* orch_fence() (sql/006_leader.sql) refuses a statement with this SQLSTATE
 * when this worker is no longer the leader. */
#define STORE_SQLSTATE_FENCED "OR001"

/* r when it succeeded (caller PQclears), else NULL after logging the
 * failure with the statement's name and clearing r (a refusal by the
 * fence is remembered for store_fenced()). */
PGresult *store_checked(PGresult *r, const char *name);

/* Run a statement with text parameters.  Returns the result (caller
 * PQclears) when it succeeded, else NULL after logging (a refusal by the
 * fence is remembered for store_fenced()).  With the replay's batched
 * writer on c (store_batch.h), the statements queued before it go first,
 * in one round trip. */
PGresult *store_run(PGconn *c, const char *name, const char *sql, int n, const char *const *vals);

/* Run a statement whose result is not needed.  Returns 0 or -1.  With the
 * replay's batched writer on c it is queued (0: queued; a failure shows
 * at the next statement that waits for an answer, or the commit). */
int store_cmd(PGconn *c, const char *name, const char *sql, int n, const char *const *vals);

/* Run a statement; returns the number of rows it affected, or -1. */
long store_affected(PGconn *c, const char *name, const char *sql, int n, const char *const *vals);

/* Columns are read by name: a reader looks up the names it needs once
 * per result with store_col() (not once per row) and reads through the
 * numbers it got.  A name the result lacks is a programming error: it is
 * logged (store.no_column) and the number, -1, reads as NULL (store_null
 * 1, store_int 0, store_text ""). */

/* The number of the column called name in r (PQfnumber: an unquoted
 * lower-case name), or -1 after logging store.no_column. */
int store_col(const PGresult *r, const char *name);

/* Look up n names at once: col[k] = store_col(r, names[k]).  Returns 0,
 * or -1 when any is missing (each logged once; those read as NULL). */
int store_cols(const PGresult *r, const char *const *names, int n, int *col);

/* Whether row i, column col (from store_col) of r is NULL (1 for col -1). */
int store_null(const PGresult *r, int i, int col);

/* The integer in row i, column col (from store_col) of r (0 when NULL,
 * not a number, or col is -1). */
long long store_int(const PGresult *r, int i, int col);

/* The text in row i, column col (from store_col) of r: borrowed from r,
 * "" when NULL or col is -1. */
const char *store_text(const PGresult *r, int i, int col);

/* Open a transaction: a savepoint inside a batch (the replay's), else a
 * transaction.  Sets *nested.  Returns 0 or -1. */
int store_begin(PGconn *c, int *nested);
int store_commit(PGconn *c, int nested);
void store_rollback(PGconn *c, int nested);

/* Nonzero when the last statement store_checked() saw refused was refused
 * for its content (SQLSTATE class 22 data exception, 54 program limit,
 * 23514 a CHECK, 42804 a datatype mismatch), not for the connection or
 * the fence; then why (cap bytes) gets "SQLSTATE: message". */
int store_refused(char *why, size_t cap);

/* Forget the last refusal (before a write whose refusal is asked for). */
void store_refused_clear(void);

/* Statements more than one store_*.c file runs (the batched writer
 * prepares a statement by its address: one definition each, in store.c). */
extern const char STORE_SQL_UPSERT_LEARNING[];
extern const char STORE_SQL_UPDATE_LEARNING_SUMMARY[];

/* The learning context of a trigger: its decision's intensity, the band
 * and fresh exposure its market (its catalog row's, sql/008_catalog.sql)
 * had when the decision was made, and the decision's session label. */
#define STORE_LEARN_MARKET \
    "(SELECT CASE w.market WHEN 'crypto' THEN 'crypto' ELSE 'forex' END FROM workflows w WHERE w.name = t.workflow)"
#define STORE_LEARN_COLS \
    "d.intensity AS learn_intensity, " \
    "d.inputs #>> ARRAY['learning','markets', " STORE_LEARN_MARKET ", 'activity','band'] AS learn_band, " \
    "d.inputs #>> ARRAY['learning','markets', " STORE_LEARN_MARKET ", 'fresh_exposure'] AS learn_exposure, " \
    "d.session AS learn_session "
/* a workflow's own timeout (its catalog row), else $1 (TRACK_TIMEOUT_SECONDS) */
#define STORE_TIMEOUT(wf) "coalesce(nullif(" wf ".timeout_seconds, 0), $1::int)"

/* Where a result's learning context columns are (STORE_LEARN_COLS:
 * learn_intensity, learn_band, learn_exposure, learn_session): looked up
 * once per result by store_learn_find, read per row by store_learn_row. */
struct store_learn_at {
    int intensity, band, exposure, session;
};
void store_learn_find(const PGresult *r, struct store_learn_at *at);

/* Row i's learning context (columns at, from store_learn_find) into *ctx. */
void store_learn_row(const PGresult *r, int i, const struct store_learn_at *at, struct store_learn_ctx *ctx);

/* A decision's settlement (store_deliver.c): the read ($1: the decision
 * id) and the write ($1, $2: the status), and the status the rule
 * (decision_status_settle, status.h) gives the rows read -- an enum
 * decision_status, or -1 when the decision stays as it is (a trigger
 * open, or a status that is not settled again, or no such decision). */
extern const char STORE_SQL_SETTLE_READ[];
extern const char STORE_SQL_SETTLE_WRITE[];
int store_settle_rows(PGresult *r);

/* Tell the replay's batched writer (if c has one) that a decision's status changed. */
void store_note_status(PGconn *c, long long decision_id, const char *status);

#endif
