/* route: from one accepted FastCGI request to one answer.
 *
 * Reads the request's parameters, finds the endpoint (the path may come as
 * DOCUMENT_URI, SCRIPT_NAME + PATH_INFO or REQUEST_URI, with or without a
 * trailing slash or a query string), checks the method (405 with Allow),
 * calls the api_* handler and writes status, headers and body.  The path
 * helpers are pure functions. */
#ifndef ROUTE_H
#define ROUTE_H

#include <fcgiapp.h>
#include <stddef.h>

#include "api.h"

#define ROUTE_PATH_MAX 256

enum route_id {
    ROUTE_HEALTH = 0,
    ROUTE_STATUS,
    ROUTE_DECISIONS,
    ROUTE_WORKFLOWS,
    ROUTE_METRICS,
    ROUTE_CONTROL_START,
    ROUTE_CONTROL_STOP,
    ROUTE_CONTROL_FORCE,
    ROUTE_DECISION,              /* GET /decisions/{id} */
    ROUTE_CONTROL_COMMAND,       /* GET /control/commands/{id} (token required) */
    ROUTE_RESULTS,               /* POST /results (results token required) */
    ROUTE_CLAIMS,                /* POST /claims (results token required) */
    ROUTE_REPLAYS,               /* GET /replays */
    ROUTE_REPLAY,                /* GET /replays/{id} and /replays/{id}/svg */
    ROUTE_CONTROL_RELOAD,        /* POST /control/reload-catalog */
    ROUTE_COUNT
};

/* The request path from whichever of the FastCGI parameters is present
 * (each may be NULL): DOCUMENT_URI, else SCRIPT_NAME + PATH_INFO, else
 * REQUEST_URI; the query string, trailing slashes and an "/api" prefix are
 * removed ("/api/status/?x" -> "/status").  Writes it to out (cap bytes).
 * Returns 0, or -1 when there is no path or it does not fit. */
int route_path(const char *document_uri, const char *script_name, const char *path_info,
               const char *request_uri, char *out, size_t cap) __attribute__((warn_unused_result));

/* The endpoint of a normalized path, or -1 when there is none.  For the
 * item endpoints ("/decisions/{id}", "/control/commands/{id}") *item is set
 * to the last segment (borrowed from path, not yet validated; never empty
 * and without '/'; for "/replays/" the rest of the path, which may be
 * "{id}/svg"), else to NULL. */
int route_find(const char *path, const char **item);

/* The request id into out[72]: the proxy's (the X-Request-Id header, else
 * nginx's REQUEST_ID; NULL when absent) when it is 1 to 64 characters of
 * [A-Za-z0-9._-], else "<pid>-<seq>" in hex.  It is echoed in a header and
 * logged, so nothing else from the request gets through. */
void route_request_id(const char *x_request_id, const char *request_id, unsigned long long seq, char out[72]);

/* Handle one accepted request on ctx and write its answer to req->out.
 * seq numbers the requests of this process (for request ids). */
void route_handle(struct api_ctx *ctx, FCGX_Request *req, unsigned long long seq);

#endif
