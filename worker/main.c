/* orch-worker: the decision daemon.
 *
 * Exactly one worker acts per database: the leader (worker/lease.c).
 * Others wait as standbys, take the lease when the leader dies or freezes,
 * and take over what it left (store_takeover_recover: half-sent triggers
 * reconciled by the claims of their keys, the outbox sent, decisions that
 * were due and missed recorded as a gap).
 *
 * The leader's loop never blocks for long: control commands (LISTEN
 * orch_control, the control_commands table is the truth) are acted on at
 * once, also while a decision is being made (the idle hook that
 * shared/http.c calls every 50 ms while a probe or an LLM call waits); a
 * command is done in the same transaction as what it did (a force: the
 * decision it made).  The webhooks go out through the outbox without
 * waiting and each answer is recorded as it arrives.  Between decisions
 * the loop sends the retries that are due, handles the results and
 * claims workflows posted back (LISTEN orch_results, orch_claims),
 * follows running executions (follow.c), beats the heart, prunes old rows
 * and sends queued Telegram alerts.  The leader also answers the commands
 * of its Telegram chat (telegram.c): the long poll lives in a pool of its
 * own that the loop waits on beside the webhooks', so that it never holds
 * anything up; /pause, /resume and /force become control commands.
 *
 * Signals (signalfd): SIGTERM or SIGINT ends the worker within 2 s at any
 * point: a decision under way is abandoned before it records anything,
 * webhooks in flight get up to a second to answer (the others stay
 * 'sending' for the next leader to reconcile), the lease is released so a
 * standby takes over at once.  SIGHUP reopens LOG_FILE (logrotate) and
 * reloads the workflow catalog (CATALOG_FILE) between decisions, as the
 * control command reload_catalog does (worker/catalog_live.c).
 *
 * This file: the arguments, the start, the loop and the stop; the rest of
 * the daemon is in the worker_*.c files (worker.h lists them). */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "alert.h"
#include "catalog_live.h"
#include "cfg.h"
#include "fault.h"
#include "http.h"
#include "log.h"
#include "outbox.h"
#include "prompt.h"
#include "store.h"
#include "telegram.h"
#include "timeutil.h"
#include "worker.h"

#define WORKER_ALERT_BUDGET_MS 1500      /* Telegram sending per loop turn, at most */
#define WORKER_STOP_BUDGET_MS 1800       /* from SIGTERM to exit, at most */
#define WORKER_STOP_ANSWERS_MS 1000      /* of which waiting for webhook answers */
#define WORKER_WAIT_MAX_MS 1000          /* the loop looks around at least this often */

/* How far worker_open got: what worker_close has to free. */
enum worker_up {
    WORKER_UP_BASE = 0,        /* the configuration, the log, libcurl, the signals, the usage */
    WORKER_UP_PROMPT,          /* and the prompt */
    WORKER_UP_ALERT,           /* and the alerts and the chat */
    WORKER_UP_DELIVER,         /* and the delivery */
    WORKER_UP_OUTBOX,          /* and the outbox, the watch and the connection */
};

static void worker_usage(FILE *out)
{
    fprintf(out,
            "usage: orch-worker [--once | --check-catalog FILE]\n"
            "  The orchestrator's decision worker.  Configuration comes from the\n"
            "  environment (see env.example); logs are JSON lines on stderr.\n"
            "  --once                wait to be leader, run one decision cycle and exit\n"
            "  --check-catalog FILE  validate a workflow catalog, print the verdict and exit (0 valid, 1 not)\n"
            "  --version             print the version\n");
}

/* ---- start and stop ------------------------------------------------------------------ */

/* The arguments.  Returns 1 when the program ends here with the exit
 * status *code (--version, --help, --check-catalog, a wrong argument),
 * else 0 with *once set for --once. */
