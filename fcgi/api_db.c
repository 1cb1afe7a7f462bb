/* api_db: the connection of a request that misses the cache; see api_impl.h. */
#include "config.h"
#include "api_impl.h"
#include "db.h"
#include "log.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define API_RECONNECT_SECONDS 1.0

/* Close the connection (it broke).  The cache keeps what it holds: its
 * refresher has a connection of its own, and entries age out. */
static void api_db_close(struct api_ctx *ctx)
{
    PQfinish(ctx->db);
    ctx->db = NULL;
}

/* libpq notice receiver: log the server's notices as JSON lines (instead
 * of libpq's plain stderr) and flag a FATAL one, which announces that the
 * server is closing the connection (shutdown, terminated backend). */
static void api_notice(void *arg, const PGresult *res)
{
    struct api_ctx *ctx = arg;
    const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
    const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    int fatal = sev && (strcmp(sev, "FATAL") == 0 || strcmp(sev, "PANIC") == 0);
    if (fatal)
        ctx->db_fatal = 1;
    log_event(fatal ? LOG_WARN : LOG_DEBUG, "api.db_notice", "s:severity s:message", sev, msg);
}

/* See api_impl.h. */
int api_db_open(struct api_ctx *ctx, double now)
{
    ctx->db = db_connect(ctx->cfg->api_database_url, "orch-api");
    ctx->db_fatal = 0;
    if (ctx->db)
        PQsetNoticeReceiver(ctx->db, api_notice, ctx);
    if (ctx->db && query_session_setup(ctx->db, 0) < 0) {
        PQfinish(ctx->db);
        ctx->db = NULL;
    }
    if (!ctx->db) {
        ctx->retry_at = now + API_RECONNECT_SECONDS;
        return -1;
    }
    log_event(LOG_INFO, "api.db_connected", "i:pid", (long long)getpid());
    return 0;
}

/* See api_impl.h. */
int api_db_ready(struct api_ctx *ctx)
{
    if (ctx->db) {
        int n = db_drain_notifies(ctx->db);
        if (n >= 0 && !ctx->db_fatal && PQstatus(ctx->db) == CONNECTION_OK)
            return 0;
        char msg[200];
        snprintf(msg, sizeof msg, "%s", ctx->db_fatal ? "the server is closing the connection"
                                                     : PQerrorMessage(ctx->db));
        msg[strcspn(msg, "\n")] = '\0';
        log_event(LOG_WARN, "api.db_lost", "s:error", msg);
        api_db_close(ctx);
        return api_db_open(ctx, api_now());         /* at once: a restarted server is back */
    }
    double now = api_now();
    if (now < ctx->retry_at)
        return -1;
    return api_db_open(ctx, now);
}

/* See api_impl.h. */
int api_db_failed(struct api_ctx *ctx, struct api_resp *r)
{
    if (ctx->db && (ctx->db_fatal || PQstatus(ctx->db) != CONNECTION_OK)) {
        api_db_close(ctx);
        return api_error(r, 503, API_CODE_DATABASE_UNAVAILABLE, "database unavailable");
    }
    return api_error(r, 500, API_CODE_INTERNAL, "database query failed");
}
