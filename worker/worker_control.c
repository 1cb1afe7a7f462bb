/* worker_control: the control commands (control_commands, LISTEN
 * orch_control), the claims posted back (orch_claims) and the catalog
 * reload (SIGHUP or reload_catalog).  See worker.h. */
#include "config.h"

#include <stdio.h>

#include "catalog.h"
#include "fault.h"
#include "log.h"
#include "store.h"
#include "timeutil.h"
#include "worker.h"

/* ---- commands -------------------------------------------------------------------- */

/* Act on the pending control commands: start and stop at once (done in
 * the same transaction as the running flag), a force accepted and
 * answered by the next decision.  Returns 0 or -1 (database error). */
static int worker_commands_once(struct worker *w)
{
    struct store_cmd cmds[STORE_MAX_COMMANDS];
    int n = store_take_commands(w->db, cmds, STORE_MAX_COMMANDS);
    if (n < 0)
        return -1;
    w->commands_due = n == STORE_MAX_COMMANDS;
    long long accept[STORE_MAX_COMMANDS];
    int naccept = 0;
    for (int i = 0; i < n; i++) {
        if (cmds[i].cmd == STORE_CMD_RELOAD) {
            /* done between decisions (worker_reload), in the transaction that records what it did */
            if (cmds[i].id > w->reload_cmd)
                w->reload_cmd = cmds[i].id;
            accept[naccept++] = cmds[i].id;
            log_event(LOG_INFO, "control.accepted", "i:command_id s:command", cmds[i].id, "reload_catalog");
            continue;
        }
        if (cmds[i].cmd == STORE_CMD_FORCE) {
            /* answered by the next decision, with every force accepted before it */
            if (cmds[i].id > w->force_upto)
                w->force_upto = cmds[i].id;
            accept[naccept++] = cmds[i].id;
            log_event(LOG_INFO, "control.accepted", "i:command_id s:command", cmds[i].id, "force_decision");
            continue;
        }
        int start = cmds[i].cmd == STORE_CMD_START;
        const char *result = start ? (w->running ? "already running" : "started")
                                   : (w->running ? "stopped" : "already stopped");
        FAULT("command.before_apply");
        int r = store_command_running(w->db, cmds[i].id, start, result);
        if (r < 0)
            return -1;
        FAULT("command.applied");
        if (r == 1) {
            w->running = start;
            if (start && w->next_at > tu_now())
                w->next_at = tu_now();    /* started: decide now */
            log_event(LOG_INFO, "control.applied", "i:command_id s:command s:status s:result",
                      cmds[i].id, start ? "start" : "stop", "done", result);
        }
    }
    if (naccept && store_commands_accept(w->db, accept, naccept) < 0)
        return -1;
    FAULT("command.accepted");
    return 0;
}

/* Act on the pending control commands (worker_commands_once), not
 * re-entered by the idle hook.  Returns 0 or -1. */
int worker_commands(struct worker *w)
{
    if (w->in_commands)
        return 0;
    w->in_commands = 1;
    int rc = worker_commands_once(w);
    w->in_commands = 0;
    return rc;
}

/* Triggers found delivered by the claim of their key.  Returns 0 or -1. */
int worker_claims(struct worker *w)
{
    struct store_claimed rows[32];
    int n = store_claims_reconcile(w->db, rows, 32);
    if (n < 0)
        return -1;
    w->claims_due = n == 32;
    for (int i = 0; i < n; i++) {
        char st[16];
        log_event(LOG_INFO, "hook.claimed", "i:trigger_id i:decision_id s:detail", rows[i].id, rows[i].decision_id,
                  "its execution claimed the key: delivered");
        if (store_decision_settle(w->db, rows[i].decision_id, st, sizeof st) < 0)
            return -1;
    }
    return 0;
}

/* Reload the catalog (SIGHUP, or the reload_catalog commands up to
 * w->reload_cmd): put a valid file in force, or keep the running catalog
 * and say why (log, alert, worker_state.catalog); as leader, write it and
 * close the commands in one transaction.  Never inside a decision.
 * Returns 0, or -1 on a database error (the commands stay pending and the
 * reload is done again). */
int worker_reload(struct worker *w)
{
    long long cmd = w->reload_cmd;
    char msg[CATALOG_FILE_ERR_MAX + 64];
    int ok = catalog_live_reload(&w->catalog, tu_now(), cmd ? "command" : "sighup", msg, sizeof msg) == 0;
    w->reload_due = 0;
    if (ok) {
        char err[300];
        if (deliver_catalog(&w->deliver, 0, err, sizeof err) < 0)
            log_event(LOG_WARN, "catalog.policies", "s:error", err);
        follow_resync(&w->follow);
    } else {
        alert_catalog_invalid(&w->alert, msg);
    }
    if (lease_leader(&w->lease) && worker_db_ok(w)) {
        if (catalog_live_sync(&w->catalog, w->db, ok, cmd, ok ? "done" : "failed", msg) < 0)
            return -1;
        if (ok && w->cycle.deliver && deliver_publish_policies(&w->deliver, w->db) < 0)
            return -1;
        if (cmd)
            log_event(LOG_INFO, "control.applied", "i:command_id s:command s:status s:result", cmd, "reload_catalog",
                      ok ? "done" : "failed", msg);
    }
    w->reload_cmd = 0;
    return 0;
}
