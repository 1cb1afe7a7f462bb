/* query_sql: what the query*.c files share (not for other modules).
 *
 * query.c           running statements and reading their columns by name, the
 *                   session and the cache fill's statements; /workflows/available,
 *                   results, claims and control commands
 * query_state.c     the state read: worker_state, the newest decision, the
 *                   workflows' state, the watch, the leader
 * query_totals.c    its counts, from the totals and the last 24 hours
 * query_decisions.c the decision pages
 * query_replays.c   the replay runs */
#ifndef QUERY_SQL_H
#define QUERY_SQL_H

#include <json-c/json.h>
#include <libpq-fe.h>
#include <stddef.h>

#include "query.h"

/* A macro's value as a string literal (QUERY_RAW_MAX in SQL text). */
#define QUERY_STR_(x) #x
#define QUERY_STR(x) QUERY_STR_(x)

/* A timestamptz column as "2026-11-23T21:50:00.123Z" (NULL stays NULL). */
#define ISO(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

/* ISO-8601 UTC text of a timestamptz expression, for JSON built in SQL */
#define QUERY_ISO(x) "to_char((" x ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* The statements of the cache fill, each defined above its reader;
 * query_fill (query.c) lists them for query_fill_statements() and
 * query_session_setup(). */
extern const char QUERY_SQL_STATE_WORKER[], QUERY_SQL_STATE_LAST[], QUERY_SQL_WF_STATES[], QUERY_SQL_STATE_WATCH[];
extern const char QUERY_SQL_STATE_DECISIONS[], QUERY_SQL_STATE_DECISIONS_24H[], QUERY_SQL_STATE_TRIGGERS[];
extern const char QUERY_SQL_STATE_LLM[], QUERY_SQL_STATE_LLM_24H[], QUERY_SQL_STATE_RESULTS[];
extern const char QUERY_SQL_DECISIONS[], QUERY_SQL_DECISION_TRIGGERS[], QUERY_SQL_DECISION_LLM_CALLS[];

/* A column read into a JSON member of the same name. */
struct query_member {
    const char *name;
    int integer;                 /* 1: a JSON integer, 0: a JSON string */
};
#define QUERY_MEMBERS_MAX 24     /* members of one table, at most */
#define QUERY_NMEMBERS(m) ((int)(sizeof m / sizeof m[0]))

/* ---- query.c --------------------------------------------------------------- */

/* Run one statement with text parameters.  Returns the result (caller
 * PQclears) when it succeeded, else NULL after logging. */
PGresult *query_run(PGconn *c, const char *name, const char *sql, int n, const char *const *vals);

/* Run a statement without parameters as the prepared statement
 * "query_<name>" (the state is read every few seconds: its statements are
 * planned once per connection, by query_session_setup, not at every read),
 * preparing it again when the connection lost it.  name must be unique to
 * sql.  Returns the result (caller PQclears) or NULL after logging. */
PGresult *query_run_prepared(PGconn *c, const char *name, const char *sql);

/* Run the statement sql without parameters as the prepared statement
 * name (query_run_prepared) and look its columns names[0 .. n) up into
 * col (query_cols).  Returns the result (caller PQclears), or NULL after
 * logging. */
PGresult *query_read(PGconn *c, const char *name, const char *sql, const char *const *names, int n, int *col);

/* The number of column name in r (statement stmt), or -1 after logging
 * that r lacks it (the statement and its reader disagree). */
int query_col(const PGresult *r, const char *stmt, const char *name);

/* The column numbers of names[0 .. n) in r into col[0 .. n), looked up
 * once per result.  Returns 0, or -1 (logged) when one is missing. */
int query_cols(const PGresult *r, const char *stmt, const char *const *names, int n, int *col);

/* The columns of m[0 .. n) (n <= QUERY_MEMBERS_MAX) in r into col.
 * Returns 0, or -1 (logged) when one is missing. */
int query_member_cols(const PGresult *r, const char *stmt, const struct query_member *m, int n, int *col);

/* Row i of r as an object with a member per entry of m[0 .. n) (col:
 * their columns), SQL NULL as JSON null.  Returns it (caller frees) or
 * NULL. */
json_object *query_members(const PGresult *r, int i, const struct query_member *m, int n, const int *col);

/* Column value as a string, NULL when SQL NULL.  Borrowed from r. */
const char *query_val(const PGresult *r, int row, int col);

/* Column as a long long (0 when NULL or unparsable). */
long long query_ll(const PGresult *r, int row, int col);

/* Column as a double, NAN when NULL or unparsable. */
double query_dbl(const PGresult *r, int row, int col);

/* Column as 0/1 from a boolean ('t'/'f'); NULL gives 0. */
int query_bool(const PGresult *r, int row, int col);

/* Copy a column into out (cap bytes), "" for NULL, truncating. */
void query_copy(char *out, size_t cap, const PGresult *r, int row, int col);

/* A text column as a JSON string (caller frees), NULL (JSON null) for SQL
 * NULL. */
json_object *query_jstr(const PGresult *r, int row, int col);

/* An integer column as a JSON int64 (caller frees), NULL for SQL NULL. */
json_object *query_jint(const PGresult *r, int row, int col);

/* A boolean column as a JSON boolean (caller frees), NULL for SQL NULL. */
json_object *query_jbool(const PGresult *r, int row, int col);

/* A json/jsonb column parsed; NULL for SQL NULL or (never expected)
 * unparsable text. */
json_object *query_jparse(const PGresult *r, int row, int col);

/* A json column that must hold an object: parsed, or a new empty object
 * when it is NULL or anything else.  Returns it (caller frees) or NULL
 * when out of memory. */
json_object *query_jobject(const PGresult *r, int row, int col);

/* ---- query_totals.c -------------------------------------------------------- */

/* Decision counts: the totals by mode, source, status and LLM outcome, and
 * the last 24 hours.  Returns 0 or -1. */
int query_state_counts(PGconn *c, struct query_state *st);

/* Trigger counts per workflow and status and per workflow and execution
 * outcome, execution durations and reported opportunities, from the
 * totals.  Returns 0 or -1. */
int query_state_triggers(PGconn *c, struct query_state *st);

/* LLM calls by provider and outcome: the totals, and the last 24 hours.
 * Returns 0 or -1. */
int query_state_llm(PGconn *c, struct query_state *st);

/* Results by status, from the totals.  Returns 0 or -1. */
int query_state_results(PGconn *c, struct query_state *st);

#endif
