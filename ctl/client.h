/* client: orchctl's calls to the REST API (through nginx, with libcurl via
 * shared/http.c) and the exit codes their failures map to.
 *
 * Every failure is printed once, here, on stderr as
 *   orchctl: <what>: <why> (HTTP <status> <code>)
 * and becomes one of the exit codes below, which `orchctl --help` and the
 * README list.  The token goes only into the Authorization header: never
 * into a message. */
#ifndef CLIENT_H
#define CLIENT_H

#include <stddef.h>
#include <json-c/json.h>

enum client_exit {
    CLIENT_EXIT_OK = 0,          /* done */
    CLIENT_EXIT_FAILED = 1,      /* the API answered, but what was asked failed (a command the
                                  * worker marked failed, --wait ran out of time) */
    CLIENT_EXIT_USAGE = 2,       /* bad arguments or configuration */
    CLIENT_EXIT_UNREACHABLE = 3, /* no answer: connection refused, name not resolved, timeout */
    CLIENT_EXIT_AUTH = 4,        /* no token, token refused (401/403), control disabled there */
    CLIENT_EXIT_NOT_FOUND = 5,   /* unknown decision or command, or an endpoint this API lacks */
    CLIENT_EXIT_API = 6,         /* any other error answer (400, 409, 5xx, database unavailable) */
    CLIENT_EXIT_BAD_ANSWER = 7,  /* an answer that is not the JSON expected */
};

/* The largest answer orchctl reads (/decisions?limit=200&detail=1 fits). */
#define CLIENT_MAX_BYTES (16u * 1024 * 1024)

struct client {
    const char *url;             /* base URL without trailing '/', borrowed */
    const char *token;           /* bearer token or "" (borrowed; secret) */
    long timeout_ms;             /* per request */
};

struct client_answer {
    long status;                 /* HTTP status */
    json_object *json;           /* the parsed body (owned: client_answer_free) */
    char *body;                  /* the body as received, NUL-terminated (owned) */
    size_t len;
};

/* method ("GET" or "POST") path (starting with '/', query included) with
 * the token when need_token.  what names the action in messages ("status",
 * "show 12").  Returns CLIENT_EXIT_OK with *ans filled for a 2xx JSON
 * answer; otherwise prints why and returns the exit code, *ans empty. */
int client_call(const struct client *c, const char *method, const char *path, int need_token,
                const char *what, struct client_answer *ans) __attribute__((warn_unused_result));

/* Free what client_call filled; a no-op on a zeroed or freed answer. */
void client_answer_free(struct client_answer *a);

#endif
