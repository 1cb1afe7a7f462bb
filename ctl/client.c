/* client: orchctl's REST calls and their exit codes; see client.h. */
#include "config.h"
#include "client.h"
#include "http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void client_answer_free(struct client_answer *a)
{
    if (!a)
        return;
    json_object_put(a->json);
    free(a->body);
    memset(a, 0, sizeof *a);
}

/* The API's error message and code from an error body ({"error","code"}),
 * or NULLs when the body is not one. Borrowed from j. */
static void client_error_fields(json_object *j, const char **msg, const char **code)
{
    json_object *v;
    *msg = *code = NULL;
    if (j && json_object_is_type(j, json_type_object)) {
        if (json_object_object_get_ex(j, "error", &v) && json_object_is_type(v, json_type_string))
            *msg = json_object_get_string(v);
        if (json_object_object_get_ex(j, "code", &v) && json_object_is_type(v, json_type_string))
            *code = json_object_get_string(v);
    }
}

/* Print "orchctl: what: line" with only printable ASCII of line (an
 * error body from a proxy could carry anything). */
static void client_say(const char *what, char *line)
{
    for (char *p = line; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
            *p = '?';
    fprintf(stderr, "orchctl: %s: %s\n", what, line);
}

/* Map an error answer to an exit code, after printing it. */
static int client_http_error(const char *what, const char *path, long status, json_object *j)
{
    const char *msg, *code;
    char line[600];
    int rc = CLIENT_EXIT_API;
    client_error_fields(j, &msg, &code);
    if (status == 401 || status == 403) {
        snprintf(line, sizeof line, "the API refused the token (HTTP %ld %s): check ORCHESTRATOR_API_TOKEN",
                 status, code ? code : "unauthorized");
        rc = CLIENT_EXIT_AUTH;
    } else if (code && strcmp(code, "control_disabled") == 0) {
        snprintf(line, sizeof line, "control is disabled on the server: it has no ORCHESTRATOR_API_TOKEN "
                 "(HTTP %ld %s)", status, code);
        rc = CLIENT_EXIT_AUTH;
    } else if (status == 404) {
        snprintf(line, sizeof line, "not found: %.200s (HTTP 404 %s)", path, code ? code : "not_found");
        rc = CLIENT_EXIT_NOT_FOUND;
    } else if (msg) {
        snprintf(line, sizeof line, "the API answered an error: %.300s (HTTP %ld %s)", msg, status,
                 code ? code : "error");
    } else {
        snprintf(line, sizeof line, "the API answered HTTP %ld", status);
    }
    client_say(what, line);
    return rc;
}

int client_call(const struct client *c, const char *method, const char *path, int need_token,
                const char *what, struct client_answer *ans)
{
    memset(ans, 0, sizeof *ans);
    if (need_token && (!c->token || !*c->token)) {
        fprintf(stderr, "orchctl: %s: no API token: set ORCHESTRATOR_API_TOKEN or ORCHESTRATOR_API_TOKEN_FILE "
                        "(environment or the config file)\n", what);
        return CLIENT_EXIT_AUTH;
    }
    char url[4352];
    int n = snprintf(url, sizeof url, "%s%s", c->url, path);
    if (n < 0 || (size_t)n >= sizeof url) {
        fprintf(stderr, "orchctl: %s: URL too long\n", what);
        return CLIENT_EXIT_USAGE;
    }
    char auth[4200];
    const char *headers[3] = { "Accept: application/json", NULL, NULL };
    if (need_token) {
        n = snprintf(auth, sizeof auth, "Authorization: Bearer %s", c->token);
        if (n < 0 || (size_t)n >= sizeof auth) {
            fprintf(stderr, "orchctl: %s: token too long\n", what);
            return CLIENT_EXIT_USAGE;
        }
        headers[1] = auth;
    }
    struct http_req req = {
        .method = method, .url = url, .body = strcmp(method, "POST") == 0 ? "" : NULL,
        .headers = headers, .timeout_ms = c->timeout_ms, .max_bytes = CLIENT_MAX_BYTES,
    };
    struct http_resp resp;
    enum http_err e = http_perform(&req, &resp);
    if (need_token)
        explicit_bzero(auth, sizeof auth);
    if (e != HTTP_OK) {
        char line[600];
        if (e == HTTP_ETOOBIG)
            snprintf(line, sizeof line, "the answer is larger than %u bytes", CLIENT_MAX_BYTES);
        else
            snprintf(line, sizeof line, "cannot reach the API at %.200s: %.300s", c->url,
                     resp.errmsg[0] ? resp.errmsg : http_strerror(e));
        client_say(what, line);
        http_resp_free(&resp);
        return e == HTTP_ETOOBIG ? CLIENT_EXIT_BAD_ANSWER : CLIENT_EXIT_UNREACHABLE;
    }
    json_object *j = NULL;
    if (resp.body && resp.len) {
        json_tokener *tok = json_tokener_new();
        if (tok) {
            j = json_tokener_parse_ex(tok, resp.body, (int)resp.len);
            if (json_tokener_get_error(tok) != json_tokener_success) {
                json_object_put(j);
                j = NULL;
            }
            json_tokener_free(tok);
        }
    }
    if (resp.status < 200 || resp.status > 299) {
        int rc = client_http_error(what, path, resp.status, j);
        json_object_put(j);
        http_resp_free(&resp);
        return rc;
    }
    if (!j) {
        char line[80];
        snprintf(line, sizeof line, "the answer (HTTP %ld) is not JSON", resp.status);
        client_say(what, line);
        http_resp_free(&resp);
        return CLIENT_EXIT_BAD_ANSWER;
    }
    ans->status = resp.status;
    ans->json = j;
    ans->body = resp.body;
    ans->len = resp.len;
    resp.body = NULL;
    http_resp_free(&resp);
    return CLIENT_EXIT_OK;
}
