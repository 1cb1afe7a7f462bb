/* track_stop: stopping an n8n execution through n8n's internal REST API
 * with the owner's session (concurrency 'replace'); see track_stop.h. */
#include "config.h"
#include "track_stop.h"
#include "track_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "log.h"

#define TRACK_STOP_MAX_BYTES (64 * 1024)

int track_stop_enabled(const struct cfg *c)
{
    return c->n8n_base_url && *c->n8n_base_url && c->n8n_owner_email && *c->n8n_owner_email &&
           c->n8n_owner_password && *c->n8n_owner_password;
}

void track_stopper_init(struct track_stopper *s, const struct cfg *c)
{
    memset(s, 0, sizeof *s);
    s->cfg = c;
}

/* Forget the session (wiped). */
static void track_stopper_logout(struct track_stopper *s)
{
    if (s->session) {
        memset(s->session, 0, strlen(s->session));
        free(s->session);
        s->session = NULL;
    }
}

void track_stopper_free(struct track_stopper *s)
{
    if (s)
        track_stopper_logout(s);
}

/* n8n's "message" in an error answer, cleaned, into out ("" when none). */
static void track_rest_message(const struct http_resp *r, char *out, size_t cap)
{
    out[0] = '\0';
    json_object *root = r->body ? track_json_parse(r->body, r->len, 8) : NULL, *m;
    if (root && json_object_is_type(root, json_type_object) && json_object_object_get_ex(root, "message", &m) &&
        json_object_is_type(m, json_type_string))
        track_copy(out, cap, json_object_get_string(m));
    json_object_put(root);
}

/* POST /rest/login with the owner's email and password; the session into
 * s->session.  Returns 0, or -1 with err set (no secret in it). */
static int track_stopper_login(struct track_stopper *s, char *err, size_t errlen)
{
    const struct cfg *c = s->cfg;
    track_stopper_logout(s);
    json_object *body = json_object_new_object();
    if (!body) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    json_object_object_add(body, "emailOrLdapLoginId", json_object_new_string(c->n8n_owner_email));
    json_object_object_add(body, "password", json_object_new_string(c->n8n_owner_password));
    const char *text = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN);
    size_t ul = strlen(c->n8n_base_url) + sizeof "/rest/login";
    char *url = malloc(ul);
    char *copy = text ? strdup(text) : NULL;
    int rc = -1;
    if (!url || !copy) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    snprintf(url, ul, "%s/rest/login", c->n8n_base_url);
    static const char *const headers[] = { "Accept: application/json", NULL };
    struct http_req req = { .method = "POST", .url = url, .body = copy, .headers = headers,
                            .timeout_ms = track_timeout_ms(c), .max_bytes = TRACK_STOP_MAX_BYTES,
                            .cookie_name = "n8n-auth" };
    struct http_resp r;
    http_perform(&req, &r);
    s->logins++;
    if (r.err != HTTP_OK) {
        snprintf(err, errlen, "n8n login: %s", http_strerror(r.err));
    } else if (r.status != 200) {
        char msg[160];
        track_rest_message(&r, msg, sizeof msg);
        snprintf(err, errlen, "n8n login refused (HTTP %ld%s%s): check N8N_OWNER_EMAIL and N8N_OWNER_PASSWORD",
                 r.status, msg[0] ? ", " : "", msg);
    } else if (!r.cookie) {
        snprintf(err, errlen, "n8n login answered 200 without an n8n-auth session cookie");
    } else {
        s->session = r.cookie;          /* taken over: http_resp_free must not wipe it */
        r.cookie = NULL;
        rc = 0;
    }
    http_resp_free(&r);
out:
    if (copy) {
        memset(copy, 0, strlen(copy));  /* it holds the password */
        free(copy);
    }
    free(url);
    json_object_put(body);              /* json-c's own copy is freed, not wiped: it is not logged */
    return rc;
}

