/* track_workflows: the workflows n8n has, through its public API; see
 * track_workflows.h. */
#include "config.h"
#include "track_workflows.h"
#include "track_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "log.h"

#define TRACK_MAX_WORKFLOWS (TRACK_MAX_PAGES * TRACK_PAGE_LIMIT)

int track_printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            return 0;
    return 1;
}

void track_workflows_free(struct track_workflows *w)
{
    if (!w)
        return;
    free(w->items);
    w->items = NULL;
    w->n = 0;
}

int track_next_cursor(json_object *root, char *cursor, size_t cap)
{
    json_object *next;
    cursor[0] = '\0';
    if (!json_object_object_get_ex(root, "nextCursor", &next) || json_object_is_type(next, json_type_null))
        return 0;
    if (!json_object_is_type(next, json_type_string) || strlen(json_object_get_string(next)) >= cap ||
        !track_printable(json_object_get_string(next)))
        return -1;
    snprintf(cursor, cap, "%s", json_object_get_string(next));
    return 0;
}

/* Percent-encode s for a query value into out (cap bytes).  Returns 0 or -1
 * (too long). */
static int track_query_escape(const char *s, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        int plain = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
                    ch == '-' || ch == '.' || ch == '_' || ch == '~';
        if (o + (plain ? 1 : 3) + 1 > cap)
            return -1;
        if (plain) {
            out[o++] = (char)ch;
        } else {
            out[o++] = '%';
            out[o++] = hex[ch >> 4];
            out[o++] = hex[ch & 15];
        }
    }
    out[o] = '\0';
    return 0;
}

int track_get_page(const struct cfg *c, const char *base, const char *cursor, size_t max_bytes, struct http_resp *r,
                   char *err, size_t errlen)
{
    size_t n = strlen(base), pathcap = n + strlen(cursor) * 3 + 16;
    char *path = malloc(pathcap);
    if (!path) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    memcpy(path, base, n + 1);
    if (cursor[0]) {
        memcpy(path + n, "&cursor=", 9);
        if (track_query_escape(cursor, path + n + 8, pathcap - n - 8) < 0) {
            free(path);
            snprintf(err, errlen, "nextCursor too long");
            return -1;
        }
    }
    struct track_call k;
    int init = track_call_init(&k, c, path);
    free(path);
    if (init < 0) {
        snprintf(err, errlen, "out of memory, or the API URL is too long");
        return -1;
    }
    struct http_req req = { .method = "GET", .url = k.url, .headers = k.headers,
                            .timeout_ms = track_timeout_ms(c), .max_bytes = max_bytes };
    http_perform(&req, r);
    track_call_free(&k);
    return 0;
}

/* The path and method of a workflow's Webhook node into t: the first
 * one answering POST, else the first one. */
static void track_webhook_path(json_object *wf, struct track_workflow *t)
{
    json_object *nodes;
    t->webhook_path[0] = t->webhook_method[0] = '\0';
    if (!json_object_object_get_ex(wf, "nodes", &nodes) || !json_object_is_type(nodes, json_type_array))
        return;
    size_t n = json_object_array_length(nodes);
    for (size_t i = 0; i < n; i++) {
        json_object *node = json_object_array_get_idx(nodes, i), *type, *params, *path, *method;
        if (!json_object_is_type(node, json_type_object) || !json_object_object_get_ex(node, "type", &type) ||
            !json_object_is_type(type, json_type_string) ||
            strcmp(json_object_get_string(type), "n8n-nodes-base.webhook") != 0)
            continue;
        if (!json_object_object_get_ex(node, "parameters", &params) ||
            !json_object_object_get_ex(params, "path", &path) || !json_object_is_type(path, json_type_string))
            continue;
        const char *m = json_object_object_get_ex(params, "httpMethod", &method) &&
                        json_object_is_type(method, json_type_string) ? json_object_get_string(method) : "GET";
        if (t->webhook_path[0] && strcmp(t->webhook_method, "POST") == 0)
            return;
        if (!t->webhook_path[0] || strcmp(m, "POST") == 0) {
            track_copy(t->webhook_path, sizeof t->webhook_path, json_object_get_string(path));
            track_copy(t->webhook_method, sizeof t->webhook_method, m);
        }
    }
}

