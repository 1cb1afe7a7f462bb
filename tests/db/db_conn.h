/* tests/db/db_conn.h: how every database test program connects and
 * queries (test_db, test_db_deliver, test_replay_db, test_history, through
 * db_rig.h or directly): a connection as a role, and SQL helpers with $n
 * parameters that fail the test on an error. */
#ifndef DB_CONN_H
#define DB_CONN_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <libpq-fe.h>

/* The conninfo of user on the test cluster (PGHOST, PGDATABASE), in buf. */
static inline const char *test_conninfo(const char *user, char *buf, size_t size)
{
    const char *host = getenv("PGHOST");
    const char *db = getenv("PGDATABASE");
    snprintf(buf, size, "host=%s dbname=%s user=%s", host ? host : "/tmp", db ? db : "orchestrator", user);
    return buf;
}

/* A connection as user to the test cluster (PGHOST, PGDATABASE), or NULL. */
static inline PGconn *test_connect(const char *user)
{
    char info[512];
    PGconn *c = PQconnectdb(test_conninfo(user, info, sizeof info));
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "cannot connect as %s: %s", user, PQerrorMessage(c));
        PQfinish(c);
        return NULL;
    }
    return c;
}

/* Run sql as admin; fail the test on error. */
static inline void test_sql(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        fail_msg("SQL failed: %s: %s", sql, PQresultErrorMessage(r));
    PQclear(r);
}

/* Run sql with n $n parameters; fail the test on error. */
static inline void test_sqlp(PGconn *c, const char *sql, int n, const char *const *vals)
{
    PGresult *r = PQexecParams(c, sql, n, NULL, vals, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        fail_msg("SQL failed: %s: %s", sql, PQresultErrorMessage(r));
    PQclear(r);
}

/* The single value of a one-row query with n $n parameters, as a long long. */
static inline long long test_valuep(PGconn *c, const char *sql, int n, const char *const *vals)
{
    PGresult *r = PQexecParams(c, sql, n, NULL, vals, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
        fail_msg("query failed: %s: %s", sql, PQresultErrorMessage(r));
    long long v = PQgetisnull(r, 0, 0) ? -1 : strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return v;
}

/* The single value of a one-row query, as a long long. */
static inline long long test_value(PGconn *c, const char *sql)
{
    return test_valuep(c, sql, 0, NULL);
}

/* The single text value of a one-row query into out. */
static inline void test_text(PGconn *c, const char *sql, char *out, size_t cap)
{
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
        fail_msg("query failed: %s: %s", sql, PQresultErrorMessage(r));
    snprintf(out, cap, "%s", PQgetisnull(r, 0, 0) ? "(null)" : PQgetvalue(r, 0, 0));
    PQclear(r);
}

#endif
