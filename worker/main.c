/* orch-worker: the decision daemon.
 *
 * Loop: act on control commands (LISTEN orch_control wakes it, the
 * control_commands table is the truth), run a cycle when the next decision
 * is due and the worker is running, send the webhook retries that are due
 * (deliver.c), handle the results workflows posted back (LISTEN
 * orch_results) and follow running executions through n8n's API
 * (follow.c), beat the heart, prune old probes, send queued Telegram
 * alerts for at most WORKER_ALERT_BUDGET_MS per turn (alert.c), and sleep
 * on the database socket until the next thing to do.  SIGTERM or SIGINT
 * ends the loop after the current step; the worker then clears its
 * heartbeat, sends its "stopped" alert and exits 0. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alert.h"
#include "cfg.h"
#include "cycle.h"
#include "deliver.h"
#include "follow.h"
#include "db.h"
#include "http.h"
#include "learn.h"
#include "log.h"
#include "store.h"

#define WORKER_MAX_COMMANDS 16
#define WORKER_RETRY_SECONDS 30
#define WORKER_PRUNE_SECONDS 3600
#define WORKER_ALERT_BUDGET_MS 1500     /* Telegram sending per loop turn, at most */
#define WORKER_STOP_ALERT_MS 3000       /* the "stopped" alert at exit, at most */

static volatile sig_atomic_t worker_signal;

static void worker_on_signal(int sig) { worker_signal = sig; }

static void worker_usage(FILE *out)
{
    fprintf(out,
            "usage: orch-worker [--once]\n"
            "  The orchestrator's decision worker.  Configuration comes from the\n"
            "  environment (see env.example); logs are JSON lines on stderr.\n"
            "  --once     run one decision cycle and exit\n"
            "  --version  print the version\n");
}

/* Sleep until the database socket is readable, a signal arrives, or
 * timeout_ms passes.  Signals are blocked except inside this wait. */
static void worker_wait(PGconn *db, int timeout_ms, const sigset_t *waitmask)
{
    struct pollfd p = { .fd = db ? PQsocket(db) : -1, .events = POLLIN };
    struct timespec ts = { .tv_sec = timeout_ms / 1000, .tv_nsec = (long)(timeout_ms % 1000) * 1000000L };
    if (ppoll(&p, p.fd >= 0 ? 1 : 0, &ts, waitmask) < 0 && errno != EINTR)
        log_event(LOG_WARN, "worker.wait_failed", "s:error", strerror(errno));
}

/* Connect, LISTEN, recover.  Returns the connection or NULL (logged). */
static PGconn *worker_connect(const struct cfg *c)
{
    PGconn *db = db_connect(c->database_url, "orch-worker");
    if (!db)
        return NULL;
    if (db_listen(db, "orch_control") < 0 || db_listen(db, "orch_results") < 0 || store_recover(db) < 0) {
        PQfinish(db);
        return NULL;
    }
    return db;
}

struct worker {
    const struct cfg *cfg;
    PGconn *db;
    struct cycle_ctx cycle;
    struct learn learn;
    struct alert alert;
    struct deliver deliver;
    struct follow follow;
    int running;
    time_t next_at;
    struct alert_stats alerts_saved;  /* last written to worker_state.alerts */
    long long alerts_queued_saved;
};

/* Run a cycle and schedule the next one.  Returns the decision id or 0. */
static long long worker_decide(struct worker *w, long long forced_by)
{
    struct cycle_result res;
    w->cycle.db = w->db;
    time_t now = time(NULL);
    if (cycle_run(&w->cycle, now, forced_by, &res) < 0) {
        w->next_at = now + WORKER_RETRY_SECONDS;
        return 0;
    }
    w->next_at = res.next_at;
    return res.decision_id;
}

/* Between decisions: results posted back, due retries, running executions
 * and n8n's workflow list.  Returns 0 or -1 (database error). */
