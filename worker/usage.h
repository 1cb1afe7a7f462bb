/* usage: the runs the worker started lately, per workflow, for the limits
 * a catalog entry sets -- min_interval_seconds, max_runs_per_day (runs in
 * the trailing 24 hours) -- and for the run budget (RUN_BUDGET_PER_HOUR:
 * the catalog costs of the runs started in the trailing hour).
 *
 * A ring of (time, workflow slot, cost) on the caller's clock: live, the
 * worker fills it from the triggers of the last 24 hours when it becomes
 * leader (store_usage_load) and notes every trigger a decision starts; the
 * replay notes its own on the simulated clock, so that the limits act the
 * same with and without a database.  "Runs" are triggers that were not
 * skipped (by a circuit or the concurrency policy): a trigger counts from
 * its decision on, whatever became of it, dry runs included.  At most
 * USAGE_MAX runs are kept: past that the oldest are forgotten first (a
 * limit above USAGE_MAX runs a day is not enforced exactly). */
#ifndef USAGE_H
#define USAGE_H

#include <stddef.h>
#include <time.h>

#include "catalog.h"

#define USAGE_MAX 32768             /* runs remembered, at most */
#define USAGE_WINDOW_S 86400        /* max_runs_per_day counts this far back */
#define USAGE_BUDGET_S 3600         /* the run budget counts this far back */

struct usage_run {
    time_t at;
    int wf;                         /* registry slot */
    double cost;
};

struct usage {
    struct usage_run *runs;         /* owned ring of USAGE_MAX */
    size_t head, n;                 /* oldest at head */
};

/* What the menu needs, at one instant. */
struct usage_tally {
    int runs_24h[CATALOG_SLOTS];    /* runs started in the trailing USAGE_WINDOW_S */
    time_t last_at[CATALOG_SLOTS];  /* the newest start, 0: none known */
    double cost_1h;                 /* the costs of the runs of the trailing USAGE_BUDGET_S */
};

/* Allocate the ring.  Returns 0 or -1 (out of memory). */
int usage_init(struct usage *u) __attribute__((warn_unused_result));

/* Free it; a zeroed u is a no-op. */
void usage_free(struct usage *u);

/* Forget every run (a new leader loads them again). */
void usage_clear(struct usage *u);

/* A run of slot wf with cost started at `at` (times are expected in
 * order; an older one is kept all the same).  No-op on a zeroed u. */
void usage_note(struct usage *u, int wf, double cost, time_t at);

/* The tally at now (u NULL: nothing known). */
void usage_tally(const struct usage *u, time_t now, struct usage_tally *t);

#endif