/* The names of a workflow's tags (objects {"id","name"}, or plain strings) into t. */
static void track_tags(json_object *wf, struct track_workflow *t)
{
    json_object *tags;
    t->ntags = 0;
    if (!json_object_object_get_ex(wf, "tags", &tags) || !json_object_is_type(tags, json_type_array))
        return;
    size_t n = json_object_array_length(tags);
    for (size_t i = 0; i < n && t->ntags < TRACK_TAGS_MAX; i++) {
        json_object *g = json_object_array_get_idx(tags, i), *name = g;
        if (json_object_is_type(g, json_type_object) && !json_object_object_get_ex(g, "name", &name))
            continue;
        if (json_object_is_type(name, json_type_string))
            track_copy(t->tags[t->ntags++], TRACK_TAG_MAX + 1, json_object_get_string(name));
    }
}

int track_workflow_tagged(const struct track_workflow *w, const char *tag)
{
    for (int i = 0; tag && *tag && i < w->ntags; i++)
        if (strcmp(w->tags[i], tag) == 0)
            return 1;
    return 0;
}

/* Add one page's workflows to w (its body: len bytes); the next cursor into
 * cursor ("" when none).  Returns TRACK_OK or TRACK_EINVALID with w->error set. */
enum track_err track_parse_workflows(const char *body, size_t len, struct track_workflows *w, size_t *cap,
                                     char *cursor, size_t cursor_cap)
{
    enum track_err rc = TRACK_EINVALID;
    json_object *root = track_json_parse(body, len, 64), *data;
    cursor[0] = '\0';
    if (!root || !json_object_is_type(root, json_type_object) ||
        !json_object_object_get_ex(root, "data", &data) || !json_object_is_type(data, json_type_array)) {
        snprintf(w->error, sizeof w->error, "workflows answer is not {\"data\":[...]}");
        goto out;
    }
    size_t n = json_object_array_length(data);
    for (size_t i = 0; i < n && w->n < TRACK_MAX_WORKFLOWS; i++) {
        json_object *wf = json_object_array_get_idx(data, i), *v;
        if (!json_object_is_type(wf, json_type_object))
            continue;
        if (w->n == *cap) {
            size_t nc = *cap ? *cap * 2 : 32;
            struct track_workflow *p = realloc(w->items, nc * sizeof *p);
            if (!p) {
                snprintf(w->error, sizeof w->error, "out of memory");
                goto out;
            }
            w->items = p;
            *cap = nc;
        }
        struct track_workflow *t = &w->items[w->n];
        memset(t, 0, sizeof *t);
        if (!json_object_object_get_ex(wf, "id", &v) || track_json_id(v, t->id, sizeof t->id) < 0)
            continue;                   /* no usable id: not listed */
        if (json_object_object_get_ex(wf, "name", &v) && json_object_is_type(v, json_type_string))
            track_copy(t->name, sizeof t->name, json_object_get_string(v));
        t->active = json_object_object_get_ex(wf, "active", &v) && json_object_is_type(v, json_type_boolean) &&
                    json_object_get_boolean(v);
        t->archived = json_object_object_get_ex(wf, "isArchived", &v) &&
                      json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v);
        track_webhook_path(wf, t);
        track_tags(wf, t);
        w->n++;
    }
    if (track_next_cursor(root, cursor, cursor_cap) < 0) {
        snprintf(w->error, sizeof w->error, "workflows answer has an invalid nextCursor");
        goto out;
    }
    rc = TRACK_OK;
out:
    json_object_put(root);
    return rc;
}

/* Read the page after cursor ("" for the first) into out (*cap: the
 * capacity of out->items); the next cursor replaces cursor (TRACK_CURSOR_MAX
 * bytes).  *pages counts the requests made.  Returns TRACK_OK or the
 * reason (out->error). */
