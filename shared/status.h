/* status: the states a decision and a trigger go through, and how an
 * execution ended, each as an enum with one name function -- the words
 * stored in decisions.status, triggers.status and triggers.outcome, whose
 * CHECK lists (sql/001_init.sql, sql/004_n8n.sql) tests/unit/test_status.c
 * compares with these names. */
#ifndef STATUS_H
#define STATUS_H

enum decision_status {
    DECISION_PENDING = 0,     /* recorded, its triggers not sent yet */
    DECISION_ACTING,          /* some trigger still being delivered or retried */
    DECISION_SUCCEEDED,       /* every workflow started */
    DECISION_PARTIAL,         /* some started, some not */
    DECISION_FAILED,          /* none started */
    DECISION_DRY_RUN,         /* no n8n configured: nothing sent */
    DECISION_NO_ACTION,       /* no workflow chosen */
    DECISION_INTERRUPTED,     /* the worker stopped before it was settled */
    DECISION_STATUS_COUNT
};

enum trigger_status {
    TRIGGER_PENDING = 0,      /* committed, not sent yet (the outbox) */
    TRIGGER_SENDING,          /* being sent */
    TRIGGER_SENT,             /* n8n accepted it */
    TRIGGER_FAILED,           /* refused or unreachable, no retry left */
    TRIGGER_UNAVAILABLE,      /* n8n answered 404 "not registered" */
    TRIGGER_DRY_RUN,          /* not sent: dry run */
    TRIGGER_UNKNOWN,          /* sent by a worker that died: delivery cannot be known */
    TRIGGER_ABANDONED,        /* never sent, too old when a leader found it */
    TRIGGER_RETRYING,         /* a retry is due */
    TRIGGER_SKIPPED,          /* not sent: circuit open, concurrency, limits */
    TRIGGER_STATUS_COUNT
};

enum trigger_outcome {
    OUTCOME_SUCCEEDED = 0,
    OUTCOME_FAILED,
    OUTCOME_CRASHED,
    OUTCOME_CANCELED,
    OUTCOME_TIMED_OUT,
    OUTCOME_SUPERSEDED,       /* a later trigger of the workflow replaced it */
    OUTCOME_COUNT
};

/* The stored word (static), or "unknown" out of range. */
const char *decision_status_name(int s);
const char *trigger_status_name(int s);
const char *trigger_outcome_name(int o);

/* The enum value of a stored word, or -1. */
int decision_status_parse(const char *s);
int trigger_status_parse(const char *s);
int trigger_outcome_parse(const char *s);

/* One trigger as the settlement rule sees it. */
struct trigger_state {
    int status;               /* enum trigger_status (-1: a word not known) */
    int outcome;              /* enum trigger_outcome, -1 while its end is not known */
    int circuit_open;         /* skipped because its workflow's circuit was open
                               * (triggers.last_error_kind 'circuit_open') */
};

/* The settlement rule, the one place it lives (the database path,
 * store_decision_settle, reads the triggers and applies it; the replay's
 * --no-db path applies it to what was sent).  A decision is settled once
 * none of its triggers is open: succeeded when every trigger that counts
 * went well, partial when some did, failed when none did; skipped-by-policy
 * triggers do not count (all of them: no_action).  A canceled execution
 * (not by our own 'replace', which gives 'superseded') failed.  A trigger a
 * stopped worker left 'unknown' is open until its end is known (a result
 * arrived: good; timed out: bad), and an 'interrupted' decision is settled
 * again then.  Of the n triggers t[]: returns DECISION_SUCCEEDED,
 * DECISION_PARTIAL, DECISION_FAILED or DECISION_NO_ACTION, or
 * DECISION_ACTING while one is open (pending, sending, retrying, or
 * unknown without an end). */
int decision_status_settle(const struct trigger_state *t, int n);

/* Nonzero when a decision in status s may be settled (again): acting, or
 * settled before (succeeded, partial, failed, no_action, interrupted). */
int decision_status_settleable(int s);

#endif