static int worker_follow(struct worker *w, time_t now)
{
    if (follow_results(&w->follow, w->db, now) < 0)
        return -1;
    if (w->cycle.deliver && deliver_retry_due(&w->deliver, w->db, now) < 0)
        return -1;
    if (follow_track(&w->follow, w->db, now) < 0)
        return -1;
    return follow_sync_workflows(&w->follow, w->db, now);
}

/* Write the alert counters to worker_state.alerts when they changed.
 * Returns 0 or -1. */
static int worker_save_alerts(struct worker *w)
{
    const struct alert_stats *s = &w->alert.stats;
    long long queued = (long long)alert_queued(&w->alert);
    if (!alert_enabled(&w->alert) ||
        (memcmp(s, &w->alerts_saved, sizeof *s) == 0 && queued == w->alerts_queued_saved))
        return 0;
    char json[256];
    snprintf(json, sizeof json,
             "{\"enabled\":true,\"sent\":%lld,\"failed\":%lld,\"dropped\":%lld,\"rate_limited\":%lld,\"queued\":%lld}",
             s->sent, s->failed, s->dropped, s->rate_limited, queued);
    if (store_worker_alerts(w->db, json) < 0)
        return -1;
    w->alerts_saved = *s;
    w->alerts_queued_saved = queued;
    return 0;
}