static int worker_args(int argc, char **argv, int *once, int *code)
{
    *code = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--once") == 0) {
            *once = 1;
        } else if (strcmp(argv[i], "--check-catalog") == 0 && i + 1 < argc) {
            *code = catalog_live_check(argv[i + 1]);
            return 1;
        } else if (strcmp(argv[i], "--version") == 0) {
#ifdef ORCH_FAULT_INJECTION
            printf("orch-worker %s (fault-injection)\n", PACKAGE_VERSION);
#else
            printf("orch-worker %s\n", PACKAGE_VERSION);
#endif
            return 1;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            worker_usage(stdout);
            return 1;
        } else {
            fprintf(stderr, "orch-worker: unknown argument \"%s\"\n", argv[i]);
            worker_usage(stderr);
            *code = 2;
            return 1;
        }
    }
    return 0;
}

/* The process: the configuration into *cfg (borrowed by w), the log,
 * libcurl and the signals (blocked, read through w->sigfd).  Returns 0,
 * or -1 after a message and after undoing what it did. */
static int worker_setup(struct worker *w, struct cfg *cfg)
{
    char err[512];
    if (cfg_load_prog(cfg, CFG_PROG_WORKER, err, sizeof err) < 0) {
        fprintf(stderr, "orch-worker: configuration error: %s\n", err);
        return -1;
    }
    log_init("worker", log_level_parse(cfg->log_level));
    if (log_set_file(cfg->log_file) < 0) {
        cfg_free(cfg);
        return -1;
    }
    if (http_global_init() < 0) {
        log_event(LOG_ERROR, "worker.fatal", "s:error", "libcurl initialisation failed");
        cfg_free(cfg);
        return -1;
    }
    w->cfg = cfg;
    w->sigfd = -1;

    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    sigprocmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    w->sigfd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC);
    if (w->sigfd < 0) {
        log_event(LOG_ERROR, "worker.fatal", "s:error", strerror(errno));
        http_global_cleanup();
        cfg_free(cfg);
        return -1;
    }
    return 0;
}

/* The modules: catalog, usage, LLM and prompt, alerts, the chat (not for
 * --once), delivery, outbox, follow, learning, lease, watch.  *up says how
 * far it got (for worker_close) also on failure.  Returns 0, or -1 after
 * a message. */
static int worker_open(struct worker *w, const struct cfg *cfg, enum worker_up *up)
{
    char err[512];
    *up = WORKER_UP_BASE;
    if (catalog_live_start(&w->catalog, cfg, tu_now(), err, sizeof err) < 0) {
        fprintf(stderr, "orch-worker: catalog error (CATALOG_FILE): %s\n", err);
        log_event(LOG_ERROR, "worker.fatal", "s:error", err);
        return -1;
    }
    if (usage_init(&w->usage) < 0) {
        log_event(LOG_ERROR, "worker.fatal", "s:error", "out of memory");
        return -1;
    }
    *up = WORKER_UP_PROMPT;
    w->cycle.usage = &w->usage;
    w->cycle.cfg = cfg;
    llm_init(&w->cycle.llm, cfg);
    if (llm_configured(&w->cycle.llm)) {
        if (prompt_load(cfg->llm_prompt_file, &w->cycle.prompt, err, sizeof err) < 0) {
            fprintf(stderr, "orch-worker: configuration error: LLM_PROMPT_FILE: %s\n", err);
            return -1;
        }
        w->cycle.have_prompt = 1;
    }
    if (alert_init(&w->alert, cfg) < 0) {
        fprintf(stderr, "orch-worker: configuration error: TELEGRAM_BOT_TOKEN / TELEGRAM_CHAT_ID (see the alert.invalid_config event)\n");
        return -1;
    }
    *up = WORKER_UP_ALERT;
    if (!w->once && telegram_init(&w->tg, cfg, &w->alert) < 0) {
        log_event(LOG_ERROR, "worker.fatal", "s:error", "out of memory");
        return -1;
    }
    if (deliver_init(&w->deliver, cfg, &w->alert, &w->learn, err, sizeof err) < 0) {
        fprintf(stderr, "orch-worker: configuration error: %s\n", err);
        return -1;
    }
    *up = WORKER_UP_DELIVER;
    if (outbox_init(&w->outbox, cfg) < 0) {
        log_event(LOG_ERROR, "worker.fatal", "s:error", "out of memory");
        return -1;
    }
    *up = WORKER_UP_OUTBOX;
    w->transport = (struct deliver_transport){ NULL, worker_start_post, w };
    deliver_set_transport(&w->deliver, &w->transport);
    follow_init(&w->follow, cfg, &w->deliver, &w->learn, &w->alert);
    w->follow.learn_scope = "live";
    w->cycle.alert = &w->alert;
    w->cycle.learn = &w->learn;
    w->cycle.learn_scope = "live";
    w->cycle.transport = &w->transport;
    w->cycle.stop = &w->abandon;
    w->dry_run = cfg->n8n_base_url[0] == '\0';
    if (!w->dry_run)
        w->cycle.deliver = &w->deliver;
    learn_init(&w->learn, cfg);
    lease_init(&w->lease, cfg->leader_takeover_seconds);
    if (watch_live_init(&w->wl, cfg, err, sizeof err) < 0) {
        fprintf(stderr, "orch-worker: configuration error: %s\n", err);
        return -1;
    }
    return 0;
}

