/* db: libpq helpers; see db.h. */
#include "config.h"
#include "db.h"
#include "log.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

PGconn *db_connect(const char *conninfo, const char *app_name)
{
    /* connect_timeout first: a connection string that sets its own wins */
    const char *keys[] = { "connect_timeout", "dbname", "application_name", "options", NULL };
    const char *vals[] = { "5", conninfo, app_name, "-c TimeZone=UTC", NULL };
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    if (!c) {
        log_event(LOG_ERROR, "db.connect_failed", "s:error", "out of memory");
        return NULL;
    }
    if (PQstatus(c) != CONNECTION_OK) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s", PQerrorMessage(c));
        msg[strcspn(msg, "\n")] = '\0';
        log_event(LOG_ERROR, "db.connect_failed", "s:error", msg);
        PQfinish(c);
        return NULL;
    }
    return c;
}

int db_exec(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!ok) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s", PQresultErrorMessage(r));
        msg[strcspn(msg, "\n")] = '\0';
        log_event(LOG_ERROR, "db.exec_failed", "s:sql s:error", sql, msg);
    }
    PQclear(r);
    return ok ? 0 : -1;
}

int db_listen(PGconn *c, const char *channel)
{
    char sql[96];
    for (const char *p = channel; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || *p == '_'))
            return -1;
    snprintf(sql, sizeof sql, "LISTEN %s", channel);
    return db_exec(c, sql);
}

int db_wait(PGconn *c, int timeout_ms)
{
    struct pollfd p = { .fd = PQsocket(c), .events = POLLIN };
    if (p.fd < 0)
        return -1;
    int n = poll(&p, 1, timeout_ms < 0 ? 0 : timeout_ms);
    if (n < 0)
        return errno == EINTR ? 0 : -1;
    return n > 0 ? 1 : 0;
}

int db_drain_notifies(PGconn *c)
{
    if (!PQconsumeInput(c))
        return -1;
    int n = 0;
    PGnotify *note;
    while ((note = PQnotifies(c))) {
        n++;
        PQfreemem(note);
    }
    return n;
}
