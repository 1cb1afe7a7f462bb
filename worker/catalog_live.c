/* catalog_live: the catalog in force and its reloads; see catalog_live.h. */
#include "config.h"
#include "catalog_live.h"
#include "log.h"
#include "sense.h"
#include "store.h"
#include "timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Put f in force and remember what it was.  Returns 0 or -1 with err. */
static int catalog_live_install(struct catalog_live *cl, const struct catalog_file *f, char *err, size_t errlen)
{
    int added = 0, removed = 0;
    for (int i = 0; i < f->cat.n; i++) {
        int w = catalog_workflow_parse(f->cat.wf[i].name);
        added += w < 0 || !catalog_workflow(w)->present;
    }
    for (int k = 0; k < catalog_present(); k++) {
        const char *name = catalog_name(catalog_ordered(k));
        int found = 0;
        for (int i = 0; i < f->cat.n && !found; i++)
            found = strcmp(f->cat.wf[i].name, name) == 0;
        removed += !found;
    }
    if (catalog_install(&f->cat, err, errlen) < 0)
        return -1;
    snprintf(cl->hash, sizeof cl->hash, "%s", f->hash);
    snprintf(cl->version, sizeof cl->version, "%s", f->version);
    cl->loaded_at = f->loaded_at;
    cl->workflows = f->cat.n;
    cl->enabled = 0;
    for (int i = 0; i < f->cat.n; i++)
        cl->enabled += f->cat.wf[i].enabled;
    cl->added = added;
    cl->removed = removed;
    return 0;
}

int catalog_live_start(struct catalog_live *cl, const struct cfg *c, time_t now, char *err, size_t errlen)
{
    memset(cl, 0, sizeof *cl);
    cl->cfg = c;
    snprintf(cl->path, sizeof cl->path, "%s", c->catalog_file);
    struct catalog_file *f = malloc(sizeof *f);
    if (!f) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = catalog_file_load(cl->path, now, f, err, errlen) < 0 ? -1 : catalog_live_install(cl, f, err, errlen);
    if (rc == 0)
        log_event(LOG_INFO, "catalog.loaded", "s:file s:hash s:version i:workflows i:enabled", cl->path, cl->hash,
                  cl->version[0] ? cl->version : NULL, (long long)cl->workflows, (long long)cl->enabled);
    free(f);
    return rc;
}

int catalog_live_reload(struct catalog_live *cl, time_t now, const char *why, char *msg, size_t cap)
{
    struct catalog_file *f = malloc(sizeof *f);
    char err[CATALOG_FILE_ERR_MAX];
    int rc;
    if (!f) {
        snprintf(err, sizeof err, "out of memory");
        rc = -1;
    } else {
        rc = catalog_file_load(cl->path, now, f, err, sizeof err) < 0 ? -1 : catalog_live_install(cl, f, err, sizeof err);
    }
    free(f);
    if (rc < 0) {
        cl->failures++;
        snprintf(cl->error, sizeof cl->error, "%s", err);
        cl->error_at = now;
        snprintf(msg, cap, "%s", err);
        log_event(LOG_ERROR, "catalog.reload_failed", "s:file s:why s:error s:detail", cl->path, why, err,
                  "the running catalog is kept");
        return -1;
    }
    cl->reloads++;
    cl->error[0] = '\0';
    cl->error_at = 0;
    snprintf(msg, cap, "reloaded: %d workflows (%d added, %d removed), sha256 %.12s", cl->workflows, cl->added,
             cl->removed, cl->hash);
    log_event(LOG_INFO, "catalog.reloaded", "s:file s:why s:hash i:workflows i:added i:removed", cl->path, why,
              cl->hash, (long long)cl->workflows, (long long)cl->added, (long long)cl->removed);
    return 0;
}

static json_object *catalog_live_time(time_t t)
{
    char ts[32];
    if (t <= 0)
        return NULL;
    tu_iso8601(t, ts);
    return json_object_new_string(ts);
}

