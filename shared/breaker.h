/* breaker: one circuit breaker, for the workflows (worker/deliver.c) and
 * the LLM providers (worker/llm.c).
 *
 * Closed, everything goes through; after `threshold` failures in a row it
 * opens for `cooldown` seconds and nothing goes; then it is half open and
 * lets one probe through (its own retries too) until an outcome is
 * recorded or the probe has had probe_timeout seconds: a success closes
 * it, a failure opens it again for another cooldown.  Time is the caller's
 * (the replay's simulated clock, or the wall clock). */
#ifndef BREAKER_H
#define BREAKER_H

#include <time.h>

enum breaker_state { BREAKER_CLOSED = 0, BREAKER_OPEN, BREAKER_HALF_OPEN };

struct breaker {
    int state;                  /* enum breaker_state */
    long failures;              /* in a row */
    time_t open_until;          /* BREAKER_OPEN: nothing before */
    time_t opened_at;           /* when it last opened (0: never) */
    long opens;                 /* times it opened, ever */
    long long probe_id;         /* BREAKER_HALF_OPEN: the one let through, 0: none yet */
    time_t probe_at;            /* when it was let through */
};

/* "closed", "open", "half_open" (static). */
const char *breaker_name(int state);

/* The state as seen at now: an open breaker whose cooldown is over reads
 * half open (it lets the next one through). */
int breaker_state_at(const struct breaker *b, time_t now);

/* May id go through b at now?  See above.  Returns 1 (go) or 0 (skip). */
int breaker_allow(struct breaker *b, time_t now, long long id, long probe_timeout_s);

/* Count one outcome (ok 1 success, 0 failure) at now; either ends a half
 * open breaker's probe.  Returns 1 when this failure opened it, else 0. */
int breaker_record(struct breaker *b, int ok, time_t now, long threshold, long cooldown_s);

/* id ended without a verdict: when it was b's probe, the next may probe. */
void breaker_release(struct breaker *b, long long id);

#endif
