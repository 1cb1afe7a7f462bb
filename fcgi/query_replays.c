/* query_replays: the replay runs of GET /replays, /replays/{id} and its
 * picture (sql/003_learning.sql); see query.h. */
#include "config.h"
#include "query.h"
#include "query_sql.h"
#include "learning.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The replay runs (sql/003_learning.sql), read by name into a struct
 * learning_run that learning_run_json (learning.c) shapes into an item;
 * $1: one id or NULL for all, $2: the row limit, $3: with params.  files
 * loses its server paths (only the file name is shown). */
static const char SQL_REPLAYS[] =
    "SELECT r.id, " ISO("r.started_at") " AS created_at, " ISO("r.finished_at") " AS finished_at, r.label, r.seed, "
    "       r.status, " ISO("r.data_from") " AS data_from, " ISO("r.data_to") " AS data_to, "
    "       (SELECT coalesce(jsonb_agg(jsonb_build_object('file', regexp_replace(f->>'path', '^.*/', ''), "
    "                                                     'instrument', f->'instrument', 'market', f->'market', "
    "                                                     'bars', f->'bars', 'first', f->'first', 'last', f->'last') "
    "                                  ORDER BY o), '[]'::jsonb) "
    "          FROM jsonb_array_elements(CASE WHEN jsonb_typeof(r.files) = 'array' THEN r.files "
    "                                         ELSE '[]'::jsonb END) WITH ORDINALITY AS x(f, o))::text AS files, "
    "       r.timings::text AS timings, r.scorecard::text AS scorecard, r.error, "
    "       CASE WHEN $3::boolean THEN r.params::text END AS params, r.svg IS NOT NULL AS has_svg "
    "  FROM replay_runs r "
    " WHERE ($1::bigint IS NULL OR r.id = $1::bigint) "
    " ORDER BY r.id DESC LIMIT $2::int";

static const char SQL_REPLAY_SVG[] =
    "SELECT svg FROM replay_runs WHERE id = $1::bigint";

/* The columns of SQL_REPLAYS. */
enum query_replay_col {
    QUERY_R_ID = 0, QUERY_R_CREATED_AT, QUERY_R_FINISHED_AT, QUERY_R_LABEL, QUERY_R_SEED, QUERY_R_STATUS,
    QUERY_R_FROM, QUERY_R_TO, QUERY_R_FILES, QUERY_R_TIMINGS, QUERY_R_SCORECARD, QUERY_R_ERROR, QUERY_R_PARAMS,
    QUERY_R_HAS_SVG, QUERY_R_COUNT
};

static const char *const query_replay_cols[QUERY_R_COUNT] = {
    [QUERY_R_ID] = "id", [QUERY_R_CREATED_AT] = "created_at", [QUERY_R_FINISHED_AT] = "finished_at",
    [QUERY_R_LABEL] = "label", [QUERY_R_SEED] = "seed", [QUERY_R_STATUS] = "status", [QUERY_R_FROM] = "data_from",
    [QUERY_R_TO] = "data_to", [QUERY_R_FILES] = "files", [QUERY_R_TIMINGS] = "timings",
    [QUERY_R_SCORECARD] = "scorecard", [QUERY_R_ERROR] = "error", [QUERY_R_PARAMS] = "params",
    [QUERY_R_HAS_SVG] = "has_svg",
};

/* Row i of SQL_REPLAYS (col: its columns) as a /replays item (full: with
 * params and the whole scorecard), shaped by learning_run_json.  Returns
 * it (caller frees) or NULL. */
static json_object *query_replay_row(const PGresult *r, const int *col, int i, int full)
{
    const struct learning_run run = {
        .id = query_ll(r, i, col[QUERY_R_ID]),
        .seed = query_ll(r, i, col[QUERY_R_SEED]),
        .created_at = query_val(r, i, col[QUERY_R_CREATED_AT]),
        .finished_at = query_val(r, i, col[QUERY_R_FINISHED_AT]),
        .label = query_val(r, i, col[QUERY_R_LABEL]),
        .status = query_val(r, i, col[QUERY_R_STATUS]),
        .from = query_val(r, i, col[QUERY_R_FROM]),
        .to = query_val(r, i, col[QUERY_R_TO]),
        .error = query_val(r, i, col[QUERY_R_ERROR]),
        .files = query_val(r, i, col[QUERY_R_FILES]),
        .timings = query_val(r, i, col[QUERY_R_TIMINGS]),
        .scorecard = query_val(r, i, col[QUERY_R_SCORECARD]),
        .params = query_val(r, i, col[QUERY_R_PARAMS]),
        .has_svg = query_bool(r, i, col[QUERY_R_HAS_SVG]),
    };
    return learning_run_json(&run, full);
}

int query_replays(PGconn *c, int limit, json_object **out)
{
    char lim[16];
    snprintf(lim, sizeof lim, "%d", limit);
    const char *vals[3] = { NULL, lim, "false" };
    *out = NULL;
    int col[QUERY_R_COUNT];
    PGresult *r = query_run(c, "replays", SQL_REPLAYS, 3, vals);
    if (!r)
        return -1;
    if (query_cols(r, "replays", query_replay_cols, QUERY_R_COUNT, col) < 0) {
        PQclear(r);
        return -1;
    }
    json_object *root = json_object_new_object(), *list = json_object_new_array();
    if (!root || !list)
        goto fail;
    for (int i = 0; i < PQntuples(r); i++) {
        json_object *it = query_replay_row(r, col, i, 0);
        if (!it)
            goto fail;
        json_object_array_add(list, it);
    }
    json_object_object_add(root, "replays", list);
    json_object_object_add(root, "limit", json_object_new_int(limit));
    PQclear(r);
    *out = root;
    return 0;
fail:
    json_object_put(list);
    json_object_put(root);
    PQclear(r);
    log_event(LOG_ERROR, "api.oom", "s:what", "replays");
    return -1;
}

int query_replay(PGconn *c, long long id, json_object **out)
{
    char idt[24];
    snprintf(idt, sizeof idt, "%lld", id);
    const char *vals[3] = { idt, "1", "true" };
    *out = NULL;
    int col[QUERY_R_COUNT];
    PGresult *r = query_run(c, "replay_one", SQL_REPLAYS, 3, vals);
    if (!r)
        return -1;
    int rc = query_cols(r, "replay_one", query_replay_cols, QUERY_R_COUNT, col);
    if (rc == 0 && PQntuples(r) == 1) {
        *out = query_replay_row(r, col, 0, 1);
        if (!*out)
            rc = -1;
    }
    PQclear(r);
    return rc;
}

int query_replay_svg(PGconn *c, long long id, char **svg, size_t *len)
{
    char idt[24];
    snprintf(idt, sizeof idt, "%lld", id);
    const char *vals[1] = { idt };
    *svg = NULL;
    *len = 0;
    PGresult *r = query_run(c, "replay_svg", SQL_REPLAY_SVG, 1, vals);
    if (!r)
        return -1;
    int rc = 0;
    if (PQntuples(r) == 1 && !PQgetisnull(r, 0, 0)) {
        size_t n = (size_t)PQgetlength(r, 0, 0);
        if (n > LEARNING_SVG_MAX) {
            log_event(LOG_ERROR, "api.svg_too_large", "i:replay_id i:bytes", id, (long long)n);
            rc = -1;
        } else if ((*svg = malloc(n + 1)) != NULL) {
            memcpy(*svg, PQgetvalue(r, 0, 0), n + 1);
            *len = n;
        } else {
            rc = -1;
        }
    }
    PQclear(r);
    return rc;
}