/* Act on every pending control command.  Returns 0 or -1 (database error). */
static int worker_commands(struct worker *w)
{
    struct store_cmd cmds[WORKER_MAX_COMMANDS];
    int n = store_take_commands(w->db, cmds, WORKER_MAX_COMMANDS);
    if (n < 0)
        return -1;
    for (int i = 0; i < n; i++) {
        const char *result = NULL, *status = "done", *name = "";
        long long decision = 0;
        switch (cmds[i].cmd) {
        case STORE_CMD_START:
            name = "start";
            if (w->running) {
                result = "already running";
            } else if (store_set_running(w->db, 1) == 0) {
                w->running = 1;
                result = "started";
            } else {
                status = "failed";
                result = "could not record the running state";
            }
            break;
        case STORE_CMD_STOP:
            name = "stop";
            if (!w->running) {
                result = "already stopped";
            } else if (store_set_running(w->db, 0) == 0) {
                w->running = 0;
                result = "stopped";
            } else {
                status = "failed";
                result = "could not record the stopped state";
            }
            break;
        case STORE_CMD_FORCE:
            name = "force_decision";
            decision = worker_decide(w, cmds[i].id);
            if (decision) {
                result = "decision made";
            } else {
                status = "failed";
                result = "the decision could not be recorded";
            }
            break;
        }
        log_event(LOG_INFO, "control.applied", "i:command_id s:command s:status s:result i:decision_id",
                  cmds[i].id, name, status, result, decision);
        if (store_command_done(w->db, cmds[i].id, status, result, decision) < 0)
            return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    int once = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--once") == 0) {
            once = 1;
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("orch-worker %s\n", PACKAGE_VERSION);
            return 0;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            worker_usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "orch-worker: unknown argument \"%s\"\n", argv[i]);
            worker_usage(stderr);
            return 2;
        }
    }

    struct cfg cfg;
    char err[512];
    if (cfg_load(&cfg, err, sizeof err) < 0) {
        fprintf(stderr, "orch-worker: configuration error: %s\n", err);
        return 1;
    }
    log_init("worker", log_level_parse(cfg.log_level));
    if (http_global_init() < 0) {
        log_event(LOG_ERROR, "worker.fatal", "s:error", "libcurl initialisation failed");
        cfg_free(&cfg);
        return 1;
    }

    sigset_t block, waitmask;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGHUP);
    sigprocmask(SIG_BLOCK, &block, &waitmask);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = worker_on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct worker w = { .cfg = &cfg };
    w.cycle.cfg = &cfg;
    llm_init(&w.cycle.llm, &cfg);
    if (llm_configured(&w.cycle.llm)) {
        if (prompt_load(cfg.llm_prompt_file, &w.cycle.prompt, err, sizeof err) < 0) {
            fprintf(stderr, "orch-worker: configuration error: LLM_PROMPT_FILE: %s\n", err);
            http_global_cleanup();
            cfg_free(&cfg);
            return 1;
        }
        w.cycle.have_prompt = 1;
    }
    if (alert_init(&w.alert, &cfg) < 0) {
        fprintf(stderr, "orch-worker: configuration error: TELEGRAM_BOT_TOKEN / TELEGRAM_CHAT_ID (see the alert.invalid_config event)\n");
        prompt_free(&w.cycle.prompt);
        http_global_cleanup();
        cfg_free(&cfg);
        return 1;
    }
    if (deliver_init(&w.deliver, &cfg, &w.alert, &w.learn, err, sizeof err) < 0) {
        fprintf(stderr, "orch-worker: configuration error: %s\n", err);
        alert_free(&w.alert);
        prompt_free(&w.cycle.prompt);
        http_global_cleanup();
        cfg_free(&cfg);
        return 1;
    }
    follow_init(&w.follow, &cfg, &w.deliver, &w.learn, &w.alert);
    w.follow.learn_scope = "live";
    w.cycle.alert = &w.alert;
    int dry_run = cfg.n8n_base_url[0] == '\0';
    if (!dry_run)
        w.cycle.deliver = &w.deliver;

    /* startup: the database may still be coming up; give it 30 s */
    for (int attempt = 0; attempt < 30 && !worker_signal; attempt++) {
        if ((w.db = worker_connect(&cfg)))
            break;
        worker_wait(NULL, 1000, &waitmask);
    }
    if (!w.db || store_worker_start(w.db, dry_run, &w.running, &w.next_at) < 0 || deliver_load(&w.deliver, w.db) < 0) {
        log_event(LOG_ERROR, "worker.fatal", "s:error", "cannot use the database (see db.* events)");
        PQfinish(w.db);
        deliver_free(&w.deliver);
        alert_free(&w.alert);
        prompt_free(&w.cycle.prompt);
        http_global_cleanup();
        cfg_free(&cfg);
        return 1;
    }
    /* what was learned before this start (scope 'live') */
    learn_init(&w.learn, &cfg);
    w.cycle.learn = &w.learn;
    w.cycle.learn_scope = "live";
    char *saved = NULL;
    if (store_learning_load(w.db, "live", &saved) < 0) {
        log_event(LOG_WARN, "learn.load_failed", "s:detail", "the learning state could not be read: starting from the priors");
    } else if (saved) {
        json_object *j = json_tokener_parse(saved);
        if (!j || learn_from_json(&w.learn, j) < 0)
            log_event(LOG_WARN, "learn.load_failed", "s:detail", "the saved learning state is not usable: starting from the priors");
        else
            log_event(LOG_INFO, "learn.loaded", "i:observations", w.learn.nobs);
        json_object_put(j);
    }
    free(saved);
    if (llm_configured(&w.cycle.llm) && store_llm_usage(w.db, &w.cycle.llm) < 0)
        log_event(LOG_WARN, "llm.usage_unknown", "s:detail", "past LLM calls could not be read: budgets start at zero");
    log_event(LOG_INFO, "worker.start", "s:version b:running b:dry_run b:once i:next_decision_at i:llm_providers s:prompt_version",
              PACKAGE_VERSION, w.running, dry_run, once, (long long)w.next_at,
              (long long)(llm_configured(&w.cycle.llm) ? w.cycle.llm.nproviders : 0),
              w.cycle.have_prompt ? w.cycle.prompt.version : NULL);
    if (dry_run)
        log_event(LOG_WARN, "worker.dry_run", "s:detail",
                  "N8N_BASE_URL is not set: triggers are recorded as dry runs and nothing is sent");

    {
        char detail[160];
        snprintf(detail, sizeof detail, "version %s, pid %ld%s", PACKAGE_VERSION, (long)getpid(),
                 dry_run ? ", dry run (no N8N_BASE_URL)" : "");
        alert_worker_started(&w.alert, detail);
    }
    /* executions a previous worker left running, n8n's workflow list */
    if (worker_follow(&w, time(NULL)) < 0)
        log_event(LOG_WARN, "worker.reconcile_failed", "s:detail", "will try again in the loop");

    int rc = 0;
    if (once) {
        rc = worker_decide(&w, 0) ? 0 : 1;
        goto stop;
    }

    time_t last_beat = time(NULL), last_prune = 0, last_history = 0;
    int broken = 0;
    while (!worker_signal) {
        time_t now = time(NULL);
        if (PQstatus(w.db) != CONNECTION_OK || broken) {
            log_event(LOG_WARN, "db.reconnecting", NULL);
            PQfinish(w.db);
            w.db = worker_connect(&cfg);
            if (!w.db) {
                worker_wait(NULL, 2000, &waitmask);
                continue;
            }
            log_event(LOG_INFO, "db.reconnected", NULL);
            broken = 0;
        }
        if (db_drain_notifies(w.db) < 0 || worker_commands(&w) < 0) {
            broken = 1;
            continue;
        }
        now = time(NULL);
        if (worker_follow(&w, now) < 0) {
            broken = 1;
            continue;
        }
        now = time(NULL);
        if (w.running && now >= w.next_at && !worker_signal) {
            worker_decide(&w, 0);
            last_beat = time(NULL);
            continue;   /* commands may have arrived meanwhile */
        }
        if (now - last_beat >= cfg.heartbeat_seconds) {
            if (store_heartbeat(w.db) < 0) {
                broken = 1;
                continue;
            }
            last_beat = now;
        }
        if (now - last_prune >= WORKER_PRUNE_SECONDS) {
            long pruned = store_prune_probes(w.db, cfg.probe_retention_hours);
            if (pruned > 0)
                log_event(LOG_INFO, "probes.pruned", "i:rows i:older_than_hours", (long long)pruned,
                          (long long)cfg.probe_retention_hours);
            last_prune = now;
        }
        if (now - last_history >= cfg.retention_interval_seconds) {
            (void)store_prune_history(w.db, &cfg, NULL);   /* logs what it pruned, or why it failed */
            last_history = now;
        }
        if (alert_queued(&w.alert) > 0)
            alert_flush(&w.alert, WORKER_ALERT_BUDGET_MS);
        if (worker_save_alerts(&w) < 0) {
            broken = 1;
            continue;
        }
        now = time(NULL);
        long wait_s = cfg.heartbeat_seconds - (now - last_beat);
        if (w.running && w.next_at - now < wait_s)
            wait_s = w.next_at - now;
        time_t due = deliver_next_due(&w.deliver), fdue = follow_next_due(&w.follow);
        if (due && due - now < wait_s)
            wait_s = due - now;
        if (fdue && fdue - now < wait_s)
            wait_s = fdue - now;
        if (alert_queued(&w.alert) > 0 && wait_s > 1)
            wait_s = 1;
        if (wait_s < 0)
            wait_s = 0;
        worker_wait(w.db, (int)(wait_s * 1000 + (wait_s ? 0 : 50)), &waitmask);
    }

stop:
    if (w.db && PQstatus(w.db) == CONNECTION_OK && store_worker_stop(w.db) < 0)
        rc = 1;
    alert_worker_stopped(&w.alert, worker_signal ? "stopped by a signal" : "done");
    alert_flush(&w.alert, WORKER_STOP_ALERT_MS);
    if (w.db && PQstatus(w.db) == CONNECTION_OK && worker_save_alerts(&w) < 0)
        rc = 1;
    alert_free(&w.alert);
    deliver_free(&w.deliver);
    log_event(LOG_INFO, "worker.stop", "s:reason i:signal", worker_signal ? "signal" : "done", (long long)worker_signal);
    PQfinish(w.db);
    prompt_free(&w.cycle.prompt);
    http_global_cleanup();
    cfg_free(&cfg);
    return rc;
}
