/* catalog_live: the catalog the worker runs with, and its reloads.
 *
 * At start the worker loads CATALOG_FILE (catalog_live_start); a bad file
 * stops it with the validation message.  SIGHUP and the control command
 * reload_catalog (POST /control/reload-catalog) load it again between
 * decisions (catalog_live_reload): a valid file is put in force
 * (catalog_install: added workflows are offered at the next decision,
 * removed ones leave the menu while their history and running executions
 * stay known); a bad one changes nothing, and the message goes to the log
 * (catalog.reload_failed), to Telegram (alert_catalog_invalid) and to
 * /status ("catalog": {..., "error": {"message", "at"}}) until a reload
 * succeeds.  The leader writes what is in force to the database
 * (catalog_live_sync: the workflows table, worker_state.catalog and the
 * command that asked, in one transaction). */
#ifndef CATALOG_LIVE_H
#define CATALOG_LIVE_H

#include <json-c/json.h>
#include <libpq-fe.h>
#include <time.h>

#include "catalog_file.h"
#include "cfg.h"

struct catalog_live {
    const struct cfg *cfg;              /* borrowed */
    char path[512];                     /* CATALOG_FILE */
    char hash[65], version[65];         /* of the catalog in force */
    time_t loaded_at;
    int workflows, enabled;             /* entries in force, enabled ones */
    long reloads, failures;             /* reloads done / refused since start */
    int added, removed;                 /* by the last reload that succeeded */
    char error[CATALOG_FILE_ERR_MAX];   /* why the last reload was refused, "" when it succeeded */
    time_t error_at;
};

/* Load CATALOG_FILE and put it in force.  Returns 0, or -1 with the
 * validation message in err (the worker stops). */
int catalog_live_start(struct catalog_live *cl, const struct cfg *c, time_t now, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Load CATALOG_FILE again (why: "sighup" or "command", for the log).
 * Returns 0 when the new catalog is in force (msg: what changed), or -1
 * when the file was refused and the running catalog kept (msg: the
 * validation message, also kept in cl->error).  The caller updates the
 * deliver's policies, the database and the alert. */
int catalog_live_reload(struct catalog_live *cl, time_t now, const char *why, char *msg, size_t cap);

/* worker_state.catalog: {"file", "hash", "version", "loaded_at",
 * "workflows", "enabled", "reloads", "reload_failures", "error":
 * {"message", "at"} | null}.  Caller frees. */
json_object *catalog_live_status(const struct catalog_live *cl);

/* The present workflows' entries in catalog order, as a JSON array
 * (catalog_file_entry_json plus "order"): what store_catalog_sync writes.
 * Caller frees the text. */
char *catalog_live_entries(void);

/* Write the catalog in force (with_entries: the workflows too; else only
 * the status), and close command command_id (0: none) with status and
 * result, in one transaction.  Returns 0 or -1. */
int catalog_live_sync(const struct catalog_live *cl, PGconn *db, int with_entries, long long command_id,
                      const char *status, const char *result) __attribute__((warn_unused_result));

/* The workflows whose keys are claimed when they start (the takeover
 * sends an unclaimed half-sent trigger of theirs again): the catalog
 * entries with "claims" true, unless WORKFLOW_CLAIMS overrides it ("all",
 * "none" or names); only with ORCH_RESULTS_TOKEN, which authenticates the
 * claim.  out (room for CATALOG_MAX) gets borrowed names, valid until the
 * next reload.  Returns how many. */
int catalog_live_claiming(const struct cfg *c, const char **out);

/* orch-worker --check-catalog: validate the file at path, print the
 * verdict (stdout when valid, the message on stderr).  Returns the exit
 * status: 0 valid, 1 not. */
int catalog_live_check(const char *path);

#endif