static enum track_err track_workflows_page(const struct cfg *c, char *cursor, struct track_workflows *out,
                                           size_t *cap, int *pages)
{
    char base[48];
    snprintf(base, sizeof base, "/workflows?limit=%d", TRACK_PAGE_LIMIT);
    struct http_resp r;
    if (track_get_page(c, base, cursor, TRACK_PAGE_MAX_BYTES, &r, out->error, sizeof out->error) < 0)
        return TRACK_EINVALID;
    (*pages)++;
    enum track_err rc;
    if (r.err == HTTP_OK && r.status == 200)
        rc = track_parse_workflows(r.body, r.len, out, cap, cursor, TRACK_CURSOR_MAX);
    else
        rc = track_http_error(&r, "workflows", out->error, sizeof out->error);
    http_resp_free(&r);
    return rc;
}

enum track_err track_list_workflows(const struct cfg *c, struct track_workflows *out)
{
    memset(out, 0, sizeof *out);
    if (!track_enabled(c)) {
        snprintf(out->error, sizeof out->error, "n8n API not configured: N8N_API_KEY or the n8n API URL is not set");
        return TRACK_EDISABLED;
    }
    enum track_err rc = TRACK_OK;
    size_t cap = 0;
    int pages = 0;
    char *cursor = malloc(TRACK_CURSOR_MAX), *prev = malloc(TRACK_CURSOR_MAX);
    if (!cursor || !prev) {
        snprintf(out->error, sizeof out->error, "out of memory");
        rc = TRACK_EINVALID;
        goto out;
    }
    cursor[0] = prev[0] = '\0';
    for (;;) {
        snprintf(prev, TRACK_CURSOR_MAX, "%s", cursor);
        rc = track_workflows_page(c, cursor, out, &cap, &pages);
        if (rc != TRACK_OK || !cursor[0])
            break;
        if (strcmp(cursor, prev) == 0) {
            snprintf(out->error, sizeof out->error, "n8n repeated the same nextCursor");
            rc = TRACK_EINVALID;
            break;
        }
        if (pages >= TRACK_MAX_PAGES || out->n >= TRACK_MAX_WORKFLOWS) {
            out->truncated = 1;
            break;
        }
    }
out:
    free(cursor);
    free(prev);
    if (rc != TRACK_OK) {
        track_workflows_free(out);
        out->truncated = 0;
        log_event(rc == TRACK_ECONFIG ? LOG_ERROR : LOG_WARN, "track.workflows_failed", "s:reason s:error i:pages",
                  track_strerror(rc), out->error, (long long)pages);
    } else {
        log_event(out->truncated ? LOG_WARN : LOG_INFO, "track.workflows", "i:count i:pages b:truncated",
                  (long long)out->n, (long long)pages, out->truncated);
    }
    return rc;
}

json_object *track_workflows_json(const struct track_workflows *w)
{
    json_object *arr = json_object_new_array();
    if (!arr)
        return NULL;
    for (size_t i = 0; w && i < w->n; i++) {
        const struct track_workflow *t = &w->items[i];
        json_object *o = json_object_new_object();
        if (!o) {
            json_object_put(arr);
            return NULL;
        }
        json_object_object_add(o, "id", json_object_new_string(t->id));
        json_object_object_add(o, "name", json_object_new_string(t->name));
        json_object_object_add(o, "active", json_object_new_boolean(t->active));
        json_object_object_add(o, "archived", json_object_new_boolean(t->archived));
        json_object_object_add(o, "webhook_path", json_object_new_string(t->webhook_path));
        json_object_object_add(o, "webhook_method", json_object_new_string(t->webhook_method));
        json_object *tags = json_object_new_array();
        for (int k = 0; k < t->ntags; k++)
            json_object_array_add(tags, json_object_new_string(t->tags[k]));
        json_object_object_add(o, "tags", tags);
        json_object_array_add(arr, o);
    }
    return arr;
}
