/* cycle: one sense -> decide -> act pass. */
#ifndef CYCLE_H
#define CYCLE_H

#include <libpq-fe.h>
#include <time.h>

#include "cfg.h"
#include "act.h"
#include "alert.h"
#include "decide.h"
#include "deliver.h"
#include "learn.h"
#include "llm.h"
#include "prompt.h"
#include "sense.h"
#include "sink.h"
#include "watch.h"

struct cycle_ctx;
struct usage;

/* Where a cycle's observations come from and where its triggers go: the
 * real network by default; the replay swaps in recorded market data and
 * simulated workflows, so that the same decision code runs in both. */
struct cycle_io {
    /* Fill *snap for instant now (history is filled afterwards). */
    void (*sense)(struct cycle_ctx *ctx, time_t now, struct sense_snapshot *snap);
    /* Deliver the n triggers of choice ch, filling each job's results: the
     * transport deliver_decision() sends through (breaker and policy have
     * already let these jobs go). */
    void (*act)(struct cycle_ctx *ctx, const struct decide_choice *ch, struct act_job *jobs, int n);
    void *user;                 /* for the io's own state */
};

struct cycle_ctx {
    const struct cycle_io *io;  /* NULL: the real network */
    const struct cfg *cfg;      /* borrowed */
    struct sink sink;           /* where it writes (sink.h): sink_pg(the worker's connection), or
                                 * sink_mem for a replay without a database */
    struct sense_memory mem;    /* what the previous cycle saw */
    struct llm_client llm;      /* providers, circuits, budget */
    struct prompt_tpl prompt;   /* loaded when an LLM is configured */
    int have_prompt;
    struct learn *learn;        /* borrowed; NULL: decide on priors, learn nothing */
    struct usage *usage;        /* borrowed; the runs started lately (limits, run budget), noted
                                 * by every cycle; NULL: no limit is known to be reached */
    long long run_id;           /* 0: live; else the replay run (see record_audit) */
    const char *learn_scope;    /* where the learning state is saved ("live", the run id), or NULL */
    int learn_save_every;       /* save the learning state every n-th decision (0 or 1: every one) */
    struct deliver *deliver;    /* borrowed; required unless N8N_BASE_URL is empty (dry run):
                                 * every trigger goes through deliver_decision(), whose POSTs
                                 * go through io->act (the replay: a local deliver) */
    struct alert *alert;        /* borrowed; NULL: no alerts (mode switches, fallback streaks) */
    const struct deliver_transport *transport;  /* live (io NULL): how the POSTs go out
                                 * (the worker's outbox, without waiting); NULL: io->act */
    long long force_upto;       /* force commands the next decision answers (every pending one
                                 * up to this id, closed in its transaction; 0: none), set by
                                 * the caller before cycle_run */
    const volatile int *stop;   /* nonzero: abandon the cycle before it records anything */
    struct sense_wake_info wake;   /* why this decision now, set by the caller (kind
                                    * SENSE_WAKE_CONTROL is set by cycle_run for a forced one) */
    struct watch *watch;        /* borrowed; NULL: no watch.  Its figures go into the
                                 * snapshot, and the scans this decision starts are noted
                                 * in it (watch_scanned) */
    long fallback_streak;       /* decisions in a row the fallback made because the LLM failed */
    long long ncycles;          /* cycles run so far */
    long long local_seq;        /* a replay's decision count, for its keys (record_audit) */
};

struct cycle_result {
    char cycle_id[20];
    long long decision_id;      /* 0 when nothing was recorded */
    time_t next_at;             /* when to decide again */
    char status[16];            /* the decision's final status */
    int source;                 /* enum catalog_source of the decision */
    enum llm_err llm;           /* what the LLM did this cycle */
    int llm_calls;              /* HTTP calls to LLM providers this cycle */
    long llm_tokens;            /* prompt + completion tokens this cycle */
    int ntriggers;              /* workflows started (or recorded as dry runs) */
    int mode, intensity;        /* the decision's (enum catalog_mode, catalog_intensity) */
};

/* Run one cycle at time now; forced_by is the control command id that
 * forced it, or 0.  Sense, fold the observations into ctx->learn, decide
 * (the LLM when configured, the fallback policy always), record, act, and
 * learn from the deliveries.  The menu leaves out the workflows
 * ctx->deliver knows to be unusable (deliver_menu_blocked: open circuits,
 * 404s, inactive in n8n); the webhook bodies carry the scan parameters of
 * ctx->cfg (act_parameters); a run whose end will be followed has its
 * success learned then (follow.c), not at delivery; an LLM provider whose
 * circuit opens during the call is alerted (alert_circuit_open).  The decision, its triggers and the learning
 * state are committed before any webhook is sent; the triggers go through
 * deliver_decision() (breaker, concurrency policy, retries scheduled for
 * the main loop) with io->act as its transport.  Everything is written
 * through ctx->sink (sink.h): PostgreSQL, or memory for the replay's
 * --no-db.  A replay's cycle ids (ctx->run_id set, or a sink without a
 * database) come from the simulated clock and the
 * cycle count (cycle_seq_id), a live one's are random.  Returns 0, or -1
 * when the decision could not be recorded (nothing was sent). */
int cycle_run(struct cycle_ctx *ctx, time_t now, long long forced_by, struct cycle_result *res)
    __attribute__((warn_unused_result));

/* Fill id[20] with a fresh random cycle id (16 hex digits). */
void cycle_new_id(char id[20]);

/* Fill id[20] with the deterministic cycle id of cycle number seq at
 * simulated time now: 8 hex digits of each (16 in all). */
void cycle_seq_id(char id[20], time_t now, long long seq);

#endif
