/* db: libpq connection helpers shared by the worker and the API.
 *
 * db_connect() logs its own failure once (without the password); callers
 * only pass the failure up. */
#ifndef DB_H
#define DB_H

#include <libpq-fe.h>

/* Connect with conninfo, set application_name and UTC, give up after 5 s
 * unless conninfo sets its own connect_timeout.  Returns the
 * connection (caller frees with PQfinish) or NULL, logged. */
PGconn *db_connect(const char *conninfo, const char *app_name);

/* LISTEN on channel (an identifier of letters and '_').  Returns 0 or -1. */
int db_listen(PGconn *c, const char *channel) __attribute__((warn_unused_result));

/* Wait until the connection's socket is readable or timeout_ms passes.
 * Returns 1 readable, 0 timeout, -1 error (EINTR counts as 0). */
int db_wait(PGconn *c, int timeout_ms);

/* Consume input and drop pending notifications; returns how many arrived,
 * or -1 when the connection is broken. */
int db_drain_notifies(PGconn *c);

/* Run a command without results (BEGIN, COMMIT, ...).  Returns 0 or -1, logged. */
int db_exec(PGconn *c, const char *sql) __attribute__((warn_unused_result));

#endif
