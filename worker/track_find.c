/* track_find: an execution found by the idempotency key it received; see
 * track_find.h. */
#include "config.h"
#include "track_find.h"
#include "track_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "log.h"

/* Nonzero when a string equal to key appears anywhere in v (the parser
 * bounded its depth). */
static int track_carries(json_object *v, const char *key, size_t klen)
{
    switch (json_object_get_type(v)) {
    case json_type_string:
        return (size_t)json_object_get_string_len(v) == klen && memcmp(json_object_get_string(v), key, klen) == 0;
    case json_type_array:
        for (size_t i = 0, n = json_object_array_length(v); i < n; i++)
            if (track_carries(json_object_array_get_idx(v, i), key, klen))
                return 1;
        return 0;
    case json_type_object: {
        json_object_object_foreach(v, k, val) {
            (void)k;
            if (track_carries(val, key, klen))
                return 1;
        }
        return 0;
    }
    default:
        return 0;
    }
}

/* Nonzero when execution e can be ruled out by its data: it has ended (n8n
 * writes an execution's data when it ends, unless it saves its progress)
 * and the data is there (a workflow may save none). */
static int track_find_readable(json_object *e)
{
    json_object *v;
    int ended;
    if (json_object_object_get_ex(e, "status", &v) && json_object_is_type(v, json_type_string)) {
        const char *st = json_object_get_string(v);
        ended = strcmp(st, "success") == 0 || strcmp(st, "error") == 0 || strcmp(st, "crashed") == 0 ||
                strcmp(st, "canceled") == 0;
    } else {
        ended = json_object_object_get_ex(e, "stoppedAt", &v) && json_object_is_type(v, json_type_string);
    }
    return ended && json_object_object_get_ex(e, "data", &v) && json_object_is_type(v, json_type_object) &&
           json_object_object_length(v) > 0;
}

/* A key worth looking for: printable ASCII, 8 to TRACK_FIND_KEY_MAX bytes
 * (a short one could match unrelated text). */
static int track_find_key_ok(const char *key)
{
    size_t l = key ? strlen(key) : 0;
    return l >= 8 && l <= TRACK_FIND_KEY_MAX && track_printable(key);
}

enum track_err track_find_page(const char *body, size_t len, const char *key, long long since_ms,
                               struct track_found *out, int *older, char *cursor, size_t cursor_cap)
{
    cursor[0] = '\0';
    enum track_err rc = TRACK_EINVALID;
    json_object *root = track_json_parse(body, len, TRACK_FIND_DEPTH), *data;
    if (!root || !json_object_is_type(root, json_type_object) || !json_object_object_get_ex(root, "data", &data) ||
        !json_object_is_type(data, json_type_array)) {
        snprintf(out->error, sizeof out->error, "executions answer is not {\"data\":[...]}");
        goto out;
    }
    size_t klen = strlen(key);
    for (size_t i = 0, n = json_object_array_length(data); i < n; i++) {
        json_object *e = json_object_array_get_idx(data, i), *v;
        if (!json_object_is_type(e, json_type_object))
            continue;
        out->executions++;
        long long started = 0;
        int before = json_object_object_get_ex(e, "startedAt", &v) && json_object_is_type(v, json_type_string) &&
                     track_parse_time(json_object_get_string(v), &started) == 0 && started < since_ms;
        if (before)
            *older = 1;
        char id[TRACK_ID_MAX + 1];
        int has_id = json_object_object_get_ex(e, "id", &v) && track_json_id(v, id, sizeof id) == 0;
        if (!has_id || !track_carries(e, key, klen)) {
            /* in the window and not told apart (no id to tie it to, or
             * no data yet): the answer waits */
            if (!before && (!has_id || !track_find_readable(e)))
                out->unreadable++;
            continue;
        }
        out->result = TRACK_FOUND;
        snprintf(out->execution_id, sizeof out->execution_id, "%s", id);
        if (json_object_object_get_ex(e, "status", &v) && json_object_is_type(v, json_type_string))
            track_copy(out->status, sizeof out->status, json_object_get_string(v));
        rc = TRACK_OK;
        goto out;
    }
    if (track_next_cursor(root, cursor, cursor_cap) < 0) {
        snprintf(out->error, sizeof out->error, "executions answer has an invalid nextCursor");
        goto out;
    }
    rc = TRACK_OK;
out:
    json_object_put(root);
    return rc;
}

/* Read one page into out (the cursor in: "" for the first; out: the
 * next).  Returns TRACK_OK or the reason. */
static enum track_err track_find_one(const struct cfg *c, const char *workflow_id, const char *key,
                                     long long since_ms, char *cursor, struct track_found *out, int *older)
{
    char base[TRACK_ID_MAX + 96];
    snprintf(base, sizeof base, "/executions?workflowId=%s&includeData=true&limit=%d", workflow_id, TRACK_FIND_LIMIT);
    struct http_resp r;
    if (track_get_page(c, base, cursor, TRACK_FIND_PAGE_MAX_BYTES, &r, out->error, sizeof out->error) < 0)
        return TRACK_EINVALID;
    out->pages++;
    enum track_err rc;
    if (r.err == HTTP_OK && r.status == 200)
        rc = track_find_page(r.body, r.len, key, since_ms, out, older, cursor, TRACK_CURSOR_MAX);
    else
        rc = track_http_error(&r, "executions", out->error, sizeof out->error);
    http_resp_free(&r);
    return rc;
}

enum track_err track_find_key(const struct cfg *c, const char *workflow_id, const char *key, long long since_ms,
                              struct track_found *out)
{
    memset(out, 0, sizeof *out);
    out->result = TRACK_UNDECIDED;
    if (!track_enabled(c)) {
        snprintf(out->error, sizeof out->error, "n8n API not configured: N8N_API_KEY or the n8n API URL is not set");
        return TRACK_EDISABLED;
    }
    if (!track_id_ok(workflow_id) || !track_find_key_ok(key)) {
        snprintf(out->error, sizeof out->error, "not a valid workflow id or idempotency key");
        return TRACK_EINVALID;
    }
    char *cursor = malloc(TRACK_CURSOR_MAX), *prev = malloc(TRACK_CURSOR_MAX);
    enum track_err rc = TRACK_EINVALID;
    if (!cursor || !prev) {
        snprintf(out->error, sizeof out->error, "out of memory");
        goto done;
    }
    cursor[0] = '\0';
    for (;;) {
        int older = 0;
        snprintf(prev, TRACK_CURSOR_MAX, "%s", cursor);
        rc = track_find_one(c, workflow_id, key, since_ms, cursor, out, &older);
        if (rc != TRACK_OK || out->result == TRACK_FOUND)
            break;
        if (older || !cursor[0]) {
            /* the whole window was read: none carries the key, unless one
             * still running (or without its data) might */
            out->result = out->unreadable ? TRACK_UNDECIDED : TRACK_NOT_FOUND;
            break;
        }
        if (strcmp(cursor, prev) == 0) {
            snprintf(out->error, sizeof out->error, "n8n repeated the same nextCursor");
            rc = TRACK_EINVALID;
            break;
        }
        if (out->pages >= TRACK_FIND_PAGES)
            break;                               /* TRACK_UNDECIDED */
    }
done:
    free(cursor);
    free(prev);
    if (rc != TRACK_OK) {
        out->result = TRACK_UNDECIDED;
        log_event(rc == TRACK_ECONFIG ? LOG_ERROR : LOG_WARN, "track.find_failed", "s:workflow_id s:reason s:error i:pages",
                  workflow_id, track_strerror(rc), out->error, (long long)out->pages);
    }
    return rc;
}