json_object *catalog_live_status(const struct catalog_live *cl)
{
    json_object *o = json_object_new_object();
    if (!o)
        return NULL;
    json_object_object_add(o, "file", json_object_new_string(cl->path));
    json_object_object_add(o, "hash", json_object_new_string(cl->hash));
    json_object_object_add(o, "version", cl->version[0] ? json_object_new_string(cl->version) : NULL);
    json_object_object_add(o, "loaded_at", catalog_live_time(cl->loaded_at));
    json_object_object_add(o, "workflows", json_object_new_int(cl->workflows));
    json_object_object_add(o, "enabled", json_object_new_int(cl->enabled));
    json_object_object_add(o, "reloads", json_object_new_int64(cl->reloads));
    json_object_object_add(o, "reload_failures", json_object_new_int64(cl->failures));
    json_object *e = NULL;
    if (cl->error[0]) {
        e = json_object_new_object();
        json_object_object_add(e, "message", json_object_new_string(cl->error));
        json_object_object_add(e, "at", catalog_live_time(cl->error_at));
    }
    json_object_object_add(o, "error", e);
    return o;
}

char *catalog_live_entries(void)
{
    json_object *arr = json_object_new_array();
    if (!arr)
        return NULL;
    for (int k = 0; k < catalog_present(); k++) {
        json_object *e = catalog_file_entry_json(catalog_workflow(catalog_ordered(k)));
        if (!e)
            continue;
        json_object_object_add(e, "order", json_object_new_int(k));
        json_object_array_add(arr, e);
    }
    char *s = strdup(json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN));
    json_object_put(arr);
    return s;
}

int catalog_live_sync(const struct catalog_live *cl, PGconn *db, int with_entries, long long command_id,
                      const char *status, const char *result)
{
    json_object *st = catalog_live_status(cl);
    char *entries = with_entries ? catalog_live_entries() : NULL;
    int rc = -1;
    if (st && (!with_entries || entries)) {
        struct store_catalog sc = {
            .entries = entries,
            .status = json_object_to_json_string_ext(st, JSON_C_TO_STRING_PLAIN),
            .command_id = command_id,
            .command_status = status,
            .command_result = result,
        };
        rc = store_catalog_sync(db, &sc);
    }
    json_object_put(st);
    free(entries);
    return rc;
}

/* ---- who claims, and checking a file ------------------------------------------- */

/* Nonzero when spec (WORKFLOW_CLAIMS: comma-separated names) names name. */
static int catalog_live_listed(const char *spec, const char *name)
{
    size_t len = strlen(name);
    for (const char *p = spec; *p;) {
        size_t k = strcspn(p, ",");
        const char *s = p;
        size_t m = k;
        while (m && *s == ' ') { s++; m--; }
        while (m && s[m - 1] == ' ')
            m--;
        if (m == len && strncmp(s, name, len) == 0)
            return 1;
        p += k + (p[k] == ',');
    }
    return 0;
}

int catalog_live_claiming(const struct cfg *c, const char **out)
{
    int n = 0;
    const char *spec = c->workflow_claims;
    if (!c->results_token || !*c->results_token || strcmp(spec, "none") == 0)
        return 0;
    for (int k = 0; k < catalog_present() && n < CATALOG_MAX; k++) {
        const struct catalog_wf *wf = catalog_workflow(catalog_ordered(k));
        int claims = !*spec ? wf->claims : strcmp(spec, "all") == 0 || catalog_live_listed(spec, wf->name);
        if (claims)
            out[n++] = wf->name;
    }
    return n;
}

int catalog_live_check(const char *path)
{
    struct catalog_file *f = malloc(sizeof *f);
    char err[CATALOG_FILE_ERR_MAX];
    if (!f) {
        fprintf(stderr, "catalog: out of memory\n");
        return 1;
    }
    int rc = catalog_file_load(path, time(NULL), f, err, sizeof err);
    if (rc == 0)
        printf("%s: valid: %d workflows, sha256 %s\n", path, f->cat.n, f->hash);
    else
        fprintf(stderr, "%s\n", err);
    free(f);
    return rc == 0 ? 0 : 1;
}