/* Connect (the database may still be coming up: 30 s), install the idle
 * hook, announce the start and register as a standby.  Returns 0, 1 when a
 * signal stopped it before the database answered, or -1 (logged). */
static int worker_start(struct worker *w)
{
    const struct cfg *cfg = w->cfg;
    for (int attempt = 0; attempt < 30 && !worker_signals(w); attempt++) {
        if ((w->db = worker_connect(cfg)))
            break;
        struct pollfd pf = { .fd = w->sigfd, .events = POLLIN };
        (void)poll(&pf, w->sigfd >= 0 ? 1 : 0, 1000);      /* a second, or a signal */
    }
    if (!w->db && w->stop) {
        /* a stop asked for while starting (systemd's stop, a test's SIGTERM):
         * a clean end, not a failure */
        log_event(LOG_INFO, "worker.stop", "s:reason s:detail", "signal", "stopped before the database answered");
        return 1;
    }
    if (!w->db) {
        log_event(LOG_ERROR, "worker.fatal", "s:error", "cannot use the database (see db.* events)");
        return -1;
    }
    http_set_idle(worker_idle, w);
    log_event(LOG_INFO, "worker.start", "s:version s:worker b:dry_run b:once i:llm_providers s:prompt_version i:lease_seconds",
              PACKAGE_VERSION, w->lease.id, w->dry_run, w->once,
              (long long)(llm_configured(&w->cycle.llm) ? w->cycle.llm.nproviders : 0),
              w->cycle.have_prompt ? w->cycle.prompt.version : NULL, (long long)cfg->leader_takeover_seconds);
    if (w->dry_run)
        log_event(LOG_WARN, "worker.dry_run", "s:detail",
                  "N8N_BASE_URL is not set: triggers are recorded as dry runs and nothing is sent");
    char detail[200];
    snprintf(detail, sizeof detail, "version %s, %s%s", PACKAGE_VERSION, w->lease.id,
             w->dry_run ? ", dry run (no N8N_BASE_URL)" : "");
    alert_worker_started(&w->alert, detail);
    worker_register(w);
    return 0;
}

/* The end: webhooks in flight get up to answers_ms to answer (a signal:
 * WORKER_STOP_ANSWERS_MS), the lease is released, the stop is recorded.
 * Returns rc, or 1 when the stop could not be recorded. */
