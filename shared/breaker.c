/* breaker: one circuit breaker; see breaker.h. */
#include "config.h"
#include "breaker.h"

const char *breaker_name(int state)
{
    switch (state) {
    case BREAKER_OPEN:      return "open";
    case BREAKER_HALF_OPEN: return "half_open";
    }
    return "closed";
}

int breaker_state_at(const struct breaker *b, time_t now)
{
    if (b->state == BREAKER_OPEN && now >= b->open_until)
        return BREAKER_HALF_OPEN;
    return b->state;
}

int breaker_allow(struct breaker *b, time_t now, long long id, long probe_timeout_s)
{
    if (b->state == BREAKER_CLOSED)
        return 1;
    if (b->state == BREAKER_OPEN) {
        if (now < b->open_until)
            return 0;
        b->state = BREAKER_HALF_OPEN;
        b->probe_id = 0;
    }
    /* half open: one probe until its outcome (or its time) is up */
    if (b->probe_id && b->probe_id != id && now - b->probe_at < probe_timeout_s)
        return 0;
    if (b->probe_id != id) {
        b->probe_id = id;
        b->probe_at = now;
    }
    return 1;
}

void breaker_release(struct breaker *b, long long id)
{
    if (b->probe_id && b->probe_id == id)
        b->probe_id = 0;
}

int breaker_record(struct breaker *b, int ok, time_t now, long threshold, long cooldown_s)
{
    b->probe_id = 0;
    if (ok) {
        b->failures = 0;
        b->state = BREAKER_CLOSED;
        b->open_until = 0;
        return 0;
    }
    b->failures++;
    if (b->state == BREAKER_HALF_OPEN || (b->state == BREAKER_CLOSED && b->failures >= threshold)) {
        b->state = BREAKER_OPEN;
        b->opened_at = now;
        b->open_until = now + cooldown_s;
        b->opens++;
        return 1;
    }
    return 0;
}