/* One POST /rest/executions/{id}/stop with the session.  Returns the answer's err. */
static enum http_err track_stop_call(struct track_stopper *s, const char *id, struct http_resp *r)
{
    const struct cfg *c = s->cfg;
    size_t ul = strlen(c->n8n_base_url) + strlen(id) + sizeof "/rest/executions//stop";
    size_t hl = strlen(s->session) + sizeof "Cookie: n8n-auth=";
    char *url = malloc(ul), *cookie = malloc(hl);
    if (!url || !cookie) {
        free(url);
        free(cookie);
        memset(r, 0, sizeof *r);
        r->err = HTTP_EINTERNAL;
        return r->err;
    }
    snprintf(url, ul, "%s/rest/executions/%s/stop", c->n8n_base_url, id);
    snprintf(cookie, hl, "Cookie: n8n-auth=%s", s->session);
    const char *headers[] = { cookie, "Accept: application/json", NULL };
    struct http_req req = { .method = "POST", .url = url, .body = "{}", .headers = headers,
                            .timeout_ms = track_timeout_ms(c), .max_bytes = TRACK_STOP_MAX_BYTES };
    http_perform(&req, r);
    memset(cookie, 0, hl);
    free(cookie);
    free(url);
    return r->err;
}

/* What n8n's answer r to the stop says: TRACK_STOP_STOPPED with status
 * filled, TRACK_STOP_ENDED, or TRACK_STOP_FAILED (err set; a 401 or 403
 * forgets the session). */
static enum track_stop track_stop_answer(struct track_stopper *s, const struct http_resp *r, char *status,
                                         size_t scap, char *err, size_t errlen)
{
    enum track_stop rc = TRACK_STOP_FAILED;
    if (r->status == 200) {
        json_object *root = track_json_parse(r->body, r->len, 8), *data, *st;
        if (root && json_object_object_get_ex(root, "data", &data) && json_object_is_type(data, json_type_object) &&
            json_object_object_get_ex(data, "status", &st) && json_object_is_type(st, json_type_string)) {
            if (scap)
                track_copy(status, scap, json_object_get_string(st));
            rc = TRACK_STOP_STOPPED;
        } else {
            snprintf(err, errlen, "n8n stop answered 200 without {\"data\":{\"status\"}}");
        }
        json_object_put(root);
    } else {
        char msg[200];
        track_rest_message(r, msg, sizeof msg);
        /* "Only running or waiting executions can be stopped and 12 is currently success",
         * or "Failed to find execution to stop" / "Execution not found" */
        if (strstr(msg, "can be stopped") || strstr(msg, "not found") || strstr(msg, "find execution") ||
            r->status == 404) {
            snprintf(err, errlen, "it had already ended (HTTP %ld%s%s)", r->status, msg[0] ? ": " : "", msg);
            rc = TRACK_STOP_ENDED;
        } else {
            snprintf(err, errlen, "n8n refused to stop it (HTTP %ld%s%s)", r->status, msg[0] ? ": " : "", msg);
            if (r->status == 401 || r->status == 403)
                track_stopper_logout(s);
        }
    }
    return rc;
}

enum track_stop track_stop_execution(struct track_stopper *s, const char *execution_id, char *status, size_t scap,
                                     char *err, size_t errlen)
{
    if (scap)
        status[0] = '\0';
    err[0] = '\0';
    if (!track_stop_enabled(s->cfg)) {
        snprintf(err, errlen, "N8N_OWNER_EMAIL and N8N_OWNER_PASSWORD are not set: n8n's execution was not stopped");
        return TRACK_STOP_DISABLED;
    }
    if (!track_id_ok(execution_id)) {
        snprintf(err, errlen, "no valid execution id to stop");
        return TRACK_STOP_FAILED;
    }
    enum track_stop rc = TRACK_STOP_FAILED;
    struct http_resp r;
    memset(&r, 0, sizeof r);
    for (int attempt = 0; attempt < 2; attempt++) {
        if (!s->session && track_stopper_login(s, err, errlen) < 0)
            goto out;
        http_resp_free(&r);
        if (track_stop_call(s, execution_id, &r) != HTTP_OK) {
            snprintf(err, errlen, "n8n stop: %s", http_strerror(r.err));
            goto out;
        }
        if (r.status != 401)
            break;
        track_stopper_logout(s);        /* the session expired: log in once more */
    }
    rc = track_stop_answer(s, &r, status, scap, err, errlen);
out:
    http_resp_free(&r);
    if (rc == TRACK_STOP_STOPPED)
        log_event(LOG_INFO, "track.stopped", "s:execution_id s:status", execution_id, status);
    else
        log_event(LOG_WARN, "track.stop_failed", "s:execution_id s:outcome s:error", execution_id,
                  rc == TRACK_STOP_ENDED ? "ended" : "not_stopped", err);
    return rc;
}
