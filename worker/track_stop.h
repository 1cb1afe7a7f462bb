/* track_stop: stop an n8n execution (concurrency 'replace').
 *
 * n8n 1.123's public API has no stop; its internal REST API has, with the
 * owner's session (checked against dist/auth/auth.controller.js and
 * dist/executions/executions.controller.js of n8n 1.123.81):
 *   POST {N8N_BASE_URL}/rest/login  {"emailOrLdapLoginId":..., "password":...}
 *        -> 200, Set-Cookie: n8n-auth=<session>
 *   POST {N8N_BASE_URL}/rest/executions/{id}/stop   Cookie: n8n-auth=<session>
 *        -> 200 {"data":{"mode","startedAt","stoppedAt","finished","status":"canceled"}}
 *        an execution that already ended: an error answer; 401: log in again.
 * Used only when N8N_OWNER_EMAIL and N8N_OWNER_PASSWORD are set
 * (track_stop_enabled).  The password and the session are secrets: never
 * logged, the session kept in memory only and wiped when freed.  The
 * login is cached and made again once when n8n answers 401. */
#ifndef TRACK_STOP_H
#define TRACK_STOP_H

#include <stddef.h>

#include "cfg.h"

struct track_stopper {
    const struct cfg *cfg;     /* borrowed */
    char *session;             /* the n8n-auth cookie value (SECRET), NULL: not logged in */
    long long logins;          /* logins made, for tests */
};

enum track_stop {
    TRACK_STOP_STOPPED = 0,    /* n8n stopped it (its status now in *status, "canceled") */
    TRACK_STOP_ENDED,          /* it had already ended (or n8n no longer has it) */
    TRACK_STOP_DISABLED,       /* N8N_OWNER_EMAIL / N8N_OWNER_PASSWORD or N8N_BASE_URL not set */
    TRACK_STOP_FAILED          /* login refused, n8n unreachable, or another answer: err says why */
};

/* Nonzero when N8N_BASE_URL, N8N_OWNER_EMAIL and N8N_OWNER_PASSWORD are set. */
int track_stop_enabled(const struct cfg *c);

/* Set s up (nothing logged in yet). */
void track_stopper_init(struct track_stopper *s, const struct cfg *c);

/* Wipe and free the session; on a zeroed or freed stopper a no-op. */
void track_stopper_free(struct track_stopper *s);

/* Stop execution execution_id (checked like every id).  status (scap
 * bytes) gets n8n's status word after the stop ("canceled"; "" when not
 * known), err (errlen bytes) why it failed (no secret, no URL).  Logs
 * track.stopped (info) or track.stop_failed (warn).  Returns the outcome. */
enum track_stop track_stop_execution(struct track_stopper *s, const char *execution_id, char *status, size_t scap,
                                     char *err, size_t errlen);

#endif
