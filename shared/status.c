/* status: decision and trigger states; see status.h. */
#include "config.h"
#include "status.h"

#include <string.h>

static const char *const status_decision[DECISION_STATUS_COUNT] = {
    [DECISION_PENDING] = "pending",         [DECISION_ACTING] = "acting",
    [DECISION_SUCCEEDED] = "succeeded",     [DECISION_PARTIAL] = "partial",
    [DECISION_FAILED] = "failed",           [DECISION_DRY_RUN] = "dry_run",
    [DECISION_NO_ACTION] = "no_action",     [DECISION_INTERRUPTED] = "interrupted",
};

static const char *const status_trigger[TRIGGER_STATUS_COUNT] = {
    [TRIGGER_PENDING] = "pending",          [TRIGGER_SENDING] = "sending",
    [TRIGGER_SENT] = "sent",                [TRIGGER_FAILED] = "failed",
    [TRIGGER_UNAVAILABLE] = "unavailable",  [TRIGGER_DRY_RUN] = "dry_run",
    [TRIGGER_UNKNOWN] = "unknown",          [TRIGGER_ABANDONED] = "abandoned",
    [TRIGGER_RETRYING] = "retrying",        [TRIGGER_SKIPPED] = "skipped",
};

static const char *const status_outcome[OUTCOME_COUNT] = {
    [OUTCOME_SUCCEEDED] = "succeeded",      [OUTCOME_FAILED] = "failed",
    [OUTCOME_CRASHED] = "crashed",          [OUTCOME_CANCELED] = "canceled",
    [OUTCOME_TIMED_OUT] = "timed_out",      [OUTCOME_SUPERSEDED] = "superseded",
};

static const char *status_name(const char *const *names, int n, int v)
{
    return v >= 0 && v < n ? names[v] : "unknown";
}

static int status_parse(const char *const *names, int n, const char *s)
{
    for (int i = 0; s && i < n; i++)
        if (strcmp(names[i], s) == 0)
            return i;
    return -1;
}

const char *decision_status_name(int s) { return status_name(status_decision, DECISION_STATUS_COUNT, s); }
const char *trigger_status_name(int s) { return status_name(status_trigger, TRIGGER_STATUS_COUNT, s); }
const char *trigger_outcome_name(int o) { return status_name(status_outcome, OUTCOME_COUNT, o); }
int decision_status_parse(const char *s) { return status_parse(status_decision, DECISION_STATUS_COUNT, s); }
int trigger_status_parse(const char *s) { return status_parse(status_trigger, TRIGGER_STATUS_COUNT, s); }
int trigger_outcome_parse(const char *s) { return status_parse(status_outcome, OUTCOME_COUNT, s); }

/* A bad end: failed, crashed, timed out or canceled. */
static int status_bad_outcome(int o)
{
    return o == OUTCOME_FAILED || o == OUTCOME_CRASHED || o == OUTCOME_TIMED_OUT || o == OUTCOME_CANCELED;
}

int decision_status_settle(const struct trigger_state *t, int n)
{
    int good = 0, bad = 0, open = 0;
    for (int i = 0; i < n; i++) {
        int s = t[i].status, o = t[i].outcome;
        if (s == TRIGGER_PENDING || s == TRIGGER_SENDING || s == TRIGGER_RETRYING || (s == TRIGGER_UNKNOWN && o < 0))
            open++;
        if ((s == TRIGGER_SENT || s == TRIGGER_UNKNOWN) && o >= 0 ? !status_bad_outcome(o) : s == TRIGGER_SENT)
            good++;
        else if (s == TRIGGER_FAILED || s == TRIGGER_UNAVAILABLE || s == TRIGGER_ABANDONED ||
                 (s == TRIGGER_SKIPPED && t[i].circuit_open) || status_bad_outcome(o))
            bad++;
    }
    if (open)
        return DECISION_ACTING;
    return good && !bad ? DECISION_SUCCEEDED : good ? DECISION_PARTIAL : bad ? DECISION_FAILED : DECISION_NO_ACTION;
}

int decision_status_settleable(int s)
{
    return s == DECISION_ACTING || s == DECISION_SUCCEEDED || s == DECISION_PARTIAL || s == DECISION_FAILED ||
           s == DECISION_NO_ACTION || s == DECISION_INTERRUPTED;
}