static int worker_finish(struct worker *w, int rc, long answers_ms)
{
    double t0 = tu_mono_ms();
    http_set_idle(NULL, NULL);        /* from here on nothing is abandoned for the stop */
    telegram_stop(&w->tg);            /* the long poll open, if any: closed */
    if (lease_leader(&w->lease) && worker_db_ok(w)) {
        while (outbox_pending(&w->outbox) && tu_mono_ms() - t0 < (double)answers_ms) {
            int fds[1] = { PQsocket(w->db) };
            http_pool_wait(outbox_pool(&w->outbox), fds, 1, 50, NULL);
            if (worker_answers(w) < 0)
                break;
        }
        (void)worker_watch_save(w, tu_now());
        FAULT("stop.before_release");
        outbox_abort(&w->outbox);
        (void)worker_answers(w);      /* drops the abandoned ones */
        if (store_worker_stop(w->db) < 0)
            rc = 1;
        lease_release(&w->lease, w->db);
    }
    outbox_clear(&w->outbox);
    if (worker_db_ok(w) && store_worker_register(w->db, w->lease.id, "stopped", 0) < 0)
        rc = 1;
    alert_worker_stopped(&w->alert, w->stop ? "stopped by a signal" : "done");
    long left = WORKER_STOP_BUDGET_MS - (long)(tu_mono_ms() - t0);
    if (left < 300)
        left = 300;                   /* the stop alert gets a short chance in any case */
    if (left > 0)
        alert_flush(&w->alert, left);
    if (worker_db_ok(w) && worker_save_alerts(w) < 0)
        rc = 1;
    log_event(LOG_INFO, "worker.stop", "s:reason", w->stop ? "signal" : "done");
    return rc;
}

/* Free what worker_setup and worker_open (as far as up) made. */
static void worker_close(struct worker *w, struct cfg *cfg, enum worker_up up)
{
    if (up >= WORKER_UP_OUTBOX) {
        http_set_idle(NULL, NULL);
        watch_live_free(&w->wl);
        outbox_free(&w->outbox);
        PQfinish(w->db);
    }
    if (up >= WORKER_UP_DELIVER)
        deliver_free(&w->deliver);
    if (up >= WORKER_UP_ALERT) {
        telegram_free(&w->tg);
        alert_free(&w->alert);
    }
    if (up >= WORKER_UP_PROMPT)
        prompt_free(&w->cycle.prompt);
    usage_free(&w->usage);
    if (w->sigfd >= 0)
        close(w->sigfd);
    http_global_cleanup();
    cfg_free(cfg);
}

/* ---- the loop ------------------------------------------------------------------------ */

/* Milliseconds until something is due (at most WORKER_WAIT_MAX_MS). */
static long worker_wait_ms(struct worker *w)
{
    long ms = WORKER_WAIT_MAX_MS;
    long l = lease_due_ms(&w->lease);
    if (l < ms)
        ms = l;
    double b = w->beat_ms + (double)w->cfg->heartbeat_seconds * 1000.0 - tu_mono_ms();
    if (b < ms)
        ms = b < 0 ? 0 : (long)b;
    if (lease_leader(&w->lease)) {
        time_t now = tu_now();
        time_t dues[3] = { w->running ? w->next_at : 0, deliver_next_due(&w->deliver), follow_next_due(&w->follow) };
        for (int i = 0; i < 3; i++)
            if (dues[i] && (dues[i] - now) * 1000 < ms)
                ms = dues[i] <= now ? 0 : (long)(dues[i] - now) * 1000;
        time_t wn = watch_live_next(&w->wl);
        if (wn && (wn - now) * 1000 < ms)
            ms = wn <= now ? 0 : (long)(wn - now) * 1000;
        if (worker_forced(w) || w->commands_due || w->claims_due || w->reload_cmd || w->reload_due ||
            outbox_next(&w->outbox))
            ms = 0;
        long t = lease_valid(&w->lease) ? telegram_wait_ms(&w->tg) : ms;
        if (t < ms)
            ms = t;
    }
    if (alert_queued(&w->alert) > 0 && ms > 1000)
        ms = 1000;
    return ms;
}

/* The connection is gone: connect again, or wait a second (signals and
 * webhook answers are still seen to).  Returns 0 when connected again,
 * -1 when not. */
