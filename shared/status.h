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

#endif
