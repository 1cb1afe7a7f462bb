/* track_workflows: the workflows n8n has, read through its public REST API
 * (the API URL and key of track.h):
 *
 *   GET {api}/workflows?limit=250[&cursor=...]   X-N8N-API-KEY: <N8N_API_KEY>
 *
 * following nextCursor for at most TRACK_MAX_PAGES pages.  For each
 * workflow: id, name, active, archived, the path and method of its Webhook
 * node, and its tags; the worker keeps the list in
 * worker_state.n8n_workflows (track_workflows_json), and the API merges it
 * with the catalog by webhook_path (or name, which our exports set to the
 * path).  Every page read has a hard size cap; text from n8n is cleaned
 * like other outside text.  Log events: track.workflows (info, warn when
 * truncated), track.workflows_failed (warn; error for TRACK_ECONFIG).
 * Neither the key nor a URL is ever logged. */
#ifndef TRACK_WORKFLOWS_H
#define TRACK_WORKFLOWS_H

#include <json-c/json.h>
#include <stddef.h>

#include "cfg.h"
#include "track.h"

#define TRACK_NAME_MAX 128                     /* workflow names and webhook paths (bytes) */
#define TRACK_PAGE_LIMIT 250                   /* n8n's largest page */
#define TRACK_MAX_PAGES 20                     /* pages read by track_list_workflows */
#define TRACK_PAGE_MAX_BYTES (8 * 1024 * 1024) /* one page of workflows (they include their nodes) */

#define TRACK_TAGS_MAX 8                       /* tags kept per workflow */
#define TRACK_TAG_MAX 40                       /* bytes of a tag name kept */

struct track_workflow {
    char id[TRACK_ID_MAX + 1];
    char name[TRACK_NAME_MAX + 1];         /* cut at a character boundary */
    int active;
    int archived;                          /* isArchived (n8n >= 1.9x), 0 when absent */
    char webhook_path[TRACK_NAME_MAX + 1]; /* path of its first POST Webhook node, else of its first
                                            * Webhook node; "" when none */
    char webhook_method[8];                /* that node's httpMethod ("GET" when it sets none, n8n's
                                            * default), "" when none */
    int ntags;
    char tags[TRACK_TAGS_MAX][TRACK_TAG_MAX + 1];   /* its tags' names (the first TRACK_TAGS_MAX) */
};

struct track_workflows {
    struct track_workflow *items;          /* owned; track_workflows_free */
    size_t n;
    int truncated;                         /* more than TRACK_MAX_PAGES pages: the rest not read */
    char error[256];                       /* why, when not TRACK_OK */
};

/* GET {api}/workflows?limit=250, following nextCursor for at most
 * TRACK_MAX_PAGES pages, into *out (zeroed first; on failure it holds no
 * items and out->error says why).  Returns TRACK_OK or the reason. */
enum track_err track_list_workflows(const struct cfg *c, struct track_workflows *out)
    __attribute__((warn_unused_result));

/* Parse one page of GET {api}/workflows (body of len bytes) and append its
 * workflows to w (w->items grown by realloc, *cap its capacity; at most
 * TRACK_MAX_WORKFLOWS in all); the next cursor into cursor (cursor_cap
 * bytes, "" when none; printable ASCII only).  Names and paths are cut at
 * TRACK_NAME_MAX bytes on a character boundary, bytes that are not UTF-8
 * become '?', control characters spaces; workflows without a valid id are
 * left out.  Returns TRACK_OK or TRACK_EINVALID with w->error set. */
enum track_err track_parse_workflows(const char *body, size_t len, struct track_workflows *w, size_t *cap,
                                     char *cursor, size_t cursor_cap) __attribute__((warn_unused_result));

/* Free the items; on a zeroed or freed list a no-op. */
void track_workflows_free(struct track_workflows *w);

/* Nonzero when w carries the tag named tag (tag "" or NULL: never). */
int track_workflow_tagged(const struct track_workflow *w, const char *tag);

/* [{"id","name","active","archived","webhook_path","webhook_method","tags"}, ...]
 * for worker_state (caller puts), or NULL on allocation failure. */
json_object *track_workflows_json(const struct track_workflows *w);

#endif