static int worker_reconnect(struct worker *w)
{
    log_event(LOG_WARN, "db.reconnecting", NULL);
    PQfinish(w->db);
    w->db = worker_connect(w->cfg);
    if (!w->db) {
        int fds[1] = { w->sigfd };
        http_pool_wait(outbox_pool(&w->outbox), fds, 1, 1000, NULL);
        worker_signals(w);
        outbox_pump(&w->outbox);      /* answers wait in memory until they can be recorded */
        return -1;
    }
    log_event(LOG_INFO, "db.reconnected", NULL);
    w->commands_due = w->claims_due = 1;
    if (lease_leader(&w->lease))
        (void)worker_lease(w, 1);  /* keep the lease (same epoch) or step down */
    return 0;
}

/* The heartbeat, when due.  Returns 0, or -1 when the connection broke. */
static int worker_beat(struct worker *w)
{
    if (tu_mono_ms() - w->beat_ms < (double)w->cfg->heartbeat_seconds * 1000.0)
        return 0;
    worker_register(w);
    if (lease_valid(&w->lease) && store_heartbeat(w->db) < 0 && worker_fenced(w) == 0 && !worker_db_ok(w))
        return -1;
    w->beat_ms = tu_mono_ms();
    return 0;
}

/* Run until a signal (or, --once, the one decision).  Returns 1 when
 * --once made its decision, else 0. */
static int worker_loop(struct worker *w)
{
    int decided_once = 0;
    while (!w->stop) {
        if (!worker_db_ok(w) && worker_reconnect(w) < 0)
            continue;
        if (worker_signals(w))
            break;
        if (worker_notifies(w) < 0)
            continue;
        if (worker_lease(w, 0) < 0 && !worker_db_ok(w))
            continue;
        if (worker_beat(w) < 0)
            continue;
        if (w->once && lease_valid(&w->lease)) {
            /* --once: the leader's one decision, then the end */
            struct sense_wake_info wake = { .kind = SENSE_WAKE_STARTUP, .market = -1 };
            decided_once = worker_decide(w, &wake) != 0;
            break;
        }
        if (w->reload_due && !lease_leader(&w->lease))
            (void)worker_reload(w);      /* a standby: in memory; written when it leads */
        if (lease_leader(&w->lease) && worker_lead(w) < 0) {
            if (!worker_fenced(w) && worker_db_ok(w))
                log_event(LOG_WARN, "worker.turn_failed", "s:detail", "a statement failed: trying again");
        }
        if (alert_queued(&w->alert) > 0)
            alert_flush(&w->alert, WORKER_ALERT_BUDGET_MS);
        if (w->stop)
            break;
        int fds[2] = { worker_db_ok(w) ? PQsocket(w->db) : -1, w->sigfd };
        struct http_pool *pools[2] = { outbox_pool(&w->outbox), telegram_pool(&w->tg) };
        http_pool_wait_many(pools, 2, fds[0] >= 0 ? fds : fds + 1, fds[0] >= 0 ? 2 : 1, (int)worker_wait_ms(w), NULL);
    }
    return decided_once;
}

int main(int argc, char **argv)
{
    int once = 0, rc;
    if (worker_args(argc, argv, &once, &rc))
        return rc;
    static struct worker w;
    struct cfg cfg;
    if (worker_setup(&w, &cfg) < 0)
        return 1;
    w.once = once;
    enum worker_up up;
    rc = 1;
    int started = worker_open(&w, &cfg, &up) == 0 ? worker_start(&w) : -1;
    if (started == 0) {
        int decided_once = worker_loop(&w);
        rc = worker_finish(&w, once && !decided_once ? 1 : 0,
                           once && !w.stop ? cfg.webhook_timeout_ms + 1000 : WORKER_STOP_ANSWERS_MS);
    } else if (started > 0) {
        rc = once ? 1 : 0;            /* --once stopped before its decision: not done */
    }
    worker_close(&w, &cfg, up);
    return rc;
}
